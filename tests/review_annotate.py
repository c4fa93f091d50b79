"""Test helpers: find a phrase on a page of a review draft, and annotate drafts as reviewers'
tools do (pypdf, pikepdf, MuPDF)."""

from __future__ import annotations

import pypdfium2


def find_phrase(pdf_path, phrase: str, occurrence: int = 0, page_hint: int | None = None):
    """``(page index, [rects])`` of the ``occurrence``-th place ``phrase`` is written (one rect
    per laid-out line it covers, PDF points, origin bottom left)."""
    document = pypdfium2.PdfDocument(str(pdf_path))
    try:
        seen = 0
        pages = [page_hint] if page_hint is not None else range(len(document))
        for index in pages:
            text_page = document[index].get_textpage()
            searcher = text_page.search(phrase, match_case=True)
            while (found := searcher.get_next()) is not None:
                start, count = found
                if seen == occurrence:
                    return index, _rects(text_page, start, count)
                seen += 1
        raise AssertionError(f"{phrase!r} ({occurrence}) not found")
    finally:
        document.close()


def _rects(text_page, start, count):
    lines: list[list[float]] = []
    for i in range(start, start + count):
        left, bottom, right, top = text_page.get_charbox(i)
        if right - left <= 0:
            continue
        if lines and abs(lines[-1][1] - bottom) < 3:
            line = lines[-1]
            line[0], line[2] = min(line[0], left), max(line[2], right)
            line[1], line[3] = min(line[1], bottom), max(line[3], top)
        else:
            lines.append([left, bottom, right, top])
    return [tuple(r) for r in lines]


def quads(rects):
    out = []
    for x0, y0, x1, y1 in rects:
        out += [x0, y1, x1, y1, x0, y0, x1, y0]
    return out


def pypdf_annotate(source, target, page_offset, marks, incremental=False):
    """``marks``: dicts with kind (Text, Highlight, StrikeOut, Underline, Caret, FreeText),
    page, rects, text, author, and optional irt (index of an earlier mark) and group."""
    from pypdf import PdfReader, PdfWriter
    from pypdf.generic import (
        ArrayObject,
        DictionaryObject,
        FloatObject,
        NameObject,
        TextStringObject,
    )

    if incremental:
        writer = PdfWriter(source, incremental=True)
    else:
        writer = PdfWriter(clone_from=PdfReader(source))
    refs = []
    for mark in marks:
        rects = mark["rects"]
        x0 = min(r[0] for r in rects)
        y0 = min(r[1] for r in rects)
        x1 = max(r[2] for r in rects)
        y1 = max(r[3] for r in rects)
        annot = DictionaryObject({
            NameObject("/Type"): NameObject("/Annot"),
            NameObject("/Subtype"): NameObject("/" + mark["kind"]),
            NameObject("/Rect"): ArrayObject(FloatObject(v) for v in (x0, y0, x1, y1)),
            NameObject("/T"): TextStringObject(mark.get("author", "Ann Adviser")),
            NameObject("/Contents"): TextStringObject(mark.get("text", "")),
        })
        if mark["kind"] in ("Highlight", "StrikeOut", "Underline", "Squiggly"):
            annot[NameObject("/QuadPoints")] = ArrayObject(FloatObject(v)
                                                           for v in quads(rects))
        if mark["kind"] == "FreeText":
            annot[NameObject("/DA")] = TextStringObject("/Helv 10 Tf 0 g")
        if "irt" in mark:
            annot[NameObject("/IRT")] = refs[mark["irt"]]
            if mark.get("group"):
                annot[NameObject("/RT")] = NameObject("/Group")
        page = writer.pages[mark["page"] + page_offset]
        ref = writer._add_object(annot)
        if "/Annots" not in page:
            page[NameObject("/Annots")] = ArrayObject()
        page["/Annots"].append(ref)
        refs.append(ref)
    with open(target, "wb") as handle:
        writer.write(handle)


def pikepdf_annotate(source, target, page_offset, marks):
    import pikepdf

    with pikepdf.open(source) as pdf:
        refs = []
        for mark in marks:
            rects = mark["rects"]
            box = [min(r[0] for r in rects), min(r[1] for r in rects),
                   max(r[2] for r in rects), max(r[3] for r in rects)]
            annot = pikepdf.Dictionary(Type=pikepdf.Name.Annot,
                                       Subtype=pikepdf.Name("/" + mark["kind"]),
                                       Rect=box, T=mark.get("author", "Bob Reader"),
                                       Contents=mark.get("text", ""))
            if mark["kind"] in ("Highlight", "StrikeOut", "Underline", "Squiggly"):
                annot.QuadPoints = quads(rects)
            if "irt" in mark:
                annot.IRT = refs[mark["irt"]]
                if mark.get("group"):
                    annot.RT = pikepdf.Name.Group
            ref = pdf.make_indirect(annot)
            page = pdf.pages[mark["page"] + page_offset]
            if "/Annots" not in page.obj:
                page.obj.Annots = pdf.make_indirect(pikepdf.Array())
            page.obj.Annots.append(ref)
            refs.append(ref)
        pdf.save(target)


def mupdf_annotate(source, target, page_offset, marks):
    import pymupdf

    document = pymupdf.open(source)
    height = None
    for mark in marks:
        page = document[mark["page"] + page_offset]
        height = page.rect.height
        # MuPDF's coordinates have their origin at the top left
        rects = [pymupdf.Rect(x0, height - y1, x1, height - y0)
                 for x0, y0, x1, y1 in mark["rects"]]
        kind = mark["kind"]
        if kind == "Highlight":
            annot = page.add_highlight_annot(quads=[r.quad for r in rects])
        elif kind == "StrikeOut":
            annot = page.add_strikeout_annot(quads=[r.quad for r in rects])
        elif kind == "Underline":
            annot = page.add_underline_annot(quads=[r.quad for r in rects])
        elif kind == "Text":
            annot = page.add_text_annot(rects[0].tl, mark.get("text", ""))
        elif kind == "FreeText":
            annot = page.add_freetext_annot(rects[0], mark.get("text", ""))
        else:
            raise ValueError(kind)
        annot.set_info(title=mark.get("author", "Cath Critic"), content=mark.get("text", ""))
        annot.update()
    document.save(target)
    document.close()
