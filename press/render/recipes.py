"""Recipes (render stage): the one way to write each printed PDF from a layout, and the one way
to cut a free sample from one, in a table of variants (as WeasyPrint's ``pdf/pdfx.py``).

* print ``edition``: a briefing's pages, or a bundle's own pages: the cover's title must fit
  its box; PDF/X-4 with bleed and crop marks, CMYK brand colours, the series' output profile,
  blank and Notes pages put in before the back cover;
* print ``sheet``: the mailing's letters and job sheet: PDF/X-4, CMYK, no bleed, no padding;
* the sample: the first pages of a layout and the note page saying where to buy the product,
  in one tagged PDF/UA-1 document, like the web edition.

The build (``press.build.pipeline``), the bundles (``press.products.bundles``) and the mailing
(``press.products.mailing``) call these; none writes a print PDF or a sample its own way.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from press.core.output import identifier
from press.errors import ContentError
from press.project import Project
from press.render import preflight, typeset, web
from press.render import print as print_pdf
from press.render.typeset import Typeset

if TYPE_CHECKING:
    from press.model import Series


class Sold(Protocol):
    """What a sample's metadata names (``press.briefing.sample.Sold``, from a layer above)."""

    @property
    def kind(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def sample_pages(self) -> int: ...
    @property
    def series(self) -> Series: ...


@dataclass(frozen=True)
class PrintVariant:
    """How one kind of print PDF is made."""

    bleed: bool  # trim and bleed boxes, crop marks, padding pages before the back cover
    cover: bool  # the cover's title must fit its box (checked before writing)


PRINT_VARIANTS = {
    "edition": PrintVariant(bleed=True, cover=True),  # briefings' and bundles' print editions
    "sheet": PrintVariant(bleed=False, cover=False),  # the mailing's letters and job sheet
}


def write_print(project: Project, laid_out: Typeset, ident: str, variant: str = "edition", *,
                profile: str = "", source: Path | None = None, blanks: int = 0,
                pad_end: int = 0) -> bytes:
    """The print PDF of a layout. ``profile``: the output profile under ``assets/`` (default
    FOGRA39); ``source``: the file whose title a cover that does not fit is reported at;
    ``blanks``: blank pages put in before the back cover (a bundle's briefings start on
    right-hand pages), then ``pad_end`` pages padding a booklet (Notes pages, then a blank)."""
    recipe = PRINT_VARIANTS[variant]
    if recipe.cover:
        collision = preflight.cover_fit(laid_out.document)
        if collision:
            assert source is not None  # every recipe with a cover is given its source
            raise ContentError.at(source, title_line(source), collision,
                                  "shorten the title or the subtitle")
    palette = print_pdf.Palette.load(project.layouts / "palette.yaml")
    intent = print_pdf.output_profile(project.assets, profile)
    if not recipe.bleed:
        return typeset.write(laid_out, None, pdf_variant="pdf/x-4",
                             finisher=print_pdf.pdfx_finisher(palette, ident, intent),
                             pdf_identifier=identifier(ident, "print"))
    kinds = ["blank"] * blanks + typeset.padding_kinds(pad_end)
    css_url = (project.layouts / "briefing.css").resolve().as_uri()  # its fonts are used
    pages = typeset.blank_pages(len(kinds), project.root, css_url, kinds)
    return print_pdf.write_print(laid_out, None, ident, palette, pages, intent)


def title_line(path: Path | None) -> int | None:
    """The line of ``title:`` in a source file, for problems about the title."""
    if path is None:
        return None
    try:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if line.startswith("title:"):
                return number
    except (OSError, AttributeError):
        pass
    return None


# WeasyPrint's pages and metadata have no types (an Any to mypy).
def write_sample(base: Typeset, pages: list[Any], note: Typeset, product: Sold, ident: str
                 ) -> bytes:
    """A free sample: ``pages`` (the first pages of ``base``, perhaps followed by pages of
    other layouts, which the caller keeps alive until this returns) and the note page, in one
    document copied from ``base`` so that WeasyPrint writes one structure tree: a tagged
    PDF/UA-1 like the web edition, its metadata marked as a sample. ``product``: what the
    note page says about the product (``press.briefing.sample.Sold``)."""
    document = base.document.copy(list(pages) + note.document.pages)
    document.metadata = sample_metadata(base.document.metadata, product)
    # reported against the layout, with the files it and the note were made from
    excerpt = Typeset(document, base.served | note.served, source=base.source)
    return web.write_web(excerpt, None, ident, excerpt=True)


def sample_metadata(metadata: Any, product: Sold) -> Any:
    """The full edition's metadata, marked as a sample."""
    sample = copy.copy(metadata)
    sample.title = f"{metadata.title or product.title} (sample)"
    sample.keywords = [*metadata.keywords, "sample"]
    sample.description = (f"Free sample of {product.title}: the first {product.sample_pages} "
                          f"pages. Buy the full {product.kind} at "
                          f"{product.series.purchase_url}")
    return sample
