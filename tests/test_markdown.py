"""Markdown and cite stages: each block the authors may write, and Harvard citations."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from press.briefing import cite, markdown
from press.errors import ContentError
from press.model import Author, Briefing, Contact, Indicator, Name, Reference, Series

ROOT = Path(__file__).resolve().parent.parent
SERIES = Series(id="s", path=ROOT / "content/series/s.yaml", name="Series", publisher="P",
                strapline="S", about="A", partners=(), contact=Contact("C"), purchase_url="u")


def names(*written):
    return tuple(Name.parse(n) for n in written)


WARD = Reference("ward2001", "article", names("Ward, H.", "Skuse, T."), 2001,
                 "Performance Targets and Stability of Placements for Children Long Looked "
                 "After Away From Home", container="Children and Society", volume="15", issue="5")
MELTZER = Reference("meltzer2003", "report", names("Meltzer, H.", "Gatward, R.", "Corbin, T."), 2003,
                    "The Mental Health of Young People Looked After by Local Authorities in "
                    "England", publisher="HMSO", place="London", line=30)
SWANN = Reference("swann2003", "report", names("Swann, C.", "Bowe, K.", "McCormick, G."), 2003,
                  "Teenage pregnancy and parenthood", publisher="HDA", place="London")
HARDEN = Reference("harden2009", "article", names("Harden, A.", "Brunton, G.", "Fletcher, A."), 2009,
                   "Teenage pregnancy and social disadvantage", container="BMJ", volume="339")
SOLO = Reference("smith1999", "book", names("Smith, J."), 1999, "A Book", publisher="Pub",
                 place="Leeds")
SOLO2 = Reference("smith2003", "book", names("Smith, J."), 2003, "B Book")


def briefing(body: str, refs=(WARD, MELTZER, SWANN, HARDEN, SOLO, SOLO2)) -> Briefing:
    return Briefing(slug="ni-001-x", path=ROOT / "content/briefings/ni-001-x.md", title="T",
                    series=SERIES, number=1, indicator=Indicator("NI 1", "t"), published="2008-04",
                    authors=(Author("A"),), status="final", summary="S", body=body,
                    body_line=20, references=tuple(refs))


def html(body: str, **kw) -> str:
    return markdown.convert(briefing(body, **kw), ROOT).html


def errors(body: str, **kw) -> list[str]:
    with pytest.raises(ContentError) as info:
        markdown.convert(briefing(body, **kw), ROOT)
    return [p.format(ROOT) for p in info.value.problems]


# -- citations ---------------------------------------------------------------------------------

@pytest.mark.parametrize("source, shown", [
    ("[@ward2001]", "(Ward and Skuse, 2001)"),
    ("[@meltzer2003]", "(Meltzer et al, 2003)"),
    ("[@swann2003, p. 17]", "(Swann et al, 2003, p. 17)"),
    ("[@swann2003; @harden2009]", "(Swann et al, 2003; Harden et al, 2009)"),
    ("[@smith1999]", "(Smith, 1999)"),
    ("[@swann2003, pp. 3-4]", "(Swann et al, 2003, pp. 3–4)"),
    ("[see @ward2001, pp. 3-5]", "(see Ward and Skuse, 2001, pp. 3–5)"),
    ("[-@ward2001]", "(2001)"),
    ("[see @ward2001; also -@smith1999, p. 2]", "(see Ward and Skuse, 2001; also 1999, p. 2)"),
    ("@ward2001 found", "Ward and Skuse (2001)"),
    ("@meltzer2003 [p. 33] found", "Meltzer et al (2003, p. 33)"),
    ("(as @smith1999 says)", "Smith (1999)"),
    ("[@{smith1999}]", "(Smith, 1999)"),
    ("[@smith1999; @smith2003]", "(Smith, 1999, 2003)"),
    ("[@smith1999, p. 2; @smith2003]", "(Smith, 1999, p. 2; Smith, 2003)"),
])
def test_in_text_citations(source, shown):
    out = html(f"Text {source} and [@ward2001] [@meltzer2003] [@swann2003] [@harden2009] "
               "[@smith1999] [@smith2003].")
    text = out.replace("</a>", "").split('class="citation">')[1]
    plain = re.sub(r"<[^>]+>", "", text).replace("\u2060", "").split(")")[0] + ")"
    assert plain == shown
    assert 'href="#ni-001-x--ref-' in out


@pytest.mark.parametrize("source", [
    "mail ward2001@example.org", "a link [to @ward2001](https://example.org/@ward2001)",
    "code `[@nobody]` and `@nobody`", "an escaped \\@nobody", "[a note](https://example.org/x) @ 5pm",
])
def test_not_citations(source):
    out = html(f"Text {source}. [@ward2001] [@meltzer2003] [@swann2003] [@harden2009] "
               "[@smith1999] [@smith2003]")
    assert out.count('class="citation"') == 6 + ("[to @ward2001]" in source)
    assert not re.search(r"<a [^>]*>[^<]*(<(?!/a)[^>]*>[^<]*)*<a ", out)  # no link in a link


def test_citation_in_a_fenced_code_block_is_text():
    out = html("```\n@property\n[@nobody]\n```\n", refs=())
    assert "@property" in out and "[@nobody]" in out


def test_cross_reference_in_brackets_is_an_error():
    problems = errors("![A](../../assets/figures/ni058-sdq-bands.svg){#fig-a}\n\n"
                      "Figure: A\n\nSee [@fig-a].", refs=())
    assert any(":24: cross-reference '@fig-a' in square brackets (write it without brackets: "
               "'see @fig-a', or '[-@fig-a]' for the number only)" in p for p in problems)


def test_label_used_twice_is_an_error():
    problems = errors("## A {#sec-a}\n\n## B {#sec-a}\n", refs=())
    assert any(":22: label 'sec-a' is used twice (first on line 20" in p for p in problems)


def test_label_on_nothing_numbered_is_an_error():
    problems = errors("A paragraph {#fig-lost}\n\nSee @fig-lost.", refs=())
    assert any(":20: label 'fig-lost' is not on a figure" in p for p in problems)


def test_reference_list_house_style():
    assert cite.entry_html(WARD) == (
        "Ward, H. and Skuse, T. (2001) 'Performance Targets and Stability of Placements for "
        "Children Long Looked After Away From Home' <i>Children and Society</i> 15 (5).")
    assert cite.entry_html(MELTZER) == (
        "Meltzer, H. et al (2003) <i>The Mental Health of Young People Looked After by Local "
        "Authorities in England</i> (London: HMSO).")
    refs = cite.reference_list_html([WARD, SWANN, MELTZER, HARDEN], lambda i: i)
    order = [r for r in ("harden2009", "meltzer2003", "swann2003", "ward2001")]
    positions = [refs.index(f'id="{r}"') for r in order]
    assert positions == sorted(positions)


def test_unknown_citation_is_an_error_at_its_line():
    problems = errors("Para.\n\nSee [@nobody2020] and [@ward2011].", refs=(WARD,))
    assert "content/briefings/ni-001-x.md:22: unknown citation 'nobody2020' (known: ward2001)" \
        in problems
    assert any(":22: unknown citation 'ward2011' (did you mean 'ward2001'?)" in p
               for p in problems)


def test_uncited_reference_is_a_warning():
    body = markdown.convert(briefing("No citations.", refs=(WARD, MELTZER)), ROOT)
    assert [w.message for w in body.warnings] == ["reference 'ward2001' is never cited",
                                                  "reference 'meltzer2003' is never cited"]
    assert body.warnings[1].line == 30


# -- blocks ------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["key-messages", "pointer", "practice"])
def test_boxes(kind):
    out = html(f'!!! {kind} "The title"\n    - one\n    - two\n')
    assert f'<aside class="box box-{kind}">' in out
    assert '<p class="box-title">The title</p>' in out
    assert "<li>one</li>" in out


def test_unknown_box_type():
    assert any(":20: unknown box type 'pointers' (did you mean 'pointer'?)" in p
               for p in errors('!!! pointers "Q"\n    text\n'))


def test_pull_quote_with_attribution():
    out = html("> it focuses on the issue\n> — Planning and Project Manager, Derbyshire\n")
    assert '<figure class="pullquote"><blockquote>' in out
    assert "<figcaption>Planning and Project Manager, Derbyshire</figcaption>" in out
    assert "— Planning" not in out
    plain = html("> just a quote\n")
    assert "pullquote" not in plain and "<blockquote>" in plain


def test_figure_with_caption_and_required_alt():
    src = "../../assets/figures/ni062-reasons-for-moves.svg"
    out = html(f"![Bar chart of reasons]({src})\nFigure: Reasons for moves\n")
    assert '<figure class="figure"><img alt="Bar chart of reasons"' in out
    assert '<span class="label">Figure 1</span> Reasons for moves</figcaption>' in out
    assert any(":21: image '../../assets/figures/ni062-reasons-for-moves.svg' has no alt text"
               in p for p in errors(f"Para.\n![]({src})\n"))
    assert any(":20: image 'missing.png' not found" in p for p in errors("![x](missing.png)"))
    assert any("is not a project file" in p for p in errors("![x](https://example.org/a.png)"))
    assert any("outside the project" in p for p in errors("![x](../../../../etc/hostname.png)"))


def test_table_caption_and_alignment():
    out = html("| Age | Moves |\n|---|--:|\n| 10 | 3 |\nTable: Moves by age\n")
    assert '<caption><span class="label">Table 1</span> Moves by age</caption>' in out
    assert '<td align="right">3</td>' in out and 'style=' not in out
    assert '<th scope="col">Age</th>' in out


def test_footnotes_become_inline_notes():
    out = html("Text.[^1] More.\n\n[^1]: The note, citing [@ward2001].\n", refs=(WARD,))
    assert '<span class="footnote">The note, citing <span class="citation">' in out
    assert 'class="footnote-ref"' not in out and "fn:" not in out


def test_headings_collected_with_unique_prefixed_ids():
    body = markdown.convert(briefing("## First part\n\n### Sub part\n\n## Second"), ROOT)
    assert [(h.level, h.text, h.id) for h in body.headings] == [
        (2, "First part", "ni-001-x--first-part"), (3, "Sub part", "ni-001-x--sub-part"),
        (2, "Second", "ni-001-x--second")]


def test_level_one_heading_is_an_error():
    assert any(":20: level-1 heading" in p for p in errors("# Title again\n"))


def test_smart_quotes_and_dashes():
    out = html('"Quoted" -- and it\'s')
    assert "\u201cQuoted\u201d" in out and "\u2013" in out and "\u2019" in out


def test_raw_html_is_sanitised_with_a_warning():
    b = briefing('<script>alert(1)</script>\n\n<p onclick="x()" style="color:red">Hi</p>\n\n'
                 '<iframe src="https://example.org"></iframe>\n')
    body = markdown.convert(b, ROOT)
    assert "script" not in body.html and "alert" not in body.html
    assert "onclick" not in body.html and "style" not in body.html and "iframe" not in body.html
    assert "Hi" in body.html
    assert {w.message for w in body.warnings} >= {"removed unsafe HTML 'script'",
                                                   "removed unsafe HTML 'onclick'",
                                                   "removed unsafe HTML 'iframe'"}
    assert body.warnings[0].line == 20


def test_template_syntax_stays_literal():
    out = html("Costs {{ 7*7 }} and {% if x %}y{% endif %}.")
    assert "{{ 7*7 }}" in out and "{% if x %}" in out


def test_fresh_converter_per_briefing_no_footnote_leak():
    first = html("A[^1]\n\n[^1]: First note.\n")
    second = html("B without notes.")
    assert "First note" in first and "First note" not in second


def test_internal_links_are_prefixed():
    out = html("## Part\n\nSee [the part](#ni-001-x--part) and [other](#local).\n\n## Local\n")
    assert 'href="#ni-001-x--part"' in out and 'href="#ni-001-x--local"' in out


def test_sample_briefings_convert_without_problems(project):
    from press.content.load import load_all
    from press.errors import Problems
    from press.project import Project

    problems = Problems()
    _, briefings = load_all(Project.at(project), problems)
    for b in briefings:
        body = markdown.convert(b, project)
        assert body.warnings == (), body.warnings
        assert body.references_html


def test_equation_cross_reference_is_refused_in_plain_words():
    problems = errors("Text.\n\nAs @eq-growth shows.", refs=())
    assert any(":22: cross-reference '@eq-growth' to an equation" in p for p in problems)
