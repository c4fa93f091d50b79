"""Review stage: a round file ``content/reviews/<slug>/<round>.yaml`` → the round (its
reviewers, deadline and questions to the group)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

from press.core import fields, yamlsafe
from press.errors import ContentError, Problems, did_you_mean
from press.project import Project

ROUND_FIELDS = {"reviewers", "deadline", "questions", "note"}
REVIEWER_FIELDS = {"name", "organisation", "email"}
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,60}$")
MAX_ROUND_BYTES = 64 * 1024


@dataclass(frozen=True)
class Reviewer:
    key: str  # from the name: "Jo Bloggs" → "jo-bloggs" (the pack's file name)
    name: str
    organisation: str
    email: str


@dataclass(frozen=True)
class Round:
    slug: str
    name: str
    path: Path
    reviewers: tuple[Reviewer, ...]
    deadline: str = ""
    questions: tuple[str, ...] = ()
    note: str = ""


def key_of(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.casefold()).strip("-")[:60] or "reviewer"


def rounds_of(project: Project, slug: str) -> list[str]:
    folder = project.reviews_dir / slug
    return sorted(p.stem for p in folder.glob("*.yaml")) if folder.is_dir() else []


def load_round(project: Project, slug: str, name: str) -> Round:
    """The round file, checked; raises ContentError with every problem at its line."""
    path = project.reviews_dir / slug / f"{name}.yaml"
    if not NAME_RE.match(name):
        raise ContentError.at(path, None, f"round name '{name[:60]}' is not a plain name",
                              "use lower-case letters, digits and hyphens, e.g. 'r1'")
    if not path.is_file():
        known = rounds_of(project, slug)
        raise ContentError.at(path, None, f"no round '{name}' for '{slug}'",
                              did_you_mean(name, known) if known else
                              f"write content/reviews/{slug}/{name}.yaml (docs/authoring.md)")
    if path.stat().st_size > MAX_ROUND_BYTES:
        raise ContentError.at(path, None, "the round file is over 64 KB")
    data, lines = yamlsafe.load(path.read_text("utf-8"), path)
    problems = Problems()
    check = fields.Checker(path, lines, problems)
    data = check.top(data, ROUND_FIELDS, ["reviewers"], "a round file")
    reviewers, keys = [], set()
    for index, item in enumerate(check(fields.items, data.get("reviewers"), "reviewers") or []):
        entry = check(fields.fields, item, "reviewers", index, allowed=REVIEWER_FIELDS,
                      required=["name", "email"])
        if entry is None:
            continue
        person = check(fields.text, entry.get("name"), "reviewers", index, "name")
        email = check(fields.text, entry.get("email"), "reviewers", index, "email")
        organisation = entry.get("organisation")
        organisation = check(fields.text, organisation, "reviewers", index, "organisation") \
            if organisation is not None else ""
        if person is None or email is None:
            continue
        if "@" not in email:
            check.fail(("reviewers", index, "email"), f"'{email}' is not an e-mail address")
        key = key_of(person)
        if key in keys:
            check.fail(("reviewers", index, "name"), f"reviewer '{person}' is named twice")
        keys.add(key)
        reviewers.append(Reviewer(key, person, organisation or "", email))
    deadline = data.get("deadline")
    if isinstance(deadline, dt.date):
        deadline = deadline.isoformat()
    elif deadline is not None:
        deadline = check(fields.text, deadline, "deadline")
    questions = check(fields.text_list, data.get("questions", []), "questions") or ()
    note = check(fields.text, data["note"], "note") if data.get("note") is not None else ""
    if check.ok and not reviewers:
        check.fail(("reviewers",), "the round names no reviewers")
    problems.raise_if_errors()
    return Round(slug, name, path, tuple(reviewers), deadline or "", tuple(questions),
                 note or "")
