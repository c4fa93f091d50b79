"""Installs are reproducible: every import is declared, every declared package is locked with
hashes within its bounds, and the suite runs against exactly the locked releases."""

from __future__ import annotations

import ast
import sys
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text("utf-8"))
LOCK = REPO / "requirements.lock"


def _locked() -> dict[str, list[tuple[str, list[str]]]]:
    """name -> [(version, hashes)] (a universal lock may pin two versions under markers)."""
    found: dict[str, list[tuple[str, list[str]]]] = {}
    entry: tuple[str, list[str]] | None = None
    for raw in LOCK.read_text("utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if not raw.startswith(" "):
            spec = line.split(";")[0].rstrip(" \\")
            name, _, version = spec.partition("==")
            entry = (version.strip(), [])
            found.setdefault(canonicalize_name(name), []).append(entry)
        elif line.startswith("--hash=sha256:") and entry is not None:
            entry[1].append(line.split(":", 1)[1].rstrip(" \\"))
    return found


def _declared() -> list[Requirement]:
    project = PYPROJECT["project"]
    extras = [r for group in project["optional-dependencies"].values() for r in group]
    return [Requirement(r) for r in project["dependencies"] + extras]


def test_every_declared_package_is_locked_with_hashes_within_its_bounds():
    locked = _locked()
    for requirement in _declared():
        pins = locked.get(canonicalize_name(requirement.name))
        assert pins, f"{requirement.name} is declared but not in requirements.lock"
        for version, hashes in pins:
            assert version, f"{requirement.name} is not pinned with =="
            assert hashes, f"{requirement.name}=={version} has no hash in the lock"
            assert requirement.specifier.contains(version, prereleases=True), (
                f"the lock's {requirement.name}=={version} is outside {requirement}")


def test_the_suite_runs_against_the_locked_releases():
    locked = _locked()
    for name, pins in locked.items():
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue  # pinned for another Python or platform (a marker)
        assert installed in [version for version, _ in pins], (
            f"{name} {installed} is installed but the lock says {pins[0][0]}: run ./setup.sh")


def _third_party_imports() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for path in sorted((REPO / "press").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top != "press" and top not in sys.stdlib_module_names:
                    found.setdefault(top, path)
    return found


def test_every_import_of_press_is_a_declared_dependency():
    declared = {canonicalize_name(r.name) for r in
                map(Requirement, PYPROJECT["project"]["dependencies"])}
    providers = metadata.packages_distributions()
    for module, path in _third_party_imports().items():
        distributions = {canonicalize_name(d) for d in providers.get(module, [])}
        assert distributions & declared, (
            f"{path.relative_to(REPO)} imports {module} ({', '.join(sorted(distributions)) or '?'})"
            " but pyproject.toml does not declare it")


def test_the_import_check_can_fail():
    """The check above sees a real undeclared import (pylatexenc was one)."""
    imports = _third_party_imports()
    assert {"weasyprint", "pypdf", "pylatexenc", "yaml"} <= set(imports)
