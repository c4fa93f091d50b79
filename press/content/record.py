"""Load stage helper: the CSL-JSON reference record every reader produces (BibTeX, RIS, CSL-JSON,
front matter), its small value helpers, and the :class:`press.model.Reference` derived from it.

The record is a plain dict of CSL variables (https://docs.citationstyles.org/en/stable/
specification.html#appendix-iv-variables): names are lists of ``{"family", "given",
"non-dropping-particle", "dropping-particle", "suffix"}`` or ``{"literal"}``, dates are
``{"date-parts": [[y, m, d]]}`` (or ``{"literal"}``), everything else a string.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, TypeAlias, TypedDict

from press.errors import Problem
from press.model import Name, Reference

# a CSL-JSON record: JSON values in the shapes the module docstring gives, read from any source
Record: TypeAlias = dict[str, Any]
# a CSL name: {"family", "given", "suffix", ...} or {"literal"}
CslName: TypeAlias = dict[str, str]
# a CSL date (the key has a hyphen, hence the functional form)
CslDate = TypedDict("CslDate", {"date-parts": list[list[int]], "literal": str}, total=False)

# CSL 1.0.2's item types: a reader maps every source type to one of these
TYPES = frozenset((
    "article", "article-journal", "article-magazine", "article-newspaper", "bill", "book",
    "broadcast", "chapter", "classic", "collection", "dataset", "document", "entry",
    "entry-dictionary", "entry-encyclopedia", "event", "figure", "graphic", "hearing",
    "interview", "legal_case", "legislation", "manuscript", "map", "motion_picture",
    "musical_score", "pamphlet", "paper-conference", "patent", "performance", "periodical",
    "personal_communication", "post", "post-weblog", "regulation", "report", "review",
    "review-book", "software", "song", "speech", "standard", "thesis", "treaty", "webpage"))
NAME_VARIABLES = ("author", "editor", "translator", "container-author", "collection-editor",
                  "composer", "director", "editorial-director", "illustrator", "interviewer",
                  "original-author", "recipient", "reviewed-author", "chair", "compiler",
                  "contributor", "curator", "executive-producer", "guest", "host", "narrator",
                  "organizer", "performer", "producer", "script-writer", "series-creator")
DATE_VARIABLES = ("issued", "accessed", "event-date", "original-date", "submitted",
                  "available-date")
# the built-in Harvard formatter's five kinds (``Reference.type``)
_KINDS = {
    "article": "article", "article-journal": "article", "article-magazine": "article",
    "article-newspaper": "article", "review": "article", "review-book": "article",
    "periodical": "article", "book": "book", "classic": "book", "collection": "book",
    "document": "book", "manuscript": "book", "pamphlet": "book", "thesis": "report",
    "report": "report", "legislation": "report", "bill": "report", "regulation": "report",
    "standard": "report", "patent": "report", "treaty": "report", "hearing": "report",
    "legal_case": "report", "chapter": "chapter", "paper-conference": "chapter",
    "entry-encyclopedia": "chapter", "entry-dictionary": "chapter", "entry": "chapter",
    "webpage": "web", "post-weblog": "web", "post": "web", "dataset": "web", "software": "web"}

_DASH = re.compile(r"\s*(?:-{1,3}|–|—)\s*")


def pages(text: object) -> str:
    """``581-586``, ``581--586``, ``581 – 586`` → ``581–586``; ``b4254`` stays."""
    text = str(text or "").strip()
    return _DASH.sub("–", text) if re.search(r"\w\s*(?:-|–|—)+\s*\w", text) else text


def year(value: object, path: Path | str, line: int | None, problems: list[Problem]
         ) -> int | None:
    if value in (None, ""):
        return None
    match = re.search(r"(?<!\d)(\d{4})(?!\d)", str(value))
    if not match:
        problems.append(Problem(path, line, f"cannot read a year in {str(value)!r}",
                                "write a four-digit year, or leave it out for n.d."))
        return None
    return int(match.group(1))


def iso(value: object) -> str:
    """``2010/03/15``, ``2010-3-15``, ``[2010, 3, 15]`` → ``2010-03-15`` (or shorter)."""
    if isinstance(value, (list, tuple)):
        parts = [int(p) for p in value if str(p).strip().isdigit()]
    else:
        parts = [int(p) for p in re.findall(r"\d+", str(value or ""))[:3]]
    if not parts or not 1000 <= parts[0] <= 2999:
        return ""
    return "-".join([f"{parts[0]:04d}"] + [f"{p:02d}" for p in parts[1:3] if p])


def doi(value: object) -> str:
    return re.sub(r"^(?:https?://(?:dx\.)?doi\.org/|doi:\s*)", "", str(value or "").strip(),
                  flags=re.I)


_MONTHS = {m: i for i, m in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1)}


def month(text: object) -> int | None:
    """``3``, ``mar``, ``March`` → 3."""
    text = str(text or "").strip().lower()
    if text.isdigit():
        return int(text) if 1 <= int(text) <= 12 else None
    return _MONTHS.get(text[:3])


def date(value: object, month_text: object = None, day_text: object = None
         ) -> CslDate | None:
    """A CSL date from ``2009-03-15``, ``2009/03``, ``2009-03-15/2010`` (a range), ``2009``
    with a separate month (and day), or a free text (kept as ``literal``)."""
    text = str(value or "").strip()
    if not text:
        return None
    ranges: list[list[int]] = []
    for part in text.split("/") if re.fullmatch(r"[\d-]+/[\d-]*", text) else [text]:
        found = re.fullmatch(r"(\d{4})(?:-(\d{1,2}))?(?:-(\d{1,2}))?(?:T.*)?", part.strip())
        if not found:
            break
        ranges.append([int(g) for g in found.groups() if g])
    else:
        if ranges and len(ranges[0]) == 1 and (number := month(month_text)):
            ranges[0].append(number)
            if str(day_text or "").strip().isdigit():
                ranges[0].append(int(str(day_text).strip()))
        return {"date-parts": ranges} if ranges else None
    found = re.search(r"(?<!\d)(\d{4})(?!\d)", text)
    return {"literal": text} if not found else {"date-parts": [[int(found.group(1))]],
                                                "literal": text}


# "Last, First": a comma inside an organisation's name is told apart by its words
_ORGANISATION = re.compile(r"\b(?:and|of|for|the|&|on|in|Department|Council|Institute|"
                           r"Office|Ministry|Agency|Association|University|Committee|"
                           r"Society|Trust|Foundation|Service|Services|Centre|Center)\b")


def name(text: str) -> CslName:
    """``Ward, H.`` → a person (``Ward, Jr., H.`` keeps the suffix); ``Department for
    Children, Schools and Families`` (a comma, but the words of an organisation) and a name
    without a comma → an organisation, kept whole (``{"literal": ...}``)."""
    text = re.sub(r"\s+", " ", text.strip())
    if text.startswith("{") and text.endswith("}"):  # {literal: ...} in front matter (fields)
        return {"literal": text[1:-1].strip()}
    parts = [p.strip() for p in text.split(",")]
    if len(parts) == 1 or not parts[-1] or _ORGANISATION.search(", ".join(parts[1:])) \
            or len(parts[-1].split()) > 3 or len(parts[0].split()) > 3:
        return {"literal": text.rstrip(",")}
    if len(parts) == 3 and re.fullmatch(r"(?:Jr|Sr|I{1,3}|IV|V)\.?", parts[1]):
        return {"family": parts[0], "given": parts[2], "suffix": parts[1]}
    return {"family": parts[0], "given": ", ".join(parts[1:])}


def _legacy_name(item: CslName) -> Name:
    if item.get("literal") or not item.get("family"):
        return Name(literal=_plain(item.get("literal") or item.get("given", "")))
    family = " ".join(_plain(item[k]) for k in ("dropping-particle", "non-dropping-particle",
                                                "family") if item.get(k))
    given = ", ".join(_plain(x) for x in (item.get("given", ""), item.get("suffix", "")) if x)
    return Name(family=family, given=given)


_TAG = re.compile(r"</?(?:i|b|sup|sub|span|sc)\b[^>]*>", re.I)  # CSL's rich-text markup


def _plain(value: object) -> str:
    return re.sub(r"\s+", " ", _TAG.sub("", str(value or ""))).strip()


def issued_year(record: Record) -> int | None:
    parts = (record.get("issued") or {}).get("date-parts") or [[]]
    if parts and parts[0] and str(parts[0][0]).lstrip("-").isdigit():
        return int(parts[0][0])
    found = re.search(r"(?<!\d)(\d{4})(?!\d)", str((record.get("issued") or {}).get("literal")
                                                   or ""))
    return int(found.group(1)) if found else None


def to_reference(record: Record, source: Path | None, line: int) -> Reference:
    """The built-in formatter's fields, derived from the CSL record (which travels with it)."""
    kind = _KINDS.get(record.get("type", ""), "book")
    if record.get("type") == "document" and record.get("URL"):
        kind = "web"
    accessed = (record.get("accessed") or {}).get("date-parts") or [[]]
    number = record.get("number", "")
    return Reference(
        id=record["id"], type=kind,
        authors=tuple(_legacy_name(n) for n in record.get("author", ())),
        editors=tuple(_legacy_name(n) for n in record.get("editor", ())),
        year=issued_year(record), title=_plain(record.get("title")),
        container=_plain(record.get("container-title")) if kind in ("article", "chapter")
        else "", publisher=_plain(record.get("publisher")),
        place=_plain(record.get("publisher-place")),
        edition=str(record.get("edition", "")), volume=str(record.get("volume", "")),
        issue=str(record.get("issue", "")) if kind == "article" else "",
        pages=pages(record.get("page")), number=str(number) if kind == "report" else "",
        url=record.get("URL", ""), doi=doi(record.get("DOI")),
        accessed=iso(accessed[0]) if accessed and accessed[0] else "",
        source=source, line=line, csl=record)


def unknown_type(path: Path | str, line: int | None, key: str, kind: str,
                 problems: list[Problem], csl_type: str = "document") -> str:
    """A source type with no CSL type: reported at its line (a warning) and read as
    ``csl_type``; the message names the types that do work."""
    problems.append(Problem(path, line, f"'{key}': type '{kind}' has no CSL type; listed as "
                            f"a {csl_type}", "use an article, book, chapter, report, thesis "
                            "or web page type", "warning"))
    return csl_type
