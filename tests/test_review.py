"""The review round (#32): a review pack with source line numbers, and the comments reviewers
return, annotated with pypdf, pikepdf and MuPDF, placed at the author's lines."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
from pathlib import Path

import pytest
from conftest import copy_project
from review_annotate import (
    find_phrase,
    mupdf_annotate,
    pikepdf_annotate,
    pypdf_annotate,
)

from press.commands import main
from press.project import Project

SLUG = "ni-058-emotional-health"
ROUND = """\
deadline: "2010-02-26"
questions:
  - Is the table of SDQ bands clear to a non-specialist?
reviewers:
  - name: Ann Adviser
    organisation: Sheffield City Council
    email: ann@example.org
  - name: Bob Reader
    organisation: NHS Sheffield
    email: bob@example.org
  - name: Cath Critic
    email: cath@example.org
  - name: Dan Late
    email: dan@example.org
"""
# A paragraph long enough to run over a page, and one written over several source lines.
LONG = (" Local reports should also say how many questionnaires were returned late, and by "
        "whom, so that readers can judge how far the average can be trusted.") * 6
WRAPPED = """\
The SDQ is a screening tool, not a diagnostic instrument [@goodman1997].
A high score should prompt a conversation with the carer and child and,
where appropriate, a referral for further assessment.
It should not be treated as a label."""


def _prepare(root: Path) -> Path:
    source = root / "content" / "briefings" / f"{SLUG}.md"
    text = source.read_text("utf-8")
    old = text.split("\n")
    caution = next(i for i, line in enumerate(old) if line.startswith("Some caution is needed"))
    old[caution] += LONG
    screening = next(i for i, line in enumerate(old) if line.startswith("The SDQ is a screening"))
    old[screening] = WRAPPED + old[screening][len("The SDQ is a screening tool, not a diagnostic "
                                                  "instrument [@goodman1997]. A high score "
                                                  "should prompt a conversation with the carer "
                                                  "and child and, where appropriate, a referral "
                                                  "for further assessment. It should not be "
                                                  "treated as a label."):]
    source.write_text("\n".join(old), "utf-8")
    rounds = root / "content" / "reviews" / SLUG
    rounds.mkdir(parents=True)
    (rounds / "r1.yaml").write_text(ROUND, "utf-8")
    return source


def line_of(source: Path, text: str, occurrence: int = 0) -> int:
    found = [n for n, line in enumerate(source.read_text("utf-8").split("\n"), 1)
             if text in line]
    return found[occurrence]


@pytest.fixture(scope="module")
def reviewed(tmp_path_factory):
    """A project with the review pack of round r1 made."""
    root = copy_project(tmp_path_factory.mktemp("review") / "project")
    _prepare(root)
    assert main(["review", SLUG, "--round", "r1", "--project", str(root), "-q"]) == 0
    return root


@pytest.fixture
def project(reviewed, tmp_path):
    target = tmp_path / "project"
    shutil.copytree(reviewed, target)
    return target


def folder(root: Path, name: str = "r1") -> Path:
    return Project.at(root).review_folder(SLUG, name)


def returns(root: Path, name: str = "r1") -> Path:
    path = root / "content" / "reviews" / SLUG / name
    path.mkdir(parents=True, exist_ok=True)
    return path


def pack(root: Path, key: str) -> Path:
    return folder(root) / "pack" / f"{SLUG}-r1-{key}.pdf"


def collect(root: Path, name: str = "r1", code: int = 0) -> list[dict]:
    assert main(["review", SLUG, "--round", name, "--collect", "--project", str(root),
                 "-q"]) == code
    text = (folder(root, name) / "comments.csv").read_text("utf-8")
    return list(csv.DictReader(io.StringIO(text)))


def test_pack_has_line_numbers_band_and_map(reviewed):
    import pypdfium2

    out = folder(reviewed)
    mapping = json.loads((out / "map.json").read_text("utf-8"))
    source = reviewed / "content" / "briefings" / f"{SLUG}.md"
    draft = pypdfium2.PdfDocument(str(out / "draft.pdf"))
    assert len(draft) == len(mapping["pages"])
    intro = line_of(source, "## Introduction")
    heading = next(b for b in mapping["boxes"] if b["text"] == "Introduction")
    assert heading["line"] == intro
    text = draft[heading["page"]].get_textpage().get_text_range()
    assert "Review draft — round r1 —" in text
    assert f"\n{intro}" in text or f"{intro}\r" in text  # the number in the margin
    # the table's rows and the footnote have their own lines
    cells = {b["text"]: b["line"] for b in mapping["boxes"]}
    assert cells["Borderline"] == line_of(source, "| 14 to 16 | Borderline")
    note = next(b for b in mapping["boxes"] if "This is a draft for consultation" in b["text"])
    assert note["line"] == line_of(source, "[^1]: This is a draft")
    # a source paragraph written over four lines: each laid-out line starts in its own
    starts = {b["line"] for b in mapping["boxes"] if b["lines"][0] ==
              line_of(source, "The SDQ is a screening tool")}
    assert len(starts) >= 3
    packs = sorted(p.name for p in (out / "pack").iterdir())
    assert packs == [f"{SLUG}-r1-{k}.pdf" for k in
                     ("ann-adviser", "bob-reader", "cath-critic", "dan-late")]
    first = pypdfium2.PdfDocument(str(pack(reviewed, "ann-adviser")))
    assert len(first) == len(draft) + 1
    note_text = first[0].get_textpage().get_text_range()
    assert "Ann Adviser" in note_text and "2010-02-26" in note_text
    assert "Is the table of SDQ bands clear" in note_text


def _ann_marks(draft: Path) -> tuple[list[dict], dict[int, str]]:
    """pypdf marks, and what each mark's line must be (by the source text it is about)."""
    marks, expect = [], {}

    def add(mark, text, occurrence=0):
        expect[len(marks)] = (text, occurrence)
        marks.append(mark)

    # a phrase written in two paragraphs: the second one is marked
    page, rects = find_phrase(draft, "emotional and behavioural health", 1)
    add(dict(kind="Highlight", page=page, rects=rects, text="Say which indicator"),
        "NI 58 was introduced")
    add(dict(kind="Text", page=page, rects=[(rects[0][0], rects[0][3] + 2, rects[0][0] + 20,
                                              rects[0][3] + 22)], text="Agreed", irt=0),
        "NI 58 was introduced")
    page, rects = find_phrase(draft, "the care system")
    add(dict(kind="StrikeOut", page=page, rects=rects), "The emotional and behavioural health")
    add(dict(kind="Caret", page=page, text="children's services", irt=2, group=True,
             rects=[(rects[-1][2], rects[-1][1], rects[-1][2] + 5, rects[-1][3])]),
        "The emotional and behavioural health")
    page, rects = find_phrase(draft, "Borderline")
    add(dict(kind="Underline", page=page, rects=rects, text="Define the band"),
        "| 14 to 16 | Borderline")
    # Acrobat's "replace text": the caret heads the group, the strike-out points at it
    page, rects = find_phrase(draft, "Some difficulties")
    add(dict(kind="Caret", page=page, text="A few difficulties",
             rects=[(rects[0][0] - 2, rects[0][1], rects[0][0] + 3, rects[0][3])]),
        "| 14 to 16 | Borderline")
    add(dict(kind="StrikeOut", page=page, rects=rects, irt=len(marks) - 1, group=True),
        "| 14 to 16 | Borderline")
    add(dict(kind="Text", page=page, rects=[(rects[0][0], rects[0][3], rects[0][0] + 20,
                                              rects[0][3] + 20)], text="Yes", irt=len(marks) - 2),
        "| 14 to 16 | Borderline")
    page, rects = find_phrase(draft, "This is a draft for consultation")
    add(dict(kind="Highlight", page=page, rects=rects, text="Say when"), "[^1]: This is a draft")
    chart = next(b for b in json.loads((draft.parent / "map.json").read_text("utf-8"))["boxes"]
                 if b["text"] == "[image]")
    x0, y0, x1, y1 = chart["rect"]
    middle = ((x0 + x1) / 2, (y0 + y1) / 2)
    add(dict(kind="Text", page=chart["page"], text="Label the bars",
             rects=[(middle[0], middle[1] - 20, middle[0] + 20, middle[1])]),
        "![Grouped bar chart")
    page, rects = find_phrase(draft, "referral for further assessment")
    add(dict(kind="Highlight", page=page, rects=rects, text="Which services?"),
        "where appropriate, a referral")
    page, rects = find_phrase(draft, "Many children enter care")
    add(dict(kind="FreeText", page=page, text="Use 'children in care' throughout",
             rects=[(470, rects[0][1] - 6, 570, rects[0][3] + 6)]),
        "The emotional and behavioural health")
    return marks, expect


