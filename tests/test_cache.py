"""Build cache: each kind of dependency rebuilds exactly the briefings (and editions) it affects.

Most cases start from a copy of the built sample and swap the renderer for a recorder
(``press.build.pipeline.build_in_worker``, which runs in this process with ``--jobs 1``), so they check the
cache's decisions without rendering. A few build for real to check the PDFs are never stale.
"""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pytest
from conftest import run

from press.build import cache, pipeline
from press.build.pipeline import EDITIONS, Options
from press.commands.progress import Progress
from press.core import freshness
from press.errors import Problems
from press.project import Project

N058, N062, N112 = ("ni-058-emotional-health", "ni-062-placement-stability",
                    "ni-112-under-18-conceptions")
ALL_OF_SAMPLE = {N058: ("drafts",), N062: ("drafts", "print", "web"),
                 N112: ("drafts", "print", "web")}


def build(root: Path, slugs=None, drafts=True, editions=EDITIONS, force=False, say=None) -> bool:
    """The briefing stage only (``main`` would go on to bundles and the web shop)."""
    problems = Problems()
    results = pipeline.build(Project.at(root), slugs, Options(editions, drafts), problems,
                             jobs=1, force=force, progress=Progress(enabled=False, say=say))
    return not problems.errors and all(r.ok for r in results)


@pytest.fixture
def recorder(monkeypatch):
    """Replace rendering by a stand-in that records what it was asked to build.

    It rewrites each requested output (same bytes, new mtime) and reports the files the
    previous real build served, as the real renderer would for unchanged content.
    """
    calls: dict[str, tuple[str, ...]] = {}

    def fake_build_one(root, slug, options, fork_print=False):
        project = Project(Path(root))
        calls[slug] = tuple(sorted(options.editions))
        result = pipeline.Result(slug, project.briefings_dir / f"{slug}.md")
        result.served = cache.served(project, slug)
        for edition in options.editions:
            for path in project.edition_files(slug, edition):
                data = path.read_bytes() if path.exists() else b"%PDF-1.7\n%%EOF\n"
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(data)
                os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))
            result.outputs[edition] = project.briefing_outputs(slug)[edition]
            result.pages[edition] = 1
        return result

    monkeypatch.setattr(pipeline, "build_in_worker", fake_build_one)
    return calls


@pytest.fixture
def built(copy_built):
    return copy_built()


def test_nothing_changed_nothing_rebuilt(built, recorder):
    assert build(built)
    assert recorder == {}


def append(path: Path, text: str) -> None:
    path.write_text(path.read_text(encoding="utf-8") + text, encoding="utf-8")


