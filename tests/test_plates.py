"""What reaches the printing plates, checked with tools no one here wrote: raster images
separated to CMYK (poppler's pdfimages, Ghostscript renders), their resolution at the printed
size in the preflight, RGB refused, and black text overprinting (Ghostscript separations)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import newcomer
import pikepdf
import pytest
from conftest import needs, run
from newcomer import newcomer_fixture  # noqa: F401 - the newcomer_project fixture
from PIL import Image, ImageChops, ImageStat
from pypdf import PdfReader

from press.render import preflight

BUNDLE = "performance-pointers-2008-09"
GS = shutil.which("gs")
needs_gs = needs(GS is not None, "Ghostscript (setup.sh installs it)")


def print_files(root: Path) -> dict[str, Path]:
    pack = root / "output" / "mailings" / "2009-04" / "print"
    return {"briefing": root / "output" / "print" / f"{newcomer.SLUG}.pdf",
            "bundle": root / "output" / "print" / "bundles" / f"{BUNDLE}.pdf",
            "mailing briefing": pack / f"01-{newcomer.SLUG}.pdf",
            "mailing bundle": pack / f"02-bundle-{BUNDLE}.pdf"}


def image_list(path: Path) -> list[dict]:
    """poppler's ``pdfimages -list``, one dict a row."""
    rows = run("pdfimages", "-list", path).splitlines()[2:]
    names = ("page", "num", "type", "width", "height", "color", "comp", "bpc", "enc")
    return [dict(zip(names, row.split())) for row in rows if row.strip()]


def test_every_raster_image_of_every_print_file_is_cmyk(newcomer_project):
    for name, path in print_files(newcomer_project).items():
        images = [i for i in image_list(path) if i["type"] == "image"]
        found = {(i["width"], i["height"], i["enc"]) for i in images}
        assert {("1500", "750", "image"), ("1200", "800", "jpeg")} <= found, name
        assert {i["color"] for i in images} == {"cmyk"}, name
    web = image_list(newcomer_project / "output" / "web" / f"{newcomer.SLUG}.pdf")
    assert {i["color"] for i in web if i["type"] == "image"} == {"rgb"}  # the screen's


@needs_gs
def test_the_separated_images_look_like_the_screen_ones(newcomer_project, tmp_path):
    """Ghostscript renders the photo's page of both editions (trim box: the same layout):
    a separation gone wrong (inverted Adobe CMYK, swapped channels) shows at once."""
    briefing = print_files(newcomer_project)["briefing"]
    page = next(int(i["page"]) for i in image_list(briefing) if i["enc"] == "jpeg")
    web = newcomer_project / "output" / "web" / f"{newcomer.SLUG}.pdf"
    renders = []
    for label, path in (("print", briefing), ("web", web)):
        out = tmp_path / f"{label}.png"
        subprocess.run([GS, "-q", "-dNOPAUSE", "-dBATCH", "-dSAFER", "-sDEVICE=png16m",
                        "-r30", "-dUseTrimBox", f"-dFirstPage={page}", f"-dLastPage={page}",
                        f"-sOutputFile={out}", str(path)], check=True)
        renders.append(Image.open(out).convert("RGB"))
    printed, screen = renders
    assert printed.size == screen.size
    difference = ImageStat.Stat(ImageChops.difference(printed, screen)).mean
    assert max(difference) < 12, difference  # CMYK gamut and rendering, not a wrong picture


def test_the_preflight_counts_the_images_at_their_printed_size(newcomer_project):
    report = json.loads((newcomer_project / "output" / "print"
                         / f"{newcomer.SLUG}.preflight.json").read_text())
    rasters = {r["src"]: r for r in report["rasters"]}
    assert set(rasters) == {newcomer.CHART, newcomer.PHOTO}
    assert {r["colour"] for r in rasters.values()} == {"cmyk"}
    assert rasters[newcomer.CHART]["ppi"] == 300  # 1500 px over 127 mm
    assert rasters[newcomer.CHART]["printed_mm"] == [127.0, 63.5]
    assert report["rgb"] == 0 and report["blocking"] == [] and report["warnings"] == []
    bundle = json.loads((newcomer_project / "output" / "print" / "bundles"
                         / f"{BUNDLE}.preflight.json").read_text())
    assert sorted(r["colour"] for r in bundle["rasters"]) == ["cmyk", "cmyk"]


