"""Pipeline: drives load → markdown → layout → typeset → editions for each briefing.

``build_briefing`` is self-contained (paths and options in, a ``Result`` out) so that worker
processes can run it; everything it writes goes through atomic writes.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from . import layout, markdown, output, preflight, typeset
from .errors import ContentError, Problem, Problems
from .load import Project, load_all
from .model import Briefing

EDITIONS = ("print", "web", "drafts")


@dataclass(frozen=True)
class Options:
    editions: tuple[str, ...] = EDITIONS
    drafts_of_final: bool = False  # --drafts: also make drafts of final briefings
    build_date: str = ""  # for the draft footer; defaults to today


@dataclass
class Result:
    """What building one briefing produced."""

    slug: str
    source: Path
    outputs: dict[str, Path] = field(default_factory=dict)
    pages: dict[str, int] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    preflight: dict | None = None
    served: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def output_paths(project: Project, slug: str) -> dict[str, Path]:
    out = project.output
    return {"print": out / "print" / f"{slug}.pdf", "web": out / "web" / f"{slug}.pdf",
            "drafts": out / "drafts" / f"{slug}.pdf",
            "preflight": out / "print" / f"{slug}.preflight.json"}


def revision(path: Path) -> str:
    """Short git hash of the last commit touching ``path``, '+' if it has local edits."""
    try:
        run = dict(cwd=path.parent, capture_output=True, text=True, timeout=5, check=False)
        commit = subprocess.run(["git", "log", "-1", "--format=%h", "--", path.name], **run)
        if commit.returncode != 0 or not commit.stdout.strip():
            return "uncommitted"
        dirty = subprocess.run(["git", "status", "--porcelain", "--", path.name], **run)
        return commit.stdout.strip() + ("+edits" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def build_date() -> str:
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch and epoch.isdigit():
        return dt.datetime.fromtimestamp(int(epoch), dt.timezone.utc).date().isoformat()
    return dt.date.today().isoformat()


def build_briefing(project: Project, briefing: Briefing, options: Options) -> Result:
    """Build every requested edition of one briefing; problems are returned, not raised."""
    result = Result(briefing.slug, briefing.path)
    paths = output_paths(project, briefing.slug)
    try:
        body = markdown.convert(briefing, project.root)
        result.warnings.extend(body.warnings)
        wants_final = [e for e in ("web", "print") if e in options.editions]
        if briefing.is_draft and wants_final:
            result.notes.append(f"{briefing.slug}: status is draft, so no print or web edition "
                                "(set 'status: final' when it is ready)")
        if wants_final and not briefing.is_draft:
            page = layout.page(project, briefing, body)
            laid_out = typeset.render(page, project.root)
            result.served = sorted(str(p) for p in laid_out.served)
            ident = f"{briefing.series.id}/{briefing.slug}"
            if "web" in options.editions:
                data = typeset.write_web(laid_out, None, ident)
                output.write_bytes(paths["web"], data)
                result.outputs["web"], result.pages["web"] = paths["web"], laid_out.page_count
            if "print" in options.editions:
                _print_edition(project, briefing, laid_out, ident, result, paths)
        if "drafts" in options.editions and (briefing.is_draft or options.drafts_of_final):
            draft = layout.Draft(options.build_date or build_date(), revision(briefing.path))
            laid_out = typeset.render(layout.page(project, briefing, body, draft), project.root)
            data = typeset.write_web(laid_out, None, f"{briefing.slug}/draft")
            output.write_bytes(paths["drafts"], data)
            result.outputs["drafts"], result.pages["drafts"] = paths["drafts"], \
                laid_out.page_count
    except ContentError as exc:
        result.problems.extend(exc.problems)
    return result


def _print_edition(project, briefing, laid_out, ident, result, paths) -> None:
    pages = laid_out.page_count
    padding = (-pages) % 4 if briefing.series.booklet else 0
    css_url = layout.file_url(project.layouts / "briefing.css")
    images = preflight.placed_images(laid_out.document)
    palette = typeset.Palette.load(project.layouts / "palette.yaml")
    blanks = typeset.blank_pages(padding, project.root, css_url)
    data = typeset.write_print(laid_out, None, ident, palette, blanks)
    report = preflight.check(data, images, booklet=briefing.series.booklet)
    report["source"] = str(briefing.path.relative_to(project.root))
    report["padding_pages"] = padding
    result.preflight = report
    if report["blocking"]:
        raise ContentError([Problem(briefing.path, None, f"print preflight: {message}")
                            for message in report["blocking"]])
    for message in report["warnings"]:
        result.warnings.append(Problem(briefing.path, None, f"print preflight: {message}",
                                       severity="warning"))
    output.write_bytes(paths["print"], data)
    output.write_text(paths["preflight"], json.dumps(report, indent=2, sort_keys=True) + "\n")
    result.outputs["print"], result.pages["print"] = paths["print"], report["pages"]


def build(project: Project, slugs: list[str] | None, options: Options,
          problems: Problems) -> list[Result]:
    """Load, validate and build; load problems go into ``problems``, build ones into results."""
    _, briefings = load_all(project, problems, slugs)
    return [build_briefing(project, b, options) for b in briefings]
