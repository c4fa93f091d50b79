"""Mailing stage: a mailing definition → personalised letters, print files, job sheet, manifest.

``python build.py mailing ID`` reads ``content/mailings/ID.yaml`` with its recipients CSV and
covering-letter Markdown, checks everything, then writes ``output/mailings/ID/``:

* ``letters.pdf``: one letter per agency, laid out as ONE WeasyPrint document (one layout pass
  for every letter, not one render per agency); each letter starts on a new sheet;
* ``print/NN-name.pdf``: the print-ready PDF of every item, in envelope order;
* ``job-sheet.pdf`` and ``job-sheet.csv``: what the printer prints, and how many;
* ``manifest.csv``: what goes into each agency's envelope.

The folder is built under a temporary name and swapped in at the end, so a failed run leaves
the previous pack untouched and never a half-written one.

The letter's Markdown is data. It is converted to sanitised HTML once; placeholders such as
``{agency}`` are then replaced per recipient by plain string code with HTML-escaped values.
Nothing in the letter is a template, so nothing in it can run.
"""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
import logging
import math
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import markdown as md
import nh3
import pypdf
import weasyprint
from markupsafe import Markup
from weasyprint.formatting_structure.boxes import LineBox
from weasyprint.text.fonts import FontConfiguration

from press.briefing import layout
from press.build.pipeline import Options, build
from press.content.load import SLUG_RE, load_all, load_series, read_text
from press.core import output, yamlsafe
from press.errors import ContentError, Problem, Problems, UsageError, did_you_mean
from press.model import Page, Series
from press.project import Project
from press.render import typeset
from press.render.fetcher import ProjectFetcher

log = logging.getLogger(__name__)

MM_PER_PX = 25.4 / 96  # WeasyPrint lays out in CSS pixels
MM_PER_PT = 25.4 / 72

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
                  "sign_off")
MAILING_REQUIRED = ("title", "date", "letter", "recipients", "items")
ITEM_FIELDS = ITEM_KINDS + ("copies", "label")

REQUIRED_COLUMNS = ("agency", "link_officer", "address_1", "town", "postcode")
OPTIONAL_COLUMNS = ("address_2", "address_3", "copies", "email", "telephone")  # telephone: issue 19
MAX_FIELD = 120  # characters
MAX_COPIES = 999
POSTCODE_RE = re.compile(r"^[A-Z]{1,2}[0-9][A-Z0-9]? [0-9][ABD-HJLNP-UW-Z]{2}$")
EMAIL_RE = re.compile(r"^[^@\s,;<>\"]+@[^@\s,;<>\"]+\.[A-Za-z]{2,}$")
CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")

# Placeholders: a name in single braces. Template syntax ({{ }}, {% %}, {# #}) is refused, so a
# letter never looks as if it could be a template; other braces are ordinary text.
PLACEHOLDERS = {
    "link_officer": "the agency's Link Officer, e.g. 'Wendy Ferris'",
    "agency": "the agency's name",
    "items": "what is in the envelope: a list on a line of its own, a phrase inside a sentence",
    "date": "the mailing date, e.g. '1 April 2009'",
    "purchase_url": "where extra copies can be bought (the series' purchase_url), as a link",
}
PLACEHOLDER_RE = re.compile(r"\{\s*([A-Za-z_][A-Za-z0-9_. -]*?)\s*\}")
TEMPLATE_SYNTAX_RE = re.compile(r"\{[{%#]|[}%#]\}")
LETTER_TAGS = {"p", "br", "strong", "em", "b", "i", "ul", "ol", "li", "a", "blockquote"}
SUBSTITUTE_RE = re.compile(r"<p>\{items\}</p>|\{(" + "|".join(PLACEHOLDERS) + r")\}")


# -- model -------------------------------------------------------------------------------------

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
    line: int
    title: str  # how the letter and the job sheet name it
    detail: str = ""  # e.g. "Performance Pointers No. 2"
    source: Path | None = None  # the print-ready PDF, once known

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


# -- command -----------------------------------------------------------------------------------

