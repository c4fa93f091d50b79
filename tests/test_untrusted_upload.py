"""The upload folder and the files around it, with hostile or faulty contents (issue #28 items
8 and 9): links never followed, names refused at check time, state files that are not JSON."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from press.commands import main
from press.errors import ContentError
from press.products import shop
from press.project import Project

BUNDLE = "performance-pointers-2008-09"


@pytest.fixture
def shop_copy(shop_root, tmp_path):
    return lambda: Path(shutil.copytree(shop_root, tmp_path / "copy", symlinks=True))


def test_a_link_in_the_upload_folder_is_removed_not_followed(shop_copy, tmp_path, capsys):
    root = shop_copy()
    secret = tmp_path / "secret.txt"
    secret.write_text("outside the project", encoding="utf-8")
    upload = root / "output" / "upload"
    (upload / "robots.txt").symlink_to(secret)
    (upload / "inside").symlink_to(tmp_path, target_is_directory=True)
    assert main(["--project", str(root), "web"]) == 0
    out = capsys.readouterr().out
    assert "removed output/upload/robots.txt: a symbolic link" in out
    assert "removed output/upload/inside: a symbolic link" in out
    assert not (upload / "robots.txt").exists() and not (upload / "inside").exists()
    assert secret.read_text(encoding="utf-8") == "outside the project"
    assert "secret.txt" not in str(shop.listing(upload))


def test_the_upload_folder_itself_a_link_is_refused(shop_copy, tmp_path, capsys):
    root = shop_copy()
    upload = root / "output" / "upload"
    sync = tmp_path / "sync"
    upload.rename(sync)
    upload.symlink_to(sync, target_is_directory=True)
    for verb in (["web"], ["web", "--changes"], ["web", "--mark-published"]):
        assert main(["--project", str(root), *verb, "-q"]) == 1
        assert "output/upload is a symbolic link" in capsys.readouterr().err
    assert upload.is_symlink() and (sync / "catalogue.json").is_file()


def test_mark_published_after_a_killed_swap(shop_copy, capsys):
    root = shop_copy()
    out = root / "output"
    (out / "upload").rename(out / ".upload.old")  # killed between the swap's two renames
    assert main(["--project", str(root), "web", "--mark-published", "-q"]) == 0


@pytest.mark.parametrize("text", ["{not json", '{"files": ["a.pdf"]}', '[1, 2]',
                                  '{"files": {"a.pdf": 3}}', "[" * 100_000, "\udcff"])
def test_a_corrupt_published_snapshot_is_a_problem(tmp_path, text):
    project = Project.at(tmp_path)
    project.published_snapshot.parent.mkdir(parents=True, exist_ok=True)
    project.published_snapshot.write_bytes(text.encode("utf-8", "surrogateescape"))
    with pytest.raises(ContentError) as failed:
        shop.changes(project)
    assert "the published snapshot is not readable" in str(failed.value)


def test_a_bundle_file_name_that_is_no_id_is_refused_by_check(project, capsys):
    bundles = project / "content" / "bundles"
    shutil.copy(bundles / f"{BUNDLE}.yaml", bundles / "My Bundle (final) ü.yaml")
    assert main(["--project", str(project), "check"]) == 1
    err = capsys.readouterr().err
    assert "My Bundle (final) ü.yaml: file name 'My Bundle (final) ü.yaml' is not a valid " \
        "bundle id (use lower-case letters, digits and hyphens, e.g. my-bundle-final-u.yaml)" \
        in err


def test_a_past_mailing_naming_a_withdrawn_product_is_a_warning(project, capsys):
    (project / "content" / "bundles" / f"{BUNDLE}.yaml").unlink()
    assert main(["--project", str(project), "check"]) == 0
    err = capsys.readouterr().err
    assert f"2009-04.yaml:13: warning: unknown bundle '{BUNDLE}'" in err
    assert "withdrawn since this past mailing" in err


def test_a_folder_or_a_fifo_named_like_a_briefing(project, capsys):
    briefings = project / "content" / "briefings"
    (briefings / "folder.md").mkdir()
    os.mkfifo(briefings / "pipe.md")
    assert main(["--project", str(project), "check"]) == 1  # returns: no hang
    err = capsys.readouterr().err
    assert "folder.md: folder.md is a folder, not a file" in err
    assert "pipe.md: pipe.md is a pipe, socket or device, not a file" in err


def test_a_withdrawn_bundle_leaves_output(shop_copy, capsys):
    root = shop_copy()
    project = Project.at(root)
    made = [p for p in (list(project.bundle_outputs(BUNDLE).values())
                        + list(project.bundle_extras(BUNDLE).values())) if p.is_file()]
    assert len(made) >= 4
    (root / "content" / "bundles" / f"{BUNDLE}.yaml").unlink()
    assert main(["--project", str(root), "web"]) == 0
    assert f"web: removed output/web/bundles/{BUNDLE}.pdf: its bundle file is gone" \
        in capsys.readouterr().out
    assert not [p for p in made if p.exists()]


def test_a_deleted_briefings_draft_leaves_output(shop_copy):
    root = shop_copy()
    slug = "ni-062-placement-stability"
    drafts = root / "output" / "drafts"
    assert (drafts / f"{slug}.pdf").is_file()
    # it failed to load once (its record forgotten), then it was deleted
    records = Project.at(root).records_folder("briefings") / slug
    assert records.is_dir()
    shutil.rmtree(records)
    (root / "content" / "briefings" / f"{slug}.md").unlink()
    (root / "content" / "bundles" / f"{BUNDLE}.yaml").unlink()  # it collects that briefing
    assert main(["--project", str(root), "briefing", "ni-112-under-18-conceptions", "-q"]) == 0
    assert not (drafts / f"{slug}.pdf").exists()
    assert not (root / "output" / "web" / f"{slug}.pdf").exists()
