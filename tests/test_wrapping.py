"""One parse: a paragraph hard-wrapped at any width gives the same page as on one line.

Citations, cross-references, footnote marks, links and the checks read a paragraph's joined
lines (press.briefing.blocks), as Markdown does. The fixture briefings, the real briefing and
Python-Markdown's own test documents are re-wrapped at 40, 60 and 72 columns by
``rewrap`` (paragraph text only) and must convert to the same HTML, whitespace aside."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from conftest import FIXTURE, copy_project
from rewrap import rewrap
from test_markdown import ROOT, briefing, html

from press.briefing import markdown
from press.content.load import load_all
from press.errors import ContentError, Problems
from press.project import Project

WIDTHS = (40, 60, 72)
BRIEFINGS = sorted((FIXTURE / "content" / "briefings").glob("*.md"))
REAL = Path(__file__).parent / "data" / "real-briefing" / "ni-999-under-18-conceptions-2014.md"
PEER = sorted((Path(__file__).parent / "data" / "peer" / "python-markdown").glob("*.txt"))
ALL_REFS = "[@ward2001] [@meltzer2003] [@swann2003] [@harden2009] [@smith1999] [@smith2003]"


def flat(out: str) -> str:
    """HTML with its whitespace runs as one space (none at a block's edges)."""
    out = re.sub(r"\s+", " ", out).strip()
    return re.sub(r" ?(</?(?:p|li|dd|dt|h\d|td|th|ul|ol|dl|blockquote)\b[^>]*>) ?", r"\1", out)


@pytest.mark.parametrize("wrapped, one_line", [
    ("early conception [@swann2003;\n@harden2009]:", "early conception [@swann2003; @harden2009]:"),
    ("[see @ward2001,\np. 3]", "[see @ward2001, p. 3]"),
    ("As @ward2001\n[p. 3] says", "As @ward2001 [p. 3] says"),
    ("[see\n@ward2001, pp.\n3-5; also\n-@smith1999]", "[see @ward2001, pp. 3-5; also -@smith1999]"),
    ("> quoted [@swann2003;\n> @harden2009].", "> quoted [@swann2003; @harden2009]."),
    ("- an item [@swann2003;\n  @harden2009].", "- an item [@swann2003; @harden2009]."),
])
def test_wrapped_citations_read_as_on_one_line(wrapped, one_line):
    assert flat(html(f"{wrapped}\n\n{ALL_REFS}")) == flat(html(f"{one_line}\n\n{ALL_REFS}"))
    assert "@" not in re.sub(r"<[^>]+>", "", html(f"{wrapped}\n\n{ALL_REFS}"))


def test_a_wrapped_unknown_citation_is_named_at_its_first_line():
    with pytest.raises(ContentError) as info:
        markdown.convert(briefing(f"Text.\n\nSome text [@swann2003;\n@nobody2001].\n\n{ALL_REFS}"),
                         ROOT)
    assert [(p.line, p.message) for p in info.value.problems] == [
        (22, "unknown citation 'nobody2001'")]


def _convert_all(root: Path) -> dict[str, str]:
    problems = Problems()
    _, briefings = load_all(Project.at(root), problems)
    assert not problems.errors, problems.items
    return {b.slug: flat(markdown.convert(b, root).html) for b in briefings}


@pytest.fixture(scope="module")
def unwrapped(tmp_path_factory):
    root = copy_project(tmp_path_factory.mktemp("unwrapped") / "project")
    shutil.copy(REAL, root / "content" / "briefings")
    return root, _convert_all(root)


@pytest.mark.parametrize("width", WIDTHS)
def test_fixture_briefings_rewrapped(unwrapped, tmp_path, width):
    source, expected = unwrapped
    root = tmp_path / "project"
    shutil.copytree(source, root)
    changed = 0
    for path in (root / "content" / "briefings").glob("*.md"):
        text = path.read_text(encoding="utf-8")
        wrapped = rewrap(text, width)
        changed += wrapped != text
        path.write_text(wrapped, encoding="utf-8")
    assert changed == len(BRIEFINGS) + 1  # the helper did wrap every one
    assert _convert_all(root) == expected


def _outcome(text: str):
    """The flattened HTML, or the refusal's messages (lines move when text is wrapped)."""
    try:
        return flat(markdown.convert(briefing(text, refs=()), ROOT).html)
    except ContentError as exc:
        return sorted({p.message for p in exc.problems})


@pytest.mark.parametrize("path", PEER, ids=lambda p: p.stem)
def test_python_markdown_documents_rewrapped(path):
    text = path.read_text(encoding="utf-8").replace("\r\n", "\n")
    expected = _outcome(text)
    for width in WIDTHS:
        assert _outcome(rewrap(text, width)) == expected, width


def test_commonmark_examples_rewrapped():
    import json

    examples = json.loads((PEER[0].parent.parent / "commonmark-examples.json").read_text(
        encoding="utf-8"))
    changed = differ = 0
    for example in examples:
        text, expected = example["markdown"], None
        for width in WIDTHS:
            wrapped = rewrap(text, width)
            if wrapped == text:
                continue
            changed += 1
            expected = _outcome(text) if expected is None else expected
            if _outcome(wrapped) != expected:
                differ += 1
                print(example["example"], width, repr(text))
    assert changed > 100 and differ == 0


def test_the_helper_wraps_paragraphs_only():
    text = ("## A heading that is rather long for forty columns\n\nA paragraph that is rather "
            "long for forty columns, so it wraps.\n\n    code that is rather long for forty "
            "columns stays\n\n| a table row that is long | x |\n|---|---|\n")
    out = rewrap(text, 40)
    assert out.count("\n") == text.count("\n") + 1
    assert max(len(line) for line in out.split("\n")[2:4]) <= 40
    assert "    code that is rather long for forty columns stays" in out


def _pdf_text(root: Path, slug: str) -> str:
    from pypdf import PdfReader

    from press.commands import main

    assert main(["--project", str(root), "-q", "-j", "1", "briefing", slug,
                 "--edition", "web"]) == 0
    reader = PdfReader(root / "output" / "web" / f"{slug}.pdf")
    return " ".join(" ".join(page.extract_text() for page in reader.pages).split())


def test_the_pdf_reads_the_same_wrapped_at_40_columns(tmp_path):
    """One end-to-end case: the real briefing's web edition, from its source as written and
    re-wrapped, has the same text (hyphenation and line breaks aside)."""
    slug = REAL.stem
    texts = []
    for width in (None, 40):
        root = copy_project(tmp_path / f"w{width}")
        text = REAL.read_text(encoding="utf-8")
        target = root / "content" / "briefings" / REAL.name
        target.write_text(text if width is None else rewrap(text, width), encoding="utf-8")
        texts.append(_pdf_text(root, slug))
    assert texts[0] == texts[1]
    assert not re.search(r"(?<!\w)@\w", texts[0])  # (e-mail addresses only: the contact's)
