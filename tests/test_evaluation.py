"""Evaluation stage: feedback forms in the mailing pack, returned forms and answer CSVs read
back and matched, every bad return reported and left out, and the report, responses and
follow-up list that come of it."""

from __future__ import annotations

import csv
import io
import os
import shutil
from pathlib import Path

import pypdf
import pytest
from conftest import run
from pypdf import PdfReader, PdfWriter
from pypdf.generic import NameObject, TextStringObject

from press.commands import main
from press.core import csvsafe
from press.products.mailing import feedback as forms
from press.products.mailing import questions

RECIPIENTS = """\
agency,link_officer,address_1,address_2,address_3,town,postcode,copies,email,telephone
Northfield Borough Council Children's Services,Wendy Ferris,Civic Centre,Station Road,,NORTHFIELD,XF11 2FF,,wendy.ferris@northfield.example,0114 496 0001
Bramble & Vale Children's Trust,Siân Llewellyn,Performance Team,"Town Hall, 4 Market Street",,Bramblevale,xb3 4dq,3,sian.llewellyn@bramblevale.example,
Ickleham City Council Children and Young People's Services,Ruth Thackeray,Planning and Performance Unit,"Council Offices, 111 Queensway",,ICKLEHAM,XC5 9NT,,,0114 496 0003
Gorsefield Borough Council Children's Services,Darren Chaudhry,County Hall,,,GORSEFIELD,XS27 4GB,,darren.chaudhry@gorsefield.example,
Ynys Fach County Borough Council,Obinna Okafor,Canolfan Ddinesig,Heol y Castell,,YNYS FACH,XY1 1AB,2,,0114 496 0005
Fendon Council Children's Services,Owen Varley,Civic Centre,Station Road,,FENDON,XA13 7EJ,,,
"""
MAILING = """\
title: Test mailing
date: 2009-04-01
series: performance-pointers
subject: New briefings for your agency
letter: test-letter.md
recipients: test-recipients.csv
items:
  - briefing: ni-112-under-18-conceptions
    copies: 2
  - insert: assets/inserts/order-form.pdf
    label: Order form
"""
FEEDBACK = """\
questions:
  - name: usefulness
    label: How useful was the April briefing?
  - name: used_in_meetings
    kind: yesno
    label: Did you use it in a team meeting?
"""
NORTHFIELD = "northfield-borough-council-childrens-services"
BRAMBLE = "bramble-vale-childrens-trust"
ICKLEHAM = "ickleham-city-council-children-and-young-peoples-services"
GORSEFIELD = "gorsefield-borough-council-childrens-services"
YNYS = "ynys-fach-county-borough-council"
MARKUP = "Useful <script>alert(1)</script> & <b>bold</b> — “curly”\nsecond line"


@pytest.fixture(scope="module")
def pack(built_project, tmp_path_factory):
    """The 6-recipient test mailing (with a feedback file) built in a copy of the sample."""
    root = tmp_path_factory.mktemp("evaluation") / "project"
    shutil.copytree(built_project, root)
    folder = root / "content" / "mailings"
    (folder / "test.yaml").write_text(MAILING, encoding="utf-8")
    (folder / "test.feedback.yaml").write_text(FEEDBACK, encoding="utf-8")
    (folder / "test-recipients.csv").write_text(RECIPIENTS, encoding="utf-8")
    (folder / "test-letter.md").write_text("Dear {link_officer},\n\n{items}\n", encoding="utf-8")
    assert main(["mailing", "test", "--project", str(root), "-q"]) == 0
    return root, root / "output" / "mailings" / "test"


def fill(blank: Path, target: Path, values: dict, mtime: int, mutate=None) -> Path:
    """What a recipient does: fill the form in and save it (pypdf stands in for a viewer)."""
    writer = PdfWriter(clone_from=blank)
    writer.update_page_form_field_values(None, values, auto_regenerate=False)
    if mutate:
        mutate(writer)
    target.parent.mkdir(parents=True, exist_ok=True)
    writer.write(target)
    os.utime(target, (mtime, mtime))
    return target


def set_id(value):
    def mutate(writer):
        for ref in writer.pages[0]["/Annots"]:
            annot = ref.get_object()
            if annot.get("/T") == forms.ID_FIELD:
                annot[NameObject("/V")] = TextStringObject(value)
        writer.add_metadata({forms.ID_INFO_KEY: value})
    return mutate


