"""Typeset stage, XMP: the PDF's identity in its XMP packet (Dublin Core and PRISM), spliced
into the packet WeasyPrint wrote, in the write's finisher, for each edition.

The layouts put the identity in the HTML head as ``<meta name="press.*">`` (WeasyPrint keeps
unknown names in ``metadata.custom`` and writes none of them): one HTML serves both editions,
and each edition takes its own ISBN (the print one in the print PDF, the PDF one in the web
PDF), as the ISBN Agency's one-ISBN-per-format rule asks. Zotero, Mendeley and library
systems read dc:identifier and prism:isbn / prism:doi; the /Info dictionary has no place for
them.
"""

from __future__ import annotations

from typing import Any
from xml.sax.saxutils import escape

NS = ('xmlns:dc="http://purl.org/dc/elements/1.1/" '
      'xmlns:prism="http://prismstandard.org/namespaces/basic/3.0/"')
PREFIX = "press."


def identity(custom: dict[str, str], edition: str) -> dict[str, str]:
    """The ``press.*`` fields of a document's metadata, with ``isbn`` set to the edition's
    (``edition``: "print" or "pdf")."""
    found = {key[len(PREFIX):]: value for key, value in custom.items()
             if key.startswith(PREFIX) and value}
    isbn = found.get(f"isbn.{edition}", "")
    fields = {k: v for k, v in found.items() if not k.startswith("isbn.")}
    if isbn:
        fields["isbn"] = isbn
    return fields


def description(fields: dict[str, str], lang: str | None, keywords: list[str]) -> bytes:
    """An ``rdf:Description`` with Dublin Core and PRISM properties for ``fields``."""
    def bag(kind: str, name: str, values: list[str], lang_alt: bool = False) -> str:
        attr = ' xml:lang="x-default"' if lang_alt else ""
        items = "".join(f"<rdf:li{attr}>{escape(v)}</rdf:li>" for v in values if v)
        return f"<{name}><rdf:{kind}>{items}</rdf:{kind}></{name}>" if items else ""

    # dc:identifier is one text in XMP (not a bag): the DOI, which names the work in every
    # format, else this format's ISBN; prism:isbn and prism:doi carry both
    ident = f"doi:{fields['doi']}" if fields.get("doi") else \
        f"urn:isbn:{fields['isbn'].replace('-', '')}" if fields.get("isbn") else ""
    parts = [
        f"<dc:identifier>{escape(ident)}</dc:identifier>" if ident else "",
        bag("Bag", "dc:publisher", [fields.get("publisher", "")]),
        bag("Seq", "dc:date", [fields.get("date", "")]),
        bag("Bag", "dc:language", [lang or ""]),
        bag("Alt", "dc:rights", [fields.get("rights", "")], lang_alt=True),
        bag("Bag", "dc:subject", list(keywords)),
        bag("Bag", "dc:type", ["Text"]),
    ]
    for key, name in (("isbn", "prism:isbn"), ("doi", "prism:doi"),
                      ("series", "prism:publicationName"), ("number", "prism:number"),
                      ("url", "prism:url")):
        if fields.get(key):
            parts.append(f"<{name}>{escape(fields[key])}</{name}>")
    return (f'<rdf:Description rdf:about="" {NS}>' + "".join(parts)
            + "</rdf:Description>").encode("utf-8")


def add_identity(document: Any, pdf: Any, edition: str) -> bool:
    """Splice the identity into the XMP packet of ``pdf`` (pydyf) that WeasyPrint is about to
    write; False if the document has none (a letter, a job sheet) or the PDF has no packet."""
    metadata = document.metadata
    fields = identity(dict(metadata.custom), edition)
    if not fields:
        return False
    packet = description(fields, metadata.lang, list(metadata.keywords))
    for obj in pdf.objects:
        extra = getattr(obj, "extra", None)
        if not isinstance(extra, dict) or extra.get("Subtype") != "/XML":
            continue
        data = b"".join(item if isinstance(item, bytes) else str(item).encode()
                        for item in obj.stream)
        # WeasyPrint's RDF already holds dc:title/creator/description: one more Description
        # (several are allowed) keeps those as they are
        end = data.rfind(b"</rdf:RDF>")
        if end < 0:
            return False
        obj.stream = [data[:end] + packet + data[end:]]
        return True
    return False
