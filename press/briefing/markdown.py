"""Markdown stage: a briefing's Markdown body → sanitised HTML, headings and reference list.

Authors' text is only ever data: it is converted here, sanitised with an allow-list, and the
layout stage inserts the result into a template as a value, never as template source.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import unquote, urlsplit

import markdown as md
import nh3
from markdown.extensions import Extension
from markdown.inlinepatterns import InlineProcessor
from markdown.preprocessors import Preprocessor
from markdown.treeprocessors import Treeprocessor
from markdown.util import AtomicString

from press.briefing import cite
from press.core import limits
from press.errors import ContentError, Problems, did_you_mean
from press.model import Body, Briefing, Heading
from press.render import fetcher as resources

BOX_TYPES = {"key-messages": "Key messages", "pointer": "Performance pointer",
             "practice": "Promising practice", "note": "Note"}
MAX_NESTING = 12  # blockquotes/lists/boxes deeper than this are almost surely a mistake
MAX_WORD = 80  # characters; longer "words" are broken so they cannot overflow the page
PRE_WIDTH = 90  # characters of a code block line that fit the text column
MAX_DEPTH = 40  # elements inside the body; WeasyPrint recurses per level (about 200 is fatal)
MAX_TABLE_ROWS = 500  # about a dozen pages; 2,000 rows take a minute to lay out
# Every pattern here must run in linear time: a regular expression cannot be interrupted by
# the time limit, so a backtracking one would hang the build on a crafted line.
# (URLs stop at brackets and parentheses so that no attempt runs on into the next one.)
IMAGE_RE = re.compile(r"!\[((?:[^\[\]]|\[[^\[\]]*\])*+)\]\(\s*+<?([^()\s<>\[\]]*+)>?"
                      r"(?:\s+\"[^\"]*\")?\s*\)")
LINK_RE = re.compile(r"(?<!!)\[[^\[\]]*\]\(\s*<?([^)\s>]*)"
                     r"|^\s{0,3}\[(?!\^)[^\[\]]+\]:\s*<?([^\s>]+)")
HTML_URL_RE = re.compile(r"<\s*(img|a)\b[^<>]*?\s(src|href)\s*=\s*"
                         r"(?:\"([^\"<>]*)\"|'([^'<>]*)'|([^\s<>]+))", re.I)
TAG_RE = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9]*)\b[^<>]*>")
VOID_TAGS = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
             "source", "track", "wbr"}
LINK_SCHEMES = ("http", "https", "mailto")
HEADING1_RE = re.compile(r"^#(?!#)\s")
BOX_RE = re.compile(r"^!!!\s*([^\s\"]*)")
UNSAFE_HTML_RE = re.compile(
    r"<\s*(script|style|iframe|object|embed|link|form|input|textarea|button|select|meta|base|"
    r"svg|math|frame|frameset|applet|audio|video|source|template)\b"
    r"|\s(on[a-z]+)\s*=|\s(style)\s*=|\srel\s*=\s*[\"']?(attachment)", re.I)
IMAGE_SUFFIXES = resources.IMAGE_SUFFIXES

ALLOWED_TAGS = {
    "a", "abbr", "aside", "b", "blockquote", "br", "caption", "cite", "code", "dd", "del", "div",
    "dl", "dt", "em", "figcaption", "figure", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img",
    "ins", "li", "ol", "p", "pre", "q", "s", "small", "span", "strong", "sub", "sup", "table",
    "tbody", "td", "tfoot", "th", "thead", "tr", "u", "ul", "mark"}
ALLOWED_ATTRIBUTES = {
    "*": {"class", "id", "lang", "title"},
    "a": {"href"},
    "img": {"src", "alt", "width", "height"},
    "td": {"align", "colspan", "rowspan"},
    "th": {"align", "colspan", "rowspan", "scope"},
    "ol": {"start"},
}


def convert(briefing: Briefing, project_root: Path) -> Body:
    """Convert a briefing's body; raise ContentError listing every problem found."""
    problems = Problems()
    lines = briefing.body.split("\n")
    refs = {r.id: r for r in briefing.references}
    cited = _scan(briefing, lines, refs, project_root, problems)
    _check_html_depth(briefing, lines, problems)
    _check_tables(briefing, lines, problems)
    for ref in briefing.references:
        if ref.id not in cited:
            problems.warn(briefing.path, ref.line, f"reference '{ref.id}' is never cited",
                          f"cite it with [@{ref.id}] or remove it")
    if problems.errors:
        raise ContentError(problems.items)  # the warnings too: they often explain the errors

    try:
        with limits.time_limit("markdown"):
            html, state = _to_html(briefing, briefing.body, refs)
            if _depth(html) > MAX_DEPTH:
                raise ContentError.at(
                    briefing.path, _deepest_line(briefing, refs), "content is nested too deeply",
                    f"keep lists, quotes, emphasis and HTML under {MAX_DEPTH} levels")
            html = nh3.clean(html, tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES,
                             url_schemes=set(LINK_SCHEMES), link_rel=None,
                             clean_content_tags={"script", "style", "template", "textarea"},
                             strip_comments=True)
    except limits.TimeLimitExceeded as exc:
        raise ContentError.at(briefing.path, briefing.body_line,
                              f"converting the Markdown did not finish within {exc.seconds:g} s",
                              "look for very long runs of brackets, asterisks or HTML tags"
                              ) from None
    prefix = f"{briefing.slug}--"
    references = cite.reference_list_html(briefing.references, lambda i: f"{prefix}ref-{i}")
    return Body(html=html, headings=tuple(state.headings), references_html=references,
                warnings=tuple(problems.warnings), images=tuple(state.images))


