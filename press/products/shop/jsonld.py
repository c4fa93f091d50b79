"""Shop stage, JSON-LD: a product as schema.org ``Book`` + ``Product`` with an ``Offer``, for
the product page's ``<script type="application/ld+json">`` (search engines' book and product
results). One ``workExample`` per format, each with its own ISBN."""

from __future__ import annotations

import json
from typing import Any

from press.briefing.citeas import Work
from press.products.shop.products import Entry

ACCESSIBILITY = ["tableOfContents", "structuralNavigation", "alternativeText",
                 "readingOrder", "taggedPDF"]


def product(entry: Entry, work: Work, pdf_url: str, image_url: str) -> str:
    p = entry.product
    offer: dict[str, Any] = {"@type": "Offer", "priceCurrency": "GBP",
                             "availability": "https://schema.org/InStock", "url": work.url}
    if p.price is not None:
        offer["price"] = f"{p.price:.2f}"
    pdf: dict[str, Any] = {
        "@type": "Book", "bookFormat": "https://schema.org/EBook",
        "encodingFormat": "application/pdf", "numberOfPages": entry.pages,
        "accessMode": ["textual", "visual"], "accessModeSufficient": ["textual"],
        "accessibilityFeature": ACCESSIBILITY, "accessibilityHazard": "none",
        "accessibilitySummary": "A tagged PDF (PDF/UA-1): bookmarks, logical reading order, "
                                "alternative text for images, language tagging.",
        "offers": offer}
    if p.isbn:
        pdf["isbn"] = p.isbn
    if pdf_url:
        pdf["url"] = pdf_url
    examples = [pdf]
    if p.isbn_print:
        examples.append({"@type": "Book", "bookFormat": "https://schema.org/Paperback",
                         "isbn": p.isbn_print, "numberOfPages": entry.pages})
    document: dict[str, Any] = {
        "@context": "https://schema.org", "@type": ["Book", "Product"], "@id": work.url,
        "url": work.url, "name": p.title, "description": p.summary,
        "author": [{"@type": "Person", "name": name} for name in p.authors],
        "publisher": {"@type": "Organization", "name": p.series.publisher},
        "datePublished": p.published, "inLanguage": work.language,
        "keywords": ", ".join(p.keywords),
        "isPartOf": {"@type": "BookSeries", "name": p.series.name},
        "offers": offer, "workExample": examples}
    if p.subtitle:
        document["alternativeHeadline"] = p.subtitle
    if p.number is not None:
        document["position"] = p.number
    if p.doi:
        document["sameAs"] = f"https://doi.org/{p.doi}"
        document["identifier"] = {"@type": "PropertyValue", "propertyID": "DOI",
                                  "value": p.doi}
    if image_url:
        document["image"] = image_url
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
