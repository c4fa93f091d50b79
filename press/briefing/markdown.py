"""Markdown stage: a briefing's Markdown body → sanitised HTML, headings and reference list.

Authors' text is only ever data: it is converted here, sanitised with an allow-list, and the
layout stage inserts the result into a template as a value, never as template source.
"""

from __future__ import annotations

import html.parser
import re
from dataclasses import replace
from html import escape
from pathlib import Path
from urllib.parse import unquote, urlsplit

import markdown as md
import nh3

from press.briefing import checks, cite, dialect, extension, leaks
from press.briefing.checks import LINK_SCHEMES, MAX_DEPTH, MAX_NESTING, TAG_RE, VOID_TAGS
from press.core import limits
from press.errors import ContentError, Problems, did_you_mean
from press.model import Body, Briefing, Reference

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
    body = dialect.normalise(briefing.body, lines, checks.code_lines(lines), briefing.path,
                             briefing.body_line, problems)
    if body != briefing.body:  # (same lines: every message still names the author's line)
        briefing = replace(briefing, body=body)
        lines = body.split("\n")
    known = {r.id: r for r in briefing.references}
    found = checks.scan(briefing, lines, known, project_root, problems)
    cited = found.cited
    cited |= set(known) if "*" in briefing.nocite else set(briefing.nocite) & set(known)
    checks.check_html_depth(briefing, lines, problems)
    checks.check_tables(briefing, lines, problems)
    for ref in briefing.references:  # a bibliography file may hold more than one briefing cites
        if ref.id not in cited and ref.source is None:
            problems.warn(briefing.path, ref.line, f"reference '{ref.id}' is never cited",
                          f"cite it with [@{ref.id}] or remove it")
    listed = cite.disambiguate([r for r in briefing.references
                                if r.source is None or r.id in cited])
    refs = {r.id: r for r in listed}
    for ref in listed:
        _check_reference_link(briefing, ref, problems)
    if problems.errors:
        raise ContentError(problems.items)  # the warnings too: they often explain the errors

    try:
        with limits.time_limit("markdown"):
            html, state = _to_html(briefing, briefing.body, refs)
            _check_leaks(briefing, html)
            if _depth(html) > MAX_DEPTH:
                raise ContentError.at(
                    briefing.path, _deepest_line(briefing, refs), "content is nested too deeply",
                    f"keep lists, quotes, emphasis and HTML under {MAX_DEPTH} levels")
            html = nh3.clean(html, tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES,
                             url_schemes=set(LINK_SCHEMES), link_rel=None,
                             clean_content_tags={"script", "style", "template", "textarea"},
                             strip_comments=True)
        _check_anchors(briefing, found.anchors, state.ids)
        _check_targets(briefing, html, project_root)
        html = typography(html)
    except limits.TimeLimitExceeded as exc:
        raise ContentError.at(briefing.path, briefing.body_line,
                              f"converting the Markdown did not finish within {exc.seconds:g} s",
                              "look for very long runs of brackets, asterisks or HTML tags"
                              ) from None
    prefix = f"{briefing.slug}--"
    references = cite.reference_list_html(listed, lambda i: f"{prefix}ref-{i}")
    return Body(html=html, headings=tuple(state.headings), references_html=references,
                warnings=tuple(problems.warnings), images=tuple(state.images))


def _check_reference_link(briefing: Briefing, ref: Reference, problems: Problems) -> None:
    """A reference list's web address goes through the body's allow-list, at the entry's own
    line: only an absolute http(s) address is a link. A relative one (``../../README.md``)
    would become a ``file://`` link to the build machine, ``javascript:`` or ``file:`` a live
    link in a published PDF; the list is made after the body's sanitiser, so it is checked
    here, before anything is laid out."""
    for url in dict.fromkeys(u for u in (ref.url, str(ref.csl.get("URL") or "")) if u):
        parts = urlsplit(url.strip())
        if parts.scheme.lower() in ("http", "https") and parts.netloc \
                and not any(ord(c) < 32 for c in url):
            continue
        problems.error(ref.source or briefing.path, ref.line or None,
                       f"reference '{ref.id}': its web address '{url[:80]}' is not an http or "
                       "https address", "give the full address, starting https://, or "
                       "leave the field out")