@pytest.fixture(scope="module")
def evaluated(pack):
    """Returns of every kind in content/evaluations/test/, then ``build.py evaluation``."""
    from pypdf.actions import JavaScript

    root, folder = pack
    blank = folder / "feedback"
    returns = root / "content" / "evaluations" / "test"
    fill(blank / f"{NORTHFIELD}.pdf", returns / "northfield.pdf", {
        "usefulness": "/useful", "passed_on": "/yes", "passed_to": "Our team managers",
        "comments": "An early answer", "quote_permission": "/no"}, 1_000)
    fill(blank / f"{NORTHFIELD}.pdf", returns / "Northfield again.pdf", {
        "usefulness": "/highly_useful", "passed_on": "/yes", "passed_to": "The QA board",
        "prompted_reflection": "/yes", "looked_at_examples": "/no", "comments": MARKUP,
        "quote_permission": "/role_and_agency", "role": "Head of Performance",
        "next_indicator": "NI 60 Core assessments", "used_in_meetings": "/yes"}, 2_000)
    fill(blank / f"{BRAMBLE}.pdf", returns / "bramble.pdf", {  # mostly blank
        "usefulness": "/useful", "comments": "PRIVATE remark", "quote_permission": "/no",
        "next_indicator": "ni 60  core assessments"}, 1_500)
    fill(blank / f"{GORSEFIELD}.pdf", returns / "gorsefield.pdf", {
        "usefulness": "/highly_useful", "passed_on": "/no", "comments": "Anonymous praise",
        "quote_permission": "/anonymously", "role": "Analyst",
        "next_indicator": "NI 62"}, 1_600, mutate=lambda w: w.encrypt(
            "", "owner", algorithm="AES-256"))  # owner password only: opens, counts
    bad = {"usefulness": "/useful"}
    fill(blank / f"{ICKLEHAM}.pdf", returns / "locked.pdf", bad, 1_700,
         mutate=lambda w: w.encrypt("secret", algorithm="AES-256"))
    fill(blank / f"{ICKLEHAM}.pdf", returns / "script.pdf", bad, 1_700,
         mutate=lambda w: w.add_open_action(JavaScript("app.alert(1);")))
    fill(blank / f"{ICKLEHAM}.pdf", returns / "attached.pdf", bad, 1_700,
         mutate=lambda w: w.add_attachment("notes.txt", b"extra"))
    fill(blank / f"{ICKLEHAM}.pdf", returns / "other-mailing.pdf", bad, 1_700,
         mutate=set_id(forms.form_id("2010-01", ICKLEHAM)))
    fill(blank / f"{ICKLEHAM}.pdf", returns / "stranger.pdf", bad, 1_700,
         mutate=set_id(forms.form_id("test", "nobody-we-know")))
    good = forms.form_id("test", ICKLEHAM)
    fill(blank / f"{ICKLEHAM}.pdf", returns / "edited.pdf", bad, 1_700,
         mutate=set_id(good[:-1] + ("1" if good[-1] != "1" else "2")))
    (returns / "garbage.pdf").write_bytes(b"%PDF-1.7\n" + os.urandom(3000))
    (returns / "letter.docx").write_bytes(b"PK\x03\x04 a word file")
    plain = root / "output" / "print" / "ni-112-under-18-conceptions.pdf"
    shutil.copy(plain, returns / "a-briefing.pdf")  # a PDF, but no form
    answers = csvsafe.write(
        ["agency", "usefulness", "passed_on", "comments", "quote_permission", "role"],
        [["Ynys Fach County Borough Council", "Highly useful", "yes",
          "=HYPERLINK(\"http://evil.example\")", "role_and_agency", "Director"],
         ["Nowhere Council", "useful", "no", "", "", ""]])
    (returns / "telephone.csv").write_text(answers.replace("'=HYP", "=HYP"), encoding="utf-8")
    os.utime(returns / "telephone.csv", (1_800, 1_800))
    code = main(["evaluation", "test", "--project", str(root), "-q"])
    return root, root / "output" / "evaluations" / "test", code


def rows(path: Path) -> list[dict]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))


# -- the forms ---------------------------------------------------------------------------------

