"""Markdown extension: the house extensions to python-markdown (boxes, captions, citations,
figure and table numbering, headings) as pre-, inline and tree processors."""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ET

from markdown.core import Markdown
from markdown.extensions import Extension
from markdown.inlinepatterns import SimpleTagInlineProcessor
from markdown.preprocessors import Preprocessor
from markdown.treeprocessors import Treeprocessor
from markdown.util import AtomicString

from press.briefing import cite, inline
from press.errors import ContentError
from press.model import Briefing, Heading, Reference

BOX_TYPES = {"key-messages": "Key messages", "pointer": "Performance pointer",
             "practice": "Promising practice", "note": "Note"}
FOOTNOTE_BLOCKS = {"p": "fn-p", "ul": "fn-ul", "ol": "fn-ol", "li": "fn-li", "pre": "fn-pre",
                   "blockquote": "fn-quote", "dl": "fn-p", "dt": "fn-p", "dd": "fn-p",
                   "table": "fn-p", "div": "fn-p", "h4": "fn-p", "hr": "fn-hr"}


class State:
    """Mutable record of one conversion, owned by the converter instance."""

    def __init__(self, briefing: Briefing, prefix: str, refs: dict[str, Reference]) -> None:
        self.briefing, self.prefix, self.refs = briefing, prefix, refs
        self.headings: list[Heading] = []
        self.images: list[str] = []  # each local image's src, as written
        self.labels: dict[str, str] = {}  # cross-reference label → "Figure 2", a title, ...
        self.error: ContentError | None = None
        self.ids: set[str] = set()  # every id in the body, prefixed

    def line_of(self, text: str) -> int | None:
        """The file line of the first body line holding ``text``."""
        for offset, line in enumerate(self.briefing.body.split("\n")):
            if text in line:
                return self.briefing.body_line + offset
        return None


class PressExtension(Extension):
    def __init__(self, state: State) -> None:
        super().__init__()
        self.state = state

    def extendMarkdown(self, md_: Markdown) -> None:  # noqa: N802 (python-markdown's API name)
        md_.preprocessors.register(_CaptionLines(md_), "press-captions", 25)
        md_.ESCAPED_CHARS.append("@")  # \@ is a plain @, never a citation
        md_.inlinePatterns.register(inline.Escaped(inline.ESCAPE_RE, md_), "press-escape", 185)
        md_.inlinePatterns.register(inline.HardBreak(inline.BREAK_RE, md_), "press-break", 186)
        md_.inlinePatterns.register(
            inline.Citations(cite.GROUP_RE.pattern, md_, self.state), "press-cite", 175)
        md_.inlinePatterns.register(
            inline.Narrative(cite.BARE_RE.pattern, md_, self.state), "press-cite-narrative", 174)
        md_.inlinePatterns.register(
            SimpleTagInlineProcessor(r"(~~)(?!\s)(.+?)(?<!\s)~~", "del"), "press-strike", 65)
        # pandoc's H~2~O and x^2^: no spaces inside (a lone ~ or ^ is text)
        md_.inlinePatterns.register(
            SimpleTagInlineProcessor(r"(~)([^~\s]++)~(?!~)", "sub"), "press-sub", 64)
        md_.inlinePatterns.register(
            SimpleTagInlineProcessor(r"(\^)([^\^\s\[\]]++)\^", "sup"), "press-sup", 63)
        md_.inlinePatterns.register(
            inline.InlineNote(inline.NOTE_RE, md_), "press-inline-note", 176)
        md_.treeprocessors.register(_Structure(md_, self.state), "press-structure", 4)


class _CaptionLines(Preprocessor):
    """A ``Table:`` line right under a table becomes its own paragraph."""

    def run(self, lines: list[str]) -> list[str]:
        out: list[str] = []
        for line in lines:
            if line.startswith("Table:") and out and out[-1].lstrip().startswith("|"):
                out.append("")
            out.append(line)
        return out