def _to_html(briefing: Briefing, text: str, refs: dict[str, Reference]
             ) -> tuple[str, extension.State]:
    """Python-Markdown with our extensions; a fresh converter per call (footnotes, ids)."""
    prefix = f"{briefing.slug}--"
    state = extension.State(briefing, prefix, refs)
    converter = md.Markdown(
        extensions=["tables", "footnotes", "attr_list", "admonition", "smarty", "sane_lists",
                    "def_list", "fenced_code", "toc", extension.PressExtension(state)],
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
    return _unplaceholder(html), state


def _check_leaks(briefing: Briefing, html: str) -> None:
    """Markup the converter left as text is an error at the line it was written on."""
    found = leaks.find(html)
    if not found:
        return
    lines = briefing.body.split("\n")
    code = checks.code_lines(lines)
    problems = Problems()
    for shown, what, hint in found:
        offset = leaks.line_of(lines, code, shown)
        problems.error(briefing.path, briefing.body_line + (offset or 0),
                       f"'{shown}' would be printed as written: {what}", hint)
    raise ContentError(problems.items)


def _unplaceholder(html: str) -> str:
    """Python-Markdown leaves a backslash escape's placeholder (``\\x02 43 \\x03`` for '+')
    where its unescaping does not reach (an e-mail autolink): the character it stands for.
    Any other stray marker is dropped, so none reaches the page."""
    if "\x02" not in html and "\x03" not in html and "&#2;" not in html:
        return html
    # (in an e-mail address every character is an entity: "&#2;43&#3;")
    html = re.sub("(?:\x02|&#2;)(\\d+)(?:\x03|&#3;)", lambda m: escape(chr(int(m.group(1)))),
                  html)
    return re.sub("\x02|\x03|&#[23];", "", html)


def _check_anchors(briefing: Briefing, anchors: list[tuple[int, str]], ids: set[str]
                   ) -> None:
    """Every ``[text](#id)`` must lead to a heading (or another id) of this briefing."""
    prefix = f"{briefing.slug}--"
    problems = Problems()
    for number, href in anchors:
        target = href[1:]
        if not target or (target if target.startswith(prefix) else prefix + target) in ids:
            continue
        choices = sorted(i.removeprefix(prefix) for i in ids if i.startswith(prefix)
                         and "ref-" not in i[len(prefix):len(prefix) + 4])
        problems.error(briefing.path, number, f"link '#{target}' goes to no heading",
                       did_you_mean(target.removeprefix(prefix), choices) if choices else
                       "the briefing has no headings to link to")
    if problems.errors:
        raise ContentError(problems.items)


NUMBER_RANGE_RE = re.compile(r"(?<![\w.,])(\d[\d.,]*)\u2013(\d[\d.,]*\d|\d)(?!\w)")
LONG_RUN_RE = re.compile(r"[^\s<]{80,}")
TEXT_OR_TAG_RE = re.compile(r"(<(?:[^<>\"']++|\"[^\"]*+\"|'[^']*+')*+>)")


def typography(html: str) -> str:
    """Text-node touches made after sanitising, outside code: a number range ("10–17") is
    never broken at its dash, and a very long word after an inline element or in a table cell
    can wrap. Briefings and letters both use it."""
    out: list[str] = []
    in_code = in_cell = 0
    for part in TEXT_OR_TAG_RE.split(html):
        if part.startswith("<"):
            name = re.match(r"</?\s*([a-zA-Z0-9]+)", part)
            tag = name.group(1).lower() if name else ""
            if tag in ("code", "pre"):
                in_code += -1 if part.startswith("</") else 1
            elif tag in ("td", "th"):
                in_cell += -1 if part.startswith("</") else 1
            out.append(part)
        else:
            if in_code <= 0 and "\u2013" in part:
                part = NUMBER_RANGE_RE.sub(_nobreak_range, part)
            if in_cell > 0 and in_code <= 0:
                # a cell's words are whole in the column widths (briefing.css): a word too long
                # for any column (pasted data, a URL) is the one that may break anywhere
                part = LONG_RUN_RE.sub(lambda m: f'<span class="long-word">{m.group(0)}</span>',
                                       part)
            elif out and out[-1].startswith("</") and (run := LONG_RUN_RE.match(part)):
                # a very long word straight after an inline element has no break
                # opportunity WeasyPrint can use: give it a box of its own that wraps
                part = f'<span class="long-word">{run.group(0)}</span>{part[run.end():]}'
            out.append(part)
    return "".join(out)


WORD_JOINER = "\u2060"


def _nobreak_range(match: re.Match[str]) -> str:
    """Word joiners on both sides of the dash: the only break they forbid is the one at the
    dash. (A nowrap span round the range made the range and its neighbours one box: "youth"
    pushed alone onto the next line, a line ended at "(Coles" two-thirds of the way across.)
    The joiner draws nothing and is no part of the copied text."""
    return f"{match.group(1)}{WORD_JOINER}\u2013{WORD_JOINER}{match.group(2)}"


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


def _deepest_line(briefing: Briefing, refs: dict[str, Reference]) -> int:
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


# -- link and image targets, checked on the converted document ---------------------------------

class _Targets(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[str, str]] = []  # ("a" or "img", url)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if (tag, name) in (("a", "href"), ("img", "src")) and value is not None:
                self.found.append((tag, value))


def _check_targets(briefing: Briefing, body_html: str, project_root: Path) -> None:
    """Every link and image of the converted body, whatever Markdown or HTML wrote it (a link
    split over two lines, a reference definition, an entity-encoded URL): links go to the web,
    an email address or a heading; images are files in content/ or assets/. The line-based
    checks give the better messages; this is the check that cannot be written around."""
    parser = _Targets()
    parser.feed(body_html)
    parser.close()
    allowed = [(project_root / d).resolve() for d in ("content", "assets")]
    problems = Problems()
    for tag, url in parser.found:
        url = url.strip()
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if tag == "a":
            if url.startswith("#") or (scheme in LINK_SCHEMES and not url.startswith("//")):
                continue
            message = f"link '{url[:60]}' is not a web address"
            hint = "link to a web page (https://...), an email address or a heading (#...)"
        else:
            target = (briefing.path.parent / unquote(parts.path)).resolve() \
                if not (scheme or url.startswith("//") or "\x00" in url) else None
            if target is not None and target.is_file() and \
                    any(target.is_relative_to(folder) for folder in allowed):
                continue
            message = f"image '{url[:60]}' is not a file in content/ or assets/"
            hint = "copy the file into assets/ and link it from there"
        problems.error(briefing.path, _line_of(briefing, url), message, hint)
    if problems.errors:
        raise ContentError(problems.items)


def _line_of(briefing: Briefing, url: str) -> int:
    """The body line where ``url`` (or its last path segment, if it was split) is written."""
    tail = url.rstrip("/").rsplit("/", 1)[-1] or url
    for offset, line in enumerate(briefing.body.split("\n")):
        if url in line or (tail and tail in line):
            return briefing.body_line + offset
    return briefing.body_line
