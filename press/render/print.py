"""Print edition stage: a laid-out document → PDF/X-4 with every colour in CMYK, a stable
document id, bleed and crop marks (and the finisher the mailing's print-only PDFs share)."""

from __future__ import annotations

import hashlib
import re
import uuid
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache, partial
from pathlib import Path
from typing import Any, BinaryIO, TypeAlias, overload

import pydyf
from tinycss2.color5 import parse_color

from press.core import yamlsafe
from press.core.output import identifier
from press.errors import ContentError
from press.render import plates, xmp
from press.render.typeset import Typeset, restore_bleed, set_bleed, write
from press.render.units import BLEED_MM, CSS_PX_PER_MM, MM

SLUG_MM = 9.0  # room outside the bleed for crop marks
MARK_OFFSET_MM = 3.0  # crop marks start this far from the trim (i.e. at the bleed edge)
MARK_LENGTH_MM = 5.0

RGB: TypeAlias = tuple[float, float, float]  # 0 to 1
CMYK: TypeAlias = tuple[float, float, float, float]  # 0 to 1


@dataclass(frozen=True)
class Palette:
    """Brand colours: RGB for screen, CMYK for print (from ``layouts/palette.yaml``).

    ``text``: for the colours that set text in print on the K plate only (an entry's
    ``text:``, the name of another entry such as ``text-black`` or four percentages), the
    CMYK its text prints in. Small type on several plates is a registration risk.
    """

    pairs: tuple[tuple[RGB, CMYK], ...]
    text: tuple[tuple[RGB, CMYK], ...] = ()

    @classmethod
    def load(cls, path: Path) -> Palette:
        data = yamlsafe.load(path.read_text(encoding="utf-8"), path)[0] or {}
        if not isinstance(data, dict):
            raise ContentError.at(path, 1, "the palette must map colour names to their values")
        pairs: list[tuple[RGB, CMYK]] = []
        text: list[tuple[RGB, CMYK]] = []
        named: dict[str, CMYK] = {}
        for name, entry in data.items():
            rgb = parse_color(entry.get("rgb", ""))
            cmyk = entry.get("cmyk") or []
            if rgb is None or len(cmyk) != 4:
                raise ContentError.at(path, None, f"palette colour '{name}' needs an rgb value "
                                      "and four cmyk percentages")
            key = _key(rgb.to("srgb").coordinates)
            named[name] = _percent(cmyk)
            pairs.append((key, named[name]))
        for name, entry in data.items():
            wanted = entry.get("text")
            if wanted is None:
                continue
            if isinstance(wanted, str) and wanted in named:
                ink = named[wanted]
            elif isinstance(wanted, list) and len(wanted) == 4:
                ink = _percent(wanted)
            else:
                raise ContentError.at(path, None, f"palette colour '{name}': 'text' must name "
                                      "another colour (e.g. text-black) or give four cmyk "
                                      "percentages")
            if sum(1 for v in ink if v) > 1:
                raise ContentError.at(path, None, f"palette colour '{name}': its text ink must "
                                      "be on one plate (e.g. [0, 0, 0, 100])")
            text.append((_key(parse_color(entry["rgb"]).to("srgb").coordinates), ink))
        return cls(tuple(pairs), tuple(text))

    def cmyk(self, r: float, g: float, b: float) -> CMYK:
        """The palette's CMYK for a brand colour; greys on K only; others by formula."""
        key = _key((r, g, b))
        for rgb, cmyk in self.pairs:
            if rgb == key:
                return cmyk
        if key[0] == key[1] == key[2]:
            return (0.0, 0.0, 0.0, round(1 - key[0], 4))
        k = 1 - max(r, g, b)
        c, m, y = (round((1 - v - k) / (1 - k), 4) for v in (r, g, b))
        return (c, m, y, round(k, 4))

    def text_cmyk(self, r: float, g: float, b: float) -> CMYK:
        """The CMYK text in this colour prints in: the palette's text ink for its dark
        neutrals, a K tint of about the same lightness for other dark colours (e.g. the
        navy of a chart's labels), the colour itself for brand colours and light ones."""
        key = _key((r, g, b))
        for rgb, cmyk in self.text:
            if rgb == key:
                return cmyk
        cmyk = self.cmyk(r, g, b)
        if cmyk[3] >= DARK_TEXT_K and any(cmyk[:3]) and not any(key == p for p, _ in self.pairs):
            luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b
            return (0.0, 0.0, 0.0, round(min(1.0, 1 - luminance), 2))
        return cmyk


DARK_TEXT_K = 0.5  # text with this much black or more counts as dark (see text_cmyk)


