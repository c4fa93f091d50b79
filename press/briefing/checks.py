"""Markdown checks: line-based scans of a briefing body before conversion (links, images,
citations, boxes, tables, HTML nesting), each problem at the author's line."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

from press.briefing import blocks, cite, images
from press.briefing.extension import BOX_TYPES
from press.errors import Problems, did_you_mean
from press.model import Briefing, Reference

MAX_NESTING = 12  # blockquotes/lists/boxes deeper than this are almost surely a mistake
MAX_DEPTH = 40  # elements inside the body; WeasyPrint recurses per level (about 200 is fatal)
MAX_TABLE_ROWS = 500  # about a dozen pages; 2,000 rows take a minute to lay out
# Every pattern here must run in linear time: a regular expression cannot be interrupted by
# the time limit, so a backtracking one would hang the build on a crafted line.
# (URLs stop at brackets and parentheses so that no attempt runs on into the next one.)
IMAGE_RE = re.compile(r"!\[((?:[^\[\]]|\[[^\[\]]*\])*+)\]\(\s*+<?([^()\s<>\[\]]*+)>?"
                      r"(?:\s+\"[^\"]*\")?\s*\)")
LINK_RE = re.compile(r"(?<!!)\[[^\[\]]*+\]\(\s*+<?([^)\s>]*+)")
HTML_URL_RE = re.compile(r"<\s*(img|a)\b[^<>]*?\s(src|href)\s*=\s*"
                         r"(?:\"([^\"<>]*)\"|'([^'<>]*)'|([^\s<>]+))", re.I)
TAG_RE = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9]*)\b[^<>]*>")
VOID_TAGS = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
             "source", "track", "wbr"}
LINK_SCHEMES = ("http", "https", "mailto")
HEADING1_RE = re.compile(r"^#(?!#)\s")
BOX_RE = re.compile(r"^!!!\s*([^\s\"]*)")
FENCE_RE = re.compile(r"^ {0,3}(```|~~~)")
UNSAFE_HTML_RE = re.compile(
    r"<\s*(script|style|iframe|object|embed|link|form|input|textarea|button|select|meta|base|"
    r"svg|math|frame|frameset|applet|audio|video|source|template)\b"
    r"|\s(on[a-z]+)\s*=|\s(style)\s*=|\srel\s*=\s*[\"']?(attachment)", re.I)


IMAGE_ANY_RE = re.compile(r"!\[((?:[^\[\]]|\[[^\[\]]*\])*+)\]\(([^()]*+)\)")
IMAGE_REF_RE = re.compile(r"!\[([^\[\]]*+)\](?:\[([^\[\]]*+)\])?")
LINK_DEF_RE = re.compile(r"^\s{0,3}\[(?!\^)([^\[\]]+)\]:\s*<?([^\s>]+)")
ATTRS_RE = re.compile(r"\{([^{}\n]*+)\}")  # straight after an image: its options
FOOTNOTE_DEF_RE = re.compile(r"^\[\^([^\[\]\s]++)\]:")
FOOTNOTE_REF_RE = re.compile(r"\[\^([^\[\]\s]++)\](?!:)")
FENCE_RE = re.compile(r"^(\s*)(`{3,}|~{3,})")
RULE_RE = re.compile(r"^ {0,3}([*_-])(?:\s*\1){2,}\s*$")
SETEXT_RE = re.compile(r"^ {0,3}(=+|-+)\s*$")
BLOCK_START_RE = re.compile(r"^\s*(?:[-*+]\s|\d+[.)]\s|>|\||!!!|\[\^|#|<|Table:|Figure:)")
LIST_START_RE = re.compile(r"^\s*(?:[-*+]\s|\d+[.)]\s|!!!|\[\^[^\]]*\]:)")
INLINE_TAGS = {"a", "abbr", "b", "cite", "code", "del", "em", "i", "ins", "mark", "q", "s",
               "small", "span", "strong", "sub", "sup", "u"}


class Scan:
    """What the line scan found for the checks made after conversion."""

    def __init__(self) -> None:
        self.cited: set[str] = set()
        self.anchors: list[tuple[int, str]] = []  # (line, '#target') of internal links


def scan(briefing: Briefing, lines: list[str], refs: dict[str, Reference], project_root: Path,
         problems: Problems) -> Scan:
    """Line-based checks (the Markdown library does not know lines)."""
    found = Scan()
    path = briefing.path
    labels = _labels(briefing, lines, problems)
    code = code_lines(lines)
    defs: dict[str, tuple[int, str]] = {}  # link reference label -> (line number, url)
    image_labels: set[str] = set()
    notes_defined: dict[str, int] = {}
    notes_called: dict[str, int] = {}
    for offset, line in enumerate(lines):
        if offset in code:
            continue
        line = blocks.blank_inline(line)
        if match := LINK_DEF_RE.match(line):
            defs[match.group(1).strip().lower()] = (briefing.body_line + offset, match.group(2))
        for match in IMAGE_REF_RE.finditer(line):
            if line[match.end():match.end() + 1] != "(":
                image_labels.add((match.group(2) or match.group(1)).strip().lower())
    for offset, line in enumerate(lines):
        number = briefing.body_line + offset
        if offset in code:
            continue
        line = blocks.blank_inline(line)
        if HEADING1_RE.match(line):
            problems.error(path, number, "level-1 heading ('# ...') in the body",
                           "the title comes from the front matter; use '##' for sections")
        if (match := SETEXT_RE.match(line)) and offset and lines[offset - 1].strip() \
                and offset - 1 not in code and not BLOCK_START_RE.match(lines[offset - 1]) \
                and not RULE_RE.match(lines[offset - 1]) \
                and not lines[offset - 1].startswith("    "):
            level = "##" if match.group(1)[0] == "-" else "#"
            problems.error(path, number, f"underlined heading ('{match.group(1)[:3]}' under "
                           "the line before)",
                           f"write '## {lines[offset - 1].strip()[:40]}' for a section"
                           if level == "##" else "the title comes from the front matter; write "
                           "'## ...' for a section"
                           + (", or leave a blank line before '---' for a rule"
                              if level == "##" else ""))
        if match := BOX_RE.match(line):
            kind = match.group(1)
            if kind not in BOX_TYPES:
                problems.error(path, number, f"unknown box type '{kind}'",
                               did_you_mean(kind, BOX_TYPES))
            _check_box_indent(path, number, lines, offset, problems)
        quotes = re.match(r"^[>\s]*", line)
        assert quotes is not None  # [>\s]* matches the empty string
        depth = len(quotes.group(0).replace(" ", ""))
        indent = len(line) - len(line.lstrip(" "))
        if depth > MAX_NESTING or indent > 4 * MAX_NESTING:
            problems.error(path, number, "content is nested too deeply",
                           f"keep lists, quotes and boxes under {MAX_NESTING} levels")
        if match := FOOTNOTE_DEF_RE.match(line):
            notes_defined.setdefault(match.group(1), number)
        if match := LINK_DEF_RE.match(line):  # a reference definition: a link or an image?
            if match.group(1).strip().lower() in image_labels:
                images.check_source(path, number, match.group(2), project_root, problems)
            else:
                _check_link(path, number, match.group(2), problems, found)
        for what in dict.fromkeys(next(g for g in match.groups() if g).lower()
                                  for match in UNSAFE_HTML_RE.finditer(line)):
            problems.warn(path, number, f"removed unsafe HTML '{what}'",
                          "raw HTML is limited to simple formatting")
    for block in blocks.split(lines, code):
        _check_block(briefing, block, refs, labels, project_root, image_labels, problems,
                     found, notes_called)
    for label, number in notes_called.items():
        if label not in notes_defined:
            problems.error(path, number, f"footnote '[^{label}]' is never defined",
                           did_you_mean(label, notes_defined) if notes_defined else
                           f"write the note on its own line: [^{label}]: The note.")
    for label, number in notes_defined.items():
        if label not in notes_called:
            problems.warn(path, number, f"footnote '[^{label}]' is never referred to",
                          f"write [^{label}] where the note mark goes, or remove the note")
    return found


def _check_block(briefing: Briefing, block: blocks.Block, refs: dict[str, Reference],
                 labels: dict[str, int], project_root: Path, image_labels: set[str],
                 problems: Problems, found: Scan, notes_called: dict[str, int]) -> None:
    """The inline checks, on a paragraph's joined text; each problem at the line where its
    construct starts."""
    path, text = briefing.path, block.text

    def line(match: re.Match[str], group: int = 0) -> int:
        return briefing.body_line + block.offset(match.start(group))

    _check_citations(path, block, briefing.body_line, refs, labels, found.cited, problems)
    for match in FOOTNOTE_REF_RE.finditer(block.prose):
        notes_called.setdefault(match.group(1), line(match))
    for match in IMAGE_ANY_RE.finditer(text):
        alt, src = match.group(1).strip(), re.sub(r"\s*+\n\s*+", " ", match.group(2)).strip()
        if not alt:
            problems.error(path, line(match), f"image '{images.shown(src)}' has no alt text",
                           "describe the image: ![what it shows](path)")
        images.check_source(path, line(match), src, project_root, problems)
        if attrs := ATTRS_RE.match(text, match.end()):
            images.check_attrs(path, line(match), attrs.group(1), problems)
    for match in HTML_URL_RE.finditer(text):
        tag, url = match.group(1).lower(), next(g for g in match.groups()[2:] if g is not None)
        if tag == "img":
            images.check_file(path, line(match), unquote(url), project_root, problems)
        else:
            _check_link(path, line(match), url, problems, found)
    for match in LINK_RE.finditer(text):
        _check_link(path, line(match), match.group(1), problems, found)


def code_lines(lines: list[str]) -> set[int]:
    """Offsets of the lines inside code blocks (fenced, or indented by four spaces after a
    paragraph): their text is shown as written, never checked as links or images."""
    code: set[int] = set()
    fence = None
    container = False  # inside a list, box or footnote: indented lines belong to it
    previous_blank = True
    in_indented = False
    for offset, line in enumerate(lines):
        stripped = line.strip()
        if fence is not None:
            code.add(offset)
            if stripped.startswith(fence) and set(stripped) == {fence[0]}:
                fence = None
            continue
        if match := FENCE_RE.match(line):
            fence = match.group(2)
            code.add(offset)
            continue
        if not stripped:
            previous_blank = True
            if in_indented:
                code.add(offset)
            continue
        expanded = line.expandtabs(4)
        indent = len(expanded) - len(expanded.lstrip())
        if in_indented and indent >= 4:
            code.add(offset)
        elif previous_blank and indent >= 4 and not container:
            in_indented = True
            code.add(offset)
        else:
            in_indented = False
            if LIST_START_RE.match(line):
                container = True
            elif indent == 0 and previous_blank:
                container = False
        previous_blank = False
    return code


def _check_box_indent(path: Path, number: int, lines: list[str], offset: int,
                      problems: Problems) -> None:
    """A box's content must be indented by four spaces: less leaves an empty box with the
    content printed under it."""
    for later in range(offset + 1, len(lines)):
        line = lines[later]
        if not line.strip():
            continue
        indent = len(line) - len(line.lstrip(" "))
        if line.startswith("\t") or indent >= 4:
            return
        if indent:
            problems.error(path, number, f"the box's content on line {number + later - offset} "
                           f"is indented by {indent} space{'s' if indent > 1 else ''}",
                           "indent every line of a box by four spaces")
        else:
            problems.warn(path, number, "the box is empty",
                          "indent its content by four spaces under the '!!!' line")
        return


def _labels(briefing: Briefing, lines: list[str], problems: Problems) -> dict[str, int]:
    """Cross-reference labels (``{#fig-x}``, ``{#tbl-x}``, ``{#sec-x}``) and their lines."""
    labels: dict[str, int] = {}
    fence = False
    for offset, line in enumerate(lines):
        fence = fence != bool(FENCE_RE.match(line))
        for match in () if fence else cite.LABEL_RE.finditer(blocks.blank_inline(line)):
            number = briefing.body_line + offset
            if match.group(1) in labels:
                problems.error(briefing.path, number, f"label '{match.group(1)}' is used twice",
                               f"first on line {labels[match.group(1)]}; give each its own")
            labels.setdefault(match.group(1), number)
    return labels


def _check_citations(path: Path, block: blocks.Block, body_line: int,
                     refs: dict[str, Reference], labels: dict[str, int], cited: set[str],
                     problems: Problems) -> None:
    """Every ``[@key]``, ``@key`` and ``@fig-x`` must name a reference or a label."""
    seen = set()
    for found in cite.citations(block.prose):
        key, grouped = found.key, found.grouped
        if (key, grouped) in seen:
            continue  # each slip once per paragraph
        seen.add((key, grouped))
        number = body_line + block.offset(found.start)
        if cite.is_crossref(key):
            if grouped and not found.suppressed:
                problems.error(path, number, f"cross-reference '@{key}' in square brackets",
                               f"write it without brackets: 'see @{key}', or '[-@{key}]' for "
                               "the number only")
            elif key not in labels:
                problems.error(path, number, f"unknown cross-reference '@{key}'",
                               did_you_mean(key, labels) or "label a figure with {#fig-...}, "
                               "a table's caption with {#tbl-...}, a heading with {#sec-...}")
        elif key in refs:
            cited.add(key)
        elif key.startswith("eq-"):
            problems.error(path, number, f"cross-reference '@{key}' to an equation",
                           "formulas are not typeset, so they have no numbers: refer to the "
                           "text, a figure or a table")
        elif cite.is_crossref(key.lower()) and key.lower() in labels:
            problems.error(path, number, f"unknown citation '{key}'",
                           f"did you mean '@{key.lower()}'? Labels are in lower case")
        else:
            hint = did_you_mean(key, refs) if refs else "add it to a bibliography file or to " \
                "'references:' in the front matter"
            if not grouped and not hint.startswith("did you mean"):  # perhaps not a citation
                hint = "no such reference; write \\@ for a plain @"
            problems.error(path, number, f"unknown citation '{key}'", hint)


def _check_link(path: Path, number: int, url: str, problems: Problems,
                found: Scan | None = None) -> None:
    """Links may go to the web, to an email address or to a heading: never to a local file."""
    url = url.strip()
    if url.startswith("#") and found is not None:
        found.anchors.append((number, url))
    if not url or url.startswith("#"):
        return
    scheme = urlsplit(url).scheme.lower() if ":" in url else ""
    if scheme in LINK_SCHEMES and not url.startswith("//"):
        return
    shown = url if len(url) <= 60 else url[:57] + "..."
    problems.error(path, number, f"link '{shown}' is not a web address",
                   "link to a web page (https://...), an email address (mailto:...) or a "
                   "heading (#...); files on this computer are not part of the PDF")


def check_html_depth(briefing: Briefing, lines: list[str], problems: Problems) -> None:
    """Raw HTML nested absurdly deep (checked before nh3, which is slow on deep trees), an
    inline tag left open at the end of its paragraph (it would run on into the next ones),
    and raw tables (written as pipe tables instead)."""
    code = code_lines(lines)
    depth = 0
    inline: list[tuple[str, int]] = []  # open inline tags of this paragraph, with their lines
    reported_depth = False
    for offset, line in enumerate(lines + [""]):
        number = briefing.body_line + offset
        if offset in code:
            continue
        if not line.strip():
            if inline:  # an inline tag left open ends with its paragraph
                name, opened = inline[0]
                problems.error(briefing.path, opened, f"'<{name}>' is not closed in its "
                               "paragraph", f"close it with '</{name}>' before the blank line")
            inline = []
            continue
        for match in TAG_RE.finditer(blocks.blank_inline(line)):
            name = match.group(2).lower()
            if name in VOID_TAGS or match.group(0).endswith("/>"):
                continue
            if name == "table" and not match.group(1):
                problems.error(briefing.path, number, "raw HTML table",
                               "write it as a pipe table ('| a | b |'): it is then numbered, "
                               "captioned and styled like the others")
            if name in INLINE_TAGS:
                if not match.group(1):
                    inline.append((name, number))
                elif any(n == name for n, _ in inline):
                    while inline and inline.pop()[0] != name:
                        pass
            else:
                depth = max(depth - 1, 0) if match.group(1) else depth + 1
            if depth + len(inline) > MAX_DEPTH and not reported_depth:
                problems.error(briefing.path, number,
                               f"HTML is nested more than {MAX_DEPTH} levels deep",
                               "use Markdown for structure; raw HTML is for small touches")
                reported_depth = True
                return


def check_tables(briefing: Briefing, lines: list[str], problems: Problems) -> None:
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


