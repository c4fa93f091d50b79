"""The dialect table of docs/authoring.md ("you write / you get / Quarto writes"): one case
per row, each converting the row's source and checking the rendered text (or the refusal at
its line). A row without a case, or a case without a row, fails."""

from __future__ import annotations

import html as html_lib
import re
from pathlib import Path

import pytest
from conftest import REPO
from test_markdown import ROOT, briefing

from press.briefing import markdown
from press.content.load import load_all
from press.errors import ContentError, Problems
from press.project import Project

FIGURE = "../../assets/figures/ni062-reasons-for-moves.svg"
REFS = "[@ward2001] [@meltzer2003] [@swann2003] [@harden2009] [@smith1999] [@smith2003]"
FIG = f"![Trend]({FIGURE}){{#fig-trend}}\n\n"
TABLE = "| Age | Children |\n|---|--:|\n| Under 5 | 41 |"
TEXT, HTML, REFUSED = "text", "html", "refused"

# the row's first cell -> (the body written, what to look for, where)
CASES = {
    "`[@swann2003;` ⏎ `@harden2009]` (a citation wrapped over lines)":
        ("Early [@swann2003;\n@harden2009]:", "Early (Swann et al, 2003; Harden et al, 2009):",
         TEXT),
    "`[see @ward2001,` ⏎ `p. 3]`": ("[see @ward2001,\np. 3]", "(see Ward and Skuse, 2001, p. 3)",
                                    TEXT),
    "`As @ward2001` ⏎ `[p. 3] says`": ("As @ward2001\n[p. 3] says",
                                        "As Ward and Skuse (2001, p. 3) says", TEXT),
    "`-@ward2001`": ("Ward and Skuse -@ward2001 found", "Ward and Skuse (2001) found", TEXT),
    "`Figure -@fig-trend`": (FIG + "As Figure -@fig-trend shows", "As Figure 1 shows", TEXT),
    "`[-@fig-trend]`": (FIG + "As figure [-@fig-trend] shows", "As figure 1 shows", TEXT),
    "`[@fig-trend]`": (FIG + "As [@fig-trend] shows", "or '[-@fig-trend]' for the number only",
                       REFUSED),
    "`@Fig-trend`": (FIG + "@Fig-trend shows", "did you mean '@fig-trend'?", REFUSED),
    "`![Trend](chart.svg){#fig-trend}` with no `Figure:` line":
        (FIG + "See @fig-trend.", "Figure 1 Trend See Figure 1.", TEXT),
    "`![Trend](chart.svg){#fig-trend width=50%}`":
        (f"![Trend]({FIGURE}){{#fig-trend width=50%}}\n\nSee @fig-trend.",
         '<figure class="figure width-50" id="ni-001-x--fig-trend">', HTML),
    "`![Trend](chart.svg){#fig-trend}{width=50%}`":
        (f"![Trend]({FIGURE}){{#fig-trend}}{{width=50%}}\n\nSee @fig-trend.",
         '<figure class="figure width-50" id="ni-001-x--fig-trend">', HTML),
    "`Table: Ages {#tbl-ages}` above the table":
        (f"Table: Ages {{#tbl-ages}}\n\n{TABLE}\n\nSee @tbl-ages.",
         'id="ni-001-x--tbl-ages">\n<caption><span class="label">Table 1</span> Ages</caption>',
         HTML),
    "`: Ages {#tbl-ages}` under the table":
        (f"{TABLE}\n\n: Ages {{#tbl-ages}}\n\nSee @tbl-ages.", "Table 1 Ages", TEXT),
    "`Table: Ages {#tbl-ages tbl-colwidths=\"[75,25]\"}`":
        (f'{TABLE}\nTable: Ages {{#tbl-ages tbl-colwidths="[75,25]"}}\n\nSee @tbl-ages.',
         "Table 1 Ages", TEXT),
    "`::: pointer` ⏎ text ⏎ `:::`":
        ("::: pointer\n1. How many?\n:::\n", '<aside class="box box-pointer">\n<p '
         'class="box-title">Performance pointer</p>\n<ol>\n<li>How many?</li>', HTML),
    "`::: {.callout-note title=\"Read this\"}` ⏎ text ⏎ `:::`":
        ('::: {.callout-note title="Read this"}\nSome *text*.\n:::\n',
         '<aside class="box box-note">\n<p class="box-title">Read this</p>\n<p>Some <em>', HTML),
    "`::: {.callout-important}` ⏎ `## Key messages` ⏎ text ⏎ `:::`":
        ("::: {.callout-important}\n## Key messages\n- One.\n:::\n",
         '<aside class="box box-key-messages">\n<p class="box-title">Key messages</p>\n<ul>',
         HTML),
    "`::: {.callout-warning}`, `::: columns`":
        ("Text.\n\n::: {.callout-warning}\nCareful.\n:::\n",
         "22: '::: {.callout-warning}' is not a house box", REFUSED),
    "`A claim.^[The note.]`": ("A claim.^[The *note*.] More.",
                               'A claim.<span class="footnote">The <em>note</em>.</span> More.',
                               HTML),
    "`H~2~O`, `x^2^`": ("H~2~O and x^2^.", "H<sub>2</sub>O and x<sup>2</sup>.", HTML),
    "a line ending with `\\`": ("One line\\\nthe next.", "One line<br>\nthe next.", HTML),
    "`$x^2$`, `$$E = mc^2$$`": ("Text.\n\nIt is $x^2$ here.",
                                "22: math ('$x^2$') is not typeset", REFUSED),
    "`$5 and $10`": ("It costs $5 and $10.", "It costs $5 and $10.", TEXT),
    "`{{< pagebreak >}}`": ("Text.\n\n{{< pagebreak >}}\n", "22: '{{<' would be printed as "
                            "written: a Quarto shortcode", REFUSED),
    "`\\@home`, `\\$`, `\\:::`": ("At \\@home, \\$x\\$ and \\::: too.",
                                  "At @home, $x$ and ::: too.", TEXT),
    "`nocite: \"@ward2001\"` (front matter)": None,  # front matter: see the tests below
    "`- {literal: \"Department for Children, Schools and Families\"}` (a reference's author)":
        None,
    "`- \"Department for Children, Schools and Families\"`": None,
}