def test_every_recipient_gets_a_fillable_tagged_form(pack):
    root, folder = pack
    names = sorted(p.name for p in (folder / "feedback").iterdir())
    assert names == sorted(f"{k}.pdf" for k in (NORTHFIELD, BRAMBLE, ICKLEHAM, GORSEFIELD, YNYS,
                                                "fendon-council-childrens-services"))
    path = folder / "feedback" / f"{BRAMBLE}.pdf"
    info = run("pdfinfo", path)
    assert "Tagged:          yes" in info and "AcroForm" in info and "JavaScript:      no" in info
    reader = PdfReader(path)
    fields = reader.get_fields()
    assert fields["agency"]["/V"] == "Bramble & Vale Children's Trust"
    assert fields["link_officer"]["/V"] == "Siân Llewellyn"
    assert fields["items_sent"]["/V"].splitlines()[0].startswith("3 × ")  # the agency's copies
    assert forms.parse_form_id(fields[forms.ID_FIELD]["/V"]) == ("test", BRAMBLE)
    for name in forms.PERSONAL:
        assert int(fields[name]["/Ff"]) & forms.FF_READ_ONLY, name
    widgets = {a.get_object().get("/T"): a.get_object() for a in reader.pages[0]["/Annots"]}
    assert int(widgets[forms.ID_FIELD]["/F"]) & forms.F_HIDDEN
    # the reworded and the added question; radio states named by their values
    assert fields["usefulness"]["/TU"] == "How useful was the April briefing?"
    assert "used_in_meetings" in fields
    assert set(fields["usefulness"]["/_States_"]) >= {"/useful", "/highly_useful"}
    assert "/StructTreeRoot" in reader.trailer["/Root"]


def test_feedback_emails_for_recipients_with_an_address(pack):
    _, folder = pack
    emails = rows(folder / "feedback-emails.csv")
    assert [e["to"] for e in emails] == ["wendy.ferris@northfield.example",
                                         "sian.llewellyn@bramblevale.example",
                                         "darren.chaudhry@gorsefield.example"]
    assert emails[1]["attachment"] == f"feedback/{BRAMBLE}.pdf"
    assert (folder / emails[1]["attachment"]).is_file()
    assert emails[1]["body"].startswith("Dear Siân Llewellyn,")


def test_questions_default_and_bad_feedback_file(tmp_path):
    assert questions.load_questions(tmp_path, "none") == questions.DEFAULT_QUESTIONS
    (tmp_path / "x.feedback.yaml").write_text(
        "questions:\n  - name: usefulness\n    kind: text\n  - name: agency\n    kind: text\n"
        "    label: Mine\n  - name: new_one\n    label: New\n", encoding="utf-8")
    with pytest.raises(Exception) as failed:
        questions.load_questions(tmp_path, "x")
    text = str(failed.value)
    assert "kind is fixed" in text and "cannot be a question name" in text and "kind" in text


# -- reading the returns -----------------------------------------------------------------------

def test_bad_returns_are_reported_by_file_and_left_out(evaluated, capfd):
    _, out, code = evaluated
    assert code == 1
    assert (out / "report.pdf").is_file()


def test_problem_messages(pack, evaluated, capsys):
    root, _, _ = evaluated
    assert main(["evaluation", "test", "--project", str(root), "-q"]) == 1
    err = capsys.readouterr().err
    expect = {"locked.pdf": "encrypted with a password", "script.pdf": "JavaScript",
              "attached.pdf": "attached files", "other-mailing.pdf": "of mailing '2010-01'",
              "stranger.pdf": "not in the mailing's recipients file",
              "edited.pdf": "identifier is damaged", "garbage.pdf": "cannot be read",
              "letter.docx": "not a PDF", "a-briefing.pdf": "not a feedback form",
              "telephone.csv:3": "'Nowhere Council' is not in"}
    for name, message in expect.items():
        line = next((x for x in err.splitlines() if f"/{name}:" in x or f"/{name} " in x), "")
        assert message in line, (name, err)
        assert "left out" in line
    assert "warning: a second answer from 'Northfield Borough Council Children's Services'" \
        in err
    assert "10 errors" in err and "10 returns left out" in err
    assert "bramble.pdf" not in err and "gorsefield.pdf" not in err


def test_responses_and_follow_up(evaluated):
    _, out, _ = evaluated
    responses = {r["agency"]: r for r in rows(out / "responses.csv")}
    assert sorted(responses) == sorted([
        "Northfield Borough Council Children's Services", "Bramble & Vale Children's Trust",
        "Gorsefield Borough Council Children's Services", "Ynys Fach County Borough Council"])
    north = responses["Northfield Borough Council Children's Services"]
    assert north["source"] == "Northfield again.pdf"  # the later one counts
    assert north["usefulness"] == "highly_useful" and north["used_in_meetings"] == "yes"
    assert north["comments"] == MARKUP
    bramble = responses["Bramble & Vale Children's Trust"]
    assert bramble["passed_on"] == "" and bramble["looked_at_examples"] == ""
    ynys = responses["Ynys Fach County Borough Council"]
    assert ynys["channel"] == "csv" and ynys["usefulness"] == "highly_useful"
    assert ynys["comments"].startswith("'=HYPERLINK")  # no formula in a spreadsheet
    follow = rows(out / "follow-up.csv")
    assert [(f["agency"], f["telephone"]) for f in follow] == [
        ("Ickleham City Council Children and Young People's Services", "0114 496 0003"),
        ("Fendon Council Children's Services", "")]
    assert follow[0]["link_officer"] == "Ruth Thackeray"


