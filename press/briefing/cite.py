"""Cite stage: pandoc's citation syntax, and the in-text citations and the reference list in the
series' CSL style (``layouts/csl/house-harvard.csl`` unless the series names another), run by
pandoc's citeproc once per briefing (``cslcite``, from :func:`disambiguate`). Every source
(front matter, CSL-JSON, BibTeX, RIS) is a :class:`press.model.Reference` with its CSL record
by now. The functions below put each citation together from what the style printed; without a
style (no pandoc installed) they print the house style themselves, as described here.

House style (from the Performance Pointers briefings):

* in text: ``(Ward and Skuse, 2001)``, ``(Meltzer et al, 2003)``, ``(Swann et al, 2003, p. 17)``,
  ``(Swann et al, 2003; Harden et al, 2009)``, ``(see Goodman, 1997, pp. 3–5)``, ``(2001)``
  for ``[-@ward2001]``, ``Ward and Skuse (2001)`` for ``@ward2001``, ``(WHO, 2009a)``, ``n.d.``;
* in the list: ``Ward, H. and Skuse, T. (2001) 'Title' *Children and Society* 15 (5).`` and
  ``Meltzer, H. et al (2003) *Title* (London: HMSO).``, initials for given names, page ranges
  with an en dash, then ``Available at: URL (accessed 15 March 2010)`` for web sources.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from html import escape
from typing import cast

from press.briefing import citeproc, cslcite
from press.model import Name, Reference

log = logging.getLogger(__name__)

# A key as pandoc reads it: inner punctuation allowed, trailing punctuation is the sentence's;
# @{...} for any other key. Every pattern is linear: no nested quantifiers, and a key's
# backtracking stops at the next @, which no key holds.
KEY = r"(?:\{[^{}\s]++\}|\w(?:[\w:.#$%&+?~/-]*\w)?)"
# [see @a, p. 3; -@b]: a bracket holding an @ (checked as citations by parse_group). It may
# run over lines: the checks read a paragraph's joined lines (press.briefing.blocks), and
# Markdown's inline stage reads the paragraph itself, so a wrapped citation is the same one.
GROUP_RE = re.compile(r"\[([^\[\]@]*+@[^\[\]]*+)\](?![(\[])")
# @key in running text (author in text), with an optional [locator] after it, on the same
# line or the next; -@fig-x for a cross-reference's number only
BARE_RE = re.compile(rf"(?<![\w@\\/:.\[-])(-?+)@({KEY})"
                     r"(?:(?:[ \t]*+\n[ \t]*+|[ \t]?)\[(?!\^)([^\[\]@]*+)\](?![(\[:]))?")
ITEM_RE = re.compile(rf"(?:^|(?<=\s))(-?)@({KEY})")
CROSSREF_KINDS = {"fig": "Figure", "tbl": "Table", "sec": "Section"}
# {#fig-x}, and {#fig-x width=80%}: a label with other attributes in one block
LABEL_RE = re.compile(r"\{[^{}\n#]*+#((?:fig|tbl|sec)-[\w-]++)(?=[\s}])[^{}\n]*+\}")


@dataclass(frozen=True)
class Item:
    """One cited work inside a citation: ``[see @key, p. 3]`` → prefix, key, locator."""

    key: str
    locator: str = ""
    prefix: str = ""
    suppress_author: bool = False


def key_of(text: str) -> str:
    return text[1:-1] if text.startswith("{") else text


def is_crossref(key: str) -> bool:
    return key.split("-", 1)[0] in CROSSREF_KINDS and "-" in key


def parse_group(inner: str) -> list[Item] | None:
    """``"see @a, p. 17; -@b"`` → items; None if some part is not a citation (a bracket in
    prose that merely holds an @, e.g. an e-mail address)."""
    items = []
    inner = " ".join(inner.split())  # a citation wrapped over lines reads as on one line
    for part in inner.split(";"):
        match = ITEM_RE.search(part)
        if match is None:
            return None
        rest = part[match.end():].strip()
        items.append(Item(key_of(match.group(2)), locator(rest.removeprefix(",").strip()),
                          part[: match.start()].strip(), bool(match.group(1))))
    return items


def locator(text: str) -> str:
    """``pp. 3-5`` → ``pp. 3–5``: page ranges take an en dash."""
    return re.sub(r"(?<=\d)\s*(?:-{1,2}|–)\s*(?=\d)", "–", text.strip())


def is_definition(text: str, match: re.Match[str]) -> bool:
    """``[@a]: url`` at a line's start is a link definition, not a citation."""
    if text[match.end():match.end() + 1] != ":":
        return False
    start = match.start()
    before = text[max(0, start - 4):start]  # up to three spaces, then the line's start
    spaces = len(before) - len(before.rstrip(" "))
    return spaces <= 3 and (start == spaces or text[start - spaces - 1] == "\n")


@dataclass(frozen=True)
class Found:
    """A citation or cross-reference found in a paragraph, for the checks."""

    key: str
    grouped: bool  # inside square brackets
    suppressed: bool  # -@key: the year (or the number) only
    start: int  # where its citation starts in the text


