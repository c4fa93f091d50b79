"""Preview stage: rebuild selection, path sandbox, responses, watcher and builds (no browser)."""

from __future__ import annotations

import base64
import hashlib
import http.client
import os
import re
import socket
import threading
import time
from argparse import Namespace
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image
from pypdf import PdfReader

from press import preview
from press.commands.preview import command
from press.errors import ContentError, UsageError
from press.preview import Deps, PageImage, Preview, View, affected, respond, sandboxed
from press.preview import server as preview_server
from press.preview import state as preview_state
from press.project import Project

SLUG = "ni-058-emotional-health"  # the draft, 6 pages
SERIES = "performance-pointers"


# -- which briefings a change affects ---------------------------------------------------------

@pytest.fixture
def known(project) -> dict[str, Deps]:
    root = Project.at(project)
    figure = root.content / "briefings" / "figure.png"
    return {
        "ni-058-emotional-health": Deps(SERIES, frozenset({figure})),
        "ni-062-placement-stability": Deps(SERIES),
        "ni-112-under-18-conceptions": Deps("other-series"),
    }


ALL = {"ni-058-emotional-health", "ni-062-placement-stability", "ni-112-under-18-conceptions"}


@pytest.mark.parametrize("changed, expected", [
    ("content/briefings/ni-062-placement-stability.md", {"ni-062-placement-stability"}),
    ("content/briefings/new-briefing.md", {"new-briefing"}),
    ("content/series/performance-pointers.yaml",
     {"ni-058-emotional-health", "ni-062-placement-stability"}),
    ("content/series/other-series.yml", {"ni-112-under-18-conceptions"}),
    ("layouts/briefing.css", ALL),
    ("layouts/_cover.html", ALL),
    ("assets/fonts/Lato-Regular.ttf", ALL),
    ("assets/figures/ni058-sdq-bands.svg", ALL),
    ("content/briefings/figure.png", {"ni-058-emotional-health"}),
    ("content/briefings/unused.png", set()),
    ("content/bundles/set.yaml", set()),
    # editors' scratch files: swap, backup, lock and hidden temporary files
    ("content/briefings/.ni-058-emotional-health.md.swp", set()),
    ("content/briefings/ni-058-emotional-health.md~", set()),
    ("content/briefings/.#ni-058-emotional-health.md", set()),
    ("content/briefings/#ni-058-emotional-health.md#", set()),
    ("content/briefings/.ni-058-emotional-health.md.tmp1234", set()),
    ("layouts/.briefing.css.swp", set()),
])
def test_affected(project, known, changed, expected):
    root = Project.at(project)
    assert affected(root, [root.root / changed], known) == expected


def test_affected_series_change_retries_briefings_that_did_not_load(project, known):
    root = Project.at(project)
    known["ni-112-under-18-conceptions"] = Deps(None)  # failed to load: series unknown
    slugs = affected(root, [root.series_dir / "performance-pointers.yaml"], known)
    assert "ni-112-under-18-conceptions" in slugs


def test_affected_by_a_save_by_rename_batch(project, known):
    """vim/sed: write a temporary file, rename it over the briefing: one briefing to rebuild."""
    root = Project.at(project)
    batch = [root.briefings_dir / "sedAbC123", root.briefings_dir / "4913",
             root.briefings_dir / "ni-058-emotional-health.md",
             root.briefings_dir / ".ni-058-emotional-health.md.swp"]
    assert affected(root, batch, known) == {"ni-058-emotional-health"}


# -- the queue ----------------------------------------------------------------------------------

def test_rapid_requests_coalesce_and_the_open_briefing_goes_first(project):
    queue = Preview(Project.at(project))
    for _ in range(5):
        queue.request([SLUG, "ni-112-under-18-conceptions"])
    queue.viewing("ni-112-under-18-conceptions")
    assert queue.next_pending(0) == "ni-112-under-18-conceptions"
    assert queue.next_pending(0) == SLUG
    assert queue.next_pending(0) is None


def test_only_named_slugs_are_previewed(project):
    queue = Preview(Project.at(project), slugs=[SLUG])
    assert list(queue.views) == [SLUG]
    queue.request(["ni-112-under-18-conceptions"])
    assert queue.next_pending(0) is None


