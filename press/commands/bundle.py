"""Bundle command: ``build.py bundle [ID...]`` and the bundles of a full build, reported."""

from __future__ import annotations

from argparse import Namespace

from press.build.pipeline import Result
from press.commands.report import Say, print_problems
from press.errors import Problems
from press.products import bundles
from press.products.bundles import withdrawn
from press.project import Project


def command(project: Project, args: Namespace, say: Say) -> int:
    """``build.py bundle [ID...] [--force]``."""
    problems = Problems()
    done = bundles.assemble_all(project, list(args.slugs) or None, problems,
                                force=getattr(args, "force", False))
    withdraw(project, say)
    report(project, done, say)
    if not done and not problems.items and not project.bundle_paths():
        say("no bundles in content/bundles/")
    print_problems(project, problems.items)
    made = sum(1 for item in done if not item.fresh)
    say(f"assembled {made} bundle{'s' if made != 1 else ''}"
        + (f" ({len(done) - made} up to date)" if len(done) > made else "")
        + (" — with errors" if problems.errors else ""))
    return 1 if problems.errors else 0


def after_build(project: Project, results: list[Result], say: Say, force: bool = False,
                early: bundles.Early | None = None) -> bool:
    """After a full build: assemble every bundle from the briefings just built (``early``:
    parts read while they were built, ``bundles.ReadAhead``); returns True if any failed."""
    done, problems = bundles.after_build(project, results, force, early)
    withdraw(project, say)
    report(project, done, say)
    print_problems(project, problems.items)
    return bool(problems.errors)


def withdraw(project: Project, say: Say) -> None:
    """Delete the outputs of bundles whose file is gone, and say so."""
    for path in withdrawn.remove(project):
        say(f"removed {path.relative_to(project.root).as_posix()}: its bundle file is gone")


def report(project: Project, done: list[bundles.Assembled], say: Say) -> None:
    for item in done:
        for slug in item.rebuilt:
            say(f"note: rebuilt {slug} for bundle {item.bundle.id}")
        if item.fresh:
            say(f"bundle {item.bundle.id}: up to date")
            continue
        for edition in bundles.EDITIONS:
            size, briefings, own = item.sizes[edition]
            say(f"{edition:>6}: {item.outputs[edition].relative_to(project.root)} "
                f"({item.pages[edition]} pages, {size // 1024} KB: {size / briefings:.2f} × its "
                f"briefings, {size / (briefings + own):.2f} × all its parts)")