def command(project: Project, args, say) -> int:
    """``build.py mailing ID``: 0 built, 1 content errors (nothing written), 2 usage."""
    ids = list(getattr(args, "slugs", None) or [])
    if len(ids) != 1:
        known = sorted(p.stem for p in project.mailings_dir.glob("*.yaml"))
        raise UsageError("'mailing' needs exactly one ID"
                         + (f" (known: {', '.join(known)})" if known else
                            " (add content/mailings/ID.yaml)"))
    try:
        folder, summary = build_mailing(project, ids[0], say)
    except ContentError as exc:
        for problem in exc.problems:
            sys.stderr.write(problem.format(project.root) + "\n")
        count = len(exc.problems)
        sys.stderr.write(f"mailing {ids[0]}: {count} error{'s' if count != 1 else ''}; "
                         "nothing written\n")
        return 1
    say(f"mailing: {folder.relative_to(project.root)}/ — {summary}")
    return 0


def build_mailing(project: Project, mailing_id: str, say=lambda *a: None) -> tuple[Path, str]:
    """Check everything, build what is missing, then write the pack; returns (folder, summary)."""
    mailing = load_mailing(project, mailing_id)
    items = prepare_items(project, mailing, say)
    mailing = Mailing(**{**mailing.__dict__, "items": items})
    laid_out, placements = render_letters(project, mailing)
    check_placements(mailing, placements)
    letters_pdf = write_letters(project, mailing, laid_out)
    rows = job_rows(mailing, laid_out.page_count)
    job_pdf = render_job_sheet(project, mailing, rows, laid_out.page_count)
    final = project.mailing_folder(mailing.id)
    with output.staged_folder(final) as staging:
        umask = os.umask(0)
        os.umask(umask)
        staging.chmod(0o777 & ~umask)  # mkdtemp makes it private; the pack is for sharing
        (staging / "print").mkdir()
        for number, item in enumerate(mailing.items, 1):
            data = item.source.read_bytes()
            output.check_pdf(data)
            (staging / "print" / print_name(number, item)).write_bytes(data)
        (staging / "letters.pdf").write_bytes(letters_pdf)
        (staging / "job-sheet.pdf").write_bytes(job_pdf)
        (staging / "job-sheet.csv").write_text(job_csv(rows), encoding="utf-8")
        (staging / "manifest.csv").write_text(manifest_csv(mailing, placements),
                                              encoding="utf-8")
        # Issue 19, the evaluation round: a feedback form per recipient, feedback-emails.csv
        from press.products.evaluation.forms import write_feedback
        forms = write_feedback(project, mailing, staging)
    summary = (f"{len(mailing.recipients)} letters ({laid_out.page_count} pages), "
               f"{len(mailing.items)} print files, {sum(r.total_sheets for r in rows)} sheets"
               f", {forms} feedback forms")  # issue 19
    return final, summary


def print_name(number: int, item: Item) -> str:
    return f"{number:02d}-{item.name}.pdf"


# -- loading -----------------------------------------------------------------------------------

def load_mailing(project: Project, mailing_id: str) -> Mailing:
    """The mailing file, its recipients and letter, validated; every problem is reported."""
    path = project.mailings_dir / f"{mailing_id}.yaml"
    if not SLUG_RE.match(mailing_id) or not path.is_file():
        known = [p.stem for p in project.mailings_dir.glob("*.yaml")]
        raise ContentError.at(path, None, f"no mailing '{mailing_id}'",
                              did_you_mean(mailing_id, known) or "add content/mailings/ID.yaml")
    data, lines = yamlsafe.load(read_text(path), path)
    problems = Problems()
    if not isinstance(data, dict):
        raise ContentError.at(path, 1, "a mailing file must be a mapping of 'field: value' lines")
    for key in data:
        if key not in MAILING_FIELDS:
            problems.error(path, yamlsafe.line_of(lines, key), f"unknown field '{key}'",
                           did_you_mean(key, MAILING_FIELDS))
    for key in MAILING_REQUIRED:
        if data.get(key) in (None, "", []):
            problems.error(path, yamlsafe.line_of(lines, key) or 1,
                           f"missing required field '{key}'")
    problems.raise_if_errors()

    def text(key, default=""):
        value = data.get(key, default)
        if isinstance(value, (dict, list, bool)) or value is None or not str(value).strip():
            if key in data:
                problems.error(path, yamlsafe.line_of(lines, key), f"'{key}' must be text")
            return default
        return str(value).strip()

    date = data["date"]
    if isinstance(date, dt.datetime):
        date = date.date()
    if not isinstance(date, dt.date):
        try:
            date = dt.date.fromisoformat(str(date))
        except ValueError:
            problems.error(path, yamlsafe.line_of(lines, "date"),
                           f"'date' must be a date like 2009-04-01, not {date!r}")
            date = None
    series = _mailing_series(project, path, lines, data, problems)
    letter_path = _source_file(project, path, lines, "letter", data["letter"], problems)
    recipients_path = _source_file(project, path, lines, "recipients", data["recipients"],
                                   problems)
    items = _items(project, path, lines, data["items"], problems)
    letter = recipients = None
    if letter_path:
        try:
            letter = read_letter(letter_path)
        except ContentError as exc:
            problems.extend(exc.problems)
    if recipients_path:
        try:
            recipients = read_recipients(recipients_path)
        except ContentError as exc:
            problems.extend(exc.problems)
    problems.raise_if_errors()
    return Mailing(id=mailing_id, path=path, title=text("title"), date=date, series=series,
                   subject=text("subject"), sign_off=text("sign_off", "Yours sincerely"),
                   letter=letter, recipients_path=recipients_path, recipients=recipients,
                   items=items)


