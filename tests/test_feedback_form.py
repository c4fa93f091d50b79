"""The feedback form as its readers get it, checked with tools no one here wrote: small
(≤ 60 KB: font cut, no CMYK intent, objects packed), every pre-filled value with its own
appearance (Ghostscript reads it; no NeedAppearances), options named for screen readers, the
return address a real link with no ligature (pikepdf, poppler, Ghostscript, outloud)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pikepdf
import pytest
from conftest import run
from newcomer import newcomer_fixture  # noqa: F401 - the newcomer_project fixture

from press.products.mailing import feedback

BIN = Path(sys.executable).parent
MAX_BYTES = 60_000
GS = shutil.which("gs")


def forms(root: Path) -> list[Path]:
    found = sorted((root / "output" / "mailings" / "2009-04" / "feedback").glob("*.pdf"))
    assert len(found) > 50
    return found


def test_every_form_is_small_with_its_fonts_cut(newcomer_project):
    paths = forms(newcomer_project)
    sizes = [path.stat().st_size for path in paths]
    assert max(sizes) <= MAX_BYTES, max(sizes)  # was 519 KB: a whole Lato, a CMYK intent
    fonts = run("pdffonts", paths[0]).splitlines()[2:]
    assert fonts and all(line.split()[-4:-2] == ["yes", "yes"] for line in fonts)  # emb, sub
    with pikepdf.open(paths[0]) as pdf:
        assert "/OutputIntents" not in pdf.Root  # an RGB form for the screen
        form_fonts = pdf.Root.AcroForm.DR.Font
        for name in form_fonts.keys():
            font = form_fonts[name]
            if "/DescendantFonts" in font:
                program = font.DescendantFonts[0].FontDescriptor.FontFile2
                assert int(program.Length1) < 80_000  # 661 KB whole


def test_pre_filled_values_have_appearances(newcomer_project):
    path = forms(newcomer_project)[0]
    with pikepdf.open(path) as pdf:
        assert not pdf.Root.AcroForm.get("/NeedAppearances", False)
        widgets = {str(a.get("/T")): a for a in pdf.pages[0].Annots if a.Subtype == "/Widget"}
        for name in ("agency", "link_officer", "items_sent", feedback.REFERENCE_FIELD):
            assert isinstance(widgets[name].AP.N, pikepdf.Stream), name
        agency = str(widgets["agency"].V)
        items = str(widgets["items_sent"].V).splitlines()
    if GS is None:
        pytest.skip("Ghostscript (setup.sh installs it)")
    text = subprocess.run([GS, "-q", "-dNOPAUSE", "-dBATCH", "-dSAFER", "-sDEVICE=txtwrite",
                           "-sOutputFile=-", str(path)], capture_output=True, text=True,
                          check=True).stdout
    lines = [" ".join(line.split()) for line in text.splitlines()]
    assert agency in lines and all(item in lines for item in items)


def test_options_are_named_and_the_address_is_a_link(newcomer_project):
    path = forms(newcomer_project)[0]
    with pikepdf.open(path) as pdf:
        named = {}
        stack = [pdf.Root.StructTreeRoot]
        while stack:
            element = stack.pop()
            kids = element.get("/K")
            for kid in kids if isinstance(kids, pikepdf.Array) else [kids]:
                if not isinstance(kid, pikepdf.Dictionary):
                    continue
                if kid.get("/Type") == "/OBJR" and element.get("/S") == "/Form":
                    named[kid.Obj.objgen] = str(element.get("/Alt", ""))
                elif "/S" in kid:
                    stack.append(kid)
        radios = [a for a in pdf.pages[0].Annots if "/Parent" in a]
        assert len(radios) > 10
        for radio in radios:
            question = str(radio.Parent.TU)
            assert named[radio.objgen] == f"{question} {radio.Contents}"
        links = [a for a in pdf.pages[0].Annots if a.Subtype == "/Link"]
        assert [str(a.A.URI) for a in links] == ["mailto:s.judd@sheffield.ac.uk"]
    text = run("pdftotext", path, "-")
    assert "s.judd@sheffield.ac.uk" in text
    assert not any("\ufb00" <= c <= "\ufb06" for c in text)  # no ligature anywhere


@pytest.mark.slow
def test_outloud_and_pdfua_on_a_form(newcomer_project, tmp_path):
    path = forms(newcomer_project)[0]
    report = tmp_path / "outloud.json"
    subprocess.run([BIN / "outloud", "--no-info", "--fail-on", "never", "--json", report, path],
                   check=True, capture_output=True)
    rules = {f["rule"] for f in json.loads(report.read_text())["results"][0]["findings"]
             if f["severity"] in ("error", "warning")}
    # what this form had: an address with no link, values announced by nothing, a glyph
    # with no Unicode, an unprinted link. Left: DOC-015 (the Info title is per recipient,
    # the XMP title the mailing's) and ORD-001 (paint order, see test_accessibility.py).
    assert rules <= {"DOC-015", "ORD-001"}, rules
    done = subprocess.run([BIN / "pdfua", "check", "-f", "json", path],
                          capture_output=True, text=True, check=False)
    assert json.loads(done.stdout)["findings"] == []