def _rows() -> list[str]:
    text = (REPO / "docs" / "authoring.md").read_text(encoding="utf-8")
    table = text.split("<!-- dialect-table:", 1)[1].split("\n\n", 1)[0]
    rows = [line for line in table.splitlines() if line.startswith("| ")][1:]
    return [re.split(r" \| ", row.strip("| "))[0] for row in rows]


def test_every_row_has_a_case_and_every_case_a_row():
    assert _rows() == list(CASES)


def _plain(out: str) -> str:
    return " ".join(html_lib.unescape(re.sub(r"<[^>]+>", "", out)).split())


@pytest.mark.parametrize("row", [r for r, case in CASES.items() if case], ids=str)
def test_dialect_row(row):
    body, expected, where = CASES[row]
    try:
        out = markdown.convert(briefing(f"{body}\n\n{REFS}"), ROOT).html
    except ContentError as exc:
        found = [p.format(ROOT).split(".md:", 1)[-1] for p in exc.problems]
        assert where == REFUSED and any(expected in p for p in found), found
        return
    assert where != REFUSED, out
    assert expected in (out if where == HTML else _plain(out)), out


FRONT = """---
title: T
series: performance-pointers
number: 60
indicator:
  code: NI 99
  title: A test indicator
published: "2009-04"
authors:
  - name: Ann Author
status: final
summary: A short summary.
nocite: "@dcsf2008"
references:
  - id: dcsf2008
    type: report
    authors: [{literal: "Department for Children, Schools and Families"}]
    year: 2008
    title: Staying Safe
  - id: dcsf2009
    type: report
    authors: ["Department for Children, Schools and Families"]
    year: 2009
    title: Care Matters
---

## Section

As @dcsf2009 says.
"""


def test_front_matter_rows(project: Path):
    (project / "content" / "briefings" / "ni-060-t.md").write_text(FRONT, encoding="utf-8")
    problems = Problems()
    _, briefings = load_all(Project.at(project), problems)
    assert not problems.errors, problems.items
    body = markdown.convert(next(b for b in briefings if b.slug == "ni-060-t"), project)
    listed = _plain(body.references_html)
    assert "Department for Children, Schools and Families (2008) Staying Safe" in listed  # nocite
    assert "Department for Children, Schools and Families (2009) Care Matters" in listed
    assert "As Department for Children, Schools and Families (2009) says" in _plain(body.html)
    assert body.warnings == ()


def test_nocite_naming_an_unknown_key_is_refused_at_its_line(project: Path):
    text = FRONT.replace('nocite: "@dcsf2008"', 'nocite: "@dcsf2008, @dsfc2009"')
    (project / "content" / "briefings" / "ni-060-t.md").write_text(text, encoding="utf-8")
    problems = Problems()
    load_all(Project.at(project), problems)
    shown = [p.format(project) for p in problems.items]
    assert any(":13: 'nocite' names 'dsfc2009', which no bibliography holds (did you mean "
               "'dcsf2009'?)" in p for p in shown), shown
