"""Command line: parse arguments, call the stages, report. Exit 0 ok, 1 content errors, 2 usage."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from press.build.pipeline import EDITIONS, Options, Result, build
from press.commands import report
from press.commands.progress import Progress
from press.content.load import load_all
from press.core import output
from press.errors import PressError, Problems, UsageError
from press.project import Project

COMMANDS = ["all", "briefing", "check", "bundle", "mailing", "evaluation", "web", "preview"]
DESCRIPTION = """\
Build Performance Pointers briefings from content/ into output/.

  python build.py                         build everything: briefings, bundles, web shop
  python build.py briefing SLUG [SLUG...] build some briefings
  python build.py check                   validate all content without rendering
  python build.py bundle [ID...]          assemble series bundles (content/bundles/)
  python build.py mailing ID              make the mailing pack content/mailings/ID.yaml
  python build.py evaluation ID           count the feedback in content/evaluations/ID/
  python build.py web [--changes]         build the web shop folder / list what to upload
  python build.py web --mark-published    after uploading: remember what was uploaded
  python build.py preview [SLUG]          live preview of the typeset pages on 127.0.0.1

Editions: output/web/<slug>.pdf (tagged, RGB), output/print/<slug>.pdf (PDF/X-4, bleed,
crop marks, CMYK) with <slug>.preflight.json, output/drafts/<slug>.pdf (watermarked).
"""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="build.py", description=DESCRIPTION,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", nargs="?", default="all",
                        choices=COMMANDS, help="what to do (default: all)")
    parser.add_argument("slugs", nargs="*",
                        help="briefing slugs (file names without .md), bundle or mailing ids")
    parser.add_argument("--project", type=Path, default=None,
                        help="project folder (default: the one holding build.py)")
    parser.add_argument("--edition", choices=[*EDITIONS, "all"], default="all",
                        help="which edition(s) to build (default: all)")
    parser.add_argument("--drafts", action="store_true",
                        help="also build watermarked drafts of final briefings, for review")
    parser.add_argument("-j", "--jobs", type=int, default=0,
                        help="worker processes (default: number of cores)")
    parser.add_argument("--force", action="store_true",
                        help="rebuild everything, ignoring the build cache")
    parser.add_argument("--changes", action="store_true",
                        help="web: list files that differ from the last published catalogue")
    parser.add_argument("--mark-published", action="store_true",
                        help="web: record output/web as uploaded (what --changes compares with)")
    parser.add_argument("--port", type=int, default=8000, help="preview: port (default 8000)")
    parser.add_argument("--debug", action="store_true", help="show tracebacks and debug logs")
    parser.add_argument("-q", "--quiet", action="store_true", help="only print problems")
    return parser


def main(argv: list[str] | None = None, default_project: Path | None = None) -> int:
    """Run one command; ``default_project`` is used without ``--project`` (``build.py`` passes
    its own folder; otherwise the current directory)."""
    parser = _parser()
    try:
        args = parser.parse_args(argv)
        if args.project is None:
            args.project = default_project or Path.cwd()
    except SystemExit as exc:  # argparse exits 2 on usage errors, 0 on --help
        return int(exc.code or 0)
    logging.basicConfig(level=logging.DEBUG if args.debug else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        return _run(args)
    except UsageError as exc:
        print(f"build.py: {exc}", file=sys.stderr)
        return 2
    except PressError as exc:
        if args.debug:
            raise
        print(str(exc), file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # Ctrl+C: workers stop too; finished briefings stay cached
        if args.debug:
            raise
        print("build.py: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into `head` and closed early: not an error of ours
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def _run(args) -> int:
    project = Project.at(args.project)
    if not project.content.is_dir():
        raise UsageError(f"{project.root} has no content/ folder (use --project)")
    if args.command == "briefing" and not args.slugs:
        raise UsageError("'briefing' needs at least one SLUG")
    if args.command == "all" and args.slugs:
        raise UsageError("to build some briefings, use: build.py briefing SLUG...")
    problems = Problems()
    say = (lambda *a: None) if args.quiet else print
    if args.command in ("bundle", "mailing", "evaluation", "web", "preview"):
        return _stage_command(project, args, say)
    if args.command == "check":
        return _check(project, problems, say)
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


def _check(project: Project, problems: Problems, say) -> int:
    """Validate every briefing (front matter and Markdown), bundle and mailing; render nothing."""
    from press.briefing import markdown
    from press.products import bundles as assemble
    from press.products import mailing

    series, briefings = load_all(project, problems)
    for briefing in briefings:
        try:
            problems.extend(markdown.convert(briefing, project.root).warnings)
        except PressError as exc:
            problems.extend(exc.problems)
    by_slug = {b.slug: b for b in briefings}
    bundles = sorted(project.bundles_dir.glob("*.yaml"))
    mailings = sorted(project.mailings_dir.glob("*.yaml"))
    for path in bundles:
        try:
            assemble.load_bundle(project, path, series, by_slug)
        except PressError as exc:
            problems.extend(exc.problems)
    for path in mailings:
        try:
            mailing.load_mailing(project, path.stem)
        except PressError as exc:
            problems.extend(exc.problems)
    _report(project, problems, [])
    if not problems.errors:
        counts = [(len(briefings), "briefing"), (len(bundles), "bundle"),
                  (len(mailings), "mailing")]
        say("check: " + ", ".join(f"{n} {word}{'' if n == 1 else 's'}" for n, word in counts)
            + " OK")
    return 1 if problems.errors else 0


def _after_briefings(project: Project, args, results: list[Result], say) -> bool:
    """The stages that follow a full build; returns True if any of them failed."""
    failed = False
    from press.products import (
        bundles as assemble,  # every bundle, from the briefings just built (none re-rendered)
    )
    failed = assemble.after_build(project, results, say, force=args.force) or failed
    # bundles (press.assemble) and the web shop package (press.shop) hook in here
    from press.products import (
        shop,  # last: the web shop folder packages what the stages above built
    )

    shop_problems = shop.after_build(project, args, results, say, blocked=failed)
    _report(project, shop_problems, [])
    failed = bool(shop_problems.errors) or failed
    return failed


def _stage_command(project: Project, args, say) -> int:
    """Commands owned by a later stage module: ``press.<module>.command(project, args, say)``."""
    if args.command == "bundle":
        from press.commands import bundle as module
    elif args.command == "mailing":
        from press.commands import mailing as module
    elif args.command == "evaluation":
        from press.commands import evaluation as module
    elif args.command == "web":
        from press.commands import web as module
    else:
        from press.commands import preview as module
    return module.command(project, args, say)


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
