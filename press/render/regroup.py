"""Web edition stage, structure: WeasyPrint's tags regrouped by the HTML element they come
from — a paragraph, list item or table crossing a page is one element, a table's repeated
header is pagination, footnotes are Notes and their calls References to them.

WeasyPrint builds the structure tree page by page (``weasyprint.pdf.tags``), so a paragraph
split by a page break is two /P elements: a screen reader announces two paragraphs and reads
"inade" / "quate". :func:`recording` records which layout box each structure element was made
from while WeasyPrint writes; :func:`regroup` then merges the elements of one HTML element
across pages, in the write's finisher, on WeasyPrint's own objects (pydyf).
"""

from __future__ import annotations

import re
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pydyf

from press.render import tagging
from press.render.tagging import Graph

REPEATED = {"thead", "tfoot"}  # drawn again on every page a table crosses


@contextmanager
def recording():
    """While WeasyPrint writes, note the layout box of every structure element it makes:
    yields a dict ``id(element) → box`` (the innermost box that yielded it)."""
    from weasyprint.pdf import tags

    original = tags._build_box_tree
    boxes: dict[int, Any] = {}

    def build(box, *args):
        for element in original(box, *args):
            boxes.setdefault(id(element), box)
            yield element

    tags._build_box_tree = build
    try:
        yield boxes
    finally:
        tags._build_box_tree = original


@dataclass
class Report:
    """What :func:`regroup` changed."""

    merged: int = 0  # elements joined to their first part on an earlier page
    repeated: int = 0  # repeated table headers taken out of the tree (then artifacts)
    notes: int = 0
    # (page index, MCID) → ActualText: a footnote call reads " [1]" in extracted text
    actual_text: dict[tuple[int, int], str] = field(default_factory=dict)


def regroup(pdf: pydyf.PDF, boxes: dict[int, Any], ident: str = "") -> Report:
    """Merge the parts of each HTML element across pages, take repeated table headers out,
    and tag footnotes (see the module's docstring). ``boxes``: from :func:`recording`;
    ``ident``: the document's, in its notes' IDs (unique in a bundle of briefings too)."""
    report = Report()
    if "StructTreeRoot" not in pdf.catalog or not boxes:
        return report
    graph = Graph(pdf)
    struct = graph.get(pdf.catalog["StructTreeRoot"])
    pointers = _Pointers(graph, struct)
    first: dict[tuple, int] = {}

    def visit(number: int) -> None:
        element = pdf.objects[number]
        box = boxes.get(id(element))
        key = _key(box, element)
        page = graph.page_index.get(graph.number(element.get("Pg")))
        if box is not None and key is not None and key in first and first[key] != number:
            keeper = pdf.objects[first[key]]
            # only a part on a later page: two anonymous blocks of one element on the same
            # page are two things, in their own places
            if page != graph.page_index.get(graph.number(keeper.get("Pg"))):
                if box.element_tag in REPEATED:
                    _detach(graph, number, element)
                    report.repeated += 1
                    return
                moved = _merge(graph, pointers, first[key], number)
                report.merged += 1
                for kid in moved:
                    visit(kid)
                return
        if key is not None:
            first[key] = first.get(key, number)
        for kid in list(tagging.kids(graph, element)):
            kid_number = graph.number(kid)
            if kid_number is not None and "S" in (pdf.objects[kid_number] or {}):
                visit(kid_number)

    for kid in list(tagging.kids(graph, struct)):
        top = graph.number(kid)
        if top is not None:
            visit(top)
    _notes(graph, struct, boxes, report, ident)
    return report


def _key(box, element) -> tuple | None:
    """What makes two structure elements parts of one: the same HTML element (and pseudo
    element), made into the same structure type. None for what is not split by a page."""
    if box is None or getattr(box, "element", None) is None:
        return None
    return id(box.element), box.element_tag, element.get("S")


class _Pointers:
    """The ParentTree, to move what points at an element to another (MCIDs, annotations)."""

    def __init__(self, graph: Graph, struct):
        self.graph = graph
        self.entries = tagging.number_tree(graph, struct["ParentTree"])

    def repoint(self, old: int, new: int) -> None:
        graph, reference = self.graph, self.graph.pdf.objects[new].reference
        for _key, value in self.entries:
            target = graph.get(value)
            if isinstance(target, list):
                for index, slot in enumerate(target):
                    if graph.number(slot) == old:
                        target[index] = reference
        # single entries (annotations' StructParent) sit in the Nums arrays themselves
        for nums in self._nums(graph.get(graph.get(graph.pdf.catalog["StructTreeRoot"])
                                         ["ParentTree"])):
            for index in range(1, len(nums), 2):
                if graph.number(nums[index]) == old:
                    nums[index] = reference

    def _nums(self, node):
        node = self.graph.get(node)
        if "Nums" in node:
            yield self.graph.get(node["Nums"])
        for kid in node.get("Kids", []) or []:
            yield from self._nums(kid)


