"""Build cache: decides which editions of which briefings are up to date, and records builds.

One manifest per briefing in ``.cache/briefings/<slug>.json`` records, per edition, a key over
everything that edition was made from, plus the files the resource loader served (fonts,
images, logos, the CSS) with their content hashes and the size and modification time of each
output file. An edition is up to date only if:

* its key still matches: the briefing's source, its series file, its layout template with
  every partial it includes and the palette, the code that makes editions (with every module
  it imports: ``freshness.code_key``), the Python and library versions, the
  content-affecting build options and, for drafts, the git revision printed in the draft footer;
* every served file still has the hash it had when the edition was built;
* every output file still exists with the size and mtime the build left it with.

Anything else (no manifest, a corrupt one, a different cache format) means "rebuild". A failed
build forgets the briefing's manifest, so it is retried next time.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
from pathlib import Path

import jinja2
import jinja2.meta

from press.core import freshness, output
from press.errors import Problem
from press.project import Project

log = logging.getLogger(__name__)

FORMAT = 1  # bump when the manifest layout changes (key recipes: freshness.FORMAT)
# The code that makes a briefing's editions: these modules and everything they import.
BRIEFING_CODE = ("press.briefing", "press.build.pipeline")
# Options that choose *which* editions are made rather than what is in them; the build date is
# left out on purpose: a cached draft's footer truthfully says when it was built.
NOT_IN_KEY = ("editions", "drafts_of_final", "build_date")


def base_key(project: Project, options, hasher: freshness.Hasher) -> str:
    """The part of every key shared by all briefings of one build."""
    extra = {k: v for k, v in dataclasses.asdict(options).items() if k not in NOT_IN_KEY}
    return freshness.digest(FORMAT, freshness.FORMAT, freshness.versions(),
                   freshness.code_key(*BRIEFING_CODE), extra)


def layout_files(project: Project, name: str) -> list[Path]:
    """The template ``<name>.html`` and every partial it includes, extends or imports, plus
    the palette (read directly by the typeset stage). The CSS, fonts and images are fetched
    while rendering, so they are recorded as served files instead.

    If a template names another through a variable, every file in ``layouts/`` counts.
    """
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(project.layouts)))
    found, todo = set(), [f"{name}.html"]
    while todo:
        template = todo.pop()
        path = project.layouts / template
        if template in found or not path.is_file():
            continue
        found.add(template)
        try:
            tree = env.parse(path.read_text(encoding="utf-8"))
        except (jinja2.TemplateSyntaxError, OSError, UnicodeDecodeError):
            continue  # the build reports it
        for ref in jinja2.meta.find_referenced_templates(tree):
            if ref is None:
                return sorted(p for p in project.layouts.rglob("*") if p.is_file())
            todo.append(ref)
    return sorted([project.layouts / t for t in found] + [project.layouts / "palette.yaml"])


class Keys:
    """Keys of the editions of one build: the shared part plus each briefing's own inputs."""

    def __init__(self, project: Project, options, hasher: freshness.Hasher):
        self.project, self.hasher = project, hasher
        self.base = base_key(project, options, hasher)
        self._layouts: dict[str, str] = {}

    def layout(self, name: str) -> str:
        if name not in self._layouts:
            files = layout_files(self.project, name)
            self._layouts[name] = freshness.digest([(p.relative_to(self.project.root).as_posix(),
                                            self.hasher.file(p)) for p in files])
        return self._layouts[name]

    def edition(self, briefing, edition: str, revision: str = "") -> str:
        """The key of one edition of one briefing (``revision`` only matters for drafts)."""
        return freshness.digest(self.base, edition, self.hasher.file(briefing.path),
                                self.hasher.file(briefing.series.path),
                                self.hasher.files(self.project.root, briefing.bibliography),
                                self.layout(briefing.layout),
                                # the web edition comes with its sample and its note page
                                self.layout("_sample_note") if edition == "web" else "",
                                self._reflowable() if edition == "web" else "",  # issue #31
                                revision if edition == "drafts" else "")


    def _reflowable(self) -> list:
        """The HTML and EPUB editions' templates and stylesheet (made with the web edition)."""
        folders = [self.project.layouts / name for name in ("html", "epub")]
        return self.hasher.files(self.project.root, sorted(
            p for folder in folders if folder.is_dir() for p in folder.rglob("*") if p.is_file()))


