"""Mailing pack stage: the print-ready PDF of every item, the job sheet (PDF and CSV) and the
manifest of what goes into each envelope."""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from pathlib import Path

import pypdf

from press.briefing import layout
from press.build.pipeline import Options, build
from press.core import output
from press.errors import ContentError, Problem, Problems
from press.model import Page
from press.products.mailing.letters import write_print_pdf
from press.products.mailing.model import Item, Mailing, Placement, PrintFile
from press.project import Project
from press.render.units import A4, MM_PER_PT, PAPER_SIZES


def print_name(number: int, item: Item) -> str:
    return f"{number:02d}-{item.name}.pdf"


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
        pages=letter_pages, trim=_trim_label(A4), binding="none (loose, single-sided)",
        colour="CMYK 4/0", quantity=1, sheets_per_copy=letter_pages))
    return rows


JOB_COLUMNS = ("file", "title", "pages", "trim", "binding", "colour", "quantity",
               "sheets_per_copy", "total_sheets")


def job_csv(rows: list[PrintFile]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(JOB_COLUMNS)
    for row in rows:
        writer.writerow(output.safe_row([getattr(row, c) for c in JOB_COLUMNS]))
    return buffer.getvalue()


def render_job_sheet(project: Project, mailing: Mailing, rows: list[PrintFile],
                     letter_pages: int) -> bytes:
    from press.render import typeset  # WeasyPrint: only when the pack is written

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
    laid_out = typeset.render(page, project.root, tagged=False)
    return write_print_pdf(project, laid_out, f"{mailing.id}/job-sheet")


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

