"""WeasyPrint's C libraries are found from the linker cache: the same answers as
ctypes.util.find_library, without running a compiler or a linker."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from press.core import libraries

NAMES = ["gobject-2.0", "pango-1.0", "harfbuzz", "harfbuzz-subset", "fontconfig",
         "pangoft2-1.0", "c", "m", "z", "harfbuzz-vector", "libgobject-2.0-0", "gobject-2.0-0",
         "no-such-library"]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the linker cache is Linux's")
def test_the_same_answers_as_find_library():
    for name in NAMES:
        assert libraries.find_library(name) == libraries._ORIGINAL(name), name


def _spawned(tmp_path: Path, code: str) -> list[str]:
    """The compiler and linker runs of ``python -c code``: gcc, cc and ld on PATH are stand-ins
    that only log their call."""
    fake = tmp_path / "bin"
    fake.mkdir(exist_ok=True)
    log = tmp_path / "spawned.log"
    log.write_text("")
    for tool in ("gcc", "cc", "ld", "x86_64-linux-gnu-gcc"):
        script = fake / tool
        script.write_text(f"#!/bin/sh\necho {tool} >> {log}\nexit 1\n")
        script.chmod(0o755)
    env = dict(os.environ, PATH=f"{fake}:{os.environ['PATH']}")
    subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True)
    return log.read_text().split()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the linker cache is Linux's")
def test_importing_weasyprint_runs_no_compiler(tmp_path):
    assert _spawned(tmp_path, "import weasyprint"), "the stand-ins were not run: test is blind"
    assert _spawned(tmp_path, "import press, weasyprint") == []
