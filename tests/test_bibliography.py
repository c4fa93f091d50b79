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
LISTED = [
    "Goodman, R. (1997) 'The Strengths and Difficulties Questionnaire: a research note' "
    "<i>Journal of Child Psychology and Psychiatry</i> 38 (5), pp. 581–586. "
    f'Available at: <a href="{DOI}">{DOI}</a>',
    "Meltzer, H. et al (2003) <i>The Mental Health of Young People Looked After by Local "
    "Authorities in England</i> (London: HMSO).",
    "Smith, J. (n.d.) <i>Undated Guidance</i> (Leeds: Pub).",
    "van der Berg, A. and Müller, J. (2001) 'Placement stability' in Smith, J. (ed) "
    "<i>Handbook of Care</i>, 2nd edn (London: Sage), pp. 12–30.",
    "Ward, H. and Skuse, T. (2001) 'Performance Targets and Stability of Placements for "
    "Children Long Looked After Away From Home' <i>Children and Society</i> 15 (5).",
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


@pytest.mark.parametrize("source", SOURCES)
def test_every_source_gives_the_house_style(empty, source):
    write(empty, SOURCES[source], files=("refs.json", "refs.bib", "refs.ris"))
    body = convert(empty)
    assert citations(body.html) == CITED
    assert entries(body.references_html) == LISTED
    assert not body.warnings


def test_sources_give_identical_html(empty):
    outputs = set()
    for source, front in SOURCES.items():
        write(empty, front, files=("refs.json", "refs.bib", "refs.ris"))
        body = convert(empty)
        outputs.add((body.html, body.references_html))
    assert len(outputs) == 1


def test_records_are_identical_across_formats():
    records = {suffix: bibliography.read(DATA / f"refs.{suffix}") for suffix in ("json", "bib", "ris")}
    for found, problems in records.values():
        assert not problems
    assert records["json"][0] == records["bib"][0] == records["ris"][0]
