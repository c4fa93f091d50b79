"""Briefing: the per-briefing chain, Briefing ──markdown──▶ Body ──layout──▶ Page ──typeset──▶
one WeasyPrint layout, from which every edition, sample and preview page is written.

:func:`render` is that chain, the only one: the build, the preview and the shop's samples all
call it. WeasyPrint is imported only when something is rendered, so that a build with nothing
to do never pays for the import.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from press.core import provenance
from press.model import Body, Briefing
from press.project import Project

if TYPE_CHECKING:
    from press.briefing.layout import Draft
    from press.render.typeset import Typeset


@dataclass
class Rendered:
    """One briefing laid out once: its body, the layout, and the PDF identifier to write it
    with."""

    body: Body
    laid_out: Typeset
    ident: str


def convert(project: Project, briefing: Briefing) -> Body:
    """Markdown → sanitised HTML body (raises ``ContentError`` at the author's line)."""
    from press.briefing import markdown

    return markdown.convert(briefing, project.root)


def draft_of(briefing: Briefing, build_date: str = "") -> Draft:
    """The watermark and footer of a draft edition: build date and source revision."""
    from press.briefing.layout import Draft

    return Draft(build_date or provenance.build_date(), provenance.revision(briefing.path))


def render(project: Project, briefing: Briefing, body: Body | None = None,
           draft: Draft | None = None) -> Rendered:
    """Lay the briefing out once (``body``: already converted; ``draft``: the draft edition)."""
    from press.briefing import layout
    from press.render import typeset  # WeasyPrint

    body = body if body is not None else convert(project, briefing)
    laid_out = typeset.render(layout.page(project, briefing, body, draft), project.root)
    ident = f"{briefing.slug}/draft" if draft else f"{briefing.series.id}/{briefing.slug}"
    return Rendered(body, laid_out, ident)
