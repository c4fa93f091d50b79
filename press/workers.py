"""Build workers: run ``pipeline.build_briefing`` for many briefings in parallel processes.

Each task is ``(project root, slug, options)``; the worker loads the briefing itself, so only
small, plain values cross the process boundary and a ``Result`` comes back. Workers are forked
from a fork server that has already imported WeasyPrint, so the import (about a second) is paid
once per build, not once per worker or per briefing; forking from a fresh server rather than
from the caller is safe even when the caller runs threads (the preview server, test runners).
With one job, or one task, everything runs in the calling process.

The PDFs do not depend on which process made them: every input is passed explicitly and each
render uses its own font configuration, so ``--jobs 1`` and ``--jobs 8`` give identical bytes.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from pathlib import Path

from .errors import Problem, Problems
from .load import Project, load_briefing, load_series

PRELOAD = ["press.workers", "press.pipeline", "press.load", "press.markdown", "press.layout",
           "press.typeset", "press.preflight"]


def default_jobs() -> int:
    """The number of cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def build_one(root: str, slug: str, options):
    """The work function: load one briefing from ``root`` and build it (runs in a worker)."""
    from .pipeline import Result, build_briefing

    project = Project(Path(root))
    problems = Problems()
    path = project.briefings_dir / f"{slug}.md"
    briefing = load_briefing(project, path, load_series(project, problems), problems)
    if briefing is None:  # changed on disk since the build started
        return Result(slug, path, problems=problems.errors or [
            Problem(path, None, "could not be loaded")])
    return build_briefing(project, briefing, options)


def _context():
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(PRELOAD)
    return context


def run(root: Path, tasks: Iterable[tuple[str, object]], jobs: int,
        on_start: Callable[[str], None] | None = None,
        on_done: Callable[[str, object], None] | None = None) -> dict[str, object]:
    """Build each ``(slug, options)`` task; returns ``{slug: Result}``.

    ``on_done`` is called in this process as each briefing finishes, in completion order.
    Tasks are started in the order given: put the longest first so no worker idles at the end.
    """
    tasks = list(tasks)
    results: dict[str, object] = {}
    jobs = min(jobs if jobs > 0 else default_jobs(), len(tasks))
    if jobs <= 1:
        for slug, options in tasks:
            if on_start:
                on_start(slug)
            results[slug] = build_one(str(root), slug, options)
            if on_done:
                on_done(slug, results[slug])
        return results
    executor = ProcessPoolExecutor(max_workers=jobs, mp_context=_context())
    pending: dict[Future, str] = {}
    try:
        queue = list(reversed(tasks))

        def submit():
            slug, options = queue.pop()
            pending[executor.submit(build_one, str(root), slug, options)] = slug
            if on_start:
                on_start(slug)

        # Keep exactly `jobs` tasks in flight so on_start means "now rendering".
        while queue and len(pending) < jobs:
            submit()
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                slug = pending.pop(future)
                results[slug] = future.result()  # a bug in a worker re-raises here
                if on_done:
                    on_done(slug, results[slug])
                if queue:
                    submit()
    except BaseException:
        executor.shutdown(wait=False, cancel_futures=True)
        raise
    executor.shutdown(wait=True)
    return results
