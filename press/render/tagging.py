"""Web edition stage, structure: the structure-tree walks, and the tags WeasyPrint leaves
out: link descriptions, empty links, table header scopes and the IDTree (pypdf)."""

from __future__ import annotations

from pypdf.generic import (
    ArrayObject,
    DictionaryObject,
    IndirectObject,
    NameObject,
    NumberObject,
    TextStringObject,
)

PRINT_FLAG = 4  # annotation flags bit 3


# -- structure tree ------------------------------------------------------------------------------

def kids(element) -> list:
    kids = element.get("/K")
    if kids is None:
        return []
    kids = kids.get_object()
    return list(kids) if isinstance(kids, ArrayObject) else [element.raw_get("/K")]


def elements(struct):
    """Every structure element reachable from the root, depth first, as (ref, element)."""
    stack = list(reversed(kids(struct)))
    seen = set()
    while stack:
        ref = stack.pop()
        if not isinstance(ref, IndirectObject) or ref.idnum in seen:
            continue
        element = ref.get_object()
        if not isinstance(element, DictionaryObject) or "/S" not in element:
            continue
        seen.add(ref.idnum)
        yield ref, element
        stack.extend(reversed(kids(element)))


def reachable(struct) -> set[int]:
    return {ref.idnum for ref, _ in elements(struct)}


def number_tree(node) -> list[tuple[int, object]]:
    node = node.get_object()
    items = []
    nums = node.get("/Nums")
    if nums is not None:
        nums = nums.get_object()
        items += [(int(nums[i]), nums[i + 1]) for i in range(0, len(nums) - 1, 2)]
    for kid in node.get("/Kids", []) or []:
        items += number_tree(kid)
    return items


def page_slots(page, parent_tree) -> ArrayObject | None:
    if "/StructParents" not in page:
        return None
    slots = parent_tree.get(int(page["/StructParents"]))
    slots = slots.get_object() if slots is not None else None
    return slots if isinstance(slots, ArrayObject) else None


def orphans(slots, reached) -> set[int]:
    return {mcid for mcid, ref in enumerate(slots)
            if isinstance(ref, IndirectObject) and ref.idnum not in reached}


# -- links and tables -----------------------------------------------------------------------------

def element_text(element, texts_by_page: dict[int, dict[int, str]], page_index: dict[int, int],
                  page=None) -> str:
    page = element.raw_get("/Pg") if "/Pg" in element else page
    parts = []
    for kid in kids(element):
        target = kid.get_object() if isinstance(kid, IndirectObject) else kid
        if isinstance(target, NumberObject) or isinstance(target, int):
            number = page_index.get(page.idnum) if isinstance(page, IndirectObject) else None
            if number is not None:
                parts.append(texts_by_page[number].get(int(target), ""))
        elif isinstance(target, DictionaryObject) and target.get("/Type") == "/MCR":
            kid_page = target.raw_get("/Pg") if "/Pg" in target else page
            number = page_index.get(kid_page.idnum) if isinstance(kid_page, IndirectObject) \
                else None
            if number is not None:
                parts.append(texts_by_page[number].get(int(target["/MCID"]), ""))
        elif isinstance(target, DictionaryObject) and "/S" in target:
            parts.append(element_text(target, texts_by_page, page_index, page))
    return "".join(parts)


def links(writer, struct, texts) -> tuple[int, int]:
    """/Contents from each link's text (and target page); the Print flag; empty Links unlinked."""
    page_index = {page.indirect_reference.idnum: n for n, page in enumerate(writer.pages)}
    texts_by_page = dict(enumerate(texts))
    destinations = destination_pages(writer, page_index)
    labels = list(writer.page_labels) if writer.pages else []
    annotation_pages = {annot.idnum: n for n, page in enumerate(writer.pages)
                        for annot in page.get("/Annots", []) or []
                        if isinstance(annot, IndirectObject)}
    fixed = unlinked = 0
    for _ref, element in elements(struct):
        if element.get("/S") != "/Link":
            continue
        annotations = [kid.get_object().raw_get("/Obj") for kid in kids(element)
                       if isinstance(kid.get_object(), DictionaryObject)
                       and kid.get_object().get("/Type") == "/OBJR"]
        if not annotations:
            element[NameObject("/S")] = NameObject("/Span")
            unlinked += 1
            continue
        text = " ".join(element_text(element, texts_by_page, page_index).split())
        for ref in annotations:
            annotation = ref.get_object()
            annotation[NameObject("/F")] = NumberObject(int(annotation.get("/F", 0)) | PRINT_FLAG)
            if not text:
                continue
            label = text
            target = destinations.get(str(annotation.get("/Dest", "")))
            here = annotation_pages.get(ref.idnum) if isinstance(ref, IndirectObject) else None
            if target is not None and target != here and target < len(labels):
                label = f"{text}, page {labels[target]}"
            annotation[NameObject("/Contents")] = TextStringObject(label)
            fixed += 1
    return fixed, unlinked


def destination_pages(writer, page_index) -> dict[str, int]:
    names = writer._root_object.get("/Names")
    if names is None or "/Dests" not in names.get_object():
        return {}
    found = {}
    stack = [names.get_object()["/Dests"].get_object()]
    while stack:
        node = stack.pop()
        pairs = node.get("/Names")
        if pairs is not None:
            pairs = pairs.get_object()
            for i in range(0, len(pairs) - 1, 2):
                dest = pairs[i + 1].get_object()
                if isinstance(dest, DictionaryObject):
                    dest = dest["/D"].get_object()
                page = dest[0] if len(dest) else None
                if isinstance(page, IndirectObject) and page.idnum in page_index:
                    found[str(pairs[i])] = page_index[page.idnum]
        stack.extend(kid.get_object() for kid in node.get("/Kids", []) or [])
    return found


def tables(struct) -> tuple[int, int]:
    """/Scope on header cells (Row when no header cell is above it, else Column) and the
    /IDTree for every /ID."""
    scopes = 0
    for _ref, element in elements(struct):
        if element.get("/S") != "/TR":
            continue
        cells = [kid.get_object() for kid in kids(element)
                 if isinstance(kid, IndirectObject)]
        headers_only = all(cell.get("/S") == "/TH" for cell in cells)
        for cell in cells:
            if cell.get("/S") != "/TH":
                continue
            attributes = cell.get("/A")
            attributes = attributes.get_object() if attributes is not None else None
            if not isinstance(attributes, DictionaryObject):
                attributes = DictionaryObject({NameObject("/O"): NameObject("/Table")})
                cell[NameObject("/A")] = attributes
            if "/Scope" not in attributes:
                attributes[NameObject("/Scope")] = NameObject(
                    "/Column" if headers_only else "/Row")
                scopes += 1
    return scopes, add_id_tree(struct)


def add_id_tree(struct) -> int:
    """Enter every reachable element's /ID in the root's /IDTree; returns how many."""
    ids = sorted(((str(element["/ID"]), ref) for ref, element in elements(struct)
                  if "/ID" in element), key=lambda item: item[0])
    if not ids:
        return 0
    names = ArrayObject()
    for name, ref in ids:
        names += [TextStringObject(name), ref]
    struct[NameObject("/IDTree")] = DictionaryObject({NameObject("/Names"): names})
    return len(ids)