# -- the sandbox ----------------------------------------------------------------------------------

@pytest.fixture
def served(tmp_path) -> Path:
    folder = tmp_path / "preview"
    (folder / SLUG).mkdir(parents=True)
    Image.new("RGB", (20, 28), "white").save(folder / SLUG / "abc.png")
    (folder / SLUG / f"{SLUG}.pdf").write_bytes(b"%PDF-1.7\n%%EOF\n")
    (folder / SLUG / ".abc.png.x1.part").write_bytes(b"half")
    (tmp_path / "secret.txt").write_text("secret")
    (folder / SLUG / "link.png").symlink_to(tmp_path / "secret.txt")
    return folder


@pytest.mark.parametrize("path, ok", [
    (f"{SLUG}/abc.png", True),
    (f"/{SLUG}/./abc.png", True),
    (f"{SLUG}/../{SLUG}/abc.png", False),
    ("../secret.txt", False),
    ("..%2fsecret.txt", False),
    ("%2e%2e/secret.txt", False),
    ("/etc/passwd", False),
    (f"{SLUG}/link.png", False),  # a symlink leading out
    (f"{SLUG}/.abc.png.x1.part", False),  # half-written temporary file
    (f"{SLUG}/abc.png%00.txt", False),
    (f"{SLUG}\\..\\..\\secret.txt", False),
    ("C:/Windows/win.ini", False),
    (SLUG, False),  # a folder, not a file
])
def test_sandboxed(served, path, ok):
    result = sandboxed(served, path)
    assert (result is not None) == ok
    if ok:
        assert result.is_relative_to(served)


SEGMENTS = ["..", ".", "", SLUG, "abc.png", "link.png", "%2e%2e", "%2E.", "..%2f", "%2f",
            "%252e%252e", "\\..", "~", "/etc/passwd", "secret.txt", "%00", ".abc.png.x1.part"]


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(SEGMENTS), min_size=1, max_size=6))
def test_sandboxed_never_leaves_the_folder(served, parts):
    result = sandboxed(served, "/".join(parts))
    assert result is None or (result.is_relative_to(served.resolve()) and result.is_file())


# -- responses, without sockets -----------------------------------------------------------------

@pytest.fixture
def shown(project, served) -> Preview:
    state = Preview(Project.at(project), slugs=[SLUG], folder=served)
    state.views[SLUG] = View(
        SLUG, title="Emotional <health>", status="draft", pdf=f"{SLUG}.pdf", built_at=1.0,
        good_at=1.0, version=3,
        pages=(PageImage(1, "abc.png", 20, 28), PageImage(2, "abc.png", 20, 28, changed=True)))
    return state


@pytest.mark.parametrize("target", ["/../../etc/passwd", "/files/../../etc/passwd",
                                    "/files/..%2f..%2f..%2fetc%2fpasswd",
                                    "/files/%2e%2e/%2e%2e/etc/passwd", "/%252e%252e/etc/passwd",
                                    "/b/..%5c..%5cetc/"])
def test_climbing_out_is_forbidden(shown, target):
    assert respond(shown, target).status == 403


@pytest.mark.parametrize("target", ["/etc/passwd", "/files/etc/passwd", "/files/secret.txt",
                                    f"/files/{SLUG}/link.png", f"/files/{SLUG}/missing.png",
                                    "/b/nobody/", "/nothing"])
def test_unknown_paths_are_not_found(shown, target):
    assert respond(shown, target).status == 404


def test_index_lists_every_briefing(shown):
    response = respond(shown, "/")
    text = response.body.decode()
    assert response.status == 200 and response.content_type.startswith("text/html")
    assert f'href="/b/{SLUG}/"' in text and "Emotional &lt;health&gt;" in text  # escaped
    assert "Draft" in text and "<script>" in text and 'id="live"' in text