def _mailing_series(project, path, lines, data, problems) -> Series | None:
    quiet = Problems()
    series = load_series(project, quiet)
    wanted = data.get("series")
    if wanted is None:
        if len(series) == 1:
            return next(iter(series.values()))
        problems.error(path, 1, "missing field 'series'",
                       "name the series whose contact signs the letter: "
                       + ", ".join(sorted(series)))
        return None
    if str(wanted) not in series:
        problems.error(path, yamlsafe.line_of(lines, "series"), f"unknown series '{wanted}'",
                       did_you_mean(str(wanted), series) or "add a file in content/series/")
        problems.extend(quiet.errors)
        return None
    return series[str(wanted)]


def _source_file(project, path, lines, key, value, problems) -> Path | None:
    """``letter`` and ``recipients``: files beside the mailing file, inside content/."""
    if not isinstance(value, str) or not value.strip():
        problems.error(path, yamlsafe.line_of(lines, key), f"'{key}' must be a file name")
        return None
    target = (path.parent / value.strip()).resolve()
    if not target.is_relative_to(project.content.resolve()):
        problems.error(path, yamlsafe.line_of(lines, key),
                       f"'{key}' file '{value}' is outside content/",
                       "keep the letter and recipients beside the mailing file")
        return None
    if not target.is_file():
        problems.error(path, yamlsafe.line_of(lines, key), f"'{key}' file '{value}' not found",
                       "paths are relative to content/mailings/")
        return None
    return target


def _items(project, path, lines, value, problems) -> tuple[Item, ...]:
    if not isinstance(value, list) or not value:
        problems.error(path, yamlsafe.line_of(lines, "items"),
                       "'items' must be a list of 'briefing: SLUG', 'bundle: ID' or "
                       "'insert: PATH' entries")
        return ()
    known = {p.stem: p for p in project.briefing_paths()}
    items, seen = [], {}
    wanted_briefings = []
    for index, entry in enumerate(value):
        line = yamlsafe.line_of(lines, "items", index)
        if isinstance(entry, str):
            entry = {"briefing": entry} if entry in known else {entry: None}
        if not isinstance(entry, dict):
            problems.error(path, line, "an item must be 'briefing: SLUG', 'bundle: ID' or "
                           "'insert: PATH'")
            continue
        kinds = [k for k in entry if k in ITEM_KINDS]
        bad = False
        for key in entry:
            if key not in ITEM_FIELDS:
                problems.error(path, yamlsafe.line_of(lines, "items", index, key) or line,
                               f"unknown item '{key}'",
                               did_you_mean(str(key), ITEM_FIELDS) or
                               "items are briefing:, bundle: or insert:")
                bad = True
        if len(kinds) != 1:
            if not bad:
                problems.error(path, line, "an item needs exactly one of briefing:, bundle: "
                               "or insert:")
            continue
        kind = kinds[0]
        ref = entry[kind]
        if not isinstance(ref, str) or not ref.strip():
            problems.error(path, line, f"'{kind}' needs a value")
            continue
        ref = ref.strip()
        copies = entry.get("copies", 1)
        if isinstance(copies, bool) or not isinstance(copies, int) or \
                not 1 <= copies <= MAX_COPIES:
            problems.error(path, yamlsafe.line_of(lines, "items", index, "copies") or line,
                           f"'copies' must be a whole number from 1 to {MAX_COPIES}, "
                           f"not {copies!r}")
            continue
        label = entry.get("label")
        if label is not None and (not isinstance(label, str) or not label.strip()):
            problems.error(path, line, "'label' must be text")
            continue
        if (kind, ref) in seen:
            problems.error(path, line, f"{kind} '{ref}' is listed twice",
                           f"first on line {seen[(kind, ref)]}; use 'copies' for more")
            continue
        seen[(kind, ref)] = line
        item = Item(kind=kind, ref=ref, copies=copies, line=line, title=(label or "").strip())
        if kind == "briefing":
            if ref not in known:
                problems.error(path, line, f"unknown briefing '{ref}'", did_you_mean(ref, known))
                continue
            wanted_briefings.append(ref)
        elif kind == "bundle":
            bundle_file = project.bundles_dir / f"{ref}.yaml"
            if not SLUG_RE.match(ref) or not bundle_file.is_file():
                problems.error(path, line, f"unknown bundle '{ref}'",
                               did_you_mean(ref, [p.stem for p in
                                                  project.bundles_dir.glob("*.yaml")])
                               or "bundles are defined in content/bundles/ID.yaml")
                continue
            item = _bundle_item(item, bundle_file)
        else:
            item = _insert_item(project, path, line, item, problems)
            if item is None:
                continue
        items.append(item)
    return _briefing_items(project, path, items, wanted_briefings, problems)


