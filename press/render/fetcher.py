"""Resources for the typeset stage: a URL fetcher that serves project files and nothing else.

Only regular files inside ``content/``, ``layouts/`` and ``assets/`` (after resolving symlinks)
are served. Network URLs, ``file://`` outside the project and anything else are refused, so
a build never touches the network and never leaks a file from elsewhere into a PDF.
Images are checked (format allow-list, pixel cap) before WeasyPrint decodes them.
"""

from __future__ import annotations

import io
import mimetypes
import re
import warnings
import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import unquote, urlsplit

from weasyprint.urls import URLFetcher, URLFetcherResponse

MAX_IMAGE_PIXELS = 40_000_000  # ~ an A3 page at 600 dpi; beyond that it is a bomb or a mistake
RASTER_FORMATS = {"PNG", "JPEG", "GIF", "WEBP"}
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".webp", ".svg"}
OTHER_SUFFIXES = {".css", ".ttf", ".otf", ".woff", ".woff2", ".icc", ".icm"}
MAX_SVG_BYTES = 5 * 1024 * 1024
# An SVG may only refer to its own parts (href="#id", url(#id)): anything else would be a
# fetch that happens while the PDF is drawn, after the checks, or a way out of the sandbox.
_SVG_FORBIDDEN = {"script", "foreignObject", "iframe", "handler", "listener"}
_XLINK_HREF = "{http://www.w3.org/1999/xlink}href"
_CSS_URL_RE = re.compile(r"url\(\s*(?![\s'\"]*#)|@import|image-set\(|image\(", re.I)
HINT = "copy the file into assets/ and refer to it from there"


class RefusedResource(Exception):
    """Raised (and reported by WeasyPrint as an error) for a resource outside the sandbox."""


class ProjectFetcher(URLFetcher):
    """Serve files from the project's allowed folders; record every file served."""

    def __init__(self, root: Path, folders=("content", "layouts", "assets")):
        super().__init__(allowed_protocols=("file",), allow_redirects=False)
        self.root = root.resolve()
        self.allowed = tuple((self.root / f).resolve() for f in folders)
        self.served: set[Path] = set()
        self.refused: list[str] = []

    def fetch(self, url, headers=None):
        try:
            path = self.resolve(url)
        except RefusedResource as exc:
            self.refused.append(str(exc))
            raise
        try:
            suffix = path.suffix.lower()
            if suffix not in IMAGE_SUFFIXES | OTHER_SUFFIXES:
                raise RefusedResource(f"refused to load '{path.name}': {suffix or 'no'} files "
                                      "are not used in a briefing")
            data = path.read_bytes()
            if suffix in IMAGE_SUFFIXES:
                check_image(path, data)
        except RefusedResource as exc:
            self.refused.append(str(exc))
            raise
        self.served.add(path)
        mime, _ = mimetypes.guess_type(path.name)
        headers = {"Content-Type": mime or "application/octet-stream"}
        return URLFetcherResponse(path.as_uri(), body=data, headers=headers)

    def resolve(self, url: str) -> Path:
        parts = urlsplit(url)
        if parts.scheme != "file" or parts.netloc not in ("", "localhost"):
            raise RefusedResource(f"refused to load '{url}': only project files are used "
                                  f"({HINT})")
        path = Path(unquote(parts.path))
        try:
            real = path.resolve(strict=True)
        except (OSError, RuntimeError, ValueError):  # ValueError: a null byte
            raise RefusedResource(f"missing file '{path}'") from None
        if not any(real.is_relative_to(folder) for folder in self.allowed):
            raise RefusedResource(f"refused to load '{path}': it is outside the project's "
                                  f"content/, layouts/ and assets/ ({HINT})")
        if not real.is_file():
            raise RefusedResource(f"refused to load '{path}': not a regular file")
        return real


def check_image(path: Path, data: bytes) -> None:
    """Refuse empty, undecodable, disallowed or oversized images before WeasyPrint decodes them.

    The format is taken from the bytes, not the name: an EPS called ``chart.png`` is refused.
    """
    if not data:
        raise RefusedResource(f"image '{path.name}' is empty (0 bytes)")
    if path.suffix.lower() == ".svg" or data.lstrip()[:1] == b"<":  # WeasyPrint sniffs SVG too
        check_svg(path, data)
        return
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            # the size check below replaces Pillow's own bomb warning (an error under pytest)
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                if image.format not in RASTER_FORMATS:
                    raise RefusedResource(f"image '{path.name}' is {image.format}; "
                                          f"use PNG, JPEG, GIF or WebP")
                _check_pixels(path, *image.size)
                image.verify()
    except RefusedResource:
        raise
    except Image.DecompressionBombError:
        raise RefusedResource(f"image '{path.name}' is too large to decode safely, over the "
                              f"{MAX_IMAGE_PIXELS // 1_000_000} megapixel limit") from None
    except UnidentifiedImageError:
        raise RefusedResource(f"image '{path.name}' is not a PNG, JPEG, GIF, WebP or SVG "
                              "image") from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise RefusedResource(f"image '{path.name}' is damaged or truncated ({exc})") from None


def _check_pixels(path: Path, width: int, height: int) -> None:
    if width * height > MAX_IMAGE_PIXELS:
        raise RefusedResource(f"image '{path.name}' is {width}×{height} pixels, over "
                              f"the {MAX_IMAGE_PIXELS // 1_000_000} megapixel limit")


def check_svg(path: Path, data: bytes) -> None:
    """A self-contained SVG: parses, no entities, no scripts, no references to other files."""
    if len(data) > MAX_SVG_BYTES:
        raise RefusedResource(f"SVG '{path.name}' is over {MAX_SVG_BYTES // 1024 // 1024} MB")
    if b"<!ENTITY" in data:  # entity expansion ("billion laughs") and external entities
        raise RefusedResource(f"SVG '{path.name}' declares XML entities")
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise RefusedResource(f"SVG '{path.name}' cannot be read ({exc})") from None
    if root.tag.rsplit("}", 1)[-1] != "svg":
        raise RefusedResource(f"SVG '{path.name}' is not an SVG image (root element "
                              f"<{root.tag.rsplit('}', 1)[-1]}>)")
    for element in root.iter():
        name = str(element.tag).rsplit("}", 1)[-1]
        if name in _SVG_FORBIDDEN:
            raise RefusedResource(f"SVG '{path.name}' contains <{name}>")
        for attribute, value in element.attrib.items():
            local = attribute.rsplit("}", 1)[-1]
            if (attribute == _XLINK_HREF or local == "href") and not value.strip().startswith("#"):
                raise RefusedResource(f"SVG '{path.name}' refers to '{value[:80]}'; figures "
                                      "must be self-contained (embed or outline the content)")
            if local.startswith("on"):
                raise RefusedResource(f"SVG '{path.name}' has an event handler '{local}'")
            if local == "style" or local in ("fill", "stroke", "filter", "clip-path", "mask"):
                _check_svg_css(path, value)
        if name == "style" and element.text:
            _check_svg_css(path, element.text)


def _check_svg_css(path: Path, css: str) -> None:
    if _CSS_URL_RE.search(css):
        raise RefusedResource(f"SVG '{path.name}' loads a resource from its CSS; figures "
                              "must be self-contained")
