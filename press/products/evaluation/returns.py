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
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from press.errors import Problems
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

MAX_BYTES = 20 * 1024 * 1024
MAX_TEXT = 2000  # characters kept of a free-text answer
CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
# Found anywhere in a returned PDF, these refuse it: content that would run or hide files.
REFUSED_KEYS = {"/JS": "JavaScript", "/JavaScript": "JavaScript", "/Launch": "a launch action",
                "/EmbeddedFiles": "attached files", "/EmbeddedFile": "attached files",
                "/RichMedia": "rich media", "/XFA": "an XFA form"}
REFUSED_ACTIONS = {"/JavaScript": "JavaScript", "/Launch": "a launch action",
                   "/ImportData": "an import action"}
REFUSED_ANNOTS = {"/FileAttachment": "attached files", "/RichMedia": "rich media",
                  "/Screen": "rich media", "/Movie": "rich media", "/Sound": "rich media"}
BACK_POINTERS = ("/Parent", "/P", "/Pg", "/Obj")


@dataclass
class Answer:
    key: str  # the recipient's key (forms.recipient_keys)
    source: str  # file name, with the row for a CSV
    order: tuple[int, str, int]  # (modification time, file name, row): the later one counts
    channel: str  # "form" or "csv"
    values: dict[str, str | None] = field(default_factory=dict)


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
    files = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")) \
        if folder.is_dir() else []
    for path in files:
        order = (path.stat().st_mtime_ns, path.name)
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


# -- returned forms ----------------------------------------------------------------------------

def read_form(path: Path, order: tuple[int, str], mailing_id: str, keys: dict[str, Recipient],
              questions: tuple[Question, ...], problems: Problems) -> Answer | None:
    """The answers of one returned form, or None (with an error) if it is left out."""
    from pypdf import PasswordType, PdfReader
    from pypdf.errors import DependencyError, PyPdfError

    def refuse(message: str, hint: str = "") -> Answer | None:
        """The error; None, for ``return refuse(...)``."""
        problems.error(path, None, message + "; left out", hint)
        return None

    data = path.read_bytes()
    if len(data) > MAX_BYTES:
        return refuse(f"larger than {MAX_BYTES // 2**20} MB")
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
        info: Any = reader.metadata or {}
        identifier = _value(pdf_fields.get(ID_FIELD)) or info.get(ID_INFO_KEY)
        text = "" if identifier else (reader.pages[0].extract_text() if reader.pages else "")
    except DependencyError as exc:
        return refuse(f"cannot be decrypted: {exc}", "pip install cryptography")
    except (PyPdfError, ValueError, KeyError, TypeError, IndexError, AttributeError,
            RecursionError, OSError) as exc:
        return refuse(f"cannot be read as a PDF ({type(exc).__name__}: {exc})")
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
    values: dict[str, str | None] = {}
    for question in questions:
        values[question.name] = _clean(question, _value(pdf_fields.get(question.name)),
                                       path, None, problems)
    return Answer(key, path.name, order + (0,), "form", values)


def _value(pdf_field: Any) -> str | None:
    """A field's value as text: radio states '/useful' (a Name, or a string with its slash
    when pypdf filled the form) become 'useful'; unanswered is None."""
    if pdf_field is None:
        return None
    value = pdf_field.get("/V")
    if value is None:
        return None
    text = str(value)
    if pdf_field.get("/FT") == "/Btn":
        text = "" if text == "/Off" else text.lstrip("/")
    return text or None


def _active_content(reader: PdfReader) -> set[str]:
    """What refuses the file, from every object reachable from the trailer (visited once)."""
    from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject

    found: set[str] = set(["attached files"] if reader.attachments else [])
    seen: set[tuple[int, int]] = set()
    stack: list[tuple[Any, int]] = [(reader.trailer, 0)]
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
                if key not in BACK_POINTERS:
                    stack.append((value, depth + 1))
        elif isinstance(obj, ArrayObject):
            stack.extend((value, depth + 1) for value in obj)
    return found


def _clean(question: Question, value: object, path: Path, line: int | None,
           problems: Problems) -> str | None:
    """A choice's value (by value or label), yes/no, or cleaned text; None if unanswered."""
    if value is None:
        return None
    text = CONTROL_RE.sub(" ", str(value).replace("\r\n", "\n").replace("\r", "\n")).strip()
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

def read_csv(path: Path, order: tuple[int, str], keys: dict[str, Recipient],
             questions: tuple[Question, ...], problems: Problems) -> tuple[list[Answer], int]:
    """Rows of answers keyed by agency (its name as in the recipients file); returns the
    answers and how many rows were left out."""
    by_agency = {r.agency.casefold(): k for k, r in keys.items()}
    names = {q.name: q for q in questions}
    try:
        text = path.read_bytes().decode("utf-8-sig")
        rows = list(csv.reader(io.StringIO(text, newline=""), strict=True))
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
        agency = " ".join(cells.get("agency", "").split())
        key = by_agency.get(agency.casefold()) or (slug(agency) if slug(agency) in keys
                                                   else None)
        if key is None:
            problems.error(path, line, f"row {line}: agency '{agency[:80]}' is not in the "
                           "mailing's recipients file; left out",
                           "write the agency as the recipients file does")
            refused += 1
            continue
        values = {q.name: _clean(q, cells.get(q.name), path, line, problems)
                  for q in questions}
        answers.append(Answer(key, f"{path.name}:{line}", order + (line,), "csv", values))
    return answers, refused