def _bundle_item(item: Item, bundle_file: Path) -> Item:
    title = item.title
    if not title:
        try:
            data, _ = yamlsafe.load(read_text(bundle_file), bundle_file)
            title = str(data.get("title", "")).strip() if isinstance(data, dict) else ""
        except ContentError:
            title = ""  # the bundle stage reports its own file's problems
    return Item(**{**item.__dict__, "title": title or item.ref, "detail": "Collected edition"})


def _insert_item(project, path, line, item, problems) -> Item | None:
    """A ready PDF under content/ or assets/ (after resolving symlinks)."""
    raw = project.root / item.ref
    try:
        target = raw.resolve(strict=True)
    except (OSError, RuntimeError):
        if not _inside(raw.resolve(), project):
            problems.error(path, line, f"insert '{item.ref}' is outside content/ and assets/",
                           "copy the PDF into assets/inserts/ and give that path")
        else:
            problems.error(path, line, f"insert '{item.ref}' not found",
                           "paths are relative to the project folder, e.g. assets/inserts/x.pdf")
        return None
    if not _inside(target, project):
        problems.error(path, line, f"insert '{item.ref}' is outside content/ and assets/",
                       "copy the PDF into assets/inserts/ and give that path")
        return None
    if not target.is_file() or target.suffix.lower() != ".pdf":
        problems.error(path, line, f"insert '{item.ref}' is not a PDF file")
        return None
    head = target.read_bytes()[:1024]
    if not head.startswith(b"%PDF-"):
        problems.error(path, line, f"insert '{item.ref}' is not a PDF (no %PDF- header)")
        return None
    title = item.title or Path(item.ref).stem.replace("-", " ").replace("_", " ").capitalize()
    return Item(**{**item.__dict__, "title": title, "source": target})


def _inside(target: Path, project: Project) -> bool:
    return any(target.is_relative_to(folder.resolve())
               for folder in (project.content, project.assets))


def _briefing_items(project, path, items, slugs, problems) -> tuple[Item, ...]:
    if not slugs:
        return tuple(items)
    load_problems = Problems()
    _, briefings = load_all(project, load_problems, slugs)
    by_slug = {b.slug: b for b in briefings}
    result = []
    for item in items:
        if item.kind != "briefing":
            result.append(item)
            continue
        briefing = by_slug.get(item.ref)
        if briefing is None:
            problems.error(path, item.line, f"briefing '{item.ref}' has errors and cannot be "
                           "mailed", "see the errors below")
            continue
        if briefing.is_draft:
            problems.error(path, item.line, f"briefing '{item.ref}' is a draft and cannot be "
                           "mailed", f"set 'status: final' in {briefing.path.name} when it is "
                           "ready, or take it out of the mailing")
            continue
        title = item.title or f"{briefing.indicator.code}: {briefing.title}"
        result.append(Item(**{**item.__dict__, "title": title,
                              "detail": f"{briefing.series.name} No. {briefing.number}"}))
    problems.extend(p for p in load_problems.errors if Path(p.path).stem in slugs)
    return tuple(result)


