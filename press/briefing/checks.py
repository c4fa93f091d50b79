"""Markdown checks: line-based scans of a briefing body before conversion (links, images,
citations, boxes, tables, HTML nesting), each problem at the author's line."""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit

from press.briefing import cite
from press.briefing.extension import BOX_TYPES
from press.errors import did_you_mean
from press.render import fetcher as resources

MAX_NESTING = 12  # blockquotes/lists/boxes deeper than this are almost surely a mistake
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
FENCE_RE = re.compile(r"^ {0,3}(```|~~~)")
UNSAFE_HTML_RE = re.compile(
    r"<\s*(script|style|iframe|object|embed|link|form|input|textarea|button|select|meta|base|"
    r"svg|math|frame|frameset|applet|audio|video|source|template)\b"
    r"|\s(on[a-z]+)\s*=|\s(style)\s*=|\srel\s*=\s*[\"']?(attachment)", re.I)
IMAGE_SUFFIXES = resources.IMAGE_SUFFIXES


def scan(briefing, lines, refs, project_root, problems) -> set[str]:
    """Line-based checks (the Markdown library does not know lines); returns cited ids."""
    cited: set[str] = set()
    path = briefing.path
    labels = _labels(briefing, lines, problems)
    fence = False
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
        if FENCE_RE.match(line):
            fence = not fence
        elif not fence:
            _check_citations(path, number, line, refs, labels, cited, problems)
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


def _labels(briefing, lines, problems) -> dict[str, int]:
    """Cross-reference labels (``{#fig-x}``, ``{#tbl-x}``, ``{#sec-x}``) and their lines."""
    labels: dict[str, int] = {}
    fence = False
    for offset, line in enumerate(lines):
        fence = fence != bool(FENCE_RE.match(line))
        for match in () if fence else cite.LABEL_RE.finditer(_without_code(line)):
            number = briefing.body_line + offset
            if match.group(1) in labels:
                problems.error(briefing.path, number, f"label '{match.group(1)}' is used twice",
                               f"first on line {labels[match.group(1)]}; give each its own")
            labels.setdefault(match.group(1), number)
    return labels


def _check_citations(path, number, line, refs, labels, cited, problems) -> None:
    """Every ``[@key]``, ``@key`` and ``@fig-x`` must name a reference or a label."""
    for key, grouped in dict.fromkeys(cite.citations(line)):  # each slip once per line
        if cite.is_crossref(key):
            if grouped:
                problems.error(path, number, f"cross-reference '@{key}' in square brackets",
                               f"write it without brackets: 'see @{key}'")
            elif key not in labels:
                problems.error(path, number, f"unknown cross-reference '@{key}'",
                               did_you_mean(key, labels) or "label a figure with {#fig-...}, "
                               "a table's caption with {#tbl-...}, a heading with {#sec-...}")
        elif key in refs:
            cited.add(key)
        else:
            hint = did_you_mean(key, refs) if refs else "add it to a bibliography file or to " \
                "'references:' in the front matter"
            if not grouped and not hint.startswith("did you mean"):  # perhaps not a citation
                hint = "no such reference; write \\@ for a plain @"
            problems.error(path, number, f"unknown citation '{key}'", hint)


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


def check_html_depth(briefing, lines, problems) -> None:
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


def check_tables(briefing, lines, problems) -> None:
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
