"""Progress display for the build stage: one bar on a terminal, a line per failure, a summary.

The bar is drawn on stderr only when stderr is a terminal; in CI logs and pipes the display is
silent (the command line still prints its own summary line). Failures are printed above the
bar as they happen so a long build does not hide them until the end.
"""

from __future__ import annotations

import shutil
import sys
import time
from collections.abc import Callable
from typing import TextIO


class Progress:
    """Counts briefings as they finish; ``enabled`` defaults to "is ``stream`` a terminal"."""

    REDRAW_SECONDS = 0.1  # at most ten redraws a second

    def __init__(self, stream: TextIO | None = None, enabled: bool | None = None,
                 label: str = "building", say: Callable[[str], None] | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.say = say  # for notes shown whether or not there is a bar (None: not shown)
        if enabled is None:
            isatty = getattr(self.stream, "isatty", None)
            enabled = bool(isatty and isatty())
        self.enabled = enabled
        self.label = label
        self.total = 0
        self.done = 0
        self.up_to_date = 0
        self.failed: list[str] = []
        self.running: list[str] = []
        self.started = time.monotonic()
        self._drawn = 0.0
        self._visible = False

    # -- events from the build --------------------------------------------------------------

    def start(self, total: int, up_to_date: int = 0) -> None:
        """``total`` briefings to report on, ``up_to_date`` of them need no work."""
        self.total, self.up_to_date, self.done = total, up_to_date, up_to_date
        self._draw(force=True)

    def begin(self, name: str) -> None:
        self.running.append(name)
        self._draw()

    def finished(self, name: str, ok: bool, message: str = "") -> None:
        self.done += 1
        if not ok:
            self.failed.append(name)
            self._line(f"failed: {name}" + (f": {message}" if message else ""))
        if name in self.running:
            self.running.remove(name)
        self._draw(force=self.done == self.total)

    def note(self, text: str) -> None:
        """Something the user should know (e.g. a removed output), shown above the bar."""
        if self.say is None:
            return
        self._clear()
        self.say(text)
        self._draw(force=True)

    def close(self) -> None:
        """Remove the bar (the caller prints the summary on stdout)."""
        if self._visible:
            self._clear()
            self.stream.flush()

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    # -- drawing ----------------------------------------------------------------------------

    def _line(self, text: str) -> None:
        if not self.enabled:
            return
        self._clear()
        self.stream.write(text + "\n")
        self._draw(force=True)

    def _clear(self) -> None:
        if self._visible:
            self.stream.write("\r\x1b[K")
            self._visible = False

    def _draw(self, force: bool = False) -> None:
        if not self.enabled or not self.total:
            return
        now = time.monotonic()
        if not force and now - self._drawn < self.REDRAW_SECONDS:
            return
        self._drawn = now
        self._clear()
        self.stream.write(self.render(shutil.get_terminal_size((80, 20)).columns))
        self.stream.flush()
        self._visible = True

    def render(self, columns: int) -> str:
        """The bar as one line no wider than ``columns``."""
        counts = f" {self.done}/{self.total}"
        if self.failed:
            counts += f", {len(self.failed)} failed"
        elapsed = int(self.elapsed)
        clock = f" {elapsed // 60}:{elapsed % 60:02d} "
        width = max(10, min(30, columns // 3))
        filled = round(width * self.done / self.total) if self.total else width
        bar = f"{self.label} [" + "#" * filled + "-" * (width - filled) + "]"
        text = bar + counts + clock + ", ".join(self.running)
        return text[: max(0, columns - 1)]
