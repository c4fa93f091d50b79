"""``build.py`` and ``build.py briefing SLUG...``: build briefings, then (for the whole
series) its bundles and the web shop folder."""

from __future__ import annotations

from press.build.pipeline import EDITIONS, Options, Result, build
from press.commands import report
from press.commands.progress import Progress
from press.core import output
from press.errors import Problems
from press.project import Project


def command(project: Project, args, say) -> int:
    problems = Problems()
    editions = EDITIONS if args.edition == "all" else (args.edition,)
    options = Options(editions=editions, drafts_of_final=args.drafts)
    progress = Progress(enabled=False if args.quiet else None, say=say)
    output.clean_partials(project.output)  # leftovers of a build that was killed
    try:
        results = build(project, args.slugs or None, options, problems, jobs=args.jobs,
                        force=args.force, progress=progress)
    finally:
        progress.close()
    for result in results:
        _report_result(project, result, say)
    _report(project, problems, results)
    failed = problems.errors or any(not r.ok for r in results)
    built = sum(1 for r in results if r.ok)
    fresh = sum(1 for r in results if r.cached)
    say(f"built {built} of {len(results)} briefings" + (" — with errors" if failed else "")
        + (f" ({fresh} already up to date)" if fresh else "") + f" in {progress.elapsed:.1f} s")
    if args.command == "all":
        failed = _after_briefings(project, args, results, say) or failed
    return 1 if failed else 0


def _after_briefings(project: Project, args, results: list[Result], say) -> bool:
    """The products made from a full build's briefings, bundles first (from the briefings
    just built, none rendered again), the web shop folder last (it packages them all);
    returns True if any of them failed."""
    from press.commands import bundle, web

    failed = bundle.after_build(project, results, say, force=args.force)
    shop_problems = web.after_build(project, args, results, say, blocked=failed)
    report.print_problems(project, shop_problems.items)
    return bool(shop_problems.errors) or failed


def _report_result(project: Project, result: Result, say) -> None:
    for note in result.notes:
        say(f"note: {note}")
    if result.cached:
        return
    for edition, path in sorted(result.outputs.items()):
        say(f"{edition:>6}: {path.relative_to(project.root)} ({result.pages[edition]} pages)")
    if result.preflight:
        from press.render import preflight  # pypdf: only imported when there is a report to show

        say(f"        {preflight.summary(result.preflight)}")


def _report(project: Project, problems: Problems, results: list[Result]) -> None:
    """The problems of a run and of each briefing's result."""
    items = list(problems.items)
    for result in results:
        items.extend(result.warnings)
        items.extend(result.problems)
    report.print_problems(project, items)
