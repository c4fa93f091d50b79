"""Assemble stage, bundles: one embedded font program per face instead of one per briefing.

WeasyPrint subsets every face it embeds with HarfBuzz keeping the original glyph ids
(``RETAIN_GIDS``): a Type0 font with an Identity CIDToGIDMap, whose CIDs are the face's own
glyph ids. So the subsets of one face that several briefings bring into a bundle agree on what
every glyph id is, and can be merged into one font program holding the union of their glyphs.
Subsets that also agree on every width and text they share get one font dictionary (one
``/W`` array, one ``/ToUnicode`` CMap); those that do not (WeasyPrint rounds widths at the
size it lays text out in, so briefings can disagree by a unit, and the text is positioned
with those widths) keep their own, on the shared program. Every part's font dictionary is
then pointed at its merged font and the old subsets are dropped.

Subsets are only merged when they are provably the same face: the same name after the subset
tag, the same descriptor metrics, the same identifying tables ('name', units per em, font
revision, ...) and, for every glyph id both contain, the same outline, advance width and
Unicode text. Anything else (a clash, an unusual font, a missing-glyph encoding) stays as it
was: a bundle a little larger is better than a glyph drawn wrong.
"""

from __future__ import annotations

import array
import hashlib
import io
import logging
import re
import struct
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeAlias, TypeVar

from fontTools.ttLib import TTFont, TTLibError, newTable
from fontTools.ttLib.sfnt import SFNTReader, SFNTWriter
from pypdf import PdfWriter
from pypdf.errors import PyPdfError
from pypdf.generic import (
    ArrayObject,
    DictionaryObject,
    FloatObject,
    IndirectObject,
    NameObject,
    NumberObject,
    StreamObject,
)

LOG = logging.getLogger(__name__)
# What a glyph draws (outline bytes, its components' keys, its metrics), and what identifies a
# face (table digests and header fields): compared for equality, never taken apart
GlyphKey: TypeAlias = tuple[object, ...]
Signature: TypeAlias = tuple[object, ...]
SUBSET_NAME = re.compile(r"^/?[A-Z]{6}\+(.+)$")
CMAP_HEAD = b"""/CIDInit /ProcSet findresource begin
12 dict begin
begincmap
/CIDSystemInfo
<< /Registry (Adobe)
/Ordering (UCS)
/Supplement 0
>> def
/CMapName /Adobe-Identity-UCS def
/CMapType 2 def
1 begincodespacerange
<0000> <ffff>
endcodespacerange
"""
CMAP_TAIL = b"""endcmap
CMapName currentdict /CMap defineresource pop
end
end"""
# Tables whose bytes must be equal for two subsets to be the same face (HarfBuzz copies
# them unchanged); 'head', 'OS/2' and 'hhea' carry per-subset values and are compared by field.
SAME_TABLES = ("name", "gasp", "cvt ", "fpgm", "prep")
# Tables with an entry per glyph that are not rebuilt here: left out of a merged program.
PER_GLYPH_TABLES = frozenset({"hdmx", "LTSH", "VDMX", "DSIG"})


class Unmergeable(Exception):
    """A font this module does not know how to merge safely: it is left as it is."""


@dataclass
class _Program:
    """One embedded TrueType subset (a ``/FontFile2`` stream): its tables, read once.

    Glyph ids below ``limit`` (the last glyph id used, plus one) are the face's own. Past it
    come the components of composite glyphs that lie beyond the last glyph used: WeasyPrint's
    second HarfBuzz pass, which drops the unused tail, numbers them anew (in each subset
    differently). So glyphs are compared by :meth:`key`, which names components by content.
    """

    tables: dict[str, bytes]
    sfnt_version: bytes
    glyphs: dict[int, bytes]  # glyph id -> outline bytes, for the glyphs with an outline
    metrics: list[tuple[int, int]]  # per glyph id: (advance width, left side bearing)
    signature: Signature  # tables and fields HarfBuzz keeps as they are
    limit: int = 0
    keys: dict[int, GlyphKey] = field(default_factory=dict)

    def key(self, gid: int) -> GlyphKey:
        """What glyph ``gid`` draws: its outline with each component's glyph id replaced by
        the component's own key, and its metrics."""
        if gid not in self.keys:
            data = self.glyphs.get(gid, b"")
            refs = _components(data)
            blank = bytearray(data)
            for offset, _ in refs:
                blank[offset:offset + 2] = b"\0\0"
            self.keys[gid] = (bytes(blank), tuple(self.key(c) for _, c in refs),
                              self.metrics[gid] if gid < len(self.metrics) else None)
        return self.keys[gid]


