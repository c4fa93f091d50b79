"""Web edition stage, structure: the structure-tree walks, and the tags WeasyPrint leaves
out: link descriptions, empty links, table header scopes and the IDTree.

They work on WeasyPrint's own PDF objects (pydyf), in the write's finisher, before anything
is serialised: :class:`Graph` resolves their references (``b"12 0 R"``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any, TypeAlias

import pydyf

# pydyf has no types: a dictionary (page, annotation, structure element) is a dict subclass
# whose values are pydyf objects, numbers, or references as bytes
Element: TypeAlias = dict[str, Any]

PRINT_FLAG = 4  # annotation flags bit 3
NULL = "null"  # pydyf writes a str as it is

_REFERENCE = re.compile(rb"(\d+) 0 R")


class Graph:
    """A pydyf PDF's objects, by reference."""

    def __init__(self, pdf: pydyf.PDF):
        self.pdf = pdf
        kids = pdf.pages["Kids"]  # flattened: [7, 0, "R", 9, 0, "R", ...]
        self.pages = [pdf.objects[kids[i]] for i in range(0, len(kids) - 2, 3)]
        self.page_index = {kids[i]: n for n, i in enumerate(range(0, len(kids) - 2, 3))}

    @staticmethod
    def number(value: object) -> int | None:
        """The object number of a reference, or None if ``value`` is not one."""
        if isinstance(value, str):
            value = value.encode("ascii", "replace")
        if isinstance(value, bytes):
            match = _REFERENCE.fullmatch(value)
            if match:
                return int(match[1])
        return None

    def get(self, value: object) -> Any:
        """The object ``value`` refers to, or ``value`` itself if it is no reference."""
        number = self.number(value)
        return self.pdf.objects[number] if number is not None else value


def text_of(value: object) -> str:
    return value.string if isinstance(value, pydyf.String) else str(value)


# -- structure tree ------------------------------------------------------------------------------

def kids(graph: Graph, element: Element) -> list[Any]:
    found = element.get("K")
    if found is None:
        return []
    found = graph.get(found)
    return list(found) if isinstance(found, list) else [element["K"]]


def elements(graph: Graph, struct: Element) -> Iterator[tuple[int, Element]]:
    """Every structure element reachable from the root, depth first, as (number, element)."""
    stack = list(reversed(kids(graph, struct)))
    seen: set[int] = set()
    while stack:
        ref = stack.pop()
        number = graph.number(ref)
        if number is None or number in seen:
            continue
        element = graph.pdf.objects[number]
        if not isinstance(element, dict) or "S" not in element:
            continue
        seen.add(number)
        yield number, element
        stack.extend(reversed(kids(graph, element)))


def number_tree(graph: Graph, ref: object) -> list[tuple[int, object]]:
    node = graph.get(ref)
    items: list[tuple[int, object]] = []
    nums = node.get("Nums")
    if nums is not None:
        nums = graph.get(nums)
        items += [(int(nums[i]), nums[i + 1]) for i in range(0, len(nums) - 1, 2)]
    for kid in node.get("Kids", []) or []:
        items += number_tree(graph, kid)
    return items


def page_slots(graph: Graph, page: Element, parent_tree: dict[int, object]
               ) -> list[Any] | None:
    if "StructParents" not in page:
        return None
    slots = parent_tree.get(int(page["StructParents"]))
    slots = graph.get(slots) if slots is not None else None
    return slots if isinstance(slots, list) else None


def orphans(graph: Graph, slots: list[Any], reached: set[int]) -> set[int]:
    return {mcid for mcid, ref in enumerate(slots)
            if graph.number(ref) is not None and graph.number(ref) not in reached}


# -- links and tables -----------------------------------------------------------------------------

