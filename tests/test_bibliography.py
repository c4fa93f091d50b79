"""Bibliography files (CSL-JSON, BibTeX, RIS) and the front matter's references: one house
style whatever the source; citation forms; cross-references; every bad file a clear error."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from press.briefing import markdown
from press.content import bibliography
from press.content.load import load_all
from press.errors import ContentError, Problems
from press.project import Project

DATA = Path(__file__).resolve().parent / "data" / "bibliography"
FRONT = """\
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
status: final
summary: Short summary.
"""
BODY = """\
## Findings

One [@meltzer2003]. Two [@goodman1997, p. 12]. Three [@ward2001; @meltzer2003].
Four [-@ward2001]. @ward2001 found it. Five [see @goodman1997, pp. 3-5].
Six [@who2009a] and [@who2009b]. @vanderberg2001 [p. 14] argue. Seven [@smithnd].
"""
CITED = ["(Meltzer et al, 2003)", "(Goodman, 1997, p. 12)",
         "(Ward and Skuse, 2001; Meltzer et al, 2003)", "(2001)", "Ward and Skuse (2001)",
         "(see Goodman, 1997, pp. 3–5)", "(World Health Organization, 2009a)",
         "(World Health Organization, 2009b)", "van der Berg and Müller (2001, p. 14)",
         "(Smith, n.d.)"]
DOI = "https://doi.org/10.1111/j.1469-7610.1997.tb01545.x"
# (the house style, layouts/csl/house-harvard.csl, puts titles in typographic quotes, as the
# body's smart quotes: the built-in formatter it replaced wrote straight ones)
LISTED = [
    "Goodman, R. (1997) ‘The Strengths and Difficulties Questionnaire: a research note’ "
    "<i>Journal of Child Psychology and Psychiatry</i> 38 (5), pp. 581–586. "
    f'Available at: <a href="{DOI}">{DOI}</a>',
    "Meltzer, H. et al (2003) <i>The Mental Health of Young People Looked After by Local "
    "Authorities in England</i> (London: HMSO).",
    "Smith, J. (n.d.) <i>Undated Guidance</i> (Leeds: Pub).",
    "van der Berg, A. and Müller, J. (2001) ‘Placement stability’ in Smith, J. (ed) "
    "<i>Handbook of Care</i>, 2nd edn (London: Sage), pp. 12–30.",
    "Ward, H. and Skuse, T. (2001) ‘Performance Targets and Stability of Placements for "
    "Children Long Looked After Away From Home’ <i>Children and Society</i> 15 (5).",
    "World Health Organization (2009a) <i>Mental health of children in care</i>. Available at: "
    '<a href="https://example.org/who/care">https://example.org/who/care</a> '
    "(accessed 15 March 2010)",
    "World Health Organization (2009b) <i>Placement stability in Europe</i>, Report no. 12 "
    "(Geneva: WHO).",
]


def write(project: Path, front: str = "", body: str = BODY, files=(),
          slug: str = "ni-099-test") -> Path:
    """A briefing in ``project`` with extra front matter; ``files`` copied next to it."""
    folder = project / "content" / "briefings"
    for name in files:
        shutil.copy(DATA / name, folder / name)
    path = folder / f"{slug}.md"
    path.write_text(FRONT + front + "---\n\n" + body, encoding="utf-8")
    return path


def convert(project: Path, slug: str = "ni-099-test"):
    problems = Problems()
    _, briefings = load_all(Project.at(project), problems, [slug])
    assert not problems.errors, [str(p) for p in problems.items]
    return markdown.convert(briefings[0], project)


def problems_of(project: Path, slug: str = "ni-099-test") -> list[str]:
    problems = Problems()
    root = Project.at(project)
    _, briefings = load_all(root, problems, [slug])
    for briefing in briefings:
        try:
            markdown.convert(briefing, project)
        except ContentError as exc:
            problems.extend(exc.problems)
    return [p.format(root.root) for p in problems.items]


def citations(html: str) -> list[str]:
    # (a number range is kept whole by word joiners round its dash)
    html = html.replace("\u2060", "")
    return [re.sub(r"<[^>]+>", "", s)
            for s in re.findall(r'<span class="citation">(.*?)</span>', html)]


def entries(references_html: str) -> list[str]:
    return re.findall(r'<li id="[^"]+">(.*)</li>', references_html)


@pytest.fixture
def empty(project):
    """The sample project without its briefings."""
    for path in (project / "content" / "briefings").glob("*.md"):
        path.unlink()
    return project


# -- one house style whatever the source -------------------------------------------------------

SOURCES = {"yaml": (DATA / "refs.yaml").read_text(encoding="utf-8"),
           "csl-json": "bibliography: refs.json\n", "bibtex": "bibliography: refs.bib\n",
           "ris": "bibliography: [refs.ris]\n"}


# the one difference between the sources: refs.json marks "Care" in the book's title as italic,
# which inside an italic title prints upright (CSL's flip-flop)
UPRIGHT = '<span style="font-style: normal">Care</span>'


@pytest.mark.parametrize("source", SOURCES)
def test_every_source_gives_the_house_style(empty, source):
    write(empty, SOURCES[source], files=("refs.json", "refs.bib", "refs.ris"))
    body = convert(empty)
    assert citations(body.html) == CITED
    assert entries(body.references_html.replace(UPRIGHT, "Care")) == LISTED
    assert (UPRIGHT in body.references_html) == (source == "csl-json")
    assert not body.warnings


def test_sources_give_identical_html(empty):
    outputs = set()
    for front in SOURCES.values():
        write(empty, front, files=("refs.json", "refs.bib", "refs.ris"))
        body = convert(empty)
        outputs.add((body.html, body.references_html.replace(UPRIGHT, "Care")))
    assert len(outputs) == 1


def test_records_are_identical_across_formats():
    records = {suffix: bibliography.read(DATA / f"refs.{suffix}")
               for suffix in ("json", "bib", "ris")}
    assert not any(problems for _, problems in records.values())
    assert records["json"][0] == records["bib"][0] == records["ris"][0]


# -- where references come from ----------------------------------------------------------------

INLINE_WARD = """\
references:
  - id: ward2001
    type: book
    authors: ["Ward, H."]
    year: 2001
    title: Inline wins
