"""Evaluation stage: returned feedback forms and answer CSVs → checked answers per recipient.

Every file in ``content/evaluations/<id>/`` is a return: a ``.csv`` holds answers keyed in
from an online survey or a telephone call (one row per agency), anything else must be a
feedback form of this mailing. A return that cannot be trusted is left out with an error
naming the file: unreadable, needing a password, carrying JavaScript or attachments, not a
form of this mailing, or a form of another mailing or of an unknown recipient. Values are
only ever read as data (pypdf runs nothing); text is cleaned and clipped here.
"""

from __future__ import annotations

import csv
import io
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from press.core import limits, untrusted
from press.errors import Problems, did_you_mean
from press.products.mailing.feedback import (
    ID_FIELD,
    ID_INFO_KEY,
    parse_form_id,
    recipient_keys,
    slug,
)
from press.products.mailing.model import Mailing, Recipient
from press.products.mailing.questions import Question

if TYPE_CHECKING:
    from pypdf import PdfReader

MAX_BYTES = 20 * 1024 * 1024  # one returned form
MAX_CSV_BYTES = 5 * 1024 * 1024  # one answers CSV (a row per agency: 2,000 rows fit in 1 MB)
MAX_FILES = 5000  # files read from one mailing's returns folder, subfolders included
MAX_DEPTH = 4  # subfolders below it
MAX_TEXT = 2000  # characters kept of a free-text answer
# Typewriter and typographic quotes are one: a name keyed in by hand matches the file's.
QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201b": "'", "\u2032": "'",
                        "\u0060": "'", "\u00b4": "'", "\u201c": '"', "\u201d": '"',
                        "\u201e": '"', "\u2033": '"'})
# Found anywhere in a returned PDF, these refuse it: content that would run or hide files.
REFUSED_KEYS = {"/JS": "JavaScript", "/JavaScript": "JavaScript", "/Launch": "a launch action",
                "/EmbeddedFiles": "attached files", "/EmbeddedFile": "attached files",
                "/RichMedia": "rich media", "/XFA": "an XFA form"}
REFUSED_ACTIONS = {"/JavaScript": "JavaScript", "/Launch": "a launch action",
                   "/ImportData": "an import action"}
REFUSED_ANNOTS = {"/FileAttachment": "attached files", "/RichMedia": "rich media",
                  "/Screen": "rich media", "/Movie": "rich media", "/Sound": "rich media"}


# A returned file's place in time: (modification time in ns, name in the folder).
Order = tuple[int, str]
# The mailing's recipients by key (feedback.recipient_keys).
Keys = dict[str, Recipient]


@dataclass
class Answer:
    key: str  # the recipient's key (forms.recipient_keys)
    source: str  # file name, with the row for a CSV
    order: tuple[int, str, int]  # (modification time, file name, row): the later one counts
    channel: str  # "form" or "csv"
    values: dict[str, str | None] = field(default_factory=dict)

    @property
    def blank(self) -> bool:
        """No question answered: a form sent back untouched."""
        return not any(self.values.values())


@dataclass
class Returns:
    answers: list[Answer]
    problems: Problems
    left_out: int  # returned files or CSV rows refused


def read_returns(folder: Path, mailing: Mailing, questions: tuple[Question, ...]) -> Returns:
    keys = recipient_keys(mailing.recipients)
    problems = Problems()
    answers: list[Answer] = []
    left_out = 0
    files = _files(folder, problems) if folder.is_dir() else []
    for path in files:
        name = path.relative_to(folder).as_posix()
        try:
            order = (path.stat().st_mtime_ns, name)
        except OSError as exc:  # a broken link, a file removed while the folder is read
            problems.error(path, None, f"cannot be read ({exc.strerror}); left out")
            left_out += 1
            continue
        if path.suffix.lower() == ".csv":
            got, refused = read_csv(path, order, keys, questions, problems)
            answers.extend(got)
            left_out += refused
            continue
        answer = read_form(path, order, mailing.id, keys, questions, problems)
        if answer is None:
            left_out += 1
        else:
            answers.append(answer)
    return Returns(answers, problems, left_out)


