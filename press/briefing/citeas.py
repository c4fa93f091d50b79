"""Layout stage helper, "cite this": how a briefing or a bundle is cited — the suggested
citation on its inside cover, and the RIS, BibTeX, CSL-JSON and ``citation_*`` meta tags the
shop publishes beside each product (``press.products.shop.trade``).

Every form is made from one :class:`Work`, so the files and the printed citation always agree
(and agree with the ISBN and DOI in the PDFs' XMP, which the same fields feed).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup, escape


@dataclass(frozen=True)
class Person:
    given: str
    family: str

    @classmethod
    def parse(cls, name: str) -> Person:
        """"Sarah Judd" → Judd, Sarah; "Hallam, Tom" as written. (Front matter gives names
        in display order; a particle or double-barrelled family name needs the comma form.)"""
        if "," in name:
            family, given = (p.strip() for p in name.split(",", 1))
            return cls(given, family)
        parts = name.split()
        return cls(" ".join(parts[:-1]), parts[-1] if parts else name)

    @property
    def initials(self) -> str:
        return " ".join(f"{p[0]}." for p in re.split(r"[\s-]+", self.given) if p)


@dataclass(frozen=True)
class Work:
    """What every citation form needs about one product."""

    id: str
    kind: str  # "briefing" (a report in a series) or "bundle" (a book)
    title: str
    subtitle: str
    authors: tuple[Person, ...]
    published: str  # "YYYY-MM" or "YYYY-MM-DD"
    publisher: str
    place: str
    series: str
    number: int | None
    isbn: str  # the PDF's
    doi: str
    url: str  # the product's page
    language: str
    summary: str
    keywords: tuple[str, ...]

    @property
    def year(self) -> str:
        return self.published[:4]

    @property
    def full_title(self) -> str:
        return f"{self.title}: {self.subtitle}" if self.subtitle else self.title

    @property
    def date_parts(self) -> list[int]:
        return [int(p) for p in self.published.split("-")]


def work(product: Any, number: int | None, url: str = "") -> Work:
    """The :class:`Work` of a briefing or bundle (model objects: same field names)."""
    series = product.series
    if hasattr(product, "authors") and product.authors:
        names = [a.name for a in product.authors]
    else:  # a bundle: the authors of its briefings, in order
        names = list(dict.fromkeys(a.name for b in product.briefings for a in b.authors))
    return Work(
        id=getattr(product, "slug", "") or getattr(product, "id", ""),
        kind="bundle" if hasattr(product, "briefings") else "briefing",
        title=product.title, subtitle=product.subtitle or "",
        authors=tuple(Person.parse(n) for n in names), published=product.published,
        publisher=series.publisher, place=series.place, series=series.name, number=number,
        isbn=product.isbn_pdf, doi=product.doi,
        url=url or product_url(series, getattr(product, "slug", "") or product.id),
        language=series.language, summary=getattr(product, "summary", "") or "",
        keywords=tuple(getattr(product, "keywords", ()) or ()))


def product_url(series: Any, ident: str) -> str:
    """A product's page: the series' ``product_url`` with ``{id}``, else its purchase_url."""
    return str(series.product_url.replace("{id}", ident) if series.product_url
               else series.purchase_url)


def _names_text(authors: tuple[Person, ...]) -> str:
    names = [f"{a.family}, {a.initials}" if a.initials else a.family for a in authors]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def suggested(w: Work) -> Markup:
    """The house (Harvard) form, as the reference lists print a report: Judd, S. and Hallam,
    T. (2008) *Title* (Dartington: research in practice). doi:10.… (the series and number
    are in the citation files)."""
    imprint = f"{w.place}: {w.publisher}" if w.place else w.publisher
    tail = f" doi:{w.doi}" if w.doi else (f" ISBN {w.isbn}." if w.isbn else "")
    return Markup(f"{escape(_names_text(w.authors))} ({escape(w.year)}) "
                  f"<cite>{escape(w.full_title)}</cite> ({escape(imprint)}).{escape(tail)}")


def csl_json(w: Work) -> str:
    """One CSL-JSON item (Zotero, Mendeley, pandoc's citeproc), as a one-item array."""
    item: dict[str, Any] = {
        "id": w.id, "type": "book" if w.kind == "bundle" else "report",
        "title": w.full_title,
        "author": [{"family": a.family, "given": a.given} for a in w.authors],
        "issued": {"date-parts": [w.date_parts]}, "publisher": w.publisher,
        "collection-title": w.series, "language": w.language, "URL": w.url}
    optional = {"publisher-place": w.place, "ISBN": w.isbn, "DOI": w.doi,
                "abstract": w.summary, "keyword": ", ".join(w.keywords),
                "number": "" if w.number is None else str(w.number)}
    item.update({k: v for k, v in optional.items() if v})
    return json.dumps([item], indent=2, ensure_ascii=False) + "\n"


def ris(w: Work) -> str:
    """One RIS record (EndNote, Zotero, Mendeley, RefWorks)."""
    lines = [("TY", "BOOK" if w.kind == "bundle" else "RPRT"), ("ID", w.id),
             ("TI", w.full_title), *(("AU", f"{a.family}, {a.given}") for a in w.authors),
             ("PY", w.year), ("DA", "/".join(f"{p:02d}" if i else str(p)
                                             for i, p in enumerate(w.date_parts)) + "/"),
             ("PB", w.publisher), ("CY", w.place), ("T3", w.series),
             ("M1" if w.kind == "bundle" else "IS", "" if w.number is None else str(w.number)),
             ("SN", w.isbn), ("DO", w.doi), ("UR", w.url), ("LA", w.language),
             ("AB", w.summary), *(("KW", k) for k in w.keywords), ("ER", "")]
    return "".join(f"{tag}  - {value}".rstrip() + "\r\n" for tag, value in lines
                   if value or tag == "ER")


def _bib(value: str) -> str:
    """A BibTeX value: braces balanced, TeX's specials escaped."""
    value = re.sub(r"([&%$#_])", r"\\\1", value.replace("\\", "\\textbackslash{}"))
    return value.replace("{", "\\{").replace("}", "\\}").replace("\\textbackslash\\{\\}",
                                                                  "\\textbackslash{}")


VERBATIM = ("doi", "url")


def bibtex(w: Work) -> str:
    """One BibTeX entry: ``@techreport`` for a briefing, ``@book`` for a bundle."""
    kind = "book" if w.kind == "bundle" else "techreport"
    fields = [("title", w.full_title),
              ("author", " and ".join(f"{a.family}, {a.given}" for a in w.authors)),
              ("year", w.year), ("month", str(w.date_parts[1]) if len(w.date_parts) > 1 else ""),
              ("institution" if kind == "techreport" else "publisher", w.publisher),
              ("address", w.place), ("type" if kind == "techreport" else "series", w.series),
              ("number", "" if w.number is None else str(w.number)), ("isbn", w.isbn),
              ("doi", w.doi), ("url", w.url), ("language", w.language),
              ("abstract", w.summary), ("keywords", ", ".join(w.keywords))]
    # doi and url are verbatim fields (BibLaTeX, and our reader): no TeX escapes in them
    body = ",\n".join(f"  {name} = {{{value if name in VERBATIM else _bib(value)}}}"
                       for name, value in fields if value)
    return f"@{kind}{{{w.id},\n{body}\n}}\n"


def meta_tags(w: Work, pdf_url: str = "") -> str:
    """``<meta name="citation_*">`` for the product's landing page (Google Scholar's tags)."""
    tags = [("citation_title", w.full_title),
            *(("citation_author", f"{a.family}, {a.given}") for a in w.authors),
            ("citation_publication_date", w.published.replace("-", "/")),
            ("citation_publisher", w.publisher),
            ("citation_technical_report_institution" if w.kind == "briefing" else "", w.publisher),
            ("citation_technical_report_number" if w.kind == "briefing" else "",
             "" if w.number is None else f"{w.series} {w.number}"),
            ("citation_isbn", w.isbn), ("citation_doi", w.doi), ("citation_language", w.language),
            ("citation_pdf_url", pdf_url), ("citation_abstract_html_url", w.url)]
    return "".join(f'<meta name="{name}" content="{escape(value)}">\n'
                   for name, value in tags if name and value)