def _to_html(briefing: Briefing, text: str, refs) -> tuple[str, _State]:
    """Python-Markdown with our extensions; a fresh converter per call (footnotes, ids)."""
    prefix = f"{briefing.slug}--"
    state = _State(briefing, prefix, refs)
    converter = md.Markdown(
        extensions=["tables", "footnotes", "attr_list", "admonition", "smarty", "sane_lists",
                    "toc", _PressExtension(state)],
        extension_configs={
            "tables": {"use_align_attribute": True},
            "toc": {"slugify": lambda value, sep: prefix + _slug(value, sep),
                    "toc_depth": "2-3"},
            "smarty": {"smart_angled_quotes": False},
            "footnotes": {"UNIQUE_IDS": False},
        },
        output_format="html")
    try:
        html = converter.convert(text)
    except RecursionError:
        raise ContentError.at(briefing.path, briefing.body_line,
                              "content is nested too deeply to lay out",
                              f"keep lists, quotes and boxes under {MAX_NESTING} levels") from None
    if state.error:
        raise state.error
    return html, state


def _depth(html: str) -> int:
    """Deepest element nesting in ``html`` (a linear scan; unclosed tags count as open)."""
    depth = deepest = 0
    for match in TAG_RE.finditer(html):
        name = match.group(2).lower()
        if name in VOID_TAGS or match.group(0).endswith("/>"):
            continue
        if match.group(1):
            depth = max(depth - 1, 0)
        else:
            depth += 1
            deepest = max(deepest, depth)
    return deepest


def _deepest_line(briefing: Briefing, refs) -> int:
    """The first line whose inclusion makes the converted body too deep (binary search)."""
    lines = briefing.body.split("\n")
    low, high = 0, len(lines)  # the first `high` lines are too deep, the first `low` are not
    while high - low > 1:
        middle = (low + high) // 2
        html, _ = _to_html(briefing, "\n".join(lines[:middle]), refs)
        if _depth(html) > MAX_DEPTH:
            high = middle
        else:
            low = middle
    return briefing.body_line + high - 1


def _slug(value: str, sep: str) -> str:
    value = re.sub(r"<[^>]+>", "", value)
    value = re.sub(r"[^\w\s-]", "", value.lower()).strip()
    return re.sub(r"[\s_-]+", sep, value)[:60] or "section"


