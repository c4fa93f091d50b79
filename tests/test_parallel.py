"""Build workers: the PDFs do not depend on how many processes made them."""

from __future__ import annotations

import gc
import os
import shutil
import time
from pathlib import Path

import pytest
from conftest import copy_project

from press.build import pipeline
from press.build.pipeline import Options
from press.core import parallel, runtime
from press.errors import Problems
from press.project import Project


def test_jobs_1_and_jobs_2_give_identical_bytes(tmp_path):
    outputs = {}
    for jobs in (1, 2):
        root = copy_project(tmp_path / f"jobs-{jobs}")
        # The biggest briefing is left out to keep this quick; two remain, one per worker.
        (root / "content/briefings/ni-062-placement-stability.md").unlink()
        problems = Problems()
        results = pipeline.build(Project.at(root), None, Options(build_date="2026-01-02"),
                                 problems, jobs=jobs)
        assert not problems.errors
        assert [r.slug for r in results] == ["ni-058-emotional-health",
                                             "ni-112-under-18-conceptions"]
        assert all(r.ok and not r.cached for r in results)
        outputs[jobs] = {p.relative_to(root / "output").as_posix(): p.read_bytes()
                         for p in sorted((root / "output").rglob("*")) if p.is_file()}
    assert sorted(outputs[1]) == ["drafts/ni-058-emotional-health.pdf",
                                  "epub/ni-112-under-18-conceptions.epub",
                                  "html/assets/edition.css",
                                  "html/assets/fonts/Lato-Bold.ttf",
                                  "html/assets/fonts/Lato-BoldItalic.ttf",
                                  "html/assets/fonts/Lato-Italic.ttf",
                                  "html/assets/fonts/Lato-Regular.ttf",
                                  "html/ni-112-under-18-conceptions.html",
                                  "print/ni-112-under-18-conceptions.pdf",
                                  "print/ni-112-under-18-conceptions.preflight.json",
                                  "web/covers/ni-112-under-18-conceptions-cover.png",
                                  "web/covers/ni-112-under-18-conceptions-cover@2x.png",
                                  "web/ni-112-under-18-conceptions.pdf",
                                  "web/samples/ni-112-under-18-conceptions.pdf"]
    for name, data in outputs[1].items():
        assert outputs[2][name] == data, f"{name} differs between --jobs 1 and --jobs 2"


def test_default_jobs_is_the_cores_available():
    assert parallel.default_jobs() >= 1


# -- the print edition written in a forked process beside the web edition -----------------------

def _build_one(root, fork_print):
    from press.content.load import load_all

    project = Project.at(root)
    _, [briefing] = load_all(project, Problems(), ["ni-112-under-18-conceptions"])
    return pipeline.build_briefing(project, briefing, Options(editions=("web", "print")),
                                   fork_print=fork_print)


def _outputs(root):
    return {p.relative_to(root / "output").as_posix(): p.read_bytes()
            for p in sorted((root / "output").rglob("*")) if p.is_file()}


