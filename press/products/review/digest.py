"""Review stage: placed comments → comments.md (by section, in source order, threads
together), comments.csv and summary.md."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from press.core import csvsafe
from press.products.review.place import GENERAL, Placed
from press.products.review.returns import Comment
from press.project import Project

HEADING_RE = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")


@dataclass
class Item:
    comment: Comment
    placed: Placed
    reviewer: str
    round: str
    replacement: str = ""  # a replacement's new text (its caret's)
    replies: list[Item] = field(default_factory=list)


def sections(lines: list[str], first: int) -> list[tuple[int, str]]:
    """``(line, heading)`` of each heading of the body, in order."""
    found, fenced = [], False
    for number in range(first, len(lines) + 1):
        text = lines[number - 1]
        if text.lstrip().startswith(("```", "~~~")):
            fenced = not fenced
        match = None if fenced else HEADING_RE.match(text)
        if match:
            found.append((number, match.group(2)))
    return found


def section_of(line: int | None, heads: list[tuple[int, str]]) -> str:
    name = "Before the first heading"
    for number, heading in heads:
        if line is not None and number <= line:
            name = heading
    return name if line is not None else "Not placed"


def _sort_key(item: Item) -> tuple[int, int, float, float, str, str]:
    c = item.comment
    top = max((q[3] for q in c.quads), default=c.rect[3])
    return (item.placed.line or 0, c.page, -top, c.rect[0], item.reviewer, c.file)


def page_name(comment: Comment) -> str:
    return f"page {comment.page + 1}" if comment.page >= 0 else "the note to reviewers"


def _general(item: Item) -> bool:
    return item.placed.reason == GENERAL


def _quote(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return "“" + (text if len(text) <= limit else text[:limit] + "…") + "”"


def _md(text: str) -> str:
    """Reviewer text as Markdown text: nothing in it becomes markup."""
    text = " ".join(text.split())
    return re.sub(r"([\\`*_{}\[\]<>#|])", r"\\\1", text)


def _entry(item: Item, source: str, indent: str = "") -> list[str]:
    c, p = item.comment, item.placed
    where = f"`{source}:{p.line}`" if p.line else page_name(c)
    kind = c.kind
    parts = [f"{indent}- {where} — **{_md(item.reviewer)}** ({kind})"]
    if c.quoted:
        parts.append(f": {_md(_quote(c.quoted))}")
    if kind == "replacement":
        parts.append(f" → {_md(_quote(item.replacement))}")
    if c.text:
        parts.append(f" — {_md(c.text)}")
    if p.note:
        parts.append(f" *({_md(p.note)})*")
    out = ["".join(parts)]
    for reply in item.replies:
        r = reply.comment
        out.append(f"{indent}  - reply — **{_md(reply.reviewer)}**: {_md(r.text)}")
    return out


def grouped(items: list[Item], heads: list[tuple[int, str]]) -> list[tuple[str, list[Item]]]:
    """The comments by section, in source order; those not placed last."""
    groups: list[tuple[str, list[Item]]] = []
    general = sorted((i for i in items if _general(i)), key=_sort_key)
    if general:
        groups.append(("General comments (on the note to reviewers)", general))
    for item in sorted((i for i in items if i.placed.line), key=_sort_key):
        section = section_of(item.placed.line, heads)
        if not groups or groups[-1][0] != section:
            groups.append((section, []))
        groups[-1][1].append(item)
    unplaced = sorted((i for i in items if not i.placed.line and not _general(i)),
                      key=_sort_key)
    if unplaced:
        groups.append(("Not placed", unplaced))
    return groups


def comments_md(title: str, round_name: str, source: str, items: list[Item],
                heads: list[tuple[int, str]]) -> str:
    out = [f"# Comments on {_md(title)} — round {round_name}", "",
           f"{len(items)} comments; each line is `file:line` of the source it is about, the "
           "text it marks, the reviewer, the kind and what they wrote.", ""]
    for section, members in grouped(items, heads):
        out += ["", f"## {_md(section)}", ""]
        for item in members:
            out += _entry(item, source)
            if not item.placed.line and not _general(item):
                out[-1 - len(item.replies)] += f" — not placed: {_md(item.placed.reason)}"
    return "\n".join(out).strip() + "\n"


def comments_pdf(project: Project, title: str, round_name: str, source: str, items: list[Item],
                 heads: list[tuple[int, str]]) -> bytes:
    """The digest to print or read beside the source: comments.md's content, laid out."""
    from press.briefing.layout import environment, file_url
    from press.model import Page
    from press.render import typeset

    template = environment(project.layouts).get_template("review-comments.html")
    html = template.render(title=title, round=round_name, source=source, count=len(items),
                           groups=grouped(items, heads), page_name=page_name,
                           general=GENERAL,
                           css_url=file_url(project.layouts / "review.css"))
    page = Page(html=html, base_url=file_url(project.layouts) + "/", name=source)
    data = typeset.write(typeset.render(page, project.root, tagged=False), None)
    assert data is not None  # (written to no target: the bytes are returned)
    return data


def comments_csv(source: str, items: list[Item], heads: list[tuple[int, str]]) -> str:
    header = ["file", "line", "section", "reviewer", "kind", "quoted", "text", "replacement",
              "in_reply_to", "page", "round", "note", "return", "comment_id"]
    rows = []
    for item in sorted(items, key=_sort_key):
        for entry, parent in [(item, "")] + [(r, item.comment.ident) for r in item.replies]:
            c, p = entry.comment, entry.placed if not parent else item.placed
            rows.append([source, p.line or "", section_of(p.line, heads), entry.reviewer,
                         "reply" if parent else c.kind, c.quoted, c.text, entry.replacement,
                         parent, c.page + 1 if c.page >= 0 else "note", entry.round,
                         p.note or p.reason, c.file, c.ident])
    return csvsafe.write(header, rows)


def summary_md(title: str, round_name: str, returned: dict[str, list[str]],
               missing: list[str], items: list[Item], refused: list[str],
               flattened: list[str]) -> str:
    out = [f"# Review round {round_name}: {_md(title)}", ""]
    out.append(f"Returned ({len(returned)}): " + (", ".join(
        f"{_md(name)} ({', '.join(files)})" for name, files in sorted(returned.items()))
        or "none yet"))
    out.append("")
    out.append(f"Not returned ({len(missing)}): " + (", ".join(_md(m) for m in missing)
                                                      or "none"))
    out.append("")
    placed = [i for i in items if i.placed.line]
    changed = [i for i in placed if i.placed.changed]
    out.append(f"Comments: {len(items)}, placed {len(placed)}"
               + (f", {len(changed)} on lines changed since their round" if changed else ""))
    unplaced = [i for i in items if not i.placed.line and not _general(i)]
    if unplaced:
        out += ["", "## Comments that could not be placed", ""]
        for item in unplaced:
            c = item.comment
            out.append(f"- {_md(c.file)}, {page_name(c)}: **{_md(item.reviewer)}** "
                       f"({c.kind}) {_md(c.text[:120])} — {_md(item.placed.reason)}")
    if flattened or refused:
        out += ["", "## Returns not read", ""]
        out += [f"- {_md(name)}: no comments left in it (flattened, or printed to PDF?)"
                for name in flattened]
        out += [f"- {_md(line)}" for line in refused]
    return "\n".join(out) + "\n"
