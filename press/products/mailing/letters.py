"""Mailing letters stage: the letter's Markdown → sanitised HTML → one personalised letter
per recipient, laid out in one pass, checked against the envelope window, written as PDF/X-4."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import markdown as md
import nh3
from markupsafe import Markup

from press.briefing import layout, markdown
from press.content.load import read_text
from press.errors import Problems, did_you_mean
from press.model import Page
from press.products.mailing.model import (
    MAX_ADDRESS_LINES,
    PLACEHOLDERS,
    WINDOW_MIN_CLEARANCE_MM,
    WINDOW_MM,
    Letter,
    Mailing,
    Placement,
    Recipient,
)
from press.project import Project
from press.render.units import MM_PER_PX

if TYPE_CHECKING:
    from press.render.typeset import Typeset

PLACEHOLDER_RE = re.compile(r"\{\s*([A-Za-z_][A-Za-z0-9_. -]*?)\s*\}")
TEMPLATE_SYNTAX_RE = re.compile(r"\{[{%#]|[}%#]\}")
LETTER_TAGS = {"p", "br", "strong", "em", "b", "i", "ul", "ol", "li", "a", "blockquote"}
SUBSTITUTE_RE = re.compile(r"<p>\{items\}</p>|\{(" + "|".join(PLACEHOLDERS) + r")\}")


def read_letter(path: Path) -> Letter:
    """The letter's Markdown → sanitised HTML with its placeholders still in place."""
    text = read_text(path)
    problems = Problems()
    for number, line in enumerate(text.split("\n"), 1):
        if TEMPLATE_SYNTAX_RE.search(line):
            problems.error(path, number, "template syntax ('{{', '{%' or '{#') in the letter",
                           "letters are not templates; placeholders are single braces, e.g. "
                           "{agency}")
            continue
        for match in PLACEHOLDER_RE.finditer(line):
            name = match.group(1)
            if name not in PLACEHOLDERS:
                problems.error(path, number, f"unknown placeholder '{match.group(0)}'",
                               did_you_mean(name, PLACEHOLDERS))
    if not text.strip():
        problems.error(path, 1, "the letter is empty")
    problems.raise_if_errors()
    converter = md.Markdown(extensions=["smarty", "sane_lists"], output_format="html")
    converted = converter.convert(text)
    clean = nh3.clean(converted, tags=LETTER_TAGS, attributes={"a": {"href"}},
                      url_schemes={"http", "https", "mailto"}, link_rel=None,
                      clean_content_tags={"script", "style", "template", "textarea"},
                      strip_comments=True)
    # the briefings' typography: a number range ("14–19") is never broken at its dash
    return Letter(path=path, html=markdown.typography(clean))


def personalise(letter: Letter, values: dict[str, str]) -> str:
    """Fill the placeholders of the letter's HTML; ``values`` are HTML already (escaped)."""
    return SUBSTITUTE_RE.sub(
        lambda m: values["items_block"] if m.group(1) is None else values[m.group(1)],
        letter.html)


def _items_html(mailing: Mailing, recipient: Recipient) -> tuple[str, str]:
    """(a list, for {items} on a line of its own; a phrase, for {items} inside a sentence)."""
    rows, phrases = [], []
    for item in mailing.items:
        copies = item.copies_for(recipient)
        quantity = f"{copies} ×"
        detail = f'<span class="detail">{html.escape(item.detail)}</span>' \
            if item.detail else ""
        rows.append(f'<li><span class="quantity">{quantity}</span>'
                    f"<strong>{html.escape(item.title)}</strong>{detail}</li>")
        copies_text = "a copy" if copies == 1 else f"{copies} copies"
        phrases.append(f"{copies_text} of {html.escape(item.title)}")
    phrase = phrases[0] if len(phrases) == 1 else ", ".join(phrases[:-1]) + " and " + \
        phrases[-1]
    return f'<ul class="items">{"".join(rows)}</ul>', phrase


def letters_page(project: Project, mailing: Mailing, first: int = 1,
                 count: int | None = None) -> Page:
    """The HTML document holding the letters ``first`` (1-based) to ``first + count - 1``
    (every letter by default); each keeps its number in the mailing (its id, its reference)."""
    env = layout.environment(project.layouts)
    series = mailing.series
    url = html.escape(series.purchase_url)
    shown_url = html.escape(_web_address(series.purchase_url))
    letters = []
    chosen = mailing.recipients[first - 1:None if count is None else first - 1 + count]
    for number, recipient in enumerate(chosen, first):
        block, phrase = _items_html(mailing, recipient)
        values = {
            "link_officer": html.escape(recipient.link_officer),
            "agency": html.escape(recipient.agency),
            "items": phrase,
            "items_block": block,
            "date": html.escape(mailing.date_label),
            "purchase_url": f'<a href="{url}">{shown_url}</a>',
        }
        letters.append({"number": number, "agency": recipient.agency,
                        "link_officer": recipient.link_officer, "address": recipient.address_block,
                        "body": Markup(personalise(mailing.letter, values))})
    context = {
        "mailing": mailing, "series": series, "letters": letters,
        "css_url": layout.file_url(project.layouts / "letter.css"),
        "asset": lambda rel: layout.file_url(project.assets / rel),
        "date_label": mailing.date_label, "created": mailing.date.isoformat(),
        "reference": f"{_initials(series.name)}/{mailing.id}",
        "web_address": _web_address(series.purchase_url),
    }
    return Page(html=env.get_template("letter.html").render(**context),
                base_url=layout.file_url(mailing.letter.path.parent) + "/",
                name=str(mailing.letter.path))


