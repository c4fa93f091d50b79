"""Mailing load stage: ``content/mailings/ID.yaml`` → a checked :class:`Mailing` (its series,
letter, recipients and items), every problem reported at its line."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from pathlib import Path

from press.content.load import SLUG_RE, load_all, load_series, read_text
from press.core import fields, yamlsafe
from press.errors import ContentError, Problems, did_you_mean
from press.model import Series
from press.products.mailing.letters import read_letter
from press.products.mailing.model import (
    ITEM_FIELDS,
    ITEM_KINDS,
    MAILING_FIELDS,
    MAILING_REQUIRED,
    MAX_COPIES,
    PRINTER_FIELDS,
    Item,
    Letter,
    Mailing,
    PrinterJob,
    Recipient,
)
from press.products.mailing.recipients import MAX_RECIPIENTS, read_recipients
from press.project import Project


def load_mailing(project: Project, mailing_id: str,
                 limit: int = MAX_RECIPIENTS) -> Mailing:
    """The mailing file, its recipients and letter, validated; every problem is reported.
    ``limit``: the most recipients it may have."""
    path = project.mailings_dir / f"{mailing_id}.yaml"
    if not SLUG_RE.match(mailing_id) or not path.is_file():
        known = [p.stem for p in project.mailings_dir.glob("*.yaml")]
        raise ContentError.at(path, None, f"no mailing '{mailing_id}'",
                              did_you_mean(mailing_id, known) or "add content/mailings/ID.yaml")
    raw, lines = yamlsafe.load(read_text(path), path)
    problems = Problems()
    check = fields.Checker(path, lines, problems)  # the checks and messages of every YAML file
    data = check.top(raw, MAILING_FIELDS, MAILING_REQUIRED, "a mailing file")
    problems.raise_if_errors()
    title = check(fields.text, data["title"], "title")
    subject = check(fields.text, data["subject"], "subject") if "subject" in data else ""
    sign_off = check(fields.text, data["sign_off"], "sign_off") if "sign_off" in data \
        else "Yours sincerely"

    date = check(fields.date, data["date"], "date")
    series = _mailing_series(project, path, lines, data, problems)
    printer = _printer(project, check, data.get("printer"))
    letter_path = _source_file(project, path, lines, "letter", data["letter"], problems)
    recipients_path = _source_file(project, path, lines, "recipients", data["recipients"],
                                   problems)
    items = _items(project, path, lines, data["items"], problems)
    letter: Letter | None = None
    recipients: tuple[Recipient, ...] | None = None
    if letter_path:
        try:
            letter = read_letter(letter_path)
        except ContentError as exc:
            problems.extend(exc.problems)
    if recipients_path:
        try:
            recipients = read_recipients(recipients_path, limit)
        except ContentError as exc:
            problems.extend(exc.problems)
    problems.raise_if_errors()
    # each value left None came with an error, raised just now
    assert title is not None and subject is not None and sign_off is not None
    assert date is not None and series is not None and letter is not None
    assert recipients_path is not None and recipients is not None
    return Mailing(id=mailing_id, path=path, title=title, date=date, series=series,
                   subject=subject, sign_off=sign_off,
                   letter=letter, recipients_path=recipients_path, recipients=recipients,
                   items=items, printer=printer)


GSM_RE = re.compile(r"\b\d{2,3}\s*(gsm|g/m²|g/m2)\b", re.IGNORECASE)


def _printer(project: Project, check: fields.Checker, value: object) -> PrinterJob:
    """The optional ``printer:`` block: what the printer's quote and job ticket ask for."""
    if value is None:
        return PrinterJob()
    block = check(fields.fields, value, "printer", allowed=PRINTER_FIELDS, required=())
    if not block:
        return PrinterJob()
    values: dict[str, str] = {}  # PrinterJob's text fields
    delivery_date: dt.date | None = None
    for key in PRINTER_FIELDS:
        if key in ("delivery_date", "print_profile") or block.get(key) is None:
            continue
        values[key] = check(fields.text, block[key], "printer", key) or ""
    for key in ("cover_paper", "text_paper"):
        if values.get(key) and not GSM_RE.search(values[key]):
            check.fail(("printer", key), f"'{key}' must give the paper's weight in gsm, "
                       f"not {values[key]!r}", "write stock and weight, e.g. '300 gsm silk'")
    if block.get("delivery_date") is not None:
        delivery_date = check(fields.date, block["delivery_date"], "printer",
                                        "delivery_date")
    if block.get("print_profile"):
        profile = check(fields.text, block["print_profile"], "printer", "print_profile") or ""
        target = (project.assets / profile).resolve()
        if profile and (not target.is_relative_to(project.assets.resolve())
                        or not fields.is_file(target)
                        or target.suffix.lower() not in (".icc", ".icm")):
            check.fail(("printer", "print_profile"), f"'print_profile': no .icc file "
                       f"assets/{profile}", "paths are relative to assets/, e.g. "
                       "color/printer.icc")
        values["print_profile"] = profile
    return PrinterJob(**values, delivery_date=delivery_date)


