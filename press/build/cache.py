"""Build cache: decides which editions of which briefings are up to date, and records builds.

Each edition of a briefing is one item of ``press.core.freshness``: a ``Record`` named
``<slug>/<edition>`` of kind ``briefings``, whose key covers everything the edition is made
from that is known before building it, and whose inputs are the files the resource loader
served while laying it out (fonts, images, logos, the CSS), by content hash. An edition is up
to date only if:

* its key still matches: the briefing's source, its series file, its bibliography, its layout
  template with every partial it includes and the palette (``layout.layout_files``), the code
  that makes editions (with every module it imports: ``freshness.code_key``), the Python and
  library versions, the content-affecting build options and, for drafts, the git revision
  printed in the draft footer;
* every served file still has the hash it had when the edition was built;
* every output file still exists with the size and mtime the build left it with.

Anything else (no record, a corrupt one, a different format) means "rebuild". A failed build
forgets the briefing's records, so it is retried next time.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING

from press.briefing.layout import layout_files
from press.core import freshness
from press.errors import Problem
from press.model import Briefing
from press.project import BRIEFING_EDITIONS, Project

if TYPE_CHECKING:  # pipeline imports this module
    from press.build.pipeline import Options, Result

log = logging.getLogger(__name__)

KIND = "briefings"
# The code that makes a briefing's editions: these modules and everything they import.
BRIEFING_CODE = ("press.briefing", "press.build.pipeline")
# Options that choose *which* editions are made rather than what is in them; the build date is
# left out on purpose: a cached draft's footer truthfully says when it was built.
NOT_IN_KEY = ("editions", "drafts_of_final", "build_date")


def base_key(project: Project, options: Options, hasher: freshness.Hasher) -> str:
    """The part of every key shared by all briefings of one build."""
    extra = {k: v for k, v in dataclasses.asdict(options).items() if k not in NOT_IN_KEY}
    return freshness.digest(freshness.FORMAT, freshness.versions(),
                            freshness.code_key(*BRIEFING_CODE), extra)


class Keys:
    """Keys of the editions of one build: the shared part plus each briefing's own inputs."""

    def __init__(self, project: Project, options: Options, hasher: freshness.Hasher) -> None:
        self.project, self.hasher = project, hasher
        self.base = base_key(project, options, hasher)
        self._layouts: dict[tuple[str, ...], str] = {}

    def layout(self, *names: str) -> str:
        if names not in self._layouts:
            self._layouts[names] = freshness.digest(self.hasher.files(
                self.project.root, layout_files(self.project, *names)))
        return self._layouts[names]

    def edition(self, briefing: Briefing, edition: str, revision: str = "") -> str:
        """The key of one edition of one briefing (``revision`` only matters for drafts)."""
        # the web edition comes with its sample and its note page
        templates = (briefing.layout, "_sample_note") if edition == "web" else (briefing.layout,)
        return freshness.digest(self.base, edition, self.hasher.file(briefing.path),
                                self.hasher.file(briefing.series.path),
                                self.hasher.files(self.project.root, briefing.bibliography),
                                self.layout(*templates),
                                self._reflowable() if edition == "web" else "",  # issue #31
                                revision if edition == "drafts" else "")

    def _reflowable(self) -> list[tuple[str, str | None]]:
        """The HTML and EPUB editions' templates and stylesheet (made with the web edition)."""
        folders = [self.project.layouts / name for name in ("html", "epub")]
        return self.hasher.files(self.project.root, sorted(
            p for folder in folders if folder.is_dir() for p in folder.rglob("*") if p.is_file()))


# -- records -----------------------------------------------------------------------------------

def records(project: Project, slug: str) -> dict[str, freshness.Record]:
    """The record of each edition of a briefing."""
    return {edition: freshness.Record(project, KIND, f"{slug}/{edition}")
            for edition in BRIEFING_EDITIONS}


def fresh(project: Project, slug: str, keys: dict[str, str],
          hasher: freshness.Hasher) -> dict[str, freshness.Facts]:
    """``{edition: recorded facts}`` of the editions in ``keys`` that are up to date."""
    found = {}
    for edition, record in records(project, slug).items():
        if edition in keys:
            facts = record.fresh(keys[edition], hasher)
            if facts is not None:
                found[edition] = facts
    return found


def forget(project: Project, slug: str) -> None:
    for record in records(project, slug).values():
        record.forget()


def record(project: Project, result: Result, keys: dict[str, str],
           hasher: freshness.Hasher) -> None:
    """Write the records of the editions in ``keys`` after a successful build."""
    facts = {"source": result.source.relative_to(project.root).as_posix(),
             "warnings": [_problem_data(project, p) for p in result.warnings]}
    for edition, key in keys.items():
        one = records(project, result.slug)[edition]
        if result.outputs.get(edition) is None:
            one.forget()
            continue
        one.write(key, project.edition_files(result.slug, edition),
                  {**facts, "pages": result.pages.get(edition, 0)},
                  [Path(p) for p in result.served], hasher)


def served(project: Project, slug: str) -> list[str]:
    """The files the layouts of the briefing's recorded editions fetched."""
    found: set[str] = set()
    for one in records(project, slug).values():
        found.update(str(project.root / rel) for rel in (one.read() or {}).get("inputs", {}))
    return sorted(found)


def _problem_data(project: Project, problem: Problem) -> dict[str, object]:
    data = dataclasses.asdict(problem)
    path = Path(problem.path)
    if path.is_absolute() and path.is_relative_to(project.root):
        path = path.relative_to(project.root)
    data["path"] = path.as_posix()
    return data


def cached_warnings(project: Project, facts: list[freshness.Facts]) -> list[Problem]:
    """The warnings recorded with the editions (each once)."""
    found = []
    for data in (p for one in facts for p in one.get("warnings", [])):
        problem = Problem(**{**data, "path": project.root / data["path"]})
        if problem not in found:
            found.append(problem)
    return found


def orphans(project: Project) -> list[str]:
    """Slugs the cache knows about whose source file is gone."""
    folder = project.records_folder(KIND)
    gone: list[str] = []
    for path in sorted(p for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []:
        data = next((d for r in records(project, path.name).values() if (d := r.read())), None)
        source = data.get("facts", {}).get("source") if data else None
        if source and not (project.root / source).exists():
            gone.append(path.name)
    # Editions left without a record (a briefing that failed to load is forgotten, then
    # deleted; a cleared cache): found by listing the output folders.
    for edition in ("drafts", "web", "print"):
        outputs = project.output / edition
        stems = {p.stem for p in outputs.glob("*.pdf")} if outputs.is_dir() else set()
        gone += [s for s in sorted(stems) if s not in gone and not s.startswith(".")
                 and not (project.briefings_dir / f"{s}.md").exists()]
    return gone


def remove_outputs(project: Project, slug: str, files: list[Path]) -> list[Path]:
    """Delete ``files`` (outputs of ``slug``) if present; returns those removed."""
    removed = []
    for path in files:
        try:
            os.unlink(path)
        except FileNotFoundError:
            continue
        removed.append(path)
        log.info("removed %s (no longer produced by %s)", path, slug)
    return removed
