"""``build.py check``: validate every briefing, bundle and mailing without rendering."""

from __future__ import annotations

import datetime as dt
from argparse import Namespace
from dataclasses import replace
from pathlib import Path

from press.commands import report
from press.commands.report import Say
from press.content.load import load_all
from press.errors import ContentError, Problem, Problems
from press.project import Project


def command(project: Project, args: Namespace, say: Say) -> int:
    """Validate every briefing (front matter and Markdown), bundle and mailing; render nothing."""
    from press.briefing import markdown
    from press.products import bundles, mailing

    problems = Problems()
    series, briefings = load_all(project, problems)
    for briefing in briefings:
        try:
            problems.extend(markdown.convert(briefing, project.root).warnings)
        except ContentError as exc:
            problems.extend(exc.problems)
    by_slug = {b.slug: b for b in briefings}
    bundle_files = project.bundle_paths()
    mailings = sorted(project.mailings_dir.glob("*.yaml"))
    for path in bundle_files:
        try:
            problems.extend(bundles.load_bundle(project, path, series, by_slug).warnings)
        except ContentError as exc:
            problems.extend(exc.problems)
    for path in mailings:
        try:
            mailing.load_mailing(project, path.stem)
        except ContentError as exc:
            problems.extend(_history(project, path, exc.problems))
    report.print_problems(project, problems.items)
    if not problems.errors:
        counts = [(len(briefings), "briefing"), (len(bundle_files), "bundle"),
                  (len(mailings), "mailing")]
        say("check: " + ", ".join(report.plural(n, word) for n, word in counts) + " OK")
    return 1 if problems.errors else 0




WITHDRAWN = ("unknown briefing '", "unknown bundle '")


def _history(project: Project, path: Path, found: list[Problem]) -> list[Problem]:
    """A past mailing (dated before today, or already made) that names a product withdrawn
    since is history, not a mistake to fix: a warning, so ``check`` can pass again."""
    if not any(p.message.startswith(WITHDRAWN) for p in found) or not _past(project, path):
        return found
    return [replace(p, severity="warning", hint="withdrawn since this past mailing was sent; "
                    "nothing to do unless it is sent again") if p.message.startswith(WITHDRAWN)
            else p for p in found]


def _past(project: Project, path: Path) -> bool:
    from press.content.load import read_text
    from press.core import yamlsafe

    if project.mailing_folder(path.stem).is_dir():
        return True
    try:
        data, _ = yamlsafe.load(read_text(path), path)
    except ContentError:
        return False
    date = data.get("date") if isinstance(data, dict) else None
    try:  # a date, or its text (the safe loader may keep dates as strings)
        date = date if isinstance(date, dt.date) else dt.date.fromisoformat(str(date))
    except ValueError:
        return False
    if isinstance(date, dt.datetime):
        date = date.date()
    return date < dt.date.today()