"""


def test_inline_reference_overrides_a_file_entry(empty):
    write(empty, "bibliography: refs.bib\n" + INLINE_WARD, body="See [@ward2001].\n",
          files=("refs.bib",))
    body = convert(empty)
    assert entries(body.references_html) == ["Ward, H. (2001) <i>Inline wins</i>."]
    assert not body.warnings  # the file's other entries are not cited: fine, and not listed


def test_uncited_inline_reference_still_warns(empty):
    write(empty, INLINE_WARD, body="No citations.\n")
    body = convert(empty)
    assert [w.message for w in body.warnings] == ["reference 'ward2001' is never cited"]


def test_series_wide_bibliography(empty):
    shutil.copy(DATA / "refs.json", empty / "content" / "series" / "library.json")
    series = empty / "content" / "series" / "performance-pointers.yaml"
    series.write_text(series.read_text() + "bibliography: library.json\n")
    write(empty, body="See [@meltzer2003].\n")
    body = convert(empty)
    assert entries(body.references_html) == [LISTED[1]]


def test_bad_series_bibliography_is_reported_once_and_stops_its_briefings(empty):
    shutil.copy(DATA / "bad-comma.json", empty / "content" / "series" / "library.json")
    series = empty / "content" / "series" / "performance-pointers.yaml"
    series.write_text(series.read_text() + "bibliography: library.json\n")
    write(empty, body="Text.\n")
    write(empty, body="Text.\n", slug="ni-098-test").write_text(
        (empty / "content/briefings/ni-099-test.md").read_text().replace("number: 9", "number: 8"))
    problems, root = Problems(), Project.at(empty)
    _, briefings = load_all(root, problems)
    assert [p.format(root.root) for p in problems.items] == [
        "content/series/library.json:3: invalid JSON: Expecting ',' delimiter (column 3) "
        "(check for a missing comma, quote or bracket near here)"]
    assert briefings == []


def test_key_in_two_files_is_an_error_naming_both(empty):
    write(empty, "bibliography: [refs.json, refs.bib]\n", body="See [@ward2001].\n",
          files=("refs.json", "refs.bib"))
    problems = problems_of(empty)
    assert "content/briefings/refs.bib:4: key 'meltzer2003' is defined twice: in refs.json:2 " \
        "and in refs.bib:4 (keep one of the two entries)" in problems


def test_unknown_key_names_the_line_and_suggests(empty):
    write(empty, "bibliography: refs.bib\n", body="Para.\n\nSee [@goodman1979] and @wardd2001.\n",
          files=("refs.bib",))
    problems = problems_of(empty)
    assert any(p.startswith("content/briefings/ni-099-test.md:18: unknown citation "
                            "'goodman1979' (did you mean 'goodman1997'?)") for p in problems)
    assert any(":18: unknown citation 'wardd2001' (did you mean 'ward2001'?)" in p
               for p in problems)


def test_email_addresses_code_and_escapes_are_not_citations(empty):
    write(empty, body="Mail a.b@example.org, or `@decorator`, or \\@handle.\n\n"
                      "```\n@property\n```\n")
    assert "@handle" in convert(empty).html


# -- cross-references --------------------------------------------------------------------------

XREF_BODY = """\
## Risks {#sec-risks}

