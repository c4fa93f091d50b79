"""Shared fixtures: a copy of the sample project in a temporary folder, built once per session."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import settings

# The property tests explore new random examples on every local run; CI (.ci/run sets
# HYPOTHESIS_PROFILE=ci) runs a fixed set, so that a run on main is reproducible. An example
# a local run finds goes into a test of its own (test_hardening.py has some).
settings.register_profile("ci", derandomize=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

REPO = Path(__file__).resolve().parent.parent
# The tests' own sample project: its content is a copy of the series as it was, so that the
# publications team can add briefings and bundles to the live content/ without touching CI.
FIXTURE = Path(__file__).resolve().parent / "project"
CHROMIUM = Path("/usr/bin/chromium")  # Debian's; playwright never downloads a browser here
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def copy_project(target: Path) -> Path:
    """A fresh project at ``target``: the fixture content, with the repository's layouts and
    assets (the house style under test)."""
    target.mkdir(parents=True, exist_ok=True)
    shutil.copytree(FIXTURE / "content", target / "content")
    for folder in ("layouts", "assets"):
        shutil.copytree(REPO / folder, target / folder)
    return target


@pytest.fixture(scope="session")
def built_project(tmp_path_factory) -> Path:
    """The sample project, with every briefing built (all editions, plus drafts of finals).

    Read-only for tests: copy it (``copy_built``) before changing anything.
    """
    from press.commands import main

    root = copy_project(tmp_path_factory.mktemp("built") / "project")
    code = main(["--project", str(root), "--drafts", "-q"])
    assert code == 0
    return root


@pytest.fixture(scope="session")
def shop_root(built_project, tmp_path_factory) -> Path:
    """The built project with its bundle and its upload folder (read-only: copy it first)."""
    from press.commands import main
    from press.products import shop
    from press.project import Project

    root = tmp_path_factory.mktemp("shop") / "project"
    shutil.copytree(built_project, root)
    assert main(["--project", str(root), "bundle", "-q"]) == 0
    shop.build(Project.at(root))
    return root


@pytest.fixture
def project(tmp_path) -> Path:
    """A fresh, unbuilt copy of the sample project that a test may change."""
    return copy_project(tmp_path / "project")


@pytest.fixture
def copy_built(built_project, tmp_path):
    """A private copy of the built project (outputs included) that a test may change."""
    def make() -> Path:
        target = tmp_path / "built-copy"
        shutil.copytree(built_project, target)
        return target
    return make


def require(present: bool, missing: str) -> None:
    """Skip a test whose outside checker is not installed on this machine; in CI (CI=true, where
    ./setup.sh installed every checker) a missing checker fails instead: a check that quietly
    did not run would pass blind."""
    if present:
        return
    if os.environ.get("CI"):
        pytest.fail(f"{missing}: CI must run this checker")
    pytest.skip(missing)


def needs(present: bool, missing: str) -> pytest.MarkDecorator:
    """:func:`require` as a mark: skipped here when the tool is missing, run (and so failing)
    in CI."""
    return pytest.mark.skipif(not present and not os.environ.get("CI"), reason=missing)


def run(*cmd: str | Path) -> str:
    """Run a command-line tool (pdfinfo, pdffonts, qpdf, ...) and return its stdout."""
    done = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, check=False)
    if done.returncode not in (0, 2, 3):  # qpdf: 3 = warnings only
        raise AssertionError(f"{cmd[0]} failed ({done.returncode}): {done.stderr}")
    return done.stdout


@pytest.fixture(scope="module")
def browser():
    """Debian's headless chromium driven by playwright (one per test module)."""
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
