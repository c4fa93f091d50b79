"""Shop stage, ONIX: the release as an ONIX for Books 3.0 message (EDItEUR's reference tags),
the UK book trade's metadata exchange (Nielsen BookData, Gardners, library suppliers).

One <Product> per format with an ISBN — the PDF the shop sells and the printed copy — linked
to each other as related products (a bundle also "includes" its briefings' PDFs). Codes are
from EDItEUR's code lists (issue 70), named where used. ``onixcheck`` validates the file
against the ONIX 3.0 schema in the tests.
"""

from __future__ import annotations

from collections.abc import Callable
from xml.etree.ElementTree import Element, SubElement, indent, tostring

from press.briefing.citeas import Person
from press.products.shop.products import Entry, Product

NS = "http://ns.editeur.org/onix/3.0/reference"
# List 196: what the web edition's tagging provides (checked by tests/test_accessibility.py)
ACCESSIBILITY = (
    ("05", ""),  # PDF/UA-1
    ("11", ""),  # table of contents navigation (bookmarks and a linked contents list)
    ("13", ""),  # single logical reading order (the structure tree)
    ("14", ""),  # short alternative textual descriptions (figures, logos, QR code, barcode)
    ("22", ""),  # language tagging provided
    ("40", ""),  # link purposes clear (every link has a description)
    ("00", "A tagged PDF (PDF/UA-1) with bookmarks, a logical reading order, alternative text "
           "for images and language tagging."),
)


def _text(parent: Element, tag: str, value: str, **attrs: str) -> Element:
    element = SubElement(parent, tag, attrs)
    element.text = value
    return element


def _digits(isbn: str) -> str:
    return isbn.replace("-", "")


def _date(published: str) -> str:
    return published.replace("-", "")  # YYYYMM or YYYYMMDD (dateformat 01 / 00)


def message(entries: list[Entry], image_url: Callable[[Entry], str] | None = None) -> bytes:
    """The ONIX message for every product with an ISBN; ``image_url(entry)``: its cover's
    address, or "" (no SupportingResource)."""
    root = Element("ONIXMessage", {"release": "3.0", "xmlns": NS})
    header = SubElement(root, "Header")
    sender = SubElement(header, "Sender")
    publishers = sorted({e.product.series.publisher for e in entries}) or ["briefing press"]
    _text(sender, "SenderName", publishers[0])
    # the latest publication date, not the clock: the same release gives the same file
    latest = max((e.product.published for e in entries), default="2000-01")
    _text(header, "SentDateTime", (_date(latest) + "01")[:8])
    for entry in entries:
        p = entry.product
        if p.isbn:
            _product(root, entry, "pdf", image_url(entry) if image_url else "")
        if p.isbn_print:
            _product(root, entry, "print", image_url(entry) if image_url else "")
    indent(root)  # one element a line: the web team and the trade's support desks read it
    body = bytes(tostring(root, encoding="utf-8")).split(b"?>", 1)[-1].lstrip()
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + body + b"\n"


