"""Preview stage, watcher: batches of changed files under content/, layouts/ and assets/."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path

import watchfiles

from press.project import Project

log = logging.getLogger("press.preview")  # one logger for the whole stage, as before its split

WATCHED = ("content", "layouts", "assets")
STEP_MS = 50  # a batch of file events is handed over after this much quiet (the debounce)


class Watcher:
    """Hands batches of changed paths to ``on_change`` from a background thread.

    watchfiles groups events until ``STEP_MS`` pass without one, so an editor's burst of
    writes (or its write-temporary-then-rename) arrives as one batch.
    """

    def __init__(self, project: Project, on_change: Callable[[set[Path]], None]):
        self.project = project
        self.on_change = on_change
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="preview-watcher", daemon=True)

    def start(self) -> Watcher:
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._watch()
            except (OSError, RuntimeError):  # e.g. a watched folder was removed and recreated
                log.warning("preview: file watching failed; restarting it", exc_info=True)
                self._stop.wait(1.0)

    def _watch(self) -> None:
        # rust_timeout=0: wait for changes without a timeout. On a timeout watchfiles clears
        # its change set, which could drop an event arriving at that instant.
        roots = [self.project.root / name for name in WATCHED]
        for changes in watchfiles.watch(*[r for r in roots if r.is_dir()], step=STEP_MS,
                                        stop_event=self._stop,
                                        rust_timeout=0, raise_interrupt=False):
            try:
                self.on_change({Path(path) for _, path in changes})
            except Exception:  # noqa: BLE001 -- keep watching whatever went wrong
                log.exception("preview: error handling file changes")

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
