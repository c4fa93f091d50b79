"""Review stage: a draft briefing → a review pack for its advisory group, and the comments
they return → the author's source lines.

``build.py review SLUG --round NAME`` reads ``content/reviews/<slug>/<round>.yaml``
(:mod:`.round`), lays out the review edition with source line numbers and records the map
from each laid-out line to the source (:mod:`.lines`, :mod:`.edition`), and writes a pack per
reviewer (:mod:`.pack`). ``--collect`` reads the returned PDFs in
``content/reviews/<slug>/<round>/`` as untrusted input (:mod:`.returns`), places each comment
through the round's map (:mod:`.place`) and writes the comments (:mod:`.digest`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from press.errors import ContentError, Problem, Problems


@dataclass
class Done:
    folder: Path
    summary: str
    problems: list[Problem]


def _briefing(project, slug: str):
    from press.content.load import load_all

    problems = Problems()
    _, briefings = load_all(project, problems, [slug])
    problems.raise_if_errors()
    if not briefings:
        raise ContentError(problems.items or [Problem(project.briefings_dir, None,
                                                      f"no briefing '{slug}'")])
    return briefings[0], problems


def make_pack(project, slug: str, round_name: str, date: str = "") -> Done:
    """Write the review pack of round ``round_name`` of briefing ``slug``."""
    from press.briefing import convert
    from press.core import provenance
    from press.products.review import edition, pack
    from press.products.review.round import load_round

    briefing, problems = _briefing(project, slug)
    round_ = load_round(project, slug, round_name)
    band = edition.Band(round_.name, date or provenance.build_date(),
                        provenance.revision(briefing.path))
    made = edition.make(project, briefing, convert(project, briefing), band)
    pack.write_pack(project, briefing, round_, made, band)
    folder = project.review_folder(slug, round_.name)
    summary = (f"{made.pages} pages, {len(made.map['boxes'])} lines mapped, a pack for each of "
               f"{len(round_.reviewers)} reviewers")
    return Done(folder, summary, problems.items)


def collect(project, slug: str, round_name: str) -> Done:
    raise ContentError.at(project.reviews_dir, None, "not yet")
