"""Web shop stage: the upload folder, its catalogue, thumbnails, samples and changes report."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import shutil
import struct
from pathlib import Path

import pytest
from conftest import run
from PIL import Image
from pypdf import PdfReader

from press.commands import main
from press.errors import ContentError
from press.products import shop
from press.products.shop.products import TRADE_SUFFIXES
from press.project import Project

FINALS = ("ni-062-placement-stability", "ni-112-under-18-conceptions")
DRAFT = "ni-058-emotional-health"


def _with_bundles(root: Path) -> Path:
    """Make sure every defined bundle has its web edition (a full build may not assemble them
    yet, depending on which stages are wired into it)."""
    ids = [p.stem for p in (root / "content" / "bundles").glob("*.yaml")]
    if any(not (root / "output" / "web" / "bundles" / f"{i}.pdf").is_file() for i in ids):
        assert main(["--project", str(root), "bundle", "-q"]) == 0
    return root


def _copy(source: Path, target: Path) -> Path:
    shutil.copytree(source, target)
    return target


@pytest.fixture(scope="module")
def shop_root(built_project, tmp_path_factory) -> Path:
    """A copy of the built sample with the web shop folder built (read-only for tests)."""
    root = _with_bundles(_copy(built_project, tmp_path_factory.mktemp("shop") / "project"))
    shop.build(Project.at(root))
    return root


@pytest.fixture
def shop_copy(shop_root, tmp_path):
    """A private copy of ``shop_root`` that a test may change."""
    return lambda: _copy(shop_root, tmp_path / "copy")


def _catalogue(root: Path) -> dict:
    return json.loads((root / "output" / "upload" / "catalogue.json").read_text(encoding="utf-8"))


def _entry(root: Path, product_id: str) -> dict:
    return next(p for p in _catalogue(root)["products"] if p["id"] == product_id)


def _file(entry: dict, role: str) -> dict:
    return next(f for f in entry["files"] if f["role"] == role)


def _text(reader: PdfReader, index: int) -> str:
    return re.sub(r"\s+", " ", reader.pages[index].extract_text() or "").strip()


# -- the catalogue -----------------------------------------------------------------------------

def test_catalogue_lists_every_final_briefing_and_bundle(shop_root):
    catalogue = _catalogue(shop_root)
    ids = [p["id"] for p in catalogue["products"]]
    bundles = sorted(p.stem for p in (shop_root / "content" / "bundles").glob("*.yaml"))
    assert ids == [*FINALS, *bundles]
    assert DRAFT not in ids and not (shop_root / "output" / "upload" / f"{DRAFT}-sample.pdf").exists()
    first = catalogue["products"][0]
    assert first["title"] == "Placement stability for looked after children"
    assert first["series"] == {"id": "performance-pointers", "name": "Performance Pointers"}
    assert first["number"] == 1 and first["indicator"]["code"] == "NI 62"
    assert first["published"] == "2008-04" and first["authors"] == ["Sarah Judd", "Tom Hallam"]
    assert first["price"] == 12.5 and first["isbn"] == "978-1-904984-25-2"
    assert "placement stability" in first["keywords"] and first["summary"].startswith("Frequent")
    assert [f["role"] for f in first["files"]] == ["full", "sample", "cover", "cover@2x",
                                                   "jsonld", "citation", "ris", "bibtex", "csl"]


def test_catalogue_matches_the_files(shop_root):
    web = shop_root / "output" / "upload"
    for product in _catalogue(shop_root)["products"]:
        for entry in product["files"]:
            data = (web / entry["name"]).read_bytes()
            assert entry["bytes"] == len(data), entry["name"]
            assert entry["sha256"] == hashlib.sha256(data).hexdigest(), entry["name"]
        full = PdfReader(web / _file(product, "full")["name"])
        assert product["pages"] == len(full.pages)
        info = run("pdfinfo", web / _file(product, "full")["name"])
        assert f"Pages:           {product['pages']}" in info
    # the CSV says the same, one row per product
    text = (web / "catalogue.csv").read_bytes().decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    products = _catalogue(shop_root)["products"]
    assert [r["id"] for r in rows] == [p["id"] for p in products]
    for row, product in zip(rows, products):
        assert int(row["pages"]) == product["pages"]
        for role in shop.ROLES:
            assert row[f"{role}_sha256"] == _file(product, role)["sha256"]
            assert int(row[f"{role}_bytes"]) == _file(product, role)["bytes"]
    assert rows[0]["price"] == "12.50" and rows[0]["authors"] == "Sarah Judd; Tom Hallam"


def test_folder_holds_the_web_editions(shop_root, built_project):
    web = shop_root / "output" / "upload"
    for slug in FINALS:
        assert (web / f"{slug}.pdf").read_bytes() == \
            (built_project / "output" / "web" / f"{slug}.pdf").read_bytes()
    assert not list((shop_root / "output").glob(".upload.*")), "staging folder left behind"
    assert all(p.stat().st_mode & 0o777 == 0o644 for p in web.rglob("*") if p.is_file())


# -- thumbnails --------------------------------------------------------------------------------

def _png_chunks(data: bytes) -> list[bytes]:
    chunks, pos = [], 8
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        chunks.append(kind)
        pos += 12 + length
    return chunks


@pytest.mark.parametrize("role, width", [("cover", 600), ("cover@2x", 1200)])
def test_thumbnails_are_the_cover_at_the_promised_width(shop_root, role, width):
    web = shop_root / "output" / "upload"
    for product in _catalogue(shop_root)["products"]:
        data = (web / _file(product, role)["name"]).read_bytes()
        assert set(_png_chunks(data)) <= {b"IHDR", b"IDAT", b"IEND"}  # no dates, no text
        with Image.open(io.BytesIO(data)) as image:
            assert image.format == "PNG" and image.width == width
            assert abs(image.height - width * 297 / 210) <= 1  # A4 proportions
            # the cover's teal band is at the top, the page below it is white
            assert _near(image.getpixel((width // 2, width // 12)), (0, 101, 110))
            assert _near(image.getpixel((width // 2, int(image.height * 0.93))), (255, 255, 255))


def _near(pixel, expected, tolerance=12) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(pixel[:3], expected))


# -- samples -----------------------------------------------------------------------------------

def test_sample_has_the_first_pages_and_the_purchase_note(shop_root):
    web = shop_root / "output" / "upload"
    slug = FINALS[0]
    sample = PdfReader(web / f"{slug}-sample.pdf")
    full = PdfReader(web / f"{slug}.pdf")
    assert len(sample.pages) == 3 + 1
    for index in range(3):  # cover, contents, first content page, as in the full briefing
        assert _text(sample, index) == _text(full, index)
    assert "In this briefing" in _text(sample, 1) and "Introduction" in _text(sample, 2)
    note = _text(sample, 3)
    assert "Read the full briefing" in note and "£12.50" in note
    assert "https://www.rip.org.uk/publications" in note
    assert f"first 3 of the {len(full.pages)} pages" in note
    assert sample.metadata.title == \
        "NI 62: Placement stability for looked after children (sample)"
    assert "sample" in [k.strip() for k in sample.metadata["/Keywords"].split(",")]
    info = run("pdfinfo", web / f"{slug}-sample.pdf")
    assert "Tagged:          yes" in info
    assert "No syntax or stream encoding errors" in run("qpdf", "--check",
                                                       web / f"{slug}-sample.pdf")
    entry = _entry(shop_root, slug)
    assert entry["sample_pages"] == 3


def test_bundle_sample(shop_root):
    bundles = _catalogue(shop_root)["products"][len(FINALS):]
    if not bundles:
        pytest.skip("no bundles defined in the sample")
    web = shop_root / "output" / "upload"
    for bundle in bundles:
        sample = PdfReader(web / _file(bundle, "sample")["name"])
        full = PdfReader(web / _file(bundle, "full")["name"])
        assert len(sample.pages) == 4
        assert [_text(sample, i) for i in range(3)] == [_text(full, i) for i in range(3)]
        assert "Read the full bundle" in _text(sample, 3)
        assert sample.metadata.title.endswith("(sample)")
        assert "sample" in sample.metadata["/Keywords"]
        assert "Tagged:          yes" in run("pdfinfo", web / _file(bundle, "sample")["name"])


def test_sample_pages_from_the_series_and_the_briefing(shop_copy):
    root = shop_copy()
    series = root / "content" / "series" / "performance-pointers.yaml"
    series.write_text(series.read_text(encoding="utf-8") + "sample_pages: 2\n", encoding="utf-8")
    source = root / "content" / "briefings" / f"{FINALS[1]}.md"
    text = source.read_text(encoding="utf-8")
    source.write_text(text.replace("\nstatus: final\n", "\nstatus: final\nsample_pages: 5\n", 1),
                      encoding="utf-8")
    # (the samples are written with the web editions: the build makes them again)
    assert main(["--project", str(root), "-q", "--jobs", "1"]) == 0
    web = root / "output" / "upload"
    assert len(PdfReader(web / f"{FINALS[0]}-sample.pdf").pages) == 2 + 1  # the series says 2
    sample = PdfReader(web / f"{FINALS[1]}-sample.pdf")
    assert len(sample.pages) == 5 + 1  # the briefing's own field wins
    assert "first 5 of the 11 pages" in _text(sample, 5)
    assert _entry(root, FINALS[1])["sample_pages"] == 5


def test_a_briefing_is_laid_out_once_for_its_editions_and_its_sample(shop_copy, monkeypatch):
    """The sample is cut from the layout the web and print editions are written from: one
    WeasyPrint layout of each edited briefing per build (the note page is laid out apart)."""
    from press.render import typeset

    root = shop_copy()
    source = root / "content" / "briefings" / f"{FINALS[1]}.md"
    source.write_text(source.read_text(encoding="utf-8") + "\nOne more sentence.\n",
                      encoding="utf-8")
    layouts, real = [], typeset.render
    monkeypatch.setattr(typeset, "render", lambda page, *a, **k: layouts.append(
        Path(page.name).name) or real(page, *a, **k))
    assert main(["--project", str(root), "-q", "--jobs", "1"]) == 0
    assert layouts.count(source.name) == 1, layouts
    sample = PdfReader(root / "output" / "upload" / f"{FINALS[1]}-sample.pdf")
    assert len(sample.pages) == 3 + 1 and "One more sentence" not in _text(sample, 0)


def test_the_shop_lays_out_and_rasterises_nothing(shop_copy, monkeypatch):
    """Thumbnails and samples are made with the web editions (by the briefing's worker and the
    bundles stage): building the folder again copies and checks them, and makes nothing."""
    from press.render import thumbnail, typeset

    root = shop_copy()
    before = shop.listing(root / "output" / "upload")
    shutil.rmtree(root / ".cache" / "records" / "shop")  # so that the folder is built again

    def refused(*args, **kwargs):
        raise AssertionError("the shop step made a layout or a thumbnail")

    monkeypatch.setattr(typeset, "render", refused)
    monkeypatch.setattr(thumbnail, "cover_png", refused)
    report = shop.build(Project.at(root))
    assert shop.listing(root / "output" / "upload") == before and report.changed == []
    # a missing thumbnail is named with the command that makes it, not made here
    (root / "output" / "web" / "covers" / f"{FINALS[0]}-cover.png").unlink()
    shutil.rmtree(root / ".cache" / "records" / "shop")
    with pytest.raises(ContentError) as caught:
        shop.build(Project.at(root))
    assert f"no output/web/covers/{FINALS[0]}-cover.png" in str(caught.value)
    assert f"python build.py briefing {FINALS[0]}" in str(caught.value)
    assert shop.listing(root / "output" / "upload") == before


# -- publishing safely -------------------------------------------------------------------------

def test_rebuild_without_cache_gives_identical_files(shop_copy):
    root = shop_copy()
    web = root / "output" / "upload"
    before = shop.listing(web)
    shutil.rmtree(root / ".cache")  # every record and derived file
    for derived in ("samples", "covers"):  # what the editions bring for the shop, made again
        shutil.rmtree(root / "output" / "web" / derived)
    assert main(["--project", str(root), "-q"]) == 0
    assert shop.listing(web) == before


def test_failed_build_leaves_the_previous_folder(shop_copy, monkeypatch):
    root = shop_copy()
    web = root / "output" / "upload"
    before = shop.listing(web)
    shutil.rmtree(root / ".cache" / "records" / "shop")  # so that the folder is built again

    def broken(entries, release=None):
        raise RuntimeError("disk full")  # fails as the catalogue, the last file, is written

    monkeypatch.setattr(shop, "catalogue_json", broken)
    with pytest.raises(RuntimeError):
        shop.build(Project.at(root))
    assert shop.listing(web) == before
    assert not [p for p in (root / "output").iterdir() if p.name.startswith(".upload.")]

    monkeypatch.undo()
    (root / "output" / "web" / f"{FINALS[1]}.pdf").unlink()  # a final without its edition
    with pytest.raises(ContentError) as caught:
        shop.build(Project.at(root))
    assert f"no web edition output/web/{FINALS[1]}.pdf" in str(caught.value)
    assert f"python build.py briefing {FINALS[1]}" in str(caught.value)
    assert shop.listing(web) == before  # the upload folder keeps the last good state


def test_full_build_with_errors_leaves_the_shop_alone(shop_copy, capsys):
    root = shop_copy()
    before = shop.listing(root / "output" / "upload")
    source = root / "content" / "briefings" / f"{DRAFT}.md"
    source.write_text(re.sub(r"(?m)^number: .*$", "number: seven",
                             source.read_text(encoding="utf-8")), encoding="utf-8")
    assert main(["--project", str(root)]) == 1
    captured = capsys.readouterr()
    assert captured.err.count("'number' must be a positive whole number") == 1
    assert "shop folder not updated because of the errors above" in captured.out
    assert shop.listing(root / "output" / "upload") == before


def test_build_recovers_from_a_killed_swap(shop_copy):
    root = shop_copy()
    out = root / "output"
    before = shop.listing(out / "upload")
    (out / "upload").rename(out / ".upload.old")  # killed between the two renames of the swap
    leftover = out / ".web.99999999.x1y2.staging"  # and a staging folder of a dead build
    leftover.mkdir()
    (leftover / "half.pdf").write_bytes(b"%PDF-1.7")
    shop.build(Project.at(root))
    assert shop.listing(out / "upload") == before
    assert sorted(p.name for p in out.iterdir() if p.name.startswith(".")) == []


def test_truncated_edition_is_refused(shop_copy):
    root = shop_copy()
    path = root / "output" / "web" / f"{FINALS[0]}.pdf"
    path.write_bytes(path.read_bytes()[:5000])
    before = shop.listing(root / "output" / "upload")
    with pytest.raises(ContentError, match="not a readable PDF"):
        shop.build(Project.at(root))
    assert shop.listing(root / "output" / "upload") == before


def test_stale_derived_files_go_and_other_files_stay(shop_copy):
    root = shop_copy()
    web = root / "output" / "upload"
    (web / "gone-briefing-sample.pdf").write_bytes(b"%PDF-1.7\n%%EOF")
    (web / "gone-briefing-cover.png").write_bytes(b"old")
    (web / "robots.txt").write_text("User-agent: *\n", encoding="utf-8")
    report = shop.build(Project.at(root))
    assert not (web / "gone-briefing-sample.pdf").exists()
    assert not (web / "gone-briefing-cover.png").exists()
    assert (web / "robots.txt").read_text(encoding="utf-8") == "User-agent: *\n"
    assert report.unlisted == ["robots.txt"]


# -- what to upload ----------------------------------------------------------------------------

def test_changes_after_editing_one_briefing(shop_copy, capsys):
    root = shop_copy()
    project = ["--project", str(root)]
    assert main([*project, "web", "--changes"]) == 0
    assert "every file is new" in capsys.readouterr().out
    assert main([*project, "web", "--mark-published"]) == 0
    assert (root / "output" / "web-published.json").is_file()
    assert shop.changes(Project.at(root)) == []

    slug = FINALS[1]
    source = root / "content" / "briefings" / f"{slug}.md"
    text = source.read_text(encoding="utf-8")
    subtitle = re.search(r"^subtitle: (.*)$", text, re.M).group(1)
    source.write_text(text.replace(f"subtitle: {subtitle}", f"subtitle: {subtitle} (2nd ed.)", 1),
                      encoding="utf-8")
    assert main([*project, "briefing", slug, "--edition", "web", "-q"]) == 0
    capsys.readouterr()
    assert main([*project, "web"]) == 0
    # its 4 files, its 5 trade files, the 2 catalogue and the 2 release files (ONIX, Crossref)
    assert "13 files differ from the last published upload" in capsys.readouterr().out
    assert main([*project, "web", "--changes"]) == 0
    listed = capsys.readouterr().out.split("\n")
    changed = sorted(line.split()[1] for line in listed if line.startswith("changed"))
    assert changed == sorted([f"{slug}.pdf", f"{slug}-sample.pdf", f"{slug}-cover.png",
                              f"{slug}-cover@2x.png", *shop.CATALOGUE_FILES,
                              *(f"{slug}{s}" for s in TRADE_SUFFIXES.values()),
                              "onix.xml", "crossref.xml"])
    assert not [line for line in listed if line.startswith(("new", "removed"))]
    assert _entry(root, slug)["subtitle"].endswith(" (2nd ed.)")


def test_web_command_usage(shop_copy, capsys):
    root = shop_copy()
    assert main(["--project", str(root), "web", "ni-062-placement-stability"]) == 2
    assert main(["--project", str(root), "web", "--changes", "--mark-published"]) == 2
    shutil.rmtree(root / "output" / "web")
    assert main(["--project", str(root), "web"]) == 1
    err = capsys.readouterr().err
    assert "no web edition output/web/ni-062-placement-stability.pdf" in err
    assert "Traceback" not in err

