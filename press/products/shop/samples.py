"""Shop stage, samples: cover thumbnails (pdfium) and free sample PDFs (WeasyPrint, tagged)."""

from __future__ import annotations

import copy
import io
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from press.briefing import layout
from press.briefing import render as render_briefing
from press.core import output
from press.errors import ContentError
from press.model import Page
from press.products import bundles as assemble
from press.products.shop.products import Product
from press.project import Project

if TYPE_CHECKING:
    from press.render.typeset import Typeset

THUMB_WIDTHS = {"cover": 600, "cover@2x": 1200}
MAX_CONTENTS = 12  # sections listed on the sample's note page (it must stay one page)


def pdf_pages(data: bytes, name: str) -> int:
    """The page count of a PDF that must be complete and readable (else IncompleteOutput)."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        output.check_pdf(data)
        return len(PdfReader(io.BytesIO(data)).pages)
    except (PdfReadError, output.IncompleteOutput, ValueError) as exc:
        raise output.IncompleteOutput(f"{name}: not a readable PDF ({exc})") from None


# -- thumbnails --------------------------------------------------------------------------------

def thumbnail(pdf: bytes, width: int) -> bytes:
    """The first page rasterised by pdfium at exactly ``width`` pixels wide, as a PNG.

    Pillow writes no tIME or text chunks unless asked, so the same page gives the same bytes.
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
    image.save(buffer, "PNG", optimize=True)
    return buffer.getvalue()


# -- samples -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class _ContentsItem:
    text: str
    in_sample: bool


def _note_page(project: Project, product: Product, shown: int, total: int,
               contents: list[_ContentsItem]) -> Typeset:
    """The sample's last page, laid out with the house style (layouts/_sample_note.html)."""
    from press.render import typeset  # WeasyPrint

    env = layout.environment(project.layouts)
    html = env.get_template("_sample_note.html").render(
        product=product, series=product.series, shown=shown, total=total,
        kind_word="bundle" if product.kind == "bundle" else "briefing",
        contents_title="In this bundle" if product.kind == "bundle" else "In the full briefing",
        contents=contents[:MAX_CONTENTS], more=max(0, len(contents) - MAX_CONTENTS),
        published_label=product.published_label,
        css_url=layout.file_url(project.layouts / "briefing.css"),
        qr=layout.qr_svg(product.series.purchase_url))
    page = Page(html=html, base_url=layout.file_url(project.layouts) + "/",
                name=str(product.source))
    return typeset.render(page, project.root)


def _sample_metadata(metadata, product: Product):
    sample = copy.copy(metadata)
    sample.title = f"{metadata.title or product.title} (sample)"
    sample.keywords = [*metadata.keywords, "sample"]
    sample.description = (f"Free sample of {product.title}: the first {product.sample_pages} "
                          f"pages. Buy the full {product.kind} at "
                          f"{product.series.purchase_url}")
    return sample


def briefing_sample(project: Project, product: Product, full_pages: int) -> tuple[bytes, int]:
    """A tagged PDF/UA-1 sample: the briefing's first pages plus the note, laid out together.

    The briefing is laid out again (WeasyPrint keeps no layout between runs) and its first
    pages are combined with the note page in one ``Document``, so WeasyPrint writes one
    structure tree and the sample stays a tagged, accessible PDF. Returns (pdf, pages shown).
    """
    from press.render import typeset, web  # WeasyPrint

    briefing = product.briefing
    rendered = render_briefing(project, briefing)
    body, document = rendered.body, rendered.laid_out.document
    if len(document.pages) != full_pages:
        raise ContentError.at(briefing.path, None,
                              f"the web edition output/web/{briefing.slug}.pdf has {full_pages} "
                              f"pages but the briefing now lays out as {len(document.pages)}",
                              f"rebuild it first: python build.py briefing {briefing.slug}")
    shown = min(product.sample_pages, full_pages)
    anchors = set()
    for page in document.pages[:shown]:
        anchors.update(page.anchors)
    contents = [_ContentsItem(h.text, h.id in anchors) for h in body.headings if h.level == 2]
    if body.references_html:
        contents.append(_ContentsItem("References", f"{briefing.slug}--references" in anchors))
    note = _note_page(project, product, shown, full_pages, contents)
    sample = document.copy(document.pages[:shown] + note.document.pages)
    sample.metadata = _sample_metadata(document.metadata, product)
    ident = f"{rendered.ident}/sample"
    data = web.write_web(typeset.Typeset(sample), None, ident, excerpt=True)
    return data, shown


def bundle_sample(project: Project, product: Product, pdf: bytes,
                  folder: Path) -> tuple[bytes, int]:
    """A bundle's sample, tagged like a briefing's: the bundle's own front matter (laid out as
    the bundles stage lays it out), then the first pages of its briefings, then the note.

    The bundle PDF is merged by pypdf, so there is no layout to cut from; laying the same
    pages out again gives the same pages (checked against the bundle's page count here, and
    by text in the tests) in one WeasyPrint document, which writes one structure tree.
    """
    from pypdf import PdfReader

    from press.render import typeset, web  # WeasyPrint

    total = len(PdfReader(io.BytesIO(pdf)).pages)
    bundle = product.bundle
    counts = tuple(assemble.part_count(pdf_pages((folder / f"{b.slug}.pdf").read_bytes(),
                                                 f"{b.slug}.pdf"))
                   for b in bundle.briefings)
    own, the_plan = assemble.settle_contents(project, bundle, "web", counts)
    front = the_plan.front
    if the_plan.total != total:
        raise ContentError.at(product.source, None,
                              f"the web edition output/web/{product.name('full')} has {total} "
                              f"pages but the bundle now lays out as {the_plan.total}",
                              f"rebuild it first: python build.py bundle {product.id}")
    shown = min(product.sample_pages, total)
    pages = own.document.pages[:min(shown, front)]
    laid_out = [own]  # keep every document (and its fonts) alive until the sample is written
    for briefing in bundle.briefings:
        if len(pages) >= shown:
            break
        laid_out.append(render_briefing(project, briefing).laid_out)
        pages += laid_out[-1].document.pages[:shown - len(pages)]
    if len(pages) < shown:
        pages.append(own.document.pages[-1])  # the back cover
    contents = [_ContentsItem(f"{b.indicator.code}: {b.title}", start < shown)
                for b, start in zip(bundle.briefings, the_plan.starts)]
    note = _note_page(project, product, shown, total, contents)
    sample = own.document.copy(pages + note.document.pages)
    sample.metadata = _sample_metadata(own.document.metadata, product)
    ident = f"{product.series.id}/bundles/{product.id}/sample"
    return web.write_web(typeset.Typeset(sample), None, ident, excerpt=True), shown
