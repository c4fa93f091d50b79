"""Review stage: a returned comment's position on its page → the source line it is about,
through the map recorded when that round's review edition was made.

A marking comment (highlight, strike-out, underline) is placed by the line box its first
rectangle covers most; a point comment (a sticky note, a caret, a text box) by the line box
nearest to it. Within a block written over several source lines, the marked text chooses the
line. The position decides, not the text alone: a phrase written in two paragraphs lands on
the one that was marked. A line of an earlier round's draft is followed to where the same
text is now, or flagged as changed since.
"""

from __future__ import annotations

from dataclasses import dataclass

from press.products.review.edition import MapBox, ReviewMap
from press.products.review.lines import WINDOW, line_hash, normalise
from press.products.review.returns import Comment

GENERAL = "on the note to reviewers: a general comment"
NEAR = 60.0  # points: a point comment further than this from any line is not placed


@dataclass
class Placed:
    line: int | None  # the line in the current source (None: not placed)
    reason: str = ""  # why it was not placed
    note: str = ""  # e.g. "changed since round r1", "was line 53 in round r1"
    changed: bool = False


def place(comment: Comment, mapping: ReviewMap, current: list[str]) -> Placed:
    """Where ``comment`` belongs in ``current`` (the briefing file's lines now)."""
    pages = mapping.get("pages", [])
    if comment.page < 0:
        return Placed(None, GENERAL)
    if comment.page >= len(pages):
        return Placed(None, f"page {comment.page + 1} is not a page of round "
                            f"{mapping.get('round')}'s draft")
    boxes = [b for b in mapping.get("boxes", []) if b["page"] == comment.page]
    if not boxes:
        return Placed(None, "the page has no text of the briefing's body (cover, contents "
                            "or back page)")
    if comment.quads:
        first = sorted(comment.quads, key=lambda q: (-q[3], q[0]))[0]
        box = _covering(boxes, first) or _nearest(boxes, _centre(first))
    else:
        box = _nearest(boxes, _point(comment))
    if box is None:
        return Placed(None, "not beside any line of the briefing's text")
    line = _within(box, comment.quoted, mapping)
    return _now(line, mapping, current)


Rect = tuple[float, float, float, float] | list[float]  # x0, y0, x1, y1
Point = tuple[float, float]


def _centre(rect: Rect) -> Point:
    return ((rect[0] + rect[2]) / 2, (rect[1] + rect[3]) / 2)


def _point(comment: Comment) -> Point:
    """Where a point comment points: a sticky note's icon hangs from the point clicked (its
    top left corner); a caret or a text box, its middle."""
    x0, y0, x1, y1 = comment.rect
    if comment.kind in ("note", "reply") and x1 - x0 <= 40 and y1 - y0 <= 40:
        return (x0, y1 - min(y1 - y0, 12) / 2)
    return _centre(comment.rect)


def _covering(boxes: list[MapBox], rect: Rect) -> MapBox | None:
    best: MapBox | None = None
    area = 0.0
    for box in boxes:
        x0, y0, x1, y1 = box["rect"]
        w = min(x1, rect[2]) - max(x0, rect[0])
        h = min(y1, rect[3]) - max(y0, rect[1])
        if w > 0 and h > 0 and w * h > area:
            best, area = box, w * h
    return best


def _nearest(boxes: list[MapBox], point: Point) -> MapBox | None:
    px, py = point
    best: MapBox | None = None
    distance = NEAR
    for box in boxes:
        x0, y0, x1, y1 = box["rect"]
        dx = max(x0 - px, 0, px - x1)
        dy = max(y0 - py, 0, py - y1)
        # a note in the margin beside a line is about that line: height counts more
        d = dy + 0.1 * dx
        if d < distance:
            best, distance = box, d
    return best


def _within(box: MapBox, quoted: str, mapping: ReviewMap) -> int:
    """The source line of ``box``'s block holding the marked text (from the laid-out line's
    own start line on), else the line the laid-out line starts in."""
    first, last = box["lines"]
    wanted = normalise(quoted)[:WINDOW]
    if first == last or not wanted:
        return box["line"]
    texts = mapping.get("texts", {})
    order = list(range(box["line"], last + 1)) + list(range(first, box["line"]))
    for number in order:
        if wanted in normalise(texts.get(str(number), "")):
            return number
    return box["line"]


def _now(line: int, mapping: ReviewMap, current: list[str]) -> Placed:
    """``line`` of the round's source, in the source as it is now."""
    then = mapping.get("hashes", {}).get(str(line))
    if then is None or (line <= len(current) and line_hash(current[line - 1]) == then):
        return Placed(line)
    moved = [n for n, text in enumerate(current, 1) if text.strip() and line_hash(text) == then]
    if len(moved) == 1:
        return Placed(moved[0], note=f"was line {line} in round {mapping.get('round')}")
    return Placed(line, note=f"the line has changed since round {mapping.get('round')}",
                  changed=True)
