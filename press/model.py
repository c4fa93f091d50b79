"""Model: the typed data passed between the pipeline stages."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Partner:
    name: str
    logo: str  # path relative to assets/


@dataclass(frozen=True)
class Contact:
    name: str
    phone: str = ""
    email: str = ""
    role: str = ""


@dataclass(frozen=True)
class Series:
    id: str
    path: Path
    name: str
    publisher: str
    strapline: str
    about: str
    partners: tuple[Partner, ...]
    contact: Contact
    purchase_url: str
    publisher_logo: str = ""
    booklet: bool = True  # print editions padded to a multiple of 4 pages
    sample_pages: int = 0  # 0 = default sample (cover, contents, first content page)
    bibliography: tuple[Path, ...] = ()  # series-wide bibliography files, checked to exist
    print_profile: str = ""  # CMYK output profile under assets/ ("": the default FOGRA39)
    doi_prefix: str = ""  # the publisher's Crossref prefix ("10.12345"): every doi: under it
    language: str = "en-GB"  # of its briefings: XMP dc:language, ONIX, citation files
    place: str = ""  # place of publication, in citations ("Dartington: research in practice")
    upload_url: str = ""  # where output/upload/ is served (file and image links; "": none)
    product_url: str = ""  # a product's page, "{id}" replaced ("": the purchase_url)
    csl: Path | None = None  # the series' citation style, layouts/csl/<name>.csl: its csl:
    # or else the house style, house-harvard.csl (None: neither, the built-in formatter)
    free_to_read: bool = True  # the HTML edition in full (False: its first sections only)


@dataclass(frozen=True)
class Author:
    name: str
    role: str = ""
    email: str = ""


@dataclass(frozen=True)
class Indicator:
    code: str
    title: str


@dataclass(frozen=True)
class Name:
    """A person's name (``family``, ``given``) or a corporate author (``literal``)."""

    family: str = ""  # particles kept in front: "van der Berg"
    given: str = ""  # "Harriet" or "H."; the formatter writes initials
    literal: str = ""  # corporate author: "World Health Organization"

    @classmethod
    def parse(cls, text: str) -> Name:
        """``"Ward, H."`` → family and given; no comma, ``"{...}"`` or an organisation's
        name ("Department for Children, Schools and Families") → a corporate name."""
        text = text.strip()
        if text.startswith("{") and text.endswith("}"):
            return cls(literal=text[1:-1].strip())
        family, comma, given = text.partition(",")
        if not comma or _organisation(family, given):
            return cls(literal=text)
        return cls(family=family.strip(), given=given.strip())

    @property
    def sort_name(self) -> str:
        return self.literal or self.family


ORGANISATION_WORDS = {
    "agency", "association", "authority", "board", "bureau", "centre", "center", "commission",
    "committee", "council", "department", "executive", "foundation", "government", "group",
    "institute", "ministry", "network", "nhs", "office", "organisation", "organization",
    "partnership", "service", "services", "society", "trust", "unit", "university"}
PARTICLES = {"van", "von", "der", "den", "de", "del", "della", "da", "di", "du", "la", "le",
             "ter", "ten", "bin", "ibn", "al", "el", "y"}


def _organisation(family: str, given: str) -> bool:
    """A name a comma would wrongly split: an organisation's word before the comma, or
    lower-case words ("and", "for") after it, which no given name has."""
    words = re.findall(r"[^\W\d_]+", family.lower())
    if any(word in ORGANISATION_WORDS for word in words):
        return True
    return any(word.islower() and len(word) > 1 and word not in PARTICLES
               for word in re.findall(r"[^\W\d_]+", given))