def element_text(graph: Graph, element: Element, texts_by_page: dict[int, dict[int, str]],
                 page: object = None) -> str:
    page = element["Pg"] if "Pg" in element else page
    parts = []
    for kid in kids(graph, element):
        target = graph.get(kid)
        if isinstance(target, int):
            number = graph.page_index.get(graph.number(page)) if page is not None else None
            if number is not None:
                parts.append(texts_by_page[number].get(target, ""))
        elif isinstance(target, dict) and target.get("Type") == "/MCR":
            kid_page = target["Pg"] if "Pg" in target else page
            number = graph.page_index.get(graph.number(kid_page)) \
                if kid_page is not None else None
            if number is not None:
                parts.append(texts_by_page[number].get(int(target["MCID"]), ""))
        elif isinstance(target, dict) and "S" in target:
            parts.append(element_text(graph, target, texts_by_page, page))
    return "".join(parts)


def links(graph: Graph, struct: Element, texts: Iterable[dict[int, str]]) -> tuple[int, int]:
    """/Contents from each link's text (and target page); the Print flag; empty Links unlinked."""
    nested_links(graph, struct)
    texts_by_page = dict(enumerate(texts))
    destinations = destination_pages(graph)
    annotation_pages = {graph.number(annot): n for n, page in enumerate(graph.pages)
                        for annot in graph.get(page.get("Annots", [])) or []}
    fixed = unlinked = 0
    for _number, element in elements(graph, struct):
        if element.get("S") != "/Link":
            continue
        annotations = [graph.get(kid)["Obj"] for kid in kids(graph, element)
                       if isinstance(graph.get(kid), dict)
                       and graph.get(kid).get("Type") == "/OBJR"]
        if not annotations:
            element["S"] = "/Span"
            unlinked += 1
            continue
        text = " ".join(element_text(graph, element, texts_by_page).split())
        for ref in annotations:
            annotation = graph.get(ref)
            annotation["F"] = int(annotation.get("F", 0)) | PRINT_FLAG
            if not text:
                continue
            label = text
            dest = annotation.get("Dest")
            target = destinations.get(text_of(dest)) if dest is not None else None
            here = annotation_pages.get(graph.number(ref))
            if target is not None and target != here:
                label = f"{text}, page {target + 1}"  # WeasyPrint sets no page labels
            annotation["Contents"] = pydyf.String(label)
            fixed += 1
    return fixed, unlinked


def nested_links(graph: Graph, struct: Element) -> int:
    """An inline element inside a link (``<a>… <span class="nobr">35–58</span></a>``) gets a
    link annotation of its own from WeasyPrint, tagged in that element's /Span and not in a
    /Link (outloud LNK-001). One inside its link's own annotation (same page, same target)
    is a duplicate and is taken off the page; any other is moved up into the /Link.
    Returns how many were taken off."""
    removed = 0
    for _number, element in list(elements(graph, struct)):
        if element.get("S") != "/Link":
            continue
        own = [graph.get(graph.get(kid)["Obj"]) for kid in kids(graph, element)
               if _is_objr(graph, kid)]
        for holder in _inner(graph, element):
            for kid in [k for k in kids(graph, holder) if _is_objr(graph, k)]:
                annotation = graph.get(graph.get(kid)["Obj"])
                _drop_kid(graph, holder, kid)
                if any(_within(annotation, outer) for outer in own):
                    _remove_annotation(graph, graph.get(kid)["Obj"], annotation)
                    removed += 1
                else:
                    element["K"] = pydyf.Array([*kids(graph, element), kid])
    return removed


def _is_objr(graph: Graph, kid: object) -> bool:
    target = graph.get(kid)
    return isinstance(target, dict) and target.get("Type") == "/OBJR"


def _inner(graph: Graph, element: Element) -> Iterator[Element]:
    """The structure elements inside ``element``, down to (not into) any nested /Link."""
    for kid in kids(graph, element):
        target = graph.get(kid)
        if isinstance(target, dict) and "S" in target and target.get("S") != "/Link":
            yield target
            yield from _inner(graph, target)


