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


def before_exit() -> None:
    """The command is done and the process is about to exit: the collection Python runs at
    exit would walk every object left (a bundle's parsed PDFs: 0.2 s) to free memory the
    exit frees anyway, so they are frozen out of it. Exit handlers still run."""
    gc.freeze()
