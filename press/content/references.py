"""Load stage helper: a briefing's references, from bibliography files named by ``bibliography:``
(the series file's, then the briefing's) and from ``references:`` in its front matter, which
override a file's entry with the same id."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Collection, Iterable
from pathlib import Path
from typing import Any

from press.content import bibliography, record
from press.core import fields, yamlsafe
from press.errors import Problems, did_you_mean
from press.model import Reference

TYPES = ("book", "report", "article", "chapter", "web")
FIELDS = ("id", "type", "authors", "year", "title", "journal", "volume", "issue", "pages",
          "publisher", "place", "url", "book", "editors", "edition", "number", "doi", "accessed",
          "translators", "subtitle", "genre", "series", "date")
TEXTS = ("volume", "issue", "publisher", "place", "url", "edition", "number")
# the front matter's fields as CSL variables (``journal``/``book``: the container)
CSL_TYPES = {"book": "book", "report": "report", "article": "article-journal",
             "chapter": "chapter", "web": "webpage"}
CSL_FIELDS = {"volume": "volume", "issue": "issue", "publisher": "publisher",
              "place": "publisher-place", "url": "URL", "edition": "edition", "number": "number",
              "journal": "container-title", "book": "container-title"}


def files(check: fields.Checker, value: object, base: Path, root: Path) -> tuple[Path, ...]:
    """The files a ``bibliography:`` field names (one path or a list, relative to ``base``),
    each checked to be a file inside the project (symlinks resolved) with a known format."""
    names = [value] if isinstance(value, str) else check(fields.items, value, "bibliography")
    found = []
    for i, name in enumerate(names or []):
        key = ("bibliography",) if isinstance(value, str) else ("bibliography", i)
        text = check(fields.text, name, *key)
        if text is None:
            continue
        if "\x00" in text:
            check.fail(key, "'bibliography' contains a null character", "type the path again")
            continue
        path = (base / text).resolve()
        if not path.is_relative_to(root):
            check.fail(key, f"bibliography '{text}' is outside the project",
                       "copy the file into content/ and name it from there")
        elif path.suffix.lower() not in bibliography.SUFFIXES:
            check.fail(key, f"bibliography '{text}' has an unknown format '{path.suffix}'",
                       "use .json (CSL-JSON), .bib (BibTeX/BibLaTeX) or .ris (RIS)")
        elif not fields.is_file(path):
            check.fail(key, f"bibliography file '{text}' not found",
                       f"paths are relative to {base.name}/, the folder of this file")
        else:
            found.append(path)
    return tuple(found)


HOUSE_STYLE = "house-harvard.csl"


def house_style(layouts: Path) -> Path | None:
    """The style of a series that names none: ``layouts/csl/house-harvard.csl`` when the
    project has it (else the built-in formatter, which prints the same)."""
    path = layouts / "csl" / HOUSE_STYLE
    return path.resolve() if fields.is_file(path) else None


def style(check: fields.Checker, value: object, layouts: Path) -> Path | None:
    """The series' ``csl:``, a style file in ``layouts/csl/`` (``apa`` or ``apa.csl``)."""
    name = check(fields.text, value, "csl")
    if name is None:
        return None
    folder = layouts / "csl"
    known = sorted(p.name for p in folder.glob("*.csl")) if folder.is_dir() else []
    file = name if name.endswith(".csl") else f"{name}.csl"
    path = (folder / file).resolve()
    if "/" in file or "\\" in file or file not in known or not fields.is_file(path):
        check.fail(("csl",), f"no citation style '{name}' in layouts/csl/",
                   did_you_mean(file, known) or "drop a style from the Zotero Style "
                   "Repository (https://www.zotero.org/styles) into layouts/csl/")
        return None
    problem = _unusable(path)
    if problem:
        check.fail(("csl",), *problem)
        return None
    return path


def _unusable(path: Path) -> tuple[str, str] | None:
    """Why a style file cannot format a briefing's citations, or None: not CSL, a dependent
    style (a name for another style), or a note style (citations in footnotes)."""
    try:
        root = ET.parse(path).getroot()
    except (ET.ParseError, OSError) as exc:
        return f"citation style '{path.name}' is not readable XML: {exc}", \
            "download the style again from https://www.zotero.org/styles"
    if not root.tag.endswith("}style"):
        return f"'{path.name}' is not a CSL style", "CSL styles start with <style xmlns=..."
    parent = next((link.get("href", "") for link in root.iter()
                   if link.tag.endswith("}link") and link.get("rel") == "independent-parent"),
                  None)
    if parent is not None:
        return f"'{path.name}' is a dependent style: it only names its parent, " \
            f"{parent.rsplit('/', 1)[-1]}", f"download {parent} into layouts/csl/ and name it"
    if root.get("class") == "note":
        return f"'{path.name}' is a note style (citations in footnotes)", \
            "briefings cite in the text: choose an author-date or numeric style"
    return None


def gather(series_files: Collection[Path], briefing_files: Iterable[Path],
           inline: tuple[Reference, ...], problems: Problems) -> tuple[tuple[Reference, ...], bool]:
    """Every reference the briefing may cite, and whether the files were read without error.

    A key in two files is an error naming both; an inline entry replaces a file's entry. The
    series files' own problems are reported once, by :func:`check_series`, not per briefing.
    """
    by_id: dict[str, Reference] = {}
    ok = True
    for path in dict.fromkeys([*series_files, *briefing_files]):
        records, found = bibliography.read(path)
        ok = ok and not any(p.severity == "error" for p in found)
        if path not in series_files:
            problems.extend(found)
        for entry in records:
            first = by_id.get(entry.id)
            if first is not None:
                assert first.source is not None  # by_id holds only file entries so far
                ok = False
                problems.error(path, entry.line, f"key '{entry.id}' is defined twice: in "
                               f"{first.source.name}{_at(first.line)} and in {path.name}"
                               f"{_at(entry.line)}", "keep one of the two entries")
            else:
                by_id[entry.id] = entry
    for ref in inline:
        by_id[ref.id] = ref
    return tuple(by_id.values()), ok


