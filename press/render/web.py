"""Web edition stage: a laid-out document → trimmed, RGB, tagged PDF/UA-1 with raster images
downsampled for the screen."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any, BinaryIO, overload

import weasyprint
from weasyprint.images import RasterImage

from press.core.output import identifier
from press.render import accessible, regroup, xmp
from press.render.typeset import Typeset, restore_bleed, set_bleed, write

WEB_DPI = 150  # raster images above this resolution at their placed size are downsampled


@overload
def write_web(typeset: Typeset, target: None, ident: str, excerpt: bool = False,
              accessible: bool = True) -> bytes: ...
@overload
def write_web(typeset: Typeset, target: Path | BinaryIO, ident: str, excerpt: bool = False,
              accessible: bool = True) -> None: ...
def write_web(typeset: Typeset, target: Path | BinaryIO | None, ident: str,
              excerpt: bool = False, accessible: bool = True) -> bytes | None:
    """Trimmed, RGB, tagged PDF/UA-1 with viewer title; returns bytes if ``target`` is None.

    ``excerpt``: only some pages of a document (see :func:`press.render.typeset.write`).
    WeasyPrint's tagging is completed by :mod:`press.render.accessible` (artifacts, link
    descriptions, table scopes, soft hyphens); ``accessible=False`` leaves that out, for the
    preview's own PDF (the pages look the same; it is never published)."""
    document = typeset.document
    saved_profiles = dict(document.color_profiles)
    document.color_profiles.clear()  # no CMYK profile in the web file
    saved = set_bleed(document, 0)
    try:
        with _downsampled(document, WEB_DPI), regroup.recording() as boxes:
            finisher = partial(_web_finisher, source_text(document) if accessible else None,
                               boxes, ident)
            data = write(typeset, None, excerpt, pdf_variant="pdf/ua-1",
                         pdf_identifier=identifier(ident, "web"), finisher=finisher)
    finally:
        restore_bleed(document, saved)
        document.color_profiles.update(saved_profiles)
    if target is None:
        return data
    if hasattr(target, "write"):
        target.write(data)
    else:
        with open(target, "wb") as file:
            file.write(data)
    return None


def source_text(document: weasyprint.Document) -> str:
    """The text of the document's HTML, as written (soft hyphens and all)."""
    for page in document.pages:
        for child in page._page_box.children:
            if child.element is not None:
                return "".join(child.element.itertext())
    return ""


@contextmanager
def _downsampled(document: weasyprint.Document, dpi: int) -> Iterator[None]:
    """Write ``document``'s raster images at no more than ``dpi`` at their placed size.

    WeasyPrint takes its image options (``dpi``, ``optimize_images``, ``jpeg_quality``) when
    the document is rendered, not when it is written, so passing them to ``write_pdf`` does
    nothing; the document is rendered once for both editions, so the web edition sets the
    resolution on each image for its own write. Downsampling replaces an image's data, which
    is put back afterwards for the print edition.
    """
    images = _raster_images(document)
    saved = [(image, image._dpi, image.image_data) for image in images]
    for image in images:
        image._dpi = dpi
    try:
        yield
    finally:
        for image, old_dpi, data in saved:
            image._dpi, image.image_data = old_dpi, data


def _raster_images(document: weasyprint.Document) -> list[RasterImage]:
    """The raster images drawn in ``document``: replaced elements and backgrounds."""
    found: dict[int, RasterImage] = {}
    for page in document.pages:
        for box in page._page_box.descendants():
            images = [getattr(box, "replacement", None)]
            background = getattr(box, "background", None)
            if background is not None:
                images.extend(layer.image for layer in background.layers)
            for image in images:
                if isinstance(image, RasterImage):
                    found[id(image)] = image
    return list(found.values())


def _web_finisher(text: str | None, boxes: dict[Any, Any], ident: str,
                  document: weasyprint.Document, pdf: Any) -> None:
    # PDF/UA tagging already sets DisplayDocTitle; open with the bookmarks panel showing.
    pdf.catalog["PageMode"] = "/UseOutlines"
    xmp.add_identity(document, pdf, "pdf")  # the web PDF is the product sold as "pdf"
    if text is not None:  # what WeasyPrint's tagging leaves out, before the PDF is written
        grouped = regroup.regroup(pdf, boxes, ident)
        accessible.complete(pdf, text, grouped.actual_text)