def test_collect_pypdf_marks_land_on_their_lines(project):
    draft = folder(project) / "draft.pdf"
    source = project / "content" / "briefings" / f"{SLUG}.md"
    marks, expect = _ann_marks(draft)
    pypdf_annotate(pack(project, "ann-adviser"), returns(project) / "ann.pdf", 1, marks)
    rows = collect(project)
    by_text = {r["text"] or r["replacement"]: r for r in rows}
    for index, (text, occurrence) in expect.items():
        mark = marks[index]
        if mark["kind"] == "StrikeOut":
            continue  # one row with its caret: the replacement
        row = by_text[mark["text"]]
        assert int(row["line"]) == line_of(source, text, occurrence), (mark, row)
        assert row["reviewer"] == "Ann Adviser"
    replacement = by_text["children's services"]
    assert replacement["kind"] == "replacement" and replacement["quoted"] == "the care system"
    acrobat = by_text["A few difficulties"]
    assert acrobat["kind"] == "replacement" and acrobat["quoted"] == "Some difficulties"
    assert by_text["Yes"]["in_reply_to"] == acrobat["comment_id"]
    assert by_text["Agreed"]["kind"] == "reply"
    assert by_text["Agreed"]["in_reply_to"] == by_text["Say which indicator"]["comment_id"]
    assert by_text["Say which indicator"]["quoted"] == "emotional and behavioural health"
    md = (folder(project) / "comments.md").read_text("utf-8")
    intro = md.index("## Introduction")
    assert md.index(f"{SLUG}.md:{line_of(source, 'NI 58 was introduced')}`") > intro
    assert "  - reply — **Ann Adviser**: Agreed" in md
    summary = (folder(project) / "summary.md").read_text("utf-8")
    assert "Returned (1): Ann Adviser (ann.pdf)" in summary
    import pypdfium2

    digest = pypdfium2.PdfDocument(str(folder(project) / "comments.pdf"))
    digest_text = "".join(page.get_textpage().get_text_range() for page in digest)
    assert "Say which indicator" in digest_text and "children's services" in digest_text
    assert "Not returned (3): Bob Reader, Cath Critic, Dan Late" in summary