def _product(root: Element, entry: Entry, form: str, image: str) -> None:
    p: Product = entry.product
    isbn = p.isbn if form == "pdf" else p.isbn_print
    product = SubElement(root, "Product")
    _text(product, "RecordReference", f"{p.series.id}.{p.id}.{form}")
    _text(product, "NotificationType", "03")  # confirmed on publication
    ident = SubElement(product, "ProductIdentifier")
    _text(ident, "ProductIDType", "15")  # ISBN-13
    _text(ident, "IDValue", _digits(isbn))
    if p.doi and form == "pdf":
        ident = SubElement(product, "ProductIdentifier")
        _text(ident, "ProductIDType", "06")  # DOI
        _text(ident, "IDValue", p.doi)

    detail = SubElement(product, "DescriptiveDetail")
    _text(detail, "ProductComposition", "00")  # single-item product
    if form == "pdf":
        _text(detail, "ProductForm", "EA")  # digital, delivered electronically
        _text(detail, "ProductFormDetail", "E107")  # PDF
        for code, description in ACCESSIBILITY:
            feature = SubElement(detail, "ProductFormFeature")
            _text(feature, "ProductFormFeatureType", "09")  # E-publication accessibility
            _text(feature, "ProductFormFeatureValue", code)
            if description:
                _text(feature, "ProductFormFeatureDescription", description)
    else:
        _text(detail, "ProductForm", "BF")  # pamphlet: a stapled booklet
    collection = SubElement(detail, "Collection")
    _text(collection, "CollectionType", "10")  # publisher collection (the series)
    title = SubElement(collection, "TitleDetail")
    _text(title, "TitleType", "01")
    element = SubElement(title, "TitleElement")
    _text(element, "TitleElementLevel", "02")  # collection level
    if p.number is not None:
        _text(element, "PartNumber", str(p.number))
    _text(element, "TitleText", p.series.name)
    title = SubElement(detail, "TitleDetail")
    _text(title, "TitleType", "01")  # distinctive title
    element = SubElement(title, "TitleElement")
    _text(element, "TitleElementLevel", "01")  # product level
    _text(element, "TitleText", p.title)
    if p.subtitle:
        _text(element, "Subtitle", p.subtitle)
    for number, name in enumerate(p.authors, 1):
        person = Person.parse(name)
        contributor = SubElement(detail, "Contributor")
        _text(contributor, "SequenceNumber", str(number))
        _text(contributor, "ContributorRole", "A01")  # by (author)
        _text(contributor, "PersonName", name)
        _text(contributor, "PersonNameInverted", f"{person.family}, {person.given}")
        if person.given:
            _text(contributor, "NamesBeforeKey", person.given)
        _text(contributor, "KeyNames", person.family)
    language = SubElement(detail, "Language")
    _text(language, "LanguageRole", "01")  # language of text
    _text(language, "LanguageCode", "eng")
    extent = SubElement(detail, "Extent")
    _text(extent, "ExtentType", "00")  # main content page count
    _text(extent, "ExtentValue", str(entry.pages))
    _text(extent, "ExtentUnit", "03")  # pages
    if p.keywords:
        subject = SubElement(detail, "Subject")
        _text(subject, "SubjectSchemeIdentifier", "20")  # keywords
        _text(subject, "SubjectHeadingText", "; ".join(p.keywords))
    audience = SubElement(detail, "Audience")
    _text(audience, "AudienceCodeType", "01")  # ONIX audience codes
    _text(audience, "AudienceCodeValue", "06")  # professional and scholarly

    collateral = SubElement(product, "CollateralDetail")
    text = SubElement(collateral, "TextContent")
    _text(text, "TextType", "03")  # description
    _text(text, "ContentAudience", "00")  # unrestricted
    _text(text, "Text", p.summary)
    if image:
        resource = SubElement(collateral, "SupportingResource")
        _text(resource, "ResourceContentType", "01")  # front cover
        _text(resource, "ContentAudience", "00")
        _text(resource, "ResourceMode", "03")  # image
        version = SubElement(resource, "ResourceVersion")
        _text(version, "ResourceForm", "02")  # downloadable file
        _text(version, "ResourceLink", image)

    publishing = SubElement(product, "PublishingDetail")
    publisher = SubElement(publishing, "Publisher")
    _text(publisher, "PublishingRole", "01")  # publisher
    _text(publisher, "PublisherName", p.series.publisher)
    if p.series.place:
        _text(publishing, "CityOfPublication", p.series.place)
    _text(publishing, "CountryOfPublication", "GB")
    _text(publishing, "PublishingStatus", "04")  # active
    date = SubElement(publishing, "PublishingDate")
    _text(date, "PublishingDateRole", "01")  # publication date
    written = _date(p.published)
    _text(date, "Date", written, dateformat="00" if len(written) == 8 else "01")

    related = SubElement(product, "RelatedMaterial")
    other = p.isbn_print if form == "pdf" else p.isbn
    if other:
        # List 51: 13 e-publication based on (print product); 27 electronic version available as
        _related(related, "13" if form == "pdf" else "27", other)
    if form == "pdf":
        for part in p.parts:
            if part.isbn_pdf:
                _related(related, "01", part.isbn_pdf)  # includes
    if not len(related):
        product.remove(related)

    supply = SubElement(product, "ProductSupply")
    market = SubElement(supply, "Market")
    territory = SubElement(market, "Territory")
    _text(territory, "RegionsIncluded", "WORLD")
    detail = SubElement(supply, "SupplyDetail")
    supplier = SubElement(detail, "Supplier")
    _text(supplier, "SupplierRole", "01")  # publisher to retailers
    _text(supplier, "SupplierName", p.series.publisher)
    website = SubElement(supplier, "Website")
    _text(website, "WebsiteLink", p.series.purchase_url)
    _text(detail, "ProductAvailability", "20")  # available
    if form == "pdf" and p.price is not None:
        price = SubElement(detail, "Price")
        _text(price, "PriceType", "02")  # RRP including tax
        _text(price, "PriceAmount", f"{p.price:.2f}")
        tax = SubElement(price, "Tax")
        _text(tax, "TaxType", "01")  # VAT
        _text(tax, "TaxRateCode", "Z")  # zero-rated: UK e-publications since 1 May 2020
        _text(tax, "TaxRatePercent", "0")
        _text(price, "CurrencyCode", "GBP")
    else:
        # the printed copies go to partner agencies in the mailing; the shop sells the PDF
        _text(detail, "UnpricedItemType", "03" if form == "print" else "02")


def _related(parent: Element, code: str, isbn: str) -> None:
    related = SubElement(parent, "RelatedProduct")
    _text(related, "ProductRelationCode", code)
    ident = SubElement(related, "ProductIdentifier")
    _text(ident, "ProductIDType", "15")
    _text(ident, "IDValue", _digits(isbn))