def _within(inner: Element, outer: Element) -> bool:
    if _target(inner) != _target(outer):
        return False
    (a, b, c, d), (e, f, g, h) = ([float(v) for v in x["Rect"]] for x in (inner, outer))
    tolerance = 0.5
    return (min(a, c) >= min(e, g) - tolerance and max(a, c) <= max(e, g) + tolerance
            and min(b, d) >= min(f, h) - tolerance and max(b, d) <= max(f, h) + tolerance)


def _target(annotation: Element) -> str:
    """Where a link annotation goes: its destination name or its action's URI."""
    action = annotation.get("A")
    uri = action.get("URI") if isinstance(action, dict) else None
    return text_of(annotation.get("Dest", "")) + "|" + (text_of(uri) if uri else "")


def _drop_kid(graph: Graph, element: Element, kid: object) -> None:
    element["K"] = pydyf.Array(k for k in kids(graph, element) if k is not kid)


def _remove_annotation(graph: Graph, ref: object, annotation: Element) -> None:
    """Take an annotation off its page and out of the ParentTree."""
    number = graph.number(ref)
    for page in graph.pages:
        annots = graph.get(page.get("Annots"))
        if isinstance(annots, list) and any(graph.number(a) == number for a in annots):
            annots[:] = [a for a in annots if graph.number(a) != number]
    if "StructParent" in annotation:
        key = int(annotation["StructParent"])
        struct = graph.get(graph.pdf.catalog["StructTreeRoot"])
        stack = [graph.get(struct["ParentTree"])]
        while stack:
            node = stack.pop()
            nums = graph.get(node.get("Nums")) if "Nums" in node else None
            if nums is not None:
                for index in range(0, len(nums) - 1, 2):
                    if int(nums[index]) == key:
                        nums[index + 1] = NULL
            stack.extend(graph.get(kid) for kid in node.get("Kids", []) or [])


def destination_pages(graph: Graph) -> dict[str, int]:
    """Named destination → index of the page it is on."""
    names = graph.get(graph.pdf.catalog.get("Names"))
    if not isinstance(names, dict) or "Dests" not in names:
        return {}
    found: dict[str, int] = {}
    stack = [graph.get(names["Dests"])]
    while stack:
        node = stack.pop()
        pairs = node.get("Names")
        if pairs is not None:
            pairs = graph.get(pairs)
            for i in range(0, len(pairs) - 1, 2):
                dest = graph.get(pairs[i + 1])
                if isinstance(dest, dict):
                    dest = graph.get(dest["D"])
                page = graph.number(dest[0]) if len(dest) else None
                if page in graph.page_index:
                    found[text_of(pairs[i])] = graph.page_index[page]
        stack.extend(graph.get(kid) for kid in node.get("Kids", []) or [])
    return found


def tables(graph: Graph, struct: Element) -> tuple[int, int]:
    """/Scope on header cells (Row when no header cell is above it, else Column) and the
    /IDTree for every /ID."""
    scopes = 0
    for _number, element in elements(graph, struct):
        if element.get("S") != "/TR":
            continue
        cells = [graph.get(kid) for kid in kids(graph, element) if graph.number(kid) is not None]
        headers_only = all(cell.get("S") == "/TH" for cell in cells)
        for cell in cells:
            if cell.get("S") != "/TH":
                continue
            attributes = graph.get(cell.get("A"))
            if not isinstance(attributes, dict):
                attributes = pydyf.Dictionary({"O": "/Table"})
                cell["A"] = attributes
            if "Scope" not in attributes:
                attributes["Scope"] = "/Column" if headers_only else "/Row"
                scopes += 1
    return scopes, add_id_tree(graph, struct)


def add_id_tree(graph: Graph, struct: Element) -> int:
    """Enter every reachable element's /ID in the root's /IDTree; returns how many."""
    ids = sorted(((text_of(element["ID"]), graph.pdf.objects[number].reference)
                  for number, element in elements(graph, struct) if "ID" in element),
                 key=lambda item: item[0])
    if not ids:
        return 0
    names = pydyf.Array()
    for name, ref in ids:
        names += [pydyf.String(name), ref]
    struct["IDTree"] = pydyf.Dictionary({"Names": names})
    return len(ids)