def _files(folder: Path, problems: Problems) -> list[Path]:
    """The returns: every file in the folder and its subfolders (an agency's mail client may
    save into one), hidden ones and symlinked folders skipped, at most MAX_FILES."""
    found: list[Path] = []
    for parent, folders, names in os.walk(folder):
        here = Path(parent)
        depth = len(here.relative_to(folder).parts)
        if depth >= MAX_DEPTH:
            if folders:
                problems.warn(here, None, f"subfolders more than {MAX_DEPTH} deep are not "
                              "read", "move the returns up")
            folders[:] = []
        folders[:] = sorted(f for f in folders if not f.startswith("."))
        found.extend(here / n for n in sorted(names) if not n.startswith("."))
        if len(found) > MAX_FILES:
            problems.error(folder, None, f"more than {MAX_FILES:,} files: only the first "
                           f"{MAX_FILES:,} are read", "one return per agency belongs here")
            return found[:MAX_FILES]
    return found


# -- returned forms ----------------------------------------------------------------------------

def read_form(path: Path, order: Order, mailing_id: str, keys: Keys,
              questions: tuple[Question, ...], problems: Problems) -> Answer | None:
    """The answers of one returned form, or None (with an error) if it is left out. What
    pypdf logs while reading it (repairs of a damaged file) is a warning naming the file if
    the form is used, and not shown if it is refused anyway."""
    try:
        with untrusted.library_messages("pypdf") as said, limits.time_limit("returns"):
            answer = _read_form(path, order, mailing_id, keys, questions, problems)
    except limits.TimeLimitExceeded as exc:
        problems.error(path, None, f"reading it did not finish within {exc.seconds:g} s; "
                       "left out", "ask for the form to be saved again (or raise "
                       "PRESS_TIME_LIMIT_RETURNS)")
        return None
    if answer is not None and said:
        problems.warn(path, None, f"the PDF is damaged (pypdf: {said[0]}"
                      + (f", and {len(said) - 1} more" if len(said) > 1 else "")
                      + "); its answers were read", "check them against the report")
    return answer


