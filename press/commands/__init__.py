"""Commands: ``build.py``'s command line; parses arguments and runs one verb module.

Exit 0 ok, 1 content errors, 2 usage.
"""

from __future__ import annotations

import argparse
import errno
import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from press.core import runtime
from press.errors import PressError, UsageError
from press.project import BRIEFING_EDITIONS, Project

if TYPE_CHECKING:
    from press.commands.report import Verb

COMMANDS = ["all", "briefing", "check", "bundle", "mailing", "evaluation", "review", "web",
            "preview"]
DESCRIPTION = """\
Build Performance Pointers briefings from content/ into output/.

  python build.py                         build everything: briefings, bundles, web shop
  python build.py briefing SLUG [SLUG...] build some briefings
  python build.py check                   validate all content without rendering
  python build.py bundle [ID...]          assemble series bundles (content/bundles/)
  python build.py mailing ID              make the mailing pack content/mailings/ID.yaml
  python build.py evaluation ID           count the feedback in content/evaluations/ID/
  python build.py review SLUG --round R   review pack for the round content/reviews/SLUG/R.yaml
  python build.py review SLUG --round R --collect   comments returned, at the source lines
  python build.py web [--changes]         build the web shop folder / list what to upload
  python build.py web --mark-published    after uploading: remember what was uploaded
  python build.py web --publish REMOTE    upload the changes with rclone, verify, then mark
  python build.py preview [SLUG]          live preview of the typeset pages on 127.0.0.1

Editions: output/web/<slug>.pdf (tagged, RGB), output/print/<slug>.pdf (PDF/X-4, bleed,
crop marks, CMYK) with <slug>.preflight.json, output/drafts/<slug>.pdf (watermarked).
"""


def _parser() -> argparse.ArgumentParser:
    # build.py, python -m press and the console script briefing-press share one parser
    prog = "briefing-press" if Path(sys.argv[0]).name == "briefing-press" else "build.py"
    parser = argparse.ArgumentParser(prog=prog, description=DESCRIPTION,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", nargs="?", default="all",
                        choices=COMMANDS, help="what to do (default: all)")
    parser.add_argument("slugs", nargs="*",
                        help="briefing slugs (file names without .md), bundle or mailing ids")
    parser.add_argument("--project", type=Path, default=None,
                        help="project folder (default: the one holding build.py)")
    parser.add_argument("--edition", choices=[*BRIEFING_EDITIONS, "all"], default="all",
                        help="which edition(s) to build (default: all)")
    parser.add_argument("--drafts", action="store_true",
                        help="also build watermarked drafts of final briefings, for review")
    parser.add_argument("-j", "--jobs", type=int, default=0,
                        help="worker processes (default: number of cores)")
    parser.add_argument("--max-recipients", type=int, default=None, metavar="N",
                        help="mailing: the most recipients a mailing may have (default 2,000)")
    parser.add_argument("--batch", type=int, default=None, metavar="N",
                        help="mailing: letters and forms a worker task (default 100; the "
                        "output is the same)")
    parser.add_argument("--force", action="store_true",
                        help="rebuild everything, ignoring the build cache")
    parser.add_argument("--changes", action="store_true",
                        help="web: list files that differ from the last published catalogue")
    parser.add_argument("--mark-published", action="store_true",
                        help="web: record output/upload as uploaded (what --changes compares with)")
    parser.add_argument("--publish", metavar="REMOTE",
                        help="web: upload the changes to an rclone remote (e.g. site:shop/), "
                             "read each file back, and mark published when all match")
    parser.add_argument("--round", metavar="NAME", help="review: the round (content/reviews/)")
    parser.add_argument("--collect", action="store_true",
                        help="review: read the returned drafts, write the comments")
    parser.add_argument("--port", type=int, default=8000, help="preview: port (default 8000)")
    parser.add_argument("--timings", type=Path, metavar="FILE",
                        help="write the wall time of each stage to FILE as JSON (bench/)")
    parser.add_argument("--debug", action="store_true", help="show tracebacks and debug logs")
    parser.add_argument("-q", "--quiet", action="store_true", help="only print problems")
    return parser


def cli(default_project: Path | None = None) -> NoReturn:
    """The command line (``build.py``, ``python -m press``): :func:`main`, then exit with its
    code."""
    code = main(default_project=default_project)
    runtime.before_exit()
    sys.exit(code)


def main(argv: list[str] | None = None, default_project: Path | None = None) -> int:
    """Run one command; ``default_project`` is used without ``--project`` (``build.py`` passes
    its own folder; otherwise the current directory)."""
    runtime.tune()
    parser = _parser()
    try:
        args = parser.parse_args(argv)
        if args.project is None:
            args.project = default_project or Path.cwd()
    except SystemExit as exc:  # argparse exits 2 on usage errors, 0 on --help
        return int(exc.code or 0)
    logging.basicConfig(level=logging.DEBUG if args.debug else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    if not args.debug:
        # pypdf logs the repairs it makes to a damaged file; where the press reads a file from
        # outside (returns, inserts) they become that file's problem (untrusted.
        # library_messages), elsewhere the PDFs are the press's own: shown with --debug only
        logging.getLogger("pypdf").setLevel(logging.ERROR)
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
    except OSError as exc:  # the one place: a read-only or full output/, a name too long, ...
        if args.debug:
            raise
        print(f"build.py: {os_message(exc)}", file=sys.stderr)
        return 1


_OS_HINTS = {
    errno.EROFS: "the disk is mounted read-only: build into a copy of the project elsewhere",
    errno.EACCES: "you may not write there: check the folder's permissions (ls -ld output)",
    errno.EPERM: "you may not write there: check the folder's permissions (ls -ld output)",
    errno.ENOSPC: "the disk is full: free some space and build again (files already built "
                  "were not changed: every output is written whole or not at all)",
    errno.EDQUOT: "your disk quota is used up: free some space and build again",
    errno.ENAMETOOLONG: "a file or folder name is over 255 bytes: shorten it",
    errno.EMFILE: "too many open files: build with fewer workers (-j 2)",
    errno.EIO: "the disk reported an error: check it, then build again",
}


def os_message(exc: OSError) -> str:
    """One line for an operating-system error: what failed, on which file, and what to do."""
    where = f": {exc.filename}" if exc.filename else ""
    reason = exc.strerror or str(exc)
    hint = _OS_HINTS.get(exc.errno, "") if exc.errno is not None else ""
    return f"{reason}{where}" + (f" ({hint})" if hint else "")


def _run(args: argparse.Namespace) -> int:
    project = Project.at(args.project)
    if not project.content.is_dir():
        raise UsageError(f"{project.root} has no content/ folder (use --project)")
    if args.command == "briefing" and not args.slugs:
        raise UsageError("'briefing' needs at least one SLUG")
    if args.command == "all" and args.slugs:
        raise UsageError("to build some briefings, use: build.py briefing SLUG...")
    say = (lambda *a: None) if args.quiet else print
    return _verb(args.command).command(project, args, say)


def _verb(command: str) -> Verb:
    """The module of a verb, imported only when it runs (a no-op build imports no WeasyPrint)."""
    if command in ("all", "briefing"):
        from press.commands import build
        return build
    if command == "check":
        from press.commands import check
        return check
    if command == "bundle":
        from press.commands import bundle
        return bundle
    if command == "mailing":
        from press.commands import mailing
        return mailing
    if command == "evaluation":
        from press.commands import evaluation
        return evaluation
    if command == "review":
        from press.commands import review
        return review
    if command == "web":
        from press.commands import web
        return web
    from press.commands import preview
    return preview
