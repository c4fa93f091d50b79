"""Assemble stage: built briefings of one series → a bundle PDF per edition (web and print).

A bundle (``content/bundles/<id>.yaml``) is a cover and contents page, the briefings' own
already-built pages in order, and a back cover. The bundle's own pages are laid out with
``layouts/bundle.html`` and written by the typeset stage (so the web part is tagged PDF/UA and
the print part PDF/X with bleed); the briefings' pages are copied in with pypdf, never
re-rendered unless their PDFs are missing or older than their sources.

pypdf drops the structure tree when it merges documents, so for the web edition this module
merges the trees itself: every part's top-level structure elements are cloned under one
``Document`` element (each briefing inside its own ``Part``), their ``/Pg`` references land on
the copied pages (pypdf's clone map), and the ``/StructParents`` of every page and the
``/StructParent`` of every annotation are renumbered into one rebuilt ``/ParentTree``.

In print, the blank pages that padded each briefing to a booklet are left out, and blank pages
are put in so that every briefing starts on a right-hand page and the back cover ends the book.

Page labels: the bundle's front matter is numbered i, ii, ...; from the first briefing on, the
pages are numbered 1, 2, 3 ... through to the back cover, the numbers the contents page shows.

Size: each Lato face's subsets are merged into one font program (``press.fontmerge``), shared
resources are stored once (:func:`_store_once`), and :class:`_PackingWriter` writes the small
objects (the thousands of structure elements above all) into compressed object streams.

Speed: the web and print bundles are assembled at the same time in two processes; a briefing
that must be built first is built in a child process while this one parses the others' PDFs.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import io
import json
import logging
import re
import zlib
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from pypdf import PdfReader, PdfWriter
from pypdf.errors import PyPdfError
from pypdf.generic import (
    ArrayObject,
    BooleanObject,
    ByteStringObject,
    DictionaryObject,
    Fit,
    IndirectObject,
    NameObject,
    NullObject,
    NumberObject,
    StreamObject,
    TextStringObject,
)

from press.briefing import layout
from press.build import pipeline
from press.content.load import load_all, read_text, select
from press.core import freshness, output, parallel, yamlsafe
from press.core.fields import PUBLISHED_RE, isbn13_ok
from press.errors import ContentError, Problem, Problems, did_you_mean
from press.model import Author, Briefing, Page, Series
from press.pdf import fontmerge
from press.project import Project
from press.render import preflight

LOG = logging.getLogger(__name__)
EDITIONS = ("web", "print")
BUNDLE_CODE = "press.products.bundles"  # the code that assembles a bundle (freshness key)
FIELDS = ("title", "subtitle", "series", "briefings", "published", "isbn", "price")
REQUIRED = ("title", "series", "briefings", "published")
# What a briefing's PDFs are made from: if any is newer than the PDFs, the briefing is rebuilt.


# -- model ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Bundle:
    """One bundle definition, validated against the loaded series and briefings."""

    id: str
    path: Path
    title: str
    series: Series
    briefings: tuple[Briefing, ...]
    published: str
    lines: tuple[int, ...]  # line of each entry of ``briefings`` in the bundle file
    subtitle: str = ""
    isbn: str = ""
    price: float | None = None

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
        """All pages, except in print the blank pages that padded the briefing to a booklet
        (recorded by the preflight report): in a bundle they would only be empty sheets.

        The file is read once, here; :func:`merge` copies from this same reader, so the
        plan and the pages merged cannot come from two different versions of the file.
        ``parse``: parse every object now (the merge would, later).
        """
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
        dropped = set(range(count - 1 - padding, count - 1))
        return cls(paths[edition], tuple(i for i in range(count) if i not in dropped), reader)


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


@dataclass(frozen=True)
class Assembled:
    """What assembling one bundle produced."""

    bundle: Bundle
    outputs: dict
    pages: dict
    sizes: dict  # edition -> (bundle bytes, briefing PDFs' bytes, own pages' bytes)
    rebuilt: tuple[str, ...]  # briefings that had to be (re)built first
    fresh: bool = False  # the bundle was already up to date: nothing was written


def plan(front: int, counts, edition: str, booklet: bool) -> Plan:
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


# -- load ----------------------------------------------------------------------------------------

def load_bundle(project: Project, path: Path, series: dict[str, Series],
                briefings: dict[str, Briefing]) -> Bundle:
    """Read and check one bundle file; every problem found is raised together."""
    data, lines = yamlsafe.load(read_text(path), path)
    problems = Problems()

    def fail(key_path, message, hint=""):
        problems.items.append(yamlsafe.problem(path, lines, tuple(key_path), message, hint))

    if not isinstance(data, dict):
        raise ContentError.at(path, 1, "a bundle file must be a mapping of 'field: value' lines",
                              "see docs/publishing.md, Bundles")
    for key in data:
        if key not in FIELDS:
            fail((key,), f"unknown field '{key}'", did_you_mean(key, FIELDS))
    for key in REQUIRED:
        if data.get(key) in (None, ""):
            fail((), f"missing required field '{key}'")
    texts = {}
    for key in ("title", "subtitle", "series", "published", "isbn"):
        value = data.get(key)
        if value is None:
            texts[key] = ""
        elif isinstance(value, (dict, list, bool)):
            fail((key,), f"'{key}' must be text")
        else:
            texts[key] = str(value).strip()
    the_series = series.get(texts.get("series", ""))
    if texts.get("series") and the_series is None:
        fail(("series",), f"unknown series '{texts['series']}'",
             did_you_mean(texts["series"], series) or "add a file in content/series/")
    published = texts.get("published", "")
    match = PUBLISHED_RE.match(published) if published else None
    if published and not match:
        fail(("published",), f"'published' must be YYYY-MM or YYYY-MM-DD, not '{published}'")
    elif match:
        try:
            dt.date(int(match[1]), int(match[2]), int(match[3] or 1))
        except ValueError:
            fail(("published",), f"'published' is not a real date: '{published}'")
    if texts.get("isbn") and not isbn13_ok(texts["isbn"]):
        fail(("isbn",), f"'isbn' {texts['isbn']} is not a valid ISBN-13",
             "13 digits starting 978 or 979; the last digit is a checksum")
    price = data.get("price")
    if price is not None and (isinstance(price, bool) or not isinstance(price, (int, float))
                              or price < 0):
        fail(("price",), f"'price' must be a number of pounds, e.g. 20.00, not {price!r}")
    chosen, entry_lines = _briefings(project, path, data.get("briefings"), lines, the_series,
                                     briefings, fail)
    if problems.errors:
        raise ContentError(problems.errors)
    return Bundle(
        id=path.stem, path=path, title=texts["title"], subtitle=texts.get("subtitle", ""),
        series=the_series, briefings=tuple(chosen), published=published,
        lines=tuple(entry_lines), isbn=texts.get("isbn", ""),
        price=round(float(price), 2) if price is not None else None)


def _briefings(project, path, items, lines, the_series, briefings, fail):
    """The ``briefings`` list: known, final, from this series, each listed once."""
    if items is None:
        return [], []
    if not isinstance(items, list):
        fail(("briefings",), "'briefings' must be a list of briefing slugs",
             "write each slug on a line starting '- '")
        return [], []
    if not items:
        fail(("briefings",), "'briefings' is empty", "list at least one briefing slug")
        return [], []
    chosen, entry_lines, seen = [], [], {}
    for index, item in enumerate(items):
        line = yamlsafe.line_of(lines, "briefings", index)
        slug = str(item).strip() if isinstance(item, (str, int)) else ""
        if not slug:
            fail(("briefings", index), "each entry of 'briefings' must be a briefing slug")
            continue
        if slug in seen:
            fail(("briefings", index), f"briefing '{slug}' is listed twice",
                 f"first on line {seen[slug]}")
            continue
        seen[slug] = line
        briefing = briefings.get(slug)
        if briefing is None:
            if (project.briefings_dir / f"{slug}.md").is_file():
                fail(("briefings", index), f"briefing '{slug}' has errors, so it cannot be "
                     "bundled", f"fix content/briefings/{slug}.md first")
            else:
                known = [p.stem for p in project.briefing_paths()]
                fail(("briefings", index), f"no briefing '{slug}'",
                     did_you_mean(slug, known))
            continue
        if briefing.is_draft:
            fail(("briefings", index), f"briefing '{slug}' is a draft",
                 "only final briefings can be bundled: set 'status: final' when it is ready")
            continue
        if the_series is not None and briefing.series.id != the_series.id:
            fail(("briefings", index), f"briefing '{slug}' belongs to series "
                 f"'{briefing.series.id}', not '{the_series.id}'",
                 "a bundle collects briefings of one series")
            continue
        chosen.append(briefing)
        entry_lines.append(line)
    return chosen, entry_lines


# -- inputs: the briefings' own PDFs -------------------------------------------------------------

def ensure_built(project: Project, bundle: Bundle, results: dict) -> list[str]:
    """Make sure the bundle's briefing PDFs are current; returns the slugs that were rebuilt.

    Goes through the pipeline's cached build, so an unchanged briefing is never laid out again
    and the next full build does not redo what was built here. ``results`` remembers briefings
    already built in this run (a briefing shared by several bundles is built once).
    """
    todo = _unbuilt(bundle, results)
    rebuilt = []
    if todo:
        LOG.info("bringing %s up to date for bundle %s", ", ".join(todo), bundle.id)
        quiet = Problems()
        for result in pipeline.build(project, todo, pipeline.Options(editions=EDITIONS), quiet):
            results[result.slug] = result
            if not result.cached:
                rebuilt.append(result.slug)
    problems = []
    for briefing, line in zip(bundle.briefings, bundle.lines, strict=True):
        result = results.get(briefing.slug)
        if result is None or not result.ok:
            first = result.problems[0].format(project.root) if result and result.problems \
                else "it does not load"
            problems.append(Problem(bundle.path, line, f"briefing '{briefing.slug}' failed to "
                                    f"build, so the bundle cannot be assembled: {first}",
                                    "fix the briefing; the previous bundle is kept"))
    if problems:
        raise ContentError(problems)
    return rebuilt


def _unbuilt(bundle: Bundle, results: dict) -> list[str]:
    """The bundle's briefings not yet built (or found up to date) in this run."""
    return [b.slug for b in bundle.briefings
            if not (results.get(b.slug) and all(e in results[b.slug].outputs for e in EDITIONS))
            and not (results.get(b.slug) and not results[b.slug].ok)]


