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

Two stores sit on top: :class:`Record` (one small JSON file per built item: its key, the
facts a later step needs such as page counts, and the size and mtime of each output file),
and :class:`DerivedStore` (content-addressed derived bytes: a bundle's own pages, thumbnails,
samples), pruned of entries a run did not use.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import sys
from functools import lru_cache
from importlib import metadata
from pathlib import Path

from press.core import output

log = logging.getLogger(__name__)

FORMAT = 2  # bump when a record's layout or a key recipe changes
# Libraries whose version can change what a PDF looks like or contains.
DISTRIBUTIONS = ("weasyprint", "pydyf", "tinycss2", "cssselect2", "tinyhtml5", "fonttools",
                 "pyphen", "Pillow", "pypdf", "Markdown", "nh3", "Jinja2", "MarkupSafe",
                 "PyYAML", "segno", "python-barcode", "pypdfium2", "bibtexparser", "rispy",
                 "briefing-press")
PACKAGE = "press"


def digest(*parts) -> str:
    """A stable hash of JSON-able parts."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


class Hasher:
    """Content hashes of files, each file read at most once per run."""

    def __init__(self):
        self._memo: dict[Path, str | None] = {}

    def file(self, path: Path) -> str | None:
        """SHA-256 of the file's bytes, or None if it cannot be read."""
        if path not in self._memo:
            try:
                self._memo[path] = hashlib.sha256(path.read_bytes()).hexdigest()
            except OSError:
                self._memo[path] = None
        return self._memo[path]

    def files(self, root: Path, paths) -> list[tuple[str, str | None]]:
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
    """What was built for one item (``kind``/``name``) in ``.cache/records/``: a key, facts, and
    the stamps of its output files."""

    def __init__(self, cache: Path, kind: str, name: str):
        self.path = cache / "records" / kind / f"{name}.json"

    def read(self) -> dict | None:
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

    def fresh(self, key: str, root: Path) -> dict | None:
        """The recorded facts, if the record has this key and its files are as left."""
        data = self.read()
        if not data or data.get("key") != key:
            return None
        return self.unchanged(root, data)

    def unchanged(self, root: Path, data: dict | None = None) -> dict | None:
        """The recorded facts, if the recorded files are as left (whatever the key)."""
        data = data or self.read()
        if not data or not all(stamp(root / rel) == value
                               for rel, value in data["files"].items()):
            return None
        return data.get("facts", {})

    def write(self, key: str, root: Path, files, facts: dict | None = None) -> None:
        data = {"format": FORMAT, "key": key, "facts": facts or {},
                "files": {Path(f).relative_to(root).as_posix(): stamp(Path(f)) for f in files}}
        output.write_text(self.path, json.dumps(data, indent=1, sort_keys=True) + "\n")

    def forget(self) -> None:
        self.path.unlink(missing_ok=True)


class DerivedStore:
    """Derived bytes by key in ``.cache/<name>/``: a run reuses what it can and :meth:`prune`
    removes the entries it did not use."""

    def __init__(self, cache: Path, name: str):
        self.folder = cache / name
        self.used: set[str] = set()

    def get(self, key: str, suffix: str) -> bytes | None:
        path = self.folder / f"{key}{suffix}"
        self.used.add(path.name)
        try:
            return path.read_bytes()
        except FileNotFoundError:
            return None

    def put(self, key: str, suffix: str, data: bytes) -> None:
        self.used.add(f"{key}{suffix}")
        output.write_bytes(self.folder / f"{key}{suffix}", data)

    def prune(self) -> None:
        if self.folder.is_dir():
            for path in self.folder.iterdir():
                if path.name not in self.used and not path.name.startswith("."):
                    path.unlink(missing_ok=True)
