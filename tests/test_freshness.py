"""Freshness: code keys cover exactly the code that can run, and follow modules that move.

These run on a copy of the press package in a temporary folder, imported under its own name,
so that moving and editing modules cannot disturb the package under test.
"""

from __future__ import annotations

import importlib
import shutil
import sys
from pathlib import Path

import pytest

from press.core import freshness
from press.project import Project

PACKAGE = Path(freshness.__file__).resolve().parent.parent


@pytest.fixture
def copy(tmp_path, monkeypatch):
    """A copy of the package's source whose freshness module reads the copy."""
    target = tmp_path / "press"
    shutil.copytree(PACKAGE, target, ignore=shutil.ignore_patterns("__pycache__"))
    spec = importlib.util.spec_from_file_location("copied_freshness",
                                                  target / "core" / "freshness.py")
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "copied_freshness", module)
    spec.loader.exec_module(module)
    return target, module


def key(module, *roots):
    module._CODE.clear()
    return module.code_key(*roots)


def test_the_briefing_key_covers_the_chain_and_not_the_products():
    modules = freshness.code_modules("press.briefing", "press.build.pipeline")
    for needed in ("press.briefing.markdown", "press.render.typeset", "press.render.fetcher",
                   "press.content.load", "press.core.fields", "press.model", "press.project"):
        assert needed in modules, needed
    assert not [m for m in modules if m.startswith(("press.products", "press.preview",
                                                     "press.commands"))], modules


def test_editing_a_module_changes_exactly_the_keys_of_code_that_imports_it(copy):
    root, module = copy
    before = {r: key(module, r) for r in ("press.briefing", "press.products.mailing",
                                          "press.commands")}
    fetcher = root / "render" / "fetcher.py"
    fetcher.write_text(fetcher.read_text() + "\n# an edit\n")
    after = {r: key(module, r) for r in before}
    assert after["press.briefing"] != before["press.briefing"]  # imported lazily or not
    assert after["press.commands"] != before["press.commands"]
    preview_only = root / "preview" / "__init__.py"
    preview_only.write_text(preview_only.read_text() + "\n# an edit\n")
    assert key(module, "press.briefing") == after["press.briefing"]


def test_moving_a_module_changes_the_key_even_with_the_same_bytes(copy):
    """A module moved to another package (and its importers updated) is a different key:
    no cached PDF made by the old layout of the code is served."""
    root, module = copy
    before = key(module, "press.briefing")
    (root / "core" / "moved_cite.py").write_text((root / "briefing" / "cite.py").read_text())
    (root / "briefing" / "cite.py").unlink()
    for path in root.rglob("*.py"):
        text = path.read_text()
        if "press.briefing import cite" in text:
            path.write_text(text.replace("from press.briefing import cite",
                                         "from press.core import moved_cite as cite"))
    after = key(module, "press.briefing")
    assert after != before
    assert "press.core.moved_cite" in module.code_modules("press.briefing")
    # and a later edit of the moved module is still seen
    moved = root / "core" / "moved_cite.py"
    moved.write_text(moved.read_text() + "\n# an edit\n")
    assert key(module, "press.briefing") != after


def test_a_new_module_imported_by_the_chain_joins_its_key(copy):
    root, module = copy
    before = key(module, "press.briefing")
    (root / "core" / "extra.py").write_text("VALUE = 1\n")
    assert key(module, "press.briefing") == before  # nothing imports it yet
    init = root / "briefing" / "__init__.py"
    init.write_text(init.read_text() + "\n\ndef uses():\n    from press.core import extra\n"
                    "    return extra.VALUE\n")
    changed = key(module, "press.briefing")
    assert changed != before
    (root / "core" / "extra.py").write_text("VALUE = 2\n")
    assert key(module, "press.briefing") != changed


def test_records_are_fresh_only_with_the_same_key_and_untouched_files(tmp_path):
    out = tmp_path / "out.pdf"
    out.write_bytes(b"%PDF")
    used = tmp_path / "font.woff2"
    used.write_bytes(b"font")
    record = freshness.Record(Project(tmp_path), "bundles", "b")
    assert record.fresh("k") is None
    record.write("k", [out], {"pages": 3}, inputs=[used])
    assert record.fresh("k") == {"pages": 3}
    assert record.fresh("other") is None
    used.write_bytes(b"another font")  # a file the build read changed
    assert record.fresh("k") is None
    used.write_bytes(b"font")
    assert record.fresh("k") == {"pages": 3}
    out.write_bytes(b"%PDF-changed")
    assert record.fresh("k") is None


def test_a_derived_store_keeps_one_entry_per_name(tmp_path):
    store = freshness.DerivedStore(Project(tmp_path), "things")
    assert store.get("b", "1" * 64, ".bin") is None
    store.put("b", "1" * 64, {".bin": b"one", ".json": b"{}"})
    store.put("b.web", "3" * 64, {".bin": b"other name"})
    assert store.get("b", "1" * 64, ".bin", ".json") == [b"one", b"{}"]
    store.put("b", "2" * 64, {".bin": b"two"})
    assert store.get("b", "1" * 64, ".bin") is None  # replaced
    assert store.get("b", "2" * 64, ".bin") == [b"two"]
    assert store.any("b", ".bin") == b"two"
    assert store.get("b.web", "3" * 64, ".bin") == [b"other name"]
    assert Project(tmp_path).derived_folder("things").is_relative_to(Project(tmp_path).cache)
