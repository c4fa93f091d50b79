"""EPUB stage: an EPUB 3 container from finished parts, the house fonts subset for it, and the
print edition's page numbers read off the one WeasyPrint layout.

Knows nothing of briefings: the editions stage (press/briefing/editions.py) hands it XHTML
documents, a package document and the files they name.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # WeasyPrint has no types (an Any to mypy); imported for the reader
    from weasyprint import Document

# A fixed timestamp for every entry: the same inputs give the same bytes.
ZIP_TIME = (2000, 1, 1, 0, 0, 0)
CONTAINER = """<?xml version="1.0" encoding="UTF-8"?>
<container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container">
  <rootfiles>
    <rootfile full-path="EPUB/package.opf" media-type="application/oebps-package+xml"/>
  </rootfiles>
</container>
"""


def package(files: dict[str, bytes]) -> bytes:
    """The EPUB's bytes: ``mimetype`` first and stored (the OCF rule readers sniff for), the
    container, then ``files`` (paths under ``EPUB/``) in sorted order, deflated."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        _add(archive, "mimetype", b"application/epub+zip", zipfile.ZIP_STORED)
        _add(archive, "META-INF/container.xml", CONTAINER.encode(), zipfile.ZIP_DEFLATED)
        for name in sorted(files):
            _add(archive, f"EPUB/{name}", files[name], zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


def _add(archive: zipfile.ZipFile, name: str, data: bytes, method: int) -> None:
    info = zipfile.ZipInfo(name, ZIP_TIME)
    info.compress_type = method
    info.external_attr = 0o644 << 16
    archive.writestr(info, data)


# The characters the editions' fonts keep: Latin with its accents (Latin-1, Extended-A),
# punctuation, currency, letterlike symbols, arrows and mathematical operators. The four Lato
# faces whole would add 2.7 MB to every edition, with Greek, Cyrillic and Vietnamese no
# briefing uses; a character outside falls back to the reader's own font.
REPERTOIRE = ((0x20, 0x17F), (0x2000, 0x206F), (0x20A0, 0x20BF), (0x2100, 0x215F),
              (0x2190, 0x21FF), (0x2200, 0x22FF))


def subset_font(path: Path) -> bytes:
    """``path`` cut down to :data:`REPERTOIRE`, unhinted TrueType (about 75 kB a face; the
    SIL OFL allows subsetting and embedding; the name table, with the licence, is kept)."""
    from fontTools import subset
    from fontTools.ttLib import TTFont

    with TTFont(str(path), lazy=True) as whole:
        cmap = whole.getBestCmap()
    options = subset.Options()
    options.name_IDs = ["*"]
    options.notdef_outline = True
    options.hinting = False  # a screen hints for itself; halves the size
    options.layout_features = ["kern", "liga", "lnum", "pnum"]
    font = subset.load_font(str(path), options)
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=[c for c in cmap if any(a <= c <= b for a, b in REPERTOIRE)])
    subsetter.subset(font)
    buffer = io.BytesIO()
    font.save(buffer)
    font.close()
    return buffer.getvalue()


def font_key(path: Path) -> str:
    """What a subset font depends on: the font's bytes, the repertoire, fontTools' version."""
    import fontTools

    digest = hashlib.sha256(path.read_bytes())
    digest.update(repr((REPERTOIRE, fontTools.version)).encode())
    return digest.hexdigest()[:16]


def anchor_pages(document: Document) -> dict[str, int]:
    """Each element id of a WeasyPrint document → the number of the page it starts on (the
    page counter of the house style counts every page from the cover as 1)."""
    pages: dict[str, int] = {}
    for number, page in enumerate(document.pages, start=1):
        for name in page.anchors:
            pages.setdefault(name, number)
    return pages
