"""Thumbnail stage: a PDF's first page → the cover PNGs the web shop shows (pdfium).

Made by whoever holds the web edition's bytes as it is written (the briefing's worker, the
bundles stage), so the shop only copies and checks them.
"""

from __future__ import annotations

import io

THUMB_WIDTHS = {"cover": 600, "cover@2x": 1200}  # role → width in pixels


def cover_png(pdf: bytes, width: int) -> bytes:
    """The first page rasterised by pdfium at exactly ``width`` pixels wide, as a PNG.

    Pillow writes no tIME or text chunks unless asked, so the same page gives the same bytes.
    zlib's default level: ``optimize`` (level 9 and a filter search) makes the files 3 % smaller
    and takes twice as long.
    """
    import pypdfium2 as pdfium
    from PIL import Image

    document = pdfium.PdfDocument(pdf)
    try:
        page = document[0]
        page_width, _ = page.get_size()
        image = page.render(scale=width / page_width).to_pil().convert("RGB")
        page.close()
    finally:
        document.close()
    if image.width != width:  # pdfium rounds the bitmap size; never off by more than a pixel
        height = round(image.height * width / image.width)
        image = image.resize((width, height), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    image.save(buffer, "PNG", compress_level=6)
    return buffer.getvalue()


def covers(pdf: bytes) -> dict[str, bytes]:
    """Every cover thumbnail of a PDF, by role."""
    return {role: cover_png(pdf, width) for role, width in THUMB_WIDTHS.items()}
