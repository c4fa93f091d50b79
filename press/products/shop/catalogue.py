"""Shop stage, catalogue: catalogue.json, catalogue.csv and index.html describing every product."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from press.briefing import citeas, layout
from press.core import output
from press.products.shop.products import ROLES, Entry, Product, sha256
from press.project import Project

CATALOGUE_FILES = ("catalogue.json", "catalogue.csv")  # the review page is not uploaded
CSV_COLUMNS = ["id", "type", "title", "subtitle", "series", "number", "indicator_code",
               "indicator_title", "published", "authors", "summary", "keywords", "price",
               "isbn", "pages", "sample_pages", "purchase_url", "currency", "format",
               "isbn_print", "doi", "product_url", "image_url"] + [
    f"{role}_{what}" for role in ROLES for what in ("name", "bytes", "sha256")]


def product_fields(product: Product, pages: int) -> dict[str, Any]:  # JSON
    """What the catalogue says about a product (also part of its sample's cache key)."""
    fields = {
        "id": product.id, "type": product.kind, "title": product.title,
        "subtitle": product.subtitle,
        "series": {"id": product.series.id, "name": product.series.name},
        "number": product.number,
        "indicator": {"code": product.indicator_code, "title": product.indicator_title},
        "published": product.published, "authors": list(product.authors),
        "summary": product.summary, "keywords": list(product.keywords),
        "price": product.price, "currency": "GBP", "isbn": product.isbn, "pages": pages,
        "sample_pages": min(product.sample_pages, pages),
        "purchase_url": product.series.purchase_url,
        "format": "PDF", "isbn_print": product.isbn_print, "doi": product.doi,
        "product_url": citeas.product_url(product.series, product.id),
        "image_url": (f"{product.series.upload_url.rstrip('/')}/{product.name('cover@2x')}"
                      if product.series.upload_url else ""),
    }
    if product.kind == "bundle":
        fields["briefings"] = [b.slug for b in product.parts]
    return fields


def catalogue_json(entries: list[Entry], release: dict[str, bytes] | None = None) -> str:
    """The machine-readable catalogue: no dates or timings, so unchanged means identical."""
    products_ = []
    for entry in entries:
        item = product_fields(entry.product, entry.pages)
        item["files"] = [{"role": f.role, "name": f.name, "bytes": f.bytes, "sha256": f.sha256}
                         for f in entry.files]
        products_.append(item)
    document: dict[str, Any] = {"catalogue": "briefing press web shop", "format": 1,
                                "products": products_}
    if release:  # the release's ONIX and Crossref files, checked on publishing like the rest
        document["release_files"] = [{"name": name, "bytes": len(data), "sha256": sha256(data)}
                                     for name, data in sorted(release.items())]
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def catalogue_csv(entries: list[Entry]) -> str:
    """One row per product; lists are joined with '; '. Written with a BOM for spreadsheets."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, CSV_COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    for entry in entries:
        fields = product_fields(entry.product, entry.pages)
        row = {key: fields[key] for key in CSV_COLUMNS if key in fields}
        row.update(series=fields["series"]["name"], indicator_code=fields["indicator"]["code"],
                   indicator_title=fields["indicator"]["title"],
                   authors="; ".join(fields["authors"]), keywords="; ".join(fields["keywords"]),
                   price="" if fields["price"] is None else f"{fields['price']:.2f}",
                   number="" if fields["number"] is None else fields["number"])
        for f in entry.files:
            if f.role not in ROLES:  # the trade's files are listed in catalogue.json
                continue
            row.update({f"{f.role}_name": f.name, f"{f.role}_bytes": f.bytes,
                        f"{f.role}_sha256": f.sha256})
        writer.writerow(output.safe_row(row))
    return buffer.getvalue()


def human_size(size: int) -> str:
    if size < 1024:
        return f"{size} bytes"
    if size < 1024 * 1024:
        return f"{round(size / 1024)} KB"
    return f"{size / 1024 / 1024:.1f} MB"


def index_html(project: Project, entries: list[Entry], base: str = "upload/") -> str:
    """The catalogue page the web team opens before uploading (layouts/catalogue.html); it
    lives beside the upload folder (``output/upload-review.html``), its links go into it."""
    env = layout.environment(project.layouts)
    series = list(dict.fromkeys(e.product.series for e in entries))
    total = sum(f.bytes for e in entries for f in e.files)
    return env.get_template("catalogue.html").render(
        entries=entries, series=series,
        briefings=[e for e in entries if e.product.kind == "briefing"],
        bundles=[e for e in entries if e.product.kind == "bundle"],
        file_count=sum(len(e.files) for e in entries), total_size=human_size(total),
        size=human_size, base=base)
