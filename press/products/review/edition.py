"""Review stage: a briefing → its review edition (source line numbers in the margin, a review
band, wide margins) and the map from each laid-out line to the Markdown lines it shows.

The edition is the briefing's own layout, laid out once with ``data-line`` on each block
(:mod:`.lines`) and wider margins; the numbers and the band are drawn afterwards, on an overlay
made from the layout's own line boxes, so that each number sits on the line it names whatever
the element (a list item, a table cell, a footnote) and CSS never touches the house style's
``::before`` rules. The map is saved with the edition: a comment on this round's draft is
placed through it even after the source has moved on.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass, replace
from html import escape
from typing import TYPE_CHECKING, Any, TypedDict

from press.model import Body, Briefing
from press.products.review.lines import Source, line_hash, normalise, number_blocks
from press.project import Project

if TYPE_CHECKING:
    from pypdf import PageObject

PT_PER_PX = 0.75  # CSS px → PDF points
MAP_VERSION = 1
# wide outer margins for reviewers' notes; the body pages use the unnamed page
REVIEW_CSS = "@page { margin: 27mm 56mm 24mm 32mm; }"
GUTTER = 3 * 72 / 25.4  # points between a line number and the text column


@dataclass(frozen=True)
class Band:
    """What the band across every page of the review edition says."""

    round: str
    date: str
    revision: str

    def text(self) -> str:
        return f"Review draft — round {self.round} — {self.date} — revision {self.revision}"


class MapPage(TypedDict):
    width: float  # PDF points
    height: float


class MapBox(TypedDict):
    """One laid-out line of the body."""

    page: int  # from 0
    rect: list[float]  # x0, y0, x1, y1: PDF points, origin bottom left
    line: int  # the source line the laid-out line starts in
    lines: list[int]  # first, last: the source lines of its block
    text: str


class ReviewMap(TypedDict):
    """A review edition's map (saved as map.json beside the draft): see :func:`layout_map`."""

    version: int
    slug: str
    round: str
    date: str
    revision: str
    source: str  # the briefing file, relative to the project
    pages: list[MapPage]
    boxes: list[MapBox]
    hashes: dict[str, str]  # source line (as text) -> line_hash of it then
    texts: dict[str, str]  # source line (as text) -> its text then


@dataclass
class Edition:
    pdf: bytes
    map: ReviewMap
    pages: int


def make(project: Project, briefing: Briefing, body: Body, band: Band) -> Edition:
    """Lay out the review edition of ``briefing`` and record its map."""
    from press.briefing import layout
    from press.render import typeset  # WeasyPrint

    source_lines = briefing.path.read_text("utf-8").split("\n")
    source = Source(source_lines, briefing.body_line)
    numbered = replace(body, html=number_blocks(body.html, source))
    page = layout.page(project, briefing, numbered, None)
    html = page.html.replace("</head>", f"<style>{REVIEW_CSS}</style></head>", 1)
    laid_out = typeset.render(replace(page, html=html), project.root, tagged=False)
    document = laid_out.document
    saved = typeset.set_bleed(document, 0)
    try:
        data = typeset.write(laid_out, None, pdf_identifier=_ident(briefing, band))
        assert data is not None  # (written to no target: the bytes are returned)
        mapping = layout_map(document, source, briefing, band)
    finally:
        typeset.restore_bleed(document, saved)
    overlay = _overlay(project, mapping, band)
    return Edition(_stamp(data, overlay), mapping, len(document.pages))


def _ident(briefing: Briefing, band: Band) -> bytes:
    from press.core.output import identifier

    return identifier(briefing.slug, "review", band.round)


# -- the map -----------------------------------------------------------------------------------

# WeasyPrint's document and boxes have no types (an Any to mypy).
def layout_map(document: Any, source: Source, briefing: Briefing, band: Band) -> ReviewMap:
    """Every laid-out line of the body as ``{"page", "rect": [x0, y0, x1, y1] (PDF points,
    origin bottom left), "line", "lines": [first, last], "text"}``; ``line`` is the source line
    the laid-out line starts in, found from its text within its block's lines."""
    pages: list[MapPage] = []
    boxes: list[MapBox] = []
    for number, page in enumerate(document.pages):
        height = page.height
        pages.append({"width": round(page.width * PT_PER_PX, 2),
                      "height": round(height * PT_PER_PX, 2)})
        for box, lines in _line_boxes(page._page_box):
            text = "".join(_texts(box))
            if not text.strip():
                if not _has_image(box):
                    continue
                text = "[image]"  # a comment on a figure is about the line that places it
            first, last = lines
            x0, top = box.position_x, box.position_y
            rect = [x0 * PT_PER_PX, (height - top - box.height) * PT_PER_PX,
                    (x0 + box.width) * PT_PER_PX, (height - top) * PT_PER_PX]
            boxes.append({"page": number, "rect": [round(v, 2) for v in rect],
                          "line": _start_line(source, text, first, last),
                          "lines": [first, last], "text": text.strip()})
    body = range(briefing.body_line, len(source.lines) + 1)
    return {"version": MAP_VERSION, "slug": briefing.slug, "round": band.round,
            "date": band.date, "revision": band.revision,
            "source": f"content/briefings/{briefing.path.name}",
            "pages": pages, "boxes": boxes,
            "hashes": {str(n): line_hash(source.lines[n - 1]) for n in body
                       if source.lines[n - 1].strip()},
            "texts": {str(n): source.lines[n - 1] for n in body if source.lines[n - 1].strip()}}