def test_the_preflight_fails_rgb_in_a_print_file(newcomer_project):
    """The web edition (RGB colours, RGB images) is refused as a print file, image by image."""
    data = (newcomer_project / "output" / "web" / f"{newcomer.SLUG}.pdf").read_bytes()
    report = preflight.check(data, [], booklet=False)
    messages = "\n".join(report["blocking"])
    assert re.search(r"\d+ colours are set in RGB", messages)
    assert messages.count("is RGB: it must be separated") == 2
    assert "an RGB colour space" in messages


def _one_image(tmp_path: Path, pixels: int, mode: str = "CMYK") -> bytes:
    """A pikepdf-made A4 page with one image of ``pixels`` square, printed one inch wide."""
    pdf = pikepdf.new()
    page = pdf.add_blank_page(page_size=(595.276, 841.89))
    image = Image.new(mode, (pixels, pixels))
    stream = pikepdf.Stream(pdf, image.tobytes())
    stream.Type, stream.Subtype = pikepdf.Name.XObject, pikepdf.Name.Image
    stream.Width = stream.Height = pixels
    stream.ColorSpace = pikepdf.Name("/DeviceCMYK" if mode == "CMYK" else "/DeviceRGB")
    stream.BitsPerComponent = 8
    page.Resources = pikepdf.Dictionary(XObject=pikepdf.Dictionary(Im0=stream))
    page.Contents = pdf.make_stream(b"q 72 0 0 72 100 500 cm /Im0 Do Q")
    path = tmp_path / f"{pixels}-{mode}.pdf"
    pdf.save(path)
    return path.read_bytes()


@pytest.mark.parametrize(("pixels", "mode", "outcome"), [
    (320, "CMYK", None), (200, "CMYK", "warnings"), (120, "CMYK", "blocking"),
    (320, "RGB", "blocking")])
def test_resolution_and_colour_of_an_image_at_its_printed_size(tmp_path, pixels, mode,
                                                                outcome):
    report = preflight.check(_one_image(tmp_path, pixels, mode), [], booklet=False)
    (raster,) = report["rasters"]
    assert raster["ppi"] == pixels and raster["printed_mm"] == [25.4, 25.4]
    about = [m for m in report["blocking"] + report["warnings"] if m.startswith("image ")]
    if outcome is None:
        assert about == []
    else:
        assert about and all(m in report[outcome] for m in about), about


# -- black overprint -------------------------------------------------------------------------

def holes(path: Path, page: int, tmp_path: Path) -> dict[str, int]:
    """Pixels of 100 % K text that leave the C, M or Y plate empty inside a tint (a knocked
    out hole), from Ghostscript's separations (tiffsep: one greyscale TIFF a plate)."""
    import numpy as np

    out = tmp_path / "sep.tif"
    subprocess.run([GS, "-q", "-dNOPAUSE", "-dBATCH", "-dSAFER", "-sDEVICE=tiffsep", "-r150",
                    f"-dFirstPage={page}", f"-dLastPage={page}", f"-sOutputFile={out}",
                    str(path)], check=True)
    plates = {name: 255 - np.asarray(Image.open(tmp_path / f"sep({name}).tif").convert("L"),
                                     dtype=int)
              for name in ("Cyan", "Magenta", "Yellow", "Black")}
    solid_black = plates["Black"] > 240
    found = {}
    for name in ("Cyan", "Magenta", "Yellow"):
        plate = plates[name]
        # inside a tint: the plate has ink 5 px away on all four sides
        inside = ((np.roll(plate, 5, 1) > 0) & (np.roll(plate, -5, 1) > 0)
                  & (np.roll(plate, 5, 0) > 0) & (np.roll(plate, -5, 0) > 0))
        found[name] = int((solid_black & inside & (plate == 0)).sum())
    return found


