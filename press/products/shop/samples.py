"""Shop stage, samples: cover thumbnails (pdfium) and free sample PDFs (WeasyPrint, tagged)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import TYPE_CHECKING

from press.briefing import render as render_briefing
from press.briefing import sample
from press.core import output
from press.errors import ContentError
from press.products import bundles as assemble
from press.products.shop.products import Product
from press.project import Project

if TYPE_CHECKING:
    pass

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


# -- samples (a briefing's is written with its web edition: press.briefing.sample) ---------

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
    contents = [sample.ContentsItem(f"{b.indicator.code}: {b.title}", start < shown)
                for b, start in zip(bundle.briefings, the_plan.starts)]
    note = sample.note_page(project, product, shown, total, contents)
    document = own.document.copy(pages + note.document.pages)
    document.metadata = sample.metadata(own.document.metadata, product)
    ident = f"{product.series.id}/bundles/{product.id}/sample"
    return web.write_web(typeset.Typeset(document), None, ident, excerpt=True), shown
