"""Freshness: the one set of rules for "is this output up to date", used by every product.

A derived output is fresh when a *key* over everything it was made from still matches, and its
files are as the build left them. Keys are built here from three kinds of input:

* **files** (sources, layouts, assets, the PDFs a product is made from): content hashes, each
  file read at most once per run (:class:`Hasher`);
* **code**: :func:`code_key` hashes the source of a module *and every press module it imports,
  transitively*, found by reading the import statements. No list of file names is kept by
  hand, so a new module, a moved one or one that starts importing another is in the key of
  exactly the outputs whose code uses it;
* **library versions** (:func:`versions`): WeasyPrint and friends change what a PDF holds.

Two stores sit on top, both at paths named by ``Project``: :class:`Record` (one small JSON file
per built item: its key, the files its layout fetched by content hash, the facts a later step
needs such as page counts, and the size and mtime of each output file; every briefing edition,
bundle and the shop folder has one), and :class:`DerivedStore` (derived bytes under their key:
a bundle's own pages, sample and thumbnails), which keeps one entry per name.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import sys
from collections.abc import Iterable
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any

from press.core import output
from press.project import Project

log = logging.getLogger(__name__)

# A record's JSON, and the facts in it: whatever a product needs later (page counts...).
Facts = dict[str, Any]

FORMAT = 3  # bump when a record's layout or a key recipe changes
# Libraries whose version can change what a PDF looks like or contains.
DISTRIBUTIONS = ("weasyprint", "pydyf", "tinycss2", "cssselect2", "tinyhtml5", "fonttools",
                 "pyphen", "Pillow", "pypdf", "Markdown", "nh3", "Jinja2", "MarkupSafe",
                 "PyYAML", "segno", "python-barcode", "pypdfium2", "bibtexparser",
                 "pypandoc-binary",  # pandoc's citeproc formats the citations and lists
                 "briefing-press")
PACKAGE = "press"


def digest(*parts: object) -> str:
    """A stable hash of JSON-able parts."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


class Hasher:
    """Content hashes of files, each file read at most once per run."""

    def __init__(self) -> None:
        self._memo: dict[Path, str | None] = {}

    def file(self, path: Path) -> str | None:
        """SHA-256 of the file's bytes, or None if it cannot be read."""
        if path not in self._memo:
            try:
                self._memo[path] = hashlib.sha256(path.read_bytes()).hexdigest()
            except OSError:
                self._memo[path] = None
        return self._memo[path]

    def files(self, root: Path, paths: Iterable[Path]) -> list[tuple[str, str | None]]:
        """``(path relative to root, hash)`` for each path, sorted: a key part that does not
        depend on where the project folder is."""
        return sorted((p.relative_to(root).as_posix() if p.is_relative_to(root) else str(p),
                       self.file(p)) for p in paths)


def versions() -> dict[str, str]:
    """The versions of Python and of the libraries that shape a PDF (read once per process:
    reading a distribution's metadata costs a few milliseconds, and a build asks often)."""
    return dict(_installed())


@lru_cache(maxsize=1)
def _installed() -> tuple[tuple[str, str], ...]:
    found = {"python": sys.version}
    for name in DISTRIBUTIONS:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "-"
    return tuple(found.items())


# -- code keys ---------------------------------------------------------------------------------

_PACKAGE_DIR = Path(__file__).resolve().parent.parent


def _source(module: str) -> Path | None:
    """The file of a press module, found without importing it (None: not a module)."""
    parts = module.split(".")[1:]
    base = _PACKAGE_DIR.joinpath(*parts)
    for path in (base / "__init__.py", base.with_suffix(".py")) if parts else (
            _PACKAGE_DIR / "__init__.py",):
        if path.is_file():
            return path
    return None


# Import statements, found by pattern rather than by parsing (a no-op build computes code keys
# every run: parsing every module took longer than the rest of the no-op). A match inside a
# string only adds a module to a key, which can cost a rebuild, never a stale output.
_FROM_RE = re.compile(r"^[ \t]*from[ \t]+(\.*[\w.]*)[ \t]+import[ \t]+(\([^)]*\)|[^\n#;]*)", re.M)
_IMPORT_RE = re.compile(r"^[ \t]*import[ \t]+([^\n#;]+)", re.M)


def _imports(module: str, path: Path) -> set[str]:
    """The press modules that ``module`` imports anywhere in its source (lazy imports too)."""
    text = path.read_text(encoding="utf-8")
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for match in _IMPORT_RE.finditer(text):
        found.update(name.split()[0] for name in match.group(1).split(",") if name.strip())
    for match in _FROM_RE.finditer(text):
        base, names = match.group(1), match.group(2).strip("()")
        level = len(base) - len(base.lstrip("."))
        base = base.lstrip(".")
        if level:
            parts = package.split(".")
            parts = parts[: len(parts) - level + 1]
            base = ".".join(parts + ([base] if base else []))
        found.add(base)
        # `from press.core import output` imports the module press.core.output
        found.update(f"{base}.{name.split()[0]}" for name in names.replace("\n", " ").split(",")
                     if name.strip() and not name.strip().startswith("#"))
    return {name for name in found if name == PACKAGE or name.startswith(PACKAGE + ".")}


def _closure(roots: tuple[str, ...]) -> dict[str, Path]:
    seen: dict[str, Path] = {}
    todo = list(roots)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        path = _source(name)
        if path is None or path.suffix != ".py":
            continue  # a name imported from a module (a class, a function), not a module
        seen[name] = path
        todo.extend(_imports(name, path))
        parent = name.rpartition(".")[0]
        if parent:  # importing a.b.c runs a/__init__.py and a/b/__init__.py
            todo.append(parent)
    return seen


_CODE: dict[tuple[str, ...], str] = {}