def _key(rgb: Iterable[float]) -> RGB:
    r, g, b = (round(float(v), 3) for v in rgb)
    return (r, g, b)


def _percent(values: Iterable[float]) -> CMYK:
    """Four percentages (checked by the caller) as fractions."""
    c, m, y, k = (v / 100 for v in values)
    return (c, m, y, k)


def _op(cmyk: CMYK, operator: str) -> bytes:
    c, m, y, k = cmyk
    return f"{c:g} {m:g} {y:g} {k:g} {operator}".encode()


RGB_OPERATOR = re.compile(rb"^\s*([\d.]+) ([\d.]+) ([\d.]+) (rg|RG)\s*$")


def to_cmyk(pdf: pydyf.PDF, palette: Palette) -> int:
    """Rewrite every RGB colour operator in the PDF's content streams as CMYK.

    WeasyPrint keeps each operator as one item of a pydyf stream until the file is written,
    so this catches page content, SVG logos and figures alike. Returns the count rewritten.

    Text prints in :meth:`Palette.text_cmyk`: WeasyPrint sets the text colour just before
    ``BT`` (or keeps the one already current), so each ``BT`` whose fill colour has a
    one-plate text ink sets that ink, and its ``ET`` sets the full colour back for whatever
    is painted next (a rule or box in the same colour keeps its rich CMYK).
    """
    rewritten = 0
    for obj in pdf.objects:
        if not isinstance(obj, pydyf.Stream):
            continue
        items = obj.stream
        fill: RGB | None = None
        stack: list[RGB | None] = []
        in_text = False
        for index, item in enumerate(items):
            if isinstance(item, str):
                item = item.encode()
            if not isinstance(item, bytes) or len(item) > 64:
                continue
            word = item.strip()
            if word == b"q":
                stack.append(fill)
            elif word == b"Q":
                fill = stack.pop() if stack else None
            elif word == b"BT":
                in_text = True
                if fill is not None and palette.text_cmyk(*fill) != palette.cmyk(*fill):
                    items[index] = b"BT " + _op(palette.text_cmyk(*fill), "k")
            elif word == b"ET":
                in_text = False
                if fill is not None and palette.text_cmyk(*fill) != palette.cmyk(*fill):
                    items[index] = b"ET " + _op(palette.cmyk(*fill), "k")
            match = RGB_OPERATOR.match(item)
            if match:
                red, green, blue = (float(v) for v in match.groups()[:3])
                rgb = (red, green, blue)
                stroke = match.group(4) == b"RG"
                if not stroke:
                    fill = rgb
                ink = palette.text_cmyk(*rgb) if in_text and not stroke else palette.cmyk(*rgb)
                items[index] = _op(ink, "K" if stroke else "k")
                rewritten += 1
    return rewritten


@dataclass(frozen=True)
class OutputProfile:
    """The printer's CMYK profile the print editions embed as their PDF/X output intent."""

    path: Path
    condition: str  # OutputConditionIdentifier
    info: str
    registry: str = ""

    @classmethod
    def of(cls, path: Path) -> OutputProfile:
        """The profile at ``path``: a FOGRA39 profile is named by its registered
        characterisation (so the condition is known even where the printer's RIP holds its
        own copy); any other by its own description."""
        from PIL import ImageCms
        try:
            profile = ImageCms.getOpenProfile(str(path))
            description = (profile.profile.profile_description or path.stem).strip()
            colour_space = profile.profile.xcolor_space.strip()
        except (OSError, ImageCms.PyCMSError) as exc:
            raise ContentError.at(path, None, f"not a usable ICC profile: {exc}",
                                  "use the .icc file the printer supplied") from None
        if colour_space != "CMYK":
            raise ContentError.at(path, None, f"the print profile is {colour_space}, not CMYK",
                                  "ask the printer for their CMYK output profile")
        if "FOGRA39" in description.upper():
            return cls(path, "FOGRA39", "Coated FOGRA39 (ISO 12647-2:2004)",
                       "http://www.color.org")
        if "FOGRA51" in description.upper():
            return cls(path, "FOGRA51", "PSO Coated v3 (ISO 12647-2:2013)",
                       "http://www.color.org")
        return cls(path, description, description)

    @property
    def name(self) -> str:
        return self.info


DEFAULT_PROFILE = "color/FOGRA39L_argyll.icc"  # under assets/: coated FOGRA39, UK offset


def output_profile(assets: Path, wanted: str = "") -> OutputProfile | None:
    """The output profile a series (or mailing) names, relative to ``assets``; without one
    the default FOGRA39 profile, or None (the layout's own) if the project has no copy."""
    path = assets / (wanted or DEFAULT_PROFILE)
    if not wanted and not path.is_file():
        return None
    return OutputProfile.of(path)


