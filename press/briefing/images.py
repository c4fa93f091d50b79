"""Markdown checks, images: an image's path of any shape, its file and its options, each
problem at the author's line."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

from press.errors import Problems, did_you_mean
from press.render import fetcher as resources

WIDTH_RE = re.compile(r"^width=\"?(\d{1,3})%\"?$")
IMAGE_SUFFIXES = resources.IMAGE_SUFFIXES


def shown(text: str) -> str:
    return text if len(text) <= 60 else text[:57] + "..."


def check_attrs(path: Path, number: int, attrs: str, problems: Problems) -> None:
    """``{width=50%}`` after an image: a percentage of the column, 10 to 100."""
    for item in attrs.split():
        match = WIDTH_RE.match(item)
        if item.startswith(("#", ".")):
            continue
        if not match or not 10 <= int(match.group(1)) <= 100:
            problems.error(path, number, f"image option '{shown(item)}' is not understood",
                           "write {width=50%}: a percentage of the column, 10% to 100%")


def check_source(path: Path, number: int, src: str, project_root: Path,
                 problems: Problems) -> None:
    """The part between the parentheses of ``![alt](...)``, whatever its shape."""
    title = re.match(r"^(.*?)\s+(\"[^\"]*\"|'[^']*')$", src)
    if title:
        src = title.group(1).strip()
    if "\\" in src or re.match(r"^[A-Za-z]:[\\/]", src):
        problems.error(path, number, f"image path '{shown(src)}' is a Windows path",
                       "use forward slashes and a path relative to the Markdown file, "
                       "e.g. ../../assets/figures/chart.png")
        return
    if src.startswith("<") and src.endswith(">"):
        src = src[1:-1]
    elif " " in src:
        problems.error(path, number, f"image path '{shown(src)}' contains a space",
                       "rename the file without spaces, e.g. with hyphens, or write the path "
                       "in angle brackets: ![alt](<path with spaces.png>)")
        return
    check_file(path, number, unquote(src), project_root, problems)


def _case_hint(target: Path) -> str:
    """'did you mean' for a file that exists with other capitals (or a near name) in the
    same folder."""
    folder = target.parent
    if not folder.is_dir():
        return ""
    names = [p.name for p in folder.iterdir() if p.is_file()]
    same = [n for n in names if n.lower() == target.name.lower()]
    if same:
        return f"did you mean '{same[0]}'? Capitals matter"
    close = did_you_mean(target.name, names)
    return close if close.startswith("did you mean") else ""


def check_file(path: Path, number: int, src: str, project_root: Path,
               problems: Problems) -> None:
    parts = urlsplit(src)
    if parts.scheme or src.startswith("//"):
        problems.error(path, number, f"image '{src}' is not a project file",
                       "remote and file:// images are not loaded; copy the file into assets/")
        return
    if "\x00" in src:
        problems.error(path, number, "image path contains a null character",
                       "type the path again")
        return
    target = (path.parent / parts.path).resolve()
    allowed = [project_root / d for d in ("content", "assets")]
    relative = "write the path relative to the Markdown file, e.g. ../../assets/figures/x.png"
    if not any(target.is_relative_to(d.resolve()) for d in allowed):
        if src.startswith("/"):
            problems.error(path, number, f"image '{shown(src)}' is outside the project: "
                           "the path is absolute", relative)
        else:
            problems.error(path, number, f"image '{src}' is outside the project's content/ "
                           "and assets/", "copy the file into assets/ and link it from there")
    elif src.startswith("/"):
        problems.error(path, number, f"image '{shown(src)}' is an absolute path", relative)
    elif not target.is_file():
        problems.error(path, number, f"image '{src}' not found", _case_hint(target) or
                       "paths are relative to the Markdown file, e.g. ../../assets/x.png")
    elif target.suffix.lower() not in IMAGE_SUFFIXES:
        problems.error(path, number, f"image '{src}' has an unsupported format",
                       f"use one of {', '.join(sorted(IMAGE_SUFFIXES))}")
    else:
        try:
            resources.check_image(target, target.read_bytes())
        except resources.RefusedResource as exc:
            problems.error(path, number, str(exc), "export it again as PNG, JPEG or SVG")
