"""Shop stage, Crossref: a deposit (schema 5.3.1) registering the release's DOIs — each briefing
as a report-paper in its series, each bundle as a book — with contributors, dates, ISBNs, the
landing page and the briefing's reference list as its ``citation_list``. The web team uploads
it to Crossref's deposit form (or its HTTPS POST) once per release."""

from __future__ import annotations

from xml.etree.ElementTree import Element, SubElement, indent, tostring

from press.briefing.citeas import Person, Work
from press.products.shop.products import Entry

NS = "http://www.crossref.org/schema/5.3.1"
VERSION = "5.3.1"


def _text(parent: Element, tag: str, value: str, **attrs: str) -> Element:
    element = SubElement(parent, tag, attrs)
    element.text = value
    return element


def deposit(items: list[tuple[Entry, Work]]) -> bytes | None:
    """The deposit for every product with a DOI; None if none has one."""
    items = [(e, w) for e, w in items if w.doi]
    if not items:
        return None
    root = Element("doi_batch", {
        "version": VERSION, "xmlns": NS,
        "xmlns:xsi": "http://www.w3.org/2001/XMLSchema-instance",
        "xsi:schemaLocation": f"{NS} https://www.crossref.org/schemas/crossref{VERSION}.xsd"})
    head = SubElement(root, "head")
    latest = max(w.published for _, w in items)
    # deterministic: the batch is named by its latest date and its DOIs' count
    _text(head, "doi_batch_id", f"{items[0][0].product.series.id}-{latest}-{len(items)}")
    _text(head, "timestamp", (latest.replace("-", "") + "01")[:8] + "000000")
    depositor = SubElement(head, "depositor")
    series = items[0][0].product.series
    _text(depositor, "depositor_name", series.contact.name or series.publisher)
    _text(depositor, "email_address", series.contact.email or "")
    _text(head, "registrant", series.publisher)
    body = SubElement(root, "body")
    for entry, work in items:
        if work.kind == "bundle":
            _book(body, entry, work)
        else:
            _report(body, entry, work)
    indent(root)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + bytes(
        tostring(root, encoding="utf-8")).split(b"?>", 1)[-1].lstrip() + b"\n"


def _contributors(parent: Element, authors: tuple[Person, ...]) -> None:
    contributors = SubElement(parent, "contributors")
    for index, person in enumerate(authors):
        name = SubElement(contributors, "person_name", {
            "sequence": "first" if index == 0 else "additional",
            "contributor_role": "author"})
        if person.given:
            _text(name, "given_name", person.given)
        _text(name, "surname", person.family)


def _titles(parent: Element, work: Work) -> None:
    titles = SubElement(parent, "titles")
    _text(titles, "title", work.title)
    if work.subtitle:
        _text(titles, "subtitle", work.subtitle)


def _date(parent: Element, work: Work) -> None:
    date = SubElement(parent, "publication_date", {"media_type": "online"})
    parts = work.date_parts
    if len(parts) > 1:
        _text(date, "month", f"{parts[1]:02d}")
    if len(parts) > 2:
        _text(date, "day", f"{parts[2]:02d}")
    _text(date, "year", str(parts[0]))


def _isbns_publisher(parent: Element, entry: Entry, work: Work) -> None:
    if entry.product.isbn:
        _text(parent, "isbn", entry.product.isbn, media_type="electronic")
    if entry.product.isbn_print:
        _text(parent, "isbn", entry.product.isbn_print, media_type="print")
    publisher = SubElement(parent, "publisher")
    _text(publisher, "publisher_name", work.publisher)
    if work.place:
        _text(publisher, "publisher_place", work.place)


def _doi_data(parent: Element, work: Work) -> None:
    data = SubElement(parent, "doi_data")
    _text(data, "doi", work.doi)
    _text(data, "resource", work.url)


def _series_work(body: Element, tag: str, attributes: dict[str, str], entry: Entry,
                 work: Work) -> Element:
    """A work in its series (a report paper or a book): the metadata both deposit kinds share,
    in the order Crossref's schema wants it; returns the metadata element."""
    meta = SubElement(SubElement(body, tag, attributes), f"{tag}_series_metadata",
                      {"language": "en"})
    titles = SubElement(SubElement(meta, "series_metadata"), "titles")
    _text(titles, "title", work.series)
    _contributors(meta, work.authors)
    _titles(meta, work)
    _date(meta, work)
    _isbns_publisher(meta, entry, work)
    return meta


def _report(body: Element, entry: Entry, work: Work) -> None:
    meta = _series_work(body, "report-paper", {}, entry, work)
    if work.number is not None:
        item = SubElement(meta, "publisher_item")
        _text(item, "item_number", str(work.number), item_number_type="report-number")
    _doi_data(meta, work)
    _citations(meta, entry)


def _book(body: Element, entry: Entry, work: Work) -> None:
    meta = _series_work(body, "book", {"book_type": "edited_book"}, entry, work)
    _doi_data(meta, work)


def _citations(parent: Element, entry: Entry) -> None:
    """The briefing's reference list: DOI when the record has one, else the text."""
    briefing = entry.product.briefing
    references = briefing.references if briefing is not None else ()
    if not references:
        return
    listing = SubElement(parent, "citation_list")
    for reference in references:
        citation = SubElement(listing, "citation", {"key": reference.id})
        csl = reference.csl or {}
        if csl.get("DOI"):
            _text(citation, "doi", str(csl["DOI"]))
        names = ", ".join(a.family or a.literal for a in reference.authors)
        year = reference.year if reference.year is not None else "n.d."
        _text(citation, "unstructured_citation", f"{names} ({year}) {reference.title}".strip())
