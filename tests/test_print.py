"""Print conformance, as a printer's prepress desk checks it, on every print PDF the project
makes (briefings, the bundle, a mailing's print files, letters and job sheet): no annotations,
dark text on the K plate only, a FOGRA39 output intent, crop marks in registration colour,
folios on the outer edge, and the checks that fail a build (printer profile, cover fit)."""

from __future__ import annotations

import json
import re
import shutil
from collections import Counter
from pathlib import Path

import pydyf
import pytest
from conftest import REPO, run
from pypdf import PdfReader
from pypdf.generic import ContentStream, IndirectObject

from press.commands import main
from press.render import preflight
from press.render import print as print_pdf

NI62 = "ni-062-placement-stability"
NI112 = "ni-112-under-18-conceptions"
BUNDLE = "performance-pointers-2008-09"
PROFILE = REPO / "assets" / "color" / "FOGRA39L_argyll.icc"

MAILING = """\
title: Print probe mailing
date: 2009-04-01
series: performance-pointers
letter: probe-letter.md
recipients: probe-recipients.csv
items:
  - briefing: ni-112-under-18-conceptions
  - bundle: performance-pointers-2008-09
  - insert: assets/inserts/order-form.pdf
"""
RECIPIENTS = """\
agency,link_officer,address_1,address_2,address_3,town,postcode,copies,email
Northfield Borough Council,Wendy Ferris,Civic Centre,Station Road,,NORTHFIELD,XF11 2FF,,
"""
LETTER = "Dear {link_officer},\n\nWe enclose {items}. More at {purchase_url}.\n"


@pytest.fixture(scope="module")
def print_files(built_project, tmp_path_factory) -> dict[str, Path]:
    """Every kind of print PDF: the briefings' and the bundle's print editions, and a mailing
    pack's print files, letters and job sheet (built in a copy of the built project)."""
    root = tmp_path_factory.mktemp("print") / "project"
    shutil.copytree(built_project, root)
    folder = root / "content" / "mailings"
    (folder / "probe.yaml").write_text(MAILING, encoding="utf-8")
    (folder / "probe-recipients.csv").write_text(RECIPIENTS, encoding="utf-8")
    (folder / "probe-letter.md").write_text(LETTER, encoding="utf-8")
    assert main(["mailing", "probe", "--project", str(root), "-q"]) == 0
    pack = root / "output" / "mailings" / "probe"
    files = {f"print/{slug}": root / "output" / "print" / f"{slug}.pdf" for slug in (NI62, NI112)}
    files["bundle"] = root / "output" / "print" / "bundles" / f"{BUNDLE}.pdf"
    for path in sorted((pack / "print").glob("*.pdf")):
        if "order-form" not in path.name:  # the insert is the publisher's own ready PDF
            files[f"mailing/{path.name}"] = path
    files["letters"] = pack / "letters.pdf"
    files["job-sheet"] = pack / "job-sheet.pdf"
    return files


# -- the probe: pypdf's content-stream parser, not the preflight's own scanner -------------------

def text_fills(path: Path) -> Counter:
    """Text-showing operators per fill colour in effect (a CMYK tuple; None if not CMYK),
    in page content and the forms it draws."""
    reader = PdfReader(path)
    found = Counter()

    def walk(content, resources, depth):
        fill, stack = ("k", (0.0, 0.0, 0.0, 1.0)), []  # the initial fill is black
        for operands, operator in content.operations:
            if operator == b"q":
                stack.append(fill)
            elif operator == b"Q" and stack:
                fill = stack.pop()
            elif operator == b"k":
                fill = ("k", tuple(float(v) for v in operands))
            elif operator in (b"g", b"rg", b"sc", b"scn", b"cs"):
                fill = (operator.decode(), None)
            elif operator in (b"Tj", b"TJ", b"'", b'"'):
                found[fill[1]] += 1
            elif operator == b"Do" and depth < 4 and resources is not None:
                xobjects = resources.get_object().get("/XObject")
                form = xobjects.get_object().get(operands[0]).get_object() if xobjects else None
                if form is not None and form.get("/Subtype") == "/Form":
                    walk(ContentStream(form, reader), form.get("/Resources", resources),
                         depth + 1)

    for page in reader.pages:
        contents = page.get_contents()
        if contents is not None:
            walk(ContentStream(contents, reader), page.get("/Resources"), 0)
    return found


