"""End-to-end: the sample built into a temporary folder, read the way printers and readers do."""

from __future__ import annotations

import json
import re
import subprocess

import pytest
from conftest import run
from pypdf import PdfReader

from press.commands import main

NI62 = "ni-062-placement-stability"
NI112 = "ni-112-under-18-conceptions"
DRAFT = "ni-058-emotional-health"
A4 = (595.28, 841.89)


def boxes(pdf):
    """{page: {box name: (x0, y0, x1, y1)}} from ``pdfinfo -box``."""
    out = run("pdfinfo", "-box", "-f", "1", "-l", "999", pdf)
    result = {}
    for page, name, *coords in re.findall(
            r"Page\s+(\d+) (\w+)Box:\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)", out):
        result.setdefault(int(page), {})[name] = tuple(float(c) for c in coords)
    return result


def page_texts(pdf):
    return [page.extract_text() for page in PdfReader(pdf).pages]


def fonts(pdf):
    lines = run("pdffonts", pdf).splitlines()[2:]
    return [(line.split()[0], line.split()[-5:-2]) for line in lines if line.strip()]


# -- web edition -------------------------------------------------------------------------------

def test_web_edition_is_tagged_a4_with_metadata(built_project):
    pdf = built_project / "output" / "web" / f"{NI62}.pdf"
    info = run("pdfinfo", pdf)
    assert "Tagged:          yes" in info
    assert "595.276 x 841.89 pts (A4)" in info
    assert "Title:           NI 62: Placement stability for looked after children" in info
    assert "Author:          Sarah Judd" in info
    assert "Keywords:        looked after children" in info
    assert "CreationDate:    Tue Apr  1 00:00:00 2008" in info
    assert "Subject:         Frequent placement moves" in info
    reader = PdfReader(pdf)
    root = reader.trailer["/Root"]
    assert root["/Lang"] == "en-GB"
    assert root["/ViewerPreferences"]["/DisplayDocTitle"] == True  # noqa: E712 (pypdf BooleanObject)
    assert "/StructTreeRoot" in root and root["/MarkInfo"]["/Marked"] == True  # noqa: E712
    for page in boxes(pdf).values():  # trimmed: no bleed, no marks
        assert page["Media"] == pytest.approx((0, 0, *A4), abs=0.1)


def test_web_structure_has_headings_lists_tables_figures_with_alt(built_project):
    reader = PdfReader(built_project / "output" / "web" / f"{NI62}.pdf")
    roles, alts = set(), []

    def walk(node, depth=0):
        node = node.get_object()
        if isinstance(node, dict) or hasattr(node, "get"):
            if "/S" in node:
                roles.add(str(node["/S"]))
            if "/Alt" in node:
                alts.append(str(node["/Alt"]))
            kids = node.get("/K")
            if kids is not None and depth < 60:
                for kid in kids if isinstance(kids, list) else [kids]:
                    if hasattr(kid, "get_object") or isinstance(kid, dict):
                        walk(kid, depth + 1)

    walk(reader.trailer["/Root"]["/StructTreeRoot"])
    assert {"/H1", "/H2", "/H3", "/L", "/LI", "/Table", "/TH", "/TD", "/Figure"} <= roles, roles
    assert any("placement" in alt.lower() for alt in alts), alts


def test_web_fonts_all_embedded_lato_only(built_project):
    for slug in (NI62, NI112):
        found = fonts(built_project / "output" / "web" / f"{slug}.pdf")
        assert found, "no fonts?"
        for name, (emb, sub, _) in found:
            assert emb == "yes" and sub == "yes", name
            assert "Lato" in name, f"a system font crept in: {name}"


def test_web_bookmarks_and_links(built_project):
    reader = PdfReader(built_project / "output" / "web" / f"{NI62}.pdf")
    titles = []

    def flatten(items):
        for item in items:
            if isinstance(item, list):
                flatten(item)
            else:
                titles.append(item.title)

    flatten(reader.outline)
    assert "Risk factors for placement breakdown" in titles
    assert "Lack of information for foster carers" in titles
    internal = external = 0
    for page in reader.pages:
        for annot in page.get("/Annots") or []:
            action = annot.get_object().get("/A") or {}
            dest = annot.get_object().get("/Dest")
            if dest is not None or action.get("/S") == "/GoTo":
                internal += 1
            elif action.get("/S") == "/URI":
                external += 1
    assert internal >= 20 and external >= 1


def test_contents_page_numbers_match_real_pages(built_project):
    texts = page_texts(built_project / "output" / "web" / f"{NI62}.pdf")
    contents = texts[1]
    entries = re.findall(r"^(.+?)\s+(\d+)$", contents, flags=re.M)
    headings = [(title.strip(), int(page)) for title, page in entries
                if title.strip() and not title.startswith("Contents")]
    assert len(headings) >= 8, contents
    for title, page in headings:
        body = texts[page - 1]
        assert title in body.replace("\n", " "), f"'{title}' is not on page {page}"


