"""Markdown stage's last gate: converted text that still looks like unconverted markup.

A construct the converter did not understand prints as written (``[@swann2003;``, a
``::: {.callout-note}`` line, ``^[a note]``, ``$$x$$``): the page is wrong and nothing says
so. After conversion, text outside code that still holds such markup is an error at the line
where the author wrote it, and no PDF is made. The patterns are narrow on purpose: an e-mail
address, a price ($5), an exclamation (Wow!!!) or ``{{ name }}`` in prose are text. What an
author escapes (``\\@``, ``\\$``, ``\\:``) reaches this gate as a character reference and is
never taken for markup.
"""

from __future__ import annotations

import html.parser
import re

# (what is left, what it was, the hint)
LEAKS = [
    (re.compile(r"\[-?@"), "a citation that was not read",
     "check its brackets and keys: [@key], [see @key, p. 3], [@a; @b]"),
    (re.compile(r"(?<![\w.%+\-@\\/:&=?#~\[(])-?@[A-Za-z{]"), "a citation that was not read",
     "cite a reference as @key or [@key]; write \\@ for a plain @"),
    (re.compile(r"(?m)^[ \t]*+:::"), "a fenced div that was not read",
     "open a box with '::: pointer' (or key-messages, practice, note) on a line of its own "
     "and close it with ':::'"),
    (re.compile(r"\{[#.][A-Za-z]"), "an attribute block that was not read",
     "put {#fig-...} straight after an image, {#tbl-...} at the end of a 'Table:' caption and "
     "{#sec-...} at the end of a heading"),
    (re.compile(r"\^\["), "an inline note that was not read", "write ^[the note] in a paragraph"),
    (re.compile(r"\$\$"), "math", "formulas are not typeset: write the formula in words, or "
     "as an image with alt text"),
    (re.compile(r"(?m)^[ \t]*+!!!"), "a box that was not read",
     "write '!!! pointer \"Title\"' at the start of a line, the content indented by four spaces"),
    (re.compile(r"\{\{[<%]"), "a Quarto shortcode", "shortcodes are not run: write the text"),
    (re.compile(r"(?m)^[ \t]*+(?:```|~~~)"), "a code block that was not read",
     "fence code with ``` on lines of their own, the first one with at most a language name "
     "(```python), and close it"),
    (re.compile(r"(?<![\w\\])\\[a-zA-Z]{2,}+[\[{]"), "a TeX command",
     "TeX is not typeset: write the text, or show a formula as an image with alt text"),
    (re.compile(r"\\\n"), "a line break that was not read",
     "end a line with a backslash only inside a paragraph, to break the line there"),
]
CHARREF_RE = re.compile(r"&#(?:[0-9]{1,7}|[xX][0-9a-fA-F]{1,6});")
SKIPPED = {"code", "pre", "style", "script", "template", "textarea", "kbd", "samp"}


class _Text(html.parser.HTMLParser):
    """The text outside code of converted HTML."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in SKIPPED:
            self.skipping += 1
            self.parts.append("\x00")  # code is a word of its own, whatever is around it
        elif tag in ("p", "li", "td", "th", "dt", "dd", "figcaption", "caption", "h2", "h3",
                     "h4", "h5", "h6", "br", "div", "aside", "blockquote"):
            self.parts.append("\x01\n")  # each block's text starts a line

    def handle_endtag(self, tag: str) -> None:
        if tag in SKIPPED:
            self.skipping = max(self.skipping - 1, 0)

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.parts.append(data)



def find(body_html: str) -> list[tuple[str, str, str]]:
    """``(the text found, what it was, hint)`` for each kind of leak, first occurrence."""
    parser = _Text()
    # a character the author escaped (``\@`` → ``&#64;``) is text, never markup: a marker
    parser.feed(CHARREF_RE.sub("\x00", body_html))
    parser.close()
    text = "".join(parser.parts)
    found = []
    for pattern, what, hint in LEAKS:
        if match := pattern.search(text):
            word = re.match(r"\S*+", text[match.end():match.end() + 40])
            shown = (match.group(0) + (word[0] if word else "")).strip() or match.group(0)
            found.append((shown, what, hint))
    return found


def line_of(lines: list[str], code: set[int], shown: str) -> int | None:
    """The offset of the first line outside code that holds ``shown`` (or its start)."""
    for probe in (shown, shown[:12], shown[:3]):
        for offset, line in enumerate(lines):
            if offset not in code and probe and probe in line:
                return offset
    return None
