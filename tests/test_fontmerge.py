"""Bundles: the subsets of one face that several briefings bring are merged into one font."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest
from conftest import run
from fontTools.pens.recordingPen import DecomposingRecordingPen
from fontTools.ttLib import TTFont
from pypdf import PdfReader, PdfWriter
from pypdf.generic import ArrayObject, DictionaryObject, NameObject, NumberObject, StreamObject

from press.commands import main
from press.pdf import compact, fontmerge

BUNDLE = "performance-pointers-2008-09"
PARTS = ("ni-062-placement-stability", "ni-112-under-18-conceptions")  # final: web and print
FAILURES = Path(__file__).resolve().parent / "failures"


def part_pdf(root: Path, edition: str, slug: str) -> Path:
    return root / "output" / edition / f"{slug}.pdf"


def combine(root: Path, edition: str, merge: bool, tamper=None) -> tuple[bytes, int]:
    """The parts' pages copied into one PDF, as a bundle does, with or without merging."""
    writer = PdfWriter()
    for slug in PARTS:
        for page in PdfReader(part_pdf(root, edition, slug)).pages:
            writer.add_page(page)
    if tamper is not None:
        tamper(writer)
    merged = fontmerge.merge_font_subsets(writer) if merge else 0
    writer.compress_identical_objects(remove_duplicates=True, remove_unreferenced=True)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue(), merged


@pytest.fixture(scope="module")
def combined(built_project, tmp_path_factory):
    """edition -> (PDF without merging, PDF with merging, programs merged away)."""
    folder = tmp_path_factory.mktemp("fontmerge")
    made = {}
    for edition in ("web", "print"):
        paths = []
        for merge in (False, True):
            data, merged = combine(built_project, edition, merge)
            path = folder / f"{edition}-{'merged' if merge else 'plain'}.pdf"
            path.write_bytes(data)
            paths.append(path)
        made[edition] = (*paths, merged)
    return made


def fonts(pdf: Path) -> list[tuple[str, str, str, str, str]]:
    """pdffonts: (name, encoding, emb, sub, uni) per font dictionary."""
    rows = []
    for line in run("pdffonts", pdf).splitlines()[2:]:
        if line.strip():
            cells = line.split()
            rows.append((cells[0], cells[-6], *cells[-5:-2]))
    return rows


def programs(pdf: Path) -> dict[str, set[int]]:
    """Face (name without the subset tag) -> object numbers of its embedded programs."""
    found: dict[str, set[int]] = {}
    for page in PdfReader(pdf).pages:
        for font in page["/Resources"].get("/Font", {}).values():
            font = font.get_object()
            descriptor = font["/DescendantFonts"][0].get_object()["/FontDescriptor"]
            face = str(font["/BaseFont"]).split("+", 1)[1]
            found.setdefault(face, set()).add(descriptor.raw_get("/FontFile2").idnum)
    return found


def pixels(pdf: Path, page: int, name: str, tmp_path: Path) -> bytes:
    """Page ``page`` (from 1) rendered by poppler at 100 dpi, as raw PPM bytes."""
    run("pdftoppm", "-r", "100", "-f", str(page), "-l", str(page), pdf, tmp_path / name)
    return next(tmp_path.glob(f"{name}-*.ppm")).read_bytes()


def same_pixels(left: Path, left_page: int, right: Path, right_page: int, tmp_path: Path,
                label: str) -> bool:
    a = pixels(left, left_page, f"{label}-a", tmp_path)
    b = pixels(right, right_page, f"{label}-b", tmp_path)
    if a != b:  # for a human to look at
        FAILURES.mkdir(exist_ok=True)
        for name in (f"{label}-a", f"{label}-b"):
            shutil.copy(next(tmp_path.glob(f"{name}-*.ppm")), FAILURES / f"fontmerge-{name}.ppm")
    return a == b


# -- one program per face --------------------------------------------------------------------------

