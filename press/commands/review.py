"""``build.py review``: the command line of press.products.review."""

from __future__ import annotations

from argparse import Namespace

from press.commands import report
from press.commands.report import Say
from press.errors import ContentError, UsageError
from press.project import Project


def command(project: Project, args: Namespace, say: Say) -> int:
    """``build.py review SLUG --round NAME [--collect]``: 0 done, 1 problems (with
    ``--collect`` the comments are still written from the returns that could be read)."""
    from press.products.review import collect, make_pack

    slugs = list(getattr(args, "slugs", None) or [])
    round_name = getattr(args, "round", None)
    if len(slugs) != 1 or not round_name:
        raise UsageError("'review' needs one briefing SLUG and --round NAME")
    try:
        done = (collect if getattr(args, "collect", False) else make_pack)(
            project, slugs[0], round_name)
    except ContentError as exc:
        report.print_problems(project, exc.problems, "nothing written")
        return 1
    errors = report.print_problems(project, done.problems, "see the summary")
    say(f"review: {done.folder.relative_to(project.root)}/ — {done.summary}")
    return 1 if errors else 0
