"""Reflow stage: the markdown stage's Body → the element tree the HTML and EPUB editions share.

The Body's HTML was sanitised by the markdown stage (an allow-list) and is reused as it is: no
second Markdown pass. What the PDF shows through CSS (footnotes floated to the foot of the page,
box titles, wide tables) becomes markup a reflowable reader understands: numbered note links
and a list of notes, headings for the boxes, tables that scroll inside their own region.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

from press.errors import ContentError
from press.model import Body, Briefing

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}
VOID_END_RE = re.compile(r"<(%s)\b([^>]*)></\1>" % "|".join(sorted(VOID)))  # noqa: UP031
EPUB_NS = "http://www.idpf.org/2007/ops"
# serialize() drops the fragment's root, where ElementTree declares prefixes: the templates
# declare this one on <html>, so it must be spelt "epub"
ET.register_namespace("epub", EPUB_NS)
IMAGE_TYPES = {".svg": "image/svg+xml", ".png": "image/png", ".jpg": "image/jpeg",
               ".jpeg": "image/jpeg", ".gif": "image/gif", ".webp": "image/webp"}


class _TreeBuilder(HTMLParser):
    """HTML → ElementTree with the standard library: the Body is already well formed (the
    sanitiser serialised it), so the only work is void elements and character references."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = ET.Element("div")
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = ET.SubElement(self.stack[-1], tag, {k: v or "" for k, v in attrs})
        if tag not in VOID:
            self.stack.append(element)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        ET.SubElement(self.stack[-1], tag, {k: v or "" for k, v in attrs})

    def handle_endtag(self, tag: str) -> None:
        for depth in range(len(self.stack) - 1, 0, -1):  # close up to the matching element
            if self.stack[depth].tag == tag:
                del self.stack[depth:]
                return

    def handle_data(self, data: str) -> None:
        parent = self.stack[-1]
        if len(parent):
            parent[-1].tail = (parent[-1].tail or "") + data
        else:
            parent.text = (parent.text or "") + data


def tree(html: str) -> ET.Element:
    """The fragment ``html`` as the children of one ``<div>``."""
    builder = _TreeBuilder()
    builder.feed(html)
    builder.close()
    return builder.root


def serialize(root: ET.Element) -> str:
    """The children of ``root`` as XHTML, which an HTML parser reads the same way (void
    elements self-closed, every other element closed, text escaped)."""
    text = ET.tostring(root, encoding="unicode", method="xml", short_empty_elements=False)
    inner = text[text.index(">") + 1: text.rindex("</")]
    # an empty non-void element (<span></span>) stays open-and-closed; void ones self-close
    return VOID_END_RE.sub(r"<\1\2/>", inner)


@dataclass
class Reflowed:
    """One briefing's body for a reflowable edition."""

    body: ET.Element  # the converted body, notes replaced by links
    notes: list[ET.Element] = field(default_factory=list)  # one per note, in order: contents
    images: dict[str, Path] = field(default_factory=dict)  # name in the edition → source file
    references: ET.Element | None = None
    sample: bool = False  # True: cut after the first sections


def reflow(briefing: Briefing, body: Body, project_root: Path, *, epub: bool,
           sample_sections: int = 0) -> Reflowed:
    """The Body as an edition's element tree (``epub``: EPUB footnote semantics;
    ``sample_sections``: keep only the first so many level-2 sections, 0 = all)."""
    prefix = f"{briefing.slug}--"
    root = tree(body.html)
    cut = _cut(root, sample_sections) if sample_sections else False
    result = Reflowed(root, sample=cut)
    result.notes = _notes(root, prefix, epub)
    _box_headings(root, prefix)
    _tables(root, prefix)
    _alignment(root)
    result.images = _images(root, briefing.path, project_root)
    if body.references_html and not cut:
        result.references = tree(body.references_html)
    if cut:
        _unlink_cut(root, prefix)
    return result


def _unlink_cut(root: ET.Element, prefix: str) -> None:
    """In a sample, a link to what was cut (a later section, the withheld reference list)
    keeps its words but stops being a link that goes nowhere."""
    ids = {el.get("id") for el in root.iter() if el.get("id")}
    for link in root.iter("a"):
        target = (link.get("href") or "")[1:] if (link.get("href") or "").startswith("#") else ""
        if target and target not in ids and not target.startswith((f"{prefix}fn-",)):
            link.tag = "span"
            link.attrib = {"class": "was-link"}


def _cut(root: ET.Element, sections: int) -> bool:
    """Drop everything from the ``sections + 1``-th level-2 heading on; True if any was."""
    seen = 0
    for index, child in enumerate(list(root)):
        if child.tag == "h2":
            seen += 1
            if seen > sections:
                for rest in list(root)[index:]:
                    root.remove(rest)
                return True
    return False