def _read_form(path: Path, order: Order, mailing_id: str, keys: Keys,
               questions: tuple[Question, ...], problems: Problems) -> Answer | None:
    from pypdf import PasswordType, PdfReader
    from pypdf.errors import DependencyError, PyPdfError

    def refuse(message: str, hint: str = "") -> Answer | None:
        """The file is left out, with an error: None, what this function returns for it."""
        problems.error(path, None, message + "; left out", hint)
        return None

    try:
        data = untrusted.read_bytes(path, MAX_BYTES)
    except untrusted.Refused as exc:
        return refuse(exc.message, exc.hint)
    if b"%PDF-" not in data[:1024]:
        return refuse("not a PDF", "only returned feedback forms and answer CSVs belong here")
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted and reader.decrypt("") == PasswordType.NOT_DECRYPTED:
            return refuse("encrypted with a password",
                          "ask the agency for a copy saved without a password")
        found = _active_content(reader)
        if found:
            return refuse(f"the PDF carries {' and '.join(sorted(found))}: refused",
                          "ask for the form to be filled in and saved again without them")
        pdf_fields = reader.get_fields() or {}
        info: Mapping[str, Any] = reader.metadata or {}
        identifier = _value(pdf_fields.get(ID_FIELD)) or _value({"/V": info.get(ID_INFO_KEY)})
        text = "" if identifier else (reader.pages[0].extract_text() if reader.pages else "")
    except DependencyError as exc:
        return refuse(f"cannot be decrypted: {exc}", "pip install cryptography")
    except NotImplementedError as exc:
        # pypdf opens only the /Standard security handler (a password); another handler
        # (a certificate, a vendor's DRM) or an unsupported filter lands here
        if "encryption" in str(exc).lower():
            return refuse("encrypted with a security handler other than a password "
                          "(/Standard): it cannot be opened",
                          "ask the agency for a copy saved without security")
        return refuse(f"uses a PDF feature that cannot be read ({exc})")
    except (PyPdfError, ValueError, KeyError, TypeError, IndexError, AttributeError,
            RecursionError, OSError) as exc:
        return refuse(f"cannot be read as a PDF ({type(exc).__name__}: "
                      f"{untrusted.clean_text(str(exc))[:200]})")
    if not identifier:
        if re.search(rf"\b{re.escape(mailing_id)}/[a-z0-9-]+", text):
            return refuse("a feedback form with its fields flattened (printed to PDF?): its "
                          "answers cannot be read", "key them into an answers CSV")
        return refuse("not a feedback form (it has no form identifier)")
    parsed = parse_form_id(identifier)
    if parsed is None:
        return refuse(f"its form identifier is damaged ({str(identifier)[:60]!r})")
    form_mailing, key = parsed
    if form_mailing != mailing_id:
        return refuse(f"a feedback form of mailing '{form_mailing}', not of '{mailing_id}'",
                      f"move it to content/evaluations/{form_mailing}/")
    if key not in keys:
        return refuse(f"a form of '{key}', who is not in the mailing's recipients file")
    if ID_FIELD not in pdf_fields and not any(q.name in pdf_fields for q in questions):
        # the identifier survived in the document info, the fields did not
        return refuse("a feedback form with its fields flattened (printed to PDF?): its "
                      "answers cannot be read", "key them into an answers CSV")
    values: dict[str, str | None] = {}
    for question in questions:
        values[question.name] = _clean(question, _value(pdf_fields.get(question.name)),
                                       path, None, problems)
    return Answer(key, order[1], order + (0,), "form", values)


def _value(pdf_field: Mapping[str, Any] | None) -> str | None:
    """A field's value as text: radio states '/useful' (a Name, or a string with its slash
    when pypdf filled the form) become 'useful'; unanswered is None."""
    if pdf_field is None:
        return None
    value = pdf_field.get("/V")
    if isinstance(value, list):  # several values (a list box, or a hostile text field)
        items = [_text_of(v) for v in value[:50]]
        text = ", ".join(t for t in items if t)
    else:
        text = _text_of(value)
    if pdf_field.get("/FT") == "/Btn":
        text = "" if text == "/Off" else text.lstrip("/")
    return text or None


def _text_of(value: object) -> str:
    """A string, a name or a number as text; anything else (a dictionary, a stream) is no
    answer."""
    from pypdf.generic import IndirectObject

    if isinstance(value, IndirectObject):
        value = value.get_object()
    if isinstance(value, bytes):
        return value.decode("latin-1")
    if isinstance(value, (str, int, float)):
        return str(value)
    return ""


def _active_content(reader: PdfReader) -> set[str]:
    """What refuses the file, from every object reachable from the trailer (visited once).

    Back-pointers (a widget's /Parent, an annotation's /P) are followed too: a field's
    actions may hang on a parent that no field list names. Each indirect object is visited
    once, so the cycles they make end."""
    from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject

    found: set[str] = set(["attached files"] if reader.attachments else [])
    seen: set[tuple[int, int]] = set()
    stack: list[tuple[Any, int]] = [(reader.trailer, 0)]  # pypdf objects, and their depth
    while stack:
        obj, depth = stack.pop()
        if isinstance(obj, IndirectObject):
            if (obj.idnum, obj.generation) in seen:
                continue
            seen.add((obj.idnum, obj.generation))
            obj = obj.get_object()
        if depth > 200:
            continue
        if isinstance(obj, DictionaryObject):
            if obj.get("/S") in REFUSED_ACTIONS:
                found.add(REFUSED_ACTIONS[str(obj["/S"])])
            if obj.get("/Subtype") in REFUSED_ANNOTS and obj.get("/Type") != "/XObject":
                found.add(REFUSED_ANNOTS[str(obj["/Subtype"])])
            for key, value in obj.items():
                if key in REFUSED_KEYS:
                    found.add(REFUSED_KEYS[key])
                stack.append((value, depth + 1))
        elif isinstance(obj, ArrayObject):
            stack.extend((value, depth + 1) for value in obj)
    return found


