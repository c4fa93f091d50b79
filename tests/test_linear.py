"""No crafted line can hang the checks: every regular expression of the Markdown stage runs in
linear time (a C regex call cannot be interrupted by the time limit, and the line checks run
before it). Hostile lines are made of the fragments the patterns look for, repeated: one
body line of ``[^`` × 1,000,000 used to take hours in ``FOOTNOTE_REF_RE``."""

from __future__ import annotations

import re
import time

import pytest
from test_markdown import ROOT, briefing

from press.briefing import blocks, checks, cite, dialect, extension, leaks, markdown
from press.errors import Problems

MODULES = (blocks, checks, cite, dialect, extension, leaks, markdown)
PATTERNS = {f"{m.__name__.rsplit('.', 1)[-1]}.{name}": value for m in MODULES
            for name, value in vars(m).items() if isinstance(value, re.Pattern)}
PATTERNS |= {f"leaks.LEAKS[{i}]": pattern for i, (pattern, _, _) in enumerate(leaks.LEAKS)}


def _inline_patterns() -> dict[str, re.Pattern]:
    """The house inline patterns as Python-Markdown compiles them (DOTALL)."""
    import markdown as md

    state = extension.State(briefing(""), "x--", {})
    converter = md.Markdown(extensions=[extension.PressExtension(state)])
    names = [item.name for item in converter.inlinePatterns._priority]
    return {f"inline.{name}": converter.inlinePatterns[name].compiled_re for name in names
            if name.startswith("press-")}


PATTERNS |= _inline_patterns()
FRAGMENTS = ["[^", "^[", "^[^[a]", "~", "^", "\\\n", "$x", "::: a\n", "{.a", "\\ab{", "<style>", "<script>", "![", "[@", "@a", "![[a]", "{#", "[", "]", "<a ",
             "<", "</", "<a", "`", "``", "\\", "-@", "@{", "[a](", "<!--", '<a href="', "[x]:", "*",
             "{#fig-", "$", "~", ":::", "| ", "@a [", "[see @a ", "[@a]:", "a@", "@a-", "![a](",
             "){", "[a]", "<b>", "{", "-", " ", "x"]
MB2 = 2_000_000


def _seconds(run) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def _baseline(line: str) -> float:
    """A linear pass over ``line`` in this run, on this machine: the yardstick."""
    return _seconds(lambda: sum(1 for _ in re.finditer(r"[\[<@!`]", line)))


@pytest.mark.parametrize("name", sorted(PATTERNS))
def test_each_pattern_is_linear_on_hostile_lines(name):
    pattern = PATTERNS[name]
    worst = 0.0
    for fragment in FRAGMENTS:
        line = fragment * (50_000 // len(fragment))
        spent = _seconds(lambda line=line: sum(1 for _ in pattern.finditer(line)))
        worst = max(worst, spent / max(_baseline(line), 1e-3))
        assert spent < 2, f"{name} on {fragment!r} x {len(line) // len(fragment)}: {spent:.1f} s"
    assert worst < 200, f"{name}: {worst:.0f} times a linear scan"


@pytest.mark.parametrize("fragment", ["[^", "<style>", "[@", "![", "<a ", "[see @a ", "`",
                                      "^[", "{#", "\\", "[a](", ":::"])
def test_the_checks_finish_on_a_2_mb_line(fragment):
    body = "Text.\n\n" + fragment * (MB2 // len(fragment)) + "\n"
    doc, lines = briefing(body, refs=()), body.split("\n")

    def run():
        problems = Problems()
        dialect.normalise(body, lines, checks.code_lines(lines), doc.path, 20, problems)
        checks.scan(doc, lines, {}, ROOT, problems)
        checks.check_html_depth(doc, lines, problems)
        checks.check_tables(doc, lines, problems)
        assert len(problems.items) < 100  # one problem per kind and line, not per match

    spent = _seconds(run)
    assert spent < max(5.0, 200 * _baseline(body)), f"{fragment!r}: {spent:.1f} s"


@pytest.mark.parametrize("fragment", ["[@", "@a ", "::: ", "{#a", "^[", "$$", "!!!", "{{<",
                                      "\\\n", "\\ab{", "<", "&#64;"])
def test_the_leak_gate_finishes_on_2_mb_of_text(fragment):
    from html import escape

    page = "<p>" + escape(fragment * (MB2 // len(fragment)), quote=False) + "</p>"
    spent = _seconds(lambda: leaks.find(page))
    assert spent < max(5.0, 200 * _baseline(page)), f"{fragment!r}: {spent:.1f} s"


def test_raw_html_blanking_is_linear_and_keeps_positions():
    text = "a <b>bold</b> <style>@import x</style> [@k] <script>" + "<style>" * 300_000
    assert _seconds(lambda: blocks.blank_raw_html(text)) < 2
    small = "a <b>bold</b> <style>@import x</style> [@k]"
    out = blocks.blank_raw_html(small)
    assert len(out) == len(small) and "@import" not in out and out.endswith("[@k]")
    assert "bold" in out and "<b>" not in out