# -- layout: the bundle's own pages --------------------------------------------------------------

def _authors(bundle: Bundle) -> list[Author]:
    seen: dict[str, Author] = {}
    for briefing in bundle.briefings:
        for author in briefing.authors:
            seen.setdefault(author.name, author)
    return list(seen.values())


def description(bundle: Bundle) -> str:
    codes = [b.indicator.code for b in bundle.briefings]
    listed = codes[0] if len(codes) == 1 else ", ".join(codes[:-1]) + " and " + codes[-1]
    words = ("one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")
    count = "one briefing" if len(codes) == 1 else (
        f"{words[len(codes) - 1] if len(codes) <= len(words) else len(codes)} briefings")
    return (f"{bundle.subtitle + '. ' if bundle.subtitle else ''}The {count} of the "
            f"{bundle.series.name} series on {listed}, collected in one volume.")


def anchor(bundle: Bundle, briefing: Briefing) -> str:
    """The contents entry's link target; re-pointed at the briefing's cover when merging."""
    return f"bundle-{bundle.id}--{briefing.slug}"


def page(project: Project, bundle: Bundle, the_plan: Plan) -> Page:
    env = layout.environment(project.layouts)
    series = bundle.series
    parts = [{"briefing": b, "anchor": anchor(bundle, b), "page": the_plan.label(start)}
             for b, start in zip(bundle.briefings, the_plan.starts, strict=True)]
    keywords = list(dict.fromkeys(k for b in bundle.briefings for k in b.keywords))
    authors = _authors(bundle)
    html = env.get_template("bundle.html").render(
        bundle=bundle, series=series, parts=parts,
        authors=[a.name for a in authors], author_entries=authors,
        description=description(bundle), keywords=keywords,
        published_label=bundle.published_label,
        created=_iso(bundle.published),
        css_url=layout.file_url(project.layouts / "briefing.css"),
        bundle_css_url=layout.file_url(project.layouts / "bundle.css"),
        asset=lambda rel: layout.file_url(project.assets / rel),
        qr=layout.qr_svg(series.purchase_url),
        ean13=layout.ean13_svg(bundle.isbn) if bundle.isbn else None,
        isbn_digits=re.sub(r"\D", "", bundle.isbn),
        about_paragraphs=[p.strip() for p in series.about.split("\n\n") if p.strip()])
    return Page(html=html, base_url=layout.file_url(bundle.path.parent) + "/",
                name=str(bundle.path), metadata={"bundle": bundle.id})


