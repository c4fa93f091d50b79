"""PDF/UA-1 of the web editions, checked by two independent checkers (outloud, pdfua from PyPI)
on every web PDF kind of the built fixture series, plus the fixes they cannot see."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import run
from pypdf import PdfReader

BIN = Path(sys.executable).parent
MM = 72 / 25.4
# layouts/briefing.css `@page { margin: 24mm ... 22mm ... }`: running heads and folios are drawn
# in these bands of a page with margin boxes, and nowhere else.
HEAD_BAND, FOOT_BAND = 24 * MM, 22 * MM


def _web_pdfs(root: Path) -> dict[str, Path]:
    web = root / "output" / "upload"  # what the web team publishes: editions and samples
    kinds = {}
    for path in sorted(web.glob("*.pdf")):
        kinds.setdefault("briefing sample" if path.stem.endswith("-sample") else "briefing", path)
    for path in sorted((web / "bundles").glob("*.pdf")):
        kinds.setdefault("bundle sample" if path.stem.endswith("-sample") else "bundle", path)
    return kinds


KINDS = ["briefing", "bundle", "briefing sample", "bundle sample"]


@pytest.fixture(scope="module")
def web_pdfs(built_project) -> dict[str, Path]:
    found = _web_pdfs(built_project)
    assert sorted(found) == sorted(KINDS)
    return found


def _pagination_pages(path: Path) -> set[int]:
    """Pages (0-based) with running heads or folios, which are /Artifact /Pagination."""
    reader = PdfReader(path)
    return {n for n, page in enumerate(reader.pages) if b"/Pagination" in page.get_contents().get_data()}


def _in_bands(box: dict, height: float) -> bool:
    return box["y1"] > height - HEAD_BAND or box["y0"] < FOOT_BAND


def _checker_is_wrong(finding: dict, path: Path) -> bool:
    """The findings where the checker is wrong, each proven here; every other finding fails."""
    rule = finding["rule"]
    if rule == "ORD-001":
        # Paint order differs from tag order. ISO 14289-1 7.2 asks for a logical order of the
        # *structure tree*; content-stream order is no requirement (ISO 32000-1 14.8.2.3 is a
        # fallback for untagged use) and Matterhorn 09-001 is a check for a person. Heuristic.
        return True
    reader = PdfReader(path)
    boxes = finding.get("boxes") or []
    if rule == "PAG-001" and boxes and "page numbers" not in finding["message"]:
        # "Running header or footer tagged as content": text that recurs on 3 pages in the top
        # or bottom eighth. ISO 14289-1 7.8 / Matterhorn 18-001 concern running heads and
        # folios, and ours are all /Artifact /Pagination (test_margin_boxes_are_artifacts).
        # The lines flagged are body text (a box title that repeats) or the parts' own covers
        # in a bundle: proven by where they are, outside the bands where margin boxes are
        # drawn, or on a page that has no margin boxes at all (covers, back covers).
        furniture = _pagination_pages(path)
        return all(box["page"] - 1 not in furniture
                   or not _in_bands(box, float(reader.pages[box["page"] - 1].mediabox.height))
                   for box in boxes)
    if rule == "TAG-002" and boxes:
        # "Prose marked /Artifact": a long running head on the one body page of a sample (the
        # rule only forgives lines that recur on several pages). ISO 14289-1 7.8: running heads
        # are pagination artifacts, however many words they have. Proven by position: the
        # line is inside the band above the page's top margin, where only margin boxes are.
        return all(box["y0"] > float(reader.pages[box["page"] - 1].mediabox.height) - HEAD_BAND
                   for box in boxes)
    return False


@pytest.mark.slow
@pytest.mark.parametrize("kind", KINDS)
def test_outloud_finds_nothing(web_pdfs, kind, tmp_path):
    path = web_pdfs[kind]
    report = tmp_path / "outloud.json"
    subprocess.run([BIN / "outloud", "--no-info", "--fail-on", "never", "--json", report, path],
                   check=True, capture_output=True)
    result = json.loads(report.read_text())["results"][0]
    assert result["error"] is None
    # LNK-004 (annotations lack the Print flag) cites ISO 14289-1 7.18.1 and Matterhorn 28, but
    # neither asks for it (the Print flag is PDF/A, ISO 19005-2 6.3.2). We set /F 4 anyway
    # (press/render/accessible.py), so the rule is not skipped.
    left = [f"{f['rule']} p.{f.get('page')}: {f['message']} ({f.get('evidence', '')})"
            for f in result["findings"]
            if f["severity"] in ("error", "warning") and not _checker_is_wrong(f, path)]
    assert left == []


@pytest.mark.slow
@pytest.mark.parametrize("kind", KINDS)
def test_pdfua_finds_nothing(web_pdfs, kind):
    done = subprocess.run([BIN / "pdfua", "check", "-f", "json", web_pdfs[kind]],
                          capture_output=True, text=True, check=False)
    report = json.loads(done.stdout)
    assert [f"{f['rule_id']}: {f['message']}" for f in report["findings"]] == []
    # UA-14-001 (heading nesting) crashes on every file in pdfua 0.1.3 ("cannot get key
    # '/is_integer' on object of type array", its as_integer helper): a checker bug, so that
    # one rule is unchecked by pdfua; outloud's HDG rules check the headings instead.
    assert {s["rule_id"] for s in report.get("skipped", [])} <= {"UA-14-001"}


def _reachable(struct) -> set[int]:
    seen, stack = set(), [struct.raw_get("/K")]
    while stack:
        item = stack.pop()
        target = item.get_object()
        if isinstance(target, list):
            stack.extend(target)
            continue
        if not hasattr(target, "get") or "/S" not in target:
            continue
        if item.idnum in seen:
            continue
        seen.add(item.idnum)
        if "/K" in target:
            stack.append(target.raw_get("/K"))
    return seen


@pytest.mark.parametrize("kind", KINDS)
def test_margin_boxes_are_artifacts(web_pdfs, kind):
    reader = PdfReader(web_pdfs[kind])
    struct = reader.trailer["/Root"]["/StructTreeRoot"]
    reached = _reachable(struct)
    nums = struct["/ParentTree"]["/Nums"]
    orphans = [nums[i] for i in range(0, len(nums), 2)
               if isinstance(nums[i + 1].get_object(), list)
               and any(hasattr(ref, "idnum") and ref.idnum not in reached
                       for ref in nums[i + 1].get_object())]
    assert orphans == []  # no marked content belongs to a structure element outside the tree
    if kind in ("briefing", "bundle"):
        assert len(_pagination_pages(web_pdfs[kind])) >= len(reader.pages) // 2


def _elements(reader, tag: str) -> list:
    struct = reader.trailer["/Root"]["/StructTreeRoot"]
    found, stack = [], [struct.raw_get("/K")]
    while stack:
        target = stack.pop().get_object()
        if isinstance(target, list):
            stack.extend(target)
        elif hasattr(target, "get") and "/S" in target:
            if target["/S"] == tag:
                found.append(target)
            if "/K" in target:
                stack.append(target.raw_get("/K"))
    return found


def test_contents_entries_are_one_link_each_with_a_description(web_pdfs):
    reader = PdfReader(web_pdfs["briefing"])
    annots = [a.get_object() for a in reader.pages[1].get("/Annots", [])]
    descriptions = [str(a["/Contents"]) for a in annots]
    assert "Introduction, page 3" in descriptions
    assert len(descriptions) == len(set(descriptions))  # one annotation per entry
    assert all("--" not in d for d in descriptions)  # no fragment ids
    for link in _elements(reader, "/Link"):
        kids = link["/K"]
        assert not any(hasattr(k.get_object(), "get") and k.get_object().get("/S") == "/Link"
                       for k in kids)  # no link inside a link
    bundle = PdfReader(web_pdfs["bundle"])
    assert len(bundle.pages[1].get("/Annots", [])) == 2  # one per briefing, under its /Link


def test_samples_keep_no_empty_links(web_pdfs):
    for kind in ("briefing sample", "bundle sample"):
        for link in _elements(PdfReader(web_pdfs[kind]), "/Link"):
            assert any(hasattr(k.get_object(), "get") and k.get_object().get("/Type") == "/OBJR"
                       for k in link["/K"])


def test_codes_have_alt_text(web_pdfs):
    for kind in KINDS:
        alts = [str(f.get("/Alt", "")) for f in _elements(PdfReader(web_pdfs[kind]), "/Figure")]
        assert all(alts), kind
        assert any(a.startswith("QR code linking to https://") for a in alts), kind
        if "sample" not in kind:
            assert any(re.fullmatch(r"ISBN 978-[\d-]+ barcode.*", a) for a in alts), kind


def test_header_cells_have_scope_and_ids_an_id_tree(web_pdfs):
    for kind in ("briefing", "bundle"):
        reader = PdfReader(web_pdfs[kind])
        headers = _elements(reader, "/TH")
        assert headers and all("/Scope" in h["/A"] for h in headers)
        ids = reader.trailer["/Root"]["/StructTreeRoot"]["/IDTree"]["/Names"]
        assert {str(h["/ID"]) for h in headers if "/ID" in h} <= {str(n) for n in ids[::2]}


def test_automatic_hyphens_are_soft_and_real_ones_stay(built_project):
    path = built_project / "output" / "web" / "ni-112-under-18-conceptions.pdf"
    reader = PdfReader(path)
    soft = sum(page.get_contents().get_data().count(b"/ActualText <FEFF00AD>")
               for page in reader.pages)
    assert soft >= 10
    assert "under-18" in run("pdftotext", path, "-")


def test_letter_spaced_labels_extract_as_words(web_pdfs):
    text = run("pdftotext", web_pdfs["briefing"], "-")
    for word in ("CONTACT", "CONTENTS", "EXTRA COPIES", "KEY MESSAGES"):
        assert word in text


# -- contrast -------------------------------------------------------------------------------------

def _luminance(rgb) -> float:
    def channel(v):
        return v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4
    r, g, b = (channel(v) for v in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a, b) -> float:
    light, dark = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def _text_pairs(document) -> list[tuple]:
    """(text colour, background, size in pt, weight, text) of every piece of text laid out:
    the background is the nearest box behind it that paints one (else the page's)."""
    from weasyprint.formatting_structure import boxes

    def srgb(color):
        return tuple(round(v, 4) for v in color.to("srgb").coordinates)

    found = []

    def walk(box, background):
        if box.style["background_color"].alpha > 0.5:
            background = srgb(box.style["background_color"])
        if isinstance(box, boxes.TextBox) and box.text.strip():
            found.append((srgb(box.style["color"]), background, box.style["font_size"] * 0.75,
                          box.style["font_weight"], box.text.strip()[:40]))
        for child in getattr(box, "children", []):
            walk(child, background)

    for page in document.pages:
        page_box = page._page_box
        colour = page_box.style["background_color"]
        walk(page_box, srgb(colour) if colour.alpha > 0.5 else (1.0, 1.0, 1.0))
    return found


@pytest.mark.slow
def test_all_text_meets_aa_contrast(project):
    """WCAG 2.2 AA (1.4.3): 4.5:1, or 3:1 for large text (18 pt, or 14 pt bold), for every
    colour pair the house style puts text in: a briefing and a sample's note page."""
    from press.briefing import render, sample
    from press.content.load import load_briefing, load_series
    from press.errors import Problems
    from press.products.shop.products import products
    from press.project import Project

    proj = Project(project)
    problems = Problems()
    series = load_series(proj, problems)
    path = sorted(proj.briefings_dir.glob("*.md"))[0]
    documents = [render(proj, load_briefing(proj, path, series, problems)).laid_out.document,
                 sample.note_page(proj, products(proj)[0], 3, 11, []).document]
    failing = {}
    for document in documents:
        for fg, bg, size, weight, text in _text_pairs(document):
            large = size >= 17.99 or (size >= 13.99 and weight >= 700)
            ratio = contrast(fg, bg)
            if ratio < (3 if large else 4.5):
                failing.setdefault((fg, bg), f"{ratio:.2f}:1 at {size:.1f} pt: {text!r}")
    assert failing == {}