def _scan(briefing, lines, refs, project_root, problems) -> set[str]:
    """Line-based checks (the Markdown library does not know lines); returns cited ids."""
    cited: set[str] = set()
    path = briefing.path
    for offset, line in enumerate(lines):
        number = briefing.body_line + offset
        line = _without_code(line)
        if HEADING1_RE.match(line):
            problems.error(path, number, "level-1 heading ('# ...') in the body",
                           "the title comes from the front matter; use '##' for sections")
        if match := BOX_RE.match(line):
            kind = match.group(1)
            if kind not in BOX_TYPES:
                problems.error(path, number, f"unknown box type '{kind}'",
                               did_you_mean(kind, BOX_TYPES))
        depth = len(re.match(r"^[>\s]*", line).group(0).replace(" ", ""))
        indent = len(line) - len(line.lstrip(" "))
        if depth > MAX_NESTING or indent > 4 * MAX_NESTING:
            problems.error(path, number, "content is nested too deeply",
                           f"keep lists, quotes and boxes under {MAX_NESTING} levels")
        for match in cite.CITATION_RE.finditer(line):
            for ref_id, _ in cite.parse(match.group(1)):
                if ref_id in refs:
                    cited.add(ref_id)
                else:
                    problems.error(path, number, f"unknown citation '{ref_id}'",
                                   did_you_mean(ref_id, refs) if refs else
                                   "add it to 'references:' in the front matter")
        for match in IMAGE_RE.finditer(line):
            alt, src = match.group(1).strip(), unquote(match.group(2))
            if not alt:
                problems.error(path, number, f"image '{src}' has no alt text",
                               "describe the image: ![what it shows](path)")
            _check_image(path, number, src, project_root, problems)
        for match in HTML_URL_RE.finditer(line):
            tag, url = match.group(1).lower(), next(g for g in match.groups()[2:] if g is not None)
            if tag == "img":
                _check_image(path, number, unquote(url), project_root, problems)
            else:
                _check_link(path, number, url, problems)
        for match in LINK_RE.finditer(line):
            _check_link(path, number, match.group(1) or match.group(2) or "", problems)
        for match in UNSAFE_HTML_RE.finditer(line):
            what = next(g for g in match.groups() if g)
            problems.warn(path, number, f"removed unsafe HTML '{what}'",
                          "raw HTML is limited to simple formatting")
    return cited


def _without_code(line: str) -> str:
    """``line`` with inline code spans blanked out (their text is shown, never interpreted)."""
    if "`" not in line:
        return line
    runs = [m for m in re.finditer(r"`+", line)]
    out, pos, i = [], 0, 0
    while i < len(runs):
        opening = runs[i]
        closing = next((j for j in range(i + 1, len(runs))
                        if len(runs[j].group(0)) == len(opening.group(0))), None)
        if closing is None:
            i += 1
            continue
        out.append(line[pos:opening.start()])
        out.append(" " * (runs[closing].end() - opening.start()))
        pos, i = runs[closing].end(), closing + 1
    out.append(line[pos:])
    return "".join(out)


def _check_link(path, number, url, problems) -> None:
    """Links may go to the web, to an email address or to a heading: never to a local file."""
    url = url.strip()
    if not url or url.startswith("#"):
        return
    scheme = urlsplit(url).scheme.lower() if ":" in url else ""
    if scheme in LINK_SCHEMES and not url.startswith("//"):
        return
    shown = url if len(url) <= 60 else url[:57] + "..."
    problems.error(path, number, f"link '{shown}' is not a web address",
                   "link to a web page (https://...), an email address (mailto:...) or a "
                   "heading (#...); files on this computer are not part of the PDF")


def _check_html_depth(briefing, lines, problems) -> None:
    """Raw HTML nested absurdly deep (checked before nh3, which is slow on deep trees)."""
    depth = 0
    for offset, line in enumerate(lines):
        for match in TAG_RE.finditer(line):
            name = match.group(2).lower()
            if name in VOID_TAGS or match.group(0).endswith("/>"):
                continue
            depth = max(depth - 1, 0) if match.group(1) else depth + 1
            if depth > MAX_DEPTH:
                problems.error(briefing.path, briefing.body_line + offset,
                               f"HTML is nested more than {MAX_DEPTH} levels deep",
                               "use Markdown for structure; raw HTML is for small touches")
                return


def _check_tables(briefing, lines, problems) -> None:
    """A table longer than a dozen pages is data, not a briefing (and slow to lay out)."""
    for offset, line in enumerate(lines):
        rule = line.strip()
        if offset == 0 or "|" not in rule or "-" not in rule or set(rule) - set("|-: ") \
                or "|" not in lines[offset - 1]:
            continue
        rows = 0
        for row in lines[offset + 1:]:
            if "|" not in row or not row.strip():
                break
            rows += 1
        if rows > MAX_TABLE_ROWS:
            problems.error(briefing.path, briefing.body_line + offset - 1,
                           f"table has {rows} rows, over the {MAX_TABLE_ROWS}-row limit",
                           "summarise it, or publish the full data as a spreadsheet")