# -- recipients --------------------------------------------------------------------------------

def read_recipients(path: Path) -> tuple[Recipient, ...]:
    """The recipients CSV (UTF-8); every problem names the row, as a spreadsheet numbers it."""
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ContentError.at(path, line, f"not UTF-8: byte 0x{data[exc.start]:02x} at byte "
                              f"offset {exc.start} (row {line})",
                              "save it as 'CSV UTF-8' (in Excel: Save As, CSV UTF-8)") from None
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

    recipients, agencies = [], {}
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
        agencies[key] = line
        recipients.append(recipient)
    if not recipients and not problems.errors:
        problems.error(path, None, "no recipients", "add one row per partner agency")
    problems.raise_if_errors()
    return tuple(recipients)


def _recipient(path, line, values, problems) -> Recipient | None:
    ok = True
    clean = {}
    for name, value in values.items():
        value = " ".join(value.split())
        if CONTROL_RE.search(value):
            problems.error(path, line, f"row {line}: '{name}' contains a control character")
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


# -- the letter --------------------------------------------------------------------------------

def read_letter(path: Path) -> Letter:
    """The letter's Markdown → sanitised HTML with its placeholders still in place."""
    text = read_text(path)
    problems = Problems()
    for number, line in enumerate(text.split("\n"), 1):
        if TEMPLATE_SYNTAX_RE.search(line):
            problems.error(path, number, "template syntax ('{{', '{%' or '{#') in the letter",
                           "letters are not templates; placeholders are single braces, e.g. "
                           "{agency}")
            continue
        for match in PLACEHOLDER_RE.finditer(line):
            name = match.group(1)
            if name not in PLACEHOLDERS:
                problems.error(path, number, f"unknown placeholder '{match.group(0)}'",
                               did_you_mean(name, PLACEHOLDERS))
    if not text.strip():
        problems.error(path, 1, "the letter is empty")
    problems.raise_if_errors()
    converter = md.Markdown(extensions=["smarty", "sane_lists"], output_format="html")
    converted = converter.convert(text)
    clean = nh3.clean(converted, tags=LETTER_TAGS, attributes={"a": {"href"}},
                      url_schemes={"http", "https", "mailto"}, link_rel=None,
                      clean_content_tags={"script", "style", "template", "textarea"},
                      strip_comments=True)
    return Letter(path=path, html=clean)


def personalise(letter: Letter, values: dict[str, str]) -> str:
    """Fill the placeholders of the letter's HTML; ``values`` are HTML already (escaped)."""
    return SUBSTITUTE_RE.sub(
        lambda m: values["items_block"] if m.group(1) is None else values[m.group(1)],
        letter.html)


def _items_html(mailing: Mailing, recipient: Recipient) -> tuple[str, str]:
    """(a list, for {items} on a line of its own; a phrase, for {items} inside a sentence)."""
    rows, phrases = [], []
    for item in mailing.items:
        copies = item.copies_for(recipient)
        quantity = f"{copies} ×"
        detail = f'<span class="detail">{html.escape(item.detail)}</span>' \
            if item.detail else ""
        rows.append(f'<li><span class="quantity">{quantity}</span>'
                    f"<strong>{html.escape(item.title)}</strong>{detail}</li>")
        copies_text = "a copy" if copies == 1 else f"{copies} copies"
        phrases.append(f"{copies_text} of {html.escape(item.title)}")
    phrase = phrases[0] if len(phrases) == 1 else ", ".join(phrases[:-1]) + " and " + \
        phrases[-1]
    return f'<ul class="items">{"".join(rows)}</ul>', phrase


