"""Parallel processes: a generic task runner and a fork helper; knows nothing of briefings.

``run`` calls a top-level work function for each task in worker processes forked from a fork
server that has already imported the modules the caller names (``preload``: WeasyPrint, for
the briefing stage), so that import is paid once per build, not once per worker or per task;
forking from a fresh server rather than from the caller is safe even when the caller runs
threads (the preview server, test runners). With one job, or one task, everything runs in the
calling process. ``Forked`` runs one callable in a forked child beside the caller (a
briefing's print edition while its web edition is written); ``run_beside`` makes a few
things at the same time that way (a bundle's web and print editions).

Results cross the process boundary by pickling: ``ContentError`` pickles with its problems
(``press.errors``), so work functions may raise it in a child and the caller gets it back.
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
from dataclasses import dataclass
from functools import partial
from multiprocessing.context import ForkServerContext
from typing import Any, Generic, TypeVar

from press.core import runtime
from press.errors import ContentError, Problem

T = TypeVar("T")
R = TypeVar("R")


def default_jobs() -> int:
    """The number of cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def _context(preload: Iterable[str]) -> ForkServerContext:
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(list(preload))
    return context


def run(work: Callable[..., R], tasks: Iterable[tuple[str, tuple[Any, ...]]], jobs: int, *,
        preload: Iterable[str] = (), on_start: Callable[[str], None] | None = None,
        on_done: Callable[[str, R], None] | None = None,
        beside: Callable[[], None] | None = None) -> dict[str, R]:
    """Call ``work(*args, fork_beside)`` for each ``(name, args)`` task; returns ``{name: what
    it returned}``.

    ``work`` must be a top-level (picklable) function; ``preload`` names the modules the fork
    server imports once, before any worker is forked from it. ``fork_beside`` tells ``work``
    that there are two cores for its task (see :class:`Forked`). ``on_done`` is called in this
    process as each task finishes, in completion order. Tasks are started in the order given:
    put the longest first so no worker idles at the end.

    ``beside`` is called once in this process while the tasks run elsewhere (work that must be
    done in this process, to be used after them): a lone task then runs in a forked child
    rather than here, where there are two cores; with one, ``beside`` is called first.
    """
    todo = list(tasks)
    results: dict[str, R] = {}
    cores = jobs if jobs > 0 else default_jobs()
    jobs = min(cores, len(todo))
    # Two cores for each task: it may split itself over two processes.
    fork_beside = cores >= 2 * len(todo) and can_fork()
    if jobs <= 1 and beside is not None and todo:
        if len(todo) == 1 and fork_beside:  # the task in a child, ``beside`` here
            name, args = todo[0]
            if on_start:
                on_start(name)
            child = Forked(partial(work, *args, fork_beside))
            try:
                beside()
            except BaseException:
                child.cancel()
                raise
            results[name] = child.result()
            if on_done:
                on_done(name, results[name])
            return results
        beside()
    if jobs <= 1:
        for name, args in todo:
            if on_start:
                on_start(name)
            results[name] = work(*args, fork_beside)
            if on_done:
                on_done(name, results[name])
        return results
    # (the workers are forked from a fresh fork server: they tune their collector again, and
    # collect at task boundaries: runtime.worker_start, runtime.after_task)
    executor = ProcessPoolExecutor(max_workers=jobs, mp_context=_context(preload),
                                   initializer=runtime.worker_start)
    pending: dict[Future[R], str] = {}
    try:
        queue = list(reversed(todo))

        def submit() -> None:
            name, args = queue.pop()
            pending[executor.submit(_task, work, (*args, fork_beside))] = name
            if on_start:
                on_start(name)

        # Keep exactly `jobs` tasks in flight so on_start means "now rendering".
        while queue and len(pending) < jobs:
            submit()
        if beside is not None:
            beside()
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                name = pending.pop(future)
                results[name] = future.result()  # a bug in a worker re-raises here
                if on_done:
                    on_done(name, results[name])
                if queue:
                    submit()
    except BaseException:
        executor.shutdown(wait=False, cancel_futures=True)
        raise
    executor.shutdown(wait=True)
    return results


def _task(work: Callable[..., R], args: tuple[Any, ...]) -> R:
    """One task in a worker, its garbage collected after it (``runtime.after_task``)."""
    try:
        return work(*args)
    finally:
        runtime.after_task()


# -- one task split over two processes ----------------------------------------------------------

def can_fork() -> bool:
    """Forking is available and safe: this process runs no other thread (a thread holding a
    lock when the process forks would leave the lock held for ever in the child)."""
    return hasattr(os, "fork") and threading.active_count() == 1


@dataclass(frozen=True)
class _Early:
    """A first value a forked child hands its parent before it finishes."""

    value: object


@dataclass(frozen=True)
class _Returned(Generic[R]):
    """What the work of a forked child returned."""

    value: R


@dataclass(frozen=True)
class _Raised:
    """What the work of a forked child raised, with the child's traceback."""

    exc: BaseException
    text: str


class _Died:
    """The child sent no outcome (it was killed, or failed sending)."""