def _clean(question: Question, value: object, path: Path, line: int | None,
           problems: Problems) -> str | None:
    """A choice's value (by value or label), yes/no, or cleaned text; None if unanswered."""
    if value is None:
        return None
    text = untrusted.clean_text(str(value)).strip()
    if not text:
        return None
    if question.kind in ("choice", "yesno"):
        wanted = text.casefold()
        for option, label in question.choices:
            if wanted in (option, label.casefold(), option.replace("_", " ")):
                return option
        if question.kind == "yesno" and wanted in ("y", "n"):
            return "yes" if wanted == "y" else "no"
        problems.warn(path, line, f"'{question.name}': '{text[:40]}' is not one of "
                      + ", ".join(v for v, _ in question.choices) + "; counted as no answer")
        return None
    return text[:MAX_TEXT]


# -- answer CSVs -------------------------------------------------------------------------------

def read_csv(path: Path, order: Order, keys: Keys, questions: tuple[Question, ...],
             problems: Problems) -> tuple[list[Answer], int]:
    """Rows of answers keyed by agency (its name as in the recipients file); returns the
    answers and how many rows were left out."""
    by_agency = {agency_key(r.agency): k for k, r in keys.items()}
    names = {q.name: q for q in questions}
    try:
        text = untrusted.read_bytes(path, MAX_CSV_BYTES).decode("utf-8-sig")
        rows = list(csv.reader(io.StringIO(text, newline=""), strict=True))
    except untrusted.Refused as exc:
        problems.error(path, None, exc.message + "; left out", exc.hint)
        return [], 1
    except (UnicodeDecodeError, csv.Error) as exc:
        problems.error(path, None, f"cannot read the CSV ({exc}); left out",
                       "save it as 'CSV UTF-8'")
        return [], 1
    if not rows:
        return [], 0
    header = [h.strip().lower() for h in rows[0]]
    if "agency" not in header:
        problems.error(path, 1, "missing column 'agency'; left out",
                       "the header needs agency and question names: " + ", ".join(names))
        return [], 1
    for column in header:
        if column not in names and column not in ("agency", "link_officer", "source", "date"):
            problems.warn(path, 1, f"unknown column '{column}' ignored",
                          "question names: " + ", ".join(names))
    answers: list[Answer] = []
    refused = 0
    for line, row in enumerate(rows[1:], 2):
        if not any(cell.strip() for cell in row):
            continue
        cells = dict(zip(header, row))
        agency = " ".join(untrusted.clean_text(cells.get("agency", "")).split())
        key = by_agency.get(agency_key(agency)) or (slug(agency) if slug(agency) in keys
                                                    else None)
        if key is None:
            close = did_you_mean(agency, [r.agency for r in keys.values()])
            problems.error(path, line, f"row {line}: agency '{agency[:80]}' is not in the "
                           "mailing's recipients file; left out",
                           close if close.startswith("did you") else
                           "write the agency as the recipients file does")
            refused += 1
            continue
        values = {q.name: _clean(q, cells.get(q.name), path, line, problems)
                  for q in questions}
        answers.append(Answer(key, f"{order[1]}:{line}", order + (line,), "csv", values))
    return answers, refused


def agency_key(name: str) -> str:
    """An agency's name as it is matched: quotes made plain, case and spacing ignored."""
    return " ".join(name.translate(QUOTES).casefold().split())