def _iso(published: str) -> str:
    parts = published.split("-")
    return "-".join(parts + ["01"] * (3 - len(parts)))


def own_pages(project: Project, bundle: Bundle, edition: str,
              counts: tuple[int, ...]) -> tuple[bytes, Plan]:
    """The bundle's own pages for one edition, reused from ``.cache/bundles/`` when nothing
    they show changed (an edit inside a briefing usually changes neither its page count nor
    what the contents page says about it), else laid out by :func:`_lay_out_own_pages`."""
    html = page(project, bundle, plan(2, counts, edition, bundle.series.booklet)).html
    # file URLs name the project's folder: leave it out, so a moved project keeps its cache
    digest = hashlib.sha256(html.replace(layout.file_url(project.root), "").encode())
    digest.update(f"{edition}\0{counts}".encode())
    digest.update(freshness.code_key(BUNDLE_CODE).encode())
    files = sorted(p for p in [*project.layouts.rglob("*"), *project.assets.rglob("*")]
                   if p.is_file())
    for path in files:
        name = path.relative_to(project.root) if path.is_relative_to(project.root) else path.name
        digest.update(f"{name}\0".encode())
        digest.update(path.read_bytes())
    folder = project.cache / "bundles"
    stem = f"{bundle.id}.{edition}"
    pdf = folder / f"{stem}.{digest.hexdigest()[:20]}.pdf"
    layout_json = pdf.with_suffix(".json")
    try:
        data = pdf.read_bytes()
        fields = json.loads(layout_json.read_text(encoding="utf-8"))
        return data, Plan(fields["front"], tuple(fields["counts"]), tuple(fields["pads"]),
                          fields["pad_end"])
    except (OSError, ValueError, KeyError):
        pass
    guess = 2
    for old in folder.glob(f"{stem}.*.json"):  # the front matter's length last time
        try:
            guess = int(json.loads(old.read_text(encoding="utf-8"))["front"])
        except (OSError, ValueError, KeyError, TypeError):
            pass
    data, the_plan = _lay_out_own_pages(project, bundle, edition, counts, max(2, guess))
    for old in folder.glob(f"{stem}.*"):
        old.unlink(missing_ok=True)
    output.write_bytes(pdf, data)
    output.write_text(layout_json, json.dumps(dataclasses.asdict(the_plan)))
    return data, the_plan


def _lay_out_own_pages(project: Project, bundle: Bundle, edition: str,
                       counts: tuple[int, ...], guess: int = 2) -> tuple[bytes, Plan]:
    """Lay out and write the bundle's cover, contents and back cover for one edition.

    The contents page lists start pages, which depend on how many pages the front matter
    takes (``guess``: the count last time); it is laid out again if the guess was wrong
    and the contents would show other numbers.
    """
    from press.render import print as print_pdf
    from press.render import typeset, web  # WeasyPrint: imported only when a bundle is assembled
    booklet = bundle.series.booklet
    front, laid_out, rendered = guess, None, None
    for _ in range(3):
        the_plan = plan(front, counts, edition, booklet)
        the_page = page(project, bundle, the_plan)
        if the_page.html != rendered:  # e.g. the web contents shows the same numbers anyway
            laid_out = typeset.render(the_page, project.root)
            rendered = the_page.html
        actual = laid_out.page_count - 1  # everything but the back cover
        if actual == front:
            break
        front = actual
    else:
        raise ContentError.at(bundle.path, None, "the contents pages do not settle on a page "
                              "count", "shorten the titles")
    ident = f"{bundle.series.id}/bundles/{bundle.id}"
    if edition == "web":
        return web.write_web(laid_out, None, ident), the_plan
    palette = print_pdf.Palette.load(project.layouts / "palette.yaml")
    css_url = layout.file_url(project.layouts / "briefing.css")
    blanks = typeset.blank_pages(sum(the_plan.pads) + the_plan.pad_end, project.root, css_url)
    return print_pdf.write_print(laid_out, None, ident, palette, blanks), the_plan


# -- merge ---------------------------------------------------------------------------------------

@dataclass
class _Segment:
    """A run of pages copied from one source PDF."""

    reader: PdfReader
    pages: list[int]
    kind: str  # "front", "briefing", "blank", "back"
    briefing: Briefing | None = None
    first: int = 0  # index of its first page in the bundle