def test_briefing_page_and_fragment(shown):
    page = respond(shown, f"/b/{SLUG}/").body.decode()
    assert page.startswith("<!DOCTYPE html>") and f'data-slug="{SLUG}"' in page
    fragment = respond(shown, f"/b/{SLUG}/?fragment=1").body.decode()
    assert not fragment.startswith("<!DOCTYPE") and 'data-version="3"' in fragment
    assert fragment.count('<figure class="page"') == 2
    assert fragment.count("data-changed") == 1
    assert f'href="/files/{SLUG}/{SLUG}.pdf?v=3"' in fragment
    assert f'src="/files/{SLUG}/abc.png" width="20" height="28"' in fragment
    assert respond(shown, f"/b/{SLUG}").status == 301


def test_problems_are_shown_above_the_last_good_pages(shown):
    shown.views[SLUG] = replace(shown.views[SLUG], problems=(
        "content/briefings/x.md:15: invalid YAML <here>",))
    fragment = respond(shown, f"/b/{SLUG}/?fragment=1").body.decode()
    assert 'role="alert"' in fragment and "x.md:15: invalid YAML &lt;here&gt;" in fragment
    assert fragment.index("role=\"alert\"") < fragment.index("<figure")
    assert "Showing the last pages that built" in fragment
    index = respond(shown, "/").body.decode()
    assert "1 problem" in index and "x.md:15" in index


def test_the_inline_script_is_the_one_the_csp_allows(shown):
    """The script comes from static/preview.js; the CSP names it by the hash of that text."""
    page = respond(shown, f"/b/{SLUG}/").body.decode()
    script = page.split("<script>", 1)[1].split("</script>", 1)[0]
    assert script == (Path(preview.__file__).parent / "static" / "preview.js").read_text("utf-8")
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    assert f"script-src 'sha256-{digest}'" in preview_server.CSP


def test_files_are_served_with_types(shown):
    image = respond(shown, f"/files/{SLUG}/abc.png")
    assert image.status == 200 and image.content_type == "image/png"
    assert image.body.startswith(b"\x89PNG") and "immutable" in image.headers["Cache-Control"]
    pdf = respond(shown, f"/files/{SLUG}/{SLUG}.pdf?v=3")
    assert pdf.status == 200 and pdf.content_type == "application/pdf"
    assert pdf.headers["Cache-Control"] == "no-cache"


# -- the server over a real socket ---------------------------------------------------------------

@pytest.fixture
def server(project, served):
    running = preview.PreviewServer(Project.at(project), 0, [SLUG], folder=served,
                                    watch=False, build=False).start()
    yield running
    running.close()


def _get(server, path, host=None):
    connection = http.client.HTTPConnection(preview.HOST, server.port, timeout=5)
    connection.putrequest("GET", path, skip_host=True)
    connection.putheader("Host", host or f"{preview.HOST}:{server.port}")
    connection.endheaders()
    response = connection.getresponse()
    return response, response.read(), connection


def test_server_refuses_paths_outside_the_preview(server):
    response, body, _ = _get(server, "/../../etc/passwd")  # sent as is, not normalised
    assert response.status == 403 and b"root:" not in body
    response, body, _ = _get(server, "/files/..%2f..%2f..%2f..%2fetc%2fpasswd")
    assert response.status == 403
    assert "default-src 'none'" in response.getheader("Content-Security-Policy")


def test_server_refuses_other_host_names(server):
    """A web page rebinding its DNS name to 127.0.0.1 must not read the preview."""
    response, _, _ = _get(server, "/", host="attacker.example:80")
    assert response.status == 403
    response, _, _ = _get(server, "/", host=f"localhost:{server.port}")
    assert response.status == 200


def test_server_listens_on_loopback_only(server):
    assert server.httpd.server_address[0] == "127.0.0.1"
    assert server.url == f"http://127.0.0.1:{server.port}/"


def test_events_stream_announces_builds(server):
    connection = http.client.HTTPConnection(preview.HOST, server.port, timeout=5)
    connection.request("GET", f"/events?slug={SLUG}")
    response = connection.getresponse()
    assert response.getheader("Content-Type") == "text/event-stream"
    assert response.fp.readline() == b"retry: 1000\n"
    response.fp.readline()
    deadline = time.monotonic() + 5
    while SLUG not in server.preview._viewed and time.monotonic() < deadline:
        time.sleep(0.01)  # the handler registers the viewer, then waits for news
    server.preview._update(SLUG, building=True)
    line = response.fp.readline().decode()
    assert line.startswith("data: ") and f'"slug": "{SLUG}"' in line and "building" in line
    connection.close()


