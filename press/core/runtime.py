"""How the build's processes run Python: CPython's cyclic garbage collector, tuned for them.

Laying out a briefing, writing a PDF and merging a bundle allocate millions of objects that
live until the stage ends. With CPython's default threshold (a collection of the youngest
objects every 700 net allocations) hundreds of collections run for each briefing and find
almost nothing to free: about 5 % of a layout and write, 15 % of a bundle's web merge
(measured with ``gc.callbacks``). Every 50 000 allocations, they cost almost nothing, and the
processes grow by a few MB at most (the peak RSS is in bench/results.json).
"""

from __future__ import annotations

import gc

YOUNGEST = 50_000  # net allocations between two collections of the youngest generation


def tune() -> None:
    """Collect the youngest generation every :data:`YOUNGEST` allocations (the older
    generations as before, in proportion). For the command's process and every worker."""
    gc.set_threshold(YOUNGEST, *gc.get_threshold()[1:])


def worker_start() -> None:
    """A worker forked from the fork server: tuned as above, and what the server preloaded
    (WeasyPrint, the stages: about a million objects that live as long as the worker) frozen
    out of every collection, so that :func:`after_task` walks only what the tasks made."""
    tune()
    gc.freeze()


def after_task() -> None:
    """A worker finished a task: what it left in reference cycles is collected now, at the
    boundary, rather than left to a threshold of 50 000 allocations that a task's leftovers
    may never reach before the next task grows the heap (workers' peak memory grew with the
    number of briefings each built: 209 → 335 MB at 96)."""
    gc.collect()


def before_exit() -> None:
    """The command is done and the process is about to exit: the collection Python runs at
    exit would walk every object left (a bundle's parsed PDFs: 0.2 s) to free memory the
    exit frees anyway, so they are frozen out of it. Exit handlers still run."""
    gc.freeze()
