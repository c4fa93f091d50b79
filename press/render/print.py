"""Print edition stage: a laid-out document → PDF/X-4 with every colour in CMYK, a stable
document id, bleed and crop marks (and the finisher the mailing's print-only PDFs share)."""

from __future__ import annotations

import hashlib
import re
import uuid
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import pydyf
from tinycss2.color5 import parse_color

from press.core import yamlsafe
from press.core.output import identifier
from press.errors import ContentError
from press.render.typeset import Typeset, restore_bleed, set_bleed, write
from press.render.units import BLEED_MM, CSS_PX_PER_MM, MM

SLUG_MM = 9.0  # room outside the bleed for crop marks
MARK_OFFSET_MM = 3.0  # crop marks start this far from the trim (i.e. at the bleed edge)
MARK_LENGTH_MM = 5.0


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

    ``blank_pages`` (WeasyPrint pages from :func:`press.render.typeset.blank_pages`) are
    inserted before the last page to pad a saddle-stitched booklet; the back cover stays last.
    """
    document = typeset.document
    pages = document.pages
    if blank_pages:
        document.pages = pages[:-1] + list(blank_pages) + pages[-1:]
    outer = (BLEED_MM + SLUG_MM) * CSS_PX_PER_MM
    saved = set_bleed(document, outer)
    try:
        return write(typeset, target, pdf_variant="pdf/x-4",
                     pdf_identifier=identifier(ident, "print"),
                     finisher=partial(_print_finisher, palette=palette, ident=ident))
    finally:
        restore_bleed(document, saved)
        document.pages = pages


def pdfx_finisher(palette: Palette, ident: str):
    """A ``write_pdf`` finisher for a PDF/X-4 without bleed (the mailing's letters and job
    sheet): every colour in CMYK and the document id derived from ``ident``."""

    def finisher(document, pdf):
        to_cmyk(pdf, palette)
        fixed_document_id(pdf, ident)

    return finisher


def _print_finisher(document, pdf, palette: Palette, ident: str):
    pdfx_finisher(palette, ident)(document, pdf)
    bleed = BLEED_MM * MM
    for number in pdf.pages["Kids"][::3]:  # pydyf keeps Kids as "n 0 R" triples
        page_dict = pdf.objects[number]
        x0, y0, x1, y1 = (float(v) for v in page_dict["TrimBox"])
        page_dict["BleedBox"] = pydyf.Array([x0 - bleed, y0 - bleed, x1 + bleed, y1 + bleed])
        marks = pydyf.Stream(compress=True)
        _crop_marks(marks, x0, y0, x1, y1)
        pdf.add_object(marks)
        page_dict["Contents"] = pydyf.Array([page_dict["Contents"], marks.reference])


def fixed_document_id(pdf, ident: str) -> None:
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