def _check_image(path, number, src, project_root, problems) -> None:
    parts = urlsplit(src)
    if parts.scheme or src.startswith("//"):
        problems.error(path, number, f"image '{src}' is not a project file",
                       "remote and file:// images are not loaded; copy the file into assets/")
        return
    if "\x00" in src:
        problems.error(path, number, "image path contains a null character",
                       "type the path again")
        return
    target = (path.parent / parts.path).resolve()
    allowed = [project_root / d for d in ("content", "assets")]
    if not any(target.is_relative_to(d.resolve()) for d in allowed):
        problems.error(path, number, f"image '{src}' is outside the project's content/ and "
                       "assets/", "copy the file into assets/ and link it from there")
    elif not target.is_file():
        problems.error(path, number, f"image '{src}' not found",
                       "paths are relative to the Markdown file, e.g. ../../assets/x.png")
    elif target.suffix.lower() not in IMAGE_SUFFIXES:
        problems.error(path, number, f"image '{src}' has an unsupported format",
                       f"use one of {', '.join(sorted(IMAGE_SUFFIXES))}")
    else:
        try:
            resources.check_image(target, target.read_bytes())
        except resources.RefusedResource as exc:
            problems.error(path, number, str(exc), "export it again as PNG, JPEG or SVG")


class _State:
    """Mutable record of one conversion, owned by the converter instance."""

    def __init__(self, briefing, prefix, refs):
        self.briefing, self.prefix, self.refs = briefing, prefix, refs
        self.headings: list[Heading] = []
        self.images: list[Path] = []
        self.error: ContentError | None = None


class _PressExtension(Extension):
    def __init__(self, state: _State):
        super().__init__()
        self.state = state

    def extendMarkdown(self, md_):  # noqa: N802 (python-markdown's API name)
        md_.preprocessors.register(_CaptionLines(md_), "press-captions", 25)
        md_.inlinePatterns.register(
            _Citations(cite.CITATION_RE.pattern, md_, self.state), "press-cite", 175)
        md_.treeprocessors.register(_Structure(md_, self.state), "press-structure", 4)


class _CaptionLines(Preprocessor):
    """A ``Table:`` line right under a table becomes its own paragraph."""

    def run(self, lines):
        out = []
        for line in lines:
            if line.startswith("Table:") and out and out[-1].lstrip().startswith("|"):
                out.append("")
            out.append(line)
        return out


class _Citations(InlineProcessor):
    def __init__(self, pattern, md_, state):
        super().__init__(pattern, md_)
        self.state = state

    def handleMatch(self, m, data):  # noqa: N802
        span = ET.Element("span", {"class": "citation"})
        span.text = "("
        items = cite.parse(m.group(1))
        last = span
        for index, (ref_id, locator) in enumerate(items):
            ref = self.state.refs.get(ref_id)
            if ref is None:  # reported by the line scan; keep the text visible
                return None, None, None
            link = ET.SubElement(span, "a", {"href": f"#{self.state.prefix}ref-{ref_id}"})
            link.text = cite.in_text(ref, locator)
            link.tail = "; " if index < len(items) - 1 else ")"
            last = link
        del last
        return span, m.start(0), m.end(0)


