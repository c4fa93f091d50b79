"""Review stage: the converted body's block elements → the Markdown source lines they came from.

Python-Markdown keeps no source positions, and the sanitiser drops unknown attributes, so the
lines are found afterwards, on the sanitised HTML: each block's text is looked up in the
source, in order (a block is written after the one before it), and its start tag gets
``data-line="N" data-lines="N-M"`` (file lines). Footnotes are looked up anywhere in the file:
their definitions may sit away from where they are rendered.
"""

from __future__ import annotations

import hashlib
import html.parser
import re
from dataclasses import dataclass, field
from typing import NotRequired, TypedDict

BLOCKS = {"figure", "p", "h2", "h3", "h4", "h5", "h6", "li", "tr", "dt", "dd", "pre", "figcaption",
          "caption", "blockquote"}
WINDOW = 14  # normalised characters looked up at a time: long enough to be unique in a line
_WORD_RE = re.compile(r"[^\W_]+")


def normalise(text: str) -> str:
    """Letters and digits only, lower case: what survives Markdown, smart quotes and
    citations (``[@ward2001]`` and "(Ward, 2001)" share "ward2001")."""
    return "".join(_WORD_RE.findall(text.casefold()))


def line_hash(text: str) -> str:
    """A line's fingerprint in the map (a later round says "changed since" when it differs)."""
    return hashlib.sha256(text.strip().encode("utf-8")).hexdigest()[:16]


@dataclass
class Source:
    """A briefing file's lines, normalised into one string with the file line of each
    character, for finding rendered text in it."""

    lines: list[str]  # the file's lines; lines[0] is line 1
    first: int  # the first line that is body (front matter above it is not looked in)
    text: str = ""
    line_of: list[int] = field(default_factory=list)  # file line of each character of ``text``

    def __post_init__(self) -> None:
        parts: list[str] = []
        where: list[int] = []
        for number in range(self.first, len(self.lines) + 1):
            chunk = normalise(_unmarked(self.lines[number - 1]))
            parts.append(chunk)
            where.extend([number] * len(chunk))
        self.text, self.line_of = "".join(parts), where

    def find(self, text: str, start: int = 0) -> tuple[int, int] | None:
        """``(first, last)`` positions in ``self.text`` of rendered ``text`` found at or after
        ``start``: windows of it are tried in turn (a link's address, in the source only,
        breaks a window, not the match)."""
        wanted = normalise(text)
        if not wanted:
            return None
        begin = None
        for offset in range(0, max(len(wanted) - WINDOW, 0) + 1, WINDOW):
            found = self.text.find(wanted[offset:offset + WINDOW], start)
            if found >= 0:
                # the block began ``offset`` characters earlier, unless those were made by
                # the layout ("Table 1"): never before the line the window was found in
                line_start = self.line_of.index(self.line_at(found))
                begin = max(found - offset, start, line_start)
                break
        if begin is None:
            return None
        end = begin + min(len(wanted), WINDOW) - 1
        limit = begin + 2 * len(wanted) + 200  # the end of this block, not a later one's
        for offset in range(len(wanted) - WINDOW, 0, -WINDOW):
            last = self.text.find(wanted[offset:offset + WINDOW], begin, limit)
            if last >= 0:
                end = last + WINDOW - 1
                break
        return begin, min(end, len(self.text) - 1)

    def line_at(self, position: int) -> int:
        return self.line_of[min(max(position, 0), len(self.line_of) - 1)]


def _unmarked(line: str) -> str:
    """A source line without what never reaches the page as text: link targets, footnote
    labels, admonition and table syntax."""
    line = re.sub(r"\]\([^)]*\)", "]", line)  # [text](url) → [text]
    line = re.sub(r"\[\^[^\]]*\]:?", "", line)  # footnote references and labels
    line = re.sub(r"^\s*!!!\s*[\w-]+", "", line)
    return line


def _note(source: Source, text: str) -> tuple[int, int] | None:
    """Where a footnote's text is defined: on a ``[^label]:`` line (its words may also be
    in the paragraph that calls it), else wherever it is found first."""
    first = found = source.find(text, 0)
    for _ in range(50):
        if found is None:
            break
        if source.lines[source.line_at(found[0]) - 1].lstrip().startswith("[^"):
            return found
        found = source.find(text, found[0] + 1)
    return first


class _Block(TypedDict):
    tag: str
    at: int  # offset of its start tag in the HTML
    text: list[str]
    footnote: bool  # a footnote, or inside one
    end: NotRequired[int]  # offset of its end tag, once seen


class _Blocks(html.parser.HTMLParser):
    """The start offset, tag and text of every block element of an HTML fragment."""

    def __init__(self, source_html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.offsets = [0]
        for line in source_html.splitlines(keepends=True):
            self.offsets.append(self.offsets[-1] + len(line))
        self.found: list[_Block] = []
        self.open: list[_Block] = []

    def _here(self) -> int:
        line, column = self.getpos()
        return self.offsets[line - 1] + column

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "img":  # its alternative text is written in the source: ![alt](...)
            self.handle_data(dict(attrs).get("alt") or "")
            return
        # a footnote is a span at its call (press.briefing.extension) floated to the foot of
        # the page: a block of its own, written anywhere in the file
        note = tag == "span" and "footnote" in (dict(attrs).get("class") or "").split()
        if tag in BLOCKS or note:
            entry: _Block = {"tag": tag, "at": self._here(), "text": [],
                     "footnote": note or any(e["footnote"] for e in self.open)}
            self.found.append(entry)
            self.open.append(entry)

    def handle_endtag(self, tag: str) -> None:
        for index in range(len(self.open) - 1, -1, -1):
            if self.open[index]["tag"] == tag:
                for entry in self.open[index:]:
                    entry["end"] = self._here()
                del self.open[index:]
                break

    def handle_data(self, data: str) -> None:
        # a note's text is not its paragraph's
        notes = [i for i, entry in enumerate(self.open) if entry["footnote"]]
        for entry in self.open[notes[0] if notes else 0:]:
            entry["text"].append(data)


def number_blocks(body_html: str, source: Source) -> str:
    """``body_html`` with ``data-line``/``data-lines`` on every block found in ``source``."""
    parser = _Blocks(body_html)
    parser.feed(body_html)
    parser.close()
    inserts: list[tuple[int, str]] = []
    done: list[tuple[_Block, tuple[int, int]]] = []  # blocks found so far, and where
    for entry in parser.found:
        text = "".join(entry["text"])
        # after every block already closed (a caption excepted: it may be written after
        # what it captions), and within the block this one is nested in
        cursor = 0
        for other, (begin, end) in done:
            if other.get("end", 1 << 60) <= entry["at"]:
                if other["tag"] not in ("caption", "figcaption"):
                    cursor = max(cursor, end + 1)
            else:
                cursor = max(cursor, begin)
        found = _note(source, text) if entry["footnote"] else source.find(text, cursor)
        if found is None:
            continue
        if not entry["footnote"]:
            done.append((entry, found))
        first, last = source.line_at(found[0]), source.line_at(found[1])
        position = entry["at"] + 1 + len(entry["tag"])
        inserts.append((position, f' data-line="{first}" data-lines="{first}-{last}"'))
    out, previous = [], 0
    for position, text in inserts:
        out.append(body_html[previous:position])
        out.append(text)
        previous = position
    out.append(body_html[previous:])
    return "".join(out)
