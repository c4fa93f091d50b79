"""A test helper that hard-wraps a Markdown document's paragraph text the way an editor's
"fill paragraph" does (Emacs M-q, Vim gq, "wrap at 80"): only the text of paragraphs, list
items and box content is re-flowed; headings, tables, code, front matter, list markers,
definitions and HTML blocks are left as they are.

A line is never started with something that would make Markdown read a new block (a list
marker, a heading's #, a quote's >, a table's |): editors' fill commands avoid that too, and
it would change the document, not its wrapping."""

from __future__ import annotations

import re

FENCE = re.compile(r"^\s*(`{3,}|~{3,}|:{3,})")
ITEM = re.compile(r"^(\s*)([-*+]|\d{1,9}[.)])(\s+)(?=\S)")
# lines whose block we leave alone: headings, tables, quotes, boxes, definitions, HTML,
# captions, images, link and footnote definitions, rules, setext underlines
KEEP = re.compile(r"^\s*(#|\||>|!!!|:|<|Table:|Figure:|!\[|\[[^\]]*\]:|\*\s*\*|-\s*-|=+\s*$"
                  r"|_\s*_|\\?[-=*_+]+\s*$|\d{1,9}[.)]\s*$)")
# words that would start a new block (or end a paragraph) at the start of a line
RISKY = re.compile(r"^(?:[-*+_=]+$|[>#|]|:$|\d{1,9}[.)]$|!!!|\[\^[^\]]*\]:|Table:|Figure:|`{3,}"
                   r"|~{3,})")


def rewrap(document: str, width: int) -> str:
    """``document`` with its paragraphs' text re-flowed at ``width`` columns."""
    lines = document.split("\n")
    start = 0
    if lines and lines[0] == "---":  # front matter: as written
        start = lines.index("---", 1) + 1
    body = lines[start:]
    out, block, fence = lines[:start], [], None
    container = False  # after a box's line or a list item: indented paragraphs are its text
    for index, line in enumerate(body):
        if fence is not None:
            out.append(line)
            if FENCE.match(line) and line.strip().startswith(fence):
                fence = None
            continue
        if match := FENCE.match(line):
            out.extend(_flow(block, width, container))
            block = []
            out.append(line)
            if not match.group(1).startswith(":"):
                fence = match.group(1)[0] * 3
            continue
        if not line.strip():
            following = next((later for later in body[index:] if later.strip()), "")
            if following.lstrip().startswith(":"):  # the terms of a definition list
                out.extend(block)
                block = []
            out.extend(_flow(block, width, container))
            block = []
            out.append(line)
            continue
        if not block:
            if line.startswith("!!!"):
                out.append(line)
                container = True
                continue
            if ITEM.match(line):
                container = True
            elif not line.startswith(" "):
                container = False
        if ITEM.match(line) and block:  # each list item is a paragraph of its own
            out.extend(_flow(block, width, container))
            block = []
        block.append(line)
    out.extend(_flow(block, width, container))
    return "\n".join(out)


def _flow(block: list[str], width: int, container: bool) -> list[str]:
    if not block:
        return []
    first = block[0]
    indent = len(first) - len(first.lstrip(" "))
    if any(KEEP.match(line) or "]:" in line for line in block) or "\t" in "".join(block) \
            or any(line.endswith(("  ", "\\")) for line in block) \
            or any(len(line) - len(line.lstrip(" ")) < indent for line in block[1:]) \
            or (indent >= 4 and not container):
        return block
    lead, rest = " " * indent, first[indent:]
    if match := ITEM.match(first):
        if KEEP.match(first[match.end():]):  # "* #Header": a heading in the item
            return block
        lead = match.group(0)
        rest = first[match.end():]
        indent = len(lead)
    # (split at spaces only: a no-break space is part of its word)
    words = [w for w in re.split(r"[ \t]+", " ".join([rest, *(line.strip(" \t") for line in
                                                               block[1:])])) if w]
    lines, current = [], lead + words[0]
    following = " " * indent
    for word in words[1:]:
        if len(current) + 1 + len(word) > width and not RISKY.match(word):
            lines.append(current)
            current = following + word
        else:
            current = f"{current} {word}"
    lines.append(current)
    return lines
