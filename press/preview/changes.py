"""Preview stage, changes: which briefings a batch of changed files affects."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from press.project import Project


@dataclass(frozen=True)
class Deps:
    """What one briefing's last build read, for deciding what a change affects."""

    series: str | None = None  # None: unknown (the briefing did not load), so any series file
    files: frozenset[Path] = frozenset()  # other content files it read (images, bibliographies)


def is_scratch(path: Path) -> bool:
    """Editors' temporary and backup files (``.x.md.swp``, ``x.md~``, ``#x.md#``, ``.#x.md``)."""
    name = path.name
    return (name.startswith((".", "#")) or name.endswith(("~", ".swp", ".swx", ".tmp"))
            or name.endswith("#"))


def affected(project: Project, paths: Iterable[Path], known: Mapping[str, Deps]) -> set[str]:
    """The slugs to rebuild after ``paths`` changed (were written, created, renamed or deleted).

    * ``content/briefings/<slug>.md``: that briefing;
    * ``content/series/<id>.yaml``: the briefings of that series (and any that did not load);
    * ``layouts/`` or ``assets/``: every briefing (templates, CSS and fonts affect them all);
    * any other file under ``content/``: the briefings whose last build placed it.
    """
    everyone = set(known) | {p.stem for p in project.briefing_paths()}
    slugs: set[str] = set()
    for path in paths:
        path = Path(os.path.abspath(path))
        if is_scratch(path):
            continue
        if path.is_relative_to(project.layouts) or path.is_relative_to(project.assets):
            return everyone
        if path.parent == project.briefings_dir and path.suffix == ".md":
            slugs.add(path.stem)
        elif path.parent == project.series_dir and path.suffix in (".yaml", ".yml"):
            slugs |= {slug for slug, deps in known.items() if deps.series in (path.stem, None)}
            slugs |= everyone - set(known)
        elif path.is_relative_to(project.content):
            slugs |= {slug for slug, deps in known.items() if path in deps.files}
    return slugs
