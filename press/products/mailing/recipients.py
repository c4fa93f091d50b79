"""Mailing recipients stage: the recipients CSV → checked :class:`Recipient` rows."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

from press.content.load import decode
from press.core.yamlsafe import bad_character
from press.errors import ContentError, Problems, did_you_mean
from press.products.mailing.feedback import slug
from press.products.mailing.model import MAX_COPIES, Recipient

REQUIRED_COLUMNS = ("agency", "link_officer", "address_1", "town", "postcode")
# telephone: for the evaluation round's follow-up call list
OPTIONAL_COLUMNS = ("address_2", "address_3", "copies", "email", "telephone")
MAX_FIELD = 120  # characters
POSTCODE_RE = re.compile(r"^[A-Z]{1,2}[0-9][A-Z0-9]? [0-9][ABD-HJLNP-UW-Z]{2}$")
EMAIL_RE = re.compile(r"^[^@\s,;<>\"]+@[^@\s,;<>\"]+\.[A-Za-z]{2,}$")
CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
# Letters per run unless the command says otherwise (``build.py mailing ID --max-recipients N``):
# memory stays flat (the letters are laid out in batches), but a thousand letters and forms
# take about a minute of two cores, so a larger file is more likely a mistake than a mailing.
MAX_RECIPIENTS = 2000


def _utf16(data: bytes) -> bool:
    """True for UTF-16 text, with or without a byte-order mark: Excel's "Unicode text" gives
    ``a\0g\0e\0...``, which is valid UTF-8 full of NULs, not nine unknown columns."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return True
    head = data[:400]
    return len(head) >= 4 and max(head[0::2].count(0), head[1::2].count(0)) > len(head) // 4


def read_recipients(path: Path, limit: int = MAX_RECIPIENTS) -> tuple[Recipient, ...]:
    """The recipients CSV (UTF-8); every problem names the row, as a spreadsheet numbers it.
    ``limit``: the most recipients a mailing may have."""
    # the csv module reads the line endings itself, so not read_text (which rewrites them)
    data = path.read_bytes()
    if _utf16(data):
        raise ContentError.at(path, None, "the file is UTF-16, save it as UTF-8",
                              "in Excel: Save As, CSV UTF-8")
    text = decode(path, data,
                  "save it as 'CSV UTF-8' (in Excel: Save As, CSV UTF-8)", row=True)
    problems = Problems()
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise ContentError.at(path, 1, f"cannot read the header row: {exc}") from None
    if not header or not any(h.strip() for h in header):
        raise ContentError.at(path, 1, "the header row is empty",
                              "the first row names the columns: " +
                              ", ".join(REQUIRED_COLUMNS + OPTIONAL_COLUMNS))
    columns = [h.strip().lower() for h in header]
    for name in columns:
        if name not in REQUIRED_COLUMNS + OPTIONAL_COLUMNS:
            problems.error(path, 1, f"unknown column '{name}'",
                           did_you_mean(name, REQUIRED_COLUMNS + OPTIONAL_COLUMNS))
        elif columns.count(name) > 1:
            problems.error(path, 1, f"column '{name}' appears twice")
    for name in REQUIRED_COLUMNS:
        if name not in columns:
            problems.error(path, 1, f"missing column '{name}'",
                           "the header needs " + ", ".join(REQUIRED_COLUMNS))
    problems.raise_if_errors()

    recipients: list[Recipient] = []
    agencies: dict[str, int] = {}  # casefolded name → its row
    form_keys: dict[str, tuple[int, str]] = {}  # form key → (its row, its agency)
    pending_empty: list[int] = []
    line = 1
    while True:
        start = reader.line_num + 1
        try:
            row = next(reader, None)
        except csv.Error as exc:
            problems.error(path, start, f"row {start} cannot be read: {exc}",
                           "check the quotes in this row")
            break
        if row is None:
            break
        line = start
        if not any(cell.strip() for cell in row):
            pending_empty.append(line)
            continue
        for empty in pending_empty:  # blank rows at the very end are harmless; these are not
            problems.error(path, empty, f"row {empty} is empty", "delete the empty row")
        pending_empty = []
        if len(row) != len(columns):
            more = len(row) > len(columns)
            problems.error(path, line, f"row {line} has {len(row)} fields but the header has "
                           f"{len(columns)}",
                           "put a field that contains a comma in double quotes" if more else
                           "every row needs a value (or an empty field) for every column")
            continue
        recipient = _recipient(path, line, dict(zip(columns, row)), problems)
        if recipient is None:
            continue
        key = recipient.agency.casefold()
        if key in agencies:
            problems.error(path, line, f"duplicate agency '{recipient.agency}'",
                           f"first on row {agencies[key]}; an agency gets one envelope (use "
                           "the 'copies' column for more copies)")
            continue
        # The feedback form names its agency by this key: two agencies with one key would be
        # told apart only by their order in the file, and re-sorting it would swap returns.
        form_key = slug(recipient.agency)
        if form_key in form_keys:
            first_line, first = form_keys[form_key]
            problems.error(path, line, f"agency '{recipient.agency}' is too like "
                           f"'{first}' (row {first_line}): their feedback forms would share "
                           f"the key '{form_key}'", "tell them apart by more than "
                           "punctuation, e.g. add the service's name")
            continue
        form_keys[form_key] = (line, recipient.agency)
        agencies[key] = line
        recipients.append(recipient)
        if len(recipients) > limit:
            problems.error(path, line, f"more than {limit:,} recipients: the limit of "
                           "letters in one mailing", "split the file into several mailings, "
                           "or raise the limit with 'build.py mailing ID --max-recipients N' "
                           "(a thousand letters take about a minute)")
            break
    if not recipients and not problems.errors:
        problems.error(path, None, "no recipients", "add one row per partner agency")
    problems.raise_if_errors()
    return tuple(recipients)


