"""Preflight stage: check a print edition the way a printer's prepress desk would."""

from __future__ import annotations

import io
import math
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, TypeAlias

from pypdf import PdfReader
from pypdf.generic import IndirectObject

from press.render.preflight_colour import (
    FAIL_PPI,
    MIN_PPI,
    colour_problems,
    colour_space_kind,
    name_rasters,
    needed_pixels,
)
from press.render.units import A4_PT, BLEED_PT

# The report and its parts are JSON (written beside the print file, read by tests and the shop)
Report: TypeAlias = dict[str, Any]

TOLERANCE = 0.6  # points
MAX_TAC = 300  # per cent: total area coverage a coated-paper press (FOGRA39) takes
DARK_TEXT_K = 0.5  # text with this much black is "dark": it belongs on the K plate only
TEXT_OPERATORS = ("Tj", "TJ", "'", '"')


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


COVER_GAP_MM = 2.0  # the least space between the cover's title block and its logo strip


def cover_fit(document) -> str | None:
    """Whether the cover's title block (``.cover-titles``: title, subtitle, date, authors)
    ends above its logo strip (``.cover-marks``) with room to spare; a message if not.

    Looks at the laid-out boxes of the first page: a title too long for the cover wraps to
    more lines and pushes the author line into the logos, which WeasyPrint does not report.
    """
    if not document.pages:
        return None
    found = {}
    for box in document.pages[0]._page_box.descendants():
        element = getattr(box, "element", None)
        if element is None or not hasattr(box, "margin_height"):
            continue
        for name in (element.get("class") or "").split():
            if name in ("cover-titles", "cover-marks") and name not in found:
                found[name] = box
    if len(found) < 2:
        return None
    titles, marks = found["cover-titles"], found["cover-marks"]
    lines = [box for box in titles.descendants() if type(box).__name__ == "LineBox"]
    if not lines:
        return None
    bottom = max(line.position_y + line.height for line in lines)
    room = (marks.position_y + marks.margin_top - bottom) / 96 * 25.4
    if room >= COVER_GAP_MM:
        return None
    return (f"the cover's title block runs {COVER_GAP_MM - room:.1f} mm too far down: its "
            "last line meets the logo strip")


def _pixels(image):
    if type(image).__name__ == "SVGImage":
        return None
    width, height = getattr(image, "width", None), getattr(image, "height", None)
    if width and height:
        return int(width), int(height)
    return None


def check(data: bytes, images: list[Report], booklet: bool) -> Report:
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
        intent["info"] = str(first.get("/Info", ""))
        intent["registry"] = str(first.get("/RegistryName", ""))
        intent["profile"] = _profile_name(first.get("/DestOutputProfile"))
    if not intent or intent["subtype"] != "/GTS_PDFX":
        blocking.append("no PDF/X output intent")
    inks = inks_used(reader)
    if inks["annotations"]:
        warnings.append(f"{inks['annotations']} annotations (links) on the pages: they do not "
                        "print, and a printer's preflight lists each one")
    if inks["multi_plate_text"]:
        warnings.append(f"{inks['multi_plate_text']} runs of dark text print on several "
                        "plates (a registration risk); give their colour a one-plate 'text:' "
                        "ink in layouts/palette.yaml")
    if inks["max_tac"] > MAX_TAC:
        warnings.append(f"a fill has {inks['max_tac']:g} % total ink (over {MAX_TAC} %): it "
                        "may not dry or may set off; lighten the colour in layouts/palette.yaml")
    rasters = name_rasters(inks["rasters"], images)
    blocking += colour_problems(reader, inks, rasters)
    for raster in rasters:
        ppi, where = raster["ppi"], f"image {raster['src']} on page {raster['page']}"
        if ppi < FAIL_PPI:
            blocking.append(f"{where} is {ppi} ppi at its printed size (under {FAIL_PPI}): it "
                            f"will print soft or blocky; supply one of at least "
                            f"{needed_pixels(raster)} pixels")
        elif ppi < MIN_PPI:
            warnings.append(f"{where} is {ppi} ppi at its printed size (under {MIN_PPI}); "
                            f"supply a larger image ({needed_pixels(raster)} pixels)")
    return {
        "pages": pages,
        "trim_size_mm": [210, 297],
        "bleed_mm": 3,
        "boxes": boxes,
        "fonts": fonts,
        "images": images,
        "image_colour_spaces": sorted(_image_spaces(reader)),
        "rasters": rasters,
        "rgb": inks["rgb"],
        "output_intent": intent,
        "annotations": inks["annotations"],
        "text_inks": inks["text_inks"],
        "multi_plate_text": inks["multi_plate_text"],
        "small_multi_plate_text": inks["small_multi_plate_text"],
        "max_tac": inks["max_tac"],
        "pdf_version": reader.pdf_header.replace("%PDF-", ""),
        "blocking": blocking,
        "warnings": warnings,
    }