class _Structure(Treeprocessor):
    """Figures, captions, pull quotes, boxes, footnotes at the foot of the page, headings."""

    def __init__(self, md_: Markdown, state: State) -> None:
        super().__init__(md_)
        self.state = state

    def run(self, root: ET.Element) -> ET.Element:
        self._footnotes(root)
        self._boxes(root)
        self._figures(root)
        self._tables(root)
        self._pullquotes(root)
        self._crossrefs(root)
        _unnest_links(root)
        self._ids(root)
        self.state.ids = {ident for el in root.iter() if (ident := el.get("id"))}
        self.state.ids |= {f"{self.state.prefix}ref-{ref_id}" for ref_id in self.state.refs}
        for el in root.iter():
            if el.tag in ("h2", "h3"):
                text = self._text(el)
                self.state.headings.append(Heading(int(el.tag[1]), text, el.get("id", "")))
        return root

    # footnotes become inline spans that WeasyPrint floats to the foot of the page. A note's
    # blocks (paragraphs, lists, code) become spans shown as blocks: a <p>, <ul> or <pre>
    # inside the calling paragraph would be closed and moved out of it by the HTML parser.
    def _footnotes(self, root: ET.Element) -> None:
        container = next((el for el in root.iter("div") if el.get("class") == "footnote"), None)
        if container is None:
            return
        notes = {}
        for li in container.iter("li"):
            if not (li.get("id") or "").startswith("fn:"):
                continue
            for backref in [a for a in li.iter("a") if "footnote-backref" in a.get("class", "")]:
                _remove(li, backref)
            span = ET.Element("span", {"class": "footnote"})
            paras = [c for c in li if c.tag == "p"]
            if len(paras) == 1 and len(li) == 1:
                span.text = paras[0].text
                span.extend(list(paras[0]))
            else:
                span.text = li.text
                for child in list(li):
                    if child.tag == "p" and not (child.text or "").strip() and not len(child):
                        continue  # the paragraph that held only the back link
                    _inline_blocks(child)
                    span.append(child)
            _one_line(span)
            notes[li.get("id")] = span
        _remove(root, container)
        for sup in list(root.iter("sup")):
            link = sup.find("a")
            if sup.get("id", "").startswith("fnref") and link is not None:
                note = notes.get(link.get("href", "").lstrip("#"))
                if note is not None:
                    sup.tag, sup.attrib = "span", {"class": "footnote"}
                    sup.text = note.text
                    sup.remove(link)
                    sup.extend(list(note))

    def _boxes(self, root: ET.Element) -> None:
        for div in list(root.iter("div")):
            classes = div.get("class", "").split()
            if "admonition" not in classes:
                continue
            kind = next((c for c in classes if c != "admonition"), "note")
            div.tag = "aside"
            div.attrib = {"class": f"box box-{kind}"}
            title = div.find("p")
            if title is not None and title.get("class") == "admonition-title":
                title.set("class", "box-title")
                if not (title.text or "").strip() and not len(title):
                    title.text = BOX_TYPES.get(kind, "Note")

    def _figures(self, root: ET.Element) -> None:
        number = 0
        for parent in list(root.iter()):
            for index, p in enumerate(list(parent)):
                if p.tag != "p" or (p.text or "").strip() or not len(p) or p[0].tag != "img":
                    continue
                img = p[0]
                caption_text = (img.tail or "").strip()
                rest = list(p)[1:]
                if not caption_text.startswith("Figure:") and index + 1 < len(parent):
                    nxt = parent[index + 1]
                    if nxt.tag == "p" and (nxt.text or "").startswith("Figure:"):
                        caption_text, rest = (nxt.text or ""), list(nxt)
                        parent.remove(nxt)
                number += 1
                figure = ET.Element("figure", {"class": "figure"})
                caption_text, ident = _pop_label(caption_text, rest, "fig-")
                ident = ident or (img.attrib.pop("id") if img.get("id", "").startswith("fig-")
                                  else "")
                if ident:  # {#fig-x}: on the image (attr_list) or at the caption's end
                    figure.set("id", ident)
                    self.state.labels[ident] = f"Figure {number}"
                width = img.attrib.pop("width", "")
                if re.fullmatch(r"\d{1,3}%", width) and 10 <= int(width[:-1]) < 100:
                    # {width=50%}: the figure's share of the column, in steps of 5%
                    figure.set("width", f"{round(int(width[:-1]) / 5) * 5}%")
                img.attrib.pop("height", None)
                img.tail = None
                figure.append(img)
                self.state.images.append(img.get("src", ""))
                if ident and not caption_text.startswith("Figure:") and not rest:
                    caption_text = img.get("alt", "")  # Quarto: the bracket text is the caption
                if caption_text.startswith("Figure:") or rest or ident:
                    cap = ET.SubElement(figure, "figcaption")
                    label = ET.SubElement(cap, "span", {"class": "label"})
                    label.text = f"Figure {number}"
                    label.tail = " " + caption_text.removeprefix("Figure:").strip()
                    cap.extend(rest)
                else:
                    number -= 1
                    figure.set("class", "figure figure-plain")
                if share := figure.attrib.pop("width", ""):
                    figure.set("class", f'{figure.get("class")} width-{share[:-1]}')
                figure.tail = p.tail
                parent[index] = figure

    def _tables(self, root: ET.Element) -> None:
        number = 0
        for parent in list(root.iter()):
            for table in [el for el in parent if el.tag == "table"]:
                number += 1
                table.set("class", "data")
                children = list(parent)
                index = children.index(table)
                after = children[index + 1] if index + 1 < len(children) else None
                before = children[index - 1] if index else None
                for near in (after, before):
                    _definition_as_caption(near)
                # the caption under the table, or above it (pandoc allows both, and ": ...")
                nxt = next((p for p in (after, before) if _is_table_caption(p)), None)
                if nxt is not None:
                    # (a caption's text is never None: _is_table_caption read it)
                    text, ident = _pop_label(nxt.text or "", list(nxt), "tbl-")
                    if ident:  # Table: caption {#tbl-x}
                        table.set("id", ident)
                        self.state.labels[ident] = f"Table {number}"
                    cap = ET.Element("caption")
                    label = ET.SubElement(cap, "span", {"class": "label"})
                    label.text = f"Table {number}"
                    label.tail = " " + re.sub(r"^(?:Table)?:\s*", "", text)
                    cap.extend(list(nxt))
                    table.insert(0, cap)
                    if nxt is before:
                        table.tail = (table.tail or "") or nxt.tail
                    parent.remove(nxt)
                for th in table.iter("th"):
                    th.set("scope", "col")

    def _pullquotes(self, root: ET.Element) -> None:
        for parent in list(root.iter()):
            for index, quote in enumerate(list(parent)):
                if quote.tag != "blockquote" or not len(quote) or quote[-1].tag != "p":
                    continue
                last = quote[-1]
                holder, attr = (last[-1], "tail") if len(last) else (last, "text")
                text = getattr(holder, attr) or ""
                lines = text.rstrip().split("\n")
                if not re.match(r"^\s*(—|–|--)\s", lines[-1]):
                    continue
                attribution = re.sub(r"^\s*(—|–|--)\s*", "", lines[-1])
                setattr(holder, attr, "\n".join(lines[:-1]))
                if not len(last) and not (last.text or "").strip():
                    quote.remove(last)
                figure = ET.Element("figure", {"class": "pullquote"})
                figure.append(quote)
                cap = ET.SubElement(figure, "figcaption")
                cap.text = attribution
                figure.tail, quote.tail = quote.tail, None
                parent[index] = figure

    def _crossrefs(self, root: ET.Element) -> None:
        """``@fig-x``, ``@tbl-x``, ``@sec-x`` → "Figure 2", "Table 1", the section's title,
        now that the figures and tables have their final numbers."""
        for el in root.iter():
            if el.tag in ("h2", "h3", "h4") and (ident := el.get("id", "")).startswith("sec-"):
                # (placeholders kept: the link's text is written out as the heading's)
                self.state.labels[ident] = "".join(el.itertext()).strip()
        for link in root.iter("a"):
            key = link.attrib.pop("data-xref", None)
            if key is None:
                continue
            if key not in self.state.labels:
                self.state.error = self.state.error or ContentError.at(
                    self.state.briefing.path, self.state.line_of(f"{{#{key}}}"),
                    f"label '{key}' is not on a {cite.CROSSREF_KINDS[key[:3]].lower()}",
                    "put {#fig-...} after an image, {#tbl-...} at the end of a 'Table:' "
                    "caption and {#sec-...} at the end of a heading")
                continue
            text = self.state.labels[key]
            if link.attrib.pop("data-number-only", None) and key.startswith(("fig-", "tbl-")):
                text = text.split(" ", 1)[-1]  # "Figure 2" -> "2"
            link.text = AtomicString(text)

    def _text(self, element: ET.Element) -> str:
        """An element's text as a reader sees it: Python-Markdown's placeholders (an escaped
        character, raw HTML kept aside) resolved, for the contents and the bookmarks."""
        text = "".join(element.itertext())
        if "\x02" in text:
            def stashed(match: re.Match[str]) -> str:
                raw = str(self.md.htmlStash.rawHtmlBlocks[int(match.group(1))])
                return html.unescape(re.sub(r"<[^<>]*+>", "", raw))
            text = re.sub("\x02wzxhzdk:(\\d+)\x03", stashed, text)
            text = re.sub("\x02(\\d+)\x03", lambda m: chr(int(m.group(1))), text)
            text = re.sub("[\x02\x03]", "", text)
        return text.strip()

    def _ids(self, root: ET.Element) -> None:
        """Prefix every id and internal link with the slug, so bundles keep links apart."""
        prefix = self.state.prefix
        for el in root.iter():
            if (value := el.get("id")) and not value.startswith(prefix):
                el.set("id", prefix + value)
            href = el.get("href") or ""
            if href.startswith("#") and not href.startswith("#" + prefix):
                el.set("href", "#" + prefix + href[1:])


