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
"""

from __future__ import annotations

import hashlib
import html
import io
import json
import logging
import os
import tempfile
import threading
import time
from base64 import b64encode
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, quote, unquote, urlsplit
from xml.etree import ElementTree

import pypdfium2 as pdfium
import watchfiles

from press.briefing import layout, markdown
from press.content.load import load_briefing, load_series
from press.core.provenance import build_date, revision
from press.errors import ContentError, Problem, Problems, UsageError, did_you_mean
from press.model import Briefing
from press.project import Project
from press.render import typeset, web

log = logging.getLogger(__name__)

HOST = "127.0.0.1"  # never another interface: drafts are not for the network
DPI = 110  # page images: sharp on screen, quick to rasterise and encode
WATCHED = ("content", "layouts", "assets")
STEP_MS = 50  # a batch of file events is handed over after this much quiet (the debounce)
MISSING_GRACE_S = 0.25  # save-by-rename: the file may be briefly absent
HEARTBEAT_S = 15.0


# -- which briefings a change affects --------------------------------------------------------

@dataclass(frozen=True)
class Deps:
    """What one briefing's last build read, for deciding what a change affects."""

    series: str | None = None  # None: unknown (the briefing did not load), so any series file
    files: frozenset[Path] = frozenset()  # other content files it placed (images)


def is_scratch(path: Path) -> bool:
    """Editors' temporary and backup files (``.x.md.swp``, ``x.md~``, ``#x.md#``, ``.#x.md``)."""
    name = path.name
    return (name.startswith((".", "#")) or name.endswith(("~", ".swp", ".swx", ".tmp"))
            or name.endswith("#"))


def affected(project: Project, paths: Iterable[Path], known: Mapping[str, Deps]) -> set[str]:
    """The slugs to rebuild after ``paths`` changed (were written, created, renamed or deleted).

    * ``content/briefings/<slug>.md``: that briefing;
    * ``content/series/<id>.yaml``: the briefings of that series (and any that did not load);
    * ``layouts/`` or ``assets/``: every briefing (templates, CSS and fonts affect them all);
    * any other file under ``content/``: the briefings whose last build placed it.
    """
    everyone = set(known) | {p.stem for p in project.briefing_paths()}
    slugs: set[str] = set()
    for path in paths:
        path = Path(os.path.abspath(path))
        if is_scratch(path):
            continue
        if path.is_relative_to(project.layouts) or path.is_relative_to(project.assets):
            return everyone
        if path.parent == project.briefings_dir and path.suffix == ".md":
            slugs.add(path.stem)
        elif path.parent == project.series_dir and path.suffix in (".yaml", ".yml"):
            slugs |= {slug for slug, deps in known.items() if deps.series in (path.stem, None)}
            slugs |= everyone - set(known)
        elif path.is_relative_to(project.content):
            slugs |= {slug for slug, deps in known.items() if path in deps.files}
    return slugs


# -- building one briefing -------------------------------------------------------------------

@dataclass(frozen=True)
class Built:
    """A briefing laid out for preview, and what the layout depended on."""

    briefing: Briefing
    laid_out: typeset.Typeset
    ident: str  # the PDF identifier, as the pipeline gives this edition
    deps: Deps
    warnings: tuple[Problem, ...] = ()

    def pdf(self) -> bytes:
        return web.write_web(self.laid_out, None, self.ident)


def typeset_briefing(project: Project, path: Path) -> Built:
    """Run load → markdown → layout → typeset for one file; ContentError if it cannot build.

    Drafts get the draft edition (watermark, draft footer), final briefings the web edition.
    """
    problems = Problems()
    series = load_series(project, problems)
    briefing = load_briefing(project, path, series, problems)
    if briefing is None:
        raise ContentError(problems.errors or [Problem(path, None, "could not be loaded")])
    body = markdown.convert(briefing, project.root)
    draft = layout.Draft(build_date(), revision(path)) if briefing.is_draft else None
    laid_out = typeset.render(layout.page(project, briefing, body, draft), project.root)
    ident = f"{briefing.slug}/draft" if draft else f"{briefing.series.id}/{briefing.slug}"
    files = {Path(p) for p in body.images} | set(laid_out.served)
    deps = Deps(briefing.series.id,
                frozenset(f for f in files if f.is_relative_to(project.content)))
    return Built(briefing, laid_out, ident, deps, tuple(body.warnings))


