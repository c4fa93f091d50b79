"""The Markdown stage as a complete gate: every mistake an author makes is refused at its line
(or the page reads as meant), and nothing invisible or internal leaks into the text."""

from __future__ import annotations

import re

import pytest
from test_markdown import ROOT, briefing

from press.briefing import markdown
from press.core import fields, yamlsafe
from press.errors import ContentError, Problems

FIGURE = "../../assets/figures/ni062-reasons-for-moves.svg"
LEAKS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b]|klzzwxh|wzxhzdk")


def convert(body: str):
    return markdown.convert(briefing(body, refs=()), ROOT)


def html(body: str) -> str:
    out = convert(body).html
    assert not LEAKS.search(out), repr(out)
    return out


def problems(body: str) -> list[str]:
    """Every problem (errors and warnings) as ``line: message (hint)``."""
    try:
        found = convert(body).warnings
    except ContentError as exc:
        found = exc.problems
    return [p.format(ROOT).split(".md:", 1)[-1] for p in found]


def text(out: str) -> str:
    return re.sub(r"<[^>]+>", "", out)


# -- leaks -------------------------------------------------------------------------------------

def test_email_autolink_prints_the_address():
    out = html("Write to <someone@example.org> today.")
    assert 'href="mailto:someone@example.org"' in out
    assert ">someone@example.org</a>" in out and "&amp;" not in out


def test_backslash_escapes_and_long_words_leave_no_marker():
    long = "x" * 300
    out = html(f"\\*not emphasis\\* \\_ 3 \\[9\\] {long} and https://example.org/{'p/' * 80}")
    assert "*not emphasis* _ 3 [9]" in out and long in out


def test_long_word_after_inline_code_gets_its_own_box():
    out = html("Code `abc`" + "r" * 120 + " end.")
    assert '<span class="long-word">' + "r" * 120 + "</span>" in out


# -- footnotes ---------------------------------------------------------------------------------

def test_footnote_with_list_and_code_stays_whole_inside_the_note():
    out = html("Before the call.[^n] After the call.\n\n[^n]: First paragraph.\n\n"
               "    - one\n    - two\n\n    Last paragraph.\n\nNext paragraph.\n")
    note = out.split('<span class="footnote">', 1)[1]
    assert out.index("Before the call.") < out.index("First paragraph.") < \
        out.index("After the call.")
    assert '<span class="fn-ul"> <span class="fn-li">one</span>' in note
    assert "Last paragraph." in note.split("After the call.")[0]
    assert "<p></p>" not in out and "<ul>" not in out


def test_footnote_code_block_keeps_its_lines():
    out = html("Call.[^c]\n\n[^c]: Run this:\n\n        a = 1\n        b = 2\n")
    assert '<span class="fn-pre"><code>a = 1\nb = 2\n</code></span>' in out


def test_footnote_reference_typo_and_unused_note():
    found = problems("A claim.[^sorce]\n\n[^source]: The source.\n")
    assert "20: footnote '[^sorce]' is never defined (did you mean 'source'?)" in found
    assert any(p.startswith("22: warning: footnote '[^source]' is never referred to")
               for p in found)


# -- boxes -------------------------------------------------------------------------------------

@pytest.mark.parametrize("body", ['!!! pointer "Q"\n  1. one\n  2. two\n',
                                  '!!! pointer "Q"\n  1. one\n    2. two\n'])
def test_under_indented_box_is_refused_at_the_box(body):
    assert problems(body) == [
        "20: the box's content on line 21 is indented by 2 spaces "
        "(indent every line of a box by four spaces)"]


def test_empty_box_is_a_warning():
    assert problems('!!! note "Alone"\n\nText.\n')[0].startswith("20: warning: the box is empty")


# -- images ------------------------------------------------------------------------------------

@pytest.mark.parametrize("src, message", [
    ("fte chart.png", "image path 'fte chart.png' contains a space"),
    ("C:\\Users\\ann\\fte chart.png", "is a Windows path"),
    ("..\\..\\assets\\figures\\x.png", "is a Windows path"),
    ("/home/ann/chart.png", "is outside the project: the path is absolute"),
    (str(ROOT / "assets/figures/ni062-reasons-for-moves.svg"), "is an absolute path"),
    ("../../assets/figures/NI062-Reasons-For-Moves.svg",
     "(did you mean 'ni062-reasons-for-moves.svg'? Capitals matter)"),
])
def test_image_paths_of_any_shape(src, message):
    found = problems(f"Text.\n\n![A chart]({src})\n")
    assert any(p.startswith("22: ") and message in p for p in found), found


def test_image_path_in_angle_brackets_and_reference_style():
    out = html(f"![A chart](<{FIGURE}>)\nFigure: Reasons\n")
    assert f'src="{FIGURE}"' in out
    out = html(f"![A chart][chart]\nFigure: Reasons\n\n[chart]: {FIGURE}\n")
    assert f'src="{FIGURE}"' in out and "Figure 1" in out
    found = problems("![A chart][chart]\n\n[chart]: missing.svg\n")
    assert found[0].startswith("22: image 'missing.svg' not found"), found


def test_figure_width_option():
    out = html(f"![A chart]({FIGURE}){{width=50%}}\nFigure: Reasons\n")
    assert '<figure class="figure width-50">' in out and "width=" not in out
    assert problems(f"![A chart]({FIGURE}){{width=500px}}\n")[0].startswith(
        "20: image option 'width=500px' is not understood")


# -- links -------------------------------------------------------------------------------------

def test_link_to_a_heading_with_a_wrong_id():
    body = "## Why placement stability matters\n\nSee [above](#why-placement-stability)."
    assert problems(body) == ["22: link '#why-placement-stability' goes to no heading "
                              "(did you mean 'why-placement-stability-matters'?)"]
    assert 'href="#ni-001-x--why-placement-stability-matters"' in html(
        "## Why placement stability matters\n\n[x](#why-placement-stability-matters)")