def multi_plate_dark(fills: Counter) -> int:
    """Runs of dark text (K 50 % or more, or not in CMYK at all) on more than one plate."""
    return sum(count for ink, count in fills.items()
               if ink is None or (ink[3] >= 0.5 and sum(1 for v in ink if v) > 1))


def test_every_print_pdf_has_no_annotations_and_dark_text_on_k_only(print_files):
    assert len(print_files) == 7
    for name, path in print_files.items():
        reader = PdfReader(path)
        annotations = sum(len(page.get("/Annots") or []) for page in reader.pages)
        assert annotations == 0, f"{name}: {annotations} annotations"
        fills = text_fills(path)
        assert sum(fills.values()) > 20, name
        assert multi_plate_dark(fills) == 0, f"{name}: {fills.most_common(8)}"
        if name != "job-sheet":  # body text is in the palette's text black, 100 K
            assert fills.most_common(1)[0][0] in ((0, 0, 0, 1), (1, 0.22, 0.36, 0.42)), name
    # coloured text keeps its colour: teal headings, white on the cover band
    fills = text_fills(print_files[f"print/{NI62}"])
    assert fills[(1, 0.22, 0.36, 0.42)] > 50 and fills[(0, 0, 0, 0)] > 10
    assert fills[(0, 0, 0, 1)] > 300


def test_boxes_and_rules_keep_their_rich_colour(print_files):
    """Only text changes ink: the rules and boxes drawn in the ink colour stay 30/10/0/88."""
    content = b"".join(page.get_contents().get_data()
                       for page in PdfReader(print_files[f"print/{NI62}"]).pages)
    assert re.search(rb"0\.3 0\.1 0 0\.88 k", content)


def test_output_intent_is_fogra39_with_the_shipped_profile(print_files):
    for name, path in print_files.items():
        reader = PdfReader(path)
        intent = reader.trailer["/Root"]["/OutputIntents"][0].get_object()
        assert intent["/S"] == "/GTS_PDFX"
        assert intent["/OutputConditionIdentifier"] == "FOGRA39", name
        assert intent["/RegistryName"] == "http://www.color.org"
        assert intent["/Info"] == "Coated FOGRA39 (ISO 12647-2:2004)"
        profile = intent["/DestOutputProfile"].get_object()
        assert profile["/N"] == 4 and profile.get_data() == PROFILE.read_bytes(), name


def test_crop_marks_are_in_registration_colour(print_files):
    for name in (f"print/{NI62}", "bundle"):
        reader = PdfReader(print_files[name])
        for page in reader.pages:
            spaces = page["/Resources"]["/ColorSpace"]
            space = spaces["/Registration"]
            space = space.get_object() if isinstance(space, IndirectObject) else space
            assert [str(v) for v in space[:3]] == ["/Separation", "/All", "/DeviceCMYK"]
            content = page.get_contents().get_data()
            assert b"/Registration CS 1 SCN" in content
            assert not re.search(rb"\b1 1 1 1 K\b", content)


def teal_columns(path: Path, page: int, tmp_path: Path) -> list[float]:
    """x (mm from the trim's left edge) of the folio's solid teal box, in the bottom 30 mm of
    one page (columns with at least 5 teal pixels at 30 dpi: a box, not teal text)."""
    from PIL import Image

    sheet = PdfReader(path).pages[page - 1]
    run("pdftoppm", "-r", "30", "-f", page, "-l", page, "-png", path, tmp_path / f"p{page}")
    image = Image.open(next(tmp_path.glob(f"p{page}-*.png"))).convert("RGB")
    px_per_pt = 30 / 72
    left = (float(sheet.trimbox.left) - float(sheet.mediabox.left)) * px_per_pt
    bottom = (float(sheet.trimbox.bottom) - float(sheet.mediabox.bottom)) * px_per_pt
    width, height = image.size
    counts = Counter()
    for y in range(int(height - bottom - 30 / 25.4 * 30), int(height - bottom)):
        for x in range(width):
            r, g, b = image.getpixel((x, y))
            if r < 40 and 80 < g < 130 and 90 < b < 140:  # the teal of the folio box
                counts[x] += 1
    return sorted((x - left) / 30 * 25.4 for x, n in counts.items() if n >= 5)


