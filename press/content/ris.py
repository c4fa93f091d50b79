"""Load stage helper: RIS bibliographies (``.ris``, EndNote's and Zotero's export) into CSL-JSON
records. The structure is checked line by line (a missing ``ER`` would merge records); the tags
are mapped here, by type where RIS reuses a tag (``T2`` is a journal, a book or a series),
following Zotero's RIS translator, so that no tag a CSL variable can hold is lost.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import NamedTuple

from press.content import record
from press.errors import Problem

TYPES = {
    "JOUR": "article-journal", "JFULL": "article-journal", "EJOUR": "article-journal",
    "INPR": "article-journal", "ABST": "article-journal", "MGZN": "article-magazine",
    "NEWS": "article-newspaper", "BOOK": "book", "EBOOK": "book", "EDBOOK": "book",
    "CTLG": "book", "SER": "book", "CLSWK": "classic", "GEN": "document", "EQUA": "document",
    "GRANT": "document", "THES": "thesis", "RPRT": "report", "GOVDOC": "report",
    "STAT": "legislation", "LEGAL": "legislation", "BILL": "bill", "HEAR": "hearing",
    "CASE": "legal_case", "CHAP": "chapter", "ECHAP": "chapter", "CONF": "paper-conference",
    "CPAPER": "paper-conference", "ENCYC": "entry-encyclopedia", "DICT": "entry-dictionary",
    "ELEC": "webpage", "WEB": "webpage", "BLOG": "post-weblog", "DATA": "dataset",
    "DBASE": "dataset", "AGGR": "dataset", "COMP": "software", "PAT": "patent", "MAP": "map",
    "ADVS": "motion_picture", "VIDEO": "motion_picture", "MPCT": "motion_picture",
    "SOUND": "song", "MUSIC": "musical_score", "ART": "graphic", "FIGURE": "figure",
    "CHART": "figure", "ICOMM": "personal_communication", "PCOMM": "personal_communication",
    "MANSCPT": "manuscript", "UNPB": "manuscript", "UNPD": "manuscript", "PAMP": "pamphlet",
    "STAND": "standard", "SLIDE": "speech", "MULTI": "document"}
_CONTAINED = ("chapter", "paper-conference", "entry-encyclopedia", "entry-dictionary")
# tag → CSL variable for every type (the type-dependent tags are in _by_type)
PLAIN = {
    "TI": "title", "T1": "title", "CT": "title", "ST": "title-short", "VL": "volume",
    "IS": "issue", "CP": "issue", "PB": "publisher", "CY": "publisher-place",
    "PP": "publisher-place", "ET": "edition", "DO": "DOI", "AB": "abstract", "N2": "abstract",
    "N1": "note", "LA": "language", "M3": "genre", "NV": "number-of-volumes",
    "SE": "section", "CN": "call-number", "DB": "source", "DP": "archive",
    "AN": "archive_location", "OP": "original-title", "TT": "original-title",
    "RI": "reviewed-title", "LB": "citation-label", "C3": "event-title", "RP": "status",
    "JF": "container-title", "JO": "container-title", "BT": "container-title",
    "JA": "container-title-short", "J2": "container-title-short", "J1": "container-title-short",
    "T3": "collection-title", "M1": "number"}
NAMES = {"AU": "author", "A1": "author", "ED": "editor", "A3": "collection-editor",
         "A4": "translator"}
_RIS_LINE = re.compile(r"^([A-Z][A-Z0-9]) {1,2}-(?: (.*))?$")


class _Raw(NamedTuple):
    """One RIS record as read: its first line and its (tag, value) pairs in order."""

    line: int
    tags: list[tuple[str, str]]


def _ris_records(path: Path, text: str, problems: list[Problem]) -> list[_Raw]:
    """Split into records of (tag, value) with their first line, checking the structure."""
    out: list[_Raw] = []
    current: list[tuple[str, str]] | None = None
    start = 0
    for number, raw in enumerate(text.split("\n"), 1):
        line = raw.rstrip()
        if not line.strip():
            continue
        match = _RIS_LINE.match(line)
        if not match and current is None and re.fullmatch(r"\d+\.", line.strip()):
            continue  # EndNote's numbered export: "1." before each record
        if not match:
            if current:  # a long value some exporters wrap onto the next line
                tag, value = current[-1]
                current[-1] = (tag, f"{value} {line.strip()}".strip())
                continue
            problems.append(Problem(path, number, f"not a RIS line: {line[:40]!r}",
                                    "RIS lines look like 'TY  - JOUR': a tag, two spaces, a dash"))
            if not out:
                return []  # not RIS at all: one error is enough
            continue
        tag, value = match.group(1), (match.group(2) or "").strip()
        if tag == "TY":
            if current is not None:
                problems.append(Problem(path, start, "record has no 'ER  -' line before the "
                                        f"next 'TY' on line {number}",
                                        "end each record with 'ER  - '"))
            current, start = [(tag, value)], number
        elif current is None:
            problems.append(Problem(path, number, f"'{tag}' line outside a record",
                                    "each record starts with 'TY  - ' and ends with 'ER  - '"))
        elif tag == "ER":
            out.append(_Raw(start, current))
            current = None
        else:
            current.append((tag, value))
    if current is not None:
        problems.append(Problem(path, start, "the last record has no 'ER  -' line",
                                "end each record with 'ER  - '"))
    if not out and not problems:
        problems.append(Problem(path, 1, "no RIS records found", "is this a RIS export?"))
    return out


def read(path: Path, text: str, problems: list[Problem]) -> list[record.Record]:
    records: list[record.Record] = []
    made: set[str] = set()
    for start, tags in _ris_records(path, text, problems):
        kind = tags[0][1]
        ctype = TYPES.get(kind) or record.unknown_type(path, start, kind, kind, problems)
        rec: record.Record = {"type": ctype, "_line": start}
        values: dict[str, list[str]] = {}
        for tag, value in tags[1:]:
            if value:
                values.setdefault(tag, []).append(value)
        for tag, var in NAMES.items():
            for value in values.get(tag, ()):
                rec.setdefault(var, []).append(record.name(value))
        for value in values.get("A2", ()):  # an editor of a chapter, a series editor of a book
            var = "collection-editor" if ctype == "book" else "editor"
            rec.setdefault(var, []).append(record.name(value))
        for tag, var in PLAIN.items():
            if values.get(tag) and var not in rec and var not in NAMES.values():
                rec[var] = values[tag][0]
        if "T2" in values:  # the journal, the book of a chapter, or a book's series
            var = "collection-title" if ctype in ("book", "report", "thesis") else \
                "container-title"
            rec.setdefault(var, values["T2"][0])
        if ctype in ("report", "patent", "bill", "legislation") and "issue" in rec:
            rec.setdefault("number", rec.pop("issue"))  # EndNote: IS is a report's number
        if values.get("KW"):
            rec["keyword"] = ", ".join(values["KW"])
        first, last = (values.get("SP") or [""])[0], (values.get("EP") or [""])[0]
        if first:
            rec["page"] = record.pages(f"{first}-{last}" if last and last != first else first)
        when = (values.get("DA") or values.get("PY") or values.get("Y1") or [""])[0]
        issued = _date(when)
        if issued:
            rec["issued"] = issued
        accessed = _date((values.get("Y2") or [""])[0]) if ctype in ("webpage", "post-weblog",
                                                                      "dataset", "document") \
            or values.get("UR") else None
        if accessed:
            rec["accessed"] = accessed
        if values.get("SN"):
            rec["ISSN" if ctype.startswith("article") else "ISBN"] = values["SN"][0]
        # (some exporters put several links on one UR line, separated by ";")
        urls = [u.strip() for value in values.get("UR") or values.get("L2")
                or values.get("LK") or [] for u in re.split(r";\s*(?=https?://)", value)]
        if urls:
            rec["URL"] = urls[0]
        if "DOI" in rec:
            rec["DOI"] = record.doi(rec["DOI"])
        key = (values.get("ID") or [""])[0]
        if not key:  # Zotero's RIS export has no citation keys: make one, and say so
            first_name = (rec.get("author") or rec.get("editor") or [{"literal": "anon"}])[0]
            stem = re.sub(r"\W", "", (first_name.get("family") or first_name.get("literal", "")
                                      ).lower())[:20] or "anon"
            year = record.issued_year(rec)
            key = base = f"{stem}{year or 'nd'}"
            for letter in "abcdefghijklmnopqrstuvwxyz":
                if key not in made:
                    break
                key = base + letter
            made.add(key)
            problems.append(Problem(path, start, f"record has no ID line; cite it as '{key}'",
                                    "add 'ID  - yourkey' to choose its key, or export CSL JSON "
                                    "or BibTeX with Better BibTeX", "warning"))
        rec["id"] = key
        records.append(rec)
    return records


def _date(text: str) -> record.CslDate | None:
    """RIS dates: ``2009``, ``2009/03/15/``, ``2009/03//Spring``, ``2009-03-15``."""
    parts = [p for p in re.split(r"[/-]", text.strip())]
    nums = []
    for part in parts[:3]:
        if not part.strip().isdigit():
            break
        nums.append(int(part))
    if not nums or not 1000 <= nums[0] <= 2999:
        return record.date(text) if text.strip() else None
    return {"date-parts": [[n for n in nums if n]]}
