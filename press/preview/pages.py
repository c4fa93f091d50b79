"""Preview stage, pages: lay one briefing out, fingerprint its pages, draw them as PNGs."""

from __future__ import annotations

import hashlib
import io
import logging
import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree

import pypdfium2 as pdfium

import press.briefing
from press.content.load import load_briefing, load_series
from press.errors import ContentError, Problem, Problems
from press.model import Body, Briefing, Page
from press.preview.changes import Deps
from press.project import Project
from press.render import typeset, web  # WeasyPrint, imported once when the preview starts

DPI = 110  # page images: sharp on screen, quick to rasterise and encode


@dataclass(frozen=True)
class Built:
    """A briefing laid out for preview, and what the layout depended on."""

    briefing: Briefing
    laid_out: typeset.Typeset
    ident: str  # the PDF identifier, as the pipeline gives this edition
    deps: Deps
    warnings: tuple[Problem, ...] = ()
    body: Body | None = None  # the converted text, for the HTML edition beside the pages

    def html_edition(self, project: Project, folder: Path) -> str:
        """Write the HTML edition (from this same Body) into ``folder``; its file name."""
        from press.briefing import editions

        assert self.body is not None, "laid out without its Body"
        for name, data in editions.html_edition(project, self.briefing, self.body).items():
            target = folder / ("edition.html" if name == "index.html" else f"assets/{name}")
            target.parent.mkdir(parents=True, exist_ok=True)
            publish(target, data)
        return "edition.html"

    def pdf(self) -> bytes:
        """The PDF the preview shows and offers: the web edition's pages, without its
        accessibility pass (a third of the write; the build's web edition has it)."""
        return web.write_web(self.laid_out, None, self.ident, accessible=False)


def typeset_briefing(project: Project, path: Path) -> Built:
    """Run load → markdown → layout → typeset for one file; ContentError if it cannot build.

    Drafts get the draft edition (watermark, draft footer), final briefings the web edition.
    """
    problems = Problems()
    series = load_series(project, problems)
    briefing = load_briefing(project, path, series, problems)
    if briefing is None:
        raise ContentError(problems.errors or [Problem(path, None, "could not be loaded")])
    rendered = press.briefing.render(
        project, briefing,
        draft=press.briefing.draft_of(briefing) if briefing.is_draft else None)
    files = ({Path(p) for p in rendered.body.images} | set(rendered.laid_out.served)
             | {Path(p) for p in briefing.bibliography})
    deps = Deps(briefing.series.id,
                frozenset(f for f in files if f.is_relative_to(project.content)))
    return Built(briefing, rendered.laid_out, rendered.ident, deps,
                 tuple(rendered.body.warnings), rendered.body)


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


def publish(path: Path, data: bytes) -> None:
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
                publish(folder / name, buffer.getvalue())
            drawn.append((name, image.width, image.height))
    finally:
        document.close()
    return drawn


def warm_up(project: Project, folder: Path) -> None:
    """Lay out, write and draw a tiny page in the house style in this process, so that the
    forked child of every build starts with fonts, Pango and pdfium loaded (about 1.5 s a
    rebuild otherwise), and with the layouts' templates compiled (0.08 s). Our own page, not
    an author's: it cannot hang the preview."""
    from press.briefing import layout

    css = layout.file_url(project.layouts / "briefing.css")
    html = (f'<html lang="en-GB"><head><link rel="stylesheet" href="{css}"></head><body>'
            "<h2>Warm</h2><p>Text, <b>bold</b> and <i>italic</i>.</p></body></html>")
    page = Page(html=html, base_url=layout.file_url(project.layouts) + "/", name="warm-up")
    rasterise(web.write_web(typeset.render(page, project.root), None, "warm-up"), folder)
    layout.compile_templates(project)


def rasterise(pdf: bytes, folder: Path, dpi: int = DPI) -> tuple[PageImage, ...]:
    """Every page of ``pdf`` as a PageImage."""
    return tuple(PageImage(number, name, width, height)
                 for number, (name, width, height) in enumerate(draw(pdf, folder, dpi), 1))


class _Quiet(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return False


def pages_pdf(laid_out: typeset.Typeset, indexes: list[int]) -> bytes:
    """A quick PDF of some pages, to draw them: trimmed like the web edition, uncompressed.

    WeasyPrint complains about links to pages left out; that is expected here, so it is hushed.
    """
    document = laid_out.document
    subset = document.copy([document.pages[i] for i in indexes])  # shares the pages
    quiet = _Quiet()
    logging.getLogger("weasyprint").addFilter(quiet)
    saved = typeset.set_bleed(subset, 0)
    try:
        data: bytes = subset.write_pdf(uncompressed_pdf=True)  # WeasyPrint: untyped
        return data
    finally:
        typeset.restore_bleed(subset, saved)
        logging.getLogger("weasyprint").removeFilter(quiet)