def condition_label(wanted: str = "", assets: Path | None = None) -> str:
    """How a printer would name the press condition of ``wanted`` (for READMEs)."""
    if not wanted or Path(wanted).name == Path(DEFAULT_PROFILE).name:
        return "Coated FOGRA39 (ISO 12647-2:2004), OutputConditionIdentifier FOGRA39"
    if assets is not None and (assets / wanted).is_file():
        profile = OutputProfile.of(assets / wanted)
        return f"{profile.info} (the profile {Path(wanted).name} you supplied)"
    return f"the profile {Path(wanted).name} you supplied"


def use_profile(pdf: pydyf.PDF, profile: OutputProfile | None) -> None:
    """Put ``profile`` in the PDF's output intent, in place of the CMYK profile the layout
    was written with (one ICC stream: the intent and any ICCBased colour use the same), or as
    a new output intent where the layout had none."""
    if profile is None:
        return
    intents = pdf.catalog.get("OutputIntents")
    if not intents:  # laid out without a CMYK profile (the letters): PDF/X needs an intent
        stream = pydyf.Stream([], pydyf.Dictionary({"N": 4}))
        pdf.add_object(stream)
        intents = pdf.catalog["OutputIntents"] = pydyf.Array([pydyf.Dictionary({
            "Type": "/OutputIntent", "S": "/GTS_PDFX", "DestOutputProfile": stream.reference})])
    intent = intents[0]
    stream = pdf.objects[_number(intent["DestOutputProfile"])]
    # Compressed once per process, not at every write: a profile is a few hundred KB that
    # zlib packs slowly (0.2 s, and pydyf asks for a stream's data twice). The same bytes as
    # pydyf's own compression (level 9).
    stat = profile.path.stat()
    stream.stream = [_deflated(profile.path, stat.st_size, stat.st_mtime_ns)]
    stream.compress = False
    stream.extra["Filter"] = "/FlateDecode"
    intent["OutputConditionIdentifier"] = pydyf.String(profile.condition)
    intent["Info"] = pydyf.String(profile.info)
    if profile.registry:
        intent["RegistryName"] = pydyf.String(profile.registry)


@lru_cache(maxsize=8)
def _deflated(path: Path, size: int, mtime_ns: int) -> bytes:
    compressor = zlib.compressobj(level=9)
    return compressor.compress(path.read_bytes()) + compressor.flush()


@overload
def write_print(typeset: Typeset, target: None, ident: str, palette: Palette,
                blank_pages: list[Any] | None = None,
                profile: OutputProfile | None = None) -> bytes: ...
@overload
def write_print(typeset: Typeset, target: Path | BinaryIO, ident: str, palette: Palette,
                blank_pages: list[Any] | None = None,
                profile: OutputProfile | None = None) -> None: ...