@pytest.mark.parametrize("edition", ["web", "print"])
def test_each_face_is_embedded_once(combined, edition):
    plain, merged, count = combined[edition]
    before, after = programs(plain), programs(merged)
    assert set(before) == set(after) and len(after) >= 4  # Lato in several weights
    assert any(len(numbers) > 1 for numbers in before.values())  # every part its own subset
    assert all(len(numbers) == 1 for numbers in after.values()), after
    assert count == sum(len(n) for n in before.values()) - len(after)
    rows = fonts(merged)
    assert rows and all(row[1:] == ("Identity-H", "yes", "yes", "yes") for row in rows), rows
    assert {row[0].split("+", 1)[1] for row in rows} == set(after)
    check = run("qpdf", "--check", merged)
    assert "No syntax or stream encoding errors" in check and "WARNING" not in check
    assert merged.stat().st_size < plain.stat().st_size - 30_000  # programs of ~5-8 KB each


@pytest.mark.parametrize("edition", ["web", "print"])
def test_merged_pdf_shows_the_same_text_and_glyphs(combined, built_project, edition, tmp_path):
    plain, merged, _ = combined[edition]
    plain_pages, merged_pages = PdfReader(plain).pages, PdfReader(merged).pages
    assert len(plain_pages) == len(merged_pages)
    for index, (a, b) in enumerate(zip(plain_pages, merged_pages)):
        assert a.extract_text() == b.extract_text(), f"page {index + 1}"
    # a text-heavy page of each part: the same pixels as in the part's own PDF
    first = 1
    for slug in PARTS:
        own = part_pdf(built_project, edition, slug)
        count = len(PdfReader(own).pages)
        assert same_pixels(own, 2, merged, first + 1, tmp_path, f"{edition}-{slug}")
        first += count


def glyph_outlines(data: bytes, gids) -> dict[int, list]:
    """Each glyph's outline with composite glyphs drawn out (components resolved)."""
    font = TTFont(io.BytesIO(data))
    glyph_set, order = font.getGlyphSet(), font.getGlyphOrder()
    outlines = {}
    for gid in gids:
        pen = DecomposingRecordingPen(glyph_set)
        glyph_set[order[gid]].draw(pen)
        outlines[gid] = (pen.value, font["hmtx"][order[gid]][0])
    return outlines


def merged_outlines_match_the_parts(merged_pdf: Path, part_pdfs) -> int:
    """Every glyph a part uses draws the same outline (composites drawn out) with the same
    advance in the merged program; returns how many glyphs were compared."""
    merged_programs = {}
    for page in PdfReader(merged_pdf).pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            cid = font["/DescendantFonts"][0].get_object()
            face = str(font["/BaseFont"]).split("+", 1)[1]
            merged_programs[face] = cid["/FontDescriptor"]["/FontFile2"].get_data()
    checked = 0
    for part in part_pdfs:
        reader = PdfReader(part) if isinstance(part, Path) else part
        for _, font in fontmerge._type0_fonts(reader) if isinstance(reader, PdfWriter) else [
                (None, f.get_object()) for page in reader.pages
                for f in page["/Resources"]["/Font"].values()]:
            cid = font["/DescendantFonts"][0].get_object()
            used = set(fontmerge._widths(cid["/W"]))
            face = str(font["/BaseFont"]).split("+", 1)[1]
            own = glyph_outlines(cid["/FontDescriptor"]["/FontFile2"].get_data(), used)
            assert glyph_outlines(merged_programs[face], used) == own, f"{part} {face}"
            checked += len(used)
    return checked


def test_every_glyph_keeps_its_outline(combined, built_project):
    parts = [part_pdf(built_project, "web", slug) for slug in PARTS]
    assert merged_outlines_match_the_parts(combined["web"][1], parts) > 300