def replace_in(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


CHANGES = {
    # what changed: (how to change it, which briefings and editions must be rebuilt)
    "briefing source": (lambda r: append(r / f"content/briefings/{N112}.md", "\nMore.\n"),
                        {N112: ALL_OF_SAMPLE[N112]}),
    "series file": (lambda r: replace_in(r / "content/series/performance-pointers.yaml",
                                         "Sarah Judd", "S. Judd"), ALL_OF_SAMPLE),
    "layout partial": (lambda r: append(r / "layouts/_back.html", "\n"), ALL_OF_SAMPLE),
    "unused template": (lambda r: (r / "layouts/letter-extra.html").write_text("<p>x</p>"),
                        {}),
    "css": (lambda r: append(r / "layouts/briefing.css", "\np { orphans: 3 }\n"),
            ALL_OF_SAMPLE),
    "palette": (lambda r: append(r / "layouts/palette.yaml", "\n# note\n"), ALL_OF_SAMPLE),
    "logo (served to all)": (lambda r: append(r / "assets/logos/c4eo.svg", "\n"),
                             ALL_OF_SAMPLE),
    "figure (served to one)": (
        lambda r: append(r / "assets/figures/ni062-reasons-for-moves.svg", "\n"),
        {N062: ALL_OF_SAMPLE[N062]}),
    "unused asset": (lambda r: (r / "assets/figures/new.svg").write_text("<svg/>"), {}),
    "one output deleted": (lambda r: (r / f"output/web/{N062}.pdf").unlink(),
                           {N062: ("web",)}),
    "one output edited": (lambda r: append(r / f"output/print/{N112}.preflight.json", " "),
                          {N112: ("print",)}),
}


@pytest.mark.parametrize("change", CHANGES)
def test_each_dependency_rebuilds_exactly_what_uses_it(built, recorder, change):
    make_change, expected = CHANGES[change]
    make_change(built)
    assert build(built)
    assert recorder == expected
    recorder.clear()
    assert build(built)  # and then it is up to date again
    assert recorder == {}


def test_tool_versions_and_force_rebuild_everything(built, recorder, monkeypatch):
    assert build(built, force=True)
    assert recorder == ALL_OF_SAMPLE
    recorder.clear()
    versions = freshness.versions()
    monkeypatch.setattr(freshness, "versions", lambda: {**versions, "weasyprint": "999"})
    assert build(built)
    assert recorder == ALL_OF_SAMPLE


def test_build_options(built, recorder):
    # Without --drafts the drafts of final briefings are not wanted, but still accurate: kept.
    assert build(built, drafts=False)
    assert recorder == {}
    assert (built / f"output/drafts/{N062}.pdf").exists()
    # Only the edition asked for is considered.
    append(built / f"content/briefings/{N112}.md", "\nMore.\n")
    assert build(built, drafts=False, editions=("web",))
    assert recorder == {N112: ("web",)}
    # The draft of the edited briefing is now stale and not asked for: removed, not kept.
    recorder.clear()
    assert build(built, drafts=False)
    assert recorder == {N112: ("print",)}
    assert not (built / f"output/drafts/{N112}.pdf").exists()
    assert (built / f"output/drafts/{N062}.pdf").exists()


def test_status_back_to_draft_removes_final_editions(built, recorder):
    replace_in(built / f"content/briefings/{N112}.md", "status: final", "status: draft")
    assert build(built)
    assert recorder == {N112: ("drafts",)}
    for folder, name in (("web", f"{N112}.pdf"), ("print", f"{N112}.pdf"),
                         ("print", f"{N112}.preflight.json")):
        assert not (built / "output" / folder / name).exists()


def test_deleting_a_source_removes_its_outputs(built, recorder):
    (built / f"content/briefings/{N112}.md").unlink()
    said = []
    assert build(built, say=said.append)
    assert recorder == {}
    outputs = [p.relative_to(built).as_posix() for p in (built / "output").rglob("*")
               if N112 in p.name and not p.name.endswith(SHOP_FILES)
               and not p.is_relative_to(built / "output" / "upload")]
    assert outputs == []
    assert not any(r.path.exists() for r in cache.records(Project(built), N112).values())
    assert any(f"removed output/web/{N112}.pdf" in line for line in said)
    assert (built / f"output/web/{N062}.pdf").exists()


# The web shop step of a full build (press.products.shop) drops these, and the briefing's copy in
# output/upload/, for a briefing that is gone: the upload folder changes only in that step.
SHOP_FILES = ("-sample.pdf", "-cover.png", "-cover@2x.png")


def test_failed_build_is_retried(built):
    """Real builds: a failing briefing keeps no cache entry; the fixed one is rebuilt."""
    source = built / f"content/briefings/{N058}.md"
    good = source.read_text(encoding="utf-8")
    append(source, "\nAs shown by [@nobody1999].\n")
    assert not build(built, [N058])
    assert not any(r.path.exists() for r in cache.records(Project(built), N058).values())
    source.write_text(good.replace("## ", "## Revised: ", 1), encoding="utf-8")
    pdf = built / f"output/drafts/{N058}.pdf"
    before = pdf.stat().st_mtime_ns
    assert build(built, [N058])
    assert pdf.stat().st_mtime_ns != before
    assert "Revised:" in run("pdftotext", pdf, "-")


def test_real_rebuild_is_never_stale(built):
    """Change a figure only ni-058 uses: its draft is re-rendered, nothing else is touched."""
    stamps = {p: p.stat().st_mtime_ns for p in (built / "output").rglob("*.pdf")}
    figure = built / "assets/figures/ni058-sdq-bands.svg"
    replace_in(figure, "Illustrative data</text>", "Invented figures</text>")
    assert build(built)
    changed = {p.name for p, ns in stamps.items() if p.stat().st_mtime_ns != ns}
    assert changed == {f"{N058}.pdf"}
    assert "Invented figures" in run("pdftotext", built / f"output/drafts/{N058}.pdf", "-")
    record = json.loads(cache.records(Project(built), N058)["drafts"].path.read_text())
    assert "assets/figures/ni058-sdq-bands.svg" in record["inputs"]


def test_progress_bar_only_on_a_terminal():
    quiet = io.StringIO()
    progress = Progress(stream=quiet)
    progress.start(3)
    progress.finished("a", ok=False, message="boom")
    progress.close()
    assert quiet.getvalue() == ""

    shown = io.StringIO()
    progress = Progress(stream=shown, enabled=True)
    progress.start(3, up_to_date=1)
    progress.begin("ni-062")
    progress.finished("ni-062", ok=False, message="x.md:3: unknown citation")
    progress.finished("ni-112", ok=True)
    progress.close()
    text = shown.getvalue()
    assert "failed: ni-062: x.md:3: unknown citation\n" in text
    assert "3/3, 1 failed" in text
    assert text.endswith("\r\x1b[K")  # the bar is cleared at the end
    assert len(progress.render(40)) <= 39