def _unnest_links(root: ET.Element) -> None:
    """A citation inside a link's text keeps its words but not its own link (a link in a
    link is invalid HTML)."""
    for outer in root.iter("a"):
        for parent in [el for el in outer.iter() if el is not outer]:
            for inner in [c for c in parent if c.tag == "a"]:
                inner.tag = "span"
                inner.attrib = {k: v for k, v in inner.attrib.items() if k == "class"}


def _definition_as_caption(dl: ET.Element | None) -> None:
    """pandoc's ``: caption`` beside a table, which the definition list extension read as a
    definition with no term, back to a paragraph ``: caption``."""
    if dl is None or dl.tag != "dl" or len(dl) != 1 or dl[0].tag != "dd":
        return
    dd = dl[0]
    dl.tag, dl.attrib, dl.text = "p", {}, ": " + (dd.text or "")
    dl.remove(dd)
    dl.extend(list(dd))


def _is_table_caption(p: ET.Element | None) -> bool:
    return p is not None and p.tag == "p" and (p.text or "").startswith(("Table:", ": "))


def _pop_label(text: str, children: list[ET.Element], kind: str) -> tuple[str, str]:
    """A trailing ``{#fig-x}`` taken off a caption (its text, or its last child's tail);
    other attributes in its braces (Quarto's ``tbl-colwidths=...``) are dropped."""
    holder = children[-1] if children else None
    value = (holder.tail if holder is not None else text) or ""
    match = re.search(rf"\s*\{{#({kind}[\w-]++)(?:\s[^{{}}]*+)?\}}\s*$", value)
    if not match:
        return text, ""
    if holder is not None:
        holder.tail = value[: match.start()]
        return text, match.group(1)
    return value[: match.start()], match.group(1)


