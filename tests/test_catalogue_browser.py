"""The web shop's catalogue page (output/upload-review.html) in Debian's headless chromium."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from conftest import CHROMIUM

from press.commands import main
from press.products import shop
from press.project import Project

FAILURES = Path(__file__).resolve().parent / "failures"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed"),
]


@pytest.fixture(scope="module")
def folder(built_project, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("catalogue") / "project"
    shutil.copytree(built_project, root)
    ids = [p.stem for p in (root / "content" / "bundles").glob("*.yaml")]
    if any(not (root / "output" / "web" / "bundles" / f"{i}.pdf").is_file() for i in ids):
        assert main(["--project", str(root), "bundle", "-q"]) == 0
    shop.build(Project.at(root))
    return root / "output" / "upload"



def _open(browser, folder: Path, width: int):
    page = browser.new_page(viewport={"width": width, "height": 900})
    problems: list[str] = []
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}")
            if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("requestfailed", lambda r: problems.append(f"failed: {r.url}"))
    page.goto((folder.parent / "upload-review.html").as_uri(), wait_until="load")
    return page, problems


def _screenshot(page, name: str, tmp_path: Path, failed: bool) -> Path:
    target = (FAILURES if failed else tmp_path) / name
    target.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(target), full_page=True)
    return target


def test_catalogue_page_loads_cleanly(browser, folder, tmp_path):
    page, problems = _open(browser, folder, 1280)
    passed = False
    try:
        images = page.locator("img")
        count = images.count()
        assert count == len(shop_entries(folder))
        for index in range(count):
            image = images.nth(index)
            image.evaluate("img => img.decode()")
            assert image.evaluate("img => img.complete && img.naturalWidth") > 0, index
            assert image.get_attribute("alt").startswith("Cover of ")
            assert "-cover@2x.png 1200w" in image.get_attribute("srcset")
        links = page.eval_on_selector_all("a[href]", "els => els.map(a => a.href)")
        assert links, "no links"
        for url in links:
            parts = urlsplit(url)
            if parts.scheme == "file":
                assert Path(unquote(parts.path)).is_file(), url
            else:
                assert parts.scheme == "" and url.startswith("#"), url
        pdfs = [href.removeprefix("upload/") for href in page.eval_on_selector_all(
            "a.button", "els => els.map(a => a.getAttribute('href'))")]
        for product in shop_entries(folder):
            assert product["files"][0]["name"] in pdfs and product["files"][1]["name"] in pdfs
        assert page.evaluate("document.documentElement.lang") == "en-GB"
        assert page.locator("h1").count() == 1
        assert page.locator("h2").all_inner_texts() == ["Briefings", "Bundles"]
        assert page.locator("h3").count() == len(shop_entries(folder))
        assert "£12.50" in page.inner_text("main")
        assert page.evaluate("document.documentElement.scrollWidth <= innerWidth")
        assert not problems, problems
        passed = True
    finally:
        _screenshot(page, "catalogue-desktop.png", tmp_path, failed=not passed)
        page.close()


def test_catalogue_page_fits_a_phone(browser, folder, tmp_path):
    page, problems = _open(browser, folder, 390)
    passed = False
    try:
        assert page.evaluate("document.documentElement.scrollWidth <= innerWidth")
        first = page.locator("img").first.bounding_box()
        assert 100 < first["width"] <= 390
        widths = page.eval_on_selector_all("img", "els => els.map(i => i.naturalWidth)")
        assert widths and all(w > 0 for w in widths), widths  # (density-corrected)
        assert not problems, problems
        passed = True
    finally:
        _screenshot(page, "catalogue-phone.png", tmp_path, failed=not passed)
        page.close()


def shop_entries(folder: Path) -> list[dict]:
    return json.loads((folder / "catalogue.json").read_text(encoding="utf-8"))["products"]