def test_components_numbered_differently_in_each_subset_still_draw_the_same(built_project,
                                                                          tmp_path):
    """WeasyPrint's second subsetting pass renumbers the components that lie past the last
    glyph used, so the same accent can have another glyph id in each part. Here the last
    part's Lato uses one glyph id more (an empty glyph), which moves its components up."""
    def tamper(writer):
        font, stream = _lato_programs(writer)[-1]
        cid = font["/DescendantFonts"][0].get_object()
        ttfont = TTFont(io.BytesIO(stream.get_data()), lazy=True, recalcBBoxes=False)
        order = list(ttfont.getGlyphOrder())
        limit = max(fontmerge._widths(cid["/W"])) + 1
        assert limit < len(order), "the sample's Lato has components past the last glyph"
        glyf = ttfont["glyf"]
        for name in order:  # composites name their components: renumbered when saved
            if getattr(glyf.glyphs[name], "data", b"")[:2] == b"\xff\xff":  # others: as they are
                glyf[name].expand(glyf)
        glyf["spare"] = glyf[order[0]].__class__()  # an empty glyph
        ttfont["hmtx"]["spare"] = (200, 0)
        new_order = order[:limit] + ["spare"] + order[limit:]
        ttfont.setGlyphOrder(new_order)
        glyf.glyphOrder = new_order
        out = io.BytesIO()
        ttfont.save(out)
        stream.set_data(out.getvalue())
        stream[NameObject("/Length1")] = NumberObject(len(out.getvalue()))
        cid[NameObject("/W")] = ArrayObject(
            [*cid["/W"], NumberObject(limit), ArrayObject([NumberObject(200)])])

    data, _ = combine(built_project, "web", True, tamper)
    pdf = tmp_path / "renumbered.pdf"
    pdf.write_bytes(data)
    assert len(programs(pdf)["Lato"]) == 1
    parts = PdfWriter()  # the tampered parts again, for their own outlines
    for slug in PARTS:
        for page in PdfReader(part_pdf(built_project, "web", slug)).pages:
            parts.add_page(page)
    tamper(parts)
    assert merged_outlines_match_the_parts(pdf, [parts]) > 100


# -- what is not merged ----------------------------------------------------------------------------

def _lato_programs(writer: PdfWriter):
    """(Type0 font, its FontFile2 stream) of every regular Lato subset, part by part."""
    found = []
    for _, font in fontmerge._type0_fonts(writer):
        if str(font["/BaseFont"]).endswith("+Lato"):
            cid = font["/DescendantFonts"][0].get_object()
            found.append((font, cid["/FontDescriptor"]["/FontFile2"]))
    return found


def test_a_different_font_with_the_same_name_is_not_merged(built_project, tmp_path):
    """The last part's "Lato" has one glyph drawn differently (the only difference): it
    keeps its own program; the other parts' subsets are still merged."""
    def tamper(writer):
        font, stream = _lato_programs(writer)[-1]
        ttfont = TTFont(io.BytesIO(stream.get_data()), lazy=True, recalcBBoxes=False)
        order = ttfont.getGlyphOrder()
        used = sorted(fontmerge._widths(font["/DescendantFonts"][0].get_object()["/W"]))
        glyph = next(ttfont["glyf"][order[gid]] for gid in used
                     if ttfont["glyf"][order[gid]].numberOfContours > 0)
        glyph.coordinates[0] = (glyph.coordinates[0][0] + 40, glyph.coordinates[0][1])
        out = io.BytesIO()
        ttfont.save(out)
        new = StreamObject()
        new.set_data(out.getvalue())
        new[NameObject("/Length1")] = NumberObject(len(out.getvalue()))
        writer._objects[stream.indirect_reference.idnum - 1] = new
        new.indirect_reference = stream.indirect_reference

    data, _ = combine(built_project, "web", True, tamper)
    pdf = tmp_path / "tampered.pdf"
    pdf.write_bytes(data)
    assert len(programs(pdf)["Lato"]) == 2  # the first parts' merged, the odd one alone
    assert all(len(numbers) == 1 for face, numbers in programs(pdf).items() if face != "Lato")


