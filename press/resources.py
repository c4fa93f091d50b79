"""Resources for the typeset stage: a URL fetcher that serves project files and nothing else.

Only regular files inside ``content/``, ``layouts/`` and ``assets/`` (after resolving symlinks)
are served. Network URLs, ``file://`` outside the project and anything else are refused, so
a build never touches the network and never leaks a file from elsewhere into a PDF.
Images are checked (format allow-list, pixel cap) before WeasyPrint decodes them.
"""

from __future__ import annotations

import mimetypes
from pathlib import Path
from urllib.parse import unquote, urlsplit

from weasyprint.urls import URLFetcher, URLFetcherResponse

MAX_IMAGE_PIXELS = 40_000_000  # ~ an A3 page at 600 dpi; beyond that it is a bomb or a mistake
RASTER_FORMATS = {"PNG", "JPEG", "GIF", "WEBP"}
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
        data = path.read_bytes()
        if path.suffix.lower() in {".png", ".jpg", ".jpeg", ".gif", ".webp"}:
            check_image(path, data)
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
        except (OSError, RuntimeError):
            raise RefusedResource(f"missing file '{path}'") from None
        if not any(real.is_relative_to(folder) for folder in self.allowed):
            raise RefusedResource(f"refused to load '{path}': it is outside the project's "
                                  f"content/, layouts/ and assets/ ({HINT})")
        if not real.is_file():
            raise RefusedResource(f"refused to load '{path}': not a regular file")
        return real


def check_image(path: Path, data: bytes) -> None:
    """Refuse empty, undecodable, disallowed or oversized raster images before decoding."""
    from PIL import Image, UnidentifiedImageError

    if not data:
        raise RefusedResource(f"image '{path.name}' is empty (0 bytes)")
    import io
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.format not in RASTER_FORMATS:
                raise RefusedResource(f"image '{path.name}' is {image.format}; "
                                      f"use PNG, JPEG, GIF or WebP")
            width, height = image.size
            if width * height > MAX_IMAGE_PIXELS:
                raise RefusedResource(f"image '{path.name}' is {width}×{height} pixels, over "
                                      f"the {MAX_IMAGE_PIXELS // 1_000_000} megapixel limit")
            image.verify()
    except RefusedResource:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise RefusedResource(f"image '{path.name}' cannot be read ({exc})") from None