def test_three_tools_and_an_incremental_save(project):
    pytest.importorskip("pikepdf")
    pytest.importorskip("pymupdf")
    draft = folder(project) / "draft.pdf"
    source = project / "content" / "briefings" / f"{SLUG}.md"
    # a comment over a page break: the reader makes one mark on each page
    mapping = json.loads((folder(project) / "map.json").read_text("utf-8"))
    caution = line_of(source, "Some caution is needed")
    spread = [b for b in mapping["boxes"] if b["line"] == caution]
    end = [b for b in spread if b["page"] == spread[0]["page"]][-1]
    start = [b for b in spread if b["page"] == spread[-1]["page"]][0]
    assert start["page"] == end["page"] + 1  # the paragraph runs over a page
    end_page, end_rects = end["page"], [tuple(end["rect"])]
    next_page, next_rects = start["page"], [tuple(start["rect"])]
    bob = [dict(kind="Highlight", page=end_page, rects=end_rects, text="Too long (1/2)"),
           dict(kind="Highlight", page=next_page, rects=next_rects, text="Too long (2/2)"),
           dict(kind="StrikeOut", page=find_phrase(draft, "17 to 40")[0],
                rects=find_phrase(draft, "17 to 40")[1], text="Check the range"),
           dict(kind="Text", page=end_page, rects=[(0, 0, 20, 20)], text="Reply", irt=0)]
    pikepdf_annotate(pack(project, "bob-reader"), returns(project) / "bob.pdf", 1, bob)
    page, rects = find_phrase(draft, "emotional and behavioural health", 0)
    cath = [dict(kind="Highlight", page=page, rects=rects, text="Cath on the first"),
            dict(kind="Text", page=find_phrase(draft, "Next steps", 1)[0],
                 rects=[find_phrase(draft, "Next steps", 1)[1][0]], text="Cath's note"),
            dict(kind="Underline", page=find_phrase(draft, "Substantial difficulties")[0],
                 rects=find_phrase(draft, "Substantial difficulties")[1], text="Cath table")]
    mupdf_annotate(pack(project, "cath-critic"), returns(project) / "cath.pdf", 1, cath)
    # Dan saves twice: a second comment appended as an incremental update
    first = returns(project) / "dan-first.pdf"
    page, rects = find_phrase(draft, "Performance Pointers")
    pypdf_annotate(pack(project, "dan-late"), first, 1,
                   [dict(kind="Highlight", page=page, rects=rects, author="Dan Late",
                         text="Series name")])
    page, rects = find_phrase(draft, "a low completion rate")
    pypdf_annotate(first, returns(project) / "dan-late.pdf", 1,
                   [dict(kind="Highlight", page=page, rects=rects, author="Dan Late",
                         text="Dan incremental")], incremental=True)
    assert (returns(project) / "dan-late.pdf").read_bytes().startswith(first.read_bytes())
    first.unlink()
    rows = collect(project)
    by_text = {r["text"]: r for r in rows}
    assert int(by_text["Too long (1/2)"]["line"]) == caution
    assert int(by_text["Too long (2/2)"]["line"]) == caution
    assert int(by_text["Check the range"]["line"]) == line_of(source, "| 17 to 40 |")
    assert by_text["Reply"]["kind"] == "reply"
    assert int(by_text["Cath on the first"]["line"]) == line_of(source, "The emotional and beh")
    assert by_text["Cath on the first"]["reviewer"] == "Cath Critic"
    assert int(by_text["Cath's note"]["line"]) == line_of(source, "## Next steps")
    assert int(by_text["Cath table"]["line"]) == line_of(source, "| 17 to 40 |")
    assert int(by_text["Dan incremental"]["line"]) == line_of(source, "Some caution is needed")
    assert by_text["Series name"]["reviewer"] == "Dan Late"
    summary = (folder(project) / "summary.md").read_text("utf-8")
    assert "Not returned (1): Ann Adviser" in summary


