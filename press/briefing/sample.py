"""Briefing, sample: the free sample, cut from the briefing's one layout, and the note page
that every sample (briefing or bundle) ends with.

A briefing's sample is its first pages and a last page saying where to buy the full briefing,
in one WeasyPrint document (``press.render.recipes.write_sample``, the one sample recipe), so
that WeasyPrint writes one structure tree and the sample is a tagged PDF/UA-1 like the web
edition. It is written by the worker that lays the briefing out,
from that same layout (``Document.copy``): making it costs the note page and a short write,
never a second layout of the briefing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from press.briefing import layout
from press.model import Briefing, Page, Series
from press.project import Project

if TYPE_CHECKING:
    from press.briefing import Rendered
    from press.render.typeset import Typeset

DEFAULT_SAMPLE_PAGES = 3  # cover, contents (inside cover), first content page
MAX_CONTENTS = 12  # sections listed on the note page (it must stay one page)


@dataclass(frozen=True)
class ContentsItem:
    """One line of the note page's contents list, marked if it is in the sample."""

    text: str
    in_sample: bool


@dataclass(frozen=True)
class Sold:
    """What the note page says about the product the sample is taken from."""

    kind: str  # "briefing" or "bundle"
    title: str
    series: Series
    published: str
    authors: tuple[str, ...] = ()
    indicator_code: str = ""
    number: int | None = None
    isbn: str = ""
    price: float | None = None
    summary: str = ""
    sample_pages: int = DEFAULT_SAMPLE_PAGES
    source: Path | None = None  # a bundle's file, that problems with the note page name

    @property
    def published_label(self) -> str:
        return month_label(self.published)


def month_label(published: str) -> str:
    """"2009-04" (or a full date) as "April 2009", as the note page and the shop show it."""
    parts = [int(p) for p in published.split("-")]
    return dt.date(parts[0], parts[1], parts[2] if len(parts) > 2 else 1).strftime("%B %Y")


def sample_pages(briefing: Briefing) -> int:
    """How many of the briefing's pages its sample shows."""
    return briefing.sample_pages or briefing.series.sample_pages or DEFAULT_SAMPLE_PAGES


def sold(briefing: Briefing) -> Sold:
    return Sold(kind="briefing", title=briefing.title, series=briefing.series,
                published=briefing.published, authors=tuple(a.name for a in briefing.authors),
                indicator_code=briefing.indicator.code, number=briefing.number,
                isbn=briefing.isbn_pdf, price=briefing.price, summary=briefing.summary,
                sample_pages=sample_pages(briefing))


def note_page(project: Project, product: Sold, shown: int, total: int,
              contents: list[ContentsItem]) -> Typeset:
    """The sample's last page, laid out with the house style (layouts/_sample_note.html)."""
    from press.render import typeset  # WeasyPrint

    return typeset.render(note_source(project, product, shown, total, contents), project.root)


def note_source(project: Project, product: Sold, shown: int, total: int,
                contents: list[ContentsItem]) -> Page:
    """The note page's HTML (what :func:`note_page` lays out)."""
    env = layout.environment(project.layouts)
    html = env.get_template("_sample_note.html").render(
        product=product, series=product.series, shown=shown, total=total,
        kind_word="bundle" if product.kind == "bundle" else "briefing",
        contents_title="In this bundle" if product.kind == "bundle" else "In the full briefing",
        contents=contents[:MAX_CONTENTS], more=max(0, len(contents) - MAX_CONTENTS),
        published_label=product.published_label,
        css_url=layout.file_url(project.layouts / "briefing.css"),
        qr=layout.qr_svg(product.series.purchase_url))
    return Page(html=html, base_url=layout.file_url(project.layouts) + "/",
                name=str(product.source or "layouts/_sample_note.html"))


def write(project: Project, briefing: Briefing, rendered: Rendered) -> tuple[bytes, int]:
    """The briefing's sample from its one layout: (tagged PDF, pages of the briefing shown)."""
    from press.render import recipes  # WeasyPrint

    product = sold(briefing)
    body, document = rendered.body, rendered.laid_out.document
    total = len(document.pages)
    shown = min(product.sample_pages, total)
    anchors = set()
    for page in document.pages[:shown]:
        anchors.update(page.anchors)
    contents = [ContentsItem(h.text, h.id in anchors) for h in body.headings if h.level == 2]
    if body.references_html:
        contents.append(ContentsItem("References", f"{briefing.slug}--references" in anchors))
    note = note_page(project, product, shown, total, contents)
    data = recipes.write_sample(rendered.laid_out, document.pages[:shown], note, product,
                                f"{rendered.ident}/sample")
    return data, shown