def letters_page(project: Project, mailing: Mailing):
    """The HTML document holding every letter."""
    env = layout.environment(project.layouts)
    series = mailing.series
    url = html.escape(series.purchase_url)
    shown_url = html.escape(_web_address(series.purchase_url))
    letters = []
    for recipient in mailing.recipients:
        block, phrase = _items_html(mailing, recipient)
        values = {
            "link_officer": html.escape(recipient.link_officer),
            "agency": html.escape(recipient.agency),
            "items": phrase,
            "items_block": block,
            "date": html.escape(mailing.date_label),
            "purchase_url": f'<a href="{url}">{shown_url}</a>',
        }
        letters.append({"agency": recipient.agency, "link_officer": recipient.link_officer,
                        "address": recipient.address_block,
                        "body": Markup(personalise(mailing.letter, values))})
    context = {
        "mailing": mailing, "series": series, "letters": letters,
        "css_url": layout.file_url(project.layouts / "letter.css"),
        "asset": lambda rel: layout.file_url(project.assets / rel),
        "date_label": mailing.date_label, "created": mailing.date.isoformat(),
        "reference": f"{_initials(series.name)}/{mailing.id}",
        "web_address": _web_address(series.purchase_url),
    }
    return Page(html=env.get_template("letter.html").render(**context),
                base_url=layout.file_url(mailing.letter.path.parent) + "/",
                name=str(mailing.letter.path))


def _web_address(url: str) -> str:
    return re.sub(r"^https?://", "", url).rstrip("/")


def _initials(name: str) -> str:
    return "".join(word[0] for word in name.split() if word[:1].isalpha()).upper() or "REF"


def render_letters(project: Project, mailing: Mailing):
    """Lay out every letter in one pass; returns the layout and where each letter landed."""
    laid_out = _render(letters_page(project, mailing), project.root)
    starts: dict[int, int] = {}
    counts: dict[int, int] = {}
    addresses: dict[int, tuple] = {}
    lines: dict[int, int] = {}
    for number, page in enumerate(laid_out.document.pages, 1):
        for box in _letter_boxes(page._page_box):
            element_id = box.element.get("id", "")
            if box.element_tag == "article" and element_id.startswith("letter-"):
                index = int(element_id.removeprefix("letter-"))
                starts.setdefault(index, number)
                counts[index] = counts.get(index, 0) + 1
            elif box.element_tag == "address" and element_id.startswith("address-"):
                index = int(element_id.removeprefix("address-"))
                x, y = box.border_box_x(), box.border_box_y()
                addresses[index] = tuple(v * MM_PER_PX for v in (
                    x, y, x + box.border_width(), y + box.border_height()))
                lines[index] = sum(1 for b in box.descendants() if isinstance(b, LineBox))
    placements = [Placement(recipient, starts.get(i, 0), counts.get(i, 0), addresses.get(i),
                            lines.get(i, 0))
                  for i, recipient in enumerate(mailing.recipients, 1)]
    return laid_out, placements


def _render(page: Page, project_root: Path) -> typeset.Typeset:
    """Like typeset.render, without the PDF tags (letters and job sheets are for print)."""
    fetcher = ProjectFetcher(project_root)
    with typeset._captured() as capture:
        document = weasyprint.HTML(string=page.html, base_url=page.base_url,
                                   url_fetcher=fetcher).render(font_config=FontConfiguration())
    problems = typeset._failures(page.name, capture, fetcher)
    if problems:
        raise ContentError(problems)
    return typeset.Typeset(document, set(fetcher.served), capture.warnings)


def _letter_boxes(page_box):
    """The article and address boxes of a page (without walking every line of text)."""
    stack = list(page_box.children)
    while stack:
        box = stack.pop()
        tag = getattr(box, "element_tag", None)
        if tag in ("article", "address"):
            yield box
            if tag == "address":
                continue
        elif tag not in ("html", "body", None) and not tag.startswith("::"):
            continue  # nothing we look for lies inside other elements
        stack.extend(getattr(box, "children", ()))