def merge(bundle: Bundle, edition: str, own: bytes, the_plan: Plan,
          parts: list[PartFile]) -> bytes:
    """Copy the bundle's own pages and the briefings' pages into one PDF."""
    own_reader = PdfReader(io.BytesIO(own))
    readers = [part.reader or PdfReader(part.path) for part in parts]
    segments = _segments(bundle, the_plan, own_reader, readers, parts)
    writer = _PackingWriter()
    tagged = edition == "web"
    placed = _copy_pages(writer, segments)
    _named_destinations(writer, bundle, segments)
    _outline(writer, bundle, segments)
    _page_labels(writer, the_plan)
    _catalog(writer, own_reader, tagged, edition)
    if tagged:
        _merge_structure(writer, bundle, segments, placed)
    fontmerge.merge_font_subsets(writer)  # one font program per face, not one per briefing
    _store_once(writer)
    writer._ID = ArrayObject([ByteStringObject(output.identifier(
        bundle.series.id, "bundle", bundle.id, edition))] * 2)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def _store_once(writer: PdfWriter) -> None:
    """Store identical resources once: fonts, logos, images, colour profiles and content
    streams (crop marks) shared by several parts or pages (``compress_identical_objects``,
    limited to what pages draw with).

    Two resources are the same when their content is and the resources they refer to are
    the same in turn (a logo's form XObject equals its twin once their fonts do), so one
    pass over the few hundred resources does what repeated passes over every object did.
    Then every reference to a duplicate is pointed at the one kept, and unreferenced
    objects are dropped.
    """
    objects = writer._objects
    resources: set[int] = set()
    stack = [page.get_object().raw_get(key) for page in writer.pages
             for key in ("/Resources", "/Contents") if key in page]
    while stack:
        value = stack.pop()
        if isinstance(value, IndirectObject):
            if value.idnum in resources or objects[value.idnum - 1] is None:
                continue
            resources.add(value.idnum)
            value = objects[value.idnum - 1]
        if isinstance(value, DictionaryObject):
            stack.extend(value.values())
        elif isinstance(value, ArrayObject):
            stack.extend(value)
    keys: dict[int, str] = {}

    def canonical(value):
        if isinstance(value, IndirectObject):
            return ("R", key(value.idnum)) if value.idnum in resources else ("r", value.idnum)
        if isinstance(value, DictionaryObject):
            items = tuple(sorted((str(k), canonical(v)) for k, v in value.items()))
            return ("S", items, value._data) if isinstance(value, StreamObject) else ("D", items)
        if isinstance(value, ArrayObject):
            return ("A", tuple(canonical(v) for v in value))
        return (type(value).__name__, value)

    def key(number: int) -> str:
        if number not in keys:
            keys[number] = f"cycle {number}"  # a reference loop: compare by identity
            keys[number] = hashlib.sha256(repr(canonical(objects[number - 1])).encode()) \
                .hexdigest()
        return keys[number]

    kept: dict[str, int] = {}
    same: dict[int, IndirectObject] = {}
    for number in sorted(resources):
        first = kept.setdefault(key(number), number)
        if first != number:
            same[number] = objects[first - 1].indirect_reference
    referenced = {writer.root_object.indirect_reference.idnum}
    if writer._info is not None:
        referenced.add(writer._info.indirect_reference.idnum)

    def repoint(value) -> None:
        pairs = value.items() if isinstance(value, DictionaryObject) else enumerate(value)
        for k, v in list(pairs):
            if isinstance(v, IndirectObject):
                if v.idnum in same:
                    value[k] = v = same[v.idnum]
                referenced.add(v.idnum)
            elif isinstance(v, (DictionaryObject, ArrayObject)):
                repoint(v)

    for number, obj in enumerate(objects, start=1):
        if number in same:
            objects[number - 1] = None
        elif isinstance(obj, (DictionaryObject, ArrayObject)):
            repoint(obj)
    for number in range(1, len(objects) + 1):
        if number not in referenced:
            objects[number - 1] = None


class _PackingWriter(PdfWriter):
    """A ``PdfWriter`` that writes its small objects into compressed object streams (PDF 1.5+).

    pypdf writes every object on its own, uncompressed; a merged web bundle has thousands of
    small structure elements, which object streams shrink about tenfold. Streams (page
    contents, fonts, images) are written as they are; the cross-reference table becomes a
    compressed cross-reference stream.
    """

    per_stream = 1000

    def write_stream(self, stream) -> None:
        self._resolve_links()
        stream.write(b"%PDF-" + max(self.pdf_header[5:], "1.5").encode()
                     + b"\n%\xe2\xe3\xcf\xd3\n")
        where: dict[int, tuple[int, int, int]] = {}
        packed = []
        for number, obj in enumerate(self._objects, start=1):
            if isinstance(obj, StreamObject):
                where[number] = (1, stream.tell(), 0)
                stream.write(f"{number} 0 obj\n".encode())
                obj.write_to_stream(stream)
                stream.write(b"\nendobj\n")
            elif obj is not None:
                packed.append((number, obj))
        next_number = len(self._objects) + 1
        for start in range(0, len(packed), self.per_stream):
            chunk = packed[start: start + self.per_stream]
            header, body = [], io.BytesIO()
            for index, (number, obj) in enumerate(chunk):
                header.append(f"{number} {body.tell()}")
                obj.write_to_stream(body)
                body.write(b"\n")
                where[number] = (2, next_number, index)
            first = (" ".join(header) + "\n").encode()
            payload = zlib.compress(first + body.getvalue(), 9)
            where[next_number] = (1, stream.tell(), 0)
            stream.write(f"{next_number} 0 obj\n<< /Type /ObjStm /N {len(chunk)} /First "
                         f"{len(first)} /Filter /FlateDecode /Length {len(payload)} >>\n"
                         "stream\n".encode())
            stream.write(payload + b"\nendstream\nendobj\n")
            next_number += 1
        xref_number = next_number
        where[xref_number] = (1, stream.tell(), 0)
        # Rows of 7 bytes, each stored as its difference from the row above (PNG "Up"
        # predictor): neighbouring offsets differ little, so this compresses about sevenfold.
        rows, previous = bytearray(), bytes(7)
        for number in range(xref_number + 1):
            kind, field2, field3 = where.get(number, (0, 0, 0 if number else 65535))
            row = bytes([kind]) + field2.to_bytes(4, "big") + field3.to_bytes(2, "big")
            rows += b"\x02" + bytes((a - b) & 0xFF for a, b in zip(row, previous))
            previous = row
        payload = zlib.compress(bytes(rows), 9)
        extra = f" /Root {self.root_object.indirect_reference.idnum} 0 R"
        if self._info is not None:
            extra += f" /Info {self._info.indirect_reference.idnum} 0 R"
        if self._ID is not None:
            extra += " /ID [" + " ".join(f"<{bytes(i).hex()}>" for i in self._ID) + "]"
        stream.write(f"{xref_number} 0 obj\n<< /Type /XRef /Size {xref_number + 1} "
                     f"/W [1 4 2]{extra} /Filter /FlateDecode /DecodeParms << /Predictor 12 "
                     f"/Columns 7 >> /Length {len(payload)} >>\n"
                     "stream\n".encode())
        stream.write(payload + b"\nendstream\nendobj\n")
        stream.write(f"startxref\n{where[xref_number][1]}\n%%EOF\n".encode())


