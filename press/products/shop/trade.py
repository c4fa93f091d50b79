"""Shop stage, the trade's files: beside each product its schema.org JSON-LD, a ``citation_*``
meta-tag fragment and "cite this" files (RIS, BibTeX, CSL-JSON); for the release an ONIX 3.0
message and a Crossref deposit. Made from the catalogue's own entries, so no file here holds
a price, ISBN or DOI that disagrees with the PDFs (whose XMP the same fields feed)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from press.briefing import citeas
from press.core import output
from press.products.shop import crossref, jsonld, onix
from press.products.shop.products import ROLES, Entry, FileEntry, sha256

ONIX, CROSSREF = "onix.xml", "crossref.xml"
RELEASE_FILES = (ONIX, CROSSREF)


def url(base: str, name: str) -> str:
    """The address of an upload-folder file, or "" when the series names no upload_url."""
    return f"{base.rstrip('/')}/{name}" if base else ""


def work(entry: Entry) -> citeas.Work:
    p = entry.product
    source = p.bundle if p.bundle is not None else p.briefing
    return citeas.work(source, p.number)


def product_files(entry: Entry) -> dict[str, bytes]:
    """The product's trade files by role."""
    p, w = entry.product, work(entry)
    base = p.series.upload_url
    pdf_url, image = url(base, p.name("full")), url(base, p.name("cover@2x"))
    return {
        "jsonld": jsonld.product(entry, w, pdf_url, image).encode("utf-8"),
        "citation": citeas.meta_tags(w, pdf_url).encode("utf-8"),
        "ris": citeas.ris(w).encode("utf-8"),
        "bibtex": citeas.bibtex(w).encode("utf-8"),
        "csl": citeas.csl_json(w).encode("utf-8"),
    }


def add(entry: Entry, stage: Path) -> Entry:
    """``entry`` with its trade files written into ``stage`` and listed among its files (a
    recorded entry's old trade files are dropped first: they are made again here)."""
    files = [f for f in entry.files if f.role in ROLES]
    for role, data in product_files(entry).items():
        name = entry.product.name(role)
        output.write_bytes(stage / name, data)
        files.append(FileEntry(role, name, len(data), sha256(data)))
    return dataclasses.replace(entry, files=tuple(files))


def release_files(entries: list[Entry]) -> dict[str, bytes]:
    """The release's ONIX message and (when any product has a DOI) its Crossref deposit."""
    out = {ONIX: onix.message(entries, lambda e: url(e.product.series.upload_url,
                                                     e.product.name("cover@2x")))}
    deposit = crossref.deposit([(e, work(e)) for e in entries])
    if deposit is not None:
        out[CROSSREF] = deposit
    return out