class Forked(Generic[R]):
    """``work()`` run in a forked child while this process carries on.

    ``result()`` waits for the child and returns what ``work`` returned, or raises what it
    raised (same type and message, the child's traceback added as a note); ``cancel()`` kills
    it. Either reaps the child, so none is left a zombie. ``work`` must return something that
    pickles (as does a ``ContentError``).
    """

    def __init__(self, work: Callable[..., R], early: bool = False):
        """``early``: ``work`` is called with ``send``, which it may call once to hand this
        process a first value before it finishes (see :meth:`early`)."""
        read_end, write_end = os.pipe()
        self.pid = os.fork()
        if self.pid == 0:  # the child: do the work, send the outcome, leave without cleanup
            code = 0
            try:
                os.close(read_end)
                with os.fdopen(write_end, "wb") as pipe:
                    def send(value: object) -> None:
                        pickle.dump(_Early(value), pipe, protocol=pickle.HIGHEST_PROTOCOL)
                        pipe.flush()

                    outcome: _Returned[R] | _Raised
                    try:
                        outcome = _Returned(work(send) if early else work())
                    except BaseException as exc:
                        outcome = _Raised(exc, "".join(traceback.format_exception(exc)))
                    try:
                        payload = pickle.dumps(outcome, protocol=pickle.HIGHEST_PROTOCOL)
                    except Exception:  # an exception that cannot be pickled
                        text = (outcome.text if isinstance(outcome, _Raised)
                                else traceback.format_exc())
                        payload = pickle.dumps(_Raised(RuntimeError(text), text))
                    pipe.write(payload)
            except BaseException:  # (the parent reports a child that sent nothing)
                code = 1
            finally:
                os._exit(code)  # never return into the parent's code, run no atexit handler
        os.close(write_end)
        self._pipe = os.fdopen(read_end, "rb")
        # the outcome, if read while looking for an early value
        self._final: _Returned[R] | _Raised | _Died | None = None
        self._reaped = False

    def _read(self) -> _Early | _Returned[R] | _Raised | None:
        try:
            message: _Early | _Returned[R] | _Raised = pickle.load(self._pipe)
            return message
        except EOFError:
            return None
        except BaseException:  # Ctrl+C while waiting: the child goes too
            self.cancel()
            raise

    def early(self) -> object:
        """The value the child sent with ``send`` (waiting for it), or None if it finished
        without sending one (its outcome then waits for :meth:`result`)."""
        message = self._read()
        if isinstance(message, _Early):
            return message.value
        self._final = message or _Died()
        return None

    def result(self) -> R:
        message = self._final or self._read()
        while isinstance(message, _Early):  # not asked for: skipped
            message = self._read()
        self._pipe.close()
        _, status = os.waitpid(self.pid, 0)
        self._reaped = True
        if message is None or isinstance(message, _Died):
            raise RuntimeError(f"the process writing in parallel (pid {self.pid}) died "
                               f"({_describe(status)})")
        if isinstance(message, _Returned):
            return message.value
        message.exc.add_note(f"in the forked process {self.pid}:\n{message.text.rstrip()}")
        raise message.exc

    def done(self, wait: float = 0.0) -> bool:
        """The child has finished (its outcome is waiting in the pipe, or it died), waiting up
        to ``wait`` seconds for it."""
        return bool(select.select([self._pipe], [], [], wait)[0])

    def cancel(self) -> None:
        """Kill the child (nothing to do if its result was taken already)."""
        if self._reaped:
            return
        try:
            os.kill(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self._pipe.close()
        os.waitpid(self.pid, 0)
        self._reaped = True


def run_beside(make: Callable[[T], R], keys: Iterable[T]) -> dict[T, R]:
    """``{key: make(key)}`` for every key; all but the first in forked child processes, so
    that they are made at the same time on several cores.

    Serial where forking is unsafe or pointless: one core, no ``fork``, or other threads
    running (the preview server). The ``ContentError`` problems of every key are raised
    together, in the order of ``keys``.
    """
    order = list(keys)
    pending: dict[T, Forked[R]] = {}
    if can_fork() and default_jobs() > 1:
        pending = {key: Forked(partial(make, key)) for key in order[1:]}
    made: dict[T, R] = {}
    problems: dict[T, list[Problem]] = {}
    try:
        for key in order:
            if key not in pending:
                try:
                    made[key] = make(key)
                except ContentError as exc:
                    problems[key] = exc.problems
        while pending:
            key, child = next(iter(pending.items()))
            del pending[key]  # result() reaps the child, whatever it returns
            try:
                made[key] = child.result()
            except ContentError as exc:
                problems[key] = exc.problems
    except BaseException:  # a bug here: leave no child behind
        for child in pending.values():
            child.cancel()
        raise
    if problems:
        raise ContentError([p for key in order for p in problems.get(key, ())])
    return {key: made[key] for key in order}


def _describe(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"signal {os.WTERMSIG(status)}"
    return f"exit code {os.waitstatus_to_exitcode(status)}"
