"""Load stage helper: read one bibliography file (CSL-JSON ``.json``, BibTeX/BibLaTeX ``.bib``,
RIS ``.ris``) into :class:`press.model.Reference` records, every problem at its file and line.

Each reader makes CSL-JSON records (``content.record``), which travel whole in
``Reference.csl``: ``content.csljson``, ``content.bibtex`` (bibtexparser 2, LaTeX decoded by
``content.latex``), ``content.ris`` (rispy, behind a line scan of our own, because rispy
reports no errors at all). Formatting is not done here (``briefing.cite``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from press.content import bibtex, csljson, record, ris
from press.core import untrusted
from press.errors import Problem
from press.model import Reference

MAX_BYTES = 2 * 1024 * 1024  # a briefing's or a series' references; pylatexenc takes ~2 s/MB
SUFFIXES = {".json": "CSL-JSON", ".bib": "BibTeX", ".ris": "RIS"}
_cache: dict[tuple[Path, int, int], tuple[tuple[Reference, ...], tuple[Problem, ...]]] = {}


def _cleaned(item: dict[str, Any], path: Path, problems: list[Problem]) -> dict[str, Any]:
    """A record's text as it may be printed, whatever the file held: controls, bidi controls,
    other invisible format characters and lone surrogates (which no PDF or Python encoder
    takes: a ``"\\ud800"`` in a CSL-JSON title stopped the build with a traceback) are removed,
    with a warning at the entry's line naming the fields."""
    changed: list[str] = []

    def clean(value: Any, name: str) -> Any:
        if isinstance(value, str):
            text = untrusted.clean_text(value) if not value.isascii() or \
                any(ord(c) < 32 for c in value) else value
            if text != value.replace("\r\n", "\n") and name not in changed:
                changed.append(name)
            return text
        if isinstance(value, list):
            return [clean(v, name) for v in value]
        if isinstance(value, dict):
            return {k: clean(v, name) for k, v in value.items()}
        return value

    cleaned = {key: clean(value, key) for key, value in item.items() if key != "_line"}
    if changed:
        problems.append(Problem(path, item.get("_line") or None,
                                f"'{item.get('id', '?')}': invisible or invalid characters "
                                f"removed from {', '.join(changed)}",
                                "export the entry again from the reference manager", "warning"))
    return cleaned


def read(path: Path) -> tuple[tuple[Reference, ...], list[Problem]]:
    """The records of ``path`` and the problems found; never raises for bad content.
    Parsed files are kept per process by (path, size, mtime): a series-wide file is read once."""
    reader = {".json": csljson.read, ".bib": bibtex.read, ".ris": ris.read}.get(
        path.suffix.lower())
    if reader is None:
        return (), [Problem(path, None, f"unknown bibliography format '{path.suffix}'",
                            "use .json (CSL-JSON), .bib (BibTeX/BibLaTeX) or .ris (RIS)")]
    try:
        stat = path.stat()
        if stat.st_size > MAX_BYTES:
            return (), [Problem(path, None, f"bibliography is {stat.st_size // 1024} KB, over "
                                f"the {MAX_BYTES // 1024 // 1024} MB limit",
                                "export only the references this briefing or series cites")]
        key = (path, stat.st_size, stat.st_mtime_ns)
        if key in _cache:
            cached, cached_problems = _cache[key]
            return cached, list(cached_problems)
        data = path.read_bytes()
    except FileNotFoundError:
        return (), [Problem(path, None, "bibliography file not found",
                            "paths are relative to the briefing (or to the series file)")]
    except OSError as exc:
        return (), [Problem(path, None, f"cannot read the bibliography: {exc.strerror}",
                            "check the file's permissions")]
    problems: list[Problem] = []
    text = _decode(path, data, problems)
    records = [record.to_reference(_cleaned(item, path, problems), path, item.pop("_line", 0))
               for item in (reader(path, text, problems) if text is not None else [])]
    if text is not None and not records and not problems:
        kind = SUFFIXES[path.suffix.lower()]
        problems.append(Problem(path, None, f"no references found in this {kind} file",
                                "export the references again, or remove the file from "
                                "'bibliography:'"))
    unique: list[Reference] = []
    seen: dict[str, int] = {}
    for ref in records:
        if not ref.title:
            problems.append(Problem(path, ref.line, f"'{ref.id}' has no title",
                                    "give every reference a title", "warning"))
        if ref.id in seen:
            problems.append(Problem(path, ref.line, f"duplicate key '{ref.id}'",
                                    f"first on line {seen[ref.id]}; give each entry its own "
                                    "key"))
            continue
        seen[ref.id] = ref.line
        unique.append(ref)
    _cache[key] = (tuple(unique), tuple(problems))
    return tuple(unique), problems


def _decode(path: Path, data: bytes, problems: list[Problem]) -> str | None:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16").replace("\r\n", "\n")
        except UnicodeDecodeError:
            pass
    try:
        return data.decode("utf-8-sig").replace("\r\n", "\n").replace("\r", "\n")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        problems.append(Problem(path, line, f"not UTF-8: byte 0x{data[exc.start]:02x} at byte "
                                f"offset {exc.start}", "export the file again as UTF-8; in "
                                "Zotero, Character Encoding: Unicode (UTF-8)"))
        return None