# What a page looks like besides its boxes' geometry and text. Anything from the CSS is also
# covered by the stylesheet's modification time, which goes into every page's fingerprint.
STYLE_KEYS = ("color", "background_color", "opacity", "visibility", "transform", "font_family",
              "font_size", "font_weight", "font_style", "text_decoration_line",
              "border_top_width", "border_top_color", "border_bottom_width",
              "border_bottom_color", "border_left_width", "border_left_color")


def fingerprints(laid_out: typeset.Typeset, templates: Iterable[Path] = ()) -> tuple[str, ...]:
    """A hash per laid-out page (boxes, text, main style values, files used), to tell which
    pages changed without drawing them. ``templates``: files read outside WeasyPrint."""
    files = hashlib.blake2b(digest_size=12)
    for path in sorted({*laid_out.served, *templates}):
        try:
            stat = path.stat()
            files.update(f"{path}:{stat.st_mtime_ns}:{stat.st_size}".encode())
        except OSError:
            files.update(f"{path}:gone".encode())
    prints = []
    for page in laid_out.document.pages:
        digest = files.copy()
        for box in page._page_box.descendants(placeholders=True):
            style = box.style
            element = getattr(box, "element", None)
            source = None
            if getattr(box, "replacement", None) is not None and element is not None:
                # an image file (its mtime is in ``files``) or inline SVG (QR code, barcode)
                source = element.get("src") or ElementTree.tostring(element)
            digest.update(repr((type(box).__name__, box.position_x, box.position_y, box.width,
                                box.height, getattr(box, "text", None), source,
                                [style[key] for key in STYLE_KEYS])).encode())
        prints.append(digest.hexdigest())
    return tuple(prints)


@dataclass(frozen=True)
class PageImage:
    number: int
    name: str  # file name in the briefing's preview folder: <pixel hash>.png
    width: int
    height: int
    changed: bool = False  # differs from the same page of the previous good build