def citations(text: str) -> Iterator[Found]:
    """Every citation in a paragraph of Markdown (its lines joined), in order."""
    groups: list[tuple[int, int]] = []
    for match in GROUP_RE.finditer(text):
        items = None if is_definition(text, match) else parse_group(match.group(1))
        if items is not None:
            groups.append(match.span())
            yield from (Found(item.key, True, item.suppress_author, match.start())
                        for item in items)
    ends = iter(groups)
    current = next(ends, None)
    for match in BARE_RE.finditer(text):  # both in order: one walk over the groups
        while current is not None and current[1] <= match.start():
            current = next(ends, None)
        if current is None or match.start() < current[0]:
            yield Found(key_of(match.group(2)), False, bool(match.group(1)), match.start())


# -- names -------------------------------------------------------------------------------------

def initials(given: str) -> str:
    """``Harriet Jane`` → ``H. J.``; ``H.`` stays; ``Jean-Paul`` → ``J.-P.``."""
    out = []
    for word in given.replace(".", ". ").split():
        out.append("-".join(f"{part[0]}." for part in word.split("-") if part))
    return " ".join(out)


def surname(name: Name) -> str:
    return name.literal or name.family


def list_name(name: Name) -> str:
    if name.literal or not name.given:
        return surname(name)
    return f"{name.family}, {initials(name.given)}"


def _who(ref: Reference) -> tuple[tuple[Name, ...], str]:
    """The names a reference goes by (its authors, or else its editors) and "(ed)"/"(eds)"."""
    if ref.authors or not ref.editors:
        return ref.authors, ""
    return ref.editors, " (ed)" if len(ref.editors) == 1 else " (eds)"


def forms(ref: Reference) -> cslcite.Forms | None:
    """What the series' CSL style printed for ``ref`` (None: the built-in house style)."""
    # Reference.formatted is typed object: press.model sits below press.briefing in the layers
    # and cannot name Forms; cslcite.format_all is the only writer, and it sets a Forms.
    return cast("cslcite.Forms | None", ref.formatted)


def in_text_name(ref: Reference) -> str:
    if (formatted := forms(ref)) is not None:  # the series' CSL style
        return formatted.name
    names = [surname(n) for n in _who(ref)[0]] or ["Anon."]
    if len(names) == 1:
        return names[0]
    if len(names) == 2:
        return f"{names[0]} and {names[1]}"
    return f"{names[0]} et al"


def _names(names: Sequence[Name]) -> str:
    shown = [list_name(n) for n in names]
    if len(shown) <= 2:
        return " and ".join(shown) or "Anon."
    return f"{shown[0]} et al"


def year(ref: Reference) -> str:
    """``2009``, ``2009a``, ``n.d.``."""
    if (formatted := forms(ref)) is not None:
        return formatted.year
    return f"{ref.year if ref.year is not None else 'n.d.'}{ref.suffix}"


# -- in text -----------------------------------------------------------------------------------

def in_text(ref: Reference, item: Item | str = "") -> str:
    """``Ward and Skuse, 2001`` (without brackets), with the item's prefix and locator."""
    item = item if isinstance(item, Item) else Item(ref.id, item)
    if (formatted := forms(ref)) is not None:  # the series' CSL style: its forms, its labels
        text = year(ref) if item.suppress_author else formatted.item
        text = f"{item.prefix} {text}" if item.prefix else text
        return text + formatted.style.locator(item.locator) if item.locator else text
    text = year(ref) if item.suppress_author else f"{in_text_name(ref)}, {year(ref)}"
    if item.prefix:
        text = f"{item.prefix} {text}"
    return f"{text}, {labelled(item.locator)}" if item.locator else text


def labelled(where: str) -> str:
    """A bare locator is a page, as pandoc reads it: ``12`` → ``p. 12``, ``3–5`` → ``pp. 3–5``."""
    if re.fullmatch(r"\d+", where):
        return f"p. {where}"
    if re.fullmatch(r"\d+\s*[–-]\s*\d+", where):
        return f"pp. {where}"
    return where


def parts(items: list[Item], refs: Mapping[str, Reference]) -> list[tuple[str, str, str]]:
    """``(key, text, separator before it)`` for each item of one citation. Works by the same
    authors run on: ``World Health Organization, 2009a, 2009b``."""
    out: list[tuple[str, str, str]] = []
    previous: str | None = None
    for item in items:
        ref = refs[item.key]
        name = in_text_name(ref)
        if out and previous == name and not (item.prefix or item.suppress_author):
            out.append((item.key, in_text(ref, replace(item, suppress_author=True)), ", "))
        else:
            out.append((item.key, in_text(ref, item), "; " if out else ""))
        previous = None if item.locator else name
    return out


def narrative(ref: Reference, where: str = "") -> tuple[str, str]:
    """``@key``: ``("Ward and Skuse", "(2001)")`` or with a locator ``"(2001, p. 3)"``."""
    where = locator(where.removeprefix(",").strip()) if where else ""
    if (formatted := forms(ref)) is not None:
        return in_text_name(ref), cslcite.narrative_when(formatted, where)
    return in_text_name(ref), f"({year(ref)}{', ' + labelled(where) if where else ''})"


