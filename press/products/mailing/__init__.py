"""Mailing stage: a mailing definition → personalised letters, print files, job sheet, manifest.

``python build.py mailing ID`` reads ``content/mailings/ID.yaml`` with its recipients CSV and
covering-letter Markdown, checks everything, then writes ``output/mailings/ID/``:

* ``letters.pdf``: one letter per agency, laid out in batches (one WeasyPrint layout pass for
  a hundred letters) by the worker pool, each letter written on its own and all joined in
  order (``joined``); each letter starts on a new sheet;
* ``print/NN-name.pdf``: the print-ready PDF of every item, in envelope order;
* ``job-sheet.pdf`` and ``job-sheet.csv``: what the printer prints, and how many;
* ``manifest.csv``: what goes into each agency's envelope;
* ``README.txt`` and ``for-printer-ID.zip``: the one archive handed to the printer (print files,
  letters, job sheet, manifest, README and a SHA256SUMS checksum list);
* ``feedback/<agency>.pdf`` and ``feedback-emails.csv``: the evaluation round's forms, written
  in batches by the worker pool while this process lays out the letters (``batches``).

The folder is built under a temporary name and swapped in at the end, so a failed run leaves
the previous pack untouched and never a half-written one.

The letter's Markdown is data. It is converted to sanitised HTML once; placeholders such as
``{agency}`` are then replaced per recipient by plain string code with HTML-escaped values.
Nothing in the letter is a template, so nothing in it can run.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, NamedTuple

from press.core import csvsafe, output
from press.errors import Problems
from press.products.mailing.batches import BATCH, forms_in_batches
from press.products.mailing.feedback import (
    EMAIL_COLUMNS,
    email_rows,
    recipient_keys,
    render_blank,
)
from press.products.mailing.joined import join, letters_in_batches, numbered
from press.products.mailing.letters import check_placements, personalise, read_letter
from press.products.mailing.load import load_mailing
from press.products.mailing.model import (
    PLACEHOLDERS,
    WINDOW_MM,
    Mailing,
    PrintFile,
    Recipient,
    Say,
)
from press.products.mailing.pack import (
    archive_name,
    binding_for,
    job_csv,
    job_rows,
    manifest_csv,
    prepare_items,
    print_name,
    printer_archive,
    printer_readme,
    render_job_sheet,
)
from press.products.mailing.questions import Question, load_questions
from press.products.mailing.recipients import MAX_RECIPIENTS, read_recipients
from press.project import Project


class Built(NamedTuple):
    """A mailing pack written: its folder, and one line saying what is in it."""

    folder: Path
    summary: str


def build_mailing(project: Project, mailing_id: str, say: Say = lambda line: None,
                  warnings: Problems | None = None, *, jobs: int = 0, batch: int = BATCH,
                  limit: int = MAX_RECIPIENTS) -> Built:
    """Check everything, build what is missing, then write the pack.
    ``warnings``: where what does not stop the pack goes (an insert printed for another press
    condition), for the caller to report with the rest. ``jobs``: worker processes for the
    letters and feedback forms (0: every core), ``batch`` recipients a task; neither changes
    a byte of the pack. ``limit``: the most recipients the mailing may have."""
    # staging folders and partial files of killed mailings (only those whose process is gone)
    output.clean_partials(project.output / "mailings")
    mailing = load_mailing(project, mailing_id, limit)
    items = prepare_items(project, mailing, say, Problems() if warnings is None else warnings)
    mailing = dataclasses.replace(mailing, items=items)
    questions = load_questions(project.mailings_dir, mailing.id)
    # the letters' own PDFs, until they are joined (the staged pack is made after them)
    # (named like a staging folder: a killed run's is cleaned up by the next, as they are)
    (project.output / "mailings").mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{mailing.id}-letters.{os.getpid()}.",
                                    suffix=".staging", dir=project.output / "mailings"))
    try:
        return _write_pack(project, mailing, questions, scratch, say, jobs, batch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _write_pack(project: Project, mailing: Mailing, questions: tuple[Question, ...],
                scratch: Path, say: Say, jobs: int, batch: int) -> Built:
    made: dict[str, Any] = {}

    def blank_form() -> None:  # here, while the workers lay out the letters
        made["blank"] = render_blank(project, mailing, questions)

    parts = letters_in_batches(project, mailing, scratch, jobs=jobs, size=batch, say=say,
                               beside=blank_form)
    placements = numbered(parts)
    check_placements(mailing, placements)
    pages = sum(p.pages for p in placements)
    keys = recipient_keys(mailing.recipients)

    def letters() -> None:
        """letters.pdf, the job sheet and the printer's files (here, while workers write
        the forms)."""
        rows = job_rows(mailing, pages)
        job_pdf = render_job_sheet(project, mailing, rows, pages)
        names = [f"print/{print_name(n, item)}" for n, item in enumerate(mailing.items, 1)]
        files = {name: item.pdf.read_bytes() for name, item in zip(names, mailing.items,
                                                                       strict=True)}
        for data in files.values():
            output.check_pdf(data)
        files["letters.pdf"] = join(mailing, parts)
        files["job-sheet.pdf"] = job_pdf
        files["job-sheet.csv"] = job_csv(rows, mailing.printer).encode()
        files["manifest.csv"] = manifest_csv(mailing, placements).encode()
        files["README.txt"] = printer_readme(project, mailing, rows, names).encode()
        made.update(files=files, rows=rows)
        parts.clear()  # the letters' own PDFs: joined, no longer needed

    final = project.mailing_folder(mailing.id)
    with output.staged_folder(final) as staging:
        # the evaluation round: a feedback form per recipient, by the workers
        (staging / "feedback").mkdir()
        forms = forms_in_batches(made["blank"], mailing, keys, staging / "feedback", jobs=jobs,
                                 size=batch, say=say, beside=letters)
        (staging / "feedback-emails.csv").write_text(
            csvsafe.write(EMAIL_COLUMNS, email_rows(mailing, dict(keys))), encoding="utf-8")
        files: dict[str, bytes] = made["files"]
        (staging / "print").mkdir()
        for name, data in files.items():
            (staging / name).write_bytes(data)
        (staging / archive_name(mailing)).write_bytes(printer_archive(files, mailing.date))
    rows: list[PrintFile] = made["rows"]
    summary = (f"{len(mailing.recipients)} letters ({pages} pages), "
               f"{len(mailing.items)} print files, {sum(r.total_sheets for r in rows)} sheets, "
               f"{forms} feedback forms")
    return Built(final, summary)


__all__ = ["build_mailing", "BATCH", "MAX_RECIPIENTS", "load_mailing", "read_recipients",
           "read_letter", "personalise",
           "binding_for", "Recipient", "WINDOW_MM", "PLACEHOLDERS"]
