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
from typing import TYPE_CHECKING

from press.errors import ContentError, Problem, Problems
from press.model import Briefing
from press.project import Project

if TYPE_CHECKING:
    from press.products.review.digest import Item
    from press.products.review.edition import ReviewMap
    from press.products.review.returns import Return
    from press.products.review.round import Reviewer


@dataclass
class Done:
    folder: Path
    summary: str
    problems: list[Problem]


def _briefing(project: Project, slug: str) -> tuple[Briefing, Problems]:
    from press.content.load import load_all

    problems = Problems()
    _, briefings = load_all(project, problems, [slug])
    problems.raise_if_errors()
    if not briefings:
        raise ContentError(problems.items or [Problem(project.briefings_dir, None,
                                                      f"no briefing '{slug}'")])
    return briefings[0], problems


def make_pack(project: Project, slug: str, round_name: str, date: str = "") -> Done:
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


def collect(project: Project, slug: str, round_name: str) -> Done:
    """Read the returns of round ``round_name`` and write its comments."""
    from press.core import output
    from press.products.review import digest
    from press.products.review.place import Placed, place
    from press.products.review.returns import quote_marked, read_returns, skip_notes
    from press.products.review.round import load_round

    briefing, problems = _briefing(project, slug)
    round_ = load_round(project, slug, round_name)
    folder = project.review_folder(slug, round_.name)
    current = briefing.path.read_text("utf-8").split("\n")
    source = f"content/briefings/{briefing.path.name}"
    returns_dir = project.reviews_dir / slug / round_.name
    refused_before = len(problems.items)
    returns = read_returns(returns_dir, problems)
    refused = [p.format(project.root) for p in problems.items[refused_before:]]
    maps: dict[str, ReviewMap | None] = {}
    items: list[Item] = []
    returned: dict[str, list[str]] = {}
    flattened: list[str] = []
    by_key = {r.key: r for r in round_.reviewers}
    for got in returns:
        if not got.comments:
            flattened.append(got.path.name)
            problems.warn(got.path, None, "no comments in it: flattened, or printed to PDF?",
                          "ask the reviewer to save the PDF from their reader instead")
            continue
        name = got.round or round_.name
        if name not in maps:
            maps[name] = _load_map(project.review_folder(slug, name))
        mapping = maps[name]
        reviewer = _reviewer(got, by_key)
        returned.setdefault(reviewer, []).append(got.path.name)
        if mapping is not None:
            skip_notes(got, len(mapping["pages"]))
        quote_marked(got)
        for item in _threads(got, reviewer, name):
            if mapping is None:
                item.placed = Placed(None, f"round {name} has no map (make its pack here: "
                                           f"build.py review {slug} --round {name})")
            else:
                item.placed = place(item.comment, mapping, current)
            items.append(item)
    heads = digest.sections(current, briefing.body_line)
    title = f"{briefing.indicator.code}: {briefing.title}"
    missing = [r.name for r in round_.reviewers if r.name not in returned]
    if not returns_dir.is_dir():
        problems.warn(returns_dir, None, "no returns yet", "put the returned PDFs in this folder")
    output.write_text(folder / "comments.md",
                      digest.comments_md(title, round_.name, source, items, heads))
    output.write_text(folder / "comments.csv", digest.comments_csv(source, items, heads))
    try:
        output.write_bytes(folder / "comments.pdf", digest.comments_pdf(
            project, title, round_.name, source, items, heads))
    except ContentError as exc:
        # reviewers' text may hold what the house fonts cannot set (an emoji): the digest
        # is left out, the comments are all in comments.md and comments.csv
        (folder / "comments.pdf").unlink(missing_ok=True)
        problems.warn(folder / "comments.pdf", None, "not written: " + "; ".join(
            p.message for p in exc.problems), "the comments are in comments.md and .csv")
    output.write_text(folder / "summary.md", digest.summary_md(
        title, round_.name, returned, missing, items, refused, flattened))
    placed = sum(1 for i in items if i.placed.line)
    summary = (f"{len(items)} comments ({placed} placed) from {len(returned)} of "
               f"{len(round_.reviewers)} reviewers")
    return Done(folder, summary, problems.items)


def _load_map(folder: Path) -> ReviewMap | None:
    import json

    try:
        mapping: ReviewMap = json.loads((folder / "map.json").read_text("utf-8"))  # ours
        return mapping
    except (OSError, ValueError):
        return None


def _reviewer(got: Return, by_key: dict[str, Reviewer]) -> str:
    """Who returned ``got``: the pack's identity, else the file name, else the comments'
    author, else the file name itself."""
    if got.reviewer_key in by_key:
        return by_key[got.reviewer_key].name
    stem = got.path.stem.casefold()
    for key, reviewer in by_key.items():
        if key in stem:
            return reviewer.name
    authors = {c.author.casefold() for c in got.comments if c.author}
    for reviewer in by_key.values():
        if reviewer.name.casefold() in authors:
            return reviewer.name
    return f"unknown ({got.path.name})"


def _threads(got: Return, reviewer: str, round_name: str) -> list[Item]:
    """The comments of one return as threads: a replacement's strike-out and caret become one
    comment (whichever of the two a reader made the group's head); a reply goes under the
    comment it answers."""
    from press.products.review.digest import Item
    from press.products.review.place import Placed

    by_ident = {c.ident: Item(c, Placed(None), c.author or reviewer, round_name)
                for c in got.comments}
    absorbed: dict[str, str] = {}  # a merged caret's ident → its strike-out's
    for comment in got.comments:
        head = by_ident.get(comment.reply_to)
        if head is None or not comment.group:
            continue
        pair = {comment.kind: by_ident[comment.ident], head.comment.kind: head}
        if set(pair) == {"strike-out", "insert"}:
            strike, caret = pair["strike-out"], pair["insert"]
            strike.comment.kind = "replacement"
            strike.replacement = caret.comment.text
            strike.comment.reply_to, strike.comment.group = "", False
            absorbed[caret.comment.ident] = strike.comment.ident
    roots: list[Item] = []
    for comment in got.comments:
        if comment.ident in absorbed:
            continue
        item = by_ident[comment.ident]
        target = absorbed.get(comment.reply_to, comment.reply_to)
        parent = by_ident.get(target) if target != comment.ident else None
        if parent is None:
            roots.append(item)
            continue
        seen = {comment.ident}
        while parent.comment.reply_to and parent.comment.ident not in seen:
            seen.add(parent.comment.ident)  # a reply to a reply joins the first comment
            up = absorbed.get(parent.comment.reply_to, parent.comment.reply_to)
            if up not in by_ident:
                break
            parent = by_ident[up]
        parent.replies.append(item)
    return roots
