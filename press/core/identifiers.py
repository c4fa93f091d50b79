"""Fields, identifiers: ISBNs (one per format) and DOIs as front matter and bundle files give
them, checked by python-stdnum (the ISBN Agency's ranges) rather than by hand."""

from __future__ import annotations

import re

from stdnum import isbn as stdnum_isbn
from stdnum.exceptions import ValidationError

from press.core.fields import Invalid

# print: the barcode on the back; pdf: the product the shop sells; epub: a reflowable edition
FORMATS = ("print", "pdf", "epub")
RULE = ("one ISBN per format: the ISBN Agency and every bookseller treat the printed copy and "
        "the PDF as two products, e.g. isbn: {print: 978-1-904984-24-5, pdf: 978-1-904984-25-2}")
# the DOI syntax Crossref recommends (its characters match 74.9M of 75M DOIs): a suffix of
# letters, digits and -._;()/: only, so it goes into XML, BibTeX and URLs as it is
DOI_RE = re.compile(r"^10\.\d{4,9}/[-._;()/:A-Za-z0-9]+$")


def isbn13(value: object, name: str) -> str:
    """A valid ISBN-13, hyphenated by the ranges (``9781904984245`` → ``978-1-904984-24-5``)."""
    if isinstance(value, bool) or not isinstance(value, (str, int)) or not str(value).strip():
        raise Invalid(f"'{name}' must be an ISBN-13 written as text", "e.g. 978-1-904984-24-5")
    written = str(value).strip()
    try:
        compact = stdnum_isbn.validate(written)
    except ValidationError:
        raise Invalid(f"'{name}' {written} is not a valid ISBN-13",
                      "13 digits starting 978 or 979; the last digit is a checksum") from None
    if stdnum_isbn.isbn_type(compact) != "ISBN13":
        raise Invalid(f"'{name}' {written} is an ISBN-10",
                      f"write it as the ISBN-13 {stdnum_isbn.format(compact, convert=True)}")
    return str(stdnum_isbn.format(compact))


def isbns(value: object, name: str) -> tuple[dict[str, str], bool]:
    """``isbn: {print: ..., pdf: ..., epub: ...}`` as {format: hyphenated ISBN}, and whether
    it was the old single form (read as the print ISBN; the caller warns)."""
    if not isinstance(value, dict):
        return {"print": isbn13(value, name)}, True
    found: dict[str, str] = {}
    for key, item in value.items():
        if key not in FORMATS:
            raise Invalid(f"unknown format '{key}' in '{name}'",
                          "the formats are " + ", ".join(FORMATS), sub=(str(key),))
        try:
            found[key] = isbn13(item, f"{name}.{key}")
        except Invalid as exc:
            raise Invalid(exc.message, exc.hint, sub=(key,)) from None
    seen: dict[str, str] = {}
    for key, number in found.items():
        if number in seen:
            raise Invalid(f"'{name}.{key}' repeats the {seen[number]} ISBN {number}", RULE,
                          sub=(key,))
        seen[number] = key
    return found, False


def doi(value: object, name: str, prefix: str = "") -> str:
    """A DOI as Crossref registers it (``10.1234/abc``, no ``https://doi.org/``), under the
    series' prefix when the series names one."""
    if isinstance(value, bool) or not isinstance(value, str) or not value.strip():
        raise Invalid(f"'{name}' must be a DOI written as text", "e.g. 10.12345/pp-ni-062")
    written = value.strip()
    bare = re.sub(r"^(?:https?://(?:dx\.)?doi\.org/|doi:)", "", written, flags=re.I)
    if not DOI_RE.match(bare):
        raise Invalid(f"'{name}' {written} is not a DOI",
                      "a DOI is 10.<registrant>/<suffix>, e.g. 10.12345/pp-ni-062")
    if prefix and not bare.startswith(prefix.rstrip("/") + "/"):
        raise Invalid(f"'{name}' {bare} is not under the series' DOI prefix {prefix}",
                      "DOIs are registered by the series' Crossref member: ask for one under "
                      "its prefix")
    return bare


def doi_prefix(value: object, name: str) -> str:
    """A series' Crossref prefix, ``10.12345``."""
    written = str(value).strip() if isinstance(value, (str, int, float)) else ""
    if isinstance(value, bool) or not re.fullmatch(r"10\.\d{4,9}", written):
        raise Invalid(f"'{name}' must be a DOI prefix like 10.12345, not {value!r}",
                      "the prefix Crossref gave the publisher (write it in quotes)")
    return written
