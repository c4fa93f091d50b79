"""The web edition's structure where the two checkers look little or not at all, on newcomer
content (a page-range citation, a footnote holding a list): footnotes are /Note elements
with an /ID, a /Lbl and a /Reference pointing at them (ISO 14289-1 7.9) and their calls are
apart from the word in extracted text; every link annotation is in a /Link; an element that
crosses a page is one element. Read with pikepdf and poppler; outloud and pdfua run too."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import newcomer
import pikepdf
import pytest
from conftest import run
from newcomer import newcomer_fixture  # noqa: F401 - the newcomer_project fixture
from test_accessibility import _checker_is_wrong

BIN = Path(sys.executable).parent


def web_pdf(root: Path) -> Path:
    return root / "output" / "web" / f"{newcomer.SLUG}.pdf"


def structure(pdf: pikepdf.Pdf) -> list[tuple[pikepdf.Dictionary, pikepdf.Dictionary | None]]:
    """Every structure element with its parent, depth first (document order)."""
    found, stack = [], [(pdf.Root.StructTreeRoot.K, None)]
    while stack:
        item, parent = stack.pop()
        if isinstance(item, pikepdf.Array):
            stack.extend((kid, parent) for kid in reversed(list(item)))
        elif isinstance(item, pikepdf.Dictionary) and "/S" in item:
            found.append((item, parent))
            if "/K" in item:
                stack.append((item.K, item))
    return found


def mcid_pages(element: pikepdf.Dictionary, pages: dict, page=None) -> set[int]:
    """The pages holding the marked content of ``element`` and its descendants."""
    page = element.get("/Pg", page)
    kids = element.get("/K")
    kids = list(kids) if isinstance(kids, pikepdf.Array) else [] if kids is None else [kids]
    found = set()
    for kid in kids:
        if isinstance(kid, pikepdf.Dictionary) and kid.get("/Type") == "/MCR":
            found.add(pages[kid.get("/Pg", page).objgen])
        elif isinstance(kid, pikepdf.Dictionary) and "/S" in kid:
            found |= mcid_pages(kid, pages, page)
        elif isinstance(kid, int) and page is not None:
            found.add(pages[page.objgen])
    return found


def test_footnotes_are_notes_with_labels_and_references(newcomer_project):
    with pikepdf.open(web_pdf(newcomer_project)) as pdf:
        elements = structure(pdf)
        notes = [e for e, _ in elements if e.S == "/Note"]
        assert len(notes) == 3  # NI 112's two notes and the newcomer's
        assert len({str(n.ID) for n in notes}) == 3
        references = [e for e, _ in elements if e.S == "/Reference"]
        assert len(references) == 3
        for reference in references:
            (note,) = reference.Ref
            assert note.S == "/Note" and note.Ref[0].objgen == reference.objgen
        for note in notes:
            assert any(e.S == "/Lbl" for e in structure_of(note))
        # the newcomer's note (the second called) holds its list
        assert [any(e.S == "/L" for e in structure_of(n)) for n in notes] == [False, True, False]


def structure_of(element: pikepdf.Dictionary) -> list[pikepdf.Dictionary]:
    found, stack = [], [element.get("/K")]
    while stack:
        item = stack.pop()
        if isinstance(item, pikepdf.Array):
            stack.extend(item)
        elif isinstance(item, pikepdf.Dictionary) and "/S" in item:
            found.append(item)
            stack.append(item.get("/K"))
    return found


def test_a_footnote_call_is_apart_from_its_word_in_extracted_text(newcomer_project):
    text = run("pdftotext", web_pdf(newcomer_project), "-")
    assert "abortion notifications [1]" in text
    assert "notifications1" not in text
    assert "(Harden et al, 2009, pp. 35–58). [2]" in " ".join(text.split())


def test_every_link_annotation_is_in_a_link_element(newcomer_project):
    """The page-range citation (an inline span for "35–58" inside the link) is one tagged
    annotation, no longer a second one in a /Span (outloud LNK-001)."""
    with pikepdf.open(web_pdf(newcomer_project)) as pdf:
        owners = {}
        for element, _ in structure(pdf):
            kids = element.get("/K")
            for kid in list(kids) if isinstance(kids, pikepdf.Array) else [kids]:
                if isinstance(kid, pikepdf.Dictionary) and kid.get("/Type") == "/OBJR":
                    owners[kid.Obj.objgen] = str(element.S)
        annotations = [a for page in pdf.pages for a in page.get("/Annots", [])
                       if a.Subtype == "/Link"]
        assert annotations and {owners.get(a.objgen) for a in annotations} == {"/Link"}
        citation = [a for a in annotations if "pp. 35–58" in str(a.get("/Contents", ""))]
        assert len(citation) == 1


def test_an_element_crossing_a_page_is_one_element(newcomer_project):
    """WeasyPrint makes one element per page; the parts are joined: the document's main
    part is one /Part over every body page, and a paragraph split by a page break is one
    /P (read with pikepdf, from the marked content each element holds)."""
    for path in (web_pdf(newcomer_project),
                 newcomer_project / "output" / "web" / "ni-062-placement-stability.pdf"):
        with pikepdf.open(path) as pdf:
            pages = {page.obj.objgen: n for n, page in enumerate(pdf.pages, 1)}
            elements = structure(pdf)
            parts = [e for e, _ in elements if e.S == "/Part"]
            assert len(parts) == 1 and len(mcid_pages(parts[0], pages)) > 5
            crossing = [e for e, _ in elements if e.S == "/P" and len(mcid_pages(e, pages)) > 1]
            assert crossing, path.name


@pytest.mark.slow
def test_the_checkers_stay_clean_on_newcomer_content(newcomer_project, tmp_path):
    path = web_pdf(newcomer_project)
    report = tmp_path / "outloud.json"
    subprocess.run([BIN / "outloud", "--no-info", "--fail-on", "never", "--json", report, path],
                   check=True, capture_output=True)
    result = json.loads(report.read_text())["results"][0]
    assert result["error"] is None
    assert [f"{f['rule']} p.{f.get('page')}: {f['message']}" for f in result["findings"]
            if f["severity"] in ("error", "warning") and not _checker_is_wrong(f, path)] == []
    done = subprocess.run([BIN / "pdfua", "check", "-f", "json", path],
                          capture_output=True, text=True, check=False)
    assert json.loads(done.stdout)["findings"] == []


def test_no_word_in_a_table_is_broken_without_a_hyphen(newcomer_project):
    """NI 62's Table 1 printed "Denominato" / "r": the body's overflow-wrap let the column
    shrink below its longest word (poppler's layout text, one line a table row)."""
    text = run("pdftotext", "-layout", newcomer_project / "output" / "web"
               / "ni-062-placement-stability.pdf", "-")
    rows = [line.split() for line in text.splitlines() if line.strip()]
    assert ["Denominator", "All", "children"] in [row[:3] for row in rows]
    assert not any(row and row[0] == "Denominato" for row in rows)


def test_no_ladder_of_three_hyphenated_lines(newcomer_project):
    """WeasyPrint 70 has no `hyphenate-limit-lines`; `hyphenate-limit-chars: 6 3 3` keeps
    ladders short: no three lines in a row end in an automatic hyphen (a soft hyphen in
    poppler's text, see press/render/accessible.py)."""
    for path in sorted((newcomer_project / "output" / "web").glob("*.pdf")):
        lines = run("pdftotext", path, "-").splitlines()
        ends = "".join("1" if line.rstrip().endswith("\u00ad") else "0" for line in lines)
        assert "111" not in ends, path.name
