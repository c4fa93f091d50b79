"""Shop stage, published: what changed in output/upload since the web team's last upload."""

from __future__ import annotations

import json
from pathlib import Path

from press.core import freshness, output
from press.errors import ContentError
from press.products.shop.products import sha256
from press.project import Project


def names(folder: Path) -> list[str]:
    """The files in the folder (not hidden), by relative name; nothing is read."""
    if not folder.is_dir():
        return []
    found = []
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder).as_posix()
        if path.is_file() and not any(p.startswith(".") for p in rel.split("/")):
            found.append(rel)
    return found


def listing(folder: Path) -> dict[str, dict]:
    """``{relative name: {"bytes", "sha256"}}`` for every file in the folder (not hidden)."""
    files = {}
    for rel in names(folder):
        data = (folder / rel).read_bytes()
        files[rel] = {"bytes": len(data), "sha256": sha256(data)}
    return files


def folder_record(project: Project) -> freshness.Record:
    """What the last shop build left in the folder: its key, entries and file listing."""
    return freshness.Record(project, "shop", "folder")


def current_listing(project: Project) -> dict[str, dict]:
    """:func:`listing` of the shop folder, from the last build's record while every file in it
    is as that build left it (no file is read), else read afresh."""
    folder = project.shop_folder
    facts = folder_record(project).unchanged()
    if facts is not None and sorted(facts.get("listing", {})) == names(folder):
        return facts["listing"]
    return listing(folder)


def changes(project: Project) -> list[tuple[str, str]] | None:
    """``[(status, name)]``: files that are new, changed or removed since the last upload was
    marked published (sorted by name); None if no upload has been marked yet."""
    output.settle_folder(project.shop_folder)  # a swap killed half-way is not "all removed"
    now = current_listing(project)
    path = project.published_snapshot
    if not path.is_file():
        return None
    try:
        before = json.loads(path.read_text(encoding="utf-8"))["files"]
    except (ValueError, KeyError, TypeError):
        raise ContentError.at(path, None, "the published snapshot is not readable",
                              "mark the last upload again: python build.py web "
                              "--mark-published") from None
    result = []
    for name in sorted(set(now) | set(before)):
        if name not in before:
            result.append(("new", name))
        elif name not in now:
            result.append(("removed", name))
        elif now[name]["sha256"] != before[name].get("sha256"):
            result.append(("changed", name))
    return result


def mark_published(project: Project) -> int:
    """Record the folder as uploaded: ``output/web-published.json``. Returns the file count."""
    folder = project.shop_folder
    if not (folder / "catalogue.json").is_file():
        raise ContentError.at(folder, None, "there is no web shop folder to mark",
                              "build it first: python build.py web")
    files = listing(folder)
    text = json.dumps({"folder": "output/upload", "files": files}, indent=2, sort_keys=True)
    output.write_text(project.published_snapshot, text + "\n")
    return len(files)
