"""``build.py check``: validate every briefing, bundle and mailing without rendering."""

from __future__ import annotations

from press.commands import report
from press.content.load import load_all
from press.errors import PressError, Problems
from press.project import Project


def command(project: Project, args, say) -> int:
    """Validate every briefing (front matter and Markdown), bundle and mailing; render nothing."""
    from press.briefing import markdown
    from press.products import bundles, mailing

    problems = Problems()
    series, briefings = load_all(project, problems)
    for briefing in briefings:
        try:
            problems.extend(markdown.convert(briefing, project.root).warnings)
        except PressError as exc:
            problems.extend(exc.problems)
    by_slug = {b.slug: b for b in briefings}
    bundle_files = project.bundle_paths()
    mailings = sorted(project.mailings_dir.glob("*.yaml"))
    for path in bundle_files:
        try:
            bundles.load_bundle(project, path, series, by_slug)
        except PressError as exc:
            problems.extend(exc.problems)
    for path in mailings:
        try:
            mailing.load_mailing(project, path.stem)
        except PressError as exc:
            problems.extend(exc.problems)
    report.print_problems(project, problems.items)
    if not problems.errors:
        counts = [(len(briefings), "briefing"), (len(bundle_files), "bundle"),
                  (len(mailings), "mailing")]
        say("check: " + ", ".join(report.plural(n, word) for n, word in counts) + " OK")
    return 1 if problems.errors else 0


