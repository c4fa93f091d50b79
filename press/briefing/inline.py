"""Markdown extension's inline processors: citations and cross-references, inline notes,
escapes the leak gate can tell from markup, and backslash line breaks."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import TYPE_CHECKING

from markdown.core import Markdown
from markdown.inlinepatterns import InlineProcessor
from markdown.util import AtomicString

from press.briefing import cite

if TYPE_CHECKING:
    from press.briefing.extension import State

# what an inline processor returns: the element (or stashed HTML) and the span it replaces
Found = tuple[ET.Element | str | None, int | None, int | None]

ESCAPE_RE = r"\\([@$^~:{\\])"  # \@, \$, \^, \~, \:, \{, \\
BREAK_RE = r"(?<!\\)(?:\\\\)*+\\\n"  # a backslash ending a line (not an escaped one)


class Escaped(InlineProcessor):
    """``\\@``, ``\\$``, ``\\:``...: the character as a character reference, so that the leak
    gate (press.briefing.leaks) knows it for text the author escaped, not markup left over."""

    # (InlineProcessor's own signature, which the Markdown stubs mark as overriding Pattern's)
    def handleMatch(self, m: re.Match[str], data: str) -> Found:  # type: ignore[override]  # noqa: N802
        return self.md.htmlStash.store(f"&#{ord(m.group(1))};"), m.start(0), m.end(0)


# ^[an inline note], brackets inside it balanced one level deep ([@a], [links](...))
NOTE_RE = r"\^\[((?:[^\[\]]|\[[^\[\]]*+\])++)\]"


class InlineNote(InlineProcessor):
    """``^[text]``: a footnote written where its mark goes (pandoc); the note's text goes
    through the remaining inline patterns (citations, emphasis, links)."""

    # (InlineProcessor's own signature, which the Markdown stubs mark as overriding Pattern's)
    def handleMatch(self, m: re.Match[str], data: str) -> Found:  # type: ignore[override]  # noqa: N802
        note = ET.Element("span", {"class": "footnote"})
        note.text = " ".join(m.group(1).split())
        return note, m.start(0), m.end(0)


class HardBreak(InlineProcessor):
    """A backslash at the end of a line breaks the line there (pandoc, CommonMark); an
    escaped backslash (``\\\\``) before the line's end does not."""

    # (InlineProcessor's own signature, which the Markdown stubs mark as overriding Pattern's)
    def handleMatch(self, m: re.Match[str], data: str) -> Found:  # type: ignore[override]  # noqa: N802
        return ET.Element("br"), m.end(0) - 2, m.end(0)


class Citations(InlineProcessor):
    """``[see @a, p. 3; -@b]`` → ``(see A, 2001, p. 3; 2003)``, each work a link to its entry."""

    def __init__(self, pattern: str, md_: Markdown, state: State) -> None:
        super().__init__(pattern, md_)
        self.state = state

    # (InlineProcessor's own signature, which the Markdown stubs mark as overriding Pattern's)
    def handleMatch(self, m: re.Match[str], data: str) -> Found:  # type: ignore[override]  # noqa: N802
        items = None if cite.is_definition(data, m) else cite.parse_group(m.group(1))
        if items and len(items) == 1 and items[0].suppress_author \
                and cite.is_crossref(items[0].key):  # [-@fig-x]: the number only
            return xref(items[0].key, True), m.start(0), m.end(0)
        if items is None or any(item.key not in self.state.refs for item in items):
            return None, None, None  # not a citation, or reported by the line scan
        span = ET.Element("span", {"class": "citation"})
        span.text, last = "(", span
        for key, text, separator in cite.parts(items, self.state.refs):
            if last is not span:
                last.tail = separator
            last = ET.SubElement(span, "a", {"href": f"#{self.state.prefix}ref-{key}"})
            last.text = AtomicString(text)
        last.tail = ")"
        return span, m.start(0), m.end(0)


class Narrative(InlineProcessor):
    """``@key`` → ``Ward and Skuse (2001)`` (the year a link); ``@fig-x`` → ``Figure 2``."""

    def __init__(self, pattern: str, md_: Markdown, state: State) -> None:
        super().__init__(pattern, md_)
        self.state = state

    # (InlineProcessor's own signature, which the Markdown stubs mark as overriding Pattern's)
    def handleMatch(self, m: re.Match[str], data: str) -> Found:  # type: ignore[override]  # noqa: N802
        key = cite.key_of(m.group(2))
        if cite.is_crossref(key):
            end = m.start(3) - 1 if m.group(3) is not None else m.end(0)
            return xref(key, bool(m.group(1))), m.start(0), end  # (a [..] after it is text)
        ref = self.state.refs.get(key)
        if ref is None:
            return None, None, None  # reported by the line scan
        if m.group(1):  # -@key: the year only
            link = ET.Element("a", {"href": f"#{self.state.prefix}ref-{key}"})
            link.text = AtomicString(f"({cite.in_text(ref, cite.Item(key, suppress_author=True))})")
            span = ET.Element("span", {"class": "citation"})
            span.append(link)
            return span, m.start(0), m.end(0)
        name, when = cite.narrative(ref, m.group(3) or "")
        span = ET.Element("span", {"class": "citation"})
        span.text = AtomicString(f"{name} ")
        link = ET.SubElement(span, "a", {"href": f"#{self.state.prefix}ref-{key}"})
        link.text = AtomicString(when)
        return span, m.start(0), m.end(0)


def xref(key: str, number_only: bool) -> ET.Element:
    """A cross-reference's link, filled in once everything is numbered."""
    link = ET.Element("a", {"class": "xref", "href": f"#{key}", "data-xref": key})
    if number_only:
        link.set("data-number-only", "1")
    link.text = AtomicString(f"@{key}")
    return link