def test_a_return_without_the_pack_identity_is_still_placed(project):
    """macOS Preview rewrites the Info dictionary: the round is read from the band, the note
    page from the page count, the reviewer from the comments' author."""
    from pypdf import PdfReader, PdfWriter

    draft = folder(project) / "draft.pdf"
    source = project / "content" / "briefings" / f"{SLUG}.md"
    page, rects = find_phrase(draft, "Borderline")
    annotated = returns(project) / "annotated.pdf"
    pypdf_annotate(pack(project, "bob-reader"), annotated, 1,
                   [dict(kind="Underline", page=page, rects=rects, text="bands",
                         author="Bob Reader")])
    writer = PdfWriter(clone_from=PdfReader(annotated))
    writer.metadata = {"/Producer": "macOS Version 14.0 Quartz PDFContext"}
    with open(returns(project) / "Preview copy.pdf", "wb") as handle:
        writer.write(handle)
    annotated.unlink()
    rows = collect(project)
    assert int(rows[0]["line"]) == line_of(source, "| 14 to 16 | Borderline")
    assert rows[0]["reviewer"] == "Bob Reader" and rows[0]["round"] == "r1"
    summary = (folder(project) / "summary.md").read_text("utf-8")
    assert "Returned (1): Bob Reader (Preview copy.pdf)" in summary


def test_hostile_and_flattened_returns(project):
    from pypdf import PdfReader, PdfWriter

    folder_in = returns(project)
    writer = PdfWriter(clone_from=PdfReader(pack(project, "bob-reader")))
    writer.encrypt("secret", "owner-secret")
    with open(folder_in / "locked.pdf", "wb") as handle:
        writer.write(handle)
    (folder_in / "garbage.pdf").write_bytes(os.urandom(3000))
    (folder_in / "truncated.pdf").write_bytes(pack(project, "ann-adviser").read_bytes()[:900])
    with open(folder_in / "huge.pdf", "wb") as handle:  # sparse: nothing is read
        handle.truncate(200 * 1024 * 1024)
    shutil.copy(pack(project, "cath-critic"), folder_in / "printed.pdf")
    (folder_in / "elsewhere.pdf").symlink_to(pack(project, "ann-adviser"))
    rows = collect(project, code=1)
    assert rows == []
    summary = (folder(project) / "summary.md").read_text("utf-8")
    for name, words in [("locked.pdf", "encrypted with a password"), ("garbage.pdf", "not a PDF"),
                        ("huge.pdf", "larger than 50 MB"), ("elsewhere.pdf", "a link"),
                        ("printed.pdf", "flattened, or printed"), ("truncated.pdf", "left out")]:
        assert any(name in line and words in line for line in summary.splitlines()), name


def test_a_return_that_reads_too_slowly_is_left_out(project, monkeypatch):
    shutil.copy(pack(project, "ann-adviser"), returns(project) / "slow.pdf")
    monkeypatch.setenv("PRESS_TIME_LIMIT_REVIEW", "0.3")
    monkeypatch.setenv("PRESS_TEST_STALL_REVIEW", "3")
    collect(project, code=1)
    summary = (folder(project) / "summary.md").read_text("utf-8")
    assert "slow.pdf: reading it did not finish within 0.3 s" in summary


