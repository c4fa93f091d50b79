"""Preview stage, state: the briefings shown, their last builds, and the queue of builds."""

from __future__ import annotations

import logging
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from press.briefing.layout import layout_files
from press.core import limits, parallel
from press.errors import ContentError, Problem
from press.preview.changes import Deps, affected
from press.preview.pages import (
    Built,
    PageImage,
    draw,
    fingerprints,
    pages_pdf,
    publish,
    rasterise,
    typeset_briefing,
    warm_up,
)
from press.project import Project

log = logging.getLogger("press.preview")  # one logger for the whole stage, as before its split

Event = dict[str, object]  # one server-sent event to the browser (JSON)

MISSING_GRACE_S = 0.25  # save-by-rename: the file may be briefly absent


@dataclass(frozen=True)
class _Outcome:
    """What a build in the forked child sends back (it pickles; the layout stays there)."""

    title: str
    status: str
    pages: tuple[PageImage, ...]
    deps: Deps
    prints: tuple[str, ...]  # the pages' fingerprints
    warnings: tuple[str, ...]


@dataclass(frozen=True)
class View:
    """What the browser shows for one briefing."""

    slug: str
    title: str = ""
    status: str = ""  # "draft", "final" or "" before the first successful load
    pages: tuple[PageImage, ...] = ()
    pdf: str = ""  # file name in the preview folder
    built_at: float = 0.0  # wall-clock time of the last build attempt
    good_at: float = 0.0  # ... and of the last one that succeeded (the pages shown)
    seconds: float = 0.0
    problems: tuple[str, ...] = ()  # "path:line: message (hint)"
    warnings: tuple[str, ...] = ()
    version: int = 0
    building: bool = False

    @property
    def changed(self) -> int:
        return sum(page.changed for page in self.pages)


