"""Structure (merge stage): one structure tree for pages merged from several tagged PDFs, and
the name and number trees they are read from.

pypdf drops the structure tree when it merges documents, so :func:`merge_structure` merges
the trees itself: every part's top-level structure elements are cloned under one
``Document`` element (each part inside its own ``Part``), their ``/Pg`` references land on
the copied pages (pypdf's clone map), and the ``/StructParents`` of every page and the
``/StructParent`` of every annotation are renumbered into one rebuilt ``/ParentTree``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from pypdf import PdfWriter
from pypdf.generic import (
    ArrayObject,
    DictionaryObject,
    IndirectObject,
    NameObject,
    NumberObject,
    TextStringObject,
)

from press.errors import ContentError

if TYPE_CHECKING:  # (merge imports this module)
    from press.pdf.merge import Placed, Segment

K = TypeVar("K")


def tree(ref: Any, key: str, convert: Callable[[Any], K]) -> list[tuple[K, Any]]:
    """Flatten a PDF name tree (``key`` = "/Names") or number tree ("/Nums"), with ``/Kids``."""
    node = ref.get_object()
    items: list[tuple[K, Any]] = []
    pairs = node.get(key)
    if pairs is not None:
        pairs = pairs.get_object()
        items += [(convert(pairs[i]), pairs[i + 1]) for i in range(0, len(pairs) - 1, 2)]
    for kid in node.get("/Kids", []) or []:
        items += tree(kid, key, convert)
    return items


def name_tree(node: Any) -> list[tuple[str, Any]]:
    return tree(node, "/Names", str)


def number_tree(node: Any) -> list[tuple[int, Any]]:
    return tree(node, "/Nums", int)


def merge_structure(writer: PdfWriter, segments: Iterable[Segment], placed: Iterable[Placed],
                    source: Path | str) -> None:
    """One structure tree for the bundle: Document → front matter, a Part per part (briefing), back.

    ``segments``, ``placed``: as :func:`press.pdf.merge.copy_pages` copied them; ``source``:
    the file problems are reported against.

    Structure elements are cloned after the pages, so pypdf's clone map turns their ``/Pg``
    and ``/Obj`` references into the copied pages and annotations. Each source's own
    structure root and Document element are entered in that map as the bundle's Part (or
    Document), so every ``/P`` that pointed at them — including WeasyPrint's detached
    NonStruct elements, reachable only through the ParentTree — lands in the new tree instead
    of dragging a second tree along. Then every page's ``/StructParents`` and every
    annotation's ``/StructParent`` gets a new key in one rebuilt ``/ParentTree``.
    """
    tree_root = DictionaryObject({NameObject("/Type"): NameObject("/StructTreeRoot")})
    tree_ref = writer._add_object(tree_root)
    document = DictionaryObject({NameObject("/Type"): NameObject("/StructElem"),
                                 NameObject("/S"): NameObject("/Document"),
                                 NameObject("/P"): tree_ref})
    document_ref = writer._add_object(document)
    kids = ArrayObject()
    role_map = DictionaryObject()
    for segment in segments:
        if segment.kind == "blank":
            continue
        root: Any = segment.reader.trailer["/Root"]  # (pypdf: a PdfObject)
        struct_ref = root.raw_get("/StructTreeRoot") if "/StructTreeRoot" in root else None
        if not isinstance(struct_ref, IndirectObject):
            raise ContentError.at(source, None, f"{_name(segment)}: the web PDF is not "
                                  "tagged, so the bundle cannot be", "rebuild it with --force")
        struct: Any = struct_ref.get_object()
        for key, value in (struct.get("/RoleMap") or {}).items():
            role_map[NameObject(key)] = value
        source_document, tops = _top_elements(struct)
        if segment.kind == "part":
            parent = DictionaryObject({
                NameObject("/Type"): NameObject("/StructElem"), NameObject("/S"):
                NameObject("/Part"), NameObject("/P"): document_ref,
                NameObject("/T"): TextStringObject(segment.title)})
            parent_ref = writer._add_object(parent)
            kids.append(parent_ref)
        else:
            parent, parent_ref = document, document_ref
        # only the elements of the pages taken (a part's own back cover is left out)
        wanted = {idnum(segment.reader.pages[i].indirect_reference) for i in segment.pages}
        tops = [element for element in tops if _first_page(element) in wanted]
        clone_map = writer._id_translated.setdefault(id(segment.reader),
                                                     {"PreventGC": segment.reader})
        clone_map[struct_ref.idnum] = tree_ref.idnum
        if source_document is not None:
            clone_map[source_document.idnum] = parent_ref.idnum
        cloned = ArrayObject(element.clone(writer).indirect_reference for element in tops
                             if isinstance(element, IndirectObject))
        if segment.kind == "part":
            parent[NameObject("/K")] = cloned
        else:
            kids.extend(cloned)
    document[NameObject("/K")] = kids
    parent_tree = ArrayObject()
    key = 0
    numbers: dict[int, dict[int, Any]] = {}
    for copy in placed:
        segment, index, new_page = copy.segment, copy.index, copy.page
        if segment.kind == "blank":
            continue
        if id(segment.reader) not in numbers:
            root = segment.reader.trailer["/Root"]
            struct = root["/StructTreeRoot"].get_object()
            numbers[id(segment.reader)] = dict(number_tree(struct["/ParentTree"]))
        nums = numbers[id(segment.reader)]
        source_page: Any = segment.reader.pages[index]
        if "/StructParents" in source_page:
            value = nums.get(int(source_page["/StructParents"]))
            if value is not None:
                parent_tree += [NumberObject(key), value.clone(writer)]
                new_page[NameObject("/StructParents")] = NumberObject(key)
                key += 1
        for ref in new_page.get("/Annots", []) or []:
            annot = ref.get_object()
            if "/StructParent" in annot:
                value = nums.get(int(annot["/StructParent"]))
                if value is None:
                    del annot["/StructParent"]
                    continue
                parent_tree += [NumberObject(key), value.clone(writer)]
                annot[NameObject("/StructParent")] = NumberObject(key)
                key += 1
    tree_root[NameObject("/K")] = ArrayObject([document_ref])
    tree_root[NameObject("/ParentTree")] = writer._add_object(
        DictionaryObject({NameObject("/Nums"): parent_tree}))
    tree_root[NameObject("/ParentTreeNextKey")] = NumberObject(key)
    if role_map:
        tree_root[NameObject("/RoleMap")] = role_map
    _id_tree(tree_root)
    writer._root_object[NameObject("/StructTreeRoot")] = tree_ref


def idnum(reference: IndirectObject | None) -> int:
    """The object number of an object that has one: a page read from a file, a writer's
    catalog (pypdf types their ``indirect_reference`` as optional)."""
    assert reference is not None, "an object read from a file has an object number"
    return reference.idnum


def _id_tree(tree_root: DictionaryObject) -> None:
    """The merged tree's /IDTree: every element's /ID (the parts' ids are prefixed by slug,
    so they are unique), as the parts' own trees had them (ISO 32000-1 14.7.2)."""
    ids: list[tuple[str, IndirectObject]] = []
    top: Any = tree_root["/K"]  # an ArrayObject (pypdf: a PdfObject)
    stack = list(top)
    seen: set[int] = set()
    while stack:
        ref = stack.pop()
        if not isinstance(ref, IndirectObject) or ref.idnum in seen:
            continue
        seen.add(ref.idnum)
        element = ref.get_object()
        if not isinstance(element, DictionaryObject) or "/S" not in element:
            continue
        if "/ID" in element:
            ids.append((str(element["/ID"]), ref))
        kids = element.get("/K")
        kids = kids.get_object() if kids is not None else None
        stack.extend(kids if isinstance(kids, ArrayObject) else [element.raw_get("/K")]
                     if kids is not None else [])
    if ids:
        names = ArrayObject()
        for name, ref in sorted(ids, key=lambda item: item[0]):
            names += [TextStringObject(name), ref]
        tree_root[NameObject("/IDTree")] = DictionaryObject({NameObject("/Names"): names})


