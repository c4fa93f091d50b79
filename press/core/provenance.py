"""Provenance: the build date and source revision that draft editions print."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
from pathlib import Path


def revision(path: Path) -> str:
    """Short git hash of the last commit touching ``path``, '+edits' if it has local edits."""
    try:
        def git(*args: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run(["git", *args, "--", path.name], cwd=path.parent,
                                  capture_output=True, text=True, timeout=5, check=False)

        commit = git("log", "-1", "--format=%h")
        if commit.returncode != 0 or not commit.stdout.strip():
            return "uncommitted"
        dirty = git("status", "--porcelain")
        return commit.stdout.strip() + ("+edits" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def build_date() -> str:
    """Today, or the date of ``SOURCE_DATE_EPOCH`` (reproducible builds)."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch and epoch.isdigit():
        return dt.datetime.fromtimestamp(int(epoch), dt.UTC).date().isoformat()
    return dt.date.today().isoformat()