def _components(data: bytes) -> list[tuple[int, int]]:
    """(offset of the glyph id, glyph id) of each component of a composite glyph."""
    if len(data) < 12 or data[0] < 0x80:  # numberOfContours >= 0: a simple glyph
        return []
    refs, offset = [], 10
    while True:
        flags, gid = struct.unpack_from(">HH", data, offset)
        refs.append((offset + 2, gid))
        offset += 4 + (4 if flags & 0x0001 else 2)  # ARG_1_AND_2_ARE_WORDS
        offset += 2 if flags & 0x0008 else 4 if flags & 0x0040 else 8 if flags & 0x0080 else 0
        if not flags & 0x0020:  # MORE_COMPONENTS
            return refs


@dataclass
class _Subset:
    """One Type0 font dictionary of one part of the bundle, with what it is made of."""

    ref: IndirectObject  # the Type0 font dictionary
    face: str  # BaseFont without the subset tag
    parts: tuple[IndirectObject, ...]  # the objects it brought: CIDFont, descriptor, file, ...
    descriptor: DictionaryObject
    file_id: int
    program: _Program
    widths: dict[int, float]
    text: dict[int, str]  # glyph id -> UTF-16BE hex of its text
    signature: Signature  # the program's, plus name and descriptor metrics
    bbox: tuple[float, float, float, float]  # the descriptor's FontBBox
    cap_height: float

    @property
    def present(self) -> set[int]:
        """The face's glyph ids this subset defines: the used ones (some have no outline,
        e.g. space) and those with an outline before ``limit`` (unused components)."""
        limit = self.program.limit
        return set(self.widths) | {gid for gid in self.program.glyphs if gid < limit}

    def glyph(self, gid: int) -> GlyphKey:
        return self.program.key(gid)


Item = TypeVar("Item")
Group = TypeVar("Group")


def _greedy(items: Iterable[Item], make: Callable[[Item], Group],
            accepts: Callable[[Group, Item], bool], add: Callable[[Group, Item], None]
            ) -> list[Group]:
    """Put each item into the first group that accepts it, or into a new group."""
    groups: list[Group] = []
    for item in items:
        home = next((group for group in groups if accepts(group, item)), None)
        if home is None:
            home = make(item)
            groups.append(home)
        add(home, item)
    return groups


@dataclass
class _Family:
    """Subsets of one face whose programs agree on every glyph they share: one program."""

    signature: Signature
    subsets: list[_Subset] = field(default_factory=list)
    glyphs: dict[int, GlyphKey] = field(default_factory=dict)

    def accepts(self, subset: _Subset) -> bool:
        return subset.signature == self.signature and all(
            self.glyphs.get(gid, glyph) == glyph
            for gid in subset.present for glyph in (subset.glyph(gid),))

    def add(self, subset: _Subset) -> None:
        self.subsets.append(subset)
        for gid in subset.present:
            self.glyphs.setdefault(gid, subset.glyph(gid))


