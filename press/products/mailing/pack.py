"""Mailing pack stage: the print-ready PDF of every item, the job sheet (PDF and CSV), the
manifest of what goes into each envelope, and the one archive handed to the printer."""

from __future__ import annotations

import csv
import hashlib
import io
import math
import zipfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pypdf

from press.briefing import layout
from press.build.pipeline import Options, build
from press.core import output, untrusted
from press.errors import ContentError, Problem, Problems
from press.model import Page
from press.products.mailing.model import Item, Mailing, Placement, PrinterJob, PrintFile, Say
from press.project import Project
from press.render.units import A4, MM_PER_PT, PAPER_SIZES


def print_name(number: int, item: Item) -> str:
    return f"{number:02d}-{item.name}.pdf"


def prepare_items(project: Project, mailing: Mailing, say: Say,
                  warnings: Problems) -> tuple[Item, ...]:
    """Find (or build) the print-ready PDF of every item; every failure is reported, and
    what a printer should know about an insert is added to ``warnings``."""
    problems = Problems()
    result = []
    for item in mailing.items:
        try:
            if item.kind == "briefing":
                source = _briefing_pdf(project, item, say)
            elif item.kind == "bundle":
                source = _bundle_pdf(project, mailing, item, say)
            else:
                source = item.pdf
            _pdf_info(source)  # fail here, before anything is written, if it is unreadable
            if item.kind == "insert":
                for message in insert_warnings(source, _condition_of(project, mailing)):
                    warnings.warn(mailing.path, item.line, f"insert {item.ref}: {message}")
        except ContentError as exc:
            problems.extend(exc.problems)
            problems.error(mailing.path, item.line, f"{item.kind} '{item.ref}' failed to build",
                           "see the error above")
            continue
        result.append(Item(**{**item.__dict__, "source": source}))
    problems.raise_if_errors()
    return tuple(result)


def _condition_of(project: Project, mailing: Mailing) -> str:
    """The OutputConditionIdentifier of the series' print editions ("" if unknown)."""
    from press.render import print as print_pdf

    profile = print_pdf.output_profile(project.assets, mailing.series.print_profile)
    return profile.condition if profile else ""


def insert_warnings(path: Path, condition: str = "FOGRA39") -> list[str]:
    """What a printer would query in a ready-made insert (the press did not make it, so it
    cannot fix it): links, dark text on several plates, an output intent other than
    ``condition`` (the series' print editions')."""
    from press.render import preflight

    with untrusted.library_messages("pypdf") as said:
        reader = pypdf.PdfReader(path)
        inks = preflight.inks_used(reader)
    found = []
    if inks["annotations"]:
        found.append(f"{inks['annotations']} annotations (links)")
    if inks["multi_plate_text"]:
        found.append(f"{inks['multi_plate_text']} runs of dark text on several plates")
    root: Any = reader.trailer["/Root"]  # (pypdf: a PdfObject)
    intents = root.get("/OutputIntents")
    own = str(intents[0].get_object().get("/OutputConditionIdentifier", "")) \
        if intents else "none"
    if condition and own != condition:
        found.append(f"output intent {own}, not {condition}")
    if said:
        found.append(f"a damaged PDF structure (pypdf: {said[0]})")
    if found:
        return ["; ".join(found) + " (ask its designer for a print-ready PDF/X: text in "
                f"100 K, no links, {condition or 'the printer’s condition'})"]
    return []


def _briefing_pdf(project: Project, item: Item, say: Say) -> Path:
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


def _bundle_pdf(project: Project, mailing: Mailing, item: Item, say: Say) -> Path:
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
    with untrusted.library_messages("pypdf"):  # repairs of a damaged insert: not raw output
        return _read_info(path)


