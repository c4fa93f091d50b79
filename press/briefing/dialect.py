"""Markdown stage's first step: pandoc and Quarto habits rewritten into the house Markdown,
line for line (so that every later message still names the author's line), or refused at
their line with the house spelling.

- ``::: pointer`` ... ``:::`` and ``::: {.callout-note}`` ... ``:::`` (fenced divs) become the
  house boxes (``!!! pointer "Performance pointer"`` with the content indented);
- ``![alt](x.svg){#fig-x}{width=50%}`` (two attribute blocks) becomes one block;
- math (``$x^2$``, ``$$...$$``) is refused: it is not typeset, and raw TeX must never print.
"""

from __future__ import annotations

import re
from pathlib import Path

from press.briefing import blocks
from press.briefing.extension import BOX_TYPES
from press.errors import Problems, did_you_mean

DIV_RE = re.compile(r"^( {0,3}+)(:{3,}+)[ \t]*+(.*?)[ \t]*+$")
ATTRS_RE = re.compile(r"^\{([^{}]*+)\}$")
TITLE_RE = re.compile(r"""\btitle\s*=\s*(?:"([^"]*+)"|'([^']*+)')""")
HEADING_RE = re.compile(r"^#{1,6}[ \t]++(.+?)[ \t]*+#*+[ \t]*+$")
# Quarto's callouts that have a house box (the others are refused with the list)
CALLOUTS = {"callout-note": "note", "callout-important": "key-messages"}
DOUBLE_ATTRS_RE = re.compile(r"\)\{([^{}\n]*+)\}\{([^{}\n]*+)\}")
DISPLAY_MATH_RE = re.compile(r"\$\$")
DOLLAR_RE = re.compile(r"\$")


def normalise(text: str, lines: list[str], code: set[int], path: Path, body_line: int,
              problems: Problems) -> str:
    """The body in house Markdown, with as many lines as ``lines`` (the body's)."""
    out = _divs(lines, code, path, body_line, problems)
    for offset, line in enumerate(out):
        if offset in code:
            continue
        if "){" in line and "}{" in line:
            out[offset] = line = DOUBLE_ATTRS_RE.sub(r"){\1 \2}", line)
        if "$" in line:
            _math(line, path, body_line + offset, problems)
    return "\n".join(out) if out != lines else text


def _divs(lines: list[str], code: set[int], path: Path, body_line: int,
          problems: Problems) -> list[str]:
    """Fenced divs → ``!!!`` boxes: the opening line becomes the box's line, the content is
    indented by four spaces per open div, the closing line becomes a blank line."""
    out = list(lines)
    open_: list[tuple[int, int]] = []  # (offset of the opening line, its fence length)
    title_wanted: int | None = None  # the box whose title may come from its first heading
    for offset, line in enumerate(lines):
        if offset in code and not open_:
            continue
        match = DIV_RE.match(line) if offset not in code else None
        depth = "    " * len(open_)
        if match and not match.group(3) and open_:  # a closing fence
            open_.pop()
            out[offset] = ""
            title_wanted = None
            continue
        if match and match.group(3):
            kind, title = _div_kind(match.group(3), path, body_line + offset, problems)
            if title_wanted is not None:
                title_wanted = None
            out[offset] = f'{depth}!!! {kind} "{title or BOX_TYPES.get(kind, "")}"'
            if not title:
                title_wanted = offset
            open_.append((offset, len(match.group(2))))
            continue
        if match and not match.group(3):
            problems.error(path, body_line + offset, "':::' closes no box",
                           "open a box with '::: pointer' (or another kind) above it")
            out[offset] = ""
            continue
        if not open_:
            continue
        if title_wanted is not None and line.strip():
            heading = HEADING_RE.match(line.strip())
            if heading:  # Quarto: a callout's first heading is its title
                box = out[title_wanted]
                out[title_wanted] = box[:box.index('"')] + f'"{_quoted(heading.group(1))}"'
                out[offset] = ""
                title_wanted = None
                continue
            title_wanted = None
        out[offset] = depth + line if line.strip() else ""
    for offset, _ in open_:
        problems.error(path, body_line + offset, "the box opened with ':::' is never closed",
                       "close it with ':::' on a line of its own")
    return out


def _div_kind(spec: str, path: Path, number: int, problems: Problems) -> tuple[str, str]:
    """``pointer``, ``{.pointer}``, ``{.callout-note title="..."}`` → (box kind, title)."""
    attrs = ATTRS_RE.match(spec)
    title = ""
    if attrs:
        found = TITLE_RE.search(attrs.group(1))
        title = next((g for g in found.groups() if g is not None), "") if found else ""
        classes = re.findall(r"(?:^|\s)\.([\w-]+)", attrs.group(1))
    else:
        words = spec.split(None, 1)
        classes = words[:1]
        if len(words) > 1:
            title = words[1].strip().strip("\"'")
    for name in classes:
        kind = CALLOUTS.get(name, name)
        if kind in BOX_TYPES:
            return kind, _quoted(title)
    shown = spec if len(spec) <= 40 else spec[:37] + "..."
    if re.search(r"#fig-", spec):  # Quarto's subfigures: a div labelled as a figure
        problems.error(path, number, f"'::: {shown}' (figures side by side) is not laid out",
                       "give each image its own figure: ![alt](path){#fig-a}, then "
                       "![alt](path){#fig-b}")
        return "note", ""
    guess = did_you_mean(classes[0], list(BOX_TYPES)) if classes and not \
        classes[0].startswith("callout-") else ""
    problems.error(path, number, f"'::: {shown}' is not a house box",
                   (guess + " " if guess.startswith("did you mean") else "")
                   + "The boxes are ::: key-messages, ::: pointer, ::: practice and ::: note "
                   "(Quarto's {.callout-note} is a note, {.callout-important} key messages)")
    return "note", ""


def _quoted(title: str) -> str:
    return title.replace('"', "'")


def _math(line: str, path: Path, number: int, problems: Problems) -> None:
    """``$$...$$`` and pandoc's inline ``$x$`` (a ``$`` with no space after it, the next
    ``$`` with no space before it and no digit after it): refused, never printed raw."""
    text = blocks.blank_inline(line)
    if DISPLAY_MATH_RE.search(text):
        problems.error(path, number, "math ('$$...$$') is not typeset",
                       "write the formula in words, or show it as an image with alt text")
        return
    positions = [m.start() for m in DOLLAR_RE.finditer(text)]
    index = 0
    while index + 1 < len(positions):
        start, end = positions[index], positions[index + 1]
        if start + 1 < len(text) and not text[start + 1].isspace() \
                and not text[end - 1].isspace() \
                and not (end + 1 < len(text) and text[end + 1].isdigit()):
            formula = text[start:end + 1]
            shown = formula if len(formula) <= 30 else formula[:27] + "..."
            problems.error(path, number, f"math ('{shown}') is not typeset",
                           "write the formula in words, or show it as an image with alt "
                           "text; write \\$ for a dollar sign")
            return
        index += 1