@dataclass
class _Font:
    """Subsets of one family that agree on the width and text of every glyph they share:
    one font dictionary."""

    subsets: list[_Subset] = field(default_factory=list)
    widths: dict[int, float] = field(default_factory=dict)
    text: dict[int, str] = field(default_factory=dict)

    def accepts(self, subset: _Subset) -> bool:
        return (all(self.widths.get(gid, width) == width
                    for gid, width in subset.widths.items())
                and all(self.text.get(gid, text) == text for gid, text in subset.text.items()))

    def add(self, subset: _Subset) -> None:
        self.subsets.append(subset)
        self.widths.update(subset.widths)
        self.text.update(subset.text)


def merge_font_subsets(writer: PdfWriter) -> int:
    """Merge the subsets of each face in ``writer`` into one font program; returns how many
    embedded font programs were merged away. Call it after every page was copied in."""
    programs: dict[int, _Program] = {}
    faces: dict[str, list[_Subset]] = {}
    for ref, font in _type0_fonts(writer):
        try:
            subset = _subset(ref, font, programs)
        except (Unmergeable, PyPdfError, TTLibError, ValueError, KeyError, IndexError,
                struct.error) as error:
            LOG.debug("font %s (object %d) left as it is: %s", font.get("/BaseFont"),
                      ref.idnum, error)
            continue
        faces.setdefault(subset.face, []).append(subset)
    for subsets in faces.values():
        for subset in subsets:
            subset.program.limit = max(subset.program.limit, max(subset.widths) + 1)
    replaced: dict[int, IndirectObject] = {}
    candidates: set[int] = set()
    merged_away = 0
    for face in sorted(faces):
        families = _greedy(faces[face], lambda s: _Family(s.signature), _Family.accepts,
                           _Family.add)
        if len(families) > 1:
            LOG.info("font %s: %d subsets disagree on some glyphs, kept as %d programs", face,
                     len(faces[face]), len(families))
        for family in families:
            files = {subset.file_id for subset in family.subsets}
            if len(files) < 2:
                continue
            program = _write_program(writer, family.subsets)
            groups = _greedy(family.subsets, lambda s: _Font(), _Font.accepts, _Font.add)
            to_unicode = _shared_to_unicode(writer, family.subsets) if len(groups) > 1 else None
            for group in groups:
                new = _write_font(writer, face, program, family.subsets, group, to_unicode)
                for subset in group.subsets:
                    replaced[subset.ref.idnum] = new
                    candidates.add(subset.ref.idnum)
                    candidates.update(part.idnum for part in subset.parts)
            merged_away += len(files) - 1
    if replaced:
        _repoint_and_drop(writer, replaced, candidates)
    return merged_away


# -- reading -------------------------------------------------------------------------------------

def _type0_fonts(writer: PdfWriter) -> Iterator[tuple[IndirectObject, DictionaryObject]]:
    for index, obj in enumerate(writer._objects):
        if (isinstance(obj, DictionaryObject) and not isinstance(obj, StreamObject)
                and _value(obj, "/Type") == "/Font" and _value(obj, "/Subtype") == "/Type0"):
            yield IndirectObject(index + 1, 0, writer), obj


def _value(dictionary: DictionaryObject, key: str, default: Any = None) -> Any:
    """``dictionary[key]`` with indirect objects resolved (``.get`` does not resolve)."""
    return dictionary[key] if key in dictionary else default


