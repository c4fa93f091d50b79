"""Mailing model: what a mailing is made of (recipients, items, the letter, the pack's rows)
and the constants of the envelope and of the mailing file."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from press.model import Series

# The envelope window in sheet coordinates (mm from the sheet's left and top edges): the UK
# DL window (90 × 35 mm, 20 mm from the left and 15 mm from the bottom of a 220 × 110 mm
# envelope) over an A4 letter folded in thirds (99 mm panels), settled to the bottom of the
# envelope, lies 110 − 15 − 35 − 11 = 49 mm from the top of the sheet. For other envelopes
# (C5), compare the supplier's window with this area.
# layouts/letter.css sets the address 5 mm inside the sides and 3 mm inside top and bottom.
WINDOW_MM = (20.0, 50.0, 90.0, 35.0)  # x, y, width, height
WINDOW_MIN_CLEARANCE_MM = 2.0  # the address may come no closer to the window's edge
MAX_ADDRESS_LINES = 7  # at 10 pt on 4 mm lines (layouts/letter.css)

ITEM_KINDS = ("briefing", "bundle", "insert")
MAILING_FIELDS = ("title", "date", "series", "subject", "letter", "recipients", "items",
                  "sign_off", "printer")
MAILING_REQUIRED = ("title", "date", "letter", "recipients", "items")
ITEM_FIELDS = ITEM_KINDS + ("copies", "label")
MAX_COPIES = 999

Say = Callable[[str], None]  # a line of progress for the person running the mailing

# Placeholders: a name in single braces. Template syntax ({{ }}, {% %}, {# #}) is refused, so a
# letter never looks as if it could be a template; other braces are ordinary text.
PLACEHOLDERS = {
    "link_officer": "the agency's Link Officer, e.g. 'Wendy Ferris'",
    "agency": "the agency's name",
    "items": "what is in the envelope: a list on a line of its own, a phrase inside a sentence",
    "date": "the mailing date, e.g. '1 April 2009'",
    "purchase_url": "where extra copies can be bought (the series' purchase_url), as a link",
}


@dataclass(frozen=True)
class Recipient:
    line: int  # row in the CSV file (the header is row 1), as a spreadsheet shows it
    agency: str
    link_officer: str
    address: tuple[str, ...]  # street lines, then the post town (in capitals)
    postcode: str
    copies: int | None = None  # overrides the copies of every briefing and bundle
    email: str = ""

    @property
    def address_block(self) -> tuple[str, ...]:
        return (self.link_officer, self.agency, *self.address, self.postcode)


@dataclass(frozen=True)
class Item:
    """One thing that goes into every envelope, and the print-ready PDF it is made from."""

    kind: str  # briefing, bundle or insert
    ref: str  # slug, bundle id or path relative to the project
    copies: int
    line: int | None  # in the mailing file
    title: str  # how the letter and the job sheet name it
    detail: str = ""  # e.g. "Performance Pointers No. 2"
    source: Path | None = None  # the print-ready PDF, once known

    @property
    def pdf(self) -> Path:
        """The print-ready PDF, known once the pack's items are prepared."""
        assert self.source is not None, f"{self.kind} '{self.ref}': no PDF found yet"
        return self.source

    @property
    def name(self) -> str:
        if self.kind == "insert":
            return _slugify(Path(self.ref).stem)
        return self.ref if self.kind == "briefing" else f"bundle-{self.ref}"

    def copies_for(self, recipient: Recipient) -> int:
        """An agency's ``copies`` replaces the copies of publications, not of inserts."""
        if recipient.copies is not None and self.kind != "insert":
            return recipient.copies
        return self.copies


@dataclass(frozen=True)
class Letter:
    path: Path
    html: str  # sanitised HTML with {placeholders} left in


PRINTER_FIELDS = ("job", "cover_paper", "text_paper", "finished_size", "press_size",
                  "binding", "delivery_date", "delivery_address", "proofs", "print_profile")


@dataclass(frozen=True)
class PrinterJob:
    """The printer's brief (the mailing file's optional ``printer:`` block); "" = not given."""

    job: str = ""  # job or purchase-order number
    cover_paper: str = ""  # stock and weight, e.g. "300 gsm silk"
    text_paper: str = ""
    finished_size: str = ""  # e.g. "A4 (210 × 297 mm)"; default: each PDF's TrimBox
    press_size: str = ""  # e.g. "SRA3"
    binding: str = ""  # e.g. "saddle-stitch, 2 wires"; default: by page count
    delivery_date: dt.date | None = None
    delivery_address: str = ""
    proofs: str = ""  # e.g. "PDF proof, then one hard proof of each item"
    print_profile: str = ""  # CMYK output profile under assets/, for letters and job sheet

    def rows(self) -> list[tuple[str, str]]:
        """(label, value) for the job sheet, in the order a printer's quote form asks."""
        wanted = [("Job / PO number", self.job), ("Cover paper", self.cover_paper),
                  ("Text paper", self.text_paper), ("Finished size", self.finished_size),
                  ("Press sheet", self.press_size), ("Binding", self.binding),
                  ("Delivery date", f"{self.delivery_date.day} {self.delivery_date:%B %Y}"
                   if self.delivery_date else ""),
                  ("Deliver to", self.delivery_address), ("Proofs", self.proofs)]
        return [(label, value) for label, value in wanted if value]


@dataclass(frozen=True)
class Mailing:
    id: str
    path: Path
    title: str
    date: dt.date
    series: Series
    subject: str
    sign_off: str
    letter: Letter
    recipients_path: Path
    recipients: tuple[Recipient, ...]
    items: tuple[Item, ...]
    printer: PrinterJob = field(default_factory=lambda: PrinterJob())  # the printer: block

    @property
    def print_profile(self) -> str:
        """The output profile of the letters and job sheet: the mailing's, else the
        series' (under assets/; "" = the default FOGRA39)."""
        own = self.printer.print_profile if self.printer else ""
        return own or (self.series.print_profile if self.series else "")

    @property
    def date_label(self) -> str:
        return f"{self.date.day} {self.date:%B %Y}"


@dataclass(frozen=True)
class PrintFile:
    """One row of the job sheet."""

    file: str  # name in print/
    title: str
    pages: int
    trim: str
    binding: str
    colour: str
    quantity: int
    sheets_per_copy: int

    @property
    def total_sheets(self) -> int:
        return self.quantity * self.sheets_per_copy


@dataclass(frozen=True)
class Placement:
    """Where one letter landed in letters.pdf."""

    recipient: Recipient
    first_page: int  # 1-based
    pages: int
    address_mm: tuple[float, float, float, float] | None  # x0, y0, x1, y1 on its first page
    address_lines: int = 0  # lines of the address once laid out (long ones wrap)



def _slugify(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "insert"
