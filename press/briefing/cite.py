"""Cite stage: Harvard in-text citations and the reference list, in the series' house style.

House style (from the Performance Pointers briefings):

* in text: ``(Ward and Skuse, 2001)``, ``(Meltzer et al, 2003)``, ``(Swann et al, 2003, p. 17)``,
  ``(Swann et al, 2003; Harden et al, 2009)``;
* in the list: ``Ward, H. and Skuse, T. (2001) 'Title' *Children and Society* 15 (5).`` and
  ``Meltzer, H. et al (2003) *Title* (London: HMSO).``
"""

from __future__ import annotations

import re
from html import escape

from press.model import Reference

# [@id], [@id, p. 17], [@a; @b, pp. 3-4]
CITATION_RE = re.compile(r"\[(@[\w:.-]+(?:,[^\]\[;]*)?(?:\s*;\s*@[\w:.-]+(?:,[^\]\[;]*)?)*)\]")
ITEM_RE = re.compile(r"@([\w:.-]+)(?:,\s*([^;]*))?")


def surname(author: str) -> str:
    return author.split(",")[0].strip()


def parse(inner: str) -> list[tuple[str, str]]:
    """``"@a, p. 17; @b"`` → ``[("a", "p. 17"), ("b", "")]``."""
    return [(m.group(1).rstrip("."), (m.group(2) or "").strip())
            for m in ITEM_RE.finditer(inner)]


def in_text_name(ref: Reference) -> str:
    names = [surname(a) for a in ref.authors]
    if len(names) == 1:
        return names[0]
    if len(names) == 2:
        return f"{names[0]} and {names[1]}"
    return f"{names[0]} et al"


def in_text(ref: Reference, locator: str = "") -> str:
    """``Ward and Skuse, 2001`` (without brackets), plus ``, p. 17`` if given."""
    text = f"{in_text_name(ref)}, {ref.year}"
    return f"{text}, {locator}" if locator else text


def list_authors(ref: Reference) -> str:
    if len(ref.authors) == 1:
        return ref.authors[0]
    if len(ref.authors) == 2:
        return f"{ref.authors[0]} and {ref.authors[1]}"
    return f"{ref.authors[0]} et al"


def sort_key(ref: Reference):
    return (surname(ref.authors[0]).lower(), ref.year, ref.title.lower())


def entry_html(ref: Reference) -> str:
    """One reference list entry as HTML (italics for book and journal titles)."""
    who = f"{escape(list_authors(ref))} ({ref.year})"
    where = ""
    if ref.place and ref.publisher:
        where = f" ({escape(ref.place)}: {escape(ref.publisher)})"
    elif ref.publisher or ref.place:
        where = f" ({escape(ref.publisher or ref.place)})"
    if ref.type == "article":
        text = f"{who} '{escape(ref.title)}'"
        if ref.journal:
            text += f" <i>{escape(ref.journal)}</i>"
        if ref.volume:
            text += f" {escape(ref.volume)}"
        if ref.issue:
            text += f" ({escape(ref.issue)})"
        if ref.pages:
            text += f", pp. {escape(ref.pages)}"
        text += "."
    elif ref.type == "chapter":
        text = f"{who} '{escape(ref.title)}'"
        if ref.editors:
            eds = " and ".join(ref.editors) if len(ref.editors) < 3 else f"{ref.editors[0]} et al"
            text += f" in {escape(eds)} ({'ed' if len(ref.editors) == 1 else 'eds'})"
        if ref.book:
            text += f" <i>{escape(ref.book)}</i>"
        text += where
        if ref.pages:
            text += f", pp. {escape(ref.pages)}"
        text += "."
    else:  # book, report, web
        text = f"{who} <i>{escape(ref.title)}</i>{where}"
        text += "."
    if ref.url:
        url = escape(ref.url, quote=True)
        text += f" Available at: <a href=\"{url}\">{escape(ref.url)}</a>"
    return text


def reference_list_html(refs, anchor) -> str:
    """The sorted reference list; ``anchor(ref_id)`` gives each entry's element id."""
    if not refs:
        return ""
    items = "\n".join(f'<li id="{anchor(r.id)}">{entry_html(r)}</li>'
                      for r in sorted(refs, key=sort_key))
    return f'<ol class="references">\n{items}\n</ol>'
