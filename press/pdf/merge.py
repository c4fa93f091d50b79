"""Merge (merge stage): copy runs of pages from several PDFs into one writer, with their named
destinations, outlines, page labels and catalog (pypdf only: the caller says what the parts are).

Page labels: the front matter is numbered i, ii, ...; from the first part on, the pages are
numbered 1, 2, 3 ... through to the back cover.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pypdf import PdfReader, PdfWriter
from pypdf.constants import PageLabelStyle
from pypdf.generic import (
    ArrayObject,
    BooleanObject,
    DictionaryObject,
    Fit,
    IndirectObject,
    NameObject,
    NullObject,
    NumberObject,
    TextStringObject,
)

from press.errors import ContentError
from press.pdf.structure import idnum, name_tree


@dataclass
class Segment:
    """A run of pages copied from one source PDF."""

    reader: PdfReader
    pages: list[int]
    kind: str  # "front", "part", "blank", "back"
    name: str = ""  # a part's name (a briefing's slug), as problems name it
    title: str = ""  # a part's title: its bookmark and its structure element's /T
    first: int = 0  # index of its first page in the bundle


@dataclass(frozen=True)
class Placed:
    """One page copied into the bundle: where from, and the copy."""

    segment: Segment
    index: int  # the page's index in the segment's source PDF
    page: DictionaryObject  # the copy, in the writer


def copy_pages(writer: PdfWriter, segments: Iterable[Segment]) -> list[Placed]:
    """Add every page; returns them in bundle order."""
    placed = []
    for segment in segments:
        segment.first = len(writer.pages)
        for index in segment.pages:
            new = writer.add_page(segment.reader.pages[index])
            placed.append(Placed(segment, index, new))
    return placed



def _page_map(segment: Segment) -> dict[int, int]:
    """Source page object number → bundle page index, for the pages a segment copied."""
    return {idnum(segment.reader.pages[i].indirect_reference): segment.first + n
            for n, i in enumerate(segment.pages)}


def named_destinations(writer: PdfWriter, segments: Iterable[Segment],
                       targets: Mapping[str, Segment], source: Path | str) -> None:
    """Copy each part's named destinations (ids are prefixed by slug, so they cannot clash;
    a clash would send links into the wrong briefing, so it is refused).

    ``targets``: destination name → segment, pointed at the segment's first page (the
    contents page's links); ``source``: the file problems are reported against."""
    owner: dict[str, str] = {}
    entries: list[tuple[str, ArrayObject]] = []
    contents_targets = targets
    for segment in segments:
        root: Any = segment.reader.trailer["/Root"]  # (pypdf: a PdfObject, no .get)
        names = root.get("/Names")
        if names is None or "/Dests" not in names.get_object():
            continue
        pages = _page_map(segment)
        for name, ref in name_tree(names.get_object()["/Dests"]):
            if name in contents_targets:
                continue  # re-pointed below
            dest: Any = ref.get_object()
            if isinstance(dest, DictionaryObject):
                dest = dest["/D"].get_object()
            target = dest[0]
            if not isinstance(target, IndirectObject) or target.idnum not in pages:
                continue  # a destination on a page this segment did not copy
            who = segment.name or "bundle"
            if name in owner and owner[name] != who:
                raise ContentError.at(source, None, f"link target '{name}' is defined by "
                                      f"both {owner[name]} and {who}",
                                      "element ids must be unique per briefing")
            owner[name] = who
            new = ArrayObject([writer.pages[pages[target.idnum]].indirect_reference]
                              + [v for v in dest[1:]])
            entries.append((name, new))
    for name, segment in contents_targets.items():
        top = float(writer.pages[segment.first].mediabox.top)
        entries.append((name, ArrayObject([writer.pages[segment.first].indirect_reference,
                                           NameObject("/XYZ"), NullObject(),
                                           NumberObject(int(top)), NullObject()])))
    names_array = ArrayObject()
    for name, dest in sorted(entries, key=lambda item: item[0]):
        names_array += [TextStringObject(name), writer._add_object(dest)]
    dests = DictionaryObject({NameObject("/Names"): names_array})
    writer._root_object[NameObject("/Names")] = DictionaryObject(
        {NameObject("/Dests"): writer._add_object(dests)})


def outline(writer: PdfWriter, title: str, segments: Sequence[Segment]) -> None:
    """Bookmarks: the cover (``title``) and contents, then one per part with its own nested
    under it."""
    front = next(s for s in segments if s.kind == "front")
    writer.add_outline_item(title=title, page_number=front.first)
    if len(front.pages) > 1:
        writer.add_outline_item(title="Contents", page_number=front.first + 1)
    for segment in segments:
        if segment.kind != "part":
            continue
        parent = writer.add_outline_item(title=segment.title, page_number=segment.first,
                                         is_open=False)
        items: Any = segment.reader.outline  # (pypdf: nested lists of Destinations)
        # A briefing's outline is usually one entry (its title on the cover) holding the rest:
        # the bundle entry already names the briefing, so nest that entry's children directly.
        if len(items) == 2 and not isinstance(items[0], list) and isinstance(items[1], list):
            items = items[1]
        _copy_outline(writer, segment, items, parent)


def _copy_outline(writer: PdfWriter, segment: Segment, items: list[Any],
                  parent: IndirectObject) -> None:
    last = None
    for item in items:
        if isinstance(item, list):
            if last is not None:
                _copy_outline(writer, segment, item, last)
            continue
        index = segment.reader.get_destination_page_number(item)
        if index not in segment.pages:
            continue
        left, top = item.get("/Left"), item.get("/Top")
        fit = Fit.xyz(left=float(left) if left is not None else None,
                      top=float(top) if top is not None else None)
        last = writer.add_outline_item(title=str(item.title),
                                       page_number=segment.first + segment.pages.index(index),
                                       parent=parent, fit=fit, is_open=False)


def page_labels(writer: PdfWriter, front: int) -> None:
    """i, ii, ... for the ``front`` pages of front matter, then 1, 2, 3 ..."""
    writer.set_page_label(0, front - 1, style=PageLabelStyle.LOWERCASE_ROMAN, start=1)
    writer.set_page_label(front, len(writer.pages) - 1, style=PageLabelStyle.DECIMAL, start=1)


def catalog(writer: PdfWriter, own: PdfReader, tagged: bool) -> None:
    """Catalog and document information come from the bundle's own pages, which WeasyPrint
    wrote with the bundle's metadata (XMP with PDF/UA or PDF/X identification, /Info)."""
    source: Any = own.trailer["/Root"]
    root: Any = writer._root_object
    for key in ("/Lang", "/Metadata", "/OutputIntents", "/ViewerPreferences"):
        if key in source:
            root[NameObject(key)] = source.raw_get(key).clone(writer)
    root[NameObject("/PageMode")] = NameObject("/UseOutlines")
    if tagged:
        root[NameObject("/MarkInfo")] = DictionaryObject(
            {NameObject("/Marked"): BooleanObject(True)})
        prefs = root.get("/ViewerPreferences")
        prefs = prefs.get_object() if prefs is not None else DictionaryObject()
        prefs[NameObject("/DisplayDocTitle")] = BooleanObject(True)
        root[NameObject("/ViewerPreferences")] = prefs
    info: Mapping[str, Any] = own.metadata or {}
    writer.add_metadata({key: value for key, value in info.items()
                         if not isinstance(value, NameObject)})
    written: Any = writer._info  # (set by add_metadata)
    for key, value in info.items():  # e.g. /Trapped /False (PDF/X): a name, not a string
        if isinstance(value, NameObject):
            written[NameObject(key)] = NameObject(value)