def _recipient(path: Path, line: int, values: dict[str, str], problems: Problems
               ) -> Recipient | None:
    ok = True
    clean: dict[str, str] = {}
    for name, value in values.items():
        value = " ".join(value.split())
        if CONTROL_RE.search(value):
            problems.error(path, line, f"row {line}: '{name}' contains a control character")
            ok = False
        elif bad := bad_character(value):  # a bidi override would spoof the envelope
            problems.error(path, line, f"row {line}: '{name}': {bad}", "delete it")
            ok = False
        elif len(value) > MAX_FIELD:
            problems.error(path, line, f"row {line}: '{name}' is longer than {MAX_FIELD} "
                           "characters")
            ok = False
        clean[name] = value
    for name in REQUIRED_COLUMNS:
        if not clean.get(name):
            problems.error(path, line, f"row {line}: '{name}' is empty")
            ok = False
    postcode = clean.get("postcode", "").upper()
    postcode = re.sub(r"\s*(\d[A-Z]{2})$", r" \1", postcode)
    if postcode and not POSTCODE_RE.match(postcode):
        problems.error(path, line, f"row {line}: '{clean['postcode']}' is not a UK postcode",
                       "e.g. XF11 2FF")
        ok = False
    copies = None
    if clean.get("copies"):
        text = clean["copies"]
        if not text.isdigit() or not 1 <= int(text) <= MAX_COPIES:
            problems.error(path, line, f"row {line}: 'copies' must be a whole number from 1 to "
                           f"{MAX_COPIES}, not '{text}'", "leave it empty for the default")
            ok = False
        else:
            copies = int(text)
    email = clean.get("email", "")
    if email and not EMAIL_RE.match(email):
        problems.error(path, line, f"row {line}: '{email}' is not an email address")
        ok = False
    if not ok:
        return None
    street = tuple(clean[k] for k in ("address_1", "address_2", "address_3") if clean.get(k))
    return Recipient(line=line, agency=clean["agency"], link_officer=clean["link_officer"],
                     address=(*street, clean["town"].upper()), postcode=postcode,
                     copies=copies, email=email)

