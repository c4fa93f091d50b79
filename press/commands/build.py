"""``build.py`` and ``build.py briefing SLUG...``: build briefings, then (for the whole
series) its bundles and the web shop folder."""

from __future__ import annotations

import json
import time
from argparse import Namespace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from press.build.pipeline import EDITIONS, Options, Result, build
from press.commands import report
from press.commands.progress import Progress
from press.commands.report import Say
from press.core import output
from press.errors import Problems
from press.project import Project

if TYPE_CHECKING:
    from press.products.bundles import ReadAhead


def command(project: Project, args: Namespace, say: Say) -> int:
    stages = Stages()
    problems = Problems()
    editions = EDITIONS if args.edition == "all" else (args.edition,)
    options = Options(editions=editions, drafts_of_final=args.drafts)
    progress = Progress(enabled=False if args.quiet else None, say=say)
    output.clean_partials(project.output)  # leftovers of a build that was killed
    # A full build assembles the bundles next: their unchanged briefings are read meanwhile.
    ahead = _read_ahead(project) if args.command == "all" else None
    try:
        results = build(project, args.slugs or None, options, problems, jobs=args.jobs,
                        force=args.force, progress=progress, beside=ahead)
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
    stages.done("briefings")
    if args.command == "all":
        failed = _after_briefings(project, args, results, say, stages, ahead) or failed
    if getattr(args, "timings", None):
        stages.write(args.timings)
    return 1 if failed else 0


class Stages:
    """Wall time of each stage of one command, for ``--timings FILE`` (bench/run.py)."""

    def __init__(self) -> None:
        self.started = self.last = time.perf_counter()
        self.seconds: dict[str, float] = {}

    def done(self, stage: str) -> None:
        now = time.perf_counter()
        self.seconds[stage] = round(now - self.last, 4)
        self.last = now

    def write(self, path: str | Path) -> None:
        total = round(time.perf_counter() - self.started, 4)
        Path(path).write_text(json.dumps({**self.seconds, "total": total}) + "\n",
                              encoding="utf-8")


def _read_ahead(project: Project) -> ReadAhead | None:
    """What reads the bundles' unchanged briefings while the others are built, or None if
    there are no bundles."""
    if not project.bundle_paths():
        return None
    from press.products.bundles import ReadAhead

    return ReadAhead(project)


def _after_briefings(project: Project, args: Namespace, results: list[Result], say: Say,
                     stages: Stages, ahead: ReadAhead | None = None) -> bool:
    """The products made from a full build's briefings, bundles first (from the briefings
    just built, none rendered again; ``ahead``: what was read while they were built), the web
    shop folder last (it packages them all); returns True if any of them failed."""
    from press.commands import bundle, web

    failed = bundle.after_build(project, results, say, force=args.force,
                                early=ahead.parts if ahead is not None else None)
    stages.done("bundles")
    shop_problems = web.after_build(project, args, results, say, blocked=failed)
    stages.done("shop")
    report.print_problems(project, shop_problems.items)
    return bool(shop_problems.errors) or failed


def _report_result(project: Project, result: Result, say: Say) -> None:
    for note in result.notes:
        say(f"note: {note}")
    if result.cached:
        return
    for edition, path in sorted(result.outputs.items()):
        pages = f" ({result.pages[edition]} pages)" if edition in result.pages else ""
        say(f"{edition:>6}: {path.relative_to(project.root)}{pages}")  # html, epub: no pages
    if result.preflight:
        say(f"        {preflight_summary(result.preflight)}")


def _report(project: Project, problems: Problems, results: list[Result]) -> None:
    """The problems of a run and of each briefing's result."""
    items = list(problems.items)
    for result in results:
        items.extend(result.warnings)
        items.extend(result.problems)
    report.print_problems(project, items)


def preflight_summary(report: dict[str, Any]) -> str:
    """A print edition's preflight report (``press.render.preflight.check``) in one line."""
    fonts = report["fonts"]
    embedded = sum(f["embedded"] for f in fonts)
    intent = (report["output_intent"] or {}).get("condition") or "none"
    status = "FAIL" if report["blocking"] else ("warnings" if report["warnings"] else "ok")
    return (f"preflight {status}: {report['pages']} pages (+{report.get('padding_pages', 0)} "
            f"padding), A4 trim + 3 mm bleed, fonts {embedded}/{len(fonts)} embedded, "
            f"{len(report['images'])} images, {report.get('annotations', 0)} annotations, "
            f"{report.get('multi_plate_text', 0)} multi-plate text, max ink "
            f"{report.get('max_tac', 0):g} %, output intent {intent}")
