"""Output stage helpers: atomic writes, so a reader only ever sees a whole old or whole new file."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import overload


class IncompleteOutput(Exception):
    """A file about to be published failed its completeness check (a bug, not user error)."""


def identifier(*parts: str) -> bytes:
    """A fixed PDF /ID from the content's identity, so rebuilds are byte-identical."""
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:32].encode()


def check_pdf(data: bytes) -> None:
    if not data.startswith(b"%PDF-") or b"%%EOF" not in data[-1024:]:
        raise IncompleteOutput("PDF is truncated or malformed")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


FILE_MODE = 0o666  # what open() would give, less the umask: mkstemp's 0600 would make print
# files and upload folders unreadable on a shared drive or the printer's FTP


def write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to a temporary file beside ``path``, fsync, then rename over ``path``.

    The file gets the mode a plain ``open()`` would give it (0644 under the usual umask)."""
    if path.suffix == ".pdf":
        check_pdf(data)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}.", suffix=".part",
                               dir=path.parent)
    try:
        os.chmod(tmp, FILE_MODE & ~_umask())
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_text(path: Path, text: str) -> None:
    write_bytes(path, text.encode("utf-8"))


@contextmanager
def staged_folder(final: Path) -> Iterator[Path]:
    """Build a folder under a temporary name; swap it in only if the block succeeds."""
    final.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{final.name}.{os.getpid()}.", suffix=".staging",
                                    dir=final.parent))
    staging.chmod(0o777 & ~_umask())  # mkdtemp's 0700 would hide the folder from other users
    try:
        yield staging
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    old = final.with_name(f".{final.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    if final.exists():
        os.replace(final, old)
    os.replace(staging, final)
    shutil.rmtree(old, ignore_errors=True)


def settle_folder(final: Path) -> None:
    """Roll back a folder swap killed between its two renames (``.name.old`` left, ``name``
    gone), so a reader never mistakes the gap for an empty folder."""
    old = final.with_name(f".{final.name}.old")
    if old.is_dir() and not final.exists():
        try:
            os.replace(old, final)
        except FileNotFoundError:  # another process settled it first
            pass


# -- CSV cells a spreadsheet opens ------------------------------------------------------------

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: object) -> str:
    """A CSV cell that a spreadsheet shows as text, never runs as a formula (OWASP's advice:
    a leading ``= + - @``, tab or carriage return gets a ``'`` in front). Numbers stay numbers:
    only text is touched, so ``-3`` given as an int is written as it is."""
    if value is None:
        return ""
    if not isinstance(value, str):
        return str(value)
    return "'" + value if value.startswith(_FORMULA_START) else value


@overload
def safe_row(row: dict[str, object]) -> dict[str, str]: ...
@overload
def safe_row(row: Sequence[object]) -> list[str]: ...
def safe_row(row: dict[str, object] | Sequence[object]) -> dict[str, str] | list[str]:
    """``spreadsheet_safe`` over a list (csv.writer) or a dict (csv.DictWriter) row."""
    if isinstance(row, dict):
        return {key: spreadsheet_safe(value) for key, value in row.items()}
    return [spreadsheet_safe(value) for value in row]


_OWNER_RE = re.compile(r"^\..+\.(\d+)\.[^.]+\.(part|staging)$")
UNOWNED_AGE = 60  # seconds: a leftover without a process id in its name is surely abandoned


def _abandoned(path: Path) -> bool:
    """True if the process that made ``path`` (named ``.name.<pid>.XXXX.part``) is gone."""
    match = _OWNER_RE.match(path.name)
    if not match:
        try:
            return time.time() - path.lstat().st_mtime > UNOWNED_AGE
        except FileNotFoundError:
            return False
    pid = int(match.group(1))
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, someone else's
        return False
    return False


def clean_partials(folder: Path) -> None:
    """Remove leftovers of interrupted writes (``.name.<pid>.XXXX.part``, ``.staging`` folders).

    Only leftovers whose writer has died are removed, so a build running beside another (the
    preview server, a second terminal) never pulls a file from under it. A folder swap killed
    half-way (``.name.old`` present, ``name`` missing) is rolled back.
    """
    if not folder.is_dir():
        return
    for leftover in sorted(folder.rglob(".*.part")):
        if leftover.is_file() and _abandoned(leftover):
            leftover.unlink(missing_ok=True)
    for leftover in sorted(folder.rglob(".*.staging")):
        if leftover.is_dir() and _abandoned(leftover):
            shutil.rmtree(leftover, ignore_errors=True)
    for old in sorted(folder.rglob(".*.old")):
        final = old.with_name(old.name[1:].removesuffix(".old"))
        if old.is_dir() and not final.exists():
            os.replace(old, final)
