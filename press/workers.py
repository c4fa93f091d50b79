"""Build workers: run ``pipeline.build_briefing`` for many briefings in parallel processes.

Each task is ``(project root, slug, options)``; the worker loads the briefing itself, so only
small, plain values cross the process boundary and a ``Result`` comes back. Workers are forked
from a fork server that has already imported WeasyPrint, so the import (about a second) is paid
once per build, not once per worker or per briefing; forking from a fresh server rather than
from the caller is safe even when the caller runs threads (the preview server, test runners).
With one job, or one task, everything runs in the calling process.

When there are at least two cores per briefing (typically one edited briefing), a briefing's
print edition is written in a forked child (``Forked``) while its web edition is written, both
from the one layout.

The PDFs do not depend on which process made them: every input is passed explicitly and each
render uses its own font configuration, so ``--jobs 1`` and ``--jobs 8`` give identical bytes.
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import select
import signal
import threading
import traceback
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


def build_one(root: str, slug: str, options, fork_print: bool = False):
    """The work function: load one briefing from ``root`` and build it (runs in a worker)."""
    from .pipeline import Result, build_briefing

    project = Project(Path(root))
    problems = Problems()
    path = project.briefings_dir / f"{slug}.md"
    briefing = load_briefing(project, path, load_series(project, problems), problems)
    if briefing is None:  # changed on disk since the build started
        return Result(slug, path, problems=problems.errors or [
            Problem(path, None, "could not be loaded")])
    return build_briefing(project, briefing, options, fork_print=fork_print)


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
    cores = jobs if jobs > 0 else default_jobs()
    jobs = min(cores, len(tasks))
    # Two cores for each briefing: its editions are written at the same time.
    fork_print = cores >= 2 * len(tasks) and can_fork()
    if jobs <= 1:
        for slug, options in tasks:
            if on_start:
                on_start(slug)
            results[slug] = build_one(str(root), slug, options, fork_print)
            if on_done:
                on_done(slug, results[slug])
        return results
    executor = ProcessPoolExecutor(max_workers=jobs, mp_context=_context())
    pending: dict[Future, str] = {}
    try:
        queue = list(reversed(tasks))

        def submit():
            slug, options = queue.pop()
            pending[executor.submit(build_one, str(root), slug, options, fork_print)] = slug
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


# -- one task split over two processes ----------------------------------------------------------

def can_fork() -> bool:
    """Forking is available and safe: this process runs no other thread (a thread holding a
    lock when the process forks would leave the lock held for ever in the child)."""
    return hasattr(os, "fork") and threading.active_count() == 1


class Forked:
    """``work()`` run in a forked child while this process carries on.

    ``result()`` waits for the child and returns what ``work`` returned, or raises what it
    raised (same type and message, the child's traceback added as a note); ``cancel()`` kills
    it. Either reaps the child, so none is left a zombie. ``work`` must return something that
    pickles; a ``ContentError`` is better returned than raised (it does not survive pickling).
    """

    def __init__(self, work: Callable[[], object]):
        read_end, write_end = os.pipe()
        self.pid = os.fork()
        if self.pid == 0:  # the child: do the work, send the outcome, leave without cleanup
            code = 0
            try:
                os.close(read_end)
                try:
                    outcome = ("returned", work())
                except BaseException as exc:
                    outcome = ("raised", exc, "".join(traceback.format_exception(exc)))
                try:
                    payload = pickle.dumps(outcome, protocol=pickle.HIGHEST_PROTOCOL)
                except Exception:  # an exception that cannot be pickled
                    text = outcome[2] if outcome[0] == "raised" else traceback.format_exc()
                    payload = pickle.dumps(("raised", RuntimeError(text), text))
                with os.fdopen(write_end, "wb") as pipe:
                    pipe.write(payload)
            except BaseException:  # (the parent reports a child that sent nothing)
                code = 1
            finally:
                os._exit(code)  # never return into the parent's code, run no atexit handler
        os.close(write_end)
        self._pipe = os.fdopen(read_end, "rb")

    def result(self):
        try:
            payload = self._pipe.read()
        except BaseException:  # Ctrl+C while waiting: the child goes too
            self.cancel()
            raise
        self._pipe.close()
        _, status = os.waitpid(self.pid, 0)
        if not payload:
            raise RuntimeError(f"the process writing in parallel (pid {self.pid}) died "
                               f"({_describe(status)})")
        outcome = pickle.loads(payload)
        if outcome[0] == "returned":
            return outcome[1]
        _, exc, text = outcome
        exc.add_note(f"in the forked process {self.pid}:\n{text.rstrip()}")
        raise exc

    def done(self, wait: float = 0.0) -> bool:
        """The child has finished (its outcome is waiting in the pipe, or it died), waiting up
        to ``wait`` seconds for it."""
        return bool(select.select([self._pipe], [], [], wait)[0])

    def cancel(self) -> None:
        try:
            os.kill(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self._pipe.close()
        os.waitpid(self.pid, 0)


def _describe(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"signal {os.WTERMSIG(status)}"
    return f"exit code {os.waitstatus_to_exitcode(status)}"