def check_placements(mailing: Mailing, placements: list[Placement]) -> None:
    """Each letter starts its own page with its whole address inside the envelope window."""
    x, y, width, height = WINDOW_MM
    inset = WINDOW_MIN_CLEARANCE_MM
    problems = Problems()
    for placement in placements:
        recipient = placement.recipient
        box = placement.address_mm
        if not placement.pages or box is None:
            problems.error(mailing.recipients_path, recipient.line,
                           f"the letter to '{recipient.agency}' has no address block",
                           "layouts/letter.html must keep the <address> element")
            continue
        x0, y0, x1, y1 = box
        if x0 < x + inset - 0.01 or x1 > x + width - inset + 0.01 or y0 < y + inset - 0.01:
            problems.error(mailing.recipients_path, recipient.line,
                           f"the address of '{recipient.agency}' is not inside the envelope "
                           f"window (it spans {x0:.1f}–{x1:.1f} × {y0:.1f}–{y1:.1f} mm)",
                           "layouts/letter.css moved the address block")
        elif y1 > y + height - inset + 0.01:
            problems.error(mailing.recipients_path, recipient.line,
                           f"the address of '{recipient.agency}' is too long for the envelope "
                           f"window: {placement.address_lines} lines once long ones wrap, "
                           f"at most {MAX_ADDRESS_LINES} fit",
                           "shorten the agency name or join two address lines")
    problems.raise_if_errors()


def write_letters(project: Project, mailing: Mailing, laid_out) -> bytes:
    """letters.pdf: CMYK brand colours, PDF/X-4, no bleed (nothing runs off the page)."""
    return _write_print_pdf(project, laid_out, f"{mailing.id}/letters")


def _write_print_pdf(project: Project, laid_out: typeset.Typeset, ident: str) -> bytes:
    """PDF/X-4 with every colour in CMYK, as the print editions (typeset.to_cmyk)."""
    palette = typeset.Palette.load(project.layouts / "palette.yaml")

    def finisher(document, pdf):
        typeset.to_cmyk(pdf, palette)
        typeset._fixed_document_id(pdf, ident)

    with typeset._captured():
        return laid_out.document.write_pdf(pdf_variant="pdf/x-4", finisher=finisher,
                                           pdf_identifier=output.identifier(ident, "print"))


# -- items -------------------------------------------------------------------------------------

def prepare_items(project: Project, mailing: Mailing, say) -> tuple[Item, ...]:
    """Find (or build) the print-ready PDF of every item; every failure is reported."""
    problems = Problems()
    result = []
    for item in mailing.items:
        try:
            if item.kind == "briefing":
                source = _briefing_pdf(project, item, say)
            elif item.kind == "bundle":
                source = _bundle_pdf(project, mailing, item, say)
            else:
                source = item.source
            _pdf_info(source)  # fail here, before anything is written, if it is unreadable
        except ContentError as exc:
            problems.extend(exc.problems)
            problems.error(mailing.path, item.line, f"{item.kind} '{item.ref}' failed to build",
                           "see the error above")
            continue
        result.append(Item(**{**item.__dict__, "source": source}))
    problems.raise_if_errors()
    return tuple(result)


def _briefing_pdf(project: Project, item: Item, say) -> Path:
    """The briefing's print edition, brought up to date through the pipeline's cached build."""
    problems = Problems()
    results = build(project, [item.ref], Options(editions=("print",)), problems)
    problems.raise_if_errors()
    if not results or not results[0].ok or "print" not in results[0].outputs:
        raise ContentError(results[0].problems if results and results[0].problems else [
            Problem(project.briefings_dir / f"{item.ref}.md", None,
                    f"briefing '{item.ref}' has no print edition", "is it still a draft?")])
    if not results[0].cached:
        say(f"mailing: built the print edition of {item.ref}")
    return results[0].outputs["print"]


def _bundle_pdf(project: Project, mailing: Mailing, item: Item, say) -> Path:
    """The bundle's print edition, assembled again if anything it is made from changed."""
    from press.products import bundles as assemble

    target = project.bundle_outputs(item.ref)["print"]
    problems = Problems()
    done = assemble.assemble_all(project, [item.ref], problems)
    if problems.errors or not target.is_file():
        raise ContentError(problems.errors + [Problem(
            mailing.path, item.line, f"bundle {item.ref} failed to build",
            f"run build.py bundle {item.ref} to see why")])
    if any(not assembled.fresh for assembled in done):
        say(f"mailing: assembled bundle {item.ref}")
    return target


@dataclass(frozen=True)
class PdfInfo:
    pages: int
    trim_mm: tuple[float, float]


