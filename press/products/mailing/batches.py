"""Mailing stage, batches: the recipients' feedback forms written in batches by the worker
pool (press.core.parallel) while this process lays out and writes the letters.

Each form depends only on the blank form and its own recipient (``feedback.personal_forms``
writes every copy from one writer, packed by qpdf with a deterministic identifier), so the
files are the same bytes whatever the batch size and the number of workers; a worker writes
its batch straight into the staged folder and returns only how many it wrote, so no process
holds more than one batch of forms.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from press.core import output, parallel
from press.products.mailing.model import Mailing, Recipient, Say

BATCH = 100  # forms a task: large enough that a task's start-up is a small part of it
PRELOAD = ("pypdf", "pikepdf", "press.products.mailing.feedback")


def batches(keys: Sequence[str], size: int) -> list[list[str]]:
    """``keys`` cut into runs of ``size`` (at least 1), in order."""
    size = max(1, size)
    return [list(keys[start:start + size]) for start in range(0, len(keys), size)]


def write_forms(blank: bytes, mailing: Mailing, keys: dict[str, Recipient], folder: str,
                fork_beside: bool = False) -> int:
    """Write ``folder/<key>.pdf`` for each recipient of one batch; returns how many.
    (A top-level function: the pool's workers call it.)"""
    from press.products.mailing.feedback import personal_forms

    written = 0
    for key, data in personal_forms(blank, mailing, dict(keys)):
        output.check_pdf(data)
        (Path(folder) / f"{key}.pdf").write_bytes(data)
        written += 1
    return written


def forms_in_batches(blank: bytes, mailing: Mailing, keys: dict[str, Recipient],
                     folder: Path, *, jobs: int = 0, size: int = BATCH, say: Say = print,
                     beside: Callable[[], None] | None = None) -> int:
    """Every recipient's form into ``folder``, ``size`` a task on ``jobs`` workers (0: every
    core); ``beside`` runs here meanwhile (the letters). Returns the number of forms."""
    runs = batches(list(keys), size)
    tasks: list[tuple[str, tuple[Any, ...]]] = [
        (f"{n}", (blank, mailing, {k: keys[k] for k in run}, str(folder)))
        for n, run in enumerate(runs)]
    done = 0

    def progress(name: str, written: int) -> None:
        nonlocal done
        done += written
        if len(runs) > 1:
            say(f"mailing: {done:,} of {len(keys):,} feedback forms written")

    results = parallel.run(write_forms, tasks, jobs, preload=PRELOAD, on_done=progress,
                           beside=beside)
    return sum(results.values())