def _publish(path: Path, data: bytes) -> None:
    """Write beside, then rename: readers see the whole old or new file. No fsync: the preview
    folder is a disposable cache, and fsync would cost the author time on every save."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def draw(pdf: bytes, folder: Path, dpi: int = DPI) -> list[tuple[str, int, int]]:
    """One PNG per page of ``pdf`` in ``folder``, named by a hash of its pixels: (name, w, h).

    Drawing a page is cheap, encoding a PNG is not: pages whose pixels are already on disk
    (unchanged, or back to an earlier state) are not encoded again.
    """
    folder.mkdir(parents=True, exist_ok=True)
    drawn = []
    document = pdfium.PdfDocument(pdf)
    try:
        for index in range(len(document)):
            page = document[index]
            image = page.render(scale=dpi / 72).to_pil()
            page.close()
            name = hashlib.blake2b(image.tobytes(), digest_size=12).hexdigest() + ".png"
            if not (folder / name).exists():
                buffer = io.BytesIO()
                image.save(buffer, "PNG", compress_level=1)  # speed over size: local only
                _publish(folder / name, buffer.getvalue())
            drawn.append((name, image.width, image.height))
    finally:
        document.close()
    return drawn


def rasterise(pdf: bytes, folder: Path, dpi: int = DPI) -> tuple[PageImage, ...]:
    """Every page of ``pdf`` as a PageImage."""
    return tuple(PageImage(number, name, width, height)
                 for number, (name, width, height) in enumerate(draw(pdf, folder, dpi), 1))


class _Quiet(logging.Filter):
    def filter(self, record):
        return False


def _pages_pdf(laid_out: typeset.Typeset, indexes: list[int]) -> bytes:
    """A quick PDF of some pages, to draw them: trimmed like the web edition, uncompressed.

    WeasyPrint complains about links to pages left out; that is expected here, so it is hushed.
    """
    document = laid_out.document
    pages = [document.pages[i] for i in indexes]
    saved = [dict(page.bleed) for page in pages]
    quiet = _Quiet()
    logging.getLogger("weasyprint").addFilter(quiet)
    try:
        for page in pages:
            page.bleed.update(dict.fromkeys(page.bleed, 0))
        return document.copy(pages).write_pdf(uncompressed_pdf=True)
    finally:
        logging.getLogger("weasyprint").removeFilter(quiet)
        for page, bleed in zip(pages, saved):
            page.bleed.update(bleed)


# -- the preview's state ---------------------------------------------------------------------

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
                 folder: Path | None = None, report: Callable[[str], None] | None = None):
        self.project = project
        self.folder = (folder or project.cache / "preview").resolve()
        self.only = frozenset(slugs) if slugs else None
        self.report = report or log.info
        self._lock = threading.Lock()
        self._work = threading.Condition(self._lock)
        self._news = threading.Condition(self._lock)
        self.views: dict[str, View] = {}
        self.deps: dict[str, Deps] = {}
        self._prints: dict[str, tuple[str, ...]] = {}  # page fingerprints of the last good build
        self.version = 0
        self._events: list[tuple[int, dict]] = []
        self._pending: set[str] = set()
        self._viewed: dict[str, float] = {}
        self.stopping = threading.Event()
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
        """The browser has this briefing open: build it before the others."""
        with self._lock:
            self._viewed[slug] = time.monotonic()

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

    def _announce(self, event: dict) -> None:
        """Record an event for /events listeners (call with the lock held)."""
        self.version += 1
        self._events.append((self.version, event))
        del self._events[:-200]
        self._news.notify_all()

    def wait_events(self, seen: int, timeout: float) -> tuple[list[dict], int]:
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

    def _update(self, slug: str, **changes) -> View:
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
        try:
            result = typeset_briefing(self.project, path)
            prints = fingerprints(result.laid_out, self.project.layouts.glob("*"))
            with self._lock:
                before = self._prints.get(slug)
            if before is not None and previous.pages:
                # Show the new pages first, drawing only those that changed; the PDF follows.
                pages = self._draw_changed(result, prints, before, previous.pages, folder)
                view = self._show(slug, result, pages, pdf_name, started)
                pdf = result.pdf()
            else:
                pdf = result.pdf()
                pages = rasterise(pdf, folder)
                view = None
            _publish(folder / pdf_name, pdf)
        except ContentError as exc:
            return self._failed(slug, path, [p.format(self.project.root) for p in exc.problems],
                                started)
        except Exception as exc:  # noqa: BLE001 -- a bug must not take the server down
            log.exception("preview: unexpected error building %s", slug)
            return self._failed(slug, path, [f"{path.relative_to(self.project.root)}: internal "
                                             f"error {type(exc).__name__}: {exc} (a bug in "
                                             "briefing press; details in the terminal)"], started)
        with self._lock:
            self.deps[slug] = result.deps
            self._prints[slug] = prints
        view = view or self._show(slug, result, pages, pdf_name, started)
        _tidy(folder, {p.name for p in pages + previous.pages} | {pdf_name})
        changed = f", {view.changed} changed" if view.changed else ""
        self.report(f"{slug}: {len(pages)} pages in {view.seconds:.1f} s{changed}")
        return view

    def _draw_changed(self, result: Built, prints, before, previous, folder):
        """PageImages for every page, drawing only those whose fingerprint changed."""
        pages = result.laid_out.document.pages
        todo = [i for i, key in enumerate(prints)
                if i >= len(before) or i >= len(previous) or before[i] != key]
        drawn = dict(zip(todo, draw(_pages_pdf(result.laid_out, todo), folder))) if todo else {}
        images = []
        for i in range(len(pages)):
            if i in drawn:
                name, width, height = drawn[i]
                images.append(PageImage(i + 1, name, width, height, changed=True))
            else:
                images.append(replace(previous[i], changed=False))
        return tuple(images)

    def _show(self, slug, result: Built, pages, pdf_name, started) -> View:
        return self._update(
            slug, title=result.briefing.title, status=result.briefing.status, pages=pages,
            pdf=pdf_name, built_at=time.time(), good_at=time.time(),
            seconds=time.monotonic() - started, problems=(),
            warnings=tuple(w.format(self.project.root) for w in result.warnings),
            building=False)

    def _failed(self, slug, path, problems, started) -> View:
        with self._lock:
            self.deps.setdefault(slug, Deps())
            self.deps[slug] = replace(self.deps[slug], series=None)
        view = self._update(slug, problems=tuple(problems), built_at=time.time(),
                     seconds=time.monotonic() - started, building=False)
        self.report(f"{slug}: not built, {len(problems)} problem"
                    f"{'s' if len(problems) != 1 else ''}")
        for problem in problems:
            self.report(f"  {problem}")
        return view


def _tidy(folder: Path, keep: set[str]) -> None:
    """Remove page images neither the current nor the previous build shows."""
    for path in folder.glob("*.png"):
        if path.name not in keep:
            path.unlink(missing_ok=True)


# -- serving ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Response:
    status: int
    body: bytes = b""
    content_type: str = "text/plain; charset=utf-8"
    headers: dict = field(default_factory=dict)


def sandboxed(root: Path, relative: str) -> Path | None:
    """The file under ``root`` that the URL path ``relative`` names; None if it is not one.

    Refuses (None) '..' segments, absolute or drive paths, hidden files (half-written temporary
    files start with '.'), NUL bytes, backslashes and symlinks leading out of ``root``.
    """
    text = unquote(relative)
    if "\0" in text or "\\" in text:
        return None
    parts = [p for p in text.split("/") if p not in ("", ".")]
    if not parts or any(p == ".." or p.startswith(".") or ":" in p for p in parts):
        return None
    root = root.resolve()
    real = root.joinpath(*parts).resolve()
    if not real.is_relative_to(root) or not real.is_file():
        return None
    return real


def has_dot_segments(path: str) -> bool:
    """True if a request path tries to climb (``/../``, ``/%2e%2e/``, ``..%2f``...)."""
    text = unquote(unquote(path)).replace("\\", "/")
    return any(part == ".." for part in text.split("/"))


CONTENT_TYPES = {".png": "image/png", ".pdf": "application/pdf"}


def respond(preview: Preview, target: str) -> Response:
    """The response to ``GET target`` for every route except the /events stream."""
    url = urlsplit(target)
    if has_dot_segments(url.path):
        return _text(HTTPStatus.FORBIDDEN, "403 forbidden: only preview files are served")
    query = parse_qs(url.query)
    fragment = "fragment" in query
    parts = [p for p in url.path.split("/") if p]
    if not parts:
        views = preview.snapshot()
        body = _index_fragment(preview, views)
        return _html(body if fragment else _shell("Briefing preview", body, ""))
    if parts[0] == "b" and len(parts) == 2 and url.path.endswith("/"):
        view = preview.view(unquote(parts[1]))
        if view is None:
            return _text(HTTPStatus.NOT_FOUND, "404 no such briefing in this preview")
        body = _briefing_fragment(view)
        title = f"{view.title or view.slug} · preview"
        return _html(body if fragment else _shell(title, body, view.slug))
    if parts[0] == "b" and len(parts) == 2:
        return Response(HTTPStatus.MOVED_PERMANENTLY, headers={"Location": f"/b/{parts[1]}/"})
    if parts[0] == "files":
        path = sandboxed(preview.folder, "/".join(parts[1:]))
        if path is None or path.suffix not in CONTENT_TYPES:
            return _text(HTTPStatus.NOT_FOUND, "404 not found")
        try:
            data = path.read_bytes()
        except OSError:  # tidied away between the check and the read
            return _text(HTTPStatus.NOT_FOUND, "404 not found")
        # Page images are named by content, so they never change; the PDF is replaced in place.
        cache = "max-age=31536000, immutable" if path.suffix == ".png" else "no-cache"
        return Response(HTTPStatus.OK, data, CONTENT_TYPES[path.suffix],
                        {"Cache-Control": cache})
    if parts == ["favicon.ico"]:
        return Response(HTTPStatus.NO_CONTENT)
    return _text(HTTPStatus.NOT_FOUND, "404 not found")


def _text(status, message) -> Response:
    return Response(status, (message + "\n").encode())


def _html(text: str) -> Response:
    return Response(HTTPStatus.OK, text.encode(), "text/html; charset=utf-8",
                    {"Cache-Control": "no-store"})


class Handler(BaseHTTPRequestHandler):
    """GET only; everything but /events goes through :func:`respond`."""

    server: PreviewHTTPServer
    server_version = "briefing-press-preview"
    sys_version = ""

    def do_GET(self):  # noqa: N802 (http.server's API name)
        url = urlsplit(self.path)
        if self._host_ok() and url.path == "/events":
            return self._events(parse_qs(url.query).get("slug", [""])[0])
        return self._send(self._response())

    def do_HEAD(self):  # noqa: N802
        self._send(self._response(), head=True)

    def _host_ok(self) -> bool:
        # a page on another site that rebinds its DNS name to 127.0.0.1 sends its own Host
        return self.headers.get("Host", "").rsplit(":", 1)[0] in (HOST, "localhost")

    def _response(self) -> Response:
        if not self._host_ok():
            return _text(HTTPStatus.FORBIDDEN, "403 forbidden: unknown Host")
        return respond(self.server.preview, self.path)

    def _send(self, response: Response, head: bool = False) -> None:
        try:
            self.send_response(response.status)
            self.send_header("Content-Type", response.content_type)
            self.send_header("Content-Length", str(len(response.body)))
            self.send_header("X-Content-Type-Options", "nosniff")
            self.send_header("Referrer-Policy", "no-referrer")
            self.send_header("Content-Security-Policy", CSP)
            for name, value in response.headers.items():
                self.send_header(name, value)
            self.end_headers()
            if not head:
                self.wfile.write(response.body)
        except OSError:
            pass  # the browser went away (closed tab, reload): nothing to do

    def _events(self, slug: str) -> None:
        preview = self.server.preview
        if slug:
            preview.viewing(slug)
        seen = preview.version  # before answering: the client may act on the answer at once
        try:
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(b"retry: 1000\n\n")
            self.wfile.flush()
            while not preview.stopping.is_set():
                events, seen = preview.wait_events(seen, HEARTBEAT_S)
                chunk = "".join(f"data: {json.dumps(e)}\n\n" for e in events) or ": alive\n\n"
                self.wfile.write(chunk.encode())
                self.wfile.flush()
        except OSError:
            pass  # the tab was closed or reloaded

    def log_message(self, format, *args):  # noqa: A002 (http.server's signature)
        log.debug("%s %s", self.address_string(), format % args)


class PreviewHTTPServer(ThreadingHTTPServer):
    daemon_threads = True  # an open /events stream must not keep the process alive

    def __init__(self, preview: Preview, port: int):
        self.preview = preview
        super().__init__((HOST, port), Handler)

    def handle_error(self, request, client_address):
        log.exception("preview: error while answering %s", client_address)


# -- watching --------------------------------------------------------------------------------

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


# -- running ---------------------------------------------------------------------------------

class PreviewServer:
    """A running preview: server, watcher and builder threads. ``close()`` stops them all."""

    def __init__(self, project: Project, port: int = 0, slugs: Iterable[str] | None = None,
                 folder: Path | None = None, report: Callable[[str], None] | None = None,
                 watch: bool = True, build: bool = True):
        self.preview = Preview(project, slugs, folder, report)
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

    def __exit__(self, *exc) -> None:
        self.close()


def start(project: Project, port: int = 0, slugs: Iterable[str] | None = None,
          **kwargs) -> PreviewServer:
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


def command(project: Project, args, say) -> int:
    """``build.py preview [SLUG...] [--port N]``: serve until Ctrl+C."""
    slugs = list(getattr(args, "slugs", None) or [])
    known = [p.stem for p in project.briefing_paths()]
    unknown = [s for s in slugs if s not in known]
    if unknown:
        raise ContentError([Problem(project.briefings_dir / f"{s}.md", None, f"no briefing '{s}'",
                                    did_you_mean(s, known)) for s in unknown])
    port = getattr(args, "port", 8000)
    try:
        server = start(project, port, slugs or None, report=say)
    except OSError as exc:
        raise UsageError(f"cannot listen on {HOST}:{port}: {exc.strerror or exc} "
                         f"(is another preview running? try --port {port + 1})") from None
    page = f"b/{slugs[0]}/" if len(slugs) == 1 else ""
    say(f"Preview: {server.url}{page}  (open it in your browser; Ctrl+C to stop)")
    say("Watching content/, layouts/ and assets/; pages update when you save.")
    try:
        while not server.preview.stopping.wait(1.0):
            pass
    except KeyboardInterrupt:
        say("\nstopping the preview")
    finally:
        server.close(timeout=0.5)  # a build in progress is abandoned; its writes are atomic
    return 0


# -- pages -----------------------------------------------------------------------------------

def _clock(moment: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(moment)) if moment else "–"


def _esc(text) -> str:
    return html.escape(str(text), quote=True)


def _status(view: View) -> str:
    if not view.status:
        return '<span class="badge">?</span>'
    label = "Draft" if view.status == "draft" else "Final"
    return f'<span class="badge badge-{_esc(view.status)}">{label}</span>'


def _edition(view: View) -> str:
    if view.status == "draft":
        return "draft edition, watermarked"
    return "web edition" if view.status else ""


def _problems(view: View) -> str:
    if not view.problems:
        return ""
    items = "".join(f"<li><code>{_esc(p)}</code></li>" for p in view.problems)
    keep = ("Showing the last pages that built; they update when the file is fixed."
            if view.pages else "Nothing to show until it builds.")
    return (f'<section class="banner" role="alert"><h2>This briefing did not build</h2>'
            f'<ul class="problems">{items}</ul><p>{keep}</p></section>')


def _warnings(view: View) -> str:
    if not view.warnings:
        return ""
    items = "".join(f"<li><code>{_esc(p)}</code></li>" for p in view.warnings)
    return f'<details class="warnings"><summary>{len(view.warnings)} warning' \
           f'{"s" if len(view.warnings) != 1 else ""}</summary><ul>{items}</ul></details>'


def _briefing_fragment(view: View) -> str:
    base = f"/files/{quote(view.slug)}"
    if view.pdf:
        pdf = (f'<a class="button" href="{base}/{quote(view.pdf)}?v={view.version}">'
               'Open PDF</a>')
    else:
        pdf = ""
    if view.building and not view.pages:
        meta = "Building… the first build takes a few seconds."
    elif view.problems:
        meta = f"Build failed at {_clock(view.built_at)}"
        if view.pages:
            meta += f" · showing the pages built at {_clock(view.good_at)}"
    elif view.built_at:
        meta = f"Built {_clock(view.built_at)} in {view.seconds:.1f} s"
        if view.pages:
            meta += f" · {len(view.pages)} pages · {_edition(view)}"
        if view.changed:
            meta += f" · {view.changed} changed"
    else:
        meta = "Waiting to build…"
    pages = []
    for page in view.pages:
        changed = ' data-changed="true"' if page.changed else ""
        flag = '<span class="flag">Changed</span>' if page.changed else ""
        pages.append(
            f'<figure class="page" id="page-{page.number}"{changed}>'
            f'<img src="{base}/{page.name}" width="{page.width}" height="{page.height}" '
            f'alt="Page {page.number} of {len(view.pages)}">'
            f'<figcaption>Page {page.number} of {len(view.pages)}{flag}</figcaption></figure>')
    return (f'<div class="sheet" data-version="{view.version}" '
            f'data-state="{"error" if view.problems else "ok"}">'
            f'<header class="title"><div><h1>{_esc(view.title or view.slug)}</h1>'
            f'<p class="meta">{_status(view)} <span>{_esc(meta)}</span></p></div>{pdf}</header>'
            f'{_problems(view)}{_warnings(view)}<div class="pages">{"".join(pages)}</div></div>')


def _index_fragment(preview: Preview, views: list[View]) -> str:
    rows = []
    for view in views:
        if view.problems:
            state = (f'<span class="bad">{len(view.problems)} problem'
                     f'{"s" if len(view.problems) != 1 else ""}</span>'
                     f'<code>{_esc(view.problems[0])}</code>')
        elif view.building:
            state = '<span class="muted">building…</span>'
        elif view.pages:
            state = f'<span class="good">OK</span> {len(view.pages)} pages'
        else:
            state = '<span class="muted">waiting…</span>'
        when = _clock(view.built_at)
        if view.built_at and not view.problems:
            when += f" <small>in {view.seconds:.1f} s</small>"
        rows.append(
            f'<tr data-slug="{_esc(view.slug)}"><td><a href="/b/{_esc(quote(view.slug))}/">'
            f'{_esc(view.title or view.slug)}</a><small>{_esc(view.slug)}.md</small></td>'
            f'<td>{_status(view)}</td><td>{when}</td><td class="state">{state}</td></tr>')
    if not rows:
        rows.append('<tr><td colspan="4">No briefings in content/briefings/.</td></tr>')
    only = " (only the ones named on the command line)" if preview.only else ""
    return (f'<div class="sheet" data-version="{preview.version}"><header class="title"><div>'
            f'<h1>Briefings</h1><p class="meta">Every briefing in content/briefings/{only}; '
            'a page updates by itself when you save.</p></div></header>'
            '<table class="list"><thead><tr><th>Briefing</th><th>Status</th>'
            f'<th>Last build</th><th>Result</th></tr></thead><tbody>{"".join(rows)}</tbody>'
            '</table></div>')


SCRIPT = """
(() => {
  const live = document.getElementById("live");
  const slug = document.body.dataset.slug;
  let busy = false, again = false;
  // the first page in view and where it is, so a swap can put it back in the same place
  function place() {
    for (const page of live.querySelectorAll(".page")) {
      const top = page.getBoundingClientRect().top;
      if (page.getBoundingClientRect().bottom > 0) return [page.id, top];
    }
    return null;
  }
  async function refresh() {
    if (busy) { again = true; return; }
    busy = true;
    try {
      const response = await fetch(location.pathname + "?fragment=1", {cache: "no-store"});
      if (response.status === 404) {
        live.innerHTML = '<div class="sheet"><p class="meta">This briefing is no longer in ' +
          'the preview: was its file renamed or removed? <a href="/">All briefings</a></p></div>';
        return;
      }
      if (!response.ok) return;
      const template = document.createElement("template");
      template.innerHTML = await response.text();
      // load the new page images before swapping, so nothing collapses and the scroll stays
      await Promise.all([...template.content.querySelectorAll("img")].map((img) => {
        const loading = new Image();
        loading.src = img.getAttribute("src");
        return loading.decode().catch(() => null);
      }));
      const kept = place();
      live.replaceChildren(...template.content.childNodes);
      const same = kept && document.getElementById(kept[0]);
      if (same) window.scrollBy(0, same.getBoundingClientRect().top - kept[1]);
      window.previewSwappedAt = Date.now();
    } catch (error) {
      document.body.classList.add("offline");
    } finally {
      busy = false;
      if (again) { again = false; refresh(); }
    }
  }
  const events = new EventSource("/events" + (slug ? "?slug=" + encodeURIComponent(slug) : ""));
  events.onopen = () => { document.body.classList.remove("offline"); refresh(); };
  events.onerror = () => document.body.classList.add("offline");
  events.onmessage = (message) => {
    const event = JSON.parse(message.data);
    if (slug && event.slug !== slug) return;
    document.body.classList.toggle("building", event.state === "building");
    if (event.state !== "building") refresh();
  };
})();
"""

STYLE = """
:root { --brand: #00656e; --ink: #1f2a30; --muted: #5b6770; --line: #d8dee2;
  --desk: #e8ecee; --bad: #b42318; --bad-bg: #fef3f2; --flag: #e8890c; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--desk); color: var(--ink);
  font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
a { color: var(--brand); }
.bar { position: sticky; top: 0; z-index: 2; display: flex; align-items: center; gap: 16px;
  padding: 10px 24px; background: var(--brand); color: #fff; }
.bar a { color: #fff; text-decoration: none; font-weight: 600; }
.bar .live { margin-left: auto; font-size: 13px; opacity: .9; display: flex;
  align-items: center; gap: 6px; }
.bar .live::before { content: ""; width: 8px; height: 8px; border-radius: 50%;
  background: #7ee0a1; }
.bar .live::after { content: "Live"; }
body.building .bar .live::before { background: #ffd166; animation: pulse 1s infinite; }
body.building .bar .live::after { content: "Rebuilding…"; }
body.offline .bar .live::before { background: #ff8a80; }
body.offline .bar .live::after { content: "Preview stopped – reconnecting"; }
@keyframes pulse { 50% { opacity: .3; } }
.sheet { max-width: 980px; margin: 0 auto; padding: 24px 24px 64px; }
.title { display: flex; align-items: flex-start; justify-content: space-between; gap: 16px;
  margin-bottom: 16px; }
.title h1 { margin: 0 0 4px; font-size: 22px; line-height: 1.25; }
.meta { margin: 0; color: var(--muted); font-size: 14px; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px;
  font-weight: 700; letter-spacing: .03em; text-transform: uppercase; background: #d0d5d9; }
.badge-draft { background: #fde2d6; color: #9a3412; }
.badge-final { background: #d3ecee; color: var(--brand); }
.button { flex: none; padding: 7px 14px; border-radius: 6px; background: var(--brand);
  color: #fff; text-decoration: none; font-weight: 600; font-size: 14px; }
.banner { position: sticky; top: 52px; z-index: 1; max-height: 40vh; overflow: auto;
  margin: 0 0 20px; padding: 14px 18px; border: 1px solid #f4b4ae;
  border-left: 5px solid var(--bad); border-radius: 6px; background: var(--bad-bg);
  box-shadow: 0 4px 14px rgba(0,0,0,.12); }
.banner h2 { margin: 0 0 6px; font-size: 16px; color: var(--bad); }
.banner p { margin: 6px 0 0; color: var(--muted); font-size: 14px; }
.problems { margin: 0; padding-left: 18px; }
code { font: 13px/1.4 ui-monospace, "DejaVu Sans Mono", monospace; word-break: break-word; }
.warnings { margin: 0 0 16px; color: var(--muted); font-size: 14px; }
.pages { display: flex; flex-direction: column; align-items: center; gap: 28px; }
.page { margin: 0; }
.page img { display: block; max-width: 100%; height: auto; background: #fff;
  box-shadow: 0 1px 3px rgba(0,0,0,.18), 0 6px 18px rgba(0,0,0,.08); }
.page[data-changed] img { outline: 3px solid var(--flag); outline-offset: 3px; }
.page figcaption { margin-top: 8px; text-align: center; color: var(--muted); font-size: 13px; }
.flag { margin-left: 8px; padding: 1px 7px; border-radius: 9px; background: var(--flag);
  color: #fff; font-size: 12px; font-weight: 700; }
.list { width: 100%; border-collapse: collapse; background: #fff; border-radius: 8px;
  overflow: hidden; box-shadow: 0 1px 3px rgba(0,0,0,.12); }
.list th, .list td { padding: 10px 14px; text-align: left; vertical-align: top;
  border-bottom: 1px solid var(--line); }
.list th { font-size: 12px; text-transform: uppercase; letter-spacing: .05em; white-space: nowrap;
  color: var(--muted); background: #f6f8f9; }
.list td a { font-weight: 600; text-decoration: none; }
.list small { display: block; color: var(--muted); font-size: 12px; }
.list td:first-child { width: 46%; }
.list td:nth-child(2), .list td:nth-child(3) { white-space: nowrap; }
.list tr:last-child td { border-bottom: 0; }
.state code { display: block; margin-top: 4px; color: var(--bad); font-size: 12px; }
.good { color: #1a7f37; font-weight: 700; }
.bad { color: var(--bad); font-weight: 700; }
.muted { color: var(--muted); }
"""

CSP = ("default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; connect-src 'self'; "
       f"script-src 'sha256-{b64encode(hashlib.sha256(SCRIPT.encode()).digest()).decode()}'; "
       "base-uri 'none'; form-action 'none'; frame-ancestors 'none'")


def _shell(title: str, fragment: str, slug: str) -> str:
    back = '<a href="/">← All briefings</a>' if slug else ""
    return (f'<!DOCTYPE html><html lang="en-GB"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<title>{_esc(title)}</title><style>{STYLE}</style></head>'
            f'<body data-slug="{_esc(slug)}"><nav class="bar"><a href="/">Briefing preview</a>'
            f'{back}<span class="live" aria-live="polite"></span></nav>'
            f'<main id="live">{fragment}</main><script>{SCRIPT}</script></body></html>')


__all__ = ["Deps", "PageImage", "Preview", "PreviewServer", "View", "Watcher", "affected",
           "command", "rasterise", "respond", "sandboxed", "start", "time_rebuild",
           "typeset_briefing"]