def _segments(bundle, the_plan, own_reader, readers, parts) -> list[_Segment]:
    own_count = len(own_reader.pages)
    blanks = iter(range(the_plan.front, own_count - 1))
    segments = [_Segment(own_reader, list(range(the_plan.front)), "front")]
    for briefing, reader, part, pad in zip(bundle.briefings, readers, parts, the_plan.pads,
                                           strict=True):
        if pad:
            segments.append(_Segment(own_reader, [next(blanks) for _ in range(pad)], "blank"))
        segments.append(_Segment(reader, list(part.pages), "briefing", briefing))
    if the_plan.pad_end:
        segments.append(_Segment(own_reader, [next(blanks) for _ in range(the_plan.pad_end)],
                                 "blank"))
    segments.append(_Segment(own_reader, [own_count - 1], "back"))
    return segments


def _copy_pages(writer: PdfWriter, segments) -> list[tuple[_Segment, int, DictionaryObject]]:
    """Add every page; returns (segment, source page index, new page) in bundle order."""
    placed = []
    for segment in segments:
        segment.first = len(writer.pages)
        for index in segment.pages:
            new = writer.add_page(segment.reader.pages[index])
            placed.append((segment, index, new))
    return placed


def _page_map(segment: _Segment) -> dict[int, int]:
    """Source page object number → bundle page index, for the pages a segment copied."""
    return {segment.reader.pages[i].indirect_reference.idnum: segment.first + n
            for n, i in enumerate(segment.pages)}


def _tree(node, key: str, convert) -> list[tuple[object, object]]:
    """Flatten a PDF name tree (``key`` = "/Names") or number tree ("/Nums"), with ``/Kids``."""
    node = node.get_object()
    items = []
    pairs = node.get(key)
    if pairs is not None:
        pairs = pairs.get_object()
        items += [(convert(pairs[i]), pairs[i + 1]) for i in range(0, len(pairs) - 1, 2)]
    for kid in node.get("/Kids", []) or []:
        items += _tree(kid, key, convert)
    return items


def _name_tree(node) -> list[tuple[str, object]]:
    return _tree(node, "/Names", str)


def _number_tree(node) -> list[tuple[int, object]]:
    return _tree(node, "/Nums", int)


