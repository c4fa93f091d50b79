"""The bad-input corpus (tests/bad_inputs/): each case fails with its message at file:line.

Most cases run ``build.py check``; the few that need rendering (template text, resources,
time limits) build just that briefing's web edition. See tests/bad_inputs/README.md.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from conftest import FIXTURE, copy_project

from press.commands import main

CORPUS = Path(__file__).resolve().parent / "bad_inputs"


def expectations(path: Path) -> dict[str, list[str]]:
    """``key: value`` lines of a ``.expect`` file (keys may repeat)."""
    found: dict[str, list[str]] = {}
    if path.is_file():
        for raw in path.read_text(encoding="utf-8").splitlines():
            if raw.strip() and not raw.lstrip().startswith("#"):
                key, _, value = raw.partition(":")
                found.setdefault(key.strip(), []).append(value.strip())
    return found


def cases(folder: Path) -> list:
    return [pytest.param(p, id=p.stem) for p in sorted(folder.glob("*.md"))
            if p.name != "README.md"]


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    """The sample project without its briefings: quick to copy and to check."""
    root = copy_project(tmp_path_factory.mktemp("corpus") / "project")
    for path in (root / "content" / "briefings").glob("*.md"):
        path.unlink()
    # the sample bundle and mailing name the sample briefings just removed
    for folder in ("bundles", "mailings"):
        shutil.rmtree(root / "content" / folder, ignore_errors=True)
    return root


def prepare(case: Path, expect: dict, base: Path, tmp_path: Path, monkeypatch) -> Path:
    root = tmp_path / "project"
    shutil.copytree(base, root, symlinks=True)
    outside = tmp_path / "outside"
    outside.mkdir()
    shutil.copy(CORPUS / "files" / "truncated.png", outside / "secret.png")
    (outside / "secret.md").write_bytes(case.read_bytes())
    target = root / "content" / "briefings" / case.name
    for line in expect.get("symlink", []):
        link, _, to = (part.strip() for part in line.partition("->"))
        (root / link).symlink_to(to.format(outside=outside))
    if not target.is_symlink():
        target.write_bytes(case.read_bytes())
    for name in expect.get("sample", []):
        shutil.copy(FIXTURE / "content" / "briefings" / f"{name}.md", target.parent)
    for line in expect.get("copy", []):
        source, _, dest = (part.strip() for part in line.partition("->"))
        (root / dest).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(CORPUS / source, root / dest)
    for line in expect.get("env", []):
        name, _, value = line.partition("=")
        monkeypatch.setenv(name.strip(), value.strip())
    return root


def run(root: Path, slug: str, how: str, capsys) -> tuple[int, str]:
    if how == "build":
        argv = ["--project", str(root), "-q", "-j", "1", "briefing", slug, "--edition", "web"]
    else:
        argv = ["--project", str(root), "-q", "check"]
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def pdf_texts(root: Path) -> dict[Path, str]:
    from pypdf import PdfReader

    texts = {}
    for pdf in sorted((root / "output").rglob("*.pdf")):
        reader = PdfReader(pdf)
        assert not reader.attachments, f"{pdf.name} has attachments: {list(reader.attachments)}"
        text = " ".join(page.extract_text() for page in reader.pages)
        texts[pdf] = re.sub(r"\s+", " ", text)
    return texts


def words_off_the_page(pdf: Path) -> list[str]:
    """Words whose box crosses the page edge (pdftotext -bbox)."""
    from conftest import run as tool

    off, width = [], 0.0
    for line in tool("pdftotext", "-bbox", pdf, "-").splitlines():
        if page := re.search(r'<page width="([\d.]+)"', line):
            width = float(page.group(1))
        elif word := re.search(r'xMin="([\d.-]+)".*xMax="([\d.-]+)"[^>]*>([^<]*)<', line):
            if float(word.group(1)) < 0 or float(word.group(2)) > width:
                off.append(word.group(3)[:40])
    return off


@pytest.mark.parametrize("case", cases(CORPUS))
def test_bad_input(case: Path, base, tmp_path, monkeypatch, capsys):
    expect = expectations(case.with_suffix(".expect"))
    assert expect.get("message"), f"{case.name}: its .expect file needs a 'message:'"
    root = prepare(case, expect, base, tmp_path, monkeypatch)
    how = expect.get("how", ["check"])[0]
    code, output = run(root, case.stem, how, capsys)

    assert "Traceback" not in output
    assert code == int(expect.get("exit", ["1"])[0]), output
    line = expect.get("line", [""])[0]
    where = f"content/briefings/{case.name}" + (f":{line}: " if line else ": ")
    for message in expect["message"]:
        assert any(where in shown and message in shown for shown in output.splitlines()), (
            f"expected '{where}...{message}' in:\n{output}")
    if how == "build":
        texts = pdf_texts(root)
        built = root / "output" / "web" / f"{case.stem}.pdf"
        assert built.is_file() == (code == 0)
        for absent in expect.get("absent", []):
            assert not any(absent in text for text in texts.values())


@pytest.mark.parametrize("case", cases(CORPUS / "valid"))
def test_odd_but_valid_input(case: Path, base, tmp_path, monkeypatch, capsys):
    expect = expectations(case.with_suffix(".expect"))
    root = prepare(case, expect, base, tmp_path, monkeypatch)
    how = expect.get("how", ["check"])[0]
    code, output = run(root, case.stem, how, capsys)

    assert code == 0, output
    assert "error" not in output.lower() and "warning" not in output.lower(), output
    if how == "build":
        pdf = root / "output" / "web" / f"{case.stem}.pdf"
        assert words_off_the_page(pdf) == []
        texts = pdf_texts(root)
        text = texts[pdf]
        for wanted in expect.get("text", []):
            assert wanted in text, f"'{wanted}' not in the PDF text:\n{text[:3000]}"
        for absent in expect.get("absent", []):
            assert absent not in text


def test_corpus_is_big_enough():
    assert len(cases(CORPUS)) >= 30
    for case in cases(CORPUS):
        assert case.values[0].with_suffix(".expect").is_file(), case.id
