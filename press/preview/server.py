"""Preview stage, server: the HTTP answers on 127.0.0.1 (pages, page images, the event stream)."""

from __future__ import annotations

import hashlib
import json
import logging
import time
from base64 import b64encode
from dataclasses import dataclass, field
from functools import cache
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

import jinja2

from press.preview.state import Preview

log = logging.getLogger("press.preview")  # one logger for the whole stage, as before its split

HOST = "127.0.0.1"  # never another interface: drafts are not for the network
HEARTBEAT_S = 15.0
HERE = Path(__file__).parent


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes = b""
    content_type: str = "text/plain; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)


NAME_MAX = 255  # bytes in one file name on every file system the preview runs on


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
    if any(len(p.encode("utf-8", "surrogateescape")) > NAME_MAX for p in parts):
        return None  # no file has such a name; the system would answer ENAMETOOLONG
    root = root.resolve()
    try:
        real = root.joinpath(*parts).resolve()
        if not real.is_relative_to(root) or not real.is_file():
            return None
    except (OSError, ValueError):  # a name the system refuses (too long, undecodable)
        return None
    return real


def has_dot_segments(path: str) -> bool:
    """True if a request path tries to climb (``/../``, ``/%2e%2e/``, ``..%2f``...)."""
    text = unquote(unquote(path)).replace("\\", "/")
    return any(part == ".." for part in text.split("/"))


CONTENT_TYPES = {".png": "image/png", ".pdf": "application/pdf",
                 ".html": "text/html; charset=utf-8", ".css": "text/css", ".ttf": "font/ttf"}
# The HTML edition's own page: no script at all, its figures inline, its stylesheet and fonts
# from the preview (its JSON-LD is data, which no CSP governs).
EDITION_CSP = ("default-src 'none'; img-src data:; style-src 'self'; font-src 'self'; "
               "base-uri 'none'; form-action 'none'; frame-ancestors 'self'")


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
        body = render("index.html", views=views, only=preview.only, version=preview.version)
        return _html(body if fragment else _page("Briefing preview", body, ""))
    if parts[0] == "b" and len(parts) == 2 and url.path.endswith("/"):
        view = preview.view(unquote(parts[1]))
        if view is None:
            return _text(HTTPStatus.NOT_FOUND, "404 no such briefing in this preview")
        body = render("briefing.html", view=view)
        title = f"{view.title or view.slug} · preview"
        return _html(body if fragment else _page(title, body, view.slug))
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
        headers = {"Cache-Control": cache}
        if path.suffix == ".html":
            headers["Content-Security-Policy"] = EDITION_CSP
        return Response(HTTPStatus.OK, data, CONTENT_TYPES[path.suffix], headers)
    if parts == ["favicon.ico"]:
        return Response(HTTPStatus.NO_CONTENT)
    return _text(HTTPStatus.NOT_FOUND, "404 not found")


def _text(status: int, message: str) -> Response:
    return Response(status, (message + "\n").encode())


def _html(text: str) -> Response:
    return Response(HTTPStatus.OK, text.encode(), "text/html; charset=utf-8",
                    {"Cache-Control": "no-store"})


# -- the browser's page: package templates and static files ---------------------------------

def _clock(moment: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(moment)) if moment else "–"


@cache
def _templates() -> jinja2.Environment:
    """The preview's own templates (not the project's layouts/): autoescaped, strict."""
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True,
        undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    environment.filters["quote"] = quote
    environment.filters["clock"] = _clock
    return environment


def render(name: str, **context: Any) -> str:
    return _templates().get_template(name).render(**context)


def _static(name: str) -> str:
    # Text mode turns any CRLF into LF, as the browser's HTML parser does before it hashes
    # an inline script: the CSP hash below is of exactly what the browser hashes.
    return (HERE / "static" / name).read_text(encoding="utf-8")


SCRIPT = _static("preview.js")
STYLE = _static("preview.css")
CSP = ("default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; connect-src 'self'; "
       f"script-src 'sha256-{b64encode(hashlib.sha256(SCRIPT.encode()).digest()).decode()}'; "
       "base-uri 'none'; form-action 'none'; frame-ancestors 'none'")


def _page(title: str, fragment: str, slug: str) -> str:
    """The whole page around a fragment; the fragment is already escaped HTML."""
    return render("page.html", title=title, fragment=fragment, slug=slug, style=STYLE,
                  script=SCRIPT)


# -- HTTP ------------------------------------------------------------------------------------

class Handler(BaseHTTPRequestHandler):
    """GET only; everything but /events goes through :func:`respond`."""

    server: PreviewHTTPServer
    server_version = "briefing-press-preview"
    sys_version = ""

    def do_GET(self) -> None:  # noqa: N802 (http.server's API name)
        url = urlsplit(self.path)
        if self._host_ok() and url.path == "/events":
            return self._events(parse_qs(url.query).get("slug", [""])[0])
        return self._send(self._response())

    def do_HEAD(self) -> None:  # noqa: N802
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
            headers = {"Content-Security-Policy": CSP, **response.headers}  # one CSP only:
            for name, value in headers.items():  # a second would be enforced as well
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

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (http.server's signature)
        log.debug("%s %s", self.address_string(), format % args)


class PreviewHTTPServer(ThreadingHTTPServer):
    daemon_threads = True  # an open /events stream must not keep the process alive

    def __init__(self, preview: Preview, port: int) -> None:
        self.preview = preview
        super().__init__((HOST, port), Handler)

    def handle_error(self, request: object, client_address: object) -> None:
        log.exception("preview: error while answering %s", client_address)

