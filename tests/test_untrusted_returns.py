"""Hostile returned forms and answer CSVs: read by name, refused by name, never a traceback
(issue #28 items 5 and 6). The forms are made here with pypdf, no mailing build needed."""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace

import pytest
from pypdf import PdfWriter
from pypdf.generic import (
    ArrayObject,
    DictionaryObject,
    NameObject,
    NumberObject,
    TextStringObject,
)

from press.core import untrusted
from press.products.evaluation import report, returns
from press.products.mailing import feedback as forms
from press.products.mailing.questions import DEFAULT_QUESTIONS, Question

MAILING = SimpleNamespace(id="m1", recipients=(
    SimpleNamespace(agency="Fendon Council"),
    SimpleNamespace(agency="Orrin Children’s Trust"),
))
FENDON, ORRIN = "fendon-council", "orrin-children-s-trust"


def _field(writer, name, value, **extra):
    field = DictionaryObject({NameObject("/FT"): NameObject("/Tx"),
                              NameObject("/T"): TextStringObject(name),
                              NameObject("/Type"): NameObject("/Annot"),
                              NameObject("/Subtype"): NameObject("/Widget"),
                              NameObject("/Rect"): ArrayObject([NumberObject(0)] * 4)})
    if value is not None:
        field[NameObject("/V")] = value if not isinstance(value, str) else \
            TextStringObject(value)
    field.update({NameObject(k): v for k, v in extra.items()})
    return writer._add_object(field)


def form(path: Path, key: str, values: dict, *, mtime: int = 1000, fields=True,
         mutate=None) -> Path:
    """A returned form of mailing m1 from ``key``: the id field and text fields."""
    writer = PdfWriter()
    page = writer.add_blank_page(200, 200)
    ident = forms.form_id("m1", key)
    refs = []
    if fields:
        refs = [_field(writer, forms.ID_FIELD, ident)]
        refs += [_field(writer, name, value) for name, value in values.items()]
        page[NameObject("/Annots")] = ArrayObject(refs)
        writer._root_object[NameObject("/AcroForm")] = writer._add_object(DictionaryObject(
            {NameObject("/Fields"): ArrayObject(refs)}))
    writer.add_metadata({forms.ID_INFO_KEY: ident})
    if mutate:
        mutate(writer, refs)
    path.parent.mkdir(parents=True, exist_ok=True)
    writer.write(path)
    os.utime(path, (mtime, mtime))
    return path


def read(folder, questions=DEFAULT_QUESTIONS):
    got = returns.read_returns(folder, MAILING, questions)
    return got, {p.path.name if hasattr(p.path, "name") else p.path: p.message
                 for p in got.problems.items}


def test_a_form_is_read(tmp_path):
    form(tmp_path / "ok.pdf", FENDON, {"comments": "Fine"})
    got, problems = read(tmp_path)
    assert not problems and [a.values["comments"] for a in got.answers] == ["Fine"]


def test_unknown_security_handler_is_refused_by_name(tmp_path):
    def foreign(writer, refs):
        writer.encrypt("", "owner", algorithm="RC4-128")
        writer._encrypt_entry[NameObject("/Filter")] = NameObject("/FOPN_foweb")
    form(tmp_path / "drm.pdf", FENDON, {"comments": "x"}, mutate=foreign)
    form(tmp_path / "fine.pdf", ORRIN, {"comments": "y"})
    got, problems = read(tmp_path)
    assert "security handler other than a password" in problems["drm.pdf"]
    assert [a.key for a in got.answers] == [ORRIN] and got.left_out == 1


def test_an_insert_with_an_unknown_security_handler_is_a_problem(tmp_path):
    from press.errors import ContentError
    from press.products.mailing import pack

    def foreign(writer, refs):
        writer.encrypt("", "owner", algorithm="RC4-128")
        writer._encrypt_entry[NameObject("/Filter")] = NameObject("/Adobe.PubSec")
    path = form(tmp_path / "insert.pdf", FENDON, {}, mutate=foreign)
    with pytest.raises(ContentError) as failed:
        pack._pdf_info(path)
    assert "security handler" in str(failed.value)


def test_size_is_checked_before_reading(tmp_path):
    huge = tmp_path / "huge.pdf"
    with open(huge, "wb") as file:  # sparse: 3 GB on paper, nothing on disk
        file.write(b"%PDF-1.7\n")
        file.truncate(3 * 2**30)
    big_csv = tmp_path / "answers.csv"
    with open(big_csv, "wb") as file:
        file.write(b"agency,comments\n")
        file.truncate(returns.MAX_CSV_BYTES + 1)
    got, problems = read(tmp_path)
    assert "larger than 20 MB" in problems["huge.pdf"]
    assert "larger than 5 MB" in problems["answers.csv"]
    assert got.left_out == 2