def test_reading_order_follows_source(built_project):
    text = run("pdftotext", built_project / "output" / "web" / f"{NI62}.pdf", "-")
    source = (built_project / "content" / "briefings" / f"{NI62}.md").read_text()
    headings = [h.strip() for h in re.findall(r"^## (.+)$", source, flags=re.M)]
    flat = " ".join(text.split())
    positions = [flat.rfind(h) for h in headings]  # rfind: skip the contents page
    assert all(p >= 0 for p in positions), list(zip(headings, positions))
    assert positions == sorted(positions)


def test_sample_looks_like_the_seed(built_project):
    texts = page_texts(built_project / "output" / "web" / f"{NI62}.pdf")
    cover, back = texts[0], texts[-1]
    assert "NI 62" in cover and "Performance Pointers" in cover and "APRIL 2008" in cover
    assert "Extra copies" in back and "https://www.rip.org.uk/publications" in back
    assert "978-1-904984-24-5" in back and "£12.50" in back
    everything = " ".join(" ".join(texts).split())
    assert "(Ward and Skuse, 2001)" in everything
    assert "Meltzer, H. et al (2003) The Mental Health" in everything
    assert 10 <= len(texts) <= 18
    for number, page in enumerate(texts[2:-1], start=3):  # running header and folio
        assert "PERFORMANCE POINTERS" in page and str(number) in page


def test_qpdf_check_is_clean(built_project):
    for edition in ("web", "print", "drafts"):
        for pdf in (built_project / "output" / edition).glob("*.pdf"):
            done = subprocess.run(["qpdf", "--check", str(pdf)], capture_output=True, text=True)
            assert done.returncode == 0, (pdf, done.stdout, done.stderr)


# -- print edition -----------------------------------------------------------------------------

def test_print_boxes_bleed_and_booklet(built_project):
    pdf = built_project / "output" / "print" / f"{NI62}.pdf"
    pages = boxes(pdf)
    assert len(pages) % 4 == 0
    bleed = 3 * 72 / 25.4
    for page in pages.values():
        assert page["Trim"] == pytest.approx((0, 0, *A4), abs=0.05)
        x0, y0, x1, y1 = page["Trim"]
        assert page["Bleed"] == pytest.approx((x0 - bleed, y0 - bleed, x1 + bleed, y1 + bleed),
                                              abs=0.05)
        mx0, my0, mx1, my1 = page["Media"]
        assert mx0 < x0 - bleed - 10 and mx1 > x1 + bleed + 10  # room for marks outside bleed
    texts = page_texts(pdf)
    web_pages = len(PdfReader(built_project / "output" / "web" / f"{NI62}.pdf").pages)
    assert "Extra copies" in texts[-1], "the back cover must stay last"
    padding = [t.strip() for t in texts[web_pages - 1:-1]]
    assert len(padding) == (-web_pages) % 4  # the booklet is padded to a multiple of 4
    # a reader finds Notes pages, then one blank (the inside back cover)
    assert padding == (["Notes"] * (len(padding) - 1) + [""] if padding else [])


def test_print_is_pdfx_with_cmyk_output_intent_and_no_rgb(built_project):
    pdf = built_project / "output" / "print" / f"{NI62}.pdf"
    reader = PdfReader(pdf)
    intent = reader.trailer["/Root"]["/OutputIntents"][0].get_object()
    assert intent["/S"] == "/GTS_PDFX"
    assert intent["/DestOutputProfile"].get_object()["/N"] == 4
    assert b"PDF/X-4" in reader.trailer["/Root"]["/Metadata"].get_object().get_data()
    for page in reader.pages:
        content = page.get_contents().get_data()
        assert not re.search(rb"[\d.]+ [\d.]+ [\d.]+ (rg|RG)\b", content)
    assert re.search(rb"[\d.]+ [\d.]+ [\d.]+ [\d.]+ k\b", reader.pages[0].get_contents().get_data())
    for name, (emb, _, _) in fonts(pdf):
        assert emb == "yes", name


def test_preflight_report(built_project):
    report = json.loads((built_project / "output" / "print" /
                         f"{NI62}.preflight.json").read_text())
    assert report["blocking"] == [] and report["pages"] % 4 == 0
    assert report["output_intent"]["subtype"] == "/GTS_PDFX"
    assert all(f["embedded"] and f["subset"] for f in report["fonts"])
    assert report["images"] and all(i["kind"] in ("vector", "raster") for i in report["images"])
    assert len(report["boxes"]) == report["pages"]