def _subset(ref: IndirectObject, font: DictionaryObject, programs: dict[int, _Program]
            ) -> _Subset:
    """What one Type0 font is made of, or Unmergeable if it is not WeasyPrint's usual
    TrueType subset with Identity encodings (e.g. the missing-glyph CMap encoding)."""
    match = SUBSET_NAME.match(str(_value(font, "/BaseFont", "")))
    if match is None:
        raise Unmergeable("not a tagged subset")
    if _value(font, "/Encoding") != "/Identity-H":
        raise Unmergeable(f"encoding {_value(font, '/Encoding')}")
    kids = _value(font, "/DescendantFonts")
    to_unicode = font.raw_get("/ToUnicode") if "/ToUnicode" in font else None
    if kids is None or len(kids) != 1 or not isinstance(to_unicode, IndirectObject):
        raise Unmergeable("no single descendant font or no ToUnicode stream")
    cid_ref = kids.get_object()[0]
    cid = cid_ref.get_object()
    if (_value(cid, "/Subtype") != "/CIDFontType2"
            or _value(cid, "/CIDToGIDMap") != "/Identity" or "/DW" in cid
            or not isinstance(cid_ref, IndirectObject)):
        raise Unmergeable("not a TrueType CID font with an identity glyph map")
    descriptor_ref = cid.raw_get("/FontDescriptor")
    descriptor: Any = descriptor_ref.get_object()
    file_ref = descriptor.raw_get("/FontFile2") if "/FontFile2" in descriptor else None
    if not isinstance(file_ref, IndirectObject) or not isinstance(descriptor_ref,
                                                                  IndirectObject):
        raise Unmergeable("no embedded TrueType program")
    parts = [cid_ref, descriptor_ref, file_ref, to_unicode]
    if isinstance(descriptor.raw_get("/CIDSet") if "/CIDSet" in descriptor else None,
                  IndirectObject):
        parts.append(descriptor.raw_get("/CIDSet"))
    widths = _widths(_value(cid, "/W", ArrayObject()))
    if not widths:
        raise Unmergeable("no glyph used")
    if file_ref.idnum not in programs:
        file_stream: Any = file_ref.get_object()
        programs[file_ref.idnum] = _program(file_stream.get_data())
    program = programs[file_ref.idnum]
    signature = (match.group(1), str(_value(descriptor, "/FontFamily")),
                 int(_value(descriptor, "/Flags", 0)) & ~1,  # FixedPitch: recomputed
                 *(float(_value(descriptor, key, 0)) for key in
                   ("/ItalicAngle", "/Ascent", "/Descent", "/StemV", "/StemH")),
                 program.signature)
    bbox = tuple(float(value.get_object()) for value in descriptor["/FontBBox"])
    if len(bbox) != 4:
        raise Unmergeable("FontBBox is not four numbers")
    cmap_stream: Any = to_unicode.get_object()
    return _Subset(ref, match.group(1), tuple(parts), descriptor, file_ref.idnum, program,
                   widths, _cmap_text(cmap_stream.get_data()), signature, bbox,
                   float(_value(descriptor, "/CapHeight", 0)))


def _program(data: bytes) -> _Program:
    reader = SFNTReader(io.BytesIO(data))
    tables = {str(tag): reader[tag] for tag in reader.keys()}
    if not {"head", "hhea", "hmtx", "maxp", "loca", "glyf"} <= set(tables):
        raise Unmergeable("not a glyf-based TrueType font")
    if {"CFF ", "fvar", "gvar", "EBDT", "CBDT", "COLR", "SVG "} & set(tables):
        raise Unmergeable("variable, bitmap or colour font")
    head, maxp, hhea = tables["head"], tables["maxp"], tables["hhea"]
    count, = struct.unpack(">H", maxp[4:6])
    short_loca = struct.unpack(">h", head[50:52])[0] == 0
    loca = array.array("H" if short_loca else "I", tables["loca"][:(count + 1) * (2 if short_loca
                                                                              else 4)])
    if sys.byteorder == "little":
        loca.byteswap()
    if len(loca) != count + 1:
        raise Unmergeable("short 'loca' table")
    scale = 2 if short_loca else 1
    glyf = tables["glyf"]
    glyphs = {gid: glyf[loca[gid] * scale:loca[gid + 1] * scale] for gid in range(count)
              if loca[gid + 1] > loca[gid]}
    if any(gid >= count for data in glyphs.values() for _, gid in _components(data)):
        raise Unmergeable("a composite glyph refers to a glyph the font does not have")
    long_count, = struct.unpack(">H", hhea[34:36])
    hmtx = tables["hmtx"]
    pairs = struct.unpack(f">{2 * long_count}H", hmtx[:4 * long_count])
    advances = list(pairs[::2])
    bearings = [b - 65536 if b > 32767 else b for b in pairs[1::2]]
    rest = count - long_count
    bearings += struct.unpack(f">{rest}h", hmtx[4 * long_count:4 * long_count + 2 * rest])
    advances += [advances[-1]] * rest
    os2 = tables.get("OS/2", b"")
    signature = (tuple(sorted(set(tables) - PER_GLYPH_TABLES)),
                 head[4:8], head[18:20], head[44:46],  # fontRevision, unitsPerEm, macStyle
                 hhea[4:10], os2[4:8], os2[62:64],  # ascender, descender, lineGap; weight,
                 tables.get("post", b"")[:32],  # width and selection classes; italic angle
                 *(hashlib.sha1(tables[tag], usedforsecurity=False).digest()
                   for tag in SAME_TABLES if tag in tables))
    return _Program(tables, reader.sfntVersion, glyphs, list(zip(advances, bearings)), signature)