@needs_gs
def test_black_text_overprints_the_tints_under_it(newcomer_project, tmp_path):
    """The boxes' black text leaves the tint whole on C, M and Y; the same file with the
    overprint switched off (pikepdf) shows the holes, so the probe can see them."""
    briefing = print_files(newcomer_project)["briefing"]
    reader = PdfReader(briefing)
    page = next(n for n, p in enumerate(reader.pages, 1)
                if "Promising practice" in p.extract_text())
    assert holes(briefing, page, tmp_path) == {"Cyan": 0, "Magenta": 0, "Yellow": 0}
    with pikepdf.open(briefing) as pdf:
        states = [o for o in pdf.objects if isinstance(o, pikepdf.Dictionary)
                  and o.get("/Type") == "/ExtGState" and o.get("/OPM") == 1]
        assert len(states) == 1 and states[0].OP and states[0].op
        states[0].OP = states[0].op = False
        knocked = tmp_path / "knockout.pdf"
        pdf.save(knocked)
    assert min(holes(knocked, page, tmp_path).values()) > 1000


def test_only_black_text_overprints(newcomer_project):
    """The overprint state is set around text in 0 0 0 1 only (pikepdf's parser), and put
    back before anything else is painted: a teal rule must still knock out."""
    with pikepdf.open(print_files(newcomer_project)["briefing"]) as pdf:
        checked = 0
        for page in pdf.pages:
            fill, overprint = None, False
            for operands, operator in pikepdf.parse_content_stream(page):
                op = str(operator)
                if op == "k":
                    fill = tuple(float(v) for v in operands)
                elif op == "gs":
                    overprint = str(operands[0]) == "/GSBlackOverprint"
                elif op in ("Tj", "TJ"):
                    assert overprint == (fill == (0, 0, 0, 1)), (fill, overprint)
                    checked += 1
                elif op in ("f", "f*", "S", "B"):
                    assert not overprint
        assert checked > 500


def test_small_text_on_several_plates_is_listed_with_its_size_and_ink(tmp_path):
    """A page made with pikepdf: 7 pt black (one plate), 7 pt teal (four: listed), 14 pt
    teal (large: not listed); the CTM's scale counts (WeasyPrint draws in CSS px)."""
    pdf = pikepdf.new()
    page = pdf.add_blank_page(page_size=(595.276, 841.89))
    page.Contents = pdf.make_stream(
        b"q 0.75 0 0 -0.75 0 842 cm "
        b"0 0 0 1 k BT /F1 9.333 Tf 1 0 0 -1 10 10 Tm (a) Tj ET "
        b"1 0.22 0.36 0.42 k BT /F1 9.333 Tf 1 0 0 -1 10 30 Tm (b) Tj ET "
        b"1 0.22 0.36 0.42 k BT /F1 18.667 Tf 1 0 0 -1 10 60 Tm (c) Tj ET Q")
    path = tmp_path / "small.pdf"
    pdf.save(path)
    report = preflight.check(path.read_bytes(), [], booklet=False)
    assert report["small_multi_plate_text"] == [
        {"size_pt": 7.0, "ink": "1 0.22 0.36 0.42", "runs": 1}]


def test_the_preflight_lists_the_small_coloured_text_of_a_briefing(newcomer_project):
    report = json.loads((newcomer_project / "output" / "print"
                         / "ni-062-placement-stability.preflight.json").read_text())
    small = {(entry["size_pt"], entry["ink"]) for entry in report["small_multi_plate_text"]}
    assert (6.5, "0.1 0.85 1 0.15") in small  # the orange-dark footnote calls
    assert (7.5, "1 0.22 0.36 0.42") in small  # the teal running head