def _merge(graph: Graph, pointers: _Pointers, keeper_number: int, number: int) -> list[int]:
    """Move the kids of element ``number`` to the end of its first part's, and take it out
    of its parent; returns the numbers of the structure elements moved."""
    pdf = graph.pdf
    keeper, element = pdf.objects[keeper_number], pdf.objects[number]
    keeper_kids = keeper.get("K")
    if not isinstance(graph.get(keeper_kids), list):
        keeper["K"] = keeper_kids = pydyf.Array([] if keeper_kids is None else [keeper_kids])
    keeper_kids = graph.get(keeper_kids)
    moved = []
    for kid in tagging.kids(graph, element):
        if isinstance(kid, int):  # an MCID on the part's own page: say which page
            kid = pydyf.Dictionary({"Type": "/MCR", "MCID": kid, "Pg": element["Pg"]})
        target = graph.get(kid)
        moved_number = graph.number(kid)
        if isinstance(target, dict) and "S" in target and moved_number is not None:
            target["P"] = keeper.reference
            moved.append(moved_number)
        keeper_kids.append(kid)
    element["K"] = pydyf.Array()
    _detach(graph, number, element)
    pointers.repoint(number, keeper_number)
    return moved


def _detach(graph: Graph, number: int, element) -> None:
    """Take element ``number`` out of its parent's kids (its content becomes unreachable:
    :mod:`press.render.accessible` makes it an artifact)."""
    parent = graph.get(element.get("P"))
    if not isinstance(parent, dict):
        return
    kids = graph.get(parent.get("K"))
    if isinstance(kids, list):
        kids[:] = [kid for kid in kids if graph.number(kid) != number]
    elif graph.number(kids) == number:
        parent["K"] = pydyf.Array()


def _notes(graph: Graph, struct, boxes, report: Report, ident: str) -> None:
    """Footnotes (``float: footnote``) → /Note with an /ID; their calls → /Reference with a
    /Ref to the note (and an ActualText " [n]" on the call's number); markers → /Lbl."""
    notes, calls, listed = {}, [], set()
    found = [(element, boxes.get(id(element))) for _n, element in tagging.elements(graph, struct)]
    # WeasyPrint takes the note's float off its box once it has made the call, which keeps
    # the note's box in ``.footnote``: a note is the element of some call's footnote
    noted = {id(box.footnote.element) for _e, box in found
             if box is not None and getattr(box, "footnote", None) is not None}
    for element, box in found:
        if box is None or getattr(box, "element", None) is None:
            continue
        tag = box.element_tag or ""
        classes = (box.element.get("class") or "").split() if "::" not in tag else []
        if classes and id(box.element) in listed:
            classes = []  # an anonymous box inside the list or item: tagged with it
        elif {"fn-ul", "fn-ol", "fn-li"} & set(classes):
            listed.add(id(box.element))
        if "fn-ul" in classes or "fn-ol" in classes:  # a list in a note: spans shown as one
            element["S"] = "/L"
        elif "fn-li" in classes:
            _list_item(graph, element, boxes)
        elif tag.endswith("::footnote-call"):
            calls.append((0, element, box))
        elif tag.endswith("::footnote-marker"):
            element["S"] = "/Lbl"
        elif id(box.element) in noted and "::" not in tag and id(box.element) not in notes:
            report.notes += 1
            element["S"] = "/Note"
            prefix = re.sub(r"[^A-Za-z0-9]+", "-", ident).strip("-")
            element["ID"] = pydyf.String(f"{prefix}{'-' if prefix else ''}note-{report.notes}")
            notes[id(box.element)] = element
    for _number, element, box in calls:
        element["S"] = "/Reference"
        note = notes.get(id(box.element))
        if note is not None:
            element["Ref"] = pydyf.Array([note.reference])
            note["Ref"] = pydyf.Array([element.reference])
        page = graph.page_index.get(graph.number(element.get("Pg")))
        mcids = _mcids(graph, element)
        if page is not None and mcids:  # the whole call reads " [n]": on the first MCID
            report.actual_text[(page, mcids[0])] = f" [{_call_text(box)}]"
            for mcid in mcids[1:]:
                report.actual_text[(page, mcid)] = ""


def _list_item(graph: Graph, element, boxes) -> None:
    """A note's list item (a span shown as a list item) → /LI of its marker as /Lbl and the
    rest in an /LBody."""
    element["S"] = "/LI"
    label, body = [], []
    for kid in tagging.kids(graph, element):
        target = graph.get(kid)
        box = boxes.get(id(target)) if isinstance(target, dict) else None
        if box is not None and (box.element_tag or "").endswith("::marker"):
            target["S"] = "/Lbl"
            label.append(kid)
        else:
            body.append(kid)
    wrapper = pydyf.Dictionary({"Type": "/StructElem", "S": "/LBody", "P": element.reference,
                                "K": pydyf.Array(body)})
    if "Pg" in element:
        wrapper["Pg"] = element["Pg"]
    graph.pdf.add_object(wrapper)
    for kid in body:
        target = graph.get(kid)
        if isinstance(target, dict) and "S" in target:
            target["P"] = wrapper.reference
    element["K"] = pydyf.Array([*label, wrapper.reference])


def _call_text(box) -> str:
    return "".join(getattr(child, "text", "") for child in box.descendants()).strip()


def _mcids(graph: Graph, element) -> list[int]:
    found = []
    for kid in tagging.kids(graph, element):
        target = graph.get(kid)
        if isinstance(target, int):
            found.append(target)
        elif isinstance(target, dict) and "S" in target:
            found += _mcids(graph, target)
    return found