# -- the reference list ------------------------------------------------------------------------

def sort_key(ref: Reference) -> tuple[int] | tuple[str, int, str, str]:
    if (formatted := forms(ref)) is not None:  # the style's own order
        return (formatted.rank,)
    names = _who(ref)[0]
    first = surname(names[0]).lower() if names else ""
    return (first, ref.year if ref.year is not None else 9999, ref.suffix, ref.title.lower())


def disambiguate(refs: Sequence[Reference]) -> list[Reference]:
    """2009a, 2009b: entries with the same in-text name and year get letters in title order.
    With a series' CSL style, the style does it, and formats every work once (one pandoc run)."""
    styles = {r.style for r in refs}
    style = styles.pop() if len(styles) == 1 else None  # one style for all, or none
    if refs and style is not None:
        try:
            return cslcite.format_all(list(refs), style)
        except citeproc.CiteprocMissing:  # no pandoc here: the built-in house style
            log.warning("pandoc is not installed: references in the built-in house style")
    groups: dict[tuple[str, int | None], list[Reference]] = {}
    for ref in refs:
        groups.setdefault((in_text_name(ref).lower(), ref.year), []).append(ref)
    letters: dict[str, str] = {}
    for group in groups.values():
        if len(group) > 1:
            for i, ref in enumerate(sorted(group, key=lambda r: (r.title.lower(), r.id))):
                letters[ref.id] = chr(ord("a") + i) if i < 26 else f"-{i + 1}"
    return [replace(r, suffix=letters.get(r.id, "")) for r in refs]


def edition(text: str) -> str:
    """``2`` → ``2nd edn``; ``Revised`` → ``Revised edn``; ``3rd edn`` stays."""
    text = text.strip()
    if re.search(r"\bedn?\b|edition", text, re.I):
        return text
    if text.isdigit():
        n = int(text)
        end = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
        text = f"{n}{end}"
    return f"{text} edn"


def accessed(iso: str) -> str:
    """``2010-03-15`` → ``15 March 2010``."""
    parts = [int(p) for p in iso.split("-")]
    if len(parts) == 3:
        return f"{parts[2]} {dt.date(*parts):%B %Y}"
    return dt.date(parts[0], parts[1], 1).strftime("%B %Y") if len(parts) == 2 else iso


def entry_html(ref: Reference) -> str:
    """One reference list entry as HTML (italics for book and journal titles)."""
    if (formatted := forms(ref)) is not None:
        return formatted.entry
    names, eds = _who(ref)
    who = f"{escape(_names(names))}{eds} ({year(ref)})"
    where = ""
    if ref.place and ref.publisher:
        where = f" ({escape(ref.place)}: {escape(ref.publisher)})"
    elif ref.publisher or ref.place:
        where = f" ({escape(ref.publisher or ref.place)})"
    edn = f", {escape(edition(ref.edition))}" if ref.edition else ""
    # one page is p., a range pp.
    pages = f", {'pp' if re.search(r'[–,-]', ref.pages) else 'p'}. {escape(ref.pages)}" \
        if ref.pages else ""
    if ref.type == "article":
        text = f"{who} '{escape(ref.title)}'"
        if ref.container:
            text += f" <i>{escape(ref.container)}</i>"
        if ref.volume:
            text += f" {escape(ref.volume)}"
        if ref.issue:
            text += f" ({escape(ref.issue)})"
        text += f"{pages}"
        text += "" if text.endswith((".", "?", "!")) else "."
    elif ref.type == "chapter":
        text = f"{who} '{escape(ref.title)}'"
        if ref.editors and ref.authors:
            eds = "ed" if len(ref.editors) == 1 else "eds"
            text += f" in {escape(_names(ref.editors))} ({eds})"
        if ref.container:
            text += f" <i>{escape(ref.container)}</i>"
        text += f"{edn}{where}{pages}"
        text += "" if text.endswith((".", "?", "!")) else "."
    else:  # book, report, web
        number = ""
        if ref.number:
            number = f", Report no. {escape(ref.number)}" if ref.number.isdigit() \
                else f", {escape(ref.number)}"
        text = f"{who} <i>{escape(ref.title)}</i>{edn}{number}{where}"
        # a title that ends a sentence itself ("What works?") takes no second full stop
        text += "." if edn or number or where or not ref.title.endswith(("?", "!", ".")) \
            else ""
    link = f"https://doi.org/{ref.doi}" if ref.doi else ref.url
    if link:
        text += f" Available at: <a href=\"{escape(link, quote=True)}\">{escape(link)}</a>"
        if ref.accessed and not ref.doi:  # a DOI is permanent: no date of access
            text += f" (accessed {accessed(ref.accessed)})"
    return text


def reference_list_html(refs: Sequence[Reference], anchor: Callable[[str], str]) -> str:
    """The sorted reference list; ``anchor(ref_id)`` gives each entry's element id."""
    if not refs:
        return ""
    items = "\n".join(f'<li id="{anchor(r.id)}">{entry_html(r)}</li>'
                      for r in sorted(refs, key=sort_key))
    return f'<ol class="references">\n{items}\n</ol>'