class _Structure(Treeprocessor):
    """Figures, captions, pull quotes, boxes, footnotes at the foot of the page, headings."""

    def __init__(self, md_, state: _State):
        super().__init__(md_)
        self.state = state

    def run(self, root):
        self._footnotes(root)
        self._boxes(root)
        self._figures(root)
        self._tables(root)
        self._pullquotes(root)
        self._ids(root)
        self._long_words(root)
        for el in root.iter():
            if el.tag in ("h2", "h3"):
                text = "".join(el.itertext()).strip()
                self.state.headings.append(Heading(int(el.tag[1]), text, el.get("id", "")))
        return root

    # footnotes become inline spans that WeasyPrint floats to the foot of the page
    def _footnotes(self, root):
        container = next((el for el in root.iter("div") if el.get("class") == "footnote"), None)
        if container is None:
            return
        notes = {}
        for li in container.iter("li"):
            for backref in [a for a in li.iter("a") if "footnote-backref" in a.get("class", "")]:
                _remove(li, backref)
            span = ET.Element("span", {"class": "footnote"})
            paras = [c for c in li if c.tag == "p"]
            if len(paras) == 1 and len(li) == 1:
                span.text = paras[0].text
                span.extend(list(paras[0]))
            else:
                span.text = li.text
                for child in li:
                    if child.tag == "p":
                        child.tag = "span"
                        child.tail = (child.tail or "") + " "
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

    def _boxes(self, root):
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

    def _figures(self, root):
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
                img.tail = None
                figure.append(img)
                self.state.images.append(img.get("src", ""))
                if caption_text.startswith("Figure:") or rest:
                    cap = ET.SubElement(figure, "figcaption")
                    label = ET.SubElement(cap, "span", {"class": "label"})
                    label.text = f"Figure {number}"
                    label.tail = " " + caption_text.removeprefix("Figure:").strip()
                    cap.extend(rest)
                else:
                    number -= 1
                    figure.set("class", "figure figure-plain")
                figure.tail = p.tail
                parent[index] = figure

    def _tables(self, root):
        number = 0
        for parent in list(root.iter()):
            children = list(parent)
            for index, table in enumerate(children):
                if table.tag != "table":
                    continue
                number += 1
                table.set("class", "data")
                if index + 1 < len(children):
                    nxt = children[index + 1]
                    if nxt.tag == "p" and (nxt.text or "").startswith("Table:"):
                        cap = ET.Element("caption")
                        label = ET.SubElement(cap, "span", {"class": "label"})
                        label.text = f"Table {number}"
                        label.tail = " " + nxt.text.removeprefix("Table:").strip()
                        cap.extend(list(nxt))
                        table.insert(0, cap)
                        parent.remove(nxt)
                for th in table.iter("th"):
                    th.set("scope", "col")

    def _pullquotes(self, root):
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

    def _ids(self, root):
        """Prefix every id and internal link with the slug, so bundles keep links apart."""
        prefix = self.state.prefix
        for el in root.iter():
            if (value := el.get("id")) and not value.startswith(prefix):
                el.set("id", prefix + value)
            href = el.get("href") or ""
            if href.startswith("#") and not href.startswith("#" + prefix):
                el.set("href", "#" + prefix + href[1:])

    def _long_words(self, root):
        """Insert break opportunities into absurdly long words (URLs, pasted data)."""
        pattern = re.compile(rf"\S{{{MAX_WORD},}}")

        def fix(text):
            return pattern.sub(lambda m: "\u200b".join(
                m.group(0)[i:i + 20] for i in range(0, len(m.group(0)), 20)), text)

        in_pre = set()
        for pre in root.iter("pre"):  # a code block keeps its line breaks: wrap long lines
            for el in pre.iter():
                in_pre.add(el)
                if el.text and len(el.text) >= PRE_WIDTH:
                    el.text = AtomicString(_wrap_lines(el.text))
        for el in root.iter():
            if el.text and len(el.text) >= MAX_WORD and el not in in_pre:
                text = fix(el.text)
                el.text = AtomicString(text) if isinstance(el.text, AtomicString) else text
            if el.tail and len(el.tail) >= MAX_WORD and el.tag != "pre":
                el.tail = fix(el.tail)


def _one_line(element) -> None:
    """Line breaks in a footnote become spaces: WeasyPrint 70 asserts on ' \n' in a footnote."""
    kept = {el for pre in element.iter("pre") for el in pre.iter()}
    for el in element.iter():
        for attr in ("tail",) if el in kept else ("text", "tail"):
            value = getattr(el, attr)
            if value and "\n" in value:
                fixed = re.sub(r"\s*\n\s*", " ", value)
                setattr(el, attr, AtomicString(fixed) if isinstance(value, AtomicString) else fixed)


def _wrap_lines(text: str) -> str:
    """Lines of a code block longer than the column, wrapped (at spaces where possible)."""
    out = []
    for line in text.split("\n"):
        while len(line) > PRE_WIDTH:
            cut = line.rfind(" ", PRE_WIDTH // 2, PRE_WIDTH) + 1 or PRE_WIDTH
            out.append(line[:cut])
            line = line[cut:]
        out.append(line)
    return "\n".join(out)


def _remove(root, target):
    for parent in root.iter():
        if target in list(parent):
            parent.remove(target)
            return