def _named_destinations(writer: PdfWriter, bundle: Bundle, segments) -> None:
    """Copy each part's named destinations (ids are prefixed by slug, so they cannot clash;
    a clash would send links into the wrong briefing, so it is refused)."""
    owner: dict[str, str] = {}
    entries = []
    contents_targets = {anchor(bundle, s.briefing): s for s in segments if s.briefing}
    for segment in segments:
        names = segment.reader.trailer["/Root"].get("/Names")
        if names is None or "/Dests" not in names.get_object():
            continue
        pages = _page_map(segment)
        for name, dest in _name_tree(names.get_object()["/Dests"]):
            if name in contents_targets:
                continue  # re-pointed below
            dest = dest.get_object()
            if isinstance(dest, DictionaryObject):
                dest = dest["/D"].get_object()
            target = dest[0]
            if not isinstance(target, IndirectObject) or target.idnum not in pages:
                continue  # a destination on a page this segment did not copy
            who = segment.briefing.slug if segment.briefing else "bundle"
            if name in owner and owner[name] != who:
                raise ContentError.at(bundle.path, None, f"link target '{name}' is defined by "
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


def _outline(writer: PdfWriter, bundle: Bundle, segments) -> None:
    """Bookmarks: the cover and contents, then one per briefing with its own nested under it."""
    front = next(s for s in segments if s.kind == "front")
    writer.add_outline_item(title=bundle.title, page_number=front.first)
    if len(front.pages) > 1:
        writer.add_outline_item(title="Contents", page_number=front.first + 1)
    for segment in segments:
        if segment.kind != "briefing":
            continue
        briefing = segment.briefing
        parent = writer.add_outline_item(
            title=f"{briefing.indicator.code}: {briefing.title}", page_number=segment.first,
            is_open=False)
        items = segment.reader.outline
        # A briefing's outline is usually one entry (its title on the cover) holding the rest:
        # the bundle entry already names the briefing, so nest that entry's children directly.
        if len(items) == 2 and not isinstance(items[0], list) and isinstance(items[1], list):
            items = items[1]
        _copy_outline(writer, segment, items, parent)


def _copy_outline(writer, segment, items, parent) -> None:
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


def _page_labels(writer: PdfWriter, the_plan: Plan) -> None:
    writer.set_page_label(0, the_plan.front - 1, style="/r", start=1)
    writer.set_page_label(the_plan.front, len(writer.pages) - 1, style="/D", start=1)


def _catalog(writer: PdfWriter, own: PdfReader, tagged: bool, edition: str) -> None:
    """Catalog and document information come from the bundle's own pages, which WeasyPrint
    wrote with the bundle's metadata (XMP with PDF/UA or PDF/X identification, /Info)."""
    source = own.trailer["/Root"]
    root = writer._root_object
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
    info = own.metadata or {}
    writer.add_metadata({key: value for key, value in info.items()
                         if not isinstance(value, NameObject)})
    for key, value in info.items():  # e.g. /Trapped /False (PDF/X): a name, not a string
        if isinstance(value, NameObject):
            writer._info[NameObject(key)] = NameObject(value)


def _merge_structure(writer: PdfWriter, bundle: Bundle, segments, placed) -> None:
    """One structure tree for the bundle: Document → front matter, a Part per briefing, back.

    Structure elements are cloned after the pages, so pypdf's clone map turns their ``/Pg``
    and ``/Obj`` references into the copied pages and annotations. Each source's own
    structure root and Document element are entered in that map as the bundle's Part (or
    Document), so every ``/P`` that pointed at them — including WeasyPrint's detached
    NonStruct elements, reachable only through the ParentTree — lands in the new tree instead
    of dragging a second tree along. Then every page's ``/StructParents`` and every
    annotation's ``/StructParent`` gets a new key in one rebuilt ``/ParentTree``.
    """
    tree_root = DictionaryObject({NameObject("/Type"): NameObject("/StructTreeRoot")})
    tree_ref = writer._add_object(tree_root)
    document = DictionaryObject({NameObject("/Type"): NameObject("/StructElem"),
                                 NameObject("/S"): NameObject("/Document"),
                                 NameObject("/P"): tree_ref})
    document_ref = writer._add_object(document)
    kids = ArrayObject()
    role_map = DictionaryObject()
    for segment in segments:
        if segment.kind == "blank":
            continue
        struct_ref = segment.reader.trailer["/Root"].raw_get("/StructTreeRoot") \
            if "/StructTreeRoot" in segment.reader.trailer["/Root"] else None
        if not isinstance(struct_ref, IndirectObject):
            raise ContentError.at(bundle.path, None, f"{_name(segment)}: the web PDF is not "
                                  "tagged, so the bundle cannot be", "rebuild it with --force")
        struct = struct_ref.get_object()
        for key, value in (struct.get("/RoleMap") or {}).items():
            role_map[NameObject(key)] = value
        source_document, tops = _top_elements(struct)
        if segment.kind == "briefing":
            parent = DictionaryObject({
                NameObject("/Type"): NameObject("/StructElem"), NameObject("/S"):
                NameObject("/Part"), NameObject("/P"): document_ref,
                NameObject("/T"): TextStringObject(
                    f"{segment.briefing.indicator.code}: {segment.briefing.title}")})
            parent_ref = writer._add_object(parent)
            kids.append(parent_ref)
        else:
            parent, parent_ref = document, document_ref
            wanted = {segment.reader.pages[i].indirect_reference.idnum for i in segment.pages}
            tops = [element for element in tops if _first_page(element) in wanted]
        clone_map = writer._id_translated.setdefault(id(segment.reader),
                                                     {"PreventGC": segment.reader})
        clone_map[struct_ref.idnum] = tree_ref.idnum
        if source_document is not None:
            clone_map[source_document.idnum] = parent_ref.idnum
        cloned = ArrayObject(element.clone(writer).indirect_reference for element in tops
                             if isinstance(element, IndirectObject))
        if segment.kind == "briefing":
            parent[NameObject("/K")] = cloned
        else:
            kids.extend(cloned)
    document[NameObject("/K")] = kids
    parent_tree = ArrayObject()
    key = 0
    numbers: dict[int, dict] = {}
    for segment, index, new_page in placed:
        if segment.kind == "blank":
            continue
        if id(segment.reader) not in numbers:
            struct = segment.reader.trailer["/Root"]["/StructTreeRoot"].get_object()
            numbers[id(segment.reader)] = dict(_number_tree(struct["/ParentTree"]))
        nums = numbers[id(segment.reader)]
        source_page = segment.reader.pages[index]
        if "/StructParents" in source_page:
            value = nums.get(int(source_page["/StructParents"]))
            if value is not None:
                parent_tree += [NumberObject(key), value.clone(writer)]
                new_page[NameObject("/StructParents")] = NumberObject(key)
                key += 1
        for annot in new_page.get("/Annots", []) or []:
            annot = annot.get_object()
            if "/StructParent" in annot:
                value = nums.get(int(annot["/StructParent"]))
                if value is None:
                    del annot["/StructParent"]
                    continue
                parent_tree += [NumberObject(key), value.clone(writer)]
                annot[NameObject("/StructParent")] = NumberObject(key)
                key += 1
    tree_root[NameObject("/K")] = ArrayObject([document_ref])
    tree_root[NameObject("/ParentTree")] = writer._add_object(
        DictionaryObject({NameObject("/Nums"): parent_tree}))
    tree_root[NameObject("/ParentTreeNextKey")] = NumberObject(key)
    if role_map:
        tree_root[NameObject("/RoleMap")] = role_map
    writer._root_object[NameObject("/StructTreeRoot")] = tree_ref


def _name(segment) -> str:
    return segment.briefing.slug if segment.briefing else "the bundle's own pages"


def _top_elements(struct) -> tuple[IndirectObject | None, list]:
    """The source's Document element (if it has one) and the elements directly under it."""
    kids = struct.get("/K")
    kids = kids.get_object() if kids is not None else ArrayObject()
    if not isinstance(kids, ArrayObject):
        kids = ArrayObject([struct.raw_get("/K")])
    if len(kids) == 1 and kids[0].get_object().get("/S") == "/Document":
        document = kids[0]
        inner = document.get_object().get("/K")
        inner = inner.get_object() if inner is not None else ArrayObject()
        if not isinstance(inner, ArrayObject):
            inner = ArrayObject([document.get_object().raw_get("/K")])
        return (document if isinstance(document, IndirectObject) else None), list(inner)
    return None, list(kids)


def _first_page(element) -> int | None:
    """Object number of the first page an element's content is on."""
    element = element.get_object()
    if not isinstance(element, DictionaryObject):
        return None
    page = element.raw_get("/Pg") if "/Pg" in element else None
    if isinstance(page, IndirectObject):
        return page.idnum
    kids = element.get("/K")
    kids = kids.get_object() if kids is not None else None
    for kid in kids if isinstance(kids, ArrayObject) else [kids]:
        if isinstance(kid, (IndirectObject, DictionaryObject)):
            found = _first_page(kid)
            if found is not None:
                return found
    return None


# -- the stage -----------------------------------------------------------------------------------

def bundle_inputs(project: Project, bundle: Bundle) -> list[Path]:
    """The files a bundle's PDFs are made from (with the code: :func:`bundle_key`)."""
    inputs = [bundle.path, bundle.series.path]
    for briefing in bundle.briefings:
        paths = project.briefing_outputs(briefing.slug)
        inputs += [briefing.path, paths["web"], paths["print"], paths["preflight"]]
    inputs += [project.layouts / name for name in ("bundle.html", "bundle.css",
                                                   "briefing.css", "palette.yaml")]
    if project.assets.is_dir():
        inputs += [p for p in project.assets.rglob("*") if p.is_file()]
    return [p for p in inputs if p.exists()]


def bundle_key(project: Project, bundle: Bundle) -> str:
    """A key over everything a bundle's PDFs are made from: its files, the code that assembles
    it (``freshness.code_key``) and the library versions."""
    return freshness.digest(freshness.FORMAT, freshness.versions(),
                            freshness.code_key(BUNDLE_CODE),
                            freshness.Hasher().files(project.root,
                                                     bundle_inputs(project, bundle)))


def _record(project: Project, bundle: Bundle) -> freshness.Record:
    return freshness.Record(project.cache, "bundles", bundle.id)


def bundle_up_to_date(project: Project, bundle: Bundle) -> bool:
    return _record(project, bundle).fresh(bundle_key(project, bundle), project.root) is not None


def assemble(project: Project, bundle: Bundle, results: dict | None = None,
             force: bool = False) -> Assembled:
    """Build (or reuse) the briefings, lay out the bundle's pages, merge, write atomically.

    Both editions are made in memory first (at the same time, in two processes, where the
    machine allows) and written only if both succeeded, so a failure leaves the previous
    good bundle in place. A bundle newer than everything it is made from is left as it is
    (``force`` assembles it anyway).
    """
    results = {} if results is None else results
    rebuilt, early = _build_and_read(project, bundle, results)
    if not force and not rebuilt and bundle_up_to_date(project, bundle):
        return Assembled(bundle, project.bundle_outputs(bundle.id), {}, {}, (), fresh=True)
    early = {key: part for key, part in early.items() if key[0] not in rebuilt}
    made = _each_edition(partial(_edition, project, bundle, early), EDITIONS)
    paths = project.bundle_outputs(bundle.id)
    for edition, (data, _, _, _) in made.items():
        output.write_bytes(paths[edition], data)
    output.write_text(project.bundle_preflight(bundle.id), made["print"][3])
    _record(project, bundle).write(bundle_key(project, bundle), project.root,
                                   [*paths.values(), project.bundle_preflight(bundle.id)])
    return Assembled(bundle, paths, {e: m[1] for e, m in made.items()},
                     {e: m[2] for e, m in made.items()}, tuple(rebuilt))


def _build_and_read(project: Project, bundle: Bundle, results: dict):
    """:func:`ensure_built`; where a briefing must be built and a core is free, it is built in a
    child process while this one reads and parses the briefings' PDFs that are up to date.

    Returns (the slugs rebuilt, ``{(slug, edition): PartFile}`` read early: only those of
    briefings not rebuilt may be used).
    """
    todo = _unbuilt(bundle, results)
    if not todo or not parallel.can_fork() or parallel.default_jobs() < 2:
        return ensure_built(project, bundle, results), {}
    child = parallel.Forked(partial(_build_in_child, project, bundle, dict(results)))
    # Finding briefings up to date takes a fraction of a second, laying one out seconds: wait
    # that fraction first, so that a bundle with nothing to build parses nothing twice.
    todo_parts = [] if child.done(wait=0.8) else [(b.slug, edition) for b in bundle.briefings
                                                  for edition in EDITIONS]
    early = {}
    try:
        for slug, edition in todo_parts:
            if child.done():
                break
            try:
                early[slug, edition] = PartFile.of(project, slug, edition, parse=True)
            except (PyPdfError, OSError, ValueError):
                pass  # missing or damaged: it is being built, or the merge will say so
    except BaseException:
        child.cancel()
        raise
    kind, value = child.result()
    if kind == "error":
        raise ContentError(value)
    rebuilt, built = value
    results.update(built)
    return rebuilt, early


def _build_in_child(project: Project, bundle: Bundle, results: dict):
    try:
        rebuilt = ensure_built(project, bundle, results)
    except ContentError as exc:
        return "error", exc.problems
    return "made", (rebuilt, {b.slug: results[b.slug] for b in bundle.briefings
                              if b.slug in results})


def _edition(project: Project, bundle: Bundle, early: dict,
             edition: str) -> tuple[bytes, int, tuple, str]:
    """One edition of a bundle: (PDF, page count, (bytes, briefings' bytes, own pages'
    bytes), print preflight report as JSON or ""). ``early``: parts already read."""
    try:
        parts = [early.get((b.slug, edition)) or PartFile.of(project, b.slug, edition)
                 for b in bundle.briefings]
        own, the_plan = own_pages(project, bundle, edition, tuple(len(p.pages) for p in parts))
        data = merge(bundle, edition, own, the_plan, parts)
    except (PyPdfError, OSError) as exc:  # a damaged or vanished briefing PDF
        raise ContentError.at(bundle.path, None, f"cannot merge the {edition} PDFs: {exc}",
                              "rebuild them: build.py briefing SLUG --force") from None
    report_json = ""
    if edition == "print":  # the printer's checks, as for a briefing: boxes, fonts, intent
        report = preflight.check(data, [], booklet=bundle.series.booklet)
        report["source"] = str(bundle.path.relative_to(project.root))
        if report["blocking"]:
            raise ContentError([Problem(bundle.path, None, f"print preflight: {message}")
                                for message in report["blocking"]])
        report_json = json.dumps(report, indent=2, sort_keys=True) + "\n"
    sizes = (len(data), sum(p.path.stat().st_size for p in parts), len(own))
    return data, the_plan.total, sizes, report_json


def _each_edition(make, editions: tuple[str, ...]) -> dict:
    """``make(edition)`` for every edition; all but the first in forked child processes, so
    the web and print bundles are assembled at the same time on two cores.

    Serial where forking is unsafe or pointless: one core, no ``fork``, or other threads
    running (the preview server). The problems of every edition are reported together.
    """
    forked = {}
    if parallel.can_fork() and parallel.default_jobs() > 1:
        forked = {edition: parallel.Forked(partial(_outcome, make, edition))
                  for edition in editions[1:]}
    try:
        outcomes = {edition: _outcome(make, edition) for edition in editions
                    if edition not in forked}
    except BaseException:  # a bug here: leave no child behind
        for child in forked.values():
            child.cancel()
        raise
    outcomes.update({edition: child.result() for edition, child in forked.items()})
    problems = [p for kind, value in outcomes.values() if kind == "error" for p in value]
    if problems:
        raise ContentError(problems)
    return {edition: outcomes[edition][1] for edition in editions}


def _outcome(make, edition: str) -> tuple[str, object]:
    """``("made", what make returned)`` or ``("error", problems)``: a ContentError is passed
    back from a child process as its problems (the exception itself does not pickle)."""
    try:
        return "made", make(edition)
    except ContentError as exc:
        return "error", exc.problems


def assemble_all(project: Project, ids: list[str] | None, problems: Problems,
                 results: dict | None = None, force: bool = False) -> list[Assembled]:
    """Every bundle (or those named); each failure is a problem, the others still build."""
    results = {} if results is None else results
    series, briefings = load_all(project, Problems())  # briefing problems: the briefing's own
    by_slug = {b.slug: b for b in briefings}
    paths = select(project.bundles_dir, ".yaml", ids, "bundle", problems)
    done = []
    for path in paths:
        try:
            bundle = load_bundle(project, path, series, by_slug)
            done.append(assemble(project, bundle, results, force))
        except ContentError as exc:
            problems.extend(exc.problems)
    return done


def report(project: Project, done: list[Assembled], say) -> None:
    for item in done:
        for slug in item.rebuilt:
            say(f"note: rebuilt {slug} for bundle {item.bundle.id}")
        if item.fresh:
            say(f"bundle {item.bundle.id}: up to date")
            continue
        for edition in EDITIONS:
            size, briefings, own = item.sizes[edition]
            say(f"{edition:>6}: {item.outputs[edition].relative_to(project.root)} "
                f"({item.pages[edition]} pages, {size // 1024} KB: {size / briefings:.2f} × its "
                f"briefings, {size / (briefings + own):.2f} × all its parts)")


def after_build(project: Project, results: list, say, force: bool = False) -> bool:
    """After a full build: assemble every bundle from the briefings just built."""
    if not project.bundle_paths():
        return False
    problems = Problems()
    done = assemble_all(project, None, problems, {r.slug: r for r in results}, force)
    report(project, done, say)
    _print_problems(project, problems)
    return bool(problems.errors)


def command(project: Project, args, say) -> int:
    """``build.py bundle [ID...] [--force]``."""
    problems = Problems()
    done = assemble_all(project, list(args.slugs) or None, problems,
                        force=getattr(args, "force", False))
    report(project, done, say)
    if not done and not problems.items and not project.bundle_paths():
        say("no bundles in content/bundles/")
    _print_problems(project, problems)
    made = sum(1 for item in done if not item.fresh)
    say(f"assembled {made} bundle{'s' if made != 1 else ''}"
        + (f" ({len(done) - made} up to date)" if len(done) > made else "")
        + (" — with errors" if problems.errors else ""))
    return 1 if problems.errors else 0


def _print_problems(project: Project, problems: Problems) -> None:
    import sys
    for problem in problems.items:
        sys.stderr.write(problem.format(project.root) + "\n")
    errors = len(problems.errors)
    if errors:
        sys.stderr.write(f"{errors} error{'s' if errors != 1 else ''}\n")


__all__ = ["Bundle", "Plan", "assemble", "assemble_all", "command", "after_build",
           "load_bundle", "merge", "plan"]