def test_a_fifo_is_not_opened(tmp_path):
    os.mkfifo(tmp_path / "pipe.pdf")
    with pytest.raises(untrusted.Refused, match="not a regular file"):
        untrusted.read_bytes(tmp_path / "pipe.pdf", 100)


def test_an_array_value_prints_its_items_and_bidi_is_removed(tmp_path):
    form(tmp_path / "a.pdf", FENDON, {
        "passed_to": ArrayObject([TextStringObject("first"), TextStringObject("second")]),
        "comments": "Fendon \u202eCouncil\u202c says\u200b hi\u2066!\u2069",
        "role": DictionaryObject()})
    got, problems = read(tmp_path)
    values = got.answers[0].values
    assert values["passed_to"] == "first, second"
    assert values["comments"] == "Fendon Council says hi!"
    assert values["role"] is None


def test_javascript_behind_a_widgets_parent_is_refused(tmp_path):
    def parent_with_script(writer, refs):
        action = writer._add_object(DictionaryObject({
            NameObject("/S"): NameObject("/JavaScript"),
            NameObject("/JS"): TextStringObject("app.alert(1)")}))
        parent = writer._add_object(DictionaryObject({
            NameObject("/T"): TextStringObject("group"),
            NameObject("/AA"): DictionaryObject({NameObject("/K"): action})}))
        refs[1].get_object()[NameObject("/Parent")] = parent  # reachable only this way
    form(tmp_path / "sly.pdf", FENDON, {"comments": "x"}, mutate=parent_with_script)
    got, problems = read(tmp_path)
    assert "JavaScript" in problems["sly.pdf"] and not got.answers


def test_a_blank_form_never_replaces_an_answer(tmp_path):
    (tmp_path / "phone.csv").write_text("agency,comments\nFendon Council,Called: useful\n",
                                        encoding="utf-8")
    os.utime(tmp_path / "phone.csv", (1000, 1000))
    form(tmp_path / "later-blank.pdf", FENDON, {"comments": ""}, mtime=2000)
    form(tmp_path / "only-blank.pdf", ORRIN, {}, mtime=2000)
    got, _ = read(tmp_path)
    counted, replaced = report.latest(got.answers)
    assert counted[FENDON].source == "phone.csv:2"
    assert counted[ORRIN].source == "only-blank.pdf"  # nothing else came: it counts
    assert [(d.source, k.source) for d, k in replaced] == [("later-blank.pdf", "phone.csv:2")]


def test_a_flattened_form_keeping_its_id_is_reported_as_flattened(tmp_path):
    form(tmp_path / "flat.pdf", FENDON, {}, fields=False)
    got, problems = read(tmp_path)
    assert "flattened" in problems["flat.pdf"] and not got.answers


def test_returns_in_subfolders_are_read(tmp_path):
    form(tmp_path / "post" / "april" / "a.pdf", FENDON, {"comments": "deep"})
    got, _ = read(tmp_path)
    assert [a.source for a in got.answers] == ["post/april/a.pdf"]


def test_curly_quotes_match_and_a_near_miss_gets_a_did_you_mean(tmp_path):
    (tmp_path / "phone.csv").write_text(
        "agency,comments\nOrrin Children's Trust,typed straight\nFendon Councl,typo\n",
        encoding="utf-8")
    got, problems = read(tmp_path)
    assert [a.key for a in got.answers] == [ORRIN]
    hint = next(p.hint for p in got.problems.items if p.line == 3)
    assert hint == "did you mean 'Fendon Council'?"


def test_next_topics_rank_by_indicator_number():
    answers = {f"k{i}": returns.Answer(f"k{i}", "x", (i,), "form", {"next_indicator": text})
               for i, text in enumerate(["NI 19", "NI 19 (re-offending)",
                                         "ni19 re-offending", "Youth justice"])}
    keys = {k: SimpleNamespace(agency=k) for k in answers}
    result = report.tally(MAILING, keys, answers, (Question("next_indicator", "text", "?"),),
                          0)
    assert result.topics == [("NI 19", 3), ("Youth justice", 1)]


