"""Typeset stage: an HTML page → a laid-out WeasyPrint document → PDF editions.

A briefing is laid out once; the web and print editions are both written from that one layout:

* web: trimmed A4 (bleed set to zero at write time), RGB, tagged PDF/UA-1;
* print: A4 trim + 3 mm bleed + a slug with crop marks outside the bleed, every colour written
  as CMYK (brand colours from ``layouts/palette.yaml``), PDF/X-4 with a CMYK output intent.
"""

from __future__ import annotations

import hashlib
import logging
import re
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import pydyf
import weasyprint
from tinycss2.color5 import parse_color
from weasyprint.images import RasterImage
from weasyprint.text.fonts import FontConfiguration

from press.core import limits, yamlsafe
from press.core.output import identifier
from press.errors import ContentError, Problem
from press.model import Page
from press.render.fetcher import ProjectFetcher

MM = 72 / 25.4  # PDF points per millimetre
CSS_PX_PER_MM = 96 / 25.4
BLEED_MM = 3.0
SLUG_MM = 9.0  # room outside the bleed for crop marks
MARK_OFFSET_MM = 3.0  # crop marks start this far from the trim (i.e. at the bleed edge)
MARK_LENGTH_MM = 5.0


@dataclass
class Typeset:
    """A laid-out document plus what the typeset stage learnt while making it."""

    document: weasyprint.Document
    served: set[Path] = field(default_factory=set)
    warnings: list[str] = field(default_factory=list)
    source: str = ""  # what the problems of a later write are reported against

    @property
    def page_count(self) -> int:
        return len(self.document.pages)


