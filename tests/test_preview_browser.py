"""Preview stage end to end, in Debian's headless chromium driven by playwright."""

from __future__ import annotations

import pytest
from conftest import CHROMIUM

from press import preview
from press.project import Project

SLUG = "ni-058-emotional-health"  # the draft: 6 pages, quick to build
WAIT_MS = 90_000  # a build is ~2 s, but the test machine may be busy

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium"),
]



@pytest.fixture
def running(project):
    server = preview.start(Project.at(project), 0, [SLUG])
    yield server
    server.close()


def test_edit_break_fix_in_the_browser(project, running, browser, tmp_path):
    page = browser.new_page(viewport={"width": 1100, "height": 800})
    source = project / "content" / "briefings" / f"{SLUG}.md"
    original = source.read_text(encoding="utf-8")

    page.goto(f"{running.url}b/{SLUG}/")
    page.wait_for_selector(".sheet[data-state=ok] .page:nth-child(6) img", timeout=WAIT_MS)
    assert page.locator(".page img").count() == 6
    assert page.locator(".page[data-changed]").count() == 0
    assert page.locator(".badge").inner_text().lower() == "draft"
    before = [img.get_attribute("src") for img in page.locator(".page img").all()]
    version = int(page.locator(".sheet").get_attribute("data-version"))

    # read from page 3 on; the update must keep the place and not reload the page
    page.locator("#page-3").scroll_into_view_if_needed()
    page.evaluate("window.notReloaded = true")
    scroll = page.evaluate("window.scrollY")
    assert scroll > 1000

    source.write_text(original.replace("NI 58 is the average score", "NI 58 is the mean score"),
                      encoding="utf-8")
    page.wait_for_selector(".page[data-changed] img", timeout=WAIT_MS)
    assert int(page.locator(".sheet").get_attribute("data-version")) > version
    assert page.evaluate("window.notReloaded") is True
    assert abs(page.evaluate("window.scrollY") - scroll) < 5
    after = [img.get_attribute("src") for img in page.locator(".page img").all()]
    changed = [i + 1 for i, (a, b) in enumerate(zip(before, after)) if a != b]
    marked = [int(f.get_attribute("id").split("-")[1])
              for f in page.locator(".page[data-changed]").all()]
    assert changed == marked and 1 not in marked
    assert "changed" in page.locator(".meta").inner_text()
    page.screenshot(path=tmp_path / "changed.png")

    # broken YAML: the error with file:line on top, the last good pages still there, and the
    # reader's page stays where it was on screen
    where = page.locator("#page-3").bounding_box()["y"]
    source.write_text(original.replace("status: draft", "status: [draft"), encoding="utf-8")
    banner = page.wait_for_selector(".banner", timeout=WAIT_MS)
    assert f"content/briefings/{SLUG}.md:15:" in banner.inner_text()
    assert banner.is_visible() and 0 <= banner.bounding_box()["y"] < 200  # in view, on top
    assert abs(page.locator("#page-3").bounding_box()["y"] - where) < 5
    assert [img.get_attribute("src") for img in page.locator(".page img").all()] == after
    page.screenshot(path=tmp_path / "broken.png")

    # fixed: the banner goes, by itself
    source.write_text(original, encoding="utf-8")
    page.wait_for_selector(".banner", state="detached", timeout=WAIT_MS)
    page.wait_for_selector(".sheet[data-state=ok]", timeout=WAIT_MS)
    assert page.evaluate("window.notReloaded") is True

    # the index knows the briefing
    page.goto(running.url)
    row = page.wait_for_selector(f"tr[data-slug='{SLUG}']", timeout=WAIT_MS)
    assert "draft" in row.inner_text().lower() and "Emotional" in row.inner_text()

    # nothing outside the preview is served
    response = page.goto(f"{running.url}../../etc/passwd")  # the browser drops the '..'
    assert response.status in (403, 404) and "root:" not in page.content()
    for target in ("files/..%2f..%2f..%2f..%2fetc%2fpasswd", "%2e%2e/%2e%2e/etc/passwd",
                   "files/%2e%2e%2f%2e%2e%2fcontent/briefings/" + SLUG + ".md"):
        response = page.request.get(running.url + target)
        assert response.status in (403, 404), target
        assert "root:" not in response.text() and "status:" not in response.text()