def _mailing_series(project: Project, path: Path, lines: yamlsafe.Lines, data: dict[str, object],
                    problems: Problems) -> Series | None:
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


def _source_file(project: Project, path: Path, lines: yamlsafe.Lines, key: str, value: object,
                 problems: Problems) -> Path | None:
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
    if not fields.is_file(target):
        problems.error(path, yamlsafe.line_of(lines, key), f"'{key}' file '{value}' not found",
                       "paths are relative to content/mailings/")
        return None
    return target


def _items(project: Project, path: Path, lines: yamlsafe.Lines, value: object,
           problems: Problems) -> tuple[Item, ...]:
    if not isinstance(value, list) or not value:
        problems.error(path, yamlsafe.line_of(lines, "items"),
                       "'items' must be a list of 'briefing: SLUG', 'bundle: ID' or "
                       "'insert: PATH' entries")
        return ()
    known = {p.stem: p for p in project.briefing_paths()}
    items: list[Item] = []
    seen: dict[tuple[str, str], int | None] = {}
    wanted_briefings: list[str] = []
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
        if label is not None:
            try:
                label = fields.text(label, "label")
            except fields.Invalid as exc:
                problems.error(path, line, exc.message, exc.hint)
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
            if not SLUG_RE.match(ref) or not fields.is_file(bundle_file):
                problems.error(path, line, f"unknown bundle '{ref}'",
                               did_you_mean(ref, [p.stem for p in
                                                  project.bundles_dir.glob("*.yaml")])
                               or "bundles are defined in content/bundles/ID.yaml")
                continue
            item = _bundle_item(item, bundle_file)
        else:
            insert = _insert_item(project, path, line, item, problems)
            if insert is None:
                continue
            item = insert
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
    return dataclasses.replace(item, title=title or item.ref, detail="Collected edition")


def _insert_item(project: Project, path: Path, line: int | None, item: Item,
                 problems: Problems) -> Item | None:
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
    if not fields.is_file(target) or target.suffix.lower() != ".pdf":
        problems.error(path, line, f"insert '{item.ref}' is not a PDF file")
        return None
    head = target.read_bytes()[:1024]
    if not head.startswith(b"%PDF-"):
        problems.error(path, line, f"insert '{item.ref}' is not a PDF (no %PDF- header)")
        return None
    title = item.title or Path(item.ref).stem.replace("-", " ").replace("_", " ").capitalize()
    return dataclasses.replace(item, title=title, source=target)


def _inside(target: Path, project: Project) -> bool:
    return any(target.is_relative_to(folder.resolve())
               for folder in (project.content, project.assets))


def _briefing_items(project: Project, path: Path, items: list[Item], slugs: list[str],
                    problems: Problems) -> tuple[Item, ...]:
    if not slugs:
        return tuple(items)
    load_problems = Problems()
    _, briefings = load_all(project, load_problems, slugs)
    by_slug = {b.slug: b for b in briefings}
    result: list[Item] = []
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
        result.append(dataclasses.replace(
            item, title=title, detail=f"{briefing.series.name} No. {briefing.number}"))
    problems.extend(p for p in load_problems.errors if Path(p.path).stem in slugs)
    return tuple(result)