# -- manifests ---------------------------------------------------------------------------------

def manifest_path(project: Project, slug: str) -> Path:
    return project.cache / "briefings" / f"{slug}.json"


def read(project: Project, slug: str) -> dict | None:
    path = manifest_path(project, slug)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        log.warning("ignoring unreadable build cache %s (%s)", path, exc)
        return None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        return None
    return data


def forget(project: Project, slug: str) -> None:
    manifest_path(project, slug).unlink(missing_ok=True)


def served_fresh(project: Project, manifest: dict | None, hasher: freshness.Hasher) -> bool:
    """Every file the loader served for this briefing still has the same content."""
    if not manifest:
        return False
    return all(hasher.file(project.root / rel) == digest
               for rel, digest in manifest.get("served", {}).items())


def edition_fresh(project: Project, manifest: dict | None, edition: str, key: str) -> bool:
    """The recorded edition has this key and its files are as the build left them."""
    entry = (manifest or {}).get("editions", {}).get(edition)
    if not entry or entry.get("key") != key:
        return False
    return all(freshness.stamp(project.root / rel) == stamp
               for rel, stamp in entry["files"].items())


def record(project: Project, result, keys: dict[str, str], previous: dict | None,
           hasher: freshness.Hasher) -> None:
    """Write the manifest after a successful build of the editions in ``keys``."""
    editions = dict((previous or {}).get("editions", {}))
    # Served files of editions kept from an earlier build still count; a full rebuild starts
    # afresh so that a figure no longer used stops triggering rebuilds.
    kept = set(editions) - set(keys)
    served = dict((previous or {}).get("served", {})) if kept else {}
    for name in result.served:
        path = Path(name)
        rel = path.relative_to(project.root).as_posix() if path.is_relative_to(project.root) \
            else name  # (the loader only serves project files; kept absolute otherwise)
        served[rel] = hasher.file(project.root / rel)
    for edition, key in keys.items():
        path = result.outputs.get(edition)
        if path is None:
            editions.pop(edition, None)
            continue
        files = project.edition_files(result.slug, edition)
        editions[edition] = {
            "key": key, "pages": result.pages.get(edition, 0),
            "files": {f.relative_to(project.root).as_posix(): freshness.stamp(f) for f in files}}
    data = {"format": FORMAT, "slug": result.slug,
            "source": result.source.relative_to(project.root).as_posix(),
            "editions": editions, "served": dict(sorted(served.items())),
            "warnings": [_problem_data(project, p) for p in result.warnings],
            "notes": list(result.notes)}
    output.write_text(manifest_path(project, result.slug),
                      json.dumps(data, indent=1, sort_keys=True) + "\n")


def _problem_data(project: Project, problem: Problem) -> dict:
    data = dataclasses.asdict(problem)
    path = Path(problem.path)
    if path.is_absolute() and path.is_relative_to(project.root):
        path = path.relative_to(project.root)
    data["path"] = path.as_posix()
    return data


def cached_warnings(project: Project, manifest: dict) -> list[Problem]:
    return [Problem(**{**p, "path": project.root / p["path"]})
            for p in manifest.get("warnings", [])]


def orphans(project: Project) -> list[str]:
    """Slugs the cache knows about whose source file is gone."""
    folder = project.cache / "briefings"
    if not folder.is_dir():
        return []
    gone = []
    for path in sorted(folder.glob("*.json")):
        data = read(project, path.stem)
        source = data.get("source") if data else None
        if source and not (project.root / source).exists():
            gone.append(path.stem)
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