def _widths(array: Iterable[Any]) -> dict[int, float]:
    """A CIDFont's ``/W`` array (``c [w1 w2 ...]`` and ``c_first c_last w`` forms)."""
    widths, items, index = {}, [item.get_object() for item in array], 0
    while index < len(items):
        first = int(items[index])
        if isinstance(items[index + 1], ArrayObject):
            for offset, width in enumerate(items[index + 1]):
                widths[first + offset] = float(width)
            index += 2
        else:
            for cid in range(first, int(items[index + 1]) + 1):
                widths[cid] = float(items[index + 2])
            index += 3
    return widths


HEX = rb"<([0-9a-fA-F]+)>"
BFCHAR = re.compile(rb"beginbfchar(.*?)endbfchar", re.S)
BFRANGE = re.compile(rb"beginbfrange(.*?)endbfrange", re.S)
RANGE_ITEM = re.compile(HEX + rb"\s*" + HEX + rb"\s*(?:" + HEX + rb"|\[([^\]]*)\])")


def _cmap_text(data: bytes) -> dict[int, str]:
    """A ToUnicode CMap: glyph id -> UTF-16BE hex of its text (bfchar and bfrange entries)."""
    text: dict[int, str] = {}
    for block in BFCHAR.findall(data):
        pairs = re.findall(HEX, block)
        if len(pairs) % 2:
            raise Unmergeable("odd bfchar block in ToUnicode")
        for source, target in zip(pairs[::2], pairs[1::2]):
            text[int(source, 16)] = target.decode().lower()
    for block in BFRANGE.findall(data):
        for low, high, start, targets in RANGE_ITEM.findall(block):
            low, high = int(low, 16), int(high, 16)
            if targets:
                for offset, target in enumerate(re.findall(HEX, targets)):
                    text[low + offset] = target.decode().lower()
            else:
                # the last UTF-16 unit of the target counts up across the range
                width, value = len(start), int(start, 16)
                for offset in range(high - low + 1):
                    text[low + offset] = f"{value + offset:0{width}x}"
    if b"usecmap" in data or not text:
        raise Unmergeable("ToUnicode CMap this module does not read")
    return text


# -- writing -------------------------------------------------------------------------------------

def _write_program(writer: PdfWriter, subsets: list[_Subset]) -> tuple[bytes, IndirectObject]:
    """The merged font program, stored once."""
    base = max(subsets, key=lambda s: len(s.program.metrics))
    data = _merged_program(base, subsets)
    stream = StreamObject()
    stream.set_data(data)
    stream = stream.flate_encode(level=9)
    stream[NameObject("/Length1")] = NumberObject(len(data))
    return data, writer._add_object(stream)


def _shared_to_unicode(writer: PdfWriter, subsets: list[_Subset]) -> IndirectObject | None:
    """One ToUnicode CMap for the font dictionaries of one program, if they agree on the
    text of every glyph (they differ in widths only): each CMap is about a kilobyte."""
    text: dict[int, str] = {}
    for subset in subsets:
        if any(text.get(gid, value) != value for gid, value in subset.text.items()):
            return None
        text.update(subset.text)
    return _cmap_stream(writer, text)


