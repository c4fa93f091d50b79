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
import struct
import warnings
import xml.etree.ElementTree as ET
import xml.parsers.expat
from collections.abc import Iterable
from pathlib import Path
from typing import NoReturn
from urllib.parse import unquote, urlsplit

from weasyprint.urls import URLFetcher, URLFetcherResponse

MAX_IMAGE_PIXELS = 40_000_000  # ~ an A3 page at 600 dpi; beyond that it is a bomb or a mistake
RASTER_FORMATS = {"PNG", "JPEG", "GIF", "WEBP"}
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".webp", ".svg"}
OTHER_SUFFIXES = {".css", ".ttf", ".otf", ".woff", ".woff2", ".icc", ".icm"}
MAX_SVG_BYTES = 5 * 1024 * 1024
MAX_SVG_NODES = 50_000  # elements drawn once every <use> is expanded: a fan-out never ends
# An SVG may only refer to its own parts (href="#id", url(#id)): anything else would be a
# fetch that happens while the PDF is drawn, after the checks, or a way out of the sandbox.
_SVG_FORBIDDEN = {"script", "foreignObject", "iframe", "handler", "listener"}
_XLINK_HREF = "{http://www.w3.org/1999/xlink}href"
_CSS_URL_RE = re.compile(r"url\(\s*(?![\s'\"]*#)|@import|image-set\(|image\(", re.I)
HINT = "copy the file into assets/ and refer to it from there"


class RefusedResource(Exception):
    """Raised (and reported by WeasyPrint as an error) for a resource outside the sandbox."""


class _Served(URLFetcherResponse):
    """A response that is only its bytes. WeasyPrint re-reads a ``file:`` image from its path
    when it can (``RasterImage`` keeps a ``LazyLocalImage``), which would throw away what
    :func:`check_image` and :func:`strip_jpeg` made of it and embed the file byte for byte
    (comments, EXIF, anything after the end-of-image marker)."""

    @property
    def path(self) -> None:
        return None


class ProjectFetcher(URLFetcher):
    """Serve files from the project's allowed folders; record every file served."""

    def __init__(self, root: Path,
                 folders: Iterable[str] = ("content", "layouts", "assets")) -> None:
        super().__init__(allowed_protocols=("file",), allow_redirects=False)
        self.root = root.resolve()
        self.allowed = tuple((self.root / f).resolve() for f in folders)
        self.served: set[Path] = set()
        self.refused: list[str] = []

    def fetch(self, url: str, headers: dict[str, str] | None = None) -> URLFetcherResponse:
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
                if data[:3] == b"\xff\xd8\xff":  # WeasyPrint copies a JPEG's bytes as they are
                    data = strip_jpeg(path, data)
        except RefusedResource as exc:
            self.refused.append(str(exc))
            raise
        self.served.add(path)
        mime, _ = mimetypes.guess_type(path.name)
        headers = {"Content-Type": mime or "application/octet-stream"}
        return _Served(path.as_uri(), body=data, headers=headers)

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


# JPEG segments kept: the image data and what decoding it needs (JFIF, the ICC profile, Adobe's
# colour transform). Comments, EXIF/XMP (camera, GPS position, editing history), other APPn
# and anything after the end-of-image marker (an appended ZIP) are dropped.
_JPEG_KEEP_APP = {0xE0: b"JFIF", 0xE2: b"ICC_PROFILE", 0xEE: b"Adobe"}


def strip_jpeg(path: Path, data: bytes) -> bytes:
    """``data`` with only the segments that draw the image, ending at its end-of-image marker."""
    out, pos = [b"\xff\xd8"], 2
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            raise RefusedResource(f"image '{path.name}' is a damaged JPEG")
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker == 0xD9:
            break
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:  # markers without a length
            out.append(data[pos:pos + 2])
            pos += 2
            continue
        (length,) = struct.unpack(">H", data[pos + 2:pos + 4])
        segment = data[pos:pos + 2 + length]
        if marker == 0xDA:  # start of scan: entropy-coded data up to the next real marker
            end = pos + 2 + length
            while end + 1 < len(data) and not (data[end] == 0xFF and data[end + 1] not in
                                                (0x00, *range(0xD0, 0xD8))):
                end += 1
            out.append(data[pos:end])
            pos = end
            continue
        keep_app = _JPEG_KEEP_APP.get(marker)
        if not (0xE0 <= marker <= 0xEF or marker == 0xFE) or \
                (keep_app and segment[4:4 + len(keep_app)] == keep_app):
            out.append(segment)
        pos += 2 + length
    out.append(b"\xff\xd9")
    return b"".join(out)