def test_characters_the_fonts_lack_are_shown_as_code_points(tmp_path):
    from press.errors import Problems
    from press.project import Project

    project = Project(Path(__file__).resolve().parents[1])
    answer = returns.Answer(FENDON, "emoji.pdf", (1,), "form",
                            {"comments": "Great \U0001F600 \u4f60\u597d café", "role": None})
    problems = Problems()
    shown = report.fitted_to_fonts(project, {FENDON: answer}, tmp_path, problems)
    assert shown[FENDON].values["comments"] == "Great [U+1F600] [U+4F60][U+597D] café"
    assert answer.values["comments"].startswith("Great \U0001F600")  # the CSV keeps it
    assert [p.path.name for p in problems.items] == ["emoji.pdf"]


def test_clean_text():
    assert untrusted.clean_text("a\x00b\r\nc\u2028d\ud800e\u00ad\u200df") == "a b\nc\nde\u200df"


def test_recipients_whose_form_keys_collide_are_refused(tmp_path):
    from press.errors import ContentError
    from press.products.mailing.recipients import read_recipients

    path = tmp_path / "r.csv"
    path.write_text("agency,link_officer,address_1,town,postcode\n"
                    "Fendon & Vale Council,A B,1 Road,FENDON,XA1 1AA\n"
                    "Fendon Vale Council,C D,2 Road,FENDON,XA1 1AB\n", encoding="utf-8")
    with pytest.raises(ContentError) as failed:
        read_recipients(path)
    problem = failed.value.problems[0]
    assert problem.line == 3 and "too like 'Fendon & Vale Council' (row 2)" in problem.message


def test_a_question_named_like_a_csv_column_is_refused_at_its_line(tmp_path):
    from press.errors import ContentError
    from press.products.mailing.questions import load_questions

    (tmp_path / "x.feedback.yaml").write_text(
        "questions:\n  - name: heard_from\n    kind: text\n    label: Who?\n"
        "  - name: source\n    kind: text\n    label: Where from?\n", encoding="utf-8")
    with pytest.raises(ContentError) as failed:
        load_questions(tmp_path, "x")
    problem = failed.value.problems[0]
    assert "'source' cannot be a question name" in problem.message and problem.line == 5


# -- the preview (items 7 and 9) ---------------------------------------------------------------

def test_a_long_path_segment_is_a_404(tmp_path):
    from http import HTTPStatus

    from press.preview import server

    preview = SimpleNamespace(folder=tmp_path)
    for target in ("/files/" + "a" * 300 + ".png", "/files/x/" + "é" * 200 + "/y.pdf",
                   "/b/" + "s" * 5000 + "/"):
        if target.startswith("/b/"):
            preview.view = lambda slug: None
        assert server.respond(preview, target).status == HTTPStatus.NOT_FOUND


def test_events_remember_only_known_slugs(tmp_path):
    import threading

    from press.preview.state import Preview

    state = Preview.__new__(Preview)  # just the queue's bookkeeping, no project
    state._lock = threading.Lock()
    state.views = {"known": object()}
    state._viewed = {}
    for n in range(10_000):
        state.viewing(f"hostile-{n}")
    state.viewing("known")
    assert list(state._viewed) == ["known"]


def test_pypdf_repairs_are_a_warning_naming_the_return(tmp_path, caplog):
    path = form(tmp_path / "damaged.pdf", FENDON, {"comments": "still readable"})
    data = path.read_bytes()
    at = data.rindex(b"startxref")
    path.write_bytes(data[:at] + b"startxref\n12\n%%EOF\n")  # a wrong cross-reference offset
    with caplog.at_level("DEBUG", logger="pypdf"):
        got, problems = read(tmp_path)
    assert [a.values["comments"] for a in got.answers] == ["still readable"]
    assert "the PDF is damaged (pypdf: " in problems["damaged.pdf"]
    assert not [r for r in caplog.records if r.name.startswith("pypdf")]


def test_a_return_that_takes_too_long_is_left_out(tmp_path, monkeypatch):
    form(tmp_path / "slow.pdf", FENDON, {"comments": "x"})
    monkeypatch.setenv("PRESS_TIME_LIMIT_RETURNS", "0.2")
    monkeypatch.setenv("PRESS_TEST_STALL_RETURNS", "5")
    got, problems = read(tmp_path)
    assert "did not finish within 0.2 s" in problems["slow.pdf"] and got.left_out == 1


def test_a_broken_link_among_the_returns(tmp_path):
    (tmp_path / "gone.pdf").symlink_to(tmp_path / "nowhere.pdf")
    got, problems = read(tmp_path)
    assert "cannot be read" in problems["gone.pdf"] and got.left_out == 1
