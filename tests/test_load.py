"""Load stage: every front matter rule, reported as path:line with a useful hint."""

from __future__ import annotations

import textwrap

import pytest

from press.content.load import load_all
from press.core.fields import isbn13_ok
from press.errors import Problems
from press.project import Project

GOOD = """\
---
title: A briefing
series: performance-pointers
number: 9
indicator:
  code: NI 99
  title: Something measured
published: "2010-04"
authors:
  - name: Ann Author
    role: Researcher
status: final
summary: Short summary.
---

## Section

Text.
"""


def write(project, text, slug="ni-099-test"):
    path = project / "content" / "briefings" / f"{slug}.md"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def load(project, slugs=None):
    problems = Problems()
    _, briefings = load_all(Project.at(project), problems, slugs)
    return briefings, [p.format(project) for p in problems.items]


def test_good_briefing_loads(project):
    write(project, GOOD)
    briefings, problems = load(project, ["ni-099-test"])
    assert problems == []
    (b,) = briefings
    assert (b.title, b.number, b.indicator.code, b.status) == ("A briefing", 9, "NI 99", "final")
    assert b.series.name == "Performance Pointers"
    assert b.body_line == 15 and b.body.startswith("\n## Section")
    assert b.published_label == "April 2010"


def test_sample_content_is_valid(project):
    briefings, problems = load(project)
    assert problems == []
    assert {b.slug for b in briefings} >= {"ni-062-placement-stability",
                                            "ni-112-under-18-conceptions"}


@pytest.mark.parametrize("old, new, expected", [
    ("title: A briefing", "titel: A briefing",
     "content/briefings/ni-099-test.md:2: unknown field 'titel' (did you mean 'title'?)"),
    ("number: 9", "number: nine",
     "ni-099-test.md:4: 'number' must be a positive whole number, not 'nine'"),
    ("number: 9", "number: 0", "ni-099-test.md:4: 'number' must be a positive whole number"),
    ('published: "2010-04"', 'published: "April 2010"',
     "ni-099-test.md:8: 'published' must be YYYY-MM or YYYY-MM-DD"),
    ('published: "2010-04"', 'published: "2010-13"', "ni-099-test.md:8: 'published' is not a real"),
    ("status: final", "status: finished",
     "ni-099-test.md:12: 'status' must be 'draft' or 'final', not 'finished'"),
    ("series: performance-pointers", "series: performance-pointer",
     "ni-099-test.md:3: unknown series 'performance-pointer' (did you mean 'performance-pointers'?)"),
    ("  code: NI 99\n", "  cod: NI 99\n", "ni-099-test.md:6: unknown field 'cod' in 'indicator'"),
    ("  - name: Ann Author\n", "  - nam: Ann Author\n",
     "ni-099-test.md:10: unknown field 'nam' in 'authors[1]'"),
    ("summary: Short summary.", "summary: [a, b]", "ni-099-test.md:13: 'summary' must be text"),
    ("summary: Short summary.", "summary: Short.\nisbn: 978-0-00-000000-1",
     "ni-099-test.md:14: 'isbn' 978-0-00-000000-1 is not a valid ISBN-13"),
    ("summary: Short summary.", "summary: Short.\nprice: cheap",
     "ni-099-test.md:14: 'price' must be a number of pounds"),
    ("summary: Short summary.", "summary: Short.\nlayout: brefing",
     "ni-099-test.md:14: unknown layout 'brefing' (did you mean 'briefing'?)"),
    ("summary: Short summary.", "summary: Short.\nlayout: catalogue",
     "ni-099-test.md:14: unknown layout 'catalogue'"),
    ("summary: Short summary.\n", "", "ni-099-test.md:2: missing required field 'summary'"),
    ("title: A briefing\n", "title: A briefing\ntitle: Again\n",
     "ni-099-test.md:3: duplicate key 'title' (first given on line 2)"),
    ("number: 9", "number: 9\n\tfoo: 1", "ni-099-test.md:5: tab used for indentation"),
    ("title: A briefing", "title: [unclosed", "ni-099-test.md:3: invalid YAML"),
    ("title: A briefing", "title: &a x\nsubtitle: *a", "ni-099-test.md:2: invalid YAML: anchors"),
])
def test_front_matter_errors_name_file_and_line(project, old, new, expected):
    assert old in GOOD
    write(project, GOOD.replace(old, new, 1))
    briefings, problems = load(project, ["ni-099-test"])
    assert briefings == []
    assert any(expected in p for p in problems), problems


def test_all_problems_are_collected_together(project):
    text = GOOD.replace("number: 9", "number: -1").replace("status: final", "status: done")
    write(project, text.replace("title: A briefing", "titel: x"))
    _, problems = load(project, ["ni-099-test"])
    assert len(problems) >= 3, problems