@pytest.mark.parametrize("edition", ["print", "web"])
def test_folios_sit_on_the_outer_edge(built_project, tmp_path, edition):
    """Bottom-right on right-hand (odd) pages, bottom-left on left-hand (even) pages."""
    path = built_project / "output" / edition / f"{NI62}.pdf"
    right = teal_columns(path, 3, tmp_path)
    left = teal_columns(path, 4, tmp_path)
    assert right and 176 <= min(right) and max(right) <= 188  # 24 mm from the right edge
    assert left and 22 <= min(left) and max(left) <= 34  # 24 mm from the left edge


def test_preflight_reports_the_print_checks(built_project):
    for path in (built_project / "output" / "print" / f"{NI62}.preflight.json",
                 built_project / "output" / "print" / "bundles" / f"{BUNDLE}.preflight.json"):
        report = json.loads(path.read_text())
        assert report["annotations"] == 0 and report["multi_plate_text"] == 0
        assert 0 < report["max_tac"] <= preflight.MAX_TAC
        inks = report["text_inks"]
        assert max(inks, key=inks.get) == "0 0 0 1"  # body text: text black, 100 K
        intent = report["output_intent"]
        assert intent["condition"] == "FOGRA39"
        assert intent["profile"] == "FOGRA39L (ArgyllCMS colprof)"
        assert report["warnings"] == []


def test_preflight_flags_links_rich_black_text_and_heavy_ink(built_project, tmp_path):
    """A file made the old way (links kept, text in 30/10/0/88, a 400 % solid) is warned of."""
    from pypdf import PdfWriter
    from pypdf.generic import DecodedStreamObject, NameObject

    reader = PdfReader(built_project / "output" / "web" / f"{NI62}.pdf")
    writer = PdfWriter()
    writer.append(reader, pages=(0, 2))
    writer.add_uri(0, "https://example.org", [10, 10, 50, 50])
    page = writer.pages[1]
    stream = DecodedStreamObject()
    stream.set_data(b"1 1 1 1 k 0 0 100 100 re f 0.3 0.1 0 0.88 k BT /F1 9 Tf (x) Tj ET")
    page[NameObject("/Contents")] = writer._add_object(stream)
    inks = preflight.inks_used(PdfReader(_write(writer, tmp_path)))
    assert inks["annotations"] >= 1 and inks["multi_plate_text"] == 1
    assert inks["max_tac"] == 400


def _write(writer, tmp_path) -> Path:
    path = tmp_path / "old.pdf"
    with path.open("wb") as handle:
        writer.write(handle)
    return path


# -- the finisher, on its own ------------------------------------------------------------------

def test_text_ink_is_set_for_text_and_put_back_for_what_follows():
    palette = print_pdf.Palette.load(REPO / "layouts" / "palette.yaml")
    pdf = pydyf.PDF()
    stream = pydyf.Stream([b"0.122 0.165 0.188 rg", b"BT", b"(a) Tj", b"ET", b"0 0 9 9 re",
                           b"f", b"0 0.396 0.431 rg", b"BT", b"(b) Tj", b"ET",
                           b"q", b"0.357 0.404 0.439 rg", b"BT", b"(c) Tj", b"ET", b"Q",
                           b"BT", b"0.122 0.165 0.188 rg", b"(d) Tj", b"ET"])
    pdf.add_object(stream)
    print_pdf.to_cmyk(pdf, palette)
    assert stream.stream == [
        b"0.3 0.1 0 0.88 k", b"BT 0 0 0 1 k", b"(a) Tj", b"ET 0.3 0.1 0 0.88 k",  # ink
        b"0 0 9 9 re", b"f",  # the box keeps its rich ink
        b"1 0.22 0.36 0.42 k", b"BT", b"(b) Tj", b"ET",  # teal text stays teal
        b"q", b"0.2 0.05 0 0.62 k", b"BT 0 0 0 0.7 k", b"(c) Tj", b"ET 0.2 0.05 0 0.62 k",
        b"Q",  # grey text: a K tint
        b"BT", b"0 0 0 1 k", b"(d) Tj", b"ET 0.3 0.1 0 0.88 k"]  # set inside the text object