def _notes(root: ET.Element, prefix: str, epub: bool) -> list[ET.Element]:
    """Each ``span.footnote`` (floated to the page foot in the PDF) → a numbered link to the
    note, as the PDF numbers them: in document order from 1."""
    notes: list[ET.Element] = []
    for parent in list(root.iter()):
        for index, span in enumerate(list(parent)):
            if span.tag != "span" or span.get("class") != "footnote":
                continue
            number = len(notes) + 1
            link = ET.Element("a", {"href": f"#{prefix}fn-{number}",
                                    "id": f"{prefix}fnref-{number}", "class": "noteref",
                                    "role": "doc-noteref"})
            if epub:
                link.set(f"{{{EPUB_NS}}}type", "noteref")
            link.text = str(number)
            link.tail = span.tail
            note = ET.Element("span", {"class": "note-text"})
            note.text = span.text
            note.extend(list(span))
            parent[index] = link
            notes.append(note)
    return notes


def _box_headings(root: ET.Element, prefix: str) -> None:
    """A box's title becomes a heading one level below the section it stands in (the PDF shows
    it by its colour and weight; a screen reader's heading list needs the element). The box
    is a landmark named by its title and, when several boxes share a title, by its section's
    heading too: landmarks with the same name cannot be told apart."""
    level, count, section = 1, 0, None
    boxes = []
    for child in root:
        if child.tag in ("h2", "h3", "h4"):
            level, section = int(child.tag[1]), child
        if child.tag != "aside" or "box" not in (child.get("class") or "").split():
            continue
        title = child.find("p")
        if title is None or title.get("class") != "box-title":
            continue
        count += 1
        title.tag = f"h{min(level + 1, 6)}"
        title.set("id", f"{prefix}box-{count}")
        boxes.append((child, title, section))
    names = [plain_text(title) for _, title, _ in boxes]
    seen: dict[tuple[str, str | None], int] = {}
    for (box, title, section), name in zip(boxes, names):
        if names.count(name) == 1 or section is None or not section.get("id"):
            box.set("aria-labelledby", title.get("id", ""))
            continue
        key = (name, section.get("id"))
        seen[key] = seen.get(key, 0) + 1
        if seen[key] == 1:
            box.set("aria-labelledby", f"{title.get('id')} {section.get('id')}")
        else:  # a second box of that title in one section: numbered
            box.set("aria-label", f"{name}, {plain_text(section)} ({seen[key]})")


def _tables(root: ET.Element, prefix: str) -> None:
    """A table scrolls inside its own region on a narrow screen, never the page (WCAG 1.4.10);
    the region is focusable so a keyboard can scroll it, and named by the caption."""
    count = 0
    for parent in list(root.iter()):
        for index, table in enumerate(list(parent)):
            if table.tag != "table":
                continue
            count += 1
            region = ET.Element("div", {"class": "table-scroll", "role": "region",
                                        "tabindex": "0"})
            caption = table.find("caption")
            if caption is not None:
                name = caption.get("id") or f"{prefix}table-{count}"
                caption.set("id", name)
                region.set("aria-labelledby", name)
            else:
                region.set("aria-label", f"Table {count}")
            region.tail, table.tail = table.tail, None
            region.append(table)
            parent[index] = region


def _alignment(root: ET.Element) -> None:
    """A column's alignment (``align``, which HTML5 and EPUB 3 no longer allow) as a class the
    stylesheet aligns."""
    for cell in root.iter():
        if cell.tag in ("td", "th") and (align := cell.attrib.pop("align", None)):
            cell.set("class", f"{cell.get('class', '')} align-{align}".strip())


def _images(root: ET.Element, source: Path, project_root: Path) -> dict[str, Path]:
    """Each placed image is copied into the edition under a flat name; ``src`` points there.
    Only files inside the project (the markdown stage checked them; checked again here)."""
    images: dict[str, Path] = {}
    base = source.parent
    for img in root.iter("img"):
        target = (base / img.get("src", "")).resolve()
        if (not target.is_relative_to(project_root.resolve()) or not target.is_file()
                or target.suffix.lower() not in IMAGE_TYPES):
            raise ContentError.at(source, None, f"image '{img.get('src')}' is not a project "
                                  "image file", "images live in assets/ or beside the briefing")
        name = target.name
        while name in images and images[name] != target:
            name = f"x{name}"
        images[name] = target
        img.set("src", f"images/{name}")
    return images


def plain_text(element: ET.Element) -> str:
    """The element's text with whitespace collapsed (for tests and summaries)."""
    return re.sub(r"\s+", " ", "".join(element.itertext())).strip()