def _read_info(path: Path) -> PdfInfo:
    try:
        reader = pypdf.PdfReader(path)
        pages = len(reader.pages)
        first = reader.pages[0]
        box = first.trimbox if "/TrimBox" in first else first.mediabox
    except NotImplementedError:  # pypdf opens only password (/Standard) encryption
        raise ContentError.at(path, None, "cannot read the PDF: it is encrypted with a "
                              "security handler other than a password (/Standard)",
                              "ask for a copy saved without security") from None
    except (pypdf.errors.PyPdfError, OSError, ValueError, IndexError, KeyError, TypeError,
            AttributeError, RecursionError) as exc:
        raise ContentError.at(path, None, f"cannot read the PDF: {exc}") from None
    return PdfInfo(pages, (round(float(box.width) * MM_PER_PT, 1),
                           round(float(box.height) * MM_PER_PT, 1)))


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
        info = _pdf_info(item.pdf)
        binding, sheets = binding_for(info.pages)
        rows.append(PrintFile(
            file=f"print/{print_name(number, item)}", title=item.title, pages=info.pages,
            trim=_trim_label(info.trim_mm), binding=binding,
            colour="CMYK 4/0" if info.pages == 1 else "CMYK 4/4",
            quantity=sum(item.copies_for(r) for r in mailing.recipients),
            sheets_per_copy=sheets))
    rows.append(PrintFile(
        file="letters.pdf", title=f"Covering letters, one per agency ({len(mailing.recipients)})",
        pages=letter_pages, trim=_trim_label(A4), binding="none (loose, single-sided)",
        colour="CMYK 4/0", quantity=1, sheets_per_copy=letter_pages))
    return rows


JOB_COLUMNS = ("file", "title", "pages", "trim", "binding", "colour", "quantity",
               "sheets_per_copy", "total_sheets")
# The printer's brief (the mailing's printer: block), the same on every row; "" = not given.
JOB_BRIEF_COLUMNS = ("paper", "job", "press_size", "delivery_date", "delivery_address",
                     "proofs")


def paper_for(row: PrintFile, printer: PrinterJob) -> str:
    """The paper a row prints on: a bound item has a cover and text; flat sheets are text."""
    if row.binding in ("saddle-stitch", "perfect bound") and printer.cover_paper:
        return f"cover {printer.cover_paper}; text {printer.text_paper or 'as cover'}"
    return printer.text_paper


def job_csv(rows: list[PrintFile], printer: PrinterJob | None = None) -> str:
    printer = printer or PrinterJob()
    brief = {"job": printer.job, "press_size": printer.press_size,
             "delivery_date": printer.delivery_date.isoformat() if printer.delivery_date
             else "", "delivery_address": " ".join(printer.delivery_address.split()),
             "proofs": printer.proofs}
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(JOB_COLUMNS + JOB_BRIEF_COLUMNS)
    for row in rows:
        writer.writerow(output.safe_row([getattr(row, c) for c in JOB_COLUMNS]
                                        + [paper_for(row, printer)]
                                        + [brief[c] for c in JOB_BRIEF_COLUMNS[1:]]))
    return buffer.getvalue()


def render_job_sheet(project: Project, mailing: Mailing, rows: list[PrintFile],
                     letter_pages: int) -> bytes:
    from press.render import recipes, typeset  # WeasyPrint: only when the pack is written

    env = layout.environment(project.layouts)
    context = {
        "mailing": mailing, "series": mailing.series, "rows": rows,
        "brief": mailing.printer.rows(), "paper": {r.file: paper_for(r, mailing.printer)
                                                   for r in rows},
        "archive": archive_name(mailing),
        "total_sheets": sum(r.total_sheets for r in rows),
        "envelopes": len(mailing.recipients), "letter_pages": letter_pages,
        "date_label": mailing.date_label, "created": mailing.date.isoformat(),
        "css_url": layout.file_url(project.layouts / "letter.css"),
        "asset": lambda rel: layout.file_url(project.assets / rel),
    }
    page = Page(html=env.get_template("job-sheet.html").render(**context),
                base_url=layout.file_url(mailing.path.parent) + "/", name=str(mailing.path))
    laid_out = typeset.render(page, project.root, tagged=False)
    return recipes.write_print(project, laid_out, f"{mailing.id}/job-sheet", "sheet",
                               profile=mailing.print_profile)


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
        writer.writerow(output.safe_row([
            number, recipient.agency, recipient.link_officer, recipient.postcode,
            recipient.email, str(first) if first == last else f"{first}-{last}", *copies,
            contents]))
    return buffer.getvalue()