def _profile_name(stream) -> str:
    """The description of an embedded ICC profile, or ""."""
    if stream is None:
        return ""
    try:
        from PIL import ImageCms
        data = stream.get_object().get_data()
        return ImageCms.ImageCmsProfile(io.BytesIO(data)).profile.profile_description.strip()
    except Exception:  # noqa: BLE001 - any unreadable profile is reported as unnamed
        return ""


def inks_used(reader: PdfReader) -> dict:
    """What the pages' content streams paint with (and what forms they draw, once each).

    ``text_inks``: text-showing operators per fill colour in effect (CMYK as "c m y k"), the
    most used first; ``multi_plate_text``: those in a dark colour (K at least
    ``DARK_TEXT_K``) on more than one plate; ``max_tac``: the most ink (C+M+Y+K, per cent) of
    any CMYK fill colour set, an upper bound for what a fill inside the trim lays down;
    ``annotations``: annotations on the pages; ``rasters``: each raster image drawn, with its
    page, pixels, colour space and resolution at its printed size (ppi); ``rgb``: RGB colour
    set by operators or colour spaces (``rg``/``RG``, a ``/DeviceRGB``, ``/CalRGB`` or
    three-component ICC space selected with ``cs``/``CS``).
    """
    scan = _Scan()
    annotations = 0
    for number, page in enumerate(reader.pages, 1):
        annotations += len(page.get("/Annots") or [])
        contents = page.get_contents()
        scan.page = number
        if contents is not None:
            _walk(reader, contents.get_data(), page.get("/Resources"), scan, IDENTITY, 0)
    text = scan.text
    inks = {key: count for key, count in text.most_common()}
    multi = sum(count for key, count in text.items()
                if key[3] >= DARK_TEXT_K and sum(1 for v in key if v) > 1)
    return {"annotations": annotations, "multi_plate_text": multi,
            "text_inks": {" ".join(f"{v:g}" for v in key): count for key, count in inks.items()},
            "max_tac": round(max((sum(f) * 100 for f in scan.fills), default=0), 1),
            "rasters": scan.rasters, "rgb": scan.rgb,
            "small_multi_plate_text": [
                {"size_pt": size, "ink": " ".join(f"{v:g}" for v in ink), "runs": count}
                for (size, ink), count in sorted(scan.small.items())]}


IDENTITY = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)
SMALL_TEXT_PT = 12  # text under this size on several plates is listed (registration risk)
@dataclass
class _Scan:
    """What a walk through the content streams collects."""

    text: Counter = field(default_factory=Counter)
    fills: set = field(default_factory=set)
    seen: set = field(default_factory=set)
    rasters: list = field(default_factory=list)
    small: Counter = field(default_factory=Counter)  # (size pt, ink) of small multi-plate text
    rgb: int = 0
    page: int = 0


def _multiply(m, n):
    a, b, c, d, e, f = m
    a2, b2, c2, d2, e2, f2 = n
    return (a * a2 + b * c2, a * b2 + b * d2, c * a2 + d * c2, c * b2 + d * d2,
            e * a2 + f * c2 + e2, e * b2 + f * d2 + f2)


# Content-stream tokens: arrays (TJ's, kept whole), strings, names, and numbers or operators.
# A regular expression over the bytes is some ten times faster than pypdf's parser, and the
# preflight runs on every print build.
TOKEN = re.compile(rb"\[(?:\((?:\\.|[^\\)])*\)|[^\]])*\]|<<|>>|<[^>]*>|\((?:\\.|[^\\)])*\)"
                   rb"|/[^\s/\[\]<>()]+|[^\s/\[\]<>()]+")
