"""Footnotes in the typeset editions: each note sits at the foot of the page that calls it.

WeasyPrint 70 used to defer every note to the page after its call (a rounding slip in its
footnote-area check), so a note called in the last paragraph landed on the back cover.
"""

from __future__ import annotations

import re

import pypdf
import pytest
from conftest import copy_project

FRONT = """---
title: Footnote test {number}
series: performance-pointers
number: {number}
indicator:
  code: NI {number}
  title: Footnote test
published: "2010-04"
authors:
  - name: Test Author
status: final
summary: A briefing whose last paragraph calls a footnote.
---

"""
FILLER = " ".join(["Agencies hold data on each placement move and on the reasons for it."] * 6)
# A note over half a page tall: wherever the body ends, in one of two briefings whose bodies
# differ by half a page the last line fits at the foot of a page while its note does not.
LONG_NOTE = " ".join(["The concluding note runs on for a while."] * 150)
TIGHT = {f"fn-tight-{fillers}": fillers for fillers in (0, 3)}


def _tight(number: int, fillers: int, note: bool = True) -> str:
    """A briefing whose last paragraph calls a long note (``note=False``: the same without it)."""
    body = "\n\n".join(["## Opening", "An early paragraph calls a short note: callearly.[^early]",
                        *[f"{FILLER} Paragraph {i}." for i in range(fillers)],
                        "## Conclusion", f"Laststart of the concluding paragraph. {FILLER} "
                        "It closes with calllast." + ("[^last]" if note else ""),
                        "[^early]: Earlynote, a short note early on.",
                        f"[^last]: Lastnote begins. {LONG_NOTE} Lastnote ends." if note else ""])
    return FRONT.format(number=number) + body + "\n"


def _roomy() -> str:
    """Notes on two body pages, one called from a table cell, and a short note in the last
    paragraph with room to spare under it."""
    body = "\n\n".join([
        "## Opening", "A paragraph calls a note: callone.[^one]",
        "| Element | Description |\n|---|---|\n| Source | The annual return, see calltwo.[^two] |",
        *[f"{FILLER} Paragraph {i}." for i in range(9)],
        "A later paragraph calls a note: callthree.[^three]",
        "## Conclusion", "The last paragraph calls callfour.[^four]",
        "[^one]: Noteone, on the first body page.",
        "[^two]: Notetwo, called from a table cell.",
        "[^three]: Notethree, on the second body page.",
        "[^four]: Notefour, called from the last paragraph."])
    return FRONT.format(number=99) + body + "\n"


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The test briefings, built in both editions; maps (edition, slug) to page texts."""
    from press.commands import main

    root = copy_project(tmp_path_factory.mktemp("footnotes") / "project")
    briefings = root / "content" / "briefings"
    (briefings / "fn-roomy.md").write_text(_roomy(), encoding="utf-8")
    for number, (slug, fillers) in enumerate(TIGHT.items(), start=90):
        (briefings / f"{slug}.md").write_text(_tight(number, fillers), encoding="utf-8")
        (briefings / f"{slug}-twin.md").write_text(_tight(number + 5, fillers, note=False),
                                                   encoding="utf-8")
    slugs = ["fn-roomy", *TIGHT]
    twins = [f"{slug}-twin" for slug in TIGHT]
    assert main(["--project", str(root), "-q", "-j", "1", "briefing", *slugs]) == 0
    assert main(["--project", str(root), "-q", "-j", "1", "--edition", "web", "briefing",
                 *twins]) == 0
    return {(edition, slug): _texts(root / "output" / edition / f"{slug}.pdf")
            for edition in ("web", "print") for slug in slugs} | {
        ("web", twin): _texts(root / "output" / "web" / f"{twin}.pdf") for twin in twins}


def _texts(path) -> list[str]:
    return [" ".join((page.extract_text() or "").split()) for page in pypdf.PdfReader(path).pages]


def _page(texts: list[str], pattern: str) -> int:
    """The one page (counting from 1) whose text matches ``pattern``."""
    pages = [number for number, text in enumerate(texts, 1) if re.search(pattern, text)]
    assert len(pages) == 1, f"{pattern!r} found on pages {pages}"
    return pages[0]


def _back_cover(texts: list[str]) -> int:
    back = _page(texts, r"About research in practice .* Published April 2010 by")
    assert back == len(texts), "the back cover is not the last page"
    return back


def _assert_on_page_of_call(texts, call: str, number: int, note: str) -> int:
    """The note's marker and text share the page of the call (number right after the call)."""
    called = _page(texts, rf"{call}\.\s?{number}\b")
    noted = _page(texts, rf"\b{number}\. {note}")
    assert noted == called, f"note {number} ({note}) on page {noted}, its call on page {called}"
    return noted


@pytest.mark.parametrize("edition", ["web", "print"])
def test_note_in_last_paragraph_stays_off_the_back_cover(built, edition):
    pushed = []
    for slug in TIGHT:
        texts = built[edition, slug]
        back = _back_cover(texts)
        _assert_on_page_of_call(texts, "callearly", 1, "Earlynote")
        assert _page(texts, r"\b2\. Lastnote begins") < back, f"{slug}: note 2 on the back cover"
        page = _assert_on_page_of_call(texts, "calllast", 2, "Lastnote begins")
        assert _page(texts, "Lastnote ends") == page, f"{slug}: note 2 broken across pages"
        assert page < back and texts[page - 1].count("PERFORMANCE POINTERS") == 1, \
            f"{slug}: note 2 is not on a body page"
        # print pads to a multiple of 4 before the back cover with Notes pages and a blank: no
        # note (nor anything else of the body) lands on them
        assert all(not text or text.strip() == "Notes" for text in texts[page:back - 1]), \
            f"{slug}: padding is not blank or Notes"
        if _page(built["web", f"{slug}-twin"], r"calllast\.") < _page(built["web", slug],
                                                                     r"calllast\.\s?2"):
            pushed.append(slug)
    # the case this is about: without its note the last line fits on a page; with it, the line
    # (and the lines kept with it) goes over with the note, not the note alone to the back cover
    assert pushed, "in no briefing did the note push its line over: lengthen LONG_NOTE"


@pytest.mark.parametrize("edition", ["web", "print"])
def test_notes_land_on_the_page_of_their_call(built, edition):
    texts = built[edition, "fn-roomy"]
    back = _back_cover(texts)
    pages = [_assert_on_page_of_call(texts, call, number, note) for number, (call, note) in
             enumerate([("callone", "Noteone"), ("calltwo", "Notetwo"),
                        ("callthree", "Notethree"), ("callfour", "Notefour")], start=1)]
    assert pages[0] == pages[1] < pages[2] == pages[3] < back
    assert len(texts) == {"web": 5, "print": 8}[edition]  # no page added for a note