def _line_boxes(root: Any) -> Iterator[tuple[Any, tuple[int, int]]]:
    """``(line box, (first, last))`` for each line box (or block image) under a block with
    ``data-lines``."""
    from weasyprint.formatting_structure import boxes as wb

    stack: list[tuple[Any, tuple[int, int] | None]] = [(root, None)]
    while stack:
        box, lines = stack.pop()
        element = getattr(box, "element", None)
        if element is not None and getattr(box, "element_tag", None) and \
                element.get("data-lines") and not _is_pseudo(box):
            first, _, last = element.get("data-lines").partition("-")
            lines = (int(first), int(last or first))
        if isinstance(box, (wb.LineBox, wb.ReplacedBox)):  # (a block image is no line's)
            if lines is not None:
                yield box, lines
            continue
        children = getattr(box, "children", None) or []
        stack.extend((child, lines) for child in reversed(children))


def _has_image(box: Any) -> bool:
    from weasyprint.formatting_structure import boxes as wb

    if isinstance(box, wb.ReplacedBox):
        return True
    return any(_has_image(child) for child in getattr(box, "children", None) or [])


def _is_pseudo(box: Any) -> bool:
    return bool(getattr(box, "pseudo_type", None))


def _texts(box: Any) -> Iterator[str]:
    text = getattr(box, "text", None)
    if text is not None:
        yield text
    for child in getattr(box, "children", None) or []:
        yield from _texts(child)


def _start_line(source: Source, text: str, first: int, last: int) -> int:
    """The line of ``first``..``last`` holding the start of a laid-out line's ``text``."""
    if first == last:
        return first
    lo = source.line_of.index(first) if first in source.line_of else 0
    found = source.find(text, lo)
    if found is None:
        return first
    line = source.line_at(found[0])
    return line if first <= line <= last else first


# -- the overlay: numbers in the margin, the band ------------------------------------------

def _overlay(project: Project, mapping: ReviewMap, band: Band) -> list[PageObject]:
    """One overlay page per page: the source line number at the left of each laid-out line
    that starts a new source line (and of a page's first line), and the band at the top.
    Laid out by WeasyPrint (the house font), returned as a list of pypdf pages."""
    from pypdf import PdfReader

    from press.model import Page
    from press.render import typeset

    shown: dict[int, list[str]] = {}
    column: dict[int, float] = {}  # the text column's left edge: numbers line up beside it
    for box in mapping["boxes"]:
        column[box["page"]] = min(column.get(box["page"], 1e9), box["rect"][0])
    previous = None  # (page, line): a paragraph continued on a page is numbered at its top
    for box in mapping["boxes"]:
        if (box["page"], box["line"]) != previous:
            x0, y0, x1, y1 = box["rect"]
            page = mapping["pages"][box["page"]]
            top = page["height"] - y1
            right = page["width"] - column[box["page"]] + GUTTER
            high = min(y1 - y0, 15.0)  # a figure's number at its top, not its middle
            shown.setdefault(box["page"], []).append(
                f'<div class="n" style="top:{top:.2f}pt;right:{right:.2f}pt;'
                f'height:{high:.2f}pt;line-height:{high:.2f}pt">{box["line"]}</div>')
        previous = (box["page"], box["line"])
    fonts = (project.layouts / "fonts.css").resolve().as_uri()
    sheets = []
    for number, page in enumerate(mapping["pages"]):
        body = "".join(shown.get(number, []))
        sheets.append(f'<section style="width:{page["width"]}pt;height:{page["height"]}pt">'
                      f'<div class="band">{escape(band.text())}</div>{body}</section>')
    size: MapPage = mapping["pages"][0] if mapping["pages"] else {"width": 595, "height": 842}
    html = ('<html lang="en-GB"><head><meta charset="utf-8">'
            f'<link rel="stylesheet" href="{fonts}"><style>'
            f'@page {{ size: {size["width"]}pt {size["height"]}pt; margin: 0 }} '
            'body { margin: 0; font-family: "Lato" } '
            'section { position: relative; break-after: page; overflow: hidden } '
            '.n { position: absolute; width: 14mm; text-align: right; '
            'font-size: 7.5pt; color: #b83f16; font-variant-numeric: tabular-nums } '
            '.band { position: absolute; top: 5mm; left: 10mm; right: 10mm; padding: 1.2mm 3mm; '
            'background: #fbe9e2; color: #b83f16; font-size: 8pt; font-weight: 700; '
            'text-align: center } '
            '</style></head><body>' + "".join(sheets) + '</body></html>')
    overlay = Page(html=html, base_url=project.layouts.resolve().as_uri() + "/",
                   name=mapping.get("source", "review edition"))
    data = typeset.write(typeset.render(overlay, project.root, tagged=False), None)
    assert data is not None  # (written to no target: the bytes are returned)
    return list(PdfReader(io.BytesIO(data)).pages)


def _stamp(data: bytes, overlay: list[PageObject]) -> bytes:
    """The edition with each overlay page drawn over its page."""
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(data)))
    for page, over in zip(writer.pages, overlay):
        page.merge_page(over, over=True)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def text_key(text: str) -> str:
    """How a map's line text is compared with a marked text."""
    return normalise(text)
