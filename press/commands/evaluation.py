"""``build.py evaluation``: the command line of press.products.evaluation."""

from __future__ import annotations

from argparse import Namespace

from press.commands import report
from press.commands.report import Say
from press.errors import ContentError, UsageError
from press.project import Project


def command(project: Project, args: Namespace, say: Say) -> int:
    """``build.py evaluation ID``: 0 all returns used, 1 some left out (the report is still
    written) or the mailing cannot be read, 2 usage."""
    from press.products.evaluation import build_evaluation

    ids = list(getattr(args, "slugs", None) or [])
    if len(ids) != 1:
        known = sorted(p.name for p in project.evaluations_dir.glob("*") if p.is_dir())
        raise UsageError("'evaluation' needs exactly one mailing ID"
                         + (f" (returns for: {', '.join(known)})" if known else ""))
    try:
        done = build_evaluation(project, ids[0])
    except ContentError as exc:
        report.print_problems(project, exc.problems, "nothing written")
        return 1
    errors = report.print_problems(project, done.problems,
                                   f"{report.plural(done.left_out, 'return')} left out")
    say(f"evaluation: {done.folder.relative_to(project.root)}/ — {done.summary}")
    return 1 if errors else 0
