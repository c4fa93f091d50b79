"""Limits for the markdown, typeset and write stages: a wall-clock time limit per briefing.

A pathological input (a 50-page table, thousands of unmatched brackets) must fail its briefing
with a message instead of hanging the build. The limit uses ``SIGALRM``/``setitimer``, which
works in the main thread of any process (worker processes included); elsewhere (a thread of
the preview server, Windows) it is a no-op. C code that never returns to Python (a regular
expression, nh3) cannot be interrupted, so the stages also check input sizes up front.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

# Seconds per briefing; the sample's longest briefing needs about 0.2 s, 3 s and 2 s.
# Override with PRESS_TIME_LIMIT_MARKDOWN / _LAYOUT / _WRITE (0 turns a limit off). "write" is
# one PDF write (SVGs are drawn then).
# PRESS_TEST_STALL_<STAGE>=seconds makes a limited stage stall that long inside its limit: the
# tests' deterministic slow input (a library's worst case gets faster with its next release).
DEFAULTS = {"markdown": 30.0, "layout": 120.0, "write": 120.0,
            "preview": 300.0,  # one whole preview build, run in a child it can abandon
            "returns": 30.0,  # one returned feedback form (pypdf parsing a hostile file)
            "review": 30.0}  # reading one returned review draft (products.review.returns)


class TimeLimitExceeded(Exception):
    """A stage did not finish within its time limit."""

    def __init__(self, stage: str, seconds: float):
        super().__init__(f"{stage} did not finish within {seconds:g} s")
        self.stage, self.seconds = stage, seconds


class _Alarm(BaseException):
    """Raised by the signal handler; BaseException so library ``except Exception`` can't eat it."""


def seconds_for(stage: str) -> float:
    value = os.environ.get(f"PRESS_TIME_LIMIT_{stage.upper()}", "")
    try:
        return float(value) if value else DEFAULTS[stage]
    except ValueError:
        return DEFAULTS[stage]


def _stall(stage: str) -> None:
    """The test hook: sleep (interruptibly, so the limit fires) if the environment asks."""
    value = os.environ.get(f"PRESS_TEST_STALL_{stage.upper()}", "")
    try:
        seconds = float(value) if value else 0.0
    except ValueError:
        return
    if seconds > 0:
        time.sleep(seconds)


def _usable() -> bool:
    return hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()


@contextmanager
def time_limit(stage: str, seconds: float | None = None) -> Iterator[None]:
    """Raise :class:`TimeLimitExceeded` if the block runs longer than the stage's limit.

    Nests with an outer limit: the earlier deadline wins and the outer timer is re-armed after.
    """
    seconds = seconds_for(stage) if seconds is None else seconds
    if not seconds or seconds <= 0 or not _usable():
        yield
        return
    outer_remaining, _ = signal.getitimer(signal.ITIMER_REAL)
    ours = min(seconds, outer_remaining) if outer_remaining else seconds
    token = object()

    def handler(signum: int, frame: FrameType | None) -> None:
        raise _Alarm(token)

    previous = signal.signal(signal.SIGALRM, handler)
    started = time.monotonic()
    signal.setitimer(signal.ITIMER_REAL, ours)
    outer_fired = False
    try:
        _stall(stage)
        yield
    except _Alarm as alarm:
        if alarm.args[0] is not token:
            raise
        if outer_remaining and outer_remaining <= seconds and callable(previous):
            outer_fired = True  # the outer deadline came first: the outer context reports it
            previous(signal.SIGALRM, None)
        raise TimeLimitExceeded(stage, seconds) from None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if outer_remaining and not outer_fired:
            left = outer_remaining - (time.monotonic() - started)
            signal.setitimer(signal.ITIMER_REAL, max(left, 1e-3))
