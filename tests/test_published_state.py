"""The published state stays true: the upload folder matches its catalogue after every failure,
withdrawal and interruption; outputs are readable by others; CSV cells never run as formulas."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
from pathlib import Path

import pytest

from press.commands import main
from press.core import output
from press.errors import ContentError
from press.products import shop
from press.project import Project

FINALS = ("ni-062-placement-stability", "ni-112-under-18-conceptions")
BUNDLE = "performance-pointers-2008-09"


@pytest.fixture
def shop_copy(shop_root, tmp_path):
    return lambda: shutil.copytree(shop_root, tmp_path / "copy")


def _catalogue_names(root: Path) -> set[str]:
    data = json.loads((root / "output" / "upload" / "catalogue.json").read_text("utf-8"))
    return {f["name"] for p in data["products"] for f in p["files"]}


def _consistent(root: Path) -> None:
    """Every catalogue file is in the folder with its bytes and hash, and no PDF is not."""
    upload = root / "output" / "upload"
    data = json.loads((upload / "catalogue.json").read_text("utf-8"))
    files = shop.listing(upload)
    for product in data["products"]:
        for f in product["files"]:
            assert files[f["name"]] == {"bytes": f["bytes"], "sha256": f["sha256"]}, f["name"]
    assert {n for n in files if n.endswith(".pdf")} <= _catalogue_names(root)
    assert "index.html" not in files  # the review page is beside the folder, not in it


def test_upload_folder_matches_its_catalogue(shop_root):
    _consistent(shop_root)
    review = (shop_root / "output" / "upload-review.html").read_text("utf-8")
    assert "check before upload" in review and 'href="upload/catalogue.json"' in review


def test_final_set_back_to_draft(shop_copy, capsys):
    root = shop_copy()
    source = root / "content" / "briefings" / f"{FINALS[0]}.md"
    source.write_text(source.read_text("utf-8").replace("\nstatus: final\n", "\nstatus: draft\n"),
                      encoding="utf-8")
    (root / "content" / "bundles" / f"{BUNDLE}.yaml").unlink()  # it collects that briefing
    assert main(["--project", str(root), "briefing", FINALS[0], "-q"]) == 0
    _consistent(root)  # the briefing build leaves the upload folder alone
    assert f"{FINALS[0]}.pdf" in shop.listing(root / "output" / "upload")
    assert main(["--project", str(root), "web", "--mark-published", "-q"]) == 0
    shop.build(Project.at(root))
    _consistent(root)
    names = shop.listing(root / "output" / "upload")
    assert not [n for n in names if n.startswith(FINALS[0])]
    assert ("removed", f"{FINALS[0]}.pdf") in shop.changes(Project.at(root))


def test_withdrawn_bundle_leaves_with_its_entry(shop_copy, capsys):
    root = shop_copy()
    assert main(["--project", str(root), "web", "--mark-published", "-q"]) == 0
    (root / "content" / "bundles" / f"{BUNDLE}.yaml").unlink()
    assert main(["--project", str(root), "web"]) == 0
    _consistent(root)
    assert not [n for n in shop.listing(root / "output" / "upload") if BUNDLE in n]
    assert main(["--project", str(root), "web", "--changes"]) == 0
    out = capsys.readouterr().out
    for name in (f"bundles/{BUNDLE}.pdf", f"bundles/{BUNDLE}-sample.pdf"):
        assert re.search(rf"(?m)^removed +{re.escape(name)}$", out), out


def test_failed_briefing_build_leaves_the_upload_folder(shop_copy):
    root = shop_copy()
    before = shop.listing(root / "output" / "upload")
    source = root / "content" / "briefings" / f"{FINALS[1]}.md"
    source.write_text(source.read_text("utf-8") + "\n[@nobody1999]\n", encoding="utf-8")
    other = root / "content" / "briefings" / f"{FINALS[0]}.md"
    other.write_text(other.read_text("utf-8") + "\nOne more line.\n", encoding="utf-8")
    assert main(["--project", str(root), "-q"]) == 1
    assert shop.listing(root / "output" / "upload") == before
    _consistent(root)


def test_derived_names_cannot_collide(project):
    source = project / "content" / "briefings" / f"{FINALS[0]}.md"
    text = re.sub(r"(?m)^number: .*$", "number: 9", source.read_text("utf-8"))
    text = re.sub(r"(?m)^isbn: .*\n", "", text)
    source.with_name(f"{FINALS[0]}-sample.md").write_text(text, encoding="utf-8")
    with pytest.raises(ContentError) as caught:
        shop.build(Project.at(project))
    message = str(caught.value)
    assert (f"the full file of '{FINALS[0]}-sample' would be named {FINALS[0]}-sample.pdf, "
            f"the same as the sample file of '{FINALS[0]}'") in message
    assert not (project / "output" / "upload").exists()


def test_changes_survive_a_killed_swap(shop_copy, capsys):
    root = shop_copy()
    out = root / "output"
    assert main(["--project", str(root), "web", "--mark-published", "-q"]) == 0
    (out / "upload").rename(out / ".upload.old")  # killed between the swap's two renames
    assert main(["--project", str(root), "web", "--changes"]) == 0
    assert "no changes since the last published upload" in capsys.readouterr().out


def test_killed_mailing_staging_is_cleaned(tmp_path):
    mailings = tmp_path / "output" / "mailings"
    dead = mailings / ".2009-04.99999999.abcd.staging"
    dead.mkdir(parents=True)
    (dead / "letters.pdf").write_bytes(b"%PDF-1.7")
    output.clean_partials(mailings)
    assert not dead.exists()


def test_atomic_writes_are_readable_by_others(tmp_path):
    old = os.umask(0o022)
    try:
        output.write_bytes(tmp_path / "a.txt", b"x")
        with output.staged_folder(tmp_path / "folder") as stage:
            (stage / "b").write_text("y")
    finally:
        os.umask(old)
    assert (tmp_path / "a.txt").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "folder").stat().st_mode & 0o777 == 0o755
    os.umask(0o077)
    try:
        output.write_bytes(tmp_path / "private.txt", b"x")
    finally:
        os.umask(old)
    assert (tmp_path / "private.txt").stat().st_mode & 0o777 == 0o600  # the umask is respected


@pytest.mark.parametrize("cell", ["=HYPERLINK(\"http://x\")", "+1+1", "-2+3", "@SUM(A1)",
                                  "\tx", "\rx"])
def test_spreadsheet_cells_never_run(cell):
    assert output.spreadsheet_safe(cell) == "'" + cell
    row = list(csv.reader(io.StringIO(_one_row(cell))))[0]
    assert row[0].startswith("'")


def test_spreadsheet_cells_keep_plain_values():
    assert output.spreadsheet_safe("Placement stability") == "Placement stability"
    assert output.spreadsheet_safe(12) == "12" and output.spreadsheet_safe(None) == ""


def _one_row(cell: str) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerow(output.safe_row([cell, 1]))
    return buffer.getvalue()


def test_catalogue_csv_is_neutralised(shop_copy):
    root = shop_copy()
    source = root / "content" / "briefings" / f"{FINALS[0]}.md"
    text = source.read_text("utf-8")
    text = re.sub(r"(?m)^subtitle: .*$", 'subtitle: "=HYPERLINK(\\"http://evil\\")"', text, count=1)
    source.write_text(text, encoding="utf-8")
    shop.build(Project.at(root))
    rows = list(csv.DictReader(io.StringIO(
        (root / "output" / "upload" / "catalogue.csv").read_bytes().decode("utf-8-sig"))))
    assert rows[0]["subtitle"] == "'=HYPERLINK(\"http://evil\")"
