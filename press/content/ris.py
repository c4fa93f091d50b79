"""Load stage helper: RIS bibliographies (``.ris``, EndNote's and Zotero's export) into
:class:`press.model.Reference` records. rispy maps the tags; the structure is checked here
first, line by line, because rispy reports no errors: a missing ``ER`` would merge records.
"""

from __future__ import annotations

import re

from press.content import bibliography as bib
from press.errors import Problem
from press.model import Name, Reference

_RIS_TYPES = {
    "JOUR": "article", "JFULL": "article", "MGZN": "article", "NEWS": "article",
    "EJOUR": "article", "BOOK": "book", "EBOOK": "book", "EDBOOK": "book", "GEN": "book",
    "THES": "report", "RPRT": "report", "GOVDOC": "report", "STAT": "report", "BILL": "report",
    "CHAP": "chapter", "ECHAP": "chapter", "CONF": "chapter", "CPAPER": "chapter",
    "ENCYC": "chapter", "ELEC": "web", "WEB": "web", "BLOG": "web", "DATA": "web"}
_RIS_LINE = re.compile(r"^([A-Z][A-Z0-9])  -(?: (.*))?$")


def _ris_records(path, text, problems) -> list[tuple[int, list[str]]]:
    """Split into records with their first line, checking the structure rispy does not."""
    out, current, start = [], None, 0
    for number, raw in enumerate(text.split("\n"), 1):
        line = raw.rstrip()
        if not line.strip():
            continue
        match = _RIS_LINE.match(line)
        if not match:
            if current is not None:  # a long value some exporters wrap onto the next line
                current.append(line)
                continue
            problems.append(Problem(path, number, f"not a RIS line: {line[:40]!r}",
                                    "RIS lines look like 'TY  - JOUR': a tag, two spaces, a dash"))
            if not out:
                return []  # not RIS at all: one error is enough
            continue
        tag = match.group(1)
        if tag == "TY":
            if current is not None:
                problems.append(Problem(path, start, "record has no 'ER  -' line before the "
                                        f"next 'TY' on line {number}",
                                        "end each record with 'ER  - '"))
            current, start = [line], number
        elif current is None:
            problems.append(Problem(path, number, f"'{tag}' line outside a record",
                                    "each record starts with 'TY  - ' and ends with 'ER  - '"))
        elif tag == "ER":
            out.append((start, current + [line]))
            current = None
        else:
            current.append(line)
    if current is not None:
        problems.append(Problem(path, start, "the last record has no 'ER  -' line",
                                "end each record with 'ER  - '"))
    if not out and not problems:
        problems.append(Problem(path, 1, "no RIS records found", "is this a RIS export?"))
    return out


def read(path, text, problems) -> list[Reference]:
    import rispy

    records = []
    for start, lines in _ris_records(path, text, problems):
        [entry] = rispy.loads("\n".join(lines) + "\n")
        kind = entry.get("type_of_reference", "")
        rtype = _RIS_TYPES.get(kind) or bib.unknown_type(path, start, kind, kind, problems)
        authors = [*entry.get("authors", []), *entry.get("first_authors", [])]
        editors = [*entry.get("unknown_tag", {}).get("ED", []),
                   *(entry.get("secondary_authors", []) if rtype in ("chapter", "book") else [])]
        key = (entry.get("id") or "").strip()
        when = bib.year(entry.get("year") or entry.get("publication_year") or entry.get("date"),
                    path, start, problems)
        if not key:  # Zotero's RIS export has no citation keys: make one, and say so
            first = Name.parse(authors[0]) if authors else Name(literal="anon")
            stem = re.sub(r"\W", "", first.sort_name.lower())[:20] or "anon"
            key = f"{stem}{when or 'nd'}"
            problems.append(Problem(path, start, f"record has no ID line; cite it as '{key}'",
                                    "add 'ID  - yourkey' to choose its key, or export CSL JSON "
                                    "or BibTeX with Better BibTeX", "warning"))
        first, last = entry.get("start_page", ""), entry.get("end_page", "")
        container = entry.get("secondary_title") or entry.get("journal_name") \
            or entry.get("alternate_title3") or entry.get("alternate_title2") or ""
        urls = entry.get("urls") or []
        records.append(Reference(
            id=key, type=rtype, authors=tuple(Name.parse(a) for a in authors),
            editors=tuple(Name.parse(a) for a in editors),
            title=(entry.get("title") or entry.get("primary_title") or "").strip(),
            container=container.strip() if rtype in ("article", "chapter") else "",
            publisher=entry.get("publisher", "").strip(),
            place=entry.get("place_published", "").strip(), year=when,
            edition=entry.get("edition", "").strip(), volume=entry.get("volume", "").strip(),
            issue=entry.get("number", "").strip() if rtype == "article" else "",
            pages=bib.pages(f"{first}-{last}" if first and last else first),
            number=entry.get("number", "").strip() if rtype == "report" else "",
            url=urls[0].strip() if urls else "", doi=bib.doi(entry.get("doi")),
            accessed=bib.iso(entry.get("access_date")), source=path, line=start))
    return records