@dataclass(frozen=True)
class Reference:
    """One entry of a briefing's reference list, from the front matter or a bibliography
    file (CSL-JSON, BibTeX, RIS): every source is read into ``csl``, the CSL-JSON record
    (every CSL variable and type, as Zotero, pandoc and citeproc-js share it); the fields
    before it are the few the built-in formatter reads, derived from that record."""

    id: str
    type: str  # book, report, article, chapter, web
    authors: tuple[Name, ...]
    year: int | None  # None: "n.d."
    title: str
    container: str = ""  # the journal (article) or the book (chapter)
    volume: str = ""
    issue: str = ""
    pages: str = ""  # en dash between numbers: "581–586"
    publisher: str = ""
    place: str = ""
    url: str = ""
    editors: tuple[Name, ...] = ()
    edition: str = ""  # "2" or "2nd"; the formatter writes "2nd edn"
    number: str = ""  # report number
    doi: str = ""  # bare: "10.1111/j.1469-7610.1997.tb01545.x"
    accessed: str = ""  # ISO date a web source was seen: "2010-03-15"
    suffix: str = ""  # "a", "b": set when two entries share authors and year
    source: Path | None = field(default=None, compare=False)  # bibliography file, or None:
    # the front matter
    line: int = field(default=0, compare=False)  # line of the entry in its source file
    # the whole CSL-JSON record: {"id", "type", "author": [{"family", "given", ...}], ...};
    # not compared (the fields above are derived from it) and never mutated after reading
    csl: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)  # JSON values
    style: Path | None = field(default=None, compare=False, repr=False)  # the series' CSL
    # style, set on every reference of a briefing when its series names one (``csl:``)
    formatted: object = field(default=None, compare=False, repr=False)  # what that style
    # printed for this work (briefing.cslcite.Forms), set by cite.disambiguate


@dataclass(frozen=True)
class Briefing:
    """One briefing as the author wrote it, validated."""

    slug: str
    path: Path
    title: str
    series: Series
    number: int
    indicator: Indicator
    published: str  # "YYYY-MM" or "YYYY-MM-DD"
    authors: tuple[Author, ...]
    status: str  # "draft" or "final"
    summary: str
    body: str  # the Markdown after the front matter
    body_line: int  # line number in the file of the body's first line
    subtitle: str = ""
    audience: str = ""
    keywords: tuple[str, ...] = ()
    isbn: str = ""  # the print edition's (its barcode); one ISBN per format
    price: float | None = None
    layout: str = "briefing"
    isbn_pdf: str = ""  # the PDF the shop sells
    isbn_epub: str = ""
    doi: str = ""  # "10.12345/pp-ni-062", registered with Crossref
    references: tuple[Reference, ...] = ()
    sample_pages: int = 0
    bibliography: tuple[Path, ...] = ()  # bibliography files read (inputs of the build)
    nocite: tuple[str, ...] = ()  # keys listed though not cited ("*": every entry)

    @property
    def is_draft(self) -> bool:
        return self.status == "draft"

    @property
    def published_date(self) -> dt.date:
        parts = [int(p) for p in self.published.split("-")]
        return dt.date(parts[0], parts[1], parts[2] if len(parts) > 2 else 1)

    @property
    def published_label(self) -> str:
        """"April 2008": how the cover shows the date."""
        return self.published_date.strftime("%B %Y")


@dataclass(frozen=True)
class Heading:
    level: int
    text: str
    id: str


@dataclass(frozen=True)
class Body:
    """The markdown stage's output: sanitised HTML plus what the layout needs to know."""

    html: str
    headings: tuple[Heading, ...]
    references_html: str  # the formatted reference list (<ol>), empty if none
    # press.errors.Problem each: errors is a sibling layer model may not import (import-linter)
    warnings: tuple[Any, ...] = ()
    images: tuple[str, ...] = ()  # the src of each local image the body places


@dataclass(frozen=True)
class Page:
    """The layout stage's output: one complete HTML document ready to typeset."""

    html: str
    base_url: str
    name: str  # for messages, e.g. the briefing's source path
    metadata: dict[str, str] = field(default_factory=dict)
