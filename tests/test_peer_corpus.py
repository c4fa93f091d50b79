"""Peer test material through the Markdown stage: the CommonMark spec's examples and
Python-Markdown's own test documents (tests/data/peer/, see its README for sources and
licences). Each document converts, or is refused with problems at its lines; never a
traceback, and never a placeholder, invisible marker or control character in the text."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from test_markdown import ROOT, briefing

from press.briefing import markdown
from press.errors import ContentError

PEER = Path(__file__).parent / "data" / "peer"
EXAMPLES = json.loads((PEER / "commonmark-examples.json").read_text(encoding="utf-8"))
DOCUMENTS = sorted((PEER / "python-markdown").glob("*.txt"))
# python-markdown's placeholders (\x02...\x03, "klzzwxh", "wzxhzdk"), the bell it uses in
# escapes, the old long-word splitter's U+200B, and any other C0 control character
LEAK = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b]|klzzwxh|wzxhzdk")


def _through_the_stage(text: str) -> str:
    """The converted HTML, or "" when refused (each problem then names a line)."""
    doc = briefing(text, refs=())
    try:
        body = markdown.convert(doc, ROOT)
    except ContentError as exc:
        assert exc.problems
        for problem in exc.problems:
            assert problem.message and not LEAK.search(problem.message), problem
            last = doc.body_line + text.count("\n")
            assert problem.line and doc.body_line <= problem.line <= last, problem
        return ""
    assert not LEAK.search(body.html), repr(LEAK.search(body.html))
    for warning in body.warnings:
        assert warning.line, warning
    return body.html


def test_commonmark_examples():
    converted = refused = 0
    for example in EXAMPLES:
        try:
            out = _through_the_stage(example["markdown"])
        except AssertionError as exc:
            raise AssertionError(f"CommonMark example {example['example']} "
                                 f"({example['section']}): {exc}") from None
        converted, refused = converted + bool(out), refused + (not out)
    assert len(EXAMPLES) > 600 and converted > 400


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda p: p.stem)
def test_python_markdown_documents(path):
    _through_the_stage(path.read_text(encoding="utf-8").replace("\r\n", "\n"))


def test_corpus_is_present():
    assert len(DOCUMENTS) >= 80
    assert (PEER / "README.md").is_file()