def test_links_inside_code_are_not_links():
    body = ("Text.\n\n    [a](file.txt) ![b](missing.png)\n\n```\n[c](../x.md)\n```\n\n"
            "- item\n\n    continued [d](https://example.org)\n")
    out = html(body)
    assert "[a](file.txt)" in out and "[c](../x.md)" in out
    assert problems("Text.\n\n- item\n\n    [d](file.txt)\n") != []  # a list's paragraph


# -- dialect -----------------------------------------------------------------------------------

def test_setext_headings_are_refused():
    assert problems("Title\n=====\n")[0].startswith("21: underlined heading")
    assert problems("Section\n-------\n")[0].startswith("21: underlined heading")
    assert problems("Text.\n\n---\n\nMore.") == []  # a rule


def test_strikethrough_and_definition_lists():
    assert "<del>old</del>" in html("The ~~old~~ new way.")
    out = html("Looked after child\n:   A child in the care of a local authority.\n")
    assert "<dl>\n<dt>Looked after child</dt>\n<dd>A child in the care" in out


def test_raw_table_is_refused_and_indented_code_is_code():
    assert problems("<table><tr><td>a</td></tr></table>\n")[0].startswith("20: raw HTML table")
    assert "<pre><code>x = 1\n</code></pre>" in html("Text.\n\n    x = 1\n")


def test_inline_tags_are_counted_per_paragraph():
    body = "\n\n".join(["Some <b>bold</b> and <i>italic</i> text."] * 60)
    assert problems(body) == []
    assert problems("Some <b>bold text.\n\nNext.")[0].startswith(
        "20: '<b>' is not closed in its paragraph")


# -- typography --------------------------------------------------------------------------------

def test_number_ranges_do_not_break():
    out = html("Aged 10–17, in 2003--2008 and `1–2`.")
    assert "10\u2060–\u206017" in out and "2003\u2060–\u20602008" in out
    assert "<code>1–2</code>" in out and "nobr" not in out


def test_numeric_header_alignment_is_kept():
    out = html("| Area | Rate |\n|---|--:|\n| North | 41.2 |\n")
    assert '<th align="right" scope="col">Rate</th>' in out or \
        '<th scope="col" align="right">Rate</th>' in out


def test_stylesheet_sets_hyphenation_code_font_and_table_breaks():
    css = (ROOT / "layouts/briefing.css").read_text()
    fonts = (ROOT / "layouts/fonts.css").read_text()
    assert "hyphenate-limit-chars: 6 3 3" in css
    assert 'code, pre { font-family: "DejaVu Sans Mono"' in css
    assert "DejaVuSansMono.ttf" in fonts and (ROOT / "assets/fonts/DejaVuSansMono.ttf").is_file()
    assert (ROOT / "assets/fonts/DejaVu-LICENSE.txt").is_file()
    assert "tr:nth-child(-n+2) { break-after: avoid; }" in css
    assert 'table.data th[align="right"]' in css


def test_hyphenation_patterns_break_words_well():
    import pyphen

    words = pyphen.Pyphen(lang="en_US", left=3, right=3)
    assert words.inserted("recorded") == "recorded"
    assert words.inserted("police") == "police"
    assert words.inserted("expensive") == "expen-sive"


# -- messages ----------------------------------------------------------------------------------

@pytest.mark.parametrize("yaml_text, message, hint", [
    ("title: Stability: number of moves\n", "a colon followed by a space inside a value",
     'put the value in quotes, e.g. title: "Stability: number of moves"'),
    ("title: @home\n", "a value cannot start with '@'", "put the value in quotes"),
    ("title: 'it's'\n", "text follows a closing quote", "two"),
    ("authors:\n  - name: A\n   - name: B\n", "a list item is indented differently", ""),
    ("summary: " + "word " * 20 + "and: this\n",
     "a colon followed by a space inside a value at column 113, near 'word and: this'", ""),
])
def test_yaml_slips_in_plain_words(yaml_text, message, hint):
    with pytest.raises(ContentError) as info:
        yamlsafe.load(yaml_text, "x.md")
    problem = info.value.problems[0]
    assert problem.message.startswith("invalid YAML: " + message)
    assert hint in problem.hint


def test_list_items_named_by_id_and_invisible_characters_named():
    problems_ = Problems()
    data = {"references": [{"id": "ward2001", "title": None}, {"title": None}]}
    check = fields.Checker("x.md", {}, problems_)
    check.top(data, ("references",), (), "front matter")
    check(fields.text, None, "references", 0, "title")
    check(fields.text, None, "references", 1, "title")
    status = "final\xa0"
    check.fail(("status",), f"'status' must be 'draft' or 'final', not {status!r}")
    assert [p.message for p in problems_.items] == [
        "'references[ward2001].title' must be text", "'references[2].title' must be text",
        "'status' must be 'draft' or 'final', not 'final' followed by a no-break space"]


@pytest.mark.parametrize("written", [
    f"![Trend]({FIGURE}){{width=30%}}{{#fig-t}}\n\nFigure: The trend\n",  # options, then label
    f"![Trend]({FIGURE}){{#fig-t}}\n\nFigure: The trend\n",  # a blank line before the caption
    f"![Trend]({FIGURE})\nFigure: The trend {{#fig-t}}\n",
])
def test_figure_forms_authors_write(written):
    out = html(written + "\nSee @fig-t.")
    assert '<span class="label">Figure 1</span> The trend</figcaption>' in out
    assert "See <a class=\"xref\" href=\"#ni-001-x--fig-t\">Figure 1</a>." in out
    assert "Figure:" not in text(out) and "{" not in text(out)