def _pdf_info(path: Path) -> PdfInfo:
    try:
        reader = pypdf.PdfReader(path)
        pages = len(reader.pages)
        first = reader.pages[0]
        box = first.trimbox if "/TrimBox" in first else first.mediabox
    except (pypdf.errors.PyPdfError, OSError, ValueError, IndexError) as exc:
        raise ContentError.at(path, None, f"cannot read the PDF: {exc}") from None
    return PdfInfo(pages, (round(float(box.width) * MM_PER_PT, 1),
                           round(float(box.height) * MM_PER_PT, 1)))


PAPER_SIZES = {(210, 297): "A4", (148, 210): "A5", (297, 420): "A3", (105, 148): "A6"}


def _trim_label(trim_mm: tuple[float, float]) -> str:
    width, height = (round(v) for v in trim_mm)
    name = PAPER_SIZES.get((width, height)) or PAPER_SIZES.get((height, width))
    size = f"{width} × {height} mm"
    return f"{name} ({size})" if name else size


def binding_for(pages: int) -> tuple[str, int]:
    """(binding, sheets per copy): saddle-stitch up to 64 pages in fours, else perfect bound."""
    if pages <= 2:
        return ("none (flat sheet)", 1)
    if pages % 4 == 0 and pages <= 64:
        return ("saddle-stitch", pages // 4)
    return ("perfect bound", math.ceil(pages / 2))


def job_rows(mailing: Mailing, letter_pages: int) -> list[PrintFile]:
    rows = []
    for number, item in enumerate(mailing.items, 1):
        info = _pdf_info(item.source)
        binding, sheets = binding_for(info.pages)
        rows.append(PrintFile(
            file=f"print/{print_name(number, item)}", title=item.title, pages=info.pages,
            trim=_trim_label(info.trim_mm), binding=binding,
            colour="CMYK 4/0" if info.pages == 1 else "CMYK 4/4",
            quantity=sum(item.copies_for(r) for r in mailing.recipients),
            sheets_per_copy=sheets))
    rows.append(PrintFile(
        file="letters.pdf", title=f"Covering letters, one per agency ({len(mailing.recipients)})",
        pages=letter_pages, trim=_trim_label((210, 297)), binding="none (loose, single-sided)",
        colour="CMYK 4/0", quantity=1, sheets_per_copy=letter_pages))
    return rows


JOB_COLUMNS = ("file", "title", "pages", "trim", "binding", "colour", "quantity",
               "sheets_per_copy", "total_sheets")


def job_csv(rows: list[PrintFile]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(JOB_COLUMNS)
    for row in rows:
        writer.writerow([getattr(row, c) for c in JOB_COLUMNS])
    return buffer.getvalue()


def render_job_sheet(project: Project, mailing: Mailing, rows: list[PrintFile],
                     letter_pages: int) -> bytes:
    env = layout.environment(project.layouts)
    context = {
        "mailing": mailing, "series": mailing.series, "rows": rows,
        "total_sheets": sum(r.total_sheets for r in rows),
        "envelopes": len(mailing.recipients), "letter_pages": letter_pages,
        "date_label": mailing.date_label, "created": mailing.date.isoformat(),
        "css_url": layout.file_url(project.layouts / "letter.css"),
        "asset": lambda rel: layout.file_url(project.assets / rel),
    }
    page = Page(html=env.get_template("job-sheet.html").render(**context),
                base_url=layout.file_url(mailing.path.parent) + "/", name=str(mailing.path))
    return _write_print_pdf(project, _render(page, project.root), f"{mailing.id}/job-sheet")


def manifest_csv(mailing: Mailing, placements: list[Placement]) -> str:
    names = [print_name(n, item) for n, item in enumerate(mailing.items, 1)]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["envelope", "agency", "link_officer", "postcode", "email",
                     "letter_pages", *names, "contents"])
    for number, placement in enumerate(placements, 1):
        recipient = placement.recipient
        first, last = placement.first_page, placement.first_page + placement.pages - 1
        copies = [item.copies_for(recipient) for item in mailing.items]
        contents = "; ".join(["letter"] + [f"{c} × {n}" for c, n in zip(copies, names)])
        writer.writerow([number, recipient.agency, recipient.link_officer, recipient.postcode,
                         recipient.email, str(first) if first == last else f"{first}-{last}",
                         *copies, contents])
    return buffer.getvalue()


def _slugify(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "insert"


__all__ = ["command", "build_mailing", "load_mailing", "read_recipients", "read_letter",
           "personalise", "WINDOW_MM", "PLACEHOLDERS"]