def test_a_text_ink_on_several_plates_is_refused(tmp_path):
    palette = tmp_path / "palette.yaml"
    palette.write_text('ink: {rgb: "#1f2a30", cmyk: [30, 10, 0, 88], text: [10, 0, 0, 100]}\n')
    with pytest.raises(Exception, match="one plate"):
        print_pdf.Palette.load(palette)


# -- settings that fail a build --------------------------------------------------------------------

def test_the_printers_own_profile_from_the_series_file(project, capsys):
    series = project / "content" / "series" / "performance-pointers.yaml"
    shutil.copy(project / "assets" / "color" / "default_cmyk.icc",
                project / "assets" / "color" / "printer.icc")
    text = series.read_text()
    series.write_text(text + "print_profile: color/nope.icc\n")
    assert main(["briefing", NI112, "--edition", "print", "--project", str(project),
                 "-q"]) == 1
    err = capsys.readouterr().err
    line = len(text.splitlines()) + 1
    assert re.search(rf"performance-pointers\.yaml:{line}: 'print_profile': no file "
                     r"assets/color/nope\.icc", err), err
    series.write_text(text + "print_profile: color/printer.icc\n")
    assert main(["briefing", NI112, "--edition", "print", "--project", str(project),
                 "-q"]) == 0
    reader = PdfReader(project / "output" / "print" / f"{NI112}.pdf")
    intent = reader.trailer["/Root"]["/OutputIntents"][0].get_object()
    assert intent["/OutputConditionIdentifier"] == "Artifex CMYK SWOP Profile"
    assert intent["/DestOutputProfile"].get_object().get_data() == \
        (project / "assets" / "color" / "printer.icc").read_bytes()


def test_a_title_too_long_for_the_cover_fails_at_its_line(project, capsys):
    source = project / "content" / "briefings" / f"{NI112}.md"
    text = source.read_text()
    source.write_text(text.replace(
        "title: Reducing under-18 conceptions",
        "title: Reducing under-18 conceptions in every local authority area of England, "
        "with the evidence on what works and what does not", 1))
    assert main(["briefing", NI112, "--edition", "print", "--project", str(project),
                 "-q"]) == 1
    err = capsys.readouterr().err
    assert re.search(rf"{NI112}\.md:2: the cover's title block runs [\d.]+ mm too far "
                     r"down: its last line meets the logo strip", err), err
    assert "Traceback" not in err


def test_a_bundle_title_too_long_for_its_cover_fails_at_its_line(copy_built, capsys):
    root = copy_built()
    source = root / "content" / "bundles" / f"{BUNDLE}.yaml"
    text = source.read_text()
    source.write_text(text.replace(
        'title: "Performance Pointers 2008–09: the collected briefings"',
        'title: "Performance Pointers 2008–09: the collected briefings on placement stability, '
        'teenage pregnancy and what local authorities can do about both"', 1))
    assert main(["bundle", BUNDLE, "--project", str(root), "-q"]) == 1
    err = capsys.readouterr().err
    assert re.search(rf"{BUNDLE}\.yaml:2: the cover's title block runs [\d.]+ mm too far "
                     r"down", err), err


def test_a_ready_made_insert_is_queried_not_changed():
    """The press did not make an insert, so it cannot fix it: the mailing says what a printer
    would query (the sample order form: rich-black text, a SWOP intent)."""
    from press.products.mailing.pack import insert_warnings

    (message,) = insert_warnings(REPO / "assets" / "inserts" / "order-form.pdf", "FOGRA39")
    assert re.search(r"\d+ runs of dark text on several plates", message)
    assert "output intent Artifex CMYK SWOP Profile, not FOGRA39" in message