As @fig-trend and @tbl-rates show, and @sec-risks says.

![A chart](../../assets/figures/ni062-placement-stability-trend.svg)

Figure: First figure

![A chart](../../assets/figures/ni062-placement-stability-trend.svg){#fig-trend}

Figure: The trend

| Area | Rate |
|---|---|
| A | 1 |

Table: Rates by area {#tbl-rates}
"""


def test_cross_references_resolve_and_link(empty):
    write(empty, body=XREF_BODY)
    html = convert(empty).html
    prefix = "ni-099-test--"
    assert f'<a class="xref" href="#{prefix}fig-trend">Figure 2</a>' in html
    assert f'<a class="xref" href="#{prefix}tbl-rates">Table 1</a>' in html
    assert f'<a class="xref" href="#{prefix}sec-risks">Risks</a>' in html
    assert f'<figure class="figure" id="{prefix}fig-trend">' in html
    assert f'id="{prefix}tbl-rates"' in html and f'<h2 id="{prefix}sec-risks">' in html
    assert "{#" not in html


def test_unknown_cross_reference_is_an_error_with_a_suggestion(empty):
    write(empty, body=XREF_BODY.replace("As @fig-trend", "As @fig-trnd"))
    assert "content/briefings/ni-099-test.md:17: unknown cross-reference '@fig-trnd' " \
        "(did you mean 'fig-trend'?)" in problems_of(empty)


# -- bad bibliography files --------------------------------------------------------------------

@pytest.mark.parametrize("name, expected", [
    ("bad-brace.bib", "bad-brace.bib:7: warning: malformed entry: Unexpected block start: `@book`. Was "
     "still looking for field-value closing `,` or `}` (the parser gave up on line 13; check "
     "that every { has a matching } and that fields end with a comma)"),
    ("bad-comma.json", "bad-comma.json:3: invalid JSON: Expecting ',' delimiter (column 3) "
     "(check for a missing comma, quote or bracket near here)"),
    ("latin1.bib", "latin1.bib:1: not UTF-8: byte 0xfc at byte offset 7 (export the file "
     "again as UTF-8; in Zotero, Character Encoding: Unicode (UTF-8))"),
    ("no-end.ris", "no-end.ris:1: record has no 'ER  -' line before the next 'TY' on line 5"),
    ("not-ris.ris", "not-ris.ris:1: not a RIS line: 'just some text'"),
    ("not-a-list.json", "not-a-list.json:1: CSL-JSON must be a list of references"),
    ("dup.bib", "dup.bib:3: duplicate key 'dup' (give each entry its own key)"),
    ("empty.bib", "empty.bib: no references found in this BibTeX file"),
    ("no-title.json", "no-title.json:2: warning: 'a2001' has no title (give every reference a title)"),
])
def test_bad_file_is_an_error_at_its_line(empty, name, expected):
    write(empty, f"bibliography: {name}\n", body="Text.\n", files=(name,))
    problems = problems_of(empty)
    assert any(p.startswith(f"content/briefings/{expected}") for p in problems), problems


def test_huge_file_is_refused_before_reading(empty):
    path = empty / "content" / "briefings" / "huge.json"
    path.write_text("[" + " " * (bibliography.MAX_BYTES + 1) + "]")
    write(empty, "bibliography: huge.json\n", body="Text.\n")
    assert "content/briefings/huge.json: bibliography is 2048 KB, over the 2 MB limit " \
        "(export only the references this briefing or series cites)" in problems_of(empty)


@pytest.mark.parametrize("front, expected", [
    ("bibliography: nope.bib", "bibliography file 'nope.bib' not found"),
    ("bibliography: refs.txt", "bibliography 'refs.txt' has an unknown format '.txt'"),
    ("bibliography: ../../../../etc/x.bib", "bibliography '../../../../etc/x.bib' is outside "
     "the project"),
    ("bibliography: [refs.bib, {a: 1}]", "'bibliography[2]' must be text"),
])
def test_bad_bibliography_field_is_an_error_at_its_line(empty, front, expected):
    write(empty, front + "\n", body="Text.\n", files=("refs.bib",))
    problems = problems_of(empty)
    assert any(p.startswith(f"content/briefings/ni-099-test.md:13: {expected}")
               for p in problems), problems


def test_symlink_out_of_the_project_is_not_read(empty, tmp_path):
    outside = tmp_path / "outside.bib"
    shutil.copy(DATA / "refs.bib", outside)
    (empty / "content" / "briefings" / "linked.bib").symlink_to(outside)
    write(empty, "bibliography: linked.bib\n", body="See [@ward2001].\n")
    assert any("ni-099-test.md:13: bibliography 'linked.bib' is outside the project" in p
               for p in problems_of(empty))


def test_unreadable_file(empty, monkeypatch):
    write(empty, "bibliography: refs.bib\n", body="Text.\n", files=("refs.bib",))
    read_bytes = Path.read_bytes

    def refuse(path):  # chmod 0 is no test when the suite runs as root
        if path.suffix == ".bib":
            raise PermissionError(13, "Permission denied")
        return read_bytes(path)

    monkeypatch.setattr(Path, "read_bytes", refuse)
    bibliography._cache.clear()
    assert "content/briefings/refs.bib: cannot read the bibliography: Permission denied " \
        "(check the file's permissions)" in problems_of(empty)


def test_invisible_and_invalid_characters_are_removed_with_a_warning(tmp_path):
    """A lone surrogate in a CSL-JSON title passed check and stopped the build with a
    traceback (no encoder takes it); a bidi override would reverse what a reader sees. Both
    are removed from the record, with a warning at the entry."""
    from press.content import bibliography as reader

    path = tmp_path / "hostile.json"
    path.write_text('[{"id": "s", "type": "book", "title": "Safe\\ud800 \\u202ereport",'
                    ' "issued": {"date-parts": [[2010]]}}]', encoding="utf-8")
    refs, problems = reader.read(path)
    assert [r.title for r in refs] == ["Safe report"]
    assert [(p.severity, p.message) for p in problems] == [
        ("warning", "'s': invisible or invalid characters removed from title")]
    refs[0].title.encode("utf-8")  # printable: no surrogate left
