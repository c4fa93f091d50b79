"""Markdown checks' source model: a briefing body's paragraphs joined the way Markdown joins
them, each with a map back to the author's lines.

Inline constructs (citations, cross-references, footnote marks, links, images) are found on a
block's joined text, never on one line: an author who hard-wraps a paragraph
(``[@swann2003;`` ⏎ ``@harden2009]``) gets the same page and the same checks as one who does
not. Positions in a block's text are positions in the source: markers Markdown strips (a
quote's ``>``) and text shown as written (code spans, escapes, raw HTML) are blanked with
spaces, never removed, so a match's offset still names its line.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass

# A line that starts a new block (Markdown never joins it to the paragraph above): headings,
# list items, boxes and fenced divs, footnote and link definitions, table rows. (A line
# starting with an inline tag, <b>, continues its paragraph.)
BLOCK_START_RE = re.compile(r" {0,3}+(?:#|[-*+][ \t]|\d{1,9}+[.)][ \t]|!!!|:::|\[\^[^\[\]\s]++\]:"
                            r"|\[[^\[\]]++\]:|\|)")
QUOTE_RE = re.compile(r"[ \t]{0,3}+>[ >\t]*+")
ESCAPE_RE = re.compile(r"\\[!-/:-@\[\]^_`{-~]")  # (not "\\\\" itself: Windows paths)
TICKS_RE = re.compile(r"`++")
TAG_START_RE = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9]*+)")
SKIPPED_ELEMENTS = ("style", "script")


@dataclass(frozen=True)
class Block:
    """A paragraph (or a table row, a heading, a list item's text...) as one string."""

    text: str  # the lines joined by "\n", code spans and escapes blanked with spaces
    prose: str  # ``text`` with raw HTML blanked too: where citations and notes are looked for
    first: int  # offset in the body of its first line
    starts: tuple[int, ...]  # where each line starts in ``text``

    def offset(self, position: int) -> int:
        """The body offset of the line holding ``position``."""
        return self.first + bisect_right(self.starts, position) - 1


def split(lines: list[str], code: set[int]) -> list[Block]:
    """The blocks of a body: runs of lines without a blank line, a code line or the start of
    another block between them."""
    out: list[Block] = []
    current: list[tuple[int, str]] = []

    def close() -> None:
        if current:
            starts, pos = [], 0
            for _, text in current:
                starts.append(pos)
                pos += len(text) + 1
            joined = blank_inline("\n".join(text for _, text in current))
            prose = blank_raw_html(joined) if "<" in joined else joined
            out.append(Block(joined, prose, current[0][0], tuple(starts)))
            current.clear()

    for offset, line in enumerate(lines):
        if offset in code or not line.strip():
            close()
            continue
        quote = QUOTE_RE.match(line)
        if quote:  # "> " is the quote's, not the text's: blank it (keeping positions)
            line = " " * quote.end() + line[quote.end():]
        if BLOCK_START_RE.match(line if not quote else line.lstrip()):
            close()
        current.append((offset, line))
    close()
    return out


def blank_inline(text: str) -> str:
    """``text`` with backslash escapes and code spans blanked out: their text is shown as
    written, never read as a citation, a link or a note."""
    if "\\" in text:
        text = ESCAPE_RE.sub("  ", text)
    if "`" in text:
        text = blank_code_spans(text)
    return text


def blank_code_spans(text: str) -> str:
    """Code spans (a run of backticks up to the next run of the same length) blanked out."""
    runs = list(TICKS_RE.finditer(text))
    following: list[int | None] = [None] * len(runs)  # the next run of the same length
    seen: dict[int, int] = {}
    for index in range(len(runs) - 1, -1, -1):
        length = len(runs[index].group(0))
        following[index] = seen.get(length)
        seen[length] = index
    out, pos, i = [], 0, 0
    while i < len(runs):
        closing = following[i]
        if closing is None:
            i += 1
            continue
        out.append(text[pos:runs[i].start()])
        out.append(_spaces(text[runs[i].start():runs[closing].end()]))
        pos, i = runs[closing].end(), closing + 1
    out.append(text[pos:])
    return "".join(out)


def blank_raw_html(text: str) -> str:
    """Raw HTML tags blanked out, and the content of ``<style>`` and ``<script>`` too
    (``@import`` in a style sheet is not a citation). One pass, each character read once or
    twice: a line of 250,000 ``<style>`` tags must not take longer than a plain one."""
    out, pos, lower = [], 0, None
    while True:
        start = text.find("<", pos)
        if start < 0:
            break
        end = text.find(">", start + 1)
        if end < 0:
            break
        nested = text.find("<", start + 1, end)
        if nested >= 0:  # "<" inside: not a tag; look again from the inner "<"
            out.append(text[pos:nested])
            pos = nested
            continue
        tag = TAG_START_RE.match(text, start)
        if tag is None and not text.startswith("<!--", start):
            out.append(text[pos:end + 1])
            pos = end + 1
            continue
        out.append(text[pos:start])
        stop = end + 1
        name = tag.group(2).lower() if tag is not None else ""
        if name in SKIPPED_ELEMENTS and tag is not None and not tag.group(1):
            lower = lower if lower is not None else text.lower()
            close = lower.find(f"</{name}", stop)
            stop = len(text) if close < 0 else (lower.find(">", close) + 1 or len(text))
        out.append(_spaces(text[start:stop]))
        pos = stop
    out.append(text[pos:])
    return "".join(out)


def _spaces(text: str) -> str:
    """Blank ``text`` but keep its line breaks (the block's map to lines stays true)."""
    return re.sub(r"[^\n]", " ", text)