def write_print(typeset: Typeset, target: Path | BinaryIO | None, ident: str, palette: Palette,
                blank_pages: list[Any] | None = None,
                profile: OutputProfile | None = None) -> bytes | None:
    """PDF/X-4: TrimBox = A4, BleedBox = trim + 3 mm, crop marks in the slug outside the bleed.

    ``blank_pages`` (WeasyPrint pages from :func:`press.render.typeset.blank_pages`) are
    inserted before the last page to pad a saddle-stitched booklet; the back cover stays last.
    ``profile``: the printer's output profile (the layout's own CMYK profile if None).
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
                     finisher=partial(_print_finisher, palette=palette, ident=ident,
                                      profile=profile))
    finally:
        restore_bleed(document, saved)
        document.pages = pages


Finisher: TypeAlias = Callable[[Any, Any], None]  # WeasyPrint's: (document, pydyf.PDF)


def pdfx_finisher(palette: Palette, ident: str, profile: OutputProfile | None = None
                  ) -> Finisher:
    """A ``write_pdf`` finisher for a PDF/X-4 without bleed (the mailing's letters and job
    sheet): every colour in CMYK, text in its one-plate ink, 100 % K text overprinting,
    raster images separated through the output profile, no annotations (links do nothing on
    paper, and a printer's preflight lists each one), the printer's profile as the output
    intent and the document id derived from ``ident``."""

    def finisher(document: Any, pdf: pydyf.PDF) -> None:
        to_cmyk(pdf, palette)
        plates.black_overprint(pdf)
        strip_annotations(pdf)
        use_profile(pdf, profile)
        intent = (profile.path.read_bytes() if profile is not None
                  else plates.intent_profile(pdf))
        if intent:
            plates.images_to_cmyk(pdf, intent)
        fixed_document_id(pdf, ident)
        xmp.add_identity(document, pdf, "print")

    return finisher


def _print_finisher(document: Any, pdf: pydyf.PDF, palette: Palette, ident: str,
                    profile: OutputProfile | None = None) -> None:
    pdfx_finisher(palette, ident, profile)(document, pdf)
    bleed = BLEED_MM * MM
    registration = _registration_space(pdf)
    for number in pdf.pages["Kids"][::3]:  # pydyf keeps Kids as "n 0 R" triples
        page_dict = pdf.objects[number]
        x0, y0, x1, y1 = (float(v) for v in page_dict["TrimBox"])
        page_dict["BleedBox"] = pydyf.Array([x0 - bleed, y0 - bleed, x1 + bleed, y1 + bleed])
        marks = pydyf.Stream(compress=True)
        _crop_marks(marks, x0, y0, x1, y1, registration)
        pdf.add_object(marks)
        page_dict["Contents"] = pydyf.Array([page_dict["Contents"], marks.reference])


def strip_annotations(pdf: pydyf.PDF) -> int:
    """Take every annotation (links) off the pages; returns how many were taken off.

    A print file is tagged only to carry its text order; structure elements that pointed at
    a link annotation keep their text and lose the dead reference.
    """
    removed = 0
    annotations: set[int | None] = set()
    for number in pdf.pages["Kids"][::3]:
        page_dict = pdf.objects[number]
        annots = page_dict.pop("Annots", None)
        if annots:
            removed += len(annots)
            annotations.update(_number(ref) for ref in annots)
    if annotations:
        for obj in pdf.objects:
            if isinstance(obj, pydyf.Dictionary) and isinstance(obj.get("K"), pydyf.Array):
                obj["K"] = pydyf.Array(
                    k for k in obj["K"] if not (isinstance(k, pydyf.Dictionary)
                                                and k.get("Type") == "/OBJR"
                                                and _number(k.get("Obj")) in annotations))
    return removed


def _number(reference: object) -> int | None:
    """The object number of a pydyf reference (``b"12 0 R"``), or None."""
    text = reference.decode("ascii", "replace") if isinstance(reference, bytes) else reference
    parts = str(text).split()
    if len(parts) == 3 and parts[2] == "R" and parts[0].isdigit():
        return int(parts[0])
    return None


def fixed_document_id(pdf: pydyf.PDF, ident: str) -> None:
    """WeasyPrint writes a random XMP DocumentID for PDF/X; derive it from the content instead."""
    stable = str(uuid.UUID(bytes=hashlib.sha256(ident.encode()).digest()[:16]))
    for obj in pdf.objects:
        if isinstance(obj, pydyf.Stream) and obj.extra.get("Subtype") == "/XML":
            obj.stream = [re.sub(rb"xmp\.did:[0-9a-f-]{36}", f"xmp.did:{stable}".encode(),
                                 item if isinstance(item, bytes) else str(item).encode())
                          for item in obj.stream]


def _registration_space(pdf: pydyf.PDF) -> str:
    """Add the registration colour (``/Separation /All``: on every plate, as printers and
    their RIPs expect crop marks) to the pages' colour spaces; returns its resource name."""
    name = "Registration"
    space = pydyf.Array(["/Separation", "/All", "/DeviceCMYK", pydyf.Dictionary({
        "FunctionType": 2, "Domain": pydyf.Array([0, 1]), "N": 1,
        "C0": pydyf.Array([0, 0, 0, 0]), "C1": pydyf.Array([1, 1, 1, 1])})])
    done: set[int] = set()
    for number in pdf.pages["Kids"][::3]:
        resources = _resolve(pdf, pdf.objects[number].get("Resources"))
        if resources is None or id(resources) in done:
            continue
        done.add(id(resources))
        spaces = _resolve(pdf, resources.get("ColorSpace"))
        if spaces is None:
            spaces = resources["ColorSpace"] = pydyf.Dictionary()
        spaces[name] = space
    return name


def _resolve(pdf: pydyf.PDF, value: object) -> Any:
    number = _number(value) if isinstance(value, (str, bytes)) else None
    return pdf.objects[number] if number is not None else value


def _crop_marks(stream: pydyf.Stream, left: float, bottom: float, right: float, top: float,
                registration: str) -> None:
    """Hairlines in the registration colour at the trim lines, outside the bleed area."""
    offset, length = MARK_OFFSET_MM * MM, MARK_LENGTH_MM * MM
    stream.push_state()
    stream.set_line_width(0.25)
    stream.stream.append(f"/{registration} CS 1 SCN".encode())  # on every plate
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