def test_csv_cells_never_start_a_formula():
    text = csvsafe.write(["a"], [["=1+1"], ["+x"], ["-2"], ["@sum"], ["\tt"], ["\rr"], ["ok"]])
    cells = [r[0] for r in csv.reader(io.StringIO(text, newline=""))][1:]
    assert cells == ["'=1+1", "'+x", "'-2", "'@sum", "'\tt", "'\nr", "ok"]


# -- the report --------------------------------------------------------------------------------

def test_report_text(evaluated):
    _, out, _ = evaluated
    text = " ".join(run("pdftotext", out / "report.pdf", "-").split())
    assert "Responses 4 67% responses from 6 agencies response rate" in text
    assert "10 returns could not be used and were left out" in text
    assert "Our team managers" not in text  # the earlier Northfield answer does not count
    assert "The QA board" in text
    # consent: role and agency, anonymously, or not at all
    assert "<script>alert(1)</script> & <b>bold</b>" in text
    assert "Head of Performance, Northfield Borough Council Children's Services" in text
    assert "Anonymous praise" in text and "Analyst" not in text
    assert "A partner agency (anonymously)" in text
    assert "PRIVATE remark" not in text and "1 further comment may not be quoted" in text
    assert "Director, Ynys Fach County Borough Council" in text
    # the next topics ranked, variants of one answer counted together
    assert text.index("1 NI 60 Core assessments 2") < text.index("2 NI 62 1")
    assert "Did you use it in a team meeting? 1 0 3" in text


def test_report_is_tagged_and_in_house_style(evaluated, tmp_path):
    _, out, _ = evaluated
    reader = pypdf.PdfReader(out / "report.pdf")
    assert "/StructTreeRoot" in reader.trailer["/Root"]
    assert "Tagged:          yes" in run("pdfinfo", out / "report.pdf")
    assert "Lato" in run("pdffonts", out / "report.pdf")
    run("pdftoppm", "-r", "40", "-png", "-f", "1", "-l", "1", out / "report.pdf", tmp_path / "p")
    assert (tmp_path / "p-1.png").stat().st_size > 5000


def test_no_returns_yet(pack, tmp_path, capsys):
    root, _ = pack
    copy = tmp_path / "project"
    shutil.copytree(root / "content", copy / "content",
                    ignore=shutil.ignore_patterns("evaluations"))
    for name in ("layouts", "assets"):
        shutil.copytree(root / name, copy / name)
    assert main(["evaluation", "test", "--project", str(copy), "-q"]) == 0
    assert "no returns yet" in capsys.readouterr().err
    assert len(rows(copy / "output/evaluations/test/follow-up.csv")) == 6


def test_hostile_returns_never_stop_the_report(pack, tmp_path, capsys):
    """An unknown security handler, an emoji and CJK comment, bidi in a comment and a blank
    form sent after a real answer: the report is written, each named (#28 items 5, 6)."""
    root, folder = pack
    copy = tmp_path / "project"
    shutil.copytree(root, copy, ignore=shutil.ignore_patterns("evaluations"))
    blank = folder / "feedback"
    returns = copy / "content" / "evaluations" / "test"

    def foreign(writer):
        writer.encrypt("", "owner", algorithm="RC4-128")
        writer._encrypt_entry[NameObject("/Filter")] = NameObject("/FOPN_foweb")
    fill(blank / f"{ICKLEHAM}.pdf", returns / "drm.pdf", {"usefulness": "/useful"}, 1_000,
         mutate=foreign)
    fill(blank / f"{NORTHFIELD}.pdf", returns / "emoji.pdf", {
        "usefulness": "/useful", "comments": "Great \U0001F600 \u4f60\u597d \u202eevil\u202c",
        "quote_permission": "/anonymously"}, 1_000)
    fill(blank / f"{NORTHFIELD}.pdf", returns / "sub" / "blank-later.pdf", {}, 2_000)
    assert main(["evaluation", "test", "--project", str(copy), "-q"]) == 1
    err = capsys.readouterr().err
    assert "drm.pdf: encrypted with a security handler other than a password" in err
    assert "emoji.pdf: warning: comments: characters the house fonts lack" in err
    assert "sub/blank-later.pdf: warning: a blank form from 'Northfield" in err
    out = copy / "output" / "evaluations" / "test"
    text = " ".join(run("pdftotext", out / "report.pdf", "-").split())
    assert "Great [U+1F600] [U+4F60][U+597D] evil" in text
    north = rows(out / "responses.csv")[0]
    assert north["source"] == "emoji.pdf" and "\U0001F600" in north["comments"]