def _web_address(url: str) -> str:
    return re.sub(r"^https?://", "", url).rstrip("/")


def _initials(name: str) -> str:
    return "".join(word[0] for word in name.split() if word[:1].isalpha()).upper() or "REF"


def render_letters(project: Project, mailing: Mailing, first: int = 1,
                   count: int | None = None) -> tuple[Typeset, list[Placement]]:
    """Lay out letters ``first`` to ``first + count - 1`` (every letter by default) in one
    pass; returns the layout and where each letter landed in it."""
    from weasyprint.formatting_structure.boxes import LineBox

    from press.render import typeset  # WeasyPrint: only when the letters are laid out

    # untagged: letters and job sheets are for print only
    laid_out = typeset.render(letters_page(project, mailing, first, count), project.root,
                              tagged=False)
    starts: dict[int, int] = {}
    counts: dict[int, int] = {}
    addresses: dict[int, tuple[float, float, float, float]] = {}
    lines: dict[int, int] = {}
    for number, page in enumerate(laid_out.document.pages, 1):
        for box in _letter_boxes(page._page_box):
            element_id = box.element.get("id", "")
            if box.element_tag == "article" and element_id.startswith("letter-"):
                index = int(element_id.removeprefix("letter-"))
                starts.setdefault(index, number)
                counts[index] = counts.get(index, 0) + 1
            elif box.element_tag == "address" and element_id.startswith("address-"):
                index = int(element_id.removeprefix("address-"))
                x, y = box.border_box_x(), box.border_box_y()
                addresses[index] = (x * MM_PER_PX, y * MM_PER_PX,
                                    (x + box.border_width()) * MM_PER_PX,
                                    (y + box.border_height()) * MM_PER_PX)
                lines[index] = sum(1 for b in box.descendants() if isinstance(b, LineBox))
    placements = [Placement(recipient, starts.get(i, 0), counts.get(i, 0), addresses.get(i),
                            lines.get(i, 0))
                  for i, recipient in enumerate(
                      mailing.recipients[first - 1:None if count is None else first - 1 + count],
                      first)]
    return laid_out, placements


# WeasyPrint's boxes have no types (an Any to mypy): the walk is typed as such.
def _letter_boxes(page_box: Any) -> Iterator[Any]:
    """The article and address boxes of a page (without walking every line of text)."""
    stack = list(page_box.children)
    while stack:
        box = stack.pop()
        tag = getattr(box, "element_tag", None)
        if tag in ("article", "address"):
            yield box
            if tag == "address":
                continue
        elif tag not in ("html", "body", None) and not tag.startswith("::"):
            continue  # nothing we look for lies inside other elements
        stack.extend(getattr(box, "children", ()))


def check_placements(mailing: Mailing, placements: list[Placement]) -> None:
    """Each letter starts its own page with its whole address inside the envelope window."""
    x, y, width, height = WINDOW_MM
    inset = WINDOW_MIN_CLEARANCE_MM
    problems = Problems()
    for placement in placements:
        recipient = placement.recipient
        box = placement.address_mm
        if not placement.pages or box is None:
            problems.error(mailing.recipients_path, recipient.line,
                           f"the letter to '{recipient.agency}' has no address block",
                           "layouts/letter.html must keep the <address> element")
            continue
        x0, y0, x1, y1 = box
        if x0 < x + inset - 0.01 or x1 > x + width - inset + 0.01 or y0 < y + inset - 0.01:
            problems.error(mailing.recipients_path, recipient.line,
                           f"the address of '{recipient.agency}' is not inside the envelope "
                           f"window (it spans {x0:.1f}–{x1:.1f} × {y0:.1f}–{y1:.1f} mm)",
                           "layouts/letter.css moved the address block")
        elif y1 > y + height - inset + 0.01:
            problems.error(mailing.recipients_path, recipient.line,
                           f"the address of '{recipient.agency}' is too long for the envelope "
                           f"window: {placement.address_lines} lines once long ones wrap, "
                           f"at most {MAX_ADDRESS_LINES} fit",
                           "shorten the agency name or join two address lines")
    problems.raise_if_errors()


def write_letters(project: Project, mailing: Mailing, laid_out: Typeset) -> bytes:
    """letters.pdf: CMYK brand colours, PDF/X-4, no bleed (nothing runs off the page)."""
    from press.render import recipes

    return recipes.write_print(project, laid_out, f"{mailing.id}/letters", "sheet",
                               profile=mailing.print_profile)