def _refuse_doctype(path: Path, data: bytes) -> None:
    """No DOCTYPE and no entity, in whatever encoding the file is written (expat decodes
    UTF-16 and declared encodings; a byte search for ``<!ENTITY`` does not)."""
    def refuse(*_: object) -> NoReturn:
        raise RefusedResource(f"SVG '{path.name}' declares XML entities or a DOCTYPE")

    parser = xml.parsers.expat.ParserCreate()
    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    parser.UnparsedEntityDeclHandler = refuse
    parser.ExternalEntityRefHandler = refuse
    try:
        parser.Parse(data, True)
    except xml.parsers.expat.ExpatError as exc:
        raise RefusedResource(f"SVG '{path.name}' cannot be read ({exc})") from None


def _drawn_nodes(root: ET.Element) -> int:
    """How many elements are drawn once every ``<use>`` is expanded (cycles count as over)."""
    by_id = {el.get("id"): el for el in root.iter() if el.get("id")}
    memo: dict[int, int] = {}

    def count(element: ET.Element, depth: int = 0) -> int:
        key = id(element)
        if key in memo:
            return memo[key]
        if depth > 200:
            return MAX_SVG_NODES + 1
        memo[key] = MAX_SVG_NODES + 1  # a <use> that reaches itself: refused
        total = 1
        for child in element:
            total += count(child, depth + 1)
        if str(element.tag).rsplit("}", 1)[-1] == "use":
            ref = (element.get(_XLINK_HREF) or element.get("href") or "").strip()
            target = by_id.get(ref[1:]) if ref.startswith("#") else None
            if target is not None:
                total += count(target, depth + 1)
        memo[key] = min(total, MAX_SVG_NODES + 1)
        return memo[key]

    return count(root)


def check_svg(path: Path, data: bytes) -> None:
    """A self-contained SVG: parses, no entities, no scripts, no references to other files,
    and a bounded drawing once ``<use>`` copies are expanded. Every check is on the parsed
    document, so the file's encoding (UTF-16, a declared charset) changes nothing."""
    if len(data) > MAX_SVG_BYTES:
        raise RefusedResource(f"SVG '{path.name}' is over {MAX_SVG_BYTES // 1024 // 1024} MB")
    _refuse_doctype(path, data)  # entity expansion ("billion laughs") and external entities
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
    if _drawn_nodes(root) > MAX_SVG_NODES:
        raise RefusedResource(f"SVG '{path.name}' draws over {MAX_SVG_NODES:,} elements once "
                              "its <use> copies are expanded; simplify the figure")


_CSS_ESCAPE_RE = re.compile(r"\\(?:([0-9a-fA-F]{1,6})[ \t\r\n\f]?|(.))", re.S)


def _css_unescape(css: str) -> str:
    """CSS text with its escapes decoded and comments removed: ``u\\72l(`` is ``url(``."""
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.S)

    def one(match: re.Match[str]) -> str:
        if match.group(1):
            code = int(match.group(1), 16)
            return chr(code) if 0 < code <= 0x10FFFF and not 0xD800 <= code <= 0xDFFF \
                else "\ufffd"
        return match.group(2)

    return _CSS_ESCAPE_RE.sub(one, css)


def _check_svg_css(path: Path, css: str) -> None:
    if _CSS_URL_RE.search(css) or _CSS_URL_RE.search(_css_unescape(css)):
        raise RefusedResource(f"SVG '{path.name}' loads a resource from its CSS; figures "
                              "must be self-contained")
