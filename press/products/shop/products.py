"""Shop stage, products: what the shop sells (final briefings and bundles) and its files."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from press.briefing.sample import month_label, sample_pages
from press.content.load import load_all
from press.errors import ContentError, Problems
from press.model import Briefing, Series
from press.products import bundles as assemble
from press.products.bundles import sample as bundle_sample
from press.project import Project

ROLES = ("full", "sample", "cover", "cover@2x")
# the trade's files beside each product (press.products.shop.trade): role → name suffix
TRADE_SUFFIXES = {"jsonld": ".jsonld", "citation": "-citation.html", "ris": ".ris",
                  "bibtex": ".bib", "csl": ".csl.json"}


@dataclass(frozen=True)
class Product:
    """One thing the shop sells: a final briefing or a bundle, with where its files live."""

    kind: str  # "briefing" or "bundle"
    id: str  # the briefing slug or the bundle id
    source: Path  # the .md or .yaml it comes from
    series: Series
    title: str
    subtitle: str
    number: int | None
    indicator_code: str
    indicator_title: str
    published: str
    authors: tuple[str, ...]
    summary: str
    keywords: tuple[str, ...]
    price: float | None
    isbn: str  # the PDF's: what the shop sells (one ISBN per format)
    sample_pages: int
    briefing: Briefing | None = None  # for briefings: what to re-render the sample from
    parts: tuple[Briefing, ...] = ()  # for bundles: the briefings it collects
    bundle: assemble.Bundle | None = None  # for bundles: what to re-render the sample from
    isbn_print: str = ""  # the printed copy's, a related product
    isbn_epub: str = ""
    doi: str = ""

    @property
    def folder(self) -> str:
        return "bundles/" if self.kind == "bundle" else ""

    def name(self, role: str) -> str:
        """The file's path inside ``output/web/`` for ``role`` (one of ``ROLES``)."""
        suffix = {"full": ".pdf", "sample": "-sample.pdf", "cover": "-cover.png",
                  "cover@2x": "-cover@2x.png", **TRADE_SUFFIXES}[role]
        return f"{self.folder}{self.id}{suffix}"

    @property
    def published_label(self) -> str:
        return month_label(self.published)


@dataclass(frozen=True)
class FileEntry:
    role: str
    name: str
    bytes: int
    sha256: str


@dataclass(frozen=True)
class Entry:
    """A product as published: its page count and files."""

    product: Product
    pages: int
    sample_pages: int  # pages of the product shown in the sample (the note page not counted)
    files: tuple[FileEntry, ...]

    def file(self, role: str) -> FileEntry:
        return next(f for f in self.files if f.role == role)


@dataclass
class Report:
    folder: Path
    entries: list[Entry] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)  # files new or changed in this build
    unlisted: list[str] = field(default_factory=list)  # files in the folder but in no product
    stale: list[tuple[str, str]] = field(default_factory=list)  # (edition, command) out of date
    links: list[str] = field(default_factory=list)  # symbolic links removed from the folder
    withdrawn: list[str] = field(default_factory=list)  # outputs of withdrawn bundles removed
    seconds: float = 0.0


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def products(project: Project) -> list[Product]:
    """Every final briefing and every bundle, in catalogue order; raise on content errors."""
    problems = Problems()
    series, briefings = load_all(project, problems)
    problems.raise_if_errors()
    finals = sorted((b for b in briefings if not b.is_draft),
                    key=lambda b: (b.series.id, b.number, b.slug))
    items = [_briefing_product(b) for b in finals]
    by_slug = {b.slug: b for b in briefings}
    for path in project.bundle_paths():
        try:
            items.append(_bundle_product(assemble.load_bundle(project, path, series, by_slug)))
        except ContentError as exc:
            problems.extend(exc.problems)
    problems.raise_if_errors()
    return items


def _briefing_product(b: Briefing) -> Product:
    return Product(
        kind="briefing", id=b.slug, source=b.path, series=b.series, title=b.title,
        subtitle=b.subtitle, number=b.number, indicator_code=b.indicator.code,
        indicator_title=b.indicator.title, published=b.published,
        authors=tuple(a.name for a in b.authors), summary=b.summary, keywords=b.keywords,
        price=b.price, isbn=b.isbn_pdf, isbn_print=b.isbn, isbn_epub=b.isbn_epub, doi=b.doi,
        briefing=b,
        sample_pages=sample_pages(b))


def _bundle_product(bundle: assemble.Bundle) -> Product:
    """A bundle as the bundles stage loads it (``content/bundles/<id>.yaml``)."""
    parts = bundle.briefings
    return Product(
        kind="bundle", id=bundle.id, source=bundle.path, series=bundle.series,
        title=bundle.title, subtitle=bundle.subtitle, number=None,
        indicator_code=", ".join(b.indicator.code for b in parts),
        indicator_title="; ".join(b.indicator.title for b in parts),
        published=bundle.published,
        authors=tuple(dict.fromkeys(a.name for b in parts for a in b.authors)),
        summary=assemble.description(bundle),
        keywords=tuple(dict.fromkeys(k for b in parts for k in b.keywords)),
        price=bundle.price, isbn=bundle.isbn_pdf, isbn_print=bundle.isbn,
        isbn_epub=bundle.isbn_epub, doi=bundle.doi, parts=parts, bundle=bundle,
        sample_pages=bundle_sample.sample_pages(bundle))
