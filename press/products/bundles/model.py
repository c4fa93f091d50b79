"""Bundle model (assemble stage): a bundle, its briefings' built PDFs, and where every page of
an edition goes."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from press.errors import Problem
from press.model import Briefing, Series
from press.project import Project

if TYPE_CHECKING:
    from pypdf import PdfReader

EDITIONS = ("web", "print")
BUNDLE_CODE = "press.products.bundles"  # the code that assembles a bundle (freshness key)


@dataclass(frozen=True)
class Bundle:
    """One bundle definition, validated against the loaded series and briefings."""

    id: str
    path: Path
    title: str
    series: Series
    briefings: tuple[Briefing, ...]
    published: str
    lines: tuple[int | None, ...]  # line of each entry of ``briefings`` in the bundle file
    subtitle: str = ""
    isbn: str = ""  # the print edition's (its barcode); one ISBN per format
    price: float | None = None
    isbn_pdf: str = ""  # the PDF the shop sells
    isbn_epub: str = ""
    doi: str = ""
    # what the file says that is read but should change (a single isbn:), for the commands
    warnings: tuple[Problem, ...] = dataclasses.field(default=(), compare=False, repr=False)

    @property
    def published_label(self) -> str:
        year, month = (int(p) for p in self.published.split("-")[:2])
        return dt.date(year, month, 1).strftime("%B %Y")


@dataclass(frozen=True)
class PartFile:
    """One briefing's built PDF, opened, and which of its pages go into the bundle."""

    path: Path
    pages: tuple[int, ...]
    reader: PdfReader | None = dataclasses.field(default=None, compare=False, repr=False)

    @classmethod
    def of(cls, project: Project, slug: str, edition: str, parse: bool = False) -> PartFile:
        """All pages but the briefing's own back cover (a collected edition has one back
        cover, with one price and one barcode: the bundle's), and in print the padding pages
        that made the briefing a booklet (recorded by the preflight report): in a bundle they
        would only be empty sheets.

        The file is read once, here; :func:`merge` copies from this same reader, so the
        plan and the pages merged cannot come from two different versions of the file.
        ``parse``: parse every object now (the merge would, later).
        """
        from pypdf import PdfReader  # only when a bundle is assembled

        paths = project.briefing_outputs(slug)
        reader = PdfReader(io.BytesIO(paths[edition].read_bytes()))
        count = len(reader.pages)
        if parse:
            for number in [*reader.xref.get(0, {}), *reader.xref_objStm]:
                reader.get_object(number)
        padding = 0
        if edition == "print":
            try:
                report = json.loads(paths["preflight"].read_text(encoding="utf-8"))
                padding = int(report.get("padding_pages", 0))
            except (OSError, ValueError, TypeError):
                padding = 0  # no report: keep every page
        padding = max(0, min(padding, count - 2))
        dropped = set(range(count - 1 - padding, count))  # the padding and the back cover
        return cls(paths[edition], tuple(i for i in range(count) if i not in dropped), reader)


def part_count(pages: int) -> int:
    """How many of a briefing's web pages a bundle takes: all but its own back cover."""
    return max(pages - 1, 1)


@dataclass(frozen=True)
class Plan:
    """Where everything goes in one edition of a bundle (page indexes from 0)."""

    front: int  # pages of front matter (cover, contents)
    counts: tuple[int, ...]  # pages of each briefing
    pads: tuple[int, ...]  # blank pages inserted before each briefing (print: recto starts)
    pad_end: int  # blank pages before the back cover

    @property
    def starts(self) -> tuple[int, ...]:
        starts, position = [], self.front
        for count, pad in zip(self.counts, self.pads, strict=True):
            starts.append(position + pad)
            position += pad + count
        return tuple(starts)

    @property
    def total(self) -> int:
        return self.front + sum(self.counts) + sum(self.pads) + self.pad_end + 1

    def label(self, index: int) -> int:
        """The page number a reader sees (1 = the first briefing's cover)."""
        return index - self.front + 1


class Sizes(NamedTuple):
    """An edition's bytes, its briefings' PDFs' bytes and its own pages' bytes."""

    edition: int
    briefings: int
    own: int


class Made(NamedTuple):
    """One edition of a bundle, made in memory (``edition.make``)."""

    data: bytes  # the PDF
    pages: int
    sizes: Sizes
    report_json: str  # the print preflight report as JSON, or ""
    derived: dict[str, bytes]  # what the web edition brings for the shop: sample, covers


@dataclass(frozen=True)
class Assembled:
    """What assembling one bundle produced."""

    bundle: Bundle
    outputs: dict[str, Path]  # edition -> PDF
    pages: dict[str, int]  # edition -> page count
    sizes: dict[str, Sizes]  # edition -> sizes
    rebuilt: tuple[str, ...]  # briefings that had to be (re)built first
    fresh: bool = False  # the bundle was already up to date: nothing was written


def plan(front: int, counts: Sequence[int], edition: str, booklet: bool) -> Plan:
    """In print every briefing starts on a right-hand page and the back cover is a left-hand
    page (a multiple of 4 pages for a saddle-stitched booklet); the web edition has no blanks."""
    pads, position = [], front
    for count in counts:
        pad = 1 if edition == "print" and position % 2 else 0
        pads.append(pad)
        position += pad + count
    pad_end = 0
    if edition == "print":
        pad_end = (-(position + 1)) % (4 if booklet else 2)
    return Plan(front, tuple(counts), tuple(pads), pad_end)
