"""Build workers: the PDFs do not depend on how many processes made them."""

from __future__ import annotations

from conftest import copy_project

from press import pipeline, workers
from press.errors import Problems
from press.load import Project
from press.pipeline import Options


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
                                  "print/ni-112-under-18-conceptions.pdf",
                                  "print/ni-112-under-18-conceptions.preflight.json",
                                  "web/ni-112-under-18-conceptions.pdf"]
    for name, data in outputs[1].items():
        assert outputs[2][name] == data, f"{name} differs between --jobs 1 and --jobs 2"


def test_default_jobs_is_the_cores_available():
    assert workers.default_jobs() >= 1