def _one_line(element: ET.Element) -> None:
    """Line breaks in a footnote become spaces: WeasyPrint 70 asserts on ' \n' in a footnote."""
    kept = {el for pre in element.iter() if pre.tag == "pre" or "fn-pre" in pre.get("class", "")
            for el in pre.iter()}
    for el in element.iter():
        for attr in ("tail",) if el in kept else ("text", "tail"):
            value = getattr(el, attr)
            if value and "\n" in value:
                fixed = re.sub(r"\s*\n\s*", " ", value)
                setattr(el, attr, AtomicString(fixed) if isinstance(value, AtomicString) else fixed)


def _inline_blocks(element: ET.Element) -> None:
    """Block elements in a footnote become spans of a class that the stylesheet shows as a
    block (``fn-p``, ``fn-ul``, ``fn-li``, ``fn-pre``...)."""
    for el in element.iter():
        if el.tag in FOOTNOTE_BLOCKS:
            if el.tag == "ol" and el.get("start"):
                el.set("class", "fn-ol")  # (a start number is dropped: rare in a note)
            classes = [FOOTNOTE_BLOCKS[el.tag], *(el.get("class", "").split())]
            el.attrib = {"class": " ".join(c for c in dict.fromkeys(classes) if c)}
            el.tag = "span"
        elif el.tag in ("table", "thead", "tbody", "tr", "th", "td"):
            el.tag = "span"


def _remove(root: ET.Element, target: ET.Element) -> None:
    for parent in root.iter():
        if target in list(parent):
            parent.remove(target)
            return