def test_unplaced_comments_are_listed_with_page_and_reason(project):
    draft = folder(project) / "draft.pdf"
    page, rects = find_phrase(draft, "Borderline")
    pypdf_annotate(pack(project, "ann-adviser"), returns(project) / "ann.pdf", 1,
                   [dict(kind="Text", page=0, rects=[(300, 400, 320, 420)], text="Nice cover"),
                    dict(kind="Text", page=-1, rects=[(300, 400, 320, 420)],
                         text="On the questions: yes, clear"),
                    dict(kind="Underline", page=page, rects=rects, text="ok \U0001F44D")])
    rows = collect(project)
    # the digest cannot set the emoji in the house fonts: it is left out, nothing else is
    assert not (folder(project) / "comments.pdf").exists()
    assert "ok \U0001F44D" in (folder(project) / "comments.md").read_text("utf-8")
    cover = next(r for r in rows if r["text"] == "Nice cover")
    assert cover["line"] == "" and "cover" in cover["note"]
    summary = (folder(project) / "summary.md").read_text("utf-8")
    assert "ann.pdf, page 1: **Ann Adviser** (note) Nice cover" in summary
    assert "On the questions" not in summary  # a general comment is not a failure
    md = (folder(project) / "comments.md").read_text("utf-8")
    assert md.index("## General comments") < md.index("On the questions") < md.index("## Not")


def test_old_round_comments_follow_their_lines(project):
    draft = folder(project) / "draft.pdf"
    source = project / "content" / "briefings" / f"{SLUG}.md"
    kept_page, kept = find_phrase(draft, "Borderline")
    gone_page, gone = find_phrase(draft, "the care system")
    marks = [dict(kind="Underline", page=kept_page, rects=kept, text="kept"),
             dict(kind="Highlight", page=gone_page, rects=gone, text="rewritten")]
    # round 2: two lines added above, the first paragraph rewritten
    text = source.read_text("utf-8").replace("## Introduction\n", "## Introduction\n\nNew.\n", 1)
    text = text.replace("one of the clearest indicators", "a clear indicator", 1)
    source.write_text(text, "utf-8")
    (source.parent.parent / "reviews" / SLUG / "r2.yaml").write_text(ROUND, "utf-8")
    pypdf_annotate(pack(project, "ann-adviser"), returns(project, "r2") / "ann-r1.pdf", 1, marks)
    rows = collect(project, "r2")
    by_text = {r["text"]: r for r in rows}
    assert int(by_text["kept"]["line"]) == line_of(source, "| 14 to 16 | Borderline")
    assert "was line" in by_text["kept"]["note"] and by_text["kept"]["round"] == "r1"
    assert "changed since round r1" in by_text["rewritten"]["note"]


def test_round_file_problems_are_reported_at_their_lines(project, capsys):
    rounds = project / "content" / "reviews" / SLUG
    (rounds / "bad.yaml").write_text("reviewers:\n  - name: Ann\n    emial: a@b\n"
                                     "deadine: soon\n", "utf-8")
    assert main(["review", SLUG, "--round", "bad", "--project", str(project), "-q"]) == 1
    err = capsys.readouterr().err
    assert f"content/reviews/{SLUG}/bad.yaml:3: unknown field 'emial'" in err
    assert f"content/reviews/{SLUG}/bad.yaml:4: unknown field 'deadine'" in err
    assert main(["review", SLUG, "--round", "r9", "--project", str(project), "-q"]) == 1
    assert "no round 'r9'" in capsys.readouterr().err
    assert main(["review", SLUG, "--project", str(project)]) == 2
    assert "--round NAME" in capsys.readouterr().err


def test_blocks_are_numbered_with_their_source_lines(tmp_path):
    """Every block of each sample briefing is found in its source; a footnote whose words
    are also in the paragraph calling it is numbered at its definition."""
    import re

    from press.briefing import convert
    from press.content.load import load_all
    from press.errors import Problems
    from press.products.review.lines import BLOCKS, Source, number_blocks

    project = Project.at(copy_project(tmp_path / "project"))
    _, briefings = load_all(project, Problems())
    for briefing in briefings:
        lines = briefing.path.read_text("utf-8").split("\n")
        html = number_blocks(convert(project, briefing).html, Source(lines, briefing.body_line))
        tags = re.findall(r"<(" + "|".join(BLOCKS) + r")\b([^>]*)>", html)
        assert tags and all("data-line=" in attrs for _, attrs in tags), briefing.slug
        notes = re.findall(r'<span data-line="(\d+)"[^>]*class="footnote"', html)
        assert len(notes) == html.count('class="footnote"'), briefing.slug
        for number in notes:
            assert lines[int(number) - 1].startswith("[^"), (briefing.slug, number)
    assert any(b.slug == "ni-062-placement-stability" for b in briefings)