class _Capture(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.errors: list[str] = []
        self.warnings: list[str] = []

    def emit(self, record):
        message = record.getMessage()
        (self.errors if record.levelno >= logging.ERROR else self.warnings).append(message)


@contextmanager
def _captured():
    logger = logging.getLogger("weasyprint")
    handler = _Capture()
    logger.addHandler(handler)
    previous = logger.propagate
    logger.propagate = False
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.propagate = previous


def _failures(source: str, capture: _Capture, fetcher: ProjectFetcher) -> list[Problem]:
    messages = list(fetcher.refused)
    for message in capture.errors:
        if not any(refused in message for refused in fetcher.refused):
            messages.append(message.split("\n")[0])
    return [Problem(source, None, m) for m in dict.fromkeys(messages)]


def render(page: Page, project_root: Path) -> Typeset:
    """Lay out ``page``; WeasyPrint's error records and refused resources fail the briefing."""
    fetcher = ProjectFetcher(project_root)
    try:
        with _captured() as capture, limits.time_limit("layout"):
            html = weasyprint.HTML(string=page.html, base_url=page.base_url, url_fetcher=fetcher)
            document = html.render(font_config=FontConfiguration(), pdf_tags=True)
    except limits.TimeLimitExceeded as exc:
        raise ContentError.at(page.name, None, f"layout did not finish within {exc.seconds:g} s",
                              "split very long tables or lists, or raise "
                              "PRESS_TIME_LIMIT_LAYOUT") from None
    except RecursionError:  # the markdown stage limits nesting; this is the safety net
        raise ContentError.at(page.name, None, "content is nested too deeply to lay out",
                              "flatten nested lists, quotes and HTML") from None
    problems = _failures(page.name, capture, fetcher)
    if problems:
        raise ContentError(problems)
    return Typeset(document, set(fetcher.served), capture.warnings, page.name)


def _write(typeset: Typeset, target, excerpt: bool = False, **options) -> bytes | None:
    """``write_pdf`` with WeasyPrint's error records (e.g. an SVG that fails to draw, or a link
    to an anchor that does not exist, which WeasyPrint only logs) turned into a failure.

    ``excerpt``: the document is a selection of pages (a shop sample), so links to sections
    left out are expected to dangle (WeasyPrint drops them).
    """
    with _captured() as capture:
        data = typeset.document.write_pdf(target, **options)
    errors = [m for m in capture.errors if not (excerpt and m.startswith("No anchor #"))]
    if errors:
        raise ContentError([Problem(typeset.source or "document", None, message.split("\n")[0])
                            for message in dict.fromkeys(errors)])
    return data


# -- web edition -------------------------------------------------------------------------------

WEB_DPI = 150  # raster images above this resolution at their placed size are downsampled


def write_web(typeset: Typeset, target, ident: str, excerpt: bool = False) -> bytes | None:
    """Trimmed, RGB, tagged PDF/UA-1 with viewer title; returns bytes if ``target`` is None.

    ``excerpt``: only some pages of a document (see ``_write``)."""
    document = typeset.document
    saved_profiles = dict(document.color_profiles)
    document.color_profiles.clear()  # no CMYK profile in the web file
    saved = _set_bleed(document, 0)
    try:
        with _downsampled(document, WEB_DPI):
            return _write(typeset, target, excerpt, pdf_variant="pdf/ua-1",
                          pdf_identifier=identifier(ident, "web"), finisher=_web_finisher)
    finally:
        _restore_bleed(document, saved)
        document.color_profiles.update(saved_profiles)


@contextmanager
def _downsampled(document, dpi: int):
    """Write ``document``'s raster images at no more than ``dpi`` at their placed size.

    WeasyPrint takes its image options (``dpi``, ``optimize_images``, ``jpeg_quality``) when
    the document is rendered, not when it is written, so passing them to ``write_pdf`` does
    nothing; the document is rendered once for both editions, so the web edition sets the
    resolution on each image for its own write. Downsampling replaces an image's data, which
    is put back afterwards for the print edition.
    """
    images = _raster_images(document)
    saved = [(image, image._dpi, image.image_data) for image in images]
    for image in images:
        image._dpi = dpi
    try:
        yield
    finally:
        for image, old_dpi, data in saved:
            image._dpi, image.image_data = old_dpi, data


def _raster_images(document) -> list[RasterImage]:
    """The raster images drawn in ``document``: replaced elements and backgrounds."""
    found: dict[int, RasterImage] = {}
    for page in document.pages:
        for box in page._page_box.descendants():
            images = [getattr(box, "replacement", None)]
            background = getattr(box, "background", None)
            if background is not None:
                images.extend(layer.image for layer in background.layers)
            for image in images:
                if isinstance(image, RasterImage):
                    found[id(image)] = image
    return list(found.values())


def _web_finisher(document, pdf):
    # PDF/UA tagging already sets DisplayDocTitle; open with the bookmarks panel showing.
    pdf.catalog["PageMode"] = "/UseOutlines"


# -- print edition -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Palette:
    """Brand colours: RGB for screen, CMYK for print (from ``layouts/palette.yaml``)."""

    pairs: tuple[tuple[tuple[float, float, float], tuple[float, float, float, float]], ...]

    @classmethod
    def load(cls, path: Path) -> Palette:
        data = yamlsafe.load(path.read_text(encoding="utf-8"), path)[0] or {}
        pairs = []
        for name, entry in data.items():
            rgb = parse_color(entry.get("rgb", ""))
            cmyk = entry.get("cmyk") or []
            if rgb is None or len(cmyk) != 4:
                raise ContentError.at(path, None, f"palette colour '{name}' needs an rgb value "
                                      "and four cmyk percentages")
            pairs.append((_key(rgb.to("srgb").coordinates), tuple(v / 100 for v in cmyk)))
        return cls(tuple(pairs))

    def cmyk(self, r: float, g: float, b: float) -> tuple[float, float, float, float]:
        """The palette's CMYK for a brand colour; greys on K only; others by formula."""
        key = _key((r, g, b))
        for rgb, cmyk in self.pairs:
            if rgb == key:
                return cmyk
        if key[0] == key[1] == key[2]:
            return (0.0, 0.0, 0.0, round(1 - key[0], 4))
        k = 1 - max(r, g, b)
        return tuple(round((1 - v - k) / (1 - k), 4) for v in (r, g, b)) + (round(k, 4),)


def _key(rgb):
    return tuple(round(float(v), 3) for v in rgb)


RGB_OPERATOR = re.compile(rb"^\s*([\d.]+) ([\d.]+) ([\d.]+) (rg|RG)\s*$")


def to_cmyk(pdf: pydyf.PDF, palette: Palette) -> int:
    """Rewrite every RGB colour operator in the PDF's content streams as CMYK.

    WeasyPrint keeps each operator as one item of a pydyf stream until the file is written,
    so this catches page content, SVG logos and figures alike. Returns the count rewritten.
    """
    rewritten = 0
    for obj in pdf.objects:
        if not isinstance(obj, pydyf.Stream):
            continue
        items = obj.stream
        for index, item in enumerate(items):
            if isinstance(item, str):
                item = item.encode()
            if not isinstance(item, bytes) or len(item) > 64:
                continue
            match = RGB_OPERATOR.match(item)
            if match:
                c, m, y, k = palette.cmyk(*(float(v) for v in match.groups()[:3]))
                op = "k" if match.group(4) == b"rg" else "K"
                items[index] = f"{c:g} {m:g} {y:g} {k:g} {op}".encode()
                rewritten += 1
    return rewritten


def write_print(typeset: Typeset, target, ident: str, palette: Palette,
                blank_pages: list | None = None) -> bytes | None:
    """PDF/X-4: TrimBox = A4, BleedBox = trim + 3 mm, crop marks in the slug outside the bleed.

    ``blank_pages`` (WeasyPrint pages from :func:`blank_pages`) are inserted before the last
    page to pad a saddle-stitched booklet; the back cover stays last.
    """
    document = typeset.document
    pages = document.pages
    if blank_pages:
        document.pages = pages[:-1] + list(blank_pages) + pages[-1:]
    outer = (BLEED_MM + SLUG_MM) * CSS_PX_PER_MM
    saved = _set_bleed(document, outer)
    try:
        return _write(typeset, target, pdf_variant="pdf/x-4",
                      pdf_identifier=identifier(ident, "print"),
                      finisher=partial(_print_finisher, palette=palette, ident=ident))
    finally:
        _restore_bleed(document, saved)
        document.pages = pages


def _print_finisher(document, pdf, palette: Palette, ident: str):
    to_cmyk(pdf, palette)
    _fixed_document_id(pdf, ident)
    bleed = BLEED_MM * MM
    for number in pdf.pages["Kids"][::3]:  # pydyf keeps Kids as "n 0 R" triples
        page_dict = pdf.objects[number]
        x0, y0, x1, y1 = (float(v) for v in page_dict["TrimBox"])
        page_dict["BleedBox"] = pydyf.Array([x0 - bleed, y0 - bleed, x1 + bleed, y1 + bleed])
        marks = pydyf.Stream(compress=True)
        _crop_marks(marks, x0, y0, x1, y1)
        pdf.add_object(marks)
        page_dict["Contents"] = pydyf.Array([page_dict["Contents"], marks.reference])


def _fixed_document_id(pdf, ident: str) -> None:
    """WeasyPrint writes a random XMP DocumentID for PDF/X; derive it from the content instead."""
    stable = str(uuid.UUID(bytes=hashlib.sha256(ident.encode()).digest()[:16]))
    for obj in pdf.objects:
        if isinstance(obj, pydyf.Stream) and obj.extra.get("Subtype") == "/XML":
            obj.stream = [re.sub(rb"xmp\.did:[0-9a-f-]{36}", f"xmp.did:{stable}".encode(),
                                 item if isinstance(item, bytes) else str(item).encode())
                          for item in obj.stream]


def _crop_marks(stream, left, bottom, right, top):
    """Registration-black hairlines at the trim lines, outside the bleed area."""
    offset, length = MARK_OFFSET_MM * MM, MARK_LENGTH_MM * MM
    stream.push_state()
    stream.set_line_width(0.25)
    stream.stream.append(b"1 1 1 1 K")  # registration colour: on every plate
    for x in (left, right):
        for y, direction in ((bottom, -1), (top, 1)):
            stream.move_to(x, y + direction * offset)
            stream.line_to(x, y + direction * (offset + length))
    for y in (bottom, top):
        for x, direction in ((left, -1), (right, 1)):
            stream.move_to(x + direction * offset, y)
            stream.line_to(x + direction * (offset + length), y)
    stream.stroke()
    stream.pop_state()


def blank_pages(count: int, project_root: Path, css_url: str) -> list:
    """``count`` blank A4 pages with the same bleed, for padding a print booklet."""
    if count <= 0:
        return []
    html = ('<html lang="en-GB"><head><style>@page { size: A4; bleed: 3mm; margin: 0 } '
            'div { break-after: page; height: 1px }</style></head><body>'
            + '<div></div>' * count + '</body></html>')
    document = weasyprint.HTML(string=html, url_fetcher=ProjectFetcher(project_root)).render()
    return document.pages[:count]


def _set_bleed(document, value):
    saved = [dict(page.bleed) for page in document.pages]
    for page in document.pages:
        for side in page.bleed:
            page.bleed[side] = value
    return saved


def _restore_bleed(document, saved):
    for page, bleed in zip(document.pages, saved):
        page.bleed.update(bleed)
