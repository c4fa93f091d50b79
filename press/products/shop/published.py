"""Shop stage, published: what changed in output/upload since the web team's last upload."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TypedDict

from press.core import freshness, output
from press.errors import ContentError
from press.products.shop.products import sha256
from press.project import Project


def names(folder: Path) -> list[str]:
    """The files in the folder (not hidden), by relative name; nothing is read. Symbolic
    links are not files of the folder: they are never listed, read or followed."""
    if not folder.is_dir() or folder.is_symlink():
        return []
    found = []
    for parent, folders, files in os.walk(folder):  # does not follow links to folders
        here = Path(parent)
        folders[:] = [f for f in folders if not f.startswith(".")
                      and not (here / f).is_symlink()]
        for name in files:
            path = here / name
            if not name.startswith(".") and not path.is_symlink() and path.is_file():
                found.append(path.relative_to(folder).as_posix())
    return sorted(found)


def links(folder: Path) -> list[str]:
    """Symbolic links anywhere in the folder, by relative name (hidden ones included)."""
    if not folder.is_dir() or folder.is_symlink():
        return []
    found = []
    for parent, folders, files in os.walk(folder):
        here = Path(parent)
        found += [(here / n).relative_to(folder).as_posix() for n in folders + files
                  if (here / n).is_symlink()]
    return sorted(found)


def check_folder(project: Project) -> None:
    """``output/upload`` must be a real folder: the shop swaps it whole (rename), which would
    replace a link to a sync folder by a folder and strand the sync folder."""
    folder = project.shop_folder
    if folder.is_symlink():
        raise ContentError.at(folder, None, "output/upload is a symbolic link: the shop "
                              "builds the folder itself and swaps it in whole",
                              "remove the link (rm output/upload) and copy or sync the "
                              "built folder from there")


def remove_links(project: Project) -> list[str]:
    """Remove the symbolic links someone put into the upload folder (never followed: the file
    they point to would otherwise be copied in, ready to upload); their names."""
    found = links(project.shop_folder)
    for rel in found:
        (project.shop_folder / rel).unlink(missing_ok=True)
    return found


class FileFacts(TypedDict):
    """A file of the shop folder, as listings record it (in JSON)."""

    bytes: int
    sha256: str


def listing(folder: Path) -> dict[str, FileFacts]:
    """``{relative name: {"bytes", "sha256"}}`` for every file in the folder (not hidden)."""
    files: dict[str, FileFacts] = {}
    for rel in names(folder):
        data = (folder / rel).read_bytes()
        files[rel] = {"bytes": len(data), "sha256": sha256(data)}
    return files


def folder_record(project: Project) -> freshness.Record:
    """What the last shop build left in the folder: its key, entries and file listing."""
    return freshness.Record(project, "shop", "folder")


def current_listing(project: Project) -> dict[str, FileFacts]:
    """:func:`listing` of the shop folder, from the last build's record while every file in it
    is as that build left it (no file is read), else read afresh."""
    folder = project.shop_folder
    facts = folder_record(project).unchanged()
    if facts is not None and sorted(facts.get("listing", {})) == names(folder):
        recorded: dict[str, FileFacts] = facts["listing"]
        return recorded
    return listing(folder)


def changes(project: Project) -> list[tuple[str, str]] | None:
    """``[(status, name)]``: files that are new, changed or removed since the last upload was
    marked published (sorted by name); None if no upload has been marked yet."""
    check_folder(project)
    output.settle_folder(project.shop_folder)  # a swap killed half-way is not "all removed"
    now = current_listing(project)
    path = project.published_snapshot
    if not path.is_file():
        return None
    before = _snapshot(path)
    result = []
    for name in sorted(set(now) | set(before)):
        if name not in before:
            result.append(("new", name))
        elif name not in now:
            result.append(("removed", name))
        elif now[name]["sha256"] != before[name].get("sha256"):
            result.append(("changed", name))
    return result


MAX_SNAPSHOT_BYTES = 64 * 1024 * 1024


def _snapshot(path: Path) -> dict[str, dict[str, object]]:
    """The files of the last published upload, from ``output/web-published.json``; a file
    that is not what :func:`mark_published` writes is a problem, never a traceback."""
    from press.core import untrusted

    problem = ""
    try:
        data = json.loads(untrusted.read_bytes(path, MAX_SNAPSHOT_BYTES).decode("utf-8"))
    except untrusted.Refused as exc:
        problem = exc.message
    except (ValueError, RecursionError) as exc:
        problem = f"not JSON ({type(exc).__name__})"
    else:
        files = data.get("files") if isinstance(data, dict) else None
        if isinstance(files, dict) and all(isinstance(k, str) and isinstance(v, dict)
                                           for k, v in files.items()):
            return files
        problem = "it has no 'files' listing"
    raise ContentError.at(path, None, f"the published snapshot is not readable: {problem}",
                          "mark the last upload again: python build.py web --mark-published")


def mark_published(project: Project) -> int:
    """Record the folder as uploaded: ``output/web-published.json``. Returns the file count."""
    folder = project.shop_folder
    check_folder(project)
    output.settle_folder(folder)  # a swap killed between its renames: the folder is there
    if not (folder / "catalogue.json").is_file():
        raise ContentError.at(folder, None, "there is no web shop folder to mark",
                              "build it first: python build.py web")
    files = listing(folder)
    text = json.dumps({"folder": "output/upload", "files": files}, indent=2, sort_keys=True)
    output.write_text(project.published_snapshot, text + "\n")
    return len(files)