def test_missing_closing_front_matter_and_empty_file(project):
    write(project, GOOD.replace("---\n\n## Section", "\n## Section"), slug="ni-099-a")
    write(project, "", slug="ni-099-b")
    _, problems = load(project, ["ni-099-a", "ni-099-b"])
    assert any("ni-099-a.md:1: front matter is not closed" in p for p in problems)
    assert any("ni-099-b.md:1: file is empty" in p for p in problems)


def test_non_utf8_reports_byte_offset(project):
    path = project / "content" / "briefings" / "ni-099-test.md"
    path.write_bytes(GOOD.encode().replace(b"Short summary", b"Short \xff summary"))
    _, problems = load(project, ["ni-099-test"])
    assert any(":13: not UTF-8: byte 0xff at byte offset" in p for p in problems), problems


def test_bom_and_crlf_are_accepted(project):
    path = project / "content" / "briefings" / "ni-099-test.md"
    path.write_bytes(b"\xef\xbb\xbf" + GOOD.replace("\n", "\r\n").encode())
    briefings, problems = load(project, ["ni-099-test"])
    assert problems == [] and briefings[0].title == "A briefing"


def test_duplicate_number_in_series(project):
    write(project, GOOD.replace("number: 9", "number: 1"))
    _, problems = load(project)
    assert any("ni-099-test.md:4: number 1 is already used in series 'performance-pointers'"
               in p for p in problems), problems


def test_unknown_slug_on_command_line(project):
    _, problems = load(project, ["ni-062-placement-stabilty"])
    assert any("no briefing 'ni-062-placement-stabilty' (did you mean "
               "'ni-062-placement-stability'?)" in p for p in problems)


def test_reference_entries_are_validated(project):
    text = GOOD.replace("summary: Short summary.\n", """summary: Short summary.
references:
  - id: a2001
    type: journal
    authors: ["A, B."]
    year: 2001
    title: T
""")
    write(project, text)
    _, problems = load(project, ["ni-099-test"])
    assert any("ni-099-test.md:16: reference type must be one of" in p for p in problems)


def test_isbn_checksum():
    assert isbn13_ok("978-1-904984-24-5")
    assert not isbn13_ok("978-1-904984-24-4")
    assert not isbn13_ok("1-904984-24-5")


def test_series_problems(project):
    path = project / "content" / "series" / "performance-pointers.yaml"
    path.write_text(path.read_text().replace("purchase_url:", "purchase_ulr:"))
    _, problems = load(project, ["ni-062-placement-stability"])
    assert any("performance-pointers.yaml" in p and "unknown field 'purchase_ulr' "
               "(did you mean 'purchase_url'?)" in p for p in problems), problems


# -- the YAML parser: libyaml for speed, PyYAML's pure-Python parser as the reference ---------

def _outcome(text, fast):
    from press.core import yamlsafe
    from press.errors import ContentError

    saved = yamlsafe._FastLoader
    if not fast:
        yamlsafe._FastLoader = None
    try:
        return "ok", yamlsafe.load(text, "front.md", line_offset=1)
    except ContentError as exc:
        return "error", [(p.line, p.message, p.hint) for p in exc.problems]
    finally:
        yamlsafe._FastLoader = saved


def test_front_matter_parses_with_libyaml_when_installed(monkeypatch):
    import yaml

    from press.core import yamlsafe

    if not yaml.__with_libyaml__:
        pytest.skip("this PyYAML is built without libyaml")
    front = GOOD.split("---\n")[1]

    def refuse(*args, **kwargs):
        raise AssertionError("the pure-Python parser ran for valid front matter")

    monkeypatch.setattr(yamlsafe, "_StrictLoader", refuse)
    data, lines = yamlsafe.load(front, "front.md", line_offset=1)
    assert data["authors"][0]["role"] == "Researcher"
    assert lines[("authors", 0, "role")] == 11 and lines[("indicator", "code")] == 6


def test_libyaml_and_pure_python_parsers_agree_on_damaged_front_matter():
    """Same data, same lines, same errors (messages and lines) for every mutation tried."""
    import random

    front = GOOD.split("---\n")[1] + "refs:\n  - {id: a, year: 2009}\n  - 'quoted: text'\n"
    pieces = [":", "-", "[", "]", "{", "}", "'", '"', "#", "&a ", "*a", "!!str ", "|", ">",
              "\n", " ", "\t", "\x01", "\x00", "\ufeff", "\ud800", "\x85", "<<", "~", "é"]
    rnd = random.Random(8)
    for _ in range(400):
        chars = list(front)
        for _ in range(rnd.randint(1, 3)):
            at = rnd.randrange(len(chars))
            roll = rnd.random()
            if roll < 0.4:
                chars.insert(at, rnd.choice(pieces))
            elif roll < 0.7:
                del chars[at]
            else:
                chars[at] = rnd.choice(pieces)
        text = "".join(chars)
        assert _outcome(text, fast=True) == _outcome(text, fast=False), text
