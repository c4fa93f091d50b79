"""Shop stage, publish: upload exactly the change list to a remote with rclone, read every
file back, compare its sha256 with the folder's catalogue, and only then mark the release
published (``build.py web --publish REMOTE``).

rclone does the transfer (SFTP, WebDAV, S3, FTP and most hosting targets, as a remote in its
own config or in ``RCLONE_CONFIG_<NAME>_*`` environment variables): no credentials are ever
held by the project. New and changed files go first, the catalogue last (so a shop reading
the catalogue never finds a file it lists missing), deletions after it. A failed or
interrupted publish leaves the record unmarked and says which files are not verified; run it
again to finish (what already matches is sent again, harmlessly).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from dataclasses import dataclass, field

from press.errors import ContentError
from press.products.shop.catalogue import CATALOGUE_FILES
from press.products.shop.published import changes, current_listing, mark_published
from press.project import Project

TIMEOUT = 300  # seconds for one file's transfer or read-back
# rclone's own retries (it retries a dropped transfer); kept low so a dead server is reported
FLAGS = ("--retries", "2", "--low-level-retries", "2", "--contimeout", "10s",
         "--timeout", "30s")


@dataclass
class Published:
    """What a publish did: files uploaded and verified, deleted, and what failed."""

    uploaded: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (name, why)
    unverified: list[str] = field(default_factory=list)  # not reached after a failure
    marked: int = 0  # files in the snapshot, when marked

    @property
    def ok(self) -> bool:
        return not self.failed and not self.unverified


def target(remote: str, name: str) -> str:
    """``remote`` ("site:", "site:shop/", a local folder) joined with a folder file's name."""
    return f"{remote}{name}" if remote.endswith(":") else f"{remote.rstrip('/')}/{name}"


def plan(project: Project) -> tuple[list[str], list[str]]:
    """(uploads in order, deletions) from the change list: everything when nothing was
    marked published yet. The catalogue files go last among the uploads."""
    found = changes(project)
    if found is None:
        sending = sorted(current_listing(project))
        removing: list[str] = []
    else:
        sending = [name for status, name in found if status in ("new", "changed")]
        removing = [name for status, name in found if status == "removed"]
    ordered = [n for n in sending if n not in CATALOGUE_FILES] + \
        [n for n in ("catalogue.csv", "catalogue.json") if n in sending]
    return ordered, removing


def _rclone(binary: str, *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([binary, *FLAGS, *args], capture_output=True, timeout=TIMEOUT,
                          check=False)


def _why(result: subprocess.CompletedProcess[bytes]) -> str:
    lines = [line for line in result.stderr.decode("utf-8", "replace").splitlines()
             if line.strip()]
    return (lines[-1] if lines else f"rclone exited with {result.returncode}")[:300]


def publish(project: Project, remote: str, rclone: str = "rclone") -> Published:
    """Upload the change list to ``remote``, verify each file by reading it back, mark the
    release published only when every file matches. Raises ContentError if rclone is missing
    or the folder's catalogue disagrees with its files."""
    binary = shutil.which(rclone)
    if binary is None:
        raise ContentError.at(project.shop_folder, None, "rclone is not installed",
                              "install it (Debian: apt install rclone) and configure the "
                              "remote: rclone config")
    folder = project.shop_folder
    listing = current_listing(project)
    uploads, deletions = plan(project)
    result = Published()
    for index, name in enumerate(uploads):
        expected = listing[name]["sha256"]
        sent = _rclone(binary, "copyto", os.fspath(folder / name), target(remote, name))
        if sent.returncode != 0:
            result.failed.append((name, f"upload failed: {_why(sent)}"))
        else:
            back = _rclone(binary, "cat", target(remote, name))
            found = hashlib.sha256(back.stdout).hexdigest() if back.returncode == 0 else ""
            if back.returncode != 0:
                result.failed.append((name, f"read-back failed: {_why(back)}"))
            elif found != expected:
                result.failed.append((name, f"read back with sha256 {found[:12]}…, the "
                                            f"catalogue says {expected[:12]}…"))
            else:
                result.uploaded.append(name)
                continue
        # stop at the first failure: the catalogue must not go up before the files it lists
        result.unverified = uploads[index + 1:] + deletions
        return result
    for index, name in enumerate(deletions):
        gone = _rclone(binary, "deletefile", target(remote, name))
        check = _rclone(binary, "lsf", target(remote, name))
        if check.returncode == 0 and check.stdout.strip():
            result.failed.append((name, f"still there after deleting: {_why(gone)}"))
            result.unverified = deletions[index + 1:]
            return result
        result.deleted.append(name)
    if current_listing(project) != listing:  # rebuilt while uploading: publish again
        result.failed.append(("output/upload", "the folder changed while publishing"))
        return result
    result.marked = mark_published(project)
    return result