class Preview:
    """The briefings being previewed, their last builds, and the queue of pending builds.

    Thread-safe: the builder thread writes views, server threads read them.
    """

    def __init__(self, project: Project, slugs: Iterable[str] | None = None,
                 folder: Path | None = None, report: Callable[[str], None] | None = None,
                 failed: Callable[[str, list[Problem]], None] | None = None):
        self.project = project
        self.folder = (folder or project.preview_cache).resolve()
        self.only = frozenset(slugs) if slugs else None
        self.report = report or log.info
        # a failed build's problems, for the terminal (``press.commands.report`` prints them);
        # without a printer, one line through ``report``
        self.failed = failed or (lambda slug, problems: self.report(
            f"{slug}: not built, {len(problems)} problem{'s' if len(problems) != 1 else ''}"))
        self._lock = threading.Lock()
        self._work = threading.Condition(self._lock)
        self._news = threading.Condition(self._lock)
        self.views: dict[str, View] = {}
        self.deps: dict[str, Deps] = {}
        self._prints: dict[str, tuple[str, ...]] = {}  # page fingerprints of the last good build
        self.version = 0
        self._events: list[tuple[int, Event]] = []
        self._pending: set[str] = set()
        self._viewed: dict[str, float] = {}
        self.stopping = threading.Event()
        self._warm = False  # warm_up() done in this process (see _in_child)
        for slug in self._slugs_on_disk():
            self.views[slug] = View(slug)

    # - queue -

    def _slugs_on_disk(self) -> list[str]:
        slugs = [p.stem for p in self.project.briefing_paths()]
        return [s for s in slugs if self.only is None or s in self.only]

    def request(self, slugs: Iterable[str]) -> None:
        """Queue builds (a slug already queued is built once: rapid saves coalesce here)."""
        slugs = {s for s in slugs if self.only is None or s in self.only}
        if slugs:
            with self._work:
                self._pending |= slugs
                self._work.notify_all()

    def on_changes(self, paths: Iterable[Path]) -> None:
        with self._lock:
            known = {slug: self.deps.get(slug, Deps()) for slug in self.views}
        slugs = affected(self.project, paths, known)
        if slugs:
            log.debug("changes affect %s", ", ".join(sorted(slugs)))
        self.request(slugs)

    def viewing(self, slug: str) -> None:
        """The browser has this briefing open: build it before the others.

        Only a briefing of this preview is remembered: any page on any site can make the
        browser ask for /events?slug=... (the request is sent before CORS refuses the answer),
        so an unknown slug must not grow the dictionary."""
        with self._lock:
            if slug not in self.views:
                return
            self._viewed[slug] = time.monotonic()
            if len(self._viewed) > len(self.views):  # briefings deleted since they were viewed
                self._viewed = {s: t for s, t in self._viewed.items() if s in self.views}

    def next_pending(self, timeout: float | None = None) -> str | None:
        with self._work:
            self._work.wait_for(lambda: self._pending or self.stopping.is_set(), timeout)
            if self.stopping.is_set() or not self._pending:
                return None
            slug = min(self._pending, key=lambda s: (-self._viewed.get(s, 0.0), s))
            self._pending.discard(slug)
            return slug

    def run_builder(self) -> None:
        while not self.stopping.is_set():
            slug = self.next_pending(timeout=0.5)
            if slug is None:
                continue
            try:
                self.build(slug)  # content errors are handled inside; this is for bugs
            except Exception:  # noqa: BLE001 -- the builder must outlive any one build
                log.exception("preview: unexpected error building %s", slug)

    # - events -

    def _announce(self, event: Event) -> None:
        """Record an event for /events listeners (call with the lock held)."""
        self.version += 1
        self._events.append((self.version, event))
        del self._events[:-200]
        self._news.notify_all()

    def wait_events(self, seen: int, timeout: float) -> tuple[list[Event], int]:
        """Events after version ``seen`` (waiting up to ``timeout``), and the new version."""
        with self._news:
            self._news.wait_for(lambda: self.version > seen or self.stopping.is_set(), timeout)
            return [e for v, e in self._events if v > seen], self.version

    def snapshot(self) -> list[View]:
        with self._lock:
            return [self.views[s] for s in sorted(self.views)]

    def view(self, slug: str) -> View | None:
        with self._lock:
            return self.views.get(slug)

    def stop(self) -> None:
        self.stopping.set()
        with self._lock:
            self._work.notify_all()
            self._news.notify_all()

    # - building -

    def _update(self, slug: str, **changes: Any) -> View:
        with self._lock:
            current = self.views.get(slug) or View(slug)
            view = replace(current, version=self.version + 1, **changes)
            self.views[slug] = view
            self._announce({"slug": slug, "state": "building" if view.building else "built",
                            "version": view.version})
            return view

    def build(self, slug: str) -> View | None:
        """Build one briefing now; failures keep the last good pages and record the problems."""
        path = self.project.briefings_dir / f"{slug}.md"
        if not path.is_file():
            time.sleep(MISSING_GRACE_S)  # an editor's save-by-rename may be half done
            if not path.is_file():
                with self._lock:
                    self.views.pop(slug, None)
                    self.deps.pop(slug, None)
                    self._prints.pop(slug, None)
                    self._announce({"slug": slug, "state": "removed"})
                self.report(f"{slug}: file removed")
                return None
        previous = self._update(slug, building=True)
        started = time.monotonic()
        folder = self.folder / slug
        folder.mkdir(parents=True, exist_ok=True)
        pdf_name = f"{slug}.pdf"
        with self._lock:
            before = self._prints.get(slug)

        def work(send: Callable[[object], None]) -> _Outcome:
            result = typeset_briefing(self.project, path)
            prints = fingerprints(result.laid_out,
                                  layout_files(self.project, result.briefing.layout))

            def outcome(pages: Iterable[PageImage]) -> _Outcome:
                return _Outcome(result.briefing.title, result.briefing.status, tuple(pages),
                                result.deps, tuple(prints),
                                tuple(w.format(self.project.root) for w in result.warnings))

            if before is not None and previous.pages:  # draw only the pages that changed
                pages = self._draw_changed(result, prints, before, previous.pages, folder)
                send(outcome(pages))  # shown now; the PDF follows (a third of the build)
            else:
                pages = None
            pdf = result.pdf()
            pages = pages if pages is not None else rasterise(pdf, folder)
            publish(folder / pdf_name, pdf)
            result.html_edition(self.project, folder)  # issue #31: shown beside the pages
            return outcome(pages)

        def show_early(outcome: _Outcome) -> None:  # the pages, before their PDF is written
            self._show(slug, outcome, outcome.pages, "", started)

        try:
            outcome = self._in_child(work, path, show_early)
        except ContentError as exc:
            return self._failed(slug, path, exc.problems, started)
        except OSError as exc:  # the preview folder is not writable, the disk is full
            return self._failed(slug, path, [Problem(path, None, f"{exc.strerror or exc}: "
                                                     f"{exc.filename or ''}")], started)
        except Exception as exc:  # noqa: BLE001 -- a bug must not take the server down
            log.exception("preview: unexpected error building %s", slug)
            return self._failed(slug, path, [Problem(
                path, None, f"internal error {type(exc).__name__}: {exc} (a bug in briefing "
                "press; details in the terminal)")], started)
        with self._lock:
            self.deps[slug] = outcome.deps
            self._prints[slug] = outcome.prints
        shown = self.views.get(slug)
        early = shown is not None and shown.pages == outcome.pages and not shown.pdf
        view = self._show(slug, outcome, outcome.pages, pdf_name, started,
                          seconds=shown.seconds if early and shown is not None else None)
        _tidy(folder, {p.name for p in outcome.pages + previous.pages} | {pdf_name})
        changed = f", {view.changed} changed" if view.changed else ""
        self.report(f"{slug}: {len(outcome.pages)} pages in {view.seconds:.1f} s{changed}")
        return view

    def _in_child(self, work: Callable[[Callable[[object], None]], _Outcome], path: Path,
                  show_early: Callable[[_Outcome], None]) -> _Outcome:
        """Run one build in a forked child with a wall-clock bound. In this thread SIGALRM
        limits do nothing; in the child (whose only thread is the forking one) the stages'
        own limits work too. A child that runs over is killed and the build reported failed;
        the preview keeps serving the last good pages."""
        seconds = limits.seconds_for("preview")
        if not self._warm:
            self._warm = True
            try:
                with tempfile.TemporaryDirectory(prefix="press-warm-") as scratch:
                    warm_up(self.project, Path(scratch))
            except (ContentError, OSError) as exc:  # only speed is lost
                log.warning("preview: warm-up failed: %s", exc)
        child = parallel.Forked(work, early=True)
        deadline = time.monotonic() + seconds if seconds > 0 else None
        waiting_early = True
        while True:
            if child.done(wait=0.25):
                if not waiting_early:
                    break
                waiting_early = False
                value = child.early()  # the changed pages, drawn (None: the build is over)
                if value is None:
                    break
                assert isinstance(value, _Outcome)  # what work() sends
                show_early(value)
                continue
            if self.stopping.is_set() or (deadline and time.monotonic() > deadline):
                child.cancel()
                if self.stopping.is_set():
                    raise ContentError.at(path, None, "preview stopped during the build")
                raise ContentError.at(path, None, f"the preview build did not finish within "
                                      f"{seconds:g} s and was abandoned",
                                      "look for SVG figures with many nested <use> copies or "
                                      "very long tables; raise PRESS_TIME_LIMIT_PREVIEW")
        return child.result()

    def _draw_changed(self, result: Built, prints: Sequence[str], before: Sequence[str],
                      previous: Sequence[PageImage], folder: Path) -> tuple[PageImage, ...]:
        """PageImages for every page, drawing only those whose fingerprint changed."""
        pages = result.laid_out.document.pages
        todo = [i for i, key in enumerate(prints)
                if i >= len(before) or i >= len(previous) or before[i] != key]
        drawn = dict(zip(todo, draw(pages_pdf(result.laid_out, todo), folder))) if todo else {}
        images: list[PageImage] = []
        for i in range(len(pages)):
            if i in drawn:
                name, width, height = drawn[i]
                images.append(PageImage(i + 1, name, width, height, changed=True))
            else:
                images.append(replace(previous[i], changed=False))
        return tuple(images)

    def _show(self, slug: str, outcome: _Outcome, pages: tuple[PageImage, ...], pdf_name: str,
              started: float,
              seconds: float | None = None) -> View:
        """Show a build's pages (``pdf_name`` "": their PDF is still being written);
        ``seconds``: from the save to the pages (if shown before), else until now."""
        return self._update(
            slug, title=outcome.title, status=outcome.status, pages=pages,
            pdf=pdf_name, built_at=time.time(), good_at=time.time(),
            seconds=time.monotonic() - started if seconds is None else seconds, problems=(),
            warnings=outcome.warnings, building=False)

    def _failed(self, slug: str, path: Path, problems: list[Problem], started: float) -> View:
        with self._lock:
            self.deps.setdefault(slug, Deps())
            self.deps[slug] = replace(self.deps[slug], series=None)
        view = self._update(slug, problems=tuple(p.format(self.project.root) for p in problems),
                            built_at=time.time(), seconds=time.monotonic() - started,
                            building=False)
        self.failed(slug, list(problems))
        return view


def _tidy(folder: Path, keep: set[str]) -> None:
    """Remove page images neither the current nor the previous build shows."""
    for path in folder.glob("*.png"):
        if path.name not in keep:
            path.unlink(missing_ok=True)
