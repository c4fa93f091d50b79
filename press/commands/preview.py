"""``build.py preview``: the command line of press.preview (arguments and what is printed)."""

from __future__ import annotations

from argparse import Namespace

from press import preview
from press.commands.report import Say, print_problems
from press.errors import ContentError, Problem, UsageError, did_you_mean
from press.project import Project


def command(project: Project, args: Namespace, say: Say) -> int:
    """``build.py preview [SLUG...] [--port N]``: serve until Ctrl+C."""
    slugs = list(getattr(args, "slugs", None) or [])
    known = [p.stem for p in project.briefing_paths()]
    unknown = [s for s in slugs if s not in known]
    if unknown:
        raise ContentError([Problem(project.briefings_dir / f"{s}.md", None, f"no briefing '{s}'",
                                    did_you_mean(s, known)) for s in unknown])
    port = getattr(args, "port", 8000)
    try:
        server = preview.start(project, port, slugs or None, report=say,
                               failed=lambda slug, problems: print_problems(
                                   project, problems, outcome=f"{slug}: not built"))
    except OSError as exc:
        raise UsageError(f"cannot listen on {preview.HOST}:{port}: {exc.strerror or exc} "
                         f"(is another preview running? try --port {port + 1})") from None
    page = f"b/{slugs[0]}/" if len(slugs) == 1 else ""
    say(f"Preview: {server.url}{page}  (open it in your browser; Ctrl+C to stop)")
    say("Watching content/, layouts/ and assets/; pages update when you save.")
    try:
        while not server.preview.stopping.wait(1.0):
            pass
    except KeyboardInterrupt:
        say("\nstopping the preview")
    finally:
        server.close(timeout=0.5)  # a build in progress is abandoned; its writes are atomic
    return 0


__all__ = ["command"]