def code_key(*roots: str) -> str:
    """A hash of the source of the modules ``roots`` (a package counts with every module in
    its folder) and of every press module they import, transitively, under their dotted names:
    editing, adding or moving any module that can run when they run changes it."""
    if roots not in _CODE:
        expanded = []
        for root in roots:
            expanded.append(root)
            path = _source(root)
            if path is not None and path.name == "__init__.py":
                expanded += [f"{root}.{'.'.join(p.relative_to(path.parent).with_suffix('').parts)}"
                             for p in sorted(path.parent.rglob("*.py")) if p.name != "__init__.py"]
                expanded += [f"{root}.{'.'.join(p.parent.relative_to(path.parent).parts)}"
                             for p in sorted(path.parent.rglob("*/__init__.py"))]
        modules = _closure(tuple(expanded))
        _CODE[roots] = digest(sorted((name, hashlib.sha256(path.read_bytes()).hexdigest())
                                     for name, path in modules.items()))
    return _CODE[roots]


def code_modules(*roots: str) -> list[str]:
    """The modules :func:`code_key` covers (for tests and ``--debug``)."""
    expanded = list(roots)
    for root in roots:
        path = _source(root)
        if path is not None and path.name == "__init__.py":
            expanded += [f"{root}.{'.'.join(p.relative_to(path.parent).with_suffix('').parts)}"
                         for p in sorted(path.parent.rglob("*.py")) if p.name != "__init__.py"]
    return sorted(_closure(tuple(expanded)))


# -- records of built items --------------------------------------------------------------------

def stamp(path: Path) -> list[int] | None:
    """Size and mtime of an output file: changed if anyone rewrote or touched it."""
    try:
        info = path.stat()
    except OSError:
        return None
    return [info.st_size, info.st_mtime_ns]


class Record:
    """What was built for one item (``kind``/``name``) in ``project.record_path``: its key,
    the files read while making it that the key could not name in advance (``inputs``: the
    fonts, images and style sheets a layout fetched, by content hash), facts a later step needs
    (page counts, warnings), and the stamps of its output files.

    The item is fresh while the key matches, every input has the recorded hash and every
    output file is as the build left it."""

    def __init__(self, project: Project, kind: str, name: str):
        self.root = project.root
        self.path = project.record_path(kind, name)

    def read(self) -> Facts | None:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            log.warning("ignoring unreadable build record %s (%s)", self.path, exc)
            return None
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            return None
        return data

    def fresh(self, key: str, hasher: Hasher | None = None) -> Facts | None:
        """The recorded facts, if the record has this key, its inputs are unchanged and its
        files are as left."""
        data = self.read()
        if not data or data.get("key") != key:
            return None
        hasher = hasher or Hasher()
        if not all(hasher.file(self.root / rel) == value
                   for rel, value in data.get("inputs", {}).items()):
            return None
        return self.unchanged(data)

    def unchanged(self, data: Facts | None = None) -> Facts | None:
        """The recorded facts, if the recorded files are as left (whatever the key)."""
        data = data or self.read()
        if not data or not all(stamp(self.root / rel) == value
                               for rel, value in data["files"].items()):
            return None
        facts: Facts = data.get("facts", {})
        return facts

    def write(self, key: str, files: Iterable[Path | str], facts: Facts | None = None,
              inputs: Iterable[Path | str] = (),
              hasher: Hasher | None = None) -> None:
        """Record a build: ``files`` its outputs, ``inputs`` the files it read (paths)."""
        hasher = hasher or Hasher()
        data = {"format": FORMAT, "key": key, "facts": facts or {},
                "files": {self._relative(Path(f)): stamp(Path(f)) for f in files},
                "inputs": dict(sorted((self._relative(Path(p)), hasher.file(Path(p)))
                                      for p in inputs))}
        output.write_text(self.path, json.dumps(data, indent=1, sort_keys=True) + "\n")

    def _relative(self, path: Path) -> str:
        # the loader serves only project files; anything else is kept absolute
        return path.relative_to(self.root).as_posix() if path.is_relative_to(self.root) \
            else str(path)

    def forget(self) -> None:
        self.path.unlink(missing_ok=True)


class DerivedStore:
    """Derived bytes in ``project.derived_folder(store)``: one entry per name (a bundle's own
    pages, its sample, its thumbnails), filed under the key of what it was made from. An entry
    with another key is stale: :meth:`put` replaces the name's entries."""

    def __init__(self, project: Project, store: str):
        self.folder = project.derived_folder(store)

    def _path(self, name: str, key: str, suffix: str) -> Path:
        return self.folder / f"{name}.{key[:24]}{suffix}"

    def get(self, name: str, key: str, *suffixes: str) -> list[bytes] | None:
        """The entry's files (one per suffix), or None if one of them is missing."""
        try:
            return [self._path(name, key, suffix).read_bytes() for suffix in suffixes]
        except FileNotFoundError:
            return None

    def put(self, name: str, key: str, files: dict[str, bytes]) -> None:
        """Store the entry's files (``{suffix: bytes}``), removing the name's stale entries."""
        for old in self._entries(name):
            old.unlink(missing_ok=True)
        for suffix, data in files.items():
            output.write_bytes(self._path(name, key, suffix), data)

    def any(self, name: str, suffix: str) -> bytes | None:
        """A file of the name's entry, whatever its key (a hint for making the next one)."""
        for path in self._entries(name):
            if path.name.endswith(suffix):
                try:
                    return path.read_bytes()
                except OSError:
                    continue
        return None

    def _entries(self, name: str) -> list[Path]:
        if not self.folder.is_dir():
            return []
        return sorted(p for p in self.folder.glob(f"{name}.*")
                      if re.fullmatch(r"[0-9a-f]{24}\..+", p.name[len(name) + 1:]))