def test_a_font_with_a_missing_glyph_encoding_is_left_as_it_is(built_project, tmp_path):
    """WeasyPrint gives a font with .notdef glyphs a CMap encoding instead of Identity-H:
    that font is not merged (its program stays), the others are."""
    def tamper(writer):
        font, _ = _lato_programs(writer)[0]
        encoding = StreamObject()
        encoding.set_data(b"/CIDInit /ProcSet findresource begin 12 dict begin begincmap "
                          b"/CMapName /WP-Encod-0 def 1 begincodespacerange <0000> <ffff> "
                          b"endcodespacerange endcmap end end")
        encoding[NameObject("/Type")] = NameObject("/CMap")
        font[NameObject("/Encoding")] = writer._add_object(encoding)

    data, merged = combine(built_project, "web", True, tamper)
    pdf = tmp_path / "missing.pdf"
    pdf.write_bytes(data)
    assert len(programs(pdf)["Lato"]) == 2  # the odd one, and the others merged into one
    assert merged > 0


# -- readers of WeasyPrint's dictionaries ----------------------------------------------------------

def test_widths_read_both_forms_of_w_arrays():
    array = ArrayObject([NumberObject(3), ArrayObject([NumberObject(500), NumberObject(250)]),
                         NumberObject(10), NumberObject(12), NumberObject(600)])
    assert fontmerge._widths(array) == {3: 500, 4: 250, 10: 600, 11: 600, 12: 600}
    assert fontmerge._widths(fontmerge._w_array({3: 500, 4: 250, 9: 1})) == {3: 500, 4: 250,
                                                                             9: 1}


def test_to_unicode_reads_bfchar_and_bfrange_and_writes_weasyprint_layout():
    cmap = (b"2 beginbfchar\n<0002> <0020>\n<0029> <00660069>\nendbfchar\n"
            b"1 beginbfrange\n<0030> <0032> <0041>\nendbfrange\n"
            b"1 beginbfrange\n<0040> <0041> [<0061> <0062>]\nendbfrange\n")
    text = fontmerge._cmap_text(cmap)
    assert text == {2: "0020", 0x29: "00660069", 0x30: "0041", 0x31: "0042", 0x32: "0043",
                    0x40: "0061", 0x41: "0062"}
    assert fontmerge._cmap_text(fontmerge._cmap_bytes(text)) == text


# -- in a bundle -----------------------------------------------------------------------------------

def test_store_once_keeps_one_of_identical_resources_and_drops_the_rest():
    writer = PdfWriter()
    logos = []
    for _ in range(2):
        page = writer.add_blank_page(100, 100)
        logo = StreamObject()
        logo.set_data(b"q 1 0 0 1 0 0 cm Q")
        logos.append(writer._add_object(logo))
        page[NameObject("/Resources")] = writer._add_object(DictionaryObject(
            {NameObject("/XObject"): DictionaryObject({NameObject("/Logo"): logos[-1]})}))
    compact.store_once(writer)
    resources = [page["/Resources"] for page in writer.pages]
    assert resources[0].indirect_reference == resources[1].indirect_reference
    assert writer._objects[logos[1].idnum - 1] is None  # the twin dropped
    buffer = io.BytesIO()
    writer.write(buffer)
    reader = PdfReader(buffer)
    assert reader.pages[1]["/Resources"]["/XObject"]["/Logo"].get_data() == b"q 1 0 0 1 0 0 cm Q"


def test_bundle_embeds_each_face_once_and_looks_the_same(copy_built, tmp_path):
    """End to end through ``build.py bundle``: the pages look exactly like the parts' pages."""
    root = copy_built()
    assert main(["bundle", BUNDLE, "--force", "--project", str(root), "-q"]) == 0
    for edition in ("web", "print"):
        pdf = root / "output" / edition / "bundles" / f"{BUNDLE}.pdf"
        assert all(len(numbers) == 1 for numbers in programs(pdf).values())
        check = run("qpdf", "--check", pdf)
        assert "No syntax or stream encoding errors" in check and "WARNING" not in check
    pdf = root / "output" / "web" / "bundles" / f"{BUNDLE}.pdf"
    part = part_pdf(root, "web", "ni-062-placement-stability")
    bundle_pages = PdfReader(pdf).pages
    # front matter: cover + contents; a part's own back cover is left out of a collected edition
    for index, page in enumerate(PdfReader(part).pages[:-1]):
        assert bundle_pages[2 + index].extract_text() == page.extract_text()
    assert same_pixels(part, 3, pdf, 2 + 3, tmp_path, "bundle-ni-062")