def _cmap_stream(writer: PdfWriter, text: dict[int, str]) -> IndirectObject:
    stream = StreamObject()
    stream.set_data(_cmap_bytes(text))
    return writer._add_object(stream.flate_encode(level=9))


def _write_font(writer: PdfWriter, face: str, program: tuple[bytes, IndirectObject],
                family: list[_Subset], group: _Font,
                to_unicode: IndirectObject | None) -> IndirectObject:
    """One Type0 font (CIDFont, descriptor, ToUnicode unless one is shared) on the merged
    program, with the widths and text of ``group``. Its subset tag is made from what it
    holds, so fonts with different widths on one program have different names, as
    WeasyPrint names the fonts that share a program."""
    data, file_ref = program
    base = group.subsets[0]
    digest = hashlib.md5(data, usedforsecurity=False)
    digest.update(repr((sorted(group.widths.items()), sorted(group.text.items()))).encode())
    tag = "".join(chr(65 + byte % 26) for byte in digest.digest()[:6])
    name = NameObject(f"/{tag}+{face}")

    descriptor = DictionaryObject(base.descriptor)
    descriptor[NameObject("/FontName")] = name
    descriptor[NameObject("/FontFile2")] = file_ref
    descriptor[NameObject("/FontBBox")] = ArrayObject(
        _number(pick(s.bbox[i] for s in family)) for i, pick in enumerate((min, min, max, max)))
    if "/CapHeight" in descriptor:
        descriptor[NameObject("/CapHeight")] = _number(max(s.cap_height for s in family))
    flags = int(_value(base.descriptor, "/Flags", 0)) & ~1
    if len(group.widths) > 1 and len(set(group.widths.values())) == 1:
        flags |= 1  # FixedPitch, as WeasyPrint sets it
    descriptor[NameObject("/Flags")] = NumberObject(flags)
    if "/CIDSet" in descriptor:  # PDF 1.4 and older: one bit per glyph id used
        bits = bytearray(max(group.widths) // 8 + 1)
        for gid in group.widths:
            bits[gid // 8] |= 0x80 >> (gid % 8)
        cid_set = StreamObject()
        cid_set.set_data(bytes(bits))
        descriptor[NameObject("/CIDSet")] = writer._add_object(cid_set.flate_encode(level=9))

    cid_font: Any = base.parts[0].get_object()
    cid = DictionaryObject(cid_font)
    cid[NameObject("/BaseFont")] = name
    cid[NameObject("/FontDescriptor")] = writer._add_object(descriptor)
    cid[NameObject("/W")] = _w_array(group.widths)

    type0_font: Any = base.ref.get_object()
    type0 = DictionaryObject(type0_font)
    type0[NameObject("/BaseFont")] = name
    type0[NameObject("/DescendantFonts")] = ArrayObject([writer._add_object(cid)])
    type0[NameObject("/ToUnicode")] = to_unicode or _cmap_stream(writer, group.text)
    return writer._add_object(type0)


def _merged_program(base: _Subset, subsets: list[_Subset]) -> bytes:
    """A program with every glyph of the subsets: the face's glyph ids where they are, then
    the renumbered components (see :class:`_Program`), each stored once."""
    tables = {tag: data for tag, data in base.program.tables.items()
              if tag not in PER_GLYPH_TABLES}
    programs = list({id(s.program): s.program for s in subsets}.values())
    owner: dict[int, _Program] = {}
    for subset in subsets:
        for gid in subset.present:
            owner.setdefault(gid, subset.program)
    count = max(p.limit for p in programs)
    glyphs: list[bytes] = [b""] * count
    metrics: list[tuple[int, int]] = [(0, 0)] * count
    where: dict[GlyphKey, int] = {}  # glyph key -> glyph id in the merged program
    for gid in sorted(owner):
        where.setdefault(owner[gid].key(gid), gid)

    def place(program: _Program, gid: int) -> int:
        key = program.key(gid)
        if key not in where:  # a component past the last glyph used: add it at the end
            where[key] = len(glyphs)
            glyphs.append(b"")
            metrics.append(program.metrics[gid])
            glyphs[where[key]] = outline(program, gid)
        return where[key]

    def outline(program: _Program, gid: int) -> bytes:
        data = bytearray(program.glyphs.get(gid, b""))
        for offset, component in _components(bytes(data)):
            struct.pack_into(">H", data, offset, place(program, component))
        return bytes(data) + b"\0" * (len(data) % 2)  # even lengths for a short 'loca'

    for gid in sorted(owner):
        glyphs[gid], metrics[gid] = outline(owner[gid], gid), owner[gid].metrics[gid]
    count = len(glyphs)

    offsets = [0]
    for glyph in glyphs:
        offsets.append(offsets[-1] + len(glyph))
    short_loca = offsets[-1] < 0x20000
    loca = array.array("H" if short_loca else "I",
                       [offset // 2 for offset in offsets] if short_loca else offsets)
    if sys.byteorder == "little":
        loca.byteswap()
    tables["loca"], tables["glyf"] = loca.tobytes(), b"".join(glyphs)

    long_count = count
    while long_count > 1 and metrics[long_count - 1][0] == metrics[long_count - 2][0]:
        long_count -= 1
    tables["hmtx"] = (struct.pack(f">{2 * long_count}H", *(
        value & 0xFFFF for pair in metrics[:long_count] for value in pair))
        + struct.pack(f">{count - long_count}h", *(b for _, b in metrics[long_count:])))

    def field(tag: str, offset: int, fmt: str, pick: Callable[[Iterable[int]], int]) -> None:
        value = pick(struct.unpack_from(fmt, p.tables[tag], offset)[0] for p in programs)
        data = bytearray(tables[tag])
        struct.pack_into(fmt, data, offset, value)
        tables[tag] = bytes(data)

    for offset, pick in ((36, min), (38, min), (40, max), (42, max)):  # head bounding box
        field("head", offset, ">h", pick)
    head = bytearray(tables["head"])
    struct.pack_into(">h", head, 50, 0 if short_loca else 1)  # indexToLocFormat
    tables["head"] = bytes(head)
    for offset, fmt, pick in ((10, ">H", max), (12, ">h", min), (14, ">h", min),
                              (16, ">h", max)):  # advance max, min bearings, max extent
        field("hhea", offset, fmt, pick)
    hhea = bytearray(tables["hhea"])
    struct.pack_into(">H", hhea, 34, long_count)
    tables["hhea"] = bytes(hhea)
    maxp = bytearray(tables["maxp"])
    struct.pack_into(">H", maxp, 4, count)  # numGlyphs
    tables["maxp"] = bytes(maxp)
    if len(maxp) >= 32:  # version 1.0: maxima over the glyphs, for rasterisers
        for offset in range(6, 32, 2):
            field("maxp", offset, ">H", max)
    if "OS/2" in tables and all(len(p.tables.get("OS/2", b"")) >= 68 for p in programs):
        for offset in (42, 46, 50, 54):  # ulUnicodeRange1-4: union
            value = 0
            for p in programs:
                value |= struct.unpack_from(">I", p.tables["OS/2"], offset)[0]
            os2 = bytearray(tables["OS/2"])
            struct.pack_into(">I", os2, offset, value)
            tables["OS/2"] = bytes(os2)
        field("OS/2", 64, ">H", min)  # usFirstCharIndex
        field("OS/2", 66, ">H", max)  # usLastCharIndex
    if "cmap" in tables:
        tables["cmap"] = _merged_cmap(count, programs)
    if "post" in tables and tables["post"][:4] != b"\0\3\0\0":
        # glyph names of the copied glyphs are unknown: a post table without names
        tables["post"] = b"\0\3\0\0" + tables["post"][4:32]
    out = io.BytesIO()
    writer = SFNTWriter(out, len(tables), base.program.sfnt_version)
    for tag in sorted(tables):
        writer[tag] = tables[tag]
    writer.close()
    return out.getvalue()


def _merged_cmap(count: int, programs: list[_Program]) -> bytes:
    """The union of the subsets' character maps, for the face's own glyph ids (PDF readers
    use glyph ids, not the cmap: it is kept so that the embedded font is consistent)."""
    names = TTFont()  # fontTools maps glyph ids to names: any long enough glyph order does
    names.setGlyphOrder([f"glyph{gid:05d}" for gid in
                         range(max(count, *(len(p.metrics) for p in programs)))])
    merged: Any = None  # fontTools' cmap table
    for program in programs:
        table = newTable("cmap")
        table.decompile(program.tables["cmap"], names)
        for subtable in table.tables:
            if hasattr(subtable, "cmap"):
                subtable.cmap = {code: name for code, name in subtable.cmap.items()
                                 if int(name[5:]) < program.limit}
        if merged is None:
            merged = table
            continue
        for subtable in merged.tables:
            twin = table.getcmap(subtable.platformID, subtable.platEncID)
            if twin is not None and hasattr(subtable, "cmap") and hasattr(twin, "cmap"):
                for code, name in twin.cmap.items():
                    subtable.cmap.setdefault(code, name)
    compiled: bytes = merged.compile(names)
    return compiled


def _number(value: float) -> NumberObject | FloatObject:
    return NumberObject(int(value)) if value == int(value) else FloatObject(value)


def _w_array(widths: dict[int, float]) -> ArrayObject:
    """WeasyPrint's form: the first id of each run of consecutive ids, then their widths."""
    array, run = ArrayObject(), ArrayObject()
    for gid in sorted(widths):
        if gid - 1 not in widths:  # (true of the first: a run starts there)
            run = ArrayObject()
            array += [NumberObject(gid), run]
        run.append(_number(widths[gid]))
    return array


def _cmap_bytes(text: dict[int, str]) -> bytes:
    """A ToUnicode CMap in WeasyPrint's layout: bfchar blocks of at most 100 entries."""
    items = sorted(text.items())
    lines = [CMAP_HEAD.rstrip(b"\n")]
    for start in range(0, len(items), 100):
        batch = items[start:start + 100]
        lines.append(f"{len(batch)} beginbfchar".encode())
        lines += [f"<{gid:04x}> <{target}>".encode() for gid, target in batch]
        lines.append(b"endbfchar")
    lines.append(CMAP_TAIL)
    return b"\n".join(lines)


def _repoint_and_drop(writer: PdfWriter, replaced: dict[int, IndirectObject],
                      candidates: set[int]) -> None:
    """Point every reference to a replaced font at its merged font, then drop the old
    fonts' objects that nothing else uses any more (e.g. a program shared with a font that
    was not merged stays)."""

    def visit(obj: Any, found: set[int]) -> None:
        pairs = obj.items() if isinstance(obj, DictionaryObject) else enumerate(obj)
        for key, value in list(pairs):
            if isinstance(value, IndirectObject):
                if value.idnum in replaced:
                    value = obj[key] = replaced[value.idnum]
                found.add(value.idnum)
            elif isinstance(value, (DictionaryObject, ArrayObject)):
                visit(value, found)

    referenced: set[int] = set()
    for index, obj in enumerate(writer._objects):
        if index + 1 not in candidates and isinstance(obj, (DictionaryObject, ArrayObject)):
            visit(obj, referenced)
    keep = candidates & referenced
    pending = list(keep)
    while pending:  # what a kept old object refers to stays too
        found: set[int] = set()
        visit(writer._objects[pending.pop() - 1], found)
        for idnum in (found & candidates) - keep:
            keep.add(idnum)
            pending.append(idnum)
    for idnum in candidates - keep:
        writer._objects[idnum - 1] = None