# -- command line --------------------------------------------------------------------------------

def test_command_rejects_unknown_slug(project):
    with pytest.raises(ContentError, match="no briefing 'ni-058-emotional'.*did you mean"):
        command(Project.at(project), Namespace(slugs=["ni-058-emotional"], port=0), print)


def test_command_reports_a_busy_port(project):
    with socket.socket() as taken:
        taken.bind((preview.HOST, 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(UsageError, match=f"cannot listen on 127.0.0.1:{port}.*--port"):
            command(Project.at(project), Namespace(slugs=[], port=port), print)


# -- the watcher ---------------------------------------------------------------------------------

def test_watcher_reports_a_save_by_rename(project):
    root = Project.at(project)
    batches: list[set[Path]] = []
    arrived = threading.Event()

    def collect(paths):
        batches.append(paths)
        arrived.set()

    source = root.briefings_dir / f"{SLUG}.md"
    text = source.read_text(encoding="utf-8")
    watcher = preview.Watcher(root, collect).start()
    try:
        # the watch may take a moment to start: save until a batch arrives
        for attempt in range(20):
            scratch = root.briefings_dir / f".{SLUG}.md.swp"
            scratch.write_text(text + f"\n<!-- {attempt} -->\n", encoding="utf-8")
            os.replace(scratch, source)
            if arrived.wait(0.5):
                break
        assert arrived.is_set(), "no change reported"
    finally:
        watcher.close()
    assert any(source in batch for batch in batches)
    known = {SLUG: Deps(SERIES)}
    assert set().union(*(affected(root, b, known) for b in batches)) == {SLUG}


# -- building ------------------------------------------------------------------------------------

@pytest.mark.slow
def test_build_edit_break_fix(project, tmp_path):
    """One draft through its life: first build, an edit, broken YAML, the fix."""
    root = Project.at(project)
    reports: list[str] = []
    state = Preview(root, slugs=[SLUG], report=reports.append)
    source = root.briefings_dir / f"{SLUG}.md"
    original = source.read_text(encoding="utf-8")

    first = state.build(SLUG)
    assert first.status == "draft" and not first.problems and len(first.pages) == 6
    assert not any(page.changed for page in first.pages)
    folder = state.folder / SLUG
    assert folder.is_relative_to(root.cache)
    with Image.open(folder / first.pages[0].name) as image:
        assert image.size == (first.pages[0].width, first.pages[0].height)
        assert abs(image.size[0] / image.size[1] - 210 / 297) < 0.01  # trimmed A4, no bleed
    assert (folder / f"{SLUG}.pdf").read_bytes().startswith(b"%PDF-")
    assert state.deps[SLUG].series == SERIES

    # a word in one paragraph: that page is redrawn and marked, the cover is untouched
    source.write_text(original.replace("NI 58 is the average score",
                                       "NI 58 is the mean score"), encoding="utf-8")
    edited = state.build(SLUG)
    changed = [page.number for page in edited.pages if page.changed]
    assert changed and 1 not in changed and len(changed) < 6
    assert edited.pages[0].name == first.pages[0].name
    assert all((folder / page.name).is_file() for page in edited.pages)
    assert edited.version > first.version

    # broken YAML: the problem with file:line, the last good pages kept
    source.write_text(original.replace("status: draft", "status: [draft"), encoding="utf-8")
    broken = state.build(SLUG)
    assert broken.problems and broken.pages == edited.pages
    assert broken.problems[0].startswith(f"content/briefings/{SLUG}.md:15: ")
    assert any("not built" in line for line in reports)

    # fixed: the problem clears; marks compare with the last good build
    source.write_text(original, encoding="utf-8")
    fixed = state.build(SLUG)
    assert not fixed.problems and len(fixed.pages) == 6
    assert [p.number for p in fixed.pages if p.changed] == changed

    # removing the file removes the briefing
    source.unlink()
    assert state.build(SLUG) is None and SLUG not in state.views


def test_an_edited_layout_template_shows_at_the_next_build(project):
    """The preview compiles the layouts' templates once, in the process every build is forked
    from (layout.environment, compile_templates); a template edited since is compiled again."""
    root = Project.at(project)
    state = Preview(root, slugs=[SLUG], report=lambda line: None)
    first = state.build(SLUG)
    assert not first.problems
    pdf = state.folder / SLUG / f"{SLUG}.pdf"
    assert "About the house edit" not in _text(pdf)
    template = root.layouts / "_back.html"
    text = template.read_text(encoding="utf-8")
    assert "About {{ series.publisher }}" in text
    template.write_text(text.replace("About {{ series.publisher }}", "About the house edit"),
                        encoding="utf-8")
    later = template.stat().st_mtime_ns + 1_000_000_000  # a save a second later, at least
    os.utime(template, ns=(later, later))
    edited = state.build(SLUG)
    assert not edited.problems
    assert "About the house edit" in _text(pdf)


def _text(pdf) -> str:
    return " ".join(page.extract_text() for page in PdfReader(pdf).pages)


def test_a_bug_while_building_is_shown_not_fatal(project, monkeypatch):
    root = Project.at(project)
    state = Preview(root, slugs=[SLUG])

    def broken(*args):
        raise ZeroDivisionError("boom")

    monkeypatch.setattr(preview_state, "typeset_briefing", broken)
    monkeypatch.setattr(preview_state.log, "exception", lambda *a, **k: None)
    view = state.build(SLUG)
    assert view.problems and "internal error ZeroDivisionError: boom" in view.problems[0]
    assert view.problems[0].startswith(f"content/briefings/{SLUG}.md: ")


@pytest.mark.slow
def test_time_rebuild_for_the_bench(project):
    def edit(text):
        return text.replace("NI 58 is the average", "NI 58 is the")

    seconds = preview.time_rebuild(Project.at(project), SLUG, edit)
    assert 0 < seconds < 60


def test_odd_file_names_are_quoted_in_links(shown):
    """A file named 'my <notes>.md' is not a valid slug, but the preview still links it."""
    shown.views["my <notes>"] = View("my <notes>", problems=("x.md: not a valid slug",))
    index = respond(shown, "/").body.decode()
    assert 'href="/b/my%20%3Cnotes%3E/"' in index and "my &lt;notes&gt;" in index
    assert respond(shown, "/b/my%20%3Cnotes%3E/").status == 200


def test_a_hung_build_is_abandoned_and_the_preview_goes_on(project, monkeypatch):
    """SIGALRM does nothing in the builder thread: the build runs in a child that is killed."""
    root = Project.at(project)
    state = Preview(root, slugs=[SLUG])
    real = preview_state.typeset_briefing

    def hang(*args):
        time.sleep(60)

    monkeypatch.setenv("PRESS_TIME_LIMIT_PREVIEW", "1")
    monkeypatch.setattr(preview_state, "typeset_briefing", hang)
    started = time.monotonic()
    view = state.build(SLUG)
    assert time.monotonic() - started < 10
    assert view.problems and "did not finish within 1 s and was abandoned" in view.problems[0]
    assert view.problems[0].startswith(f"content/briefings/{SLUG}.md: ")
    monkeypatch.setattr(preview_state, "typeset_briefing", real)
    monkeypatch.setenv("PRESS_TIME_LIMIT_PREVIEW", "300")
    view = state.build(SLUG)
    assert not view.problems and len(view.pages) == 6


def test_yaml_problems_are_shown_with_their_line(project):
    root = Project.at(project)
    state = Preview(root, slugs=[SLUG])
    source = root.briefings_dir / f"{SLUG}.md"
    text = source.read_text(encoding="utf-8")
    source.write_text(re.sub(r"(?m)^published: .*$", "published: 2009-02-30", text, count=1),
                      encoding="utf-8")
    view = state.build(SLUG)
    assert view.problems and "internal error" not in view.problems[0]
    assert re.match(rf"content/briefings/{SLUG}\.md:\d+: 'published' is not a real date",
                    view.problems[0]), view.problems
