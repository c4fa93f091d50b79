"""Preview stage: a warm local server that rebuilds briefings on save and shows their pages.

``python build.py preview [SLUG]`` keeps one process (WeasyPrint imported once) with three
threads: the HTTP server on 127.0.0.1, a watcher on ``content/``, ``layouts/`` and ``assets/``
(watchfiles), and one builder that runs the pipeline's stages (load → markdown → layout →
typeset) for the briefings a change affects. Each build writes the PDF and one PNG per page into
``.cache/preview/<slug>/``. A fingerprint of each laid-out page (boxes, text, style, files used)
tells which pages changed: only those are drawn again (from a quick PDF of just those pages)
and shown before the PDF is written, and they are marked in the browser. Page images are named
by a hash of their pixels, so an unchanged page keeps its file and the browser its cached copy.

Drafts preview as the draft edition (watermark and draft footer); final briefings preview as
the web edition, which is how readers will see them.

The browser page listens on ``/events`` (server-sent events) and swaps in the new pages without
a reload, so the reader keeps their place. Only files under the preview folder are served.

Modules: ``changes`` (which briefings a change affects), ``pages`` (laying out, fingerprinting
and drawing pages), ``state`` (the views and the build queue), ``server`` (HTTP, with the
browser's page in ``templates/`` and ``static/``), ``watcher`` (file events); this module runs
them together.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from press.errors import ContentError, Problem
from press.preview.changes import Deps, affected, is_scratch
from press.preview.pages import PageImage, rasterise, typeset_briefing
from press.preview.server import HOST, PreviewHTTPServer, respond, sandboxed
from press.preview.state import Preview, View
from press.preview.watcher import Watcher
from press.project import Project


class PreviewServer:
    """A running preview: server, watcher and builder threads. ``close()`` stops them all."""

    def __init__(self, project: Project, port: int = 0, slugs: Iterable[str] | None = None,
                 folder: Path | None = None, report: Callable[[str], None] | None = None,
                 watch: bool = True, build: bool = True,
                 failed: Callable[[str, list[Problem]], None] | None = None):
        self.preview = Preview(project, slugs, folder, report, failed)
        self.httpd = PreviewHTTPServer(self.preview, port)
        self.port = self.httpd.server_address[1]
        self.url = f"http://{HOST}:{self.port}/"
        self.watcher = Watcher(project, self.preview.on_changes) if watch else None
        self.building = build
        self._threads = [
            threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.2},
                             name="preview-http", daemon=True)]
        if build:
            self._threads.append(threading.Thread(target=self.preview.run_builder,
                                                  name="preview-builder", daemon=True))

    def start(self) -> PreviewServer:
        for thread in self._threads:
            thread.start()
        if self.watcher:
            self.watcher.start()
        if self.building:
            self.preview.request(self.preview.views)
        return self

    def close(self, timeout: float = 10.0) -> None:
        """Stop serving and watching; wait up to ``timeout`` for a build in progress."""
        if self.watcher:
            self.watcher.close()
        self.preview.stop()
        self.httpd.shutdown()
        self.httpd.server_close()
        for thread in self._threads:
            thread.join(timeout=timeout)

    def __enter__(self) -> PreviewServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()


def start(project: Project, port: int = 0, slugs: Iterable[str] | None = None,
          **kwargs: Any) -> PreviewServer:
    """Start a preview in background threads (port 0: any free port); see ``.url``."""
    return PreviewServer(project, port, slugs, **kwargs).start()


def time_rebuild(project: Project, slug: str, edit: Callable[[str], str]) -> float:
    """For bench/: seconds from saving ``edit(text)`` into a briefing to its new pages being
    ready to show, in a warm preview (WeasyPrint loaded, one build done). The watcher's ~0.1 s
    and the browser's fetch are not included. Writes to the project: use a copy."""
    state = Preview(project, [slug], report=lambda line: None)
    state.build(slug)
    path = project.briefings_dir / f"{slug}.md"
    path.write_text(edit(path.read_text(encoding="utf-8")), encoding="utf-8")
    view = state.build(slug)
    if view is None or view.problems:
        raise ContentError(Problem(path, None, "the edited briefing did not build"))
    return view.seconds


__all__ = ["HOST", "Deps", "PageImage", "Preview", "PreviewServer", "View", "Watcher", "affected",
           "is_scratch", "rasterise", "respond", "sandboxed", "start", "time_rebuild",
           "typeset_briefing"]