def _name(segment: Segment) -> str:
    return segment.name or "the bundle's own pages"


def _top_elements(struct: Any) -> tuple[IndirectObject | None, list[Any]]:
    """The source's Document element (if it has one) and the elements directly under it."""
    kids = struct.get("/K")
    kids = kids.get_object() if kids is not None else ArrayObject()
    if not isinstance(kids, ArrayObject):
        kids = ArrayObject([struct.raw_get("/K")])
    if len(kids) == 1 and kids[0].get_object().get("/S") == "/Document":
        document = kids[0]
        inner = document.get_object().get("/K")
        inner = inner.get_object() if inner is not None else ArrayObject()
        if not isinstance(inner, ArrayObject):
            inner = ArrayObject([document.get_object().raw_get("/K")])
        return (document if isinstance(document, IndirectObject) else None), list(inner)
    return None, list(kids)


def _first_page(ref: Any) -> int | None:
    """Object number of the first page an element's content is on."""
    element = ref.get_object()
    if not isinstance(element, DictionaryObject):
        return None
    page = element.raw_get("/Pg") if "/Pg" in element else None
    if isinstance(page, IndirectObject):
        return page.idnum
    kids = element.get("/K")
    kids = kids.get_object() if kids is not None else None
    for kid in kids if isinstance(kids, ArrayObject) else [kids]:
        if isinstance(kid, (IndirectObject, DictionaryObject)):
            found = _first_page(kid)
            if found is not None:
                return found
    return None