# -- the printer's hand-off archive ---------------------------------------------------------------

def archive_name(mailing: Mailing) -> str:
    return f"for-printer-{mailing.id}.zip"


def printer_readme(project: Project, mailing: Mailing, rows: list[PrintFile],
                   names: list[str]) -> str:
    """README.txt: what is in the archive, for the printer, in plain text (76 columns)."""
    series = mailing.series
    contact = ", ".join(v for v in (series.contact.name, series.contact.phone,
                                    series.contact.email) if v)
    lines = [mailing.title, f"Mailing {mailing.id}, {mailing.date_label}", "",
             *_wrap(f"From {series.publisher} ({series.name}). Contact: {contact}."), ""]
    brief = mailing.printer.rows()
    if brief:
        lines += ["The job", "-------"]
        width = max(len(label) for label, _ in brief) + 2
        for label, value in brief:
            lines += _wrap(" ".join(value.split()), f"{label + ':':<{width}}", " " * width)
        lines.append("")
    lines += ["What is in this archive", "-----------------------"]
    files = [("job-sheet.pdf", "the job sheet: every item with its pages, trim size, binding, "
              "colour and quantity; job-sheet.csv has the same rows for a spreadsheet"),
             ("manifest.csv", "what goes into each envelope, one row per agency"),
             ("letters.pdf", "the covering letters, one per agency, each on a new sheet; "
              "single-sided, no bleed")]
    for name, row in zip(names, rows, strict=False):
        pages = f"{row.pages} page{'s' if row.pages != 1 else ''}"
        files.append((name, f"{row.title}: {pages}, {row.binding}"))
    files.append(("SHA256SUMS", "a SHA-256 checksum of every other file; check the download "
                  "with 'sha256sum -c SHA256SUMS'"))
    for name, text in files:
        lines += [name, *_wrap(text, "    ", "    ")]
    lines += ["", "The print files", "---------------",
              *_wrap("PDF/X-4, every colour CMYK, text in 100 % black (K only), 3 mm bleed "
                     "on every side, crop marks in registration colour outside the bleed, "
                     "fonts embedded, no annotations. The output intent names the press "
                     f"condition the colours were made for: {_condition(project, mailing)}. "
                     "Each print file has a preflight report in the publisher's output "
                     "folder; ask if you need it."), "",
              *_wrap("Please send a proof before the run"
                     + (f": {' '.join(mailing.printer.proofs.split())}."
                        if mailing.printer.proofs else ".")), ""]
    return "\n".join(lines)


def _wrap(text: str, first: str = "", rest: str = "") -> list[str]:
    import textwrap
    return textwrap.wrap(text, 76, initial_indent=first, subsequent_indent=rest,
                         break_on_hyphens=False, break_long_words=False)


def _condition(project: Project, mailing: Mailing) -> str:
    from press.render import print as print_pdf
    return print_pdf.condition_label(mailing.print_profile, project.assets)


def printer_archive(files: dict[str, bytes], when: date) -> bytes:
    """One zip of ``files`` (name -> bytes) with SHA256SUMS added; stable for the same input
    (every entry dated ``when``, in name order)."""
    sums = "".join(f"{hashlib.sha256(data).hexdigest()}  {name}\n"
                   for name, data in sorted(files.items()))
    entries = {**files, "SHA256SUMS": sums.encode()}
    buffer = io.BytesIO()
    stamp = (when.year, when.month, when.day, 0, 0, 0)
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in sorted(entries):
            info = zipfile.ZipInfo(name, stamp)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_STORED if name.endswith(".pdf") \
                else zipfile.ZIP_DEFLATED
            archive.writestr(info, entries[name])
    return buffer.getvalue()