def _zombies() -> list[str]:
    """This process's children that have exited but were never waited for."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] == "Z" and int(fields[1]) == os.getpid():
            found.append(stat.parent.name)
    return found


def test_forked_print_edition_gives_the_same_bytes_and_result(tmp_path, monkeypatch):

    forks, real = [], parallel.Forked
    monkeypatch.setattr(parallel, "Forked", lambda work: forks.append(work) or real(work))
    results, outputs = {}, {}
    root = copy_project(tmp_path / "project")  # one project, so that paths compare equal
    for fork_print in (False, True):
        shutil.rmtree(root / "output", ignore_errors=True)
        results[fork_print] = _build_one(root, fork_print)
        outputs[fork_print] = _outputs(root)
    # the forked path taken exactly once: one child for the sample, one for the print edition
    assert len(forks) == 2, "the forked path was not taken exactly once"
    assert sorted(outputs[False]) == ["epub/ni-112-under-18-conceptions.epub",
                                      "html/assets/edition.css",
                                      "html/assets/fonts/Lato-Bold.ttf",
                                      "html/assets/fonts/Lato-BoldItalic.ttf",
                                      "html/assets/fonts/Lato-Italic.ttf",
                                      "html/assets/fonts/Lato-Regular.ttf",
                                      "html/ni-112-under-18-conceptions.html",
                                      "print/ni-112-under-18-conceptions.pdf",
                                      "print/ni-112-under-18-conceptions.preflight.json",
                                      "web/covers/ni-112-under-18-conceptions-cover.png",
                                      "web/covers/ni-112-under-18-conceptions-cover@2x.png",
                                      "web/ni-112-under-18-conceptions.pdf",
                                      "web/samples/ni-112-under-18-conceptions.pdf"]
    for name, data in outputs[False].items():
        assert outputs[True][name] == data, f"{name} differs between serial and forked"
    serial, forked = results[False], results[True]
    assert serial.ok and forked.ok
    for name in ("outputs", "pages", "warnings", "problems", "preflight", "served"):
        assert getattr(forked, name) == getattr(serial, name), name
    assert _zombies() == []


def _both_ways(tmp_path, monkeypatch, build):
    """``build(root, fork_print)`` serially and forked in one project; outcomes and outputs."""

    forks, real = [], parallel.Forked
    monkeypatch.setattr(parallel, "Forked", lambda work: forks.append(work) or real(work))
    root = copy_project(tmp_path / "project")
    seen = {}
    for fork_print in (False, True):
        assert len(forks) == 0
        shutil.rmtree(root / "output", ignore_errors=True)
        try:
            outcome = build(root, fork_print)
        except Exception as exc:  # noqa: BLE001 - compared below
            outcome = (type(exc), str(exc))
        seen[fork_print] = (outcome, sorted(_outputs(root)) if (root / "output").exists()
                            else [])
        assert _zombies() == []
    assert len(forks) == 2  # the sample's child and the print edition's
    return seen


# the web edition of ni-112, with its sample and thumbnails
# the web edition with its sample, thumbnails and the HTML and EPUB editions made with it
WEB_FILES = ["epub/ni-112-under-18-conceptions.epub", "html/assets/edition.css",
             *[f"html/assets/fonts/Lato-{face}.ttf"
               for face in ("Bold", "BoldItalic", "Italic", "Regular")],
             "html/ni-112-under-18-conceptions.html",
             "web/covers/ni-112-under-18-conceptions-cover.png",
             "web/covers/ni-112-under-18-conceptions-cover@2x.png",
             "web/ni-112-under-18-conceptions.pdf", "web/samples/ni-112-under-18-conceptions.pdf"]


def test_a_print_preflight_failure_in_the_forked_process_is_reported_as_when_serial(
        tmp_path, monkeypatch):
    from press.render import preflight

    check = preflight.check

    def blocking(*args, **kwargs):
        report = check(*args, **kwargs)
        report["blocking"].append("page 1 has no bleed")
        return report

    monkeypatch.setattr(preflight, "check", blocking)

    def build(root, fork_print):
        result = _build_one(root, fork_print)
        return ([p.format(root) for p in result.problems], result.preflight["blocking"],
                sorted(result.outputs))

    seen = _both_ways(tmp_path, monkeypatch, build)
    assert seen[True] == seen[False]
    (problems, blocking, outputs), files = seen[True]
    assert problems == ["content/briefings/ni-112-under-18-conceptions.md: print preflight: "
                        "page 1 has no bleed"]
    assert outputs == ["epub", "html", "web"] and files == WEB_FILES


def test_a_bug_in_the_forked_process_raises_the_same_exception(tmp_path, monkeypatch):
    from press.render import print as print_pdf

    def broken(*args, **kwargs):
        raise ValueError("palette lookup failed")

    monkeypatch.setattr(print_pdf, "write_print", broken)
    seen = _both_ways(tmp_path, monkeypatch, _build_one)
    assert seen[True] == seen[False] == ((ValueError, "palette lookup failed"), WEB_FILES)


def test_a_failed_web_edition_stops_the_forked_print_edition(tmp_path, monkeypatch):
    from press.errors import ContentError
    from press.render import web

    def failing(typeset_, target, ident, excerpt=False):
        raise ContentError.at(typeset_.source, None, "No anchor #missing")

    monkeypatch.setattr(web, "write_web", failing)

    def build(root, fork_print):
        result = _build_one(root, fork_print)
        return [p.message for p in result.problems], result.outputs

    seen = _both_ways(tmp_path, monkeypatch, build)
    assert seen[True] == seen[False] == ((["No anchor #missing"], {}), [])


def test_forked_work_returns_raises_or_reports_a_dead_process():
    assert parallel.Forked(lambda: {"pages": [1, 2]}).result() == {"pages": [1, 2]}
    slow = parallel.Forked(lambda: time.sleep(0.5) or "slept")
    assert not slow.done()  # still sleeping
    assert slow.done(wait=10)  # finished: its outcome waits in the pipe
    assert slow.result() == "slept"

    def fails():
        raise KeyError("cmyk")

    with pytest.raises(KeyError, match="cmyk") as raised:
        parallel.Forked(fails).result()
    assert any("in fails" in note for note in raised.value.__notes__)
    with pytest.raises(RuntimeError, match="died \\(exit code 3\\)"):
        parallel.Forked(lambda: os._exit(3)).result()
    slow = parallel.Forked(lambda: time.sleep(60))
    slow.cancel()
    assert _zombies() == []


def _collector_and_pid(_name, _fork_beside):
    return gc.get_threshold()[0], os.getpid()


def test_workers_collect_garbage_as_the_command_does():
    """Workers are forked from a fresh fork server: they set the collector's threshold again
    (press.core.runtime), as the command's own process does."""
    runtime.tune()
    made = parallel.run(_collector_and_pid, [(name, (name,)) for name in "ab"], jobs=2)
    assert {threshold for threshold, _ in made.values()} == {runtime.YOUNGEST}
    assert os.getpid() not in {pid for _, pid in made.values()}


def test_a_lone_task_runs_in_a_child_while_beside_runs_here():
    """``parallel.run(beside=...)``: with two cores a lone task runs in a forked child while
    ``beside`` runs in this process; with one, ``beside`` first, then the task here."""
    seen = []
    made = parallel.run(_collector_and_pid, [("a", ("a",))], jobs=0,
                        beside=lambda: seen.append(os.getpid()))
    assert seen == [os.getpid()]
    child = made["a"][1] != os.getpid()
    assert child == (parallel.default_jobs() >= 2 and parallel.can_fork())
