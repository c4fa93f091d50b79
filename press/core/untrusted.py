"""Core, untrusted files: the checks a file from outside the press gets where it is read.

Returned forms, answer CSVs and other files the press did not write are read through here:
the size is checked from ``stat`` before a byte is read (a 3 GB file is never read whole, a
FIFO or a device is never opened for a blocking read), and text taken from them is cleaned of
what would mislead a reader of the output: control characters, bidi overrides and other
invisible format characters, lone surrogates. The limits are listed in docs/security.md.
"""

from __future__ import annotations

import logging
import os
import re
import stat
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# The bidi controls (embeddings, overrides, isolates, marks) are all of category Cf; they are
# named here because they are the ones that reorder what a reader sees (U+202E reverses text).
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
                          "\u200e\u200f\u061c")
# Joiners change how letters (Arabic, Indic scripts) and emoji sequences are drawn, not what
# is read: they stay.
KEPT_FORMAT = frozenset("\u200c\u200d")
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


class Refused(ValueError):
    """A file that is not read: too large, not a regular file. ``hint`` says what to do."""

    def __init__(self, message: str, hint: str = ""):
        super().__init__(message)
        self.message, self.hint = message, hint


def size_label(limit: int) -> str:
    return f"{limit // 2**20} MB" if limit >= 2**20 else f"{limit // 1024} KB"


def read_bytes(path: Path, limit: int) -> bytes:
    """The file's bytes, if it is a regular file of at most ``limit`` bytes.

    The size comes from ``stat`` first; the read stops at ``limit + 1`` bytes anyway (a file
    that grows between the two), and the file is opened non-blocking, so a FIFO swapped in
    after the check cannot stall the read.
    """
    try:
        info = os.stat(path)
    except OSError as exc:
        raise Refused(f"cannot be read ({exc.strerror or exc})") from None
    if stat.S_ISDIR(info.st_mode):
        raise Refused("a folder, not a file")
    if not stat.S_ISREG(info.st_mode):
        raise Refused("not a regular file (a pipe, socket or device)",
                      "only ordinary files are read")
    if info.st_size > limit:
        raise Refused(f"larger than {size_label(limit)} ({info.st_size:,} bytes): not read")
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise Refused(f"cannot be read ({exc.strerror or exc})") from None
    with os.fdopen(fd, "rb") as file:
        if not stat.S_ISREG(os.fstat(file.fileno()).st_mode):
            raise Refused("not a regular file (a pipe, socket or device)",
                          "only ordinary files are read")
        data = file.read(limit + 1)
    if len(data) > limit:
        raise Refused(f"larger than {size_label(limit)}: not read")
    return data


def invisible(character: str) -> bool:
    """A character that changes what a reader sees without being seen: a control other than
    newline and tab, a bidi control or another format character (zero-width space, word
    joiner, soft hyphen, BOM), a lone surrogate."""
    if character in "\n\t" or character in KEPT_FORMAT:
        return False
    return character in BIDI_CONTROLS or unicodedata.category(character) in ("Cc", "Cf", "Cs")


def clean_text(text: str) -> str:
    """``text`` as it should be shown: line ends made ``\\n``, line and paragraph separators
    made newlines, and every :func:`invisible` character removed (a control becomes a space,
    so words it separated stay apart)."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u2028", "\n") \
        .replace("\u2029", "\n")
    text = _CONTROL_RE.sub(" ", text)
    if text.isascii():
        return text
    return "".join(c for c in text if not invisible(c))


@contextmanager
def library_messages(name: str) -> Iterator[list[str]]:
    """Collect what the library logger ``name`` (e.g. "pypdf") says inside the block, instead
    of letting Python print it raw on the terminal: a damaged file makes pypdf log repairs
    ("incorrect startxref pointer") that belong to that file's problem, if anywhere."""
    logger = logging.getLogger(name)
    messages: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            messages.append(clean_text(record.getMessage()).split("\n")[0][:200])

    handler = Collect(logging.WARNING)
    saved = logger.propagate
    logger.addHandler(handler)
    logger.propagate = False
    try:
        yield messages
    finally:
        logger.removeHandler(handler)
        logger.propagate = saved
