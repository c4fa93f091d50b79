"""Mailing, feedback: what makes a one-page form small and readable everywhere — its field
font cut to the characters a filler types, and an appearance stream for every pre-filled
value (so no viewer has to make one: ``NeedAppearances`` is off)."""

from __future__ import annotations

import io
import re

# What a person filling in the form may type: Latin-1, Latin Extended-A (Welsh, Irish and
# most European names), general punctuation, the euro and the multiplication sign.
KEPT = [*range(0x20, 0x7F), *range(0xA0, 0x180), *range(0x2010, 0x2027), 0x20AC, 0x00D7,
        0x0174, 0x0175, 0x0176, 0x0177, 0x1E80, 0x1E81, 0x1E82, 0x1E83, 0x1E84, 0x1E85]
DA_RE = re.compile(r"(?P<colour>[\d.]+ [\d.]+ [\d.]+) rg\s+/(?P<font>\S+) (?P<size>[\d.]+) Tf")
PADDING = 2.0  # points between a field's edge and its text, as viewers draw it


def subset_field_font(writer, font_name: str) -> int:
    """Cut the embedded TrueType font that the form's fields are set in (WeasyPrint embeds
    it whole: 3,026 glyphs of Lato, 300 KB) to :data:`KEPT` and the glyphs the page already
    shows, keeping glyph ids (the page's text and the ToUnicode map stay right). Returns the
    font program's size after."""
    from fontTools import subset
    from fontTools.ttLib import TTFont
    from pypdf.generic import NameObject

    fonts = writer._root_object["/AcroForm"]["/DR"]["/Font"]
    font = fonts[font_name].get_object()
    descendant = font["/DescendantFonts"][0].get_object()
    stream = descendant["/FontDescriptor"]["/FontFile2"].get_object()
    tt = TTFont(io.BytesIO(stream.get_data()))
    order = tt.getGlyphOrder()
    used = {gid for gid in _shown_glyphs(writer, font_name) if gid < len(order)}
    ids = {glyph: n for n, glyph in enumerate(order)}
    wanted = set(KEPT)
    typed = {ids[glyph]: code for code, glyph in tt.getBestCmap().items() if code in wanted}
    options = subset.Options()
    options.retain_gids = True
    options.notdef_outline = True
    options.hinting = False  # a form is read on screen, where viewers hint for themselves
    options.layout_features = []  # the page is shaped already; fillers do not shape
    options.drop_tables += ["DSIG", "GPOS", "GSUB", "GDEF", "kern"]
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=KEPT, gids=sorted(used))
    subsetter.subset(tt)
    tt.recalcTimestamp = False  # head.modified stays the font's: the same form, the same bytes
    out = io.BytesIO()
    tt.save(out)
    data = out.getvalue()
    stream.set_data(data)
    stream[NameObject("/Length1")] = type(stream["/Length1"])(len(data))
    kept = sorted(used | set(typed) | {0})
    _trim_widths(descendant, kept)
    _trim_unicode_map(font, set(kept), typed)
    return len(data)


def _trim_widths(descendant, kept: list[int]) -> None:
    """/W for the kept glyphs only (WeasyPrint lists all 3,026 of a whole font: 14 KB)."""
    from pypdf.generic import ArrayObject, NameObject, NumberObject

    widths = {}
    entries = list(descendant.get("/W", []))
    i = 0
    while i < len(entries):
        first = int(entries[i])
        if isinstance(entries[i + 1], list):
            for n, width in enumerate(entries[i + 1]):
                widths[first + n] = width
            i += 2
        else:
            for gid in range(first, int(entries[i + 1]) + 1):
                widths[gid] = entries[i + 2]
            i += 3
    out = ArrayObject()
    for gid in kept:
        if gid in widths:
            if out and int(out[-2]) + len(out[-1]) == gid:
                out[-1].append(widths[gid])
            else:
                out += [NumberObject(gid), ArrayObject([widths[gid]])]
    descendant[NameObject("/W")] = out


def _trim_unicode_map(font, kept: set[int], typed: dict[int, int]) -> None:
    """The ToUnicode map of the kept glyphs only, and of every glyph a pre-filled value or a
    filler may show (``typed``: glyph id → code point; WeasyPrint maps only those laid out)."""
    unicode_map = font.get("/ToUnicode")
    if unicode_map is None:
        return
    stream = unicode_map.get_object()
    data = stream.get_data()
    mapping = {}
    for section in re.findall(rb"beginbfchar(.*?)endbfchar", data, re.S):
        for glyph, text in re.findall(rb"<([0-9a-fA-F]{4})>\s*<([0-9a-fA-F]+)>", section):
            mapping[int(glyph, 16)] = text.decode()
    for section in re.findall(rb"beginbfrange(.*?)endbfrange", data, re.S):
        for low, high, text in re.findall(
                rb"<([0-9a-fA-F]{4})>\s*<([0-9a-fA-F]{4})>\s*<([0-9a-fA-F]+)>", section):
            base = int(text, 16)
            for n, gid in enumerate(range(int(low, 16), int(high, 16) + 1)):
                mapping[gid] = f"{base + n:04X}"
    for gid, code in typed.items():
        mapping.setdefault(gid, code.to_bytes(4 if code > 0xFFFF else 2, "big").hex().upper()
                           if code <= 0xFFFF else chr(code).encode("utf-16-be").hex().upper())
    pairs = [(gid, mapping[gid]) for gid in sorted(kept) if gid in mapping]
    head = re.split(rb"\d+\s+begincodespacerange", data, maxsplit=1)[0]
    body = [head, b"1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n"]
    for start in range(0, len(pairs), 100):  # at most 100 entries a section
        chunk = pairs[start:start + 100]
        body.append(f"{len(chunk)} beginbfchar\n".encode())
        body += [f"<{gid:04x}> <{text}>\n".encode() for gid, text in chunk]
        body.append(b"endbfchar\n")
    body.append(b"endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n")
    stream.set_data(b"".join(body))


