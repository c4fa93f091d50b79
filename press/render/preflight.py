"""Preflight stage: check a print edition the way a printer's prepress desk would."""

from __future__ import annotations

import io
import re

from pypdf import PdfReader
from pypdf.generic import IndirectObject

from press.render.units import A4_PT, BLEED_PT

MIN_DPI = 300
TOLERANCE = 0.6  # points


def placed_images(document) -> list[dict]:
    """Raster images as placed in the layout: pixels, placed size and effective resolution."""
    found = {}
    for number, page in enumerate(document.pages, 1):
        for box in page._page_box.descendants():
            image = getattr(box, "replacement", None)  # WeasyPrint's replaced-box image
            if image is None or not hasattr(box, "width"):
                continue
            name = getattr(box.element, "get", lambda *_: None)("src") or "image"
            pixels = _pixels(image)
            placed_in = (box.width / 96, box.height / 96)
            entry = {"src": name.rsplit("/", 1)[-1], "page": number,
                     "placed_mm": [round(v * 25.4, 1) for v in placed_in],
                     "kind": "vector" if pixels is None else "raster"}
            if pixels is not None and placed_in[0] > 0:
                entry["pixels"] = list(pixels)
                entry["effective_dpi"] = round(min(pixels[0] / placed_in[0],
                                                   pixels[1] / placed_in[1]))
            found[(entry["src"], number)] = entry
    return list(found.values())


def _pixels(image):
    if type(image).__name__ == "SVGImage":
        return None
    width, height = getattr(image, "width", None), getattr(image, "height", None)
    if width and height:
        return int(width), int(height)
    return None


def check(data: bytes, images: list[dict], booklet: bool) -> dict:
    """Inspect a print PDF; returns a report with ``blocking`` and ``warnings`` lists."""
    reader = PdfReader(io.BytesIO(data))
    blocking, warnings = [], []
    pages = len(reader.pages)
    boxes = []
    for number, page in enumerate(reader.pages, 1):
        trim = _box(page, "/TrimBox")
        bleed = _box(page, "/BleedBox")
        media = _box(page, "/MediaBox")
        boxes.append({"page": number, "trim": trim, "bleed": bleed, "media": media})
        if trim is None or bleed is None:
            blocking.append(f"page {number} has no TrimBox or BleedBox")
            continue
        size = (trim[2] - trim[0], trim[3] - trim[1])
        if abs(size[0] - A4_PT[0]) > TOLERANCE or abs(size[1] - A4_PT[1]) > TOLERANCE:
            blocking.append(f"page {number} trim is {size[0]:.1f}×{size[1]:.1f} pt, not A4")
        if any(abs(abs(b - t) - BLEED_PT) > TOLERANCE for b, t in zip(bleed, trim)):
            blocking.append(f"page {number} bleed is not 3 mm on every side")
        if any(m > b + TOLERANCE if i < 2 else m < b - TOLERANCE
               for i, (m, b) in enumerate(zip(media, bleed))):
            blocking.append(f"page {number} MediaBox is smaller than its BleedBox")
    fonts = _fonts(reader)
    for font in fonts:
        if not font["embedded"]:
            blocking.append(f"font {font['name']} is not embedded")
    if booklet and pages % 4:
        blocking.append(f"{pages} pages is not a multiple of 4 for a saddle-stitched booklet")
    intents = reader.trailer["/Root"].get("/OutputIntents")
    intent = None
    if intents:
        first = intents[0].get_object()
        intent = {"subtype": str(first.get("/S")),
                  "condition": str(first.get("/OutputConditionIdentifier", ""))}
    if not intent or intent["subtype"] != "/GTS_PDFX":
        blocking.append("no PDF/X output intent")
    for image in images:
        dpi = image.get("effective_dpi")
        if dpi is not None and dpi < MIN_DPI:
            warnings.append(f"image {image['src']} on page {image['page']} is {dpi} dpi at its "
                            f"placed size (under {MIN_DPI}); supply a larger image")
    return {
        "pages": pages,
        "trim_size_mm": [210, 297],
        "bleed_mm": 3,
        "boxes": boxes,
        "fonts": fonts,
        "images": images,
        "image_colour_spaces": sorted(_image_spaces(reader)),
        "output_intent": intent,
        "pdf_version": reader.pdf_header.replace("%PDF-", ""),
        "blocking": blocking,
        "warnings": warnings,
    }


def _box(page, name):
    value = page.get(name)
    if value is None:
        return None
    return [round(float(v), 3) for v in value]


def _fonts(reader) -> list[dict]:
    fonts = {}
    for page in reader.pages:
        resources = page.get("/Resources")
        font_dict = resources.get_object().get("/Font") if resources else None
        for ref in (font_dict or {}).values():
            font = ref.get_object()
            base = str(font.get("/BaseFont", "?")).lstrip("/")
            descendants = font.get("/DescendantFonts")
            target = descendants[0].get_object() if descendants else font
            descriptor = target.get("/FontDescriptor")
            descriptor = descriptor.get_object() if descriptor else {}
            embedded = any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3"))
            if str(font.get("/Subtype")) == "/Type3":
                embedded = True  # glyphs are drawn inline
            fonts[base] = {"name": base, "type": str(font.get("/Subtype", "")).lstrip("/"),
                           "embedded": embedded,
                           "subset": bool(re.match(r"^[A-Z]{6}\+", base))}
    return sorted(fonts.values(), key=lambda f: f["name"])


def _image_spaces(reader) -> set[str]:
    spaces = set()
    for page in reader.pages:
        resources = page.get("/Resources")
        xobjects = resources.get_object().get("/XObject") if resources else None
        for ref in (xobjects or {}).values():
            obj = ref.get_object() if isinstance(ref, IndirectObject) else ref
            if obj.get("/Subtype") == "/Image":
                space = obj.get("/ColorSpace")
                space = space.get_object() if hasattr(space, "get_object") else space
                spaces.add(str(space[0] if isinstance(space, list) else space))
    return spaces


def summary(report: dict) -> str:
    """One line for the command line."""
    fonts = report["fonts"]
    embedded = sum(f["embedded"] for f in fonts)
    intent = (report["output_intent"] or {}).get("condition") or "none"
    status = "FAIL" if report["blocking"] else ("warnings" if report["warnings"] else "ok")
    return (f"preflight {status}: {report['pages']} pages (+{report.get('padding_pages', 0)} "
            f"blank), A4 trim + 3 mm bleed, fonts {embedded}/{len(fonts)} embedded, "
            f"{len(report['images'])} images, output intent {intent}")
