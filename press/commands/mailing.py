"""``build.py mailing``: the command line of press.products.mailing."""

from __future__ import annotations

from argparse import Namespace

from press.commands.report import Say, print_problems
from press.errors import ContentError, Problems, UsageError
from press.project import Project


def command(project: Project, args: Namespace, say: Say) -> int:
    """``build.py mailing ID``: 0 built, 1 content errors (nothing written), 2 usage."""
    from press.products.mailing import BATCH, MAX_RECIPIENTS, build_mailing

    ids = list(getattr(args, "slugs", None) or [])
    if len(ids) != 1:
        known = sorted(p.stem for p in project.mailings_dir.glob("*.yaml"))
        raise UsageError("'mailing' needs exactly one ID"
                         + (f" (known: {', '.join(known)})" if known else
                            " (add content/mailings/ID.yaml)"))
    warnings = Problems()
    try:
        limit = getattr(args, "max_recipients", None) or MAX_RECIPIENTS
        batch = getattr(args, "batch", None) or BATCH
        if limit < 1 or batch < 1:
            raise UsageError("--max-recipients and --batch take a number of at least 1")
        folder, summary = build_mailing(project, ids[0], say, warnings,
                                        jobs=getattr(args, "jobs", 0) or 0, batch=batch,
                                        limit=limit)
    except ContentError as exc:
        print_problems(project, [*warnings.items, *exc.problems],
                       outcome=f"mailing {ids[0]}: nothing written")
        return 1
    print_problems(project, warnings.items)
    say(f"mailing: {folder.relative_to(project.root)}/ — {summary}")
    return 0


__all__ = ["command"]