def check_series(paths: Iterable[Path], problems: Problems) -> None:
    """Report a series-wide bibliography's problems once, when the series is loaded."""
    for path in paths:
        problems.extend(bibliography.read(path)[1])


def _at(line: int) -> str:
    return f":{line}" if line else ""


def inline(check: fields.Checker, items: object) -> tuple[Reference, ...]:
    """The front matter's ``references:`` list, validated."""
    refs: list[Reference] = []
    seen: dict[str, int | None] = {}  # id → its line, when known
    for i, item in enumerate(check(fields.items, items, "references") or []):
        entry = check(fields.fields, item, "references", i, allowed=FIELDS,
                      required=("id", "type", "authors", "title"))
        if not entry:
            continue
        line = yamlsafe.line_of(check.lines, "references", i)
        ref_id = check(fields.text, entry["id"], "references", i, "id")
        if ref_id is None:
            continue
        if ref_id in seen:
            check.fail(("references", i, "id"), f"duplicate reference id '{ref_id}'",
                       f"first on line {seen[ref_id]}")
            continue
        seen[ref_id] = line
        if entry["type"] not in TYPES and entry["type"] not in record.TYPES:
            check.fail(("references", i, "type"), "reference type must be one of "
                       f"{', '.join(TYPES)} (or a CSL type: thesis, legislation, "
                       f"article-newspaper, ...), not {entry['type']!r}",
                       did_you_mean(str(entry["type"]), (*TYPES, *record.TYPES)))
            continue
        year = entry.get("year")
        if isinstance(year, str) and year.strip().lower() in ("n.d.", "nd", "n.d"):
            year = None
        if year is not None and (isinstance(year, bool) or not isinstance(year, int)
                                 or not 1000 <= year <= 2999):
            check.fail(("references", i, "year"), f"'year' must be a year like 2001, not "
                       f"{year!r}", "leave it out (or write n.d.) if the work has no date")
            continue
        authors = check(fields.names, entry["authors"], "references", i, "authors")
        editors = check(fields.text_list, entry["editors"], "references", i, "editors") \
            if entry.get("editors") else ()
        # (a field given as a list or a mapping is an error, never Python's repr in print)
        extra = {k: check(fields.text, entry[k], "references", i, k) for k in TEXTS
                 if entry.get(k) is not None}
        named = {k: check(fields.text, entry[k], "references", i, k) for k in ("journal", "book")
                 if entry.get(k) is not None}
        title = check(fields.text, entry["title"], "references", i, "title")
        if authors is None or title is None or None in (*extra.values(), *named.values()):
            continue
        csl: record.Record = {"id": ref_id, "type": CSL_TYPES.get(entry["type"], entry["type"]),
               "title": title, "author": [record.name(a) for a in authors]}
        if editors:
            csl["editor"] = [record.name(e) for e in editors]
        if year is not None:
            csl["issued"] = {"date-parts": [[year]]}
        if not _more(check, entry, i, csl):
            continue
        # the journal of an article, the book of a chapter (either name serves either type)
        container = named.get("journal") if entry["type"] == "article" else named.get("book")
        for key, value in {**extra, "journal": container or named.get("journal")
                           or named.get("book")}.items():
            if value:
                csl[CSL_FIELDS[key]] = value
        if entry.get("pages"):
            csl["page"] = record.pages(entry["pages"])
        if entry.get("doi"):
            csl["DOI"] = record.doi(entry["doi"])
        when = _accessed(check, entry.get("accessed"), i)
        if when:
            csl["accessed"] = {"date-parts": [[int(p) for p in when.split("-")]]}
        refs.append(record.to_reference(csl, None, line or 0))
    return tuple(refs)


def _more(check: fields.Checker, entry: dict[Any, Any], i: int, csl: record.Record) -> bool:
    """The fields beyond the built-in formatter's: translators, a subtitle, the genre (``PhD
    thesis``), the series, the full date of issue (``date: 2014-05-01``)."""
    if entry.get("translators"):
        names = check(fields.names, entry["translators"], "references", i, "translators")
        if names is None:
            return False
        csl["translator"] = [record.name(n) for n in names]
    for key, var in (("genre", "genre"), ("series", "collection-title"),
                     ("subtitle", "subtitle")):
        if entry.get(key) is not None:
            value = check(fields.text, entry[key], "references", i, key)
            if value is None:
                return False
            csl[var] = value
    if "subtitle" in csl:
        csl["title-short"] = csl["title"]
        csl["title"] = f"{csl['title']}: {csl.pop('subtitle')}"
    if entry.get("date") is not None:
        when = record.iso(entry["date"].isoformat() if hasattr(entry["date"], "isoformat")
                          else entry["date"])
        if not when:
            check.fail(("references", i, "date"), f"'date' must be a date like 2014-05-01, "
                       f"not {entry['date']!r}", "the day (or month) the work was issued")
            return False
        csl["issued"] = {"date-parts": [[int(p) for p in when.split("-")]]}
    return True


def _accessed(check: fields.Checker, value: object, i: int) -> str:
    if value is None:
        return ""
    accessed = record.iso(value.isoformat() if hasattr(value, "isoformat") else value)
    if len(accessed) != 10:
        check.fail(("references", i, "accessed"), f"'accessed' must be a date like 2010-03-15, "
                   f"not {value!r}", "the day you last saw the web page")
    return accessed
