"""Bundle sample (assemble stage): a bundle's free sample, made with its web edition.

The sample is the bundle's first pages (its own cover and contents, then the first pages of
its first briefing) and the note page saying where to buy it, in one WeasyPrint document so
that it is tagged PDF/UA-1 like the web edition. A briefing's pages in the bundle are copied
from its PDF, so there is no layout to cut them from: the briefing is laid out again, which
gives the same pages (checked against the bundle's page count, and by text in the tests).

It is made only when what it shows changed (a ``freshness.DerivedStore``, keyed by the own
pages' HTML, the note page's HTML, the layouts and assets, and the PDFs of the briefings it
shows): an edit inside a later briefing of the bundle that moves no page number leaves the
sample as it was.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from press.briefing import layout, sample
from press.briefing import render as render_briefing
from press.core import freshness
from press.errors import ContentError
from press.model import Page
from press.products.bundles.model import BUNDLE_CODE, Bundle, PartFile, Plan
from press.products.bundles.pages import description, design_files, page, settle_contents
from press.project import Project

if TYPE_CHECKING:
    from press.render.typeset import Typeset


def sample_pages(bundle: Bundle) -> int:
    """How many of the bundle's pages its sample shows."""
    return bundle.series.sample_pages or sample.DEFAULT_SAMPLE_PAGES


def sold(bundle: Bundle) -> sample.Sold:
    """What the note page says about the bundle."""
    parts = bundle.briefings
    return sample.Sold(kind="bundle", title=bundle.title, series=bundle.series,
                       published=bundle.published,
                       authors=tuple(dict.fromkeys(a.name for b in parts for a in b.authors)),
                       isbn=bundle.isbn_pdf, price=bundle.price, summary=description(bundle),
                       sample_pages=sample_pages(bundle), source=bundle.path)


def write(project: Project, bundle: Bundle, the_plan: Plan, parts: list[PartFile],
          own: Typeset | None = None) -> bytes:
    """The web edition's sample (a tagged PDF), from the cache when nothing it shows changed.

    ``the_plan``, ``parts``: the web edition's, as merged; ``own``: the layout of the bundle's
    own pages if they were laid out for it (else they are laid out again, if needed)."""
    product = sold(bundle)
    total = the_plan.total
    shown = min(product.sample_pages, total)
    contents = [sample.ContentsItem(f"{b.indicator.code}: {b.title}", start < shown)
                for b, start in zip(bundle.briefings, the_plan.starts, strict=True)]
    note = sample.note_source(project, product, shown, total, contents)
    showing = [part for part, start in zip(parts, the_plan.starts, strict=True) if start < shown]
    root_url = layout.file_url(project.root)  # a moved project keeps its cache
    designs = [*design_files(project), *layout.layout_files(
        project, *{b.layout for b in bundle.briefings[:len(showing)]})]
    key = freshness.digest(freshness.FORMAT, freshness.versions(),
                           freshness.code_key(BUNDLE_CODE),
                           page(project, bundle, the_plan).html.replace(root_url, ""),
                           note.html.replace(root_url, ""),
                           freshness.Hasher().files(project.root, sorted(set(designs))),
                           [hashlib.sha256(part.path.read_bytes()).hexdigest()
                            for part in showing])
    store = freshness.DerivedStore(project, "bundle-samples")
    cached = store.get(bundle.id, key, ".pdf")
    if cached is not None:
        return cached[0]
    data = _lay_out(project, bundle, the_plan, shown, note, showing, own)
    store.put(bundle.id, key, {".pdf": data})
    return data


def _lay_out(project: Project, bundle: Bundle, the_plan: Plan, shown: int, note_html: Page,
             showing: list[PartFile], own: Typeset | None) -> bytes:
    from press.render import recipes, typeset  # WeasyPrint

    settled = the_plan
    if own is None:
        own, settled = settle_contents(project, bundle, "web", the_plan.counts, the_plan.front)
    if settled.total != the_plan.total:
        raise ContentError.at(bundle.path, None, "the bundle's own pages no longer lay out as "
                              "they were merged", "build it again: python build.py bundle "
                              f"{bundle.id} --force")
    pages = own.document.pages[:min(shown, the_plan.front)]
    laid_out = [own]  # keep every document (and its fonts) alive until the sample is written
    for briefing in bundle.briefings[:len(showing)]:
        if len(pages) >= shown:
            break
        laid_out.append(render_briefing(project, briefing).laid_out)
        pages += laid_out[-1].document.pages[:shown - len(pages)]
    if len(pages) < shown:
        pages.append(own.document.pages[-1])  # the back cover
    note = typeset.render(note_html, project.root)
    return recipes.write_sample(own, pages, note, sold(bundle),
                                f"{bundle.series.id}/bundles/{bundle.id}/sample")