def test_crop_marks_outside_bleed_and_cover_bleeds(built_project, tmp_path):
    """Pixels: marks sit in the slug, not over the bleed; the cover colour runs into the bleed."""
    from PIL import Image

    pdf = built_project / "output" / "print" / f"{NI62}.pdf"
    run("pdftoppm", "-r", "72", "-f", "1", "-l", "1", "-png", pdf, tmp_path / "p")
    image = Image.open(next(tmp_path.glob("p-*.png"))).convert("RGB")
    slug = 12 * 72 / 25.4  # media box extends bleed + slug beyond the trim (points = px at 72)
    trim_left, trim_top = round(slug), round(slug)
    bleed = round(3 * 72 / 25.4)
    # the teal cover band reaches into the bleed at the top-left corner
    r, g, b = image.getpixel((trim_left - bleed + 2, trim_top - bleed + 2))
    assert g > r + 30 and b > r + 30, (r, g, b)
    # slug area beyond the bleed: white except for the crop mark lines on the trim lines
    assert image.getpixel((trim_left - bleed - 6, trim_top + 100)) == (255, 255, 255)
    mark_column = [image.getpixel((trim_left, y)) for y in range(0, trim_top - bleed)]
    assert any(sum(p) < 200 for p in mark_column), "no crop mark above the trim line"
    assert all(sum(p) > 600 for p in mark_column[trim_top - bleed + 1:])


# -- drafts ------------------------------------------------------------------------------------

def test_drafts_have_watermark_and_build_footer_on_every_page(built_project):
    for slug in (DRAFT, NI62):
        texts = page_texts(built_project / "output" / "drafts" / f"{slug}.pdf")
        for number, text in enumerate(texts, 1):
            assert "DRAFT" in text, f"{slug} page {number} has no watermark"
            assert re.search(r"built \d{4}-\d{2}-\d{2}", text), f"{slug} page {number}"
            assert "revision" in text


def test_draft_briefing_never_gets_print_or_web(built_project):
    assert not (built_project / "output" / "web" / f"{DRAFT}.pdf").exists()
    assert not (built_project / "output" / "print" / f"{DRAFT}.pdf").exists()
    assert (built_project / "output" / "drafts" / f"{DRAFT}.pdf").exists()


def test_draft_note_and_edition_flag(project, capsys):
    assert main(["--project", str(project), "briefing", DRAFT, "--edition", "web"]) == 0
    out = capsys.readouterr().out
    assert "status is draft, so no print or web edition" in out
    assert not (project / "output").exists() or not list((project / "output").rglob("*.pdf"))


# -- reproducibility ---------------------------------------------------------------------------

def test_rebuild_is_byte_identical(built_project, project):
    assert main(["--project", str(project), "-q", "briefing", NI112, "--drafts"]) == 0
    for edition in ("web", "print", "drafts"):
        first = (built_project / "output" / edition / f"{NI112}.pdf").read_bytes()
        second = (project / "output" / edition / f"{NI112}.pdf").read_bytes()
        assert first == second, f"{edition} edition differs between builds"


# -- command line ------------------------------------------------------------------------------

def test_check_command_and_exit_codes(project, capsys):
    assert main(["--project", str(project), "check"]) == 0
    assert "check: 3 briefings, 1 bundle, 1 mailing OK" in capsys.readouterr().out
    assert main(["--project", str(project), "briefing"]) == 2
    assert main(["--project", str(project), "nonsense"]) == 2
    bad = project / "content" / "briefings" / f"{NI112}.md"
    bad.write_text(bad.read_text().replace("status: final", "status: finall"))
    assert main(["--project", str(project), "check"]) == 1
    err = capsys.readouterr().err
    assert f"content/briefings/{NI112}.md:" in err and "'status' must be" in err
    assert "Traceback" not in err
    bundle = next((project / "content" / "bundles").glob("*.yaml"))
    bundle.write_text(bundle.read_text().replace("ni-062-placement-stability",
                                                 "ni-062-placement-stabilty"))
    assert main(["--project", str(project), "check"]) == 1
    assert f"content/bundles/{bundle.name}:" in capsys.readouterr().err


def test_write_time_errors_fail_the_briefing(project, capsys):
    """WeasyPrint only logs a link to a missing anchor while writing: the Markdown stage
    refuses it first, at its line, and the briefing fails with no PDF written."""
    path = project / "content" / "briefings" / f"{DRAFT}.md"
    path.write_text(path.read_text() + "\nSee [the missing part](#nowhere).\n")
    assert main(["--project", str(project), "-q", "briefing", DRAFT]) == 1
    err = capsys.readouterr().err
    assert f"content/briefings/{DRAFT}.md:" in err and "link '#nowhere' goes to no heading" in err
    assert not (project / "output" / "drafts" / f"{DRAFT}.pdf").exists()
