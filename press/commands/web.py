"""Web command: ``build.py web [--changes | --mark-published]`` for press.products.shop."""

from __future__ import annotations

from argparse import Namespace

from press.build.pipeline import Result
from press.commands.report import Say, plural
from press.errors import Problems, UsageError
from press.products import shop
from press.project import Project


def command(project: Project, args: Namespace, say: Say) -> int:
    """``build.py web [--changes | --mark-published]``."""
    if args.slugs:
        raise UsageError("'web' packages every final briefing and bundle; it takes no names")
    mark = getattr(args, "mark_published", False)
    remote = getattr(args, "publish", None)
    if sum(map(bool, (mark, args.changes, remote))) > 1:
        raise UsageError("use one of --changes, --mark-published and --publish")
    if remote:
        return _publish(project, remote, say)
    if mark:
        count = shop.mark_published(project)
        snapshot = project.published_snapshot.relative_to(project.root).as_posix()
        say(f"web: marked {count} files in output/upload as published (snapshot {snapshot})")
        return 0
    if args.changes:
        return _say_changes(project, say, full=True)
    report = shop.build(project)
    _say_report(report, say)
    _say_changes(project, say, full=False)
    return 0


def after_build(project: Project, args: Namespace, results: list[Result], say: Say,
                blocked: bool = False) -> Problems:
    """The shop step of a full build, reported; returns its problems for the caller to print
    with the rest of the run's (``press.commands.report.print_problems``)."""
    step = shop.after_build(project, results, blocked=blocked,
                            with_web=args.edition in ("all", "web"))
    if step.blocked:
        say("web: output/upload shop folder not updated because of the errors above")
    elif step.report is not None:
        _say_report(step.report, say)
        _say_changes(project, say, full=False)
    return step.problems


def _say_report(report: shop.Report, say: Say) -> None:
    size = sum(f.bytes for e in report.entries for f in e.files)
    kinds = [e.product.kind for e in report.entries]
    say(f"web: output/upload ready: {plural(kinds.count('briefing'), 'briefing')}, "
        f"{plural(kinds.count('bundle'), 'bundle')}, "
        f"{sum(len(e.files) for e in report.entries)} files ({shop.human_size(size)}) in "
        f"{report.seconds:.1f} s; {plural(len(report.changed), 'file')} new or changed")
    for name in report.withdrawn:
        say(f"web: removed {name}: its bundle file is gone")
    for name in report.links:
        say(f"web: removed output/upload/{name}: a symbolic link (never followed: the folder "
            "holds only files the shop copied or made)")
    for name in report.unlisted:
        say(f"web: note: output/upload/{name} is in the folder but in no catalogue entry")
    for name, command in report.stale:
        say(f"web: note: output/web/{name} (the edition) is out of date with what it is "
            f"made from: rebuild it before uploading ({command})")


def _publish(project: Project, remote: str, say: Say) -> int:
    """``web --publish REMOTE``: 0 when every file is uploaded, verified and marked."""
    from press.products.shop import publish

    done = publish.publish(project, remote)
    for name in done.uploaded:
        say(f"uploaded {name} (read back: sha256 matches)")
    for name in done.deleted:
        say(f"deleted  {name}")
    if done.ok:
        say(f"web: published to {remote}: {plural(len(done.uploaded), 'file')} uploaded, "
            f"{len(done.deleted)} deleted, all verified; marked {done.marked} files published")
        return 0
    for name, why in done.failed:
        say(f"FAILED   {name}: {why}")
    for name in done.unverified:
        say(f"not done {name}")
    say(f"web: publish to {remote} did not finish: the release is NOT marked published; "
        f"{plural(len(done.failed) + len(done.unverified), 'file')} not verified "
        "(run the same command again to finish)")
    return 1


def _say_changes(project: Project, say: Say, full: bool) -> int:
    found = shop.changes(project)
    if found is None:
        say("web: no upload has been marked as published yet, so every file is new "
            "(after uploading: python build.py web --mark-published)")
        if full:
            for name in shop.listing(project.shop_folder):
                say(f"new      {name}")
        return 0
    if not full:
        say(f"web: {len(found)} files differ from the last published upload"
            + (" (list them: python build.py web --changes)" if found else ""))
        return 0
    if not found:
        say("web: no changes since the last published upload")
    for status, name in found:
        say(f"{status:<8} {name}")
    return 0


__all__ = ["command", "after_build"]
