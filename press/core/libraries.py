"""Process set-up: finding shared libraries by name without a compiler, for WeasyPrint's import.

``import weasyprint`` asks cffi for its C libraries under six or so names each (Windows and
macOS spellings first, and HarfBuzz-vector, which Debian 12 lacks). Every name cffi cannot
open goes through ``ctypes.util.find_library``, which on Linux reads ``ldconfig -p`` and then
runs gcc and ld to search again: about 200 processes and 0.2 s of CPU in every process that
lays a page out (a third of the import). :func:`install` answers those look-ups from one read
of the dynamic linker's cache, as the first of find_library's own strategies does, and skips
the compiler fallbacks, which only find libraries the linker would not load by name anyway.
Where there is no ``ldconfig`` (not Linux), find_library stays as it is.
"""

from __future__ import annotations

import ctypes.util
import re
import shutil
import subprocess
import sys
from functools import lru_cache

_ORIGINAL = ctypes.util.find_library
_ENTRY = re.compile(r"^\s+(\S+)\s+\((?P<flags>[^)]*)\)\s+=>")


@lru_cache(maxsize=1)
def _cache() -> tuple[str, ...] | None:
    """The sonames of the linker cache for this machine's word size, or None if unreadable."""
    ldconfig = shutil.which("ldconfig") or next(
        (p for p in ("/sbin/ldconfig", "/usr/sbin/ldconfig") if shutil.which(p)), None)
    if ldconfig is None:
        return None
    try:
        listing = subprocess.run([ldconfig, "-p"], capture_output=True, text=True, timeout=10,
                                 env={"LC_ALL": "C", "LANG": "C"}, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    wide = sys.maxsize > 2**32
    names = []
    for line in listing.splitlines():
        match = _ENTRY.match(line)
        if match and (("64" in match["flags"]) == wide or "x32" in match["flags"]):
            names.append(match.group(1))
    return tuple(names)


@lru_cache(maxsize=256)
def find_library(name: str) -> str | None:
    """``ctypes.util.find_library`` answered from the linker cache: the first soname
    ``lib<name>.*`` in it, or None."""
    names = _cache()
    if names is None:
        return _ORIGINAL(name)
    prefix = f"lib{name}."  # as find_library's ldconfig strategy: the first in the cache's order
    return next((n for n in names if n.startswith(prefix)), None)


def install() -> None:
    """Answer the process's find_library look-ups from the linker cache (Linux only)."""
    if sys.platform.startswith("linux"):
        ctypes.util.find_library = find_library
