"""Load stage helper: read one bibliography file (CSL-JSON ``.json``, BibTeX/BibLaTeX ``.bib``,
RIS ``.ris``) into :class:`press.model.Reference` records, every problem at its file and line.

Parsers: the standard library's ``json``; bibtexparser 2 (with pylatexenc for LaTeX accents),
which reports a malformed entry and goes on; rispy for the RIS tags, behind a line scan of our
own, because rispy reports no errors at all. Formatting is not done here (``briefing.cite``).
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

from press.errors import Problem
from press.model import Name, Reference

MAX_BYTES = 2 * 1024 * 1024  # a briefing's or a series' references; pylatexenc takes ~2 s/MB
SUFFIXES = {".json": "CSL-JSON", ".bib": "BibTeX", ".ris": "RIS"}
_cache: dict[tuple, tuple[tuple[Reference, ...], tuple[Problem, ...]]] = {}


def read(path: Path) -> tuple[tuple[Reference, ...], list[Problem]]:
    """The records of ``path`` and the problems found; never raises for bad content.
    Parsed files are kept per process by (path, size, mtime): a series-wide file is read once."""
    from press.content import ris  # (which uses this module's helpers)

    reader = {".json": _read_csl_json, ".bib": _read_bibtex, ".ris": ris.read}.get(
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
            records, problems = _cache[key]
            return records, list(problems)
        data = path.read_bytes()
    except FileNotFoundError:
        return (), [Problem(path, None, "bibliography file not found",
                            "paths are relative to the briefing (or to the series file)")]
    except OSError as exc:
        return (), [Problem(path, None, f"cannot read the bibliography: {exc.strerror}",
                            "check the file's permissions")]
    problems: list[Problem] = []
    text = _decode(path, data, problems)
    records = reader(path, text, problems) if text is not None else []
    if text is not None and not records and not problems:
        kind = SUFFIXES[path.suffix.lower()]
        problems.append(Problem(path, None, f"no references found in this {kind} file",
                                "export the references again, or remove the file from "
                                "'bibliography:'"))
    unique, seen = [], {}
    for record in records:
        if not record.title:
            problems.append(Problem(path, record.line, f"'{record.id}' has no title",
                                    "give every reference a title"))
        if record.id in seen:
            problems.append(Problem(path, record.line, f"duplicate key '{record.id}'",
                                    f"first on line {seen[record.id]}; give each entry its own "
                                    "key"))
            continue
        seen[record.id] = record.line
        unique.append(record)
    _cache[key] = (tuple(unique), tuple(problems))
    return tuple(unique), problems


def _decode(path, data: bytes, problems) -> str | None:
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


# -- helpers -----------------------------------------------------------------------------------

_DASH = re.compile(r"\s*(?:-{1,3}|–|—)\s*")


def pages(text) -> str:
    """``581-586``, ``581--586``, ``581 – 586`` → ``581–586``; ``b4254`` stays."""
    text = str(text or "").strip()
    return _DASH.sub("–", text) if re.search(r"\w\s*(?:-|–|—)+\s*\w", text) else text


def year(value, path, line, problems) -> int | None:
    if value in (None, ""):
        return None
    match = re.search(r"(?<!\d)(\d{4})(?!\d)", str(value))
    if not match:
        problems.append(Problem(path, line, f"cannot read a year in {str(value)!r}",
                                "write a four-digit year, or leave it out for n.d."))
        return None
    return int(match.group(1))


def iso(value) -> str:
    """``2010/03/15``, ``2010-3-15``, ``[2010, 3, 15]`` → ``2010-03-15`` (or shorter)."""
    if isinstance(value, (list, tuple)):
        parts = [int(p) for p in value if str(p).strip().isdigit()]
    else:
        parts = [int(p) for p in re.findall(r"\d+", str(value or ""))[:3]]
    if not parts or not 1000 <= parts[0] <= 2999:
        return ""
    return "-".join([f"{parts[0]:04d}"] + [f"{p:02d}" for p in parts[1:3] if p])


def doi(value) -> str:
    return re.sub(r"^(?:https?://(?:dx\.)?doi\.org/|doi:\s*)", "", str(value or "").strip(),
                  flags=re.I)


def unknown_type(path, line, key, kind, problems):
    problems.append(Problem(path, line, f"'{key}': type '{kind}' is not one the house style "
                            "knows; listed as a book", "use an article, book, chapter, report "
                            "or web page type", "warning"))
    return "book"


# -- CSL-JSON ----------------------------------------------------------------------------------

_CSL_TYPES = {
    "article-journal": "article", "article-magazine": "article", "article-newspaper": "article",
    "article": "article", "review": "article", "book": "book", "document": "book",
    "manuscript": "book", "thesis": "report", "report": "report", "legislation": "report",
    "chapter": "chapter", "paper-conference": "chapter", "entry-encyclopedia": "chapter",
    "entry-dictionary": "chapter", "entry": "chapter", "webpage": "web", "post-weblog": "web",
    "post": "web", "dataset": "web", "software": "web"}
_TAG = re.compile(r"</?(?:i|b|sup|sub|span|sc)\b[^>]*>", re.I)  # CSL's rich-text markup


def _s(value) -> str:
    if value in (None, "") or isinstance(value, (dict, list)):
        return ""
    return re.sub(r"\s+", " ", _TAG.sub("", str(value))).strip()


def _csl_names(value, path, line, problems) -> tuple[Name, ...]:
    if value in (None, ""):
        return ()
    if not isinstance(value, list):
        problems.append(Problem(path, line, "names must be a list of {\"family\": ..., "
                                f"\"given\": ...}}, not {type(value).__name__}"))
        return ()
    out = []
    for item in value:
        if isinstance(item, str):
            out.append(Name.parse(item))
        elif isinstance(item, dict) and item.get("literal"):
            out.append(Name(literal=_s(item["literal"])))
        elif isinstance(item, dict):
            particle = " ".join(_s(item.get(k)) for k in ("dropping-particle",
                                                          "non-dropping-particle") if item.get(k))
            family = " ".join(p for p in (particle, _s(item.get("family"))) if p)
            if not family:
                problems.append(Problem(path, line, f"a name has no family name: {item}",
                                        "give 'family', or 'literal' for an organisation"))
                continue
            given = _s(item.get("given"))
            out.append(Name(family=family, given=given))
    return tuple(out)


def _csl_date(value) -> tuple[str | None, list]:
    """CSL date (``date-parts``, ``raw`` or ``literal``) or a string → (year text, parts)."""
    if value in (None, ""):
        return None, []
    if isinstance(value, dict):
        parts = value.get("date-parts")
        if isinstance(parts, list) and parts and isinstance(parts[0], list) and parts[0]:
            return str(parts[0][0]), parts[0]
        value = value.get("raw") or value.get("literal") or ""
    return str(value), re.findall(r"\d+", str(value))[:3]


def _read_csl_json(path, text, problems) -> list[Reference]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        problems.append(Problem(path, exc.lineno, f"invalid JSON: {exc.msg} (column {exc.colno})",
                                "check for a missing comma, quote or bracket near here"))
        return []
    except RecursionError:
        problems.append(Problem(path, None, "JSON is nested too deeply", "export it again"))
        return []
    if isinstance(data, dict) and isinstance(data.get("items"), list):
        data = data["items"]
    if not isinstance(data, list):
        problems.append(Problem(path, 1, "CSL-JSON must be a list of references",
                                "export it again: in Zotero, Export Library, format CSL JSON"))
        return []
    records = []
    for i, item in enumerate(data):
        if not isinstance(item, dict):
            problems.append(Problem(path, None, f"item {i + 1} is not an object",
                                    "each reference is {\"id\": ..., \"type\": ..., ...}"))
            continue
        key = _s(item.get("citation-key") or item.get("id"))
        # json gives no positions for values: the entry's line is that of its key
        found = key and re.search(r'"(?:citation-key|id)"\s*:\s*"?' + re.escape(key)
                                  + r'"?[\s,}]', text)
        line = text[: found.start()].count("\n") + 1 if found else 0
        if not key:
            problems.append(Problem(path, None, f"item {i + 1} has no 'id'",
                                    "Better BibTeX adds 'citation-key'; otherwise add an id"))
            continue
        kind = _s(item.get("type"))
        rtype = _CSL_TYPES.get(kind) or unknown_type(path, line, key, kind, problems)
        year_text, _ = _csl_date(item.get("issued"))
        _, accessed = _csl_date(item.get("accessed"))
        records.append(Reference(
            id=key, type=rtype, authors=_csl_names(item.get("author"), path, line, problems),
            editors=_csl_names(item.get("editor"), path, line, problems),
            title=_s(item.get("title")), container=_s(item.get("container-title")),
            publisher=_s(item.get("publisher")), place=_s(item.get("publisher-place")),
            year=year(year_text, path, line, problems), edition=_s(item.get("edition")),
            volume=_s(item.get("volume")), issue=_s(item.get("issue")),
            pages=pages(_s(item.get("page"))), number=_s(item.get("number")),
            url=_s(item.get("URL")), doi=doi(_s(item.get("DOI"))), accessed=iso(accessed),
            source=path, line=line))
    return records


# -- BibTeX / BibLaTeX -------------------------------------------------------------------------

_BIB_TYPES = {
    "article": "article", "periodical": "article", "book": "book", "mvbook": "book",
    "booklet": "book", "manual": "book", "misc": "book", "proceedings": "book",
    "collection": "book", "unpublished": "book", "report": "report", "techreport": "report",
    "phdthesis": "report", "mastersthesis": "report", "thesis": "report",
    "incollection": "chapter", "inbook": "chapter", "inproceedings": "chapter",
    "conference": "chapter", "bookinbook": "chapter", "inreference": "chapter",
    "online": "web", "www": "web", "electronic": "web"}
_NEEDS_LATEX = re.compile(r"[\\$]")  # commands and maths; braces and dashes are done here
_latex2text = None


def _latex(text: str) -> str:
    """LaTeX → Unicode: ``{\\"o}`` → ö, ``--`` → –, braces dropped, ``\\&`` → &."""
    global _latex2text
    if not _NEEDS_LATEX.search(text):  # most fields: skip pylatexenc (~1 ms a call)
        text = text.replace("---", "—").replace("--", "–").replace("~", " ")
        return re.sub(r"\s+", " ", text.replace("{", "").replace("}", "")).strip()
    if _latex2text is None:  # building the converter is the slow part: once per process
        from pylatexenc.latex2text import LatexNodes2Text

        _latex2text = LatexNodes2Text(math_mode="verbatim")
    return re.sub(r"\s+", " ", _latex2text.latex_to_text(text)).strip()


def _bib_names(parts) -> tuple[Name, ...]:
    """bibtexparser's NameParts, split *before* LaTeX decoding so that a name wholly in braces,
    ``{World Health Organization}``, stays one corporate name."""
    out = []
    for name in parts:
        last = name.last
        if not name.first and not name.von and not name.jr and len(last) == 1 \
                and last[0].startswith("{") and last[0].endswith("}"):
            out.append(Name(literal=_latex(last[0])))
            continue
        given = _latex(" ".join(name.first))
        if name.jr:
            given = f"{given}, {_latex(' '.join(name.jr))}"
        out.append(Name(family=_latex(" ".join(name.von + last)), given=given))
    return tuple(out)


def _read_bibtex(path, text, problems) -> list[Reference]:
    import bibtexparser
    from bibtexparser import middlewares as mw
    from bibtexparser.model import DuplicateBlockKeyBlock, ParsingFailedBlock

    logging.getLogger("bibtexparser").setLevel(logging.CRITICAL)  # reported below, as problems
    library = bibtexparser.parse_string(text, parse_stack=[
        mw.ResolveStringReferencesMiddleware(), mw.RemoveEnclosingMiddleware(),
        mw.SeparateCoAuthors(), mw.SplitNameParts()])
    for block in library.failed_blocks:
        line = block.start_line + 1  # bibtexparser counts lines from 0
        if isinstance(block, DuplicateBlockKeyBlock):
            problems.append(Problem(path, line, f"duplicate key '{block.key}'",
                                    "give each entry its own key"))
        elif isinstance(block, ParsingFailedBlock):
            reason = getattr(block.error, "abort_reason", "") or str(block.error) or "syntax error"
            hint = "check that every { has a matching } and that fields end with a comma"
            end = getattr(block.error, "end_index", None)
            if end is not None:  # an offset into the whole file: where the parser gave up
                hint = f"the parser gave up on line {text[:end].count(chr(10)) + 1}; {hint}"
            problems.append(Problem(path, line, f"malformed entry: {reason.strip()}", hint))
    records = []
    for entry in library.entries:
        line = entry.start_line + 1
        found = {k.lower(): v.value for k, v in entry.fields_dict.items()}

        def val(*keys, found=found):
            return next((_latex(str(found[k])) for k in keys
                         if k in found and not isinstance(found[k], list)), "")

        def names(key, found=found):
            return _bib_names(found[key]) if isinstance(found.get(key), list) else ()
        kind = entry.entry_type.lower()
        rtype = _BIB_TYPES.get(kind) or unknown_type(path, line, entry.key, "@" + kind, problems)
        howpublished = val("howpublished")
        url = val("url") or (howpublished if howpublished.startswith("http") else "")
        if kind == "misc" and url:
            rtype = "web"
        records.append(Reference(
            id=entry.key, type=rtype, authors=names("author"), editors=names("editor"),
            title=val("title"), container=val("journaltitle", "journal", "booktitle"),
            publisher=val("publisher", "institution", "organization", "school"),
            place=val("location", "address"), year=year(val("year", "date"), path, line, problems),
            edition=val("edition"), volume=val("volume"),
            issue=val("issue") if "issue" in found else val("number") if rtype == "article" else "",
            pages=pages(val("pages")), number=val("number") if rtype == "report" else "",
            url=url, doi=doi(val("doi")), accessed=iso(val("urldate")), source=path, line=line))
    return records