def _shown_glyphs(writer, font_name: str) -> set[int]:
    """The glyph ids the pages show in the font ``font_name`` (a resource name): its text
    in the page content, two bytes a glyph (Identity-H)."""
    found: set[int] = set()
    token = re.compile(rb"/(\S+)\s+[\d.]+\s+Tf|<([0-9a-fA-F]*)>")
    for page in writer.pages:
        contents = page.get_contents()
        current = None
        for match in token.finditer(contents.get_data() if contents is not None else b""):
            if match[1] is not None:
                current = match[1].decode("latin-1")
            elif current == font_name.lstrip("/"):
                digits = match[2]
                found |= {int(digits[i:i + 4], 16) for i in range(0, len(digits) - 3, 4)}
    return found


class Appearances:
    """Appearance streams of the pre-filled fields, one stream object each, rewritten for
    every recipient's copy (the form is one writer, see ``feedback.personal_forms``)."""

    def __init__(self, writer, annotations):
        from fontTools.ttLib import TTFont
        from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

        self.annotations = annotations
        self.streams = {}
        fonts = writer._root_object["/AcroForm"]["/DR"]["/Font"]
        self.glyphs: dict[str, tuple[dict[int, int], float]] = {}
        for annot in annotations:
            match = DA_RE.search(str(annot.get("/DA", "")))
            if match is None:
                continue
            name = match["font"]
            if name not in self.glyphs:
                font = fonts[f"/{name}"].get_object()
                descendant = font["/DescendantFonts"][0].get_object()
                tt = TTFont(io.BytesIO(descendant["/FontDescriptor"]["/FontFile2"]
                                       .get_object().get_data()))
                order = tt.getGlyphOrder()
                ids = {glyph: n for n, glyph in enumerate(order)}
                self.glyphs[name] = ({code: ids[glyph] for code, glyph
                                      in tt.getBestCmap().items()}, 1000 / tt["head"].unitsPerEm)
            x0, y0, x1, y1 = (float(v) for v in annot["/Rect"])  # WeasyPrint: top first
            x0, x1, y0, y1 = min(x0, x1), max(x0, x1), min(y0, y1), max(y0, y1)
            stream = DecodedStreamObject()
            stream.update({
                NameObject("/Type"): NameObject("/XObject"),
                NameObject("/Subtype"): NameObject("/Form"),
                NameObject("/BBox"): _array([0, 0, x1 - x0, y1 - y0]),
                NameObject("/Resources"): DictionaryObject({NameObject("/Font"): DictionaryObject(
                    {NameObject(f"/{name}"): fonts.raw_get(f"/{name}")})})})
            reference = writer._add_object(stream)
            annot[NameObject("/AP")] = DictionaryObject({NameObject("/N"): reference})
            self.streams[id(annot)] = (stream, match, (x1 - x0, y1 - y0),
                                       int(annot.get("/Ff", 0)) & (1 << 12))

    def write(self, values: dict[str, str]) -> None:
        """Set every pre-filled field's appearance to show its value."""
        for annot in self.annotations:
            entry = self.streams.get(id(annot))
            if entry is None:
                continue
            stream, da, (width, height), multiline = entry
            text = values.get(str(annot["/T"]), "")
            stream.set_data(self._content(text, da, height, bool(multiline)))

    def _content(self, text: str, da, height: float, multiline: bool) -> bytes:
        cmap, _scale = self.glyphs[da["font"]]
        size = float(da["size"])
        lines = text.splitlines() if multiline else [" ".join(text.split())]
        leading = size * 1.2
        if multiline:
            top = height - PADDING - size
        else:
            top = (height - size) / 2 + size * 0.22  # the baseline of a centred line
        out = [b"/Tx BMC", b"q", b"BT", f"{da['colour']} rg".encode(),
               f"/{da['font']} {size:g} Tf".encode(), f"{PADDING:g} {top:.2f} Td".encode()]
        for number, line in enumerate(lines):
            if number:
                out.append(f"0 {-leading:.2f} Td".encode())
            glyphs = "".join(f"{cmap.get(ord(c), 0):04x}" for c in line)
            out.append(f"<{glyphs}> Tj".encode())
        out += [b"ET", b"Q", b"EMC"]
        return b"\n".join(out)


def _array(values):
    from pypdf.generic import ArrayObject, FloatObject

    return ArrayObject(FloatObject(round(v, 3)) for v in values)