TEXT_TOKENS = {op.encode() for op in TEXT_OPERATORS}


def _walk(reader, data: bytes, resources, scan: _Scan, ctm, depth):
    fill: tuple[float, ...] | None = None
    stack: list[tuple[tuple[float, ...] | None, tuple]] = []
    operands: list[bytes] = []
    size, matrix = 0.0, IDENTITY
    resources = resources.get_object() if resources is not None else {}
    position = 0
    while match := TOKEN.search(data, position):
        token, position = match.group(), match.end()
        first = token[:1]
        if first in b"[(</" or first.isdigit() or first in b"-+.":
            operands.append(token)
            continue
        if token == b"q":
            stack.append((fill, ctm))
        elif token == b"Q":
            fill, ctm = stack.pop() if stack else (None, ctm)
        elif token == b"cm" and len(operands) >= 6:
            ctm = _multiply(tuple(float(v) for v in operands[-6:]), ctm)
        elif token == b"k" and len(operands) >= 4:
            fill = tuple(round(float(v), 4) for v in operands[-4:])
            scan.fills.add(fill)
        elif token == b"g" and operands:
            fill = (0.0, 0.0, 0.0, round(1 - float(operands[-1]), 4))
        elif token in (b"rg", b"RG"):
            fill = None
            scan.rgb += 1
        elif token in (b"cs", b"CS") and operands:
            fill = None  # not DeviceCMYK: counted as unknown
            scan.rgb += _space_of(resources, operands[-1].decode("latin-1")) == "rgb"
        elif token in (b"sc", b"scn"):
            fill = None
        elif token == b"Tf" and operands:
            size = abs(float(operands[-1]))
        elif token == b"Tm" and len(operands) >= 6:
            matrix = tuple(float(v) for v in operands[-6:])
        elif token in TEXT_TOKENS and fill is not None:
            scan.text[fill] += 1
            if sum(1 for v in fill if v) > 1:
                printed = size * math.hypot(*_multiply(matrix, ctm)[:2])
                if printed < SMALL_TEXT_PT:
                    scan.small[(round(printed, 1), fill)] += 1
        elif token == b"Do" and operands and depth < 4:
            _xobject(reader, operands[-1].decode("latin-1"), resources, scan, ctm, depth)
        elif token == b"ID":  # an inline image's data is not tokens: go on after its EI
            end = re.compile(rb"\sEI(?=\s|$)").search(data, position)
            position = end.end() if end else len(data)
        operands = []


def _space_of(resources, name: str) -> str:
    spaces = resources.get("/ColorSpace")
    spaces = spaces.get_object() if spaces is not None else {}
    return colour_space_kind(spaces.get(name, name))


def _xobject(reader, name, resources, scan: _Scan, ctm, depth):
    xobjects = resources.get("/XObject")
    ref = xobjects.get_object().get(name) if xobjects else None
    if ref is None:
        return
    obj = ref.get_object()
    if obj.get("/Subtype") == "/Image":
        # the unit square mapped by the CTM: the image's printed size in points
        size = (math.hypot(ctm[0], ctm[1]), math.hypot(ctm[2], ctm[3]))
        pixels = (int(obj.get("/Width", 0)), int(obj.get("/Height", 0)))
        ppi = min(p / (s / 72) for p, s in zip(pixels, size)) if min(size) > 0 else 0
        scan.rasters.append({"page": scan.page, "pixels": list(pixels),
                             "printed_mm": [round(v / 72 * 25.4, 1) for v in size],
                             "ppi": round(ppi), "colour": colour_space_kind(
                                 obj.get("/ColorSpace", "/DeviceGray"))})
        return
    if isinstance(ref, IndirectObject):
        if ref.idnum in scan.seen:
            return
        scan.seen.add(ref.idnum)
    if obj.get("/Subtype") == "/Form":
        matrix = obj.get("/Matrix")
        inner = _multiply(tuple(float(v) for v in matrix), ctm) if matrix else ctm
        _walk(reader, obj.get_data(), obj.get("/Resources", resources), scan, inner,
              depth + 1)


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
