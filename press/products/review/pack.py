"""Review stage: the review edition → the review pack (a note to each reviewer, then the
draft), written with the map into ``output/reviews/<slug>/<round>/``."""

from __future__ import annotations

import io
import json
from pathlib import Path

from press.model import Briefing, Page
from press.products.review.edition import Band, Edition
from press.products.review.round import Reviewer, Round
from press.project import Project

PACK_KEY = "/PressReview"  # Info entry of a pack: "<slug>/<round>/<reviewer key>"


def note_pdf(project: Project, briefing: Briefing, round_: Round, reviewer: Reviewer,
             band: Band) -> bytes:
    """The note to one reviewer: what to comment on, how, and by when."""
    from press.briefing.layout import environment, file_url
    from press.render import typeset

    template = environment(project.layouts).get_template("review-note.html")
    author_email = next((a.email for a in briefing.authors if getattr(a, "email", "")),
                        "the author")
    html = template.render(briefing=briefing, series=briefing.series, reviewer=reviewer,
                           round=round_, band=band.text(), author_email=author_email,
                           css_url=file_url(project.layouts / "review.css"))
    page = Page(html=html, base_url=file_url(project.layouts) + "/",
                name=str(round_.path), metadata={})
    laid_out = typeset.render(page, project.root, tagged=False)
    data = typeset.write(laid_out, None)
    assert data is not None  # (written to no target: the bytes are returned)
    return data


def pack_pdf(note: bytes, edition: Edition, ident: str) -> bytes:
    """The note's pages, then the draft; the pack's identity in its Info dictionary (the
    collect step reads which reviewer and how many note pages, when a reader kept it)."""
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    notes = PdfReader(io.BytesIO(note))
    for page in notes.pages:
        writer.add_page(page)
    for page in PdfReader(io.BytesIO(edition.pdf)).pages:
        writer.add_page(page)
    writer.add_metadata({PACK_KEY: f"{ident}/{len(notes.pages)}",
                         "/Title": f"Review draft {ident}"})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def write_pack(project: Project, briefing: Briefing, round_: Round, edition: Edition,
               band: Band) -> list[Path]:
    """Write draft.pdf, map.json and one pack per reviewer; return the paths written."""
    from press.core import output

    folder = project.review_folder(briefing.slug, round_.name)
    written: list[Path] = []
    draft = folder / "draft.pdf"
    output.write_bytes(draft, edition.pdf)
    mapping = folder / "map.json"
    output.write_text(mapping, json.dumps(edition.map, ensure_ascii=False, indent=1))
    written += [draft, mapping]
    for reviewer in round_.reviewers:
        note = note_pdf(project, briefing, round_, reviewer, band)
        path = folder / "pack" / f"{briefing.slug}-{round_.name}-{reviewer.key}.pdf"
        output.write_bytes(path, pack_pdf(note, edition,
                                          f"{briefing.slug}/{round_.name}/{reviewer.key}"))
        written.append(path)
    return written

