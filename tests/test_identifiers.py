"""Load stage, identifiers: one ISBN per format (checked by python-stdnum) and DOIs."""

from __future__ import annotations

import pytest

from press.content.load import load_all
from press.core import identifiers
from press.core.fields import Invalid
from press.errors import Problems
from press.project import Project
from tests.test_load import GOOD, write


def load(project):
    problems = Problems()
    _, briefings = load_all(Project.at(project), problems, ["ni-099-test"])
    return briefings, [p.format(project) for p in problems.items]


def test_isbn_per_format_is_read_and_hyphenated_by_the_ranges(project):
    write(project, GOOD.replace("summary: Short summary.",
                                "summary: Short.\nisbn: {print: '9781904984245', "
                                "pdf: 978-1904984252}\ndoi: 10.5555/pp-ni-099"))
    (b,), problems = load(project)
    assert problems == []
    assert (b.isbn, b.isbn_pdf, b.isbn_epub) == ("978-1-904984-24-5", "978-1-904984-25-2", "")
    assert b.doi == "10.5555/pp-ni-099"


def test_single_isbn_is_the_print_one_with_a_warning(project):
    write(project, GOOD.replace("summary: Short summary.", "summary: Short.\n"
                                "isbn: 978-1-904984-24-5"))
    (b,), problems = load(project)
    assert (b.isbn, b.isbn_pdf) == ("978-1-904984-24-5", "")
    (warning,) = problems
    assert "ni-099-test.md:14:" in warning
    assert "print edition's ISBN only" in warning and "one ISBN per format" in warning


@pytest.mark.parametrize("isbn, expected", [
    ("{print: 978-1-904984-24-5, pdf: 978-1-904984-24-5}",
     ":14: 'isbn.pdf' repeats the print ISBN 978-1-904984-24-5"),
    ("{print: 978-1-904984-24-5, pdf: 978-1-904984-25-3}",
     ":14: 'isbn.pdf' 978-1-904984-25-3 is not a valid ISBN-13"),
    ("{print: 978-1-904984-24-5, kindle: 978-1-904984-25-2}",
     ":14: unknown format 'kindle' in 'isbn'"),
    ("1-904984-24-X", ":14: 'isbn' 1-904984-24-X is an ISBN-10 (write it as the ISBN-13"),
])
def test_bad_isbns_are_located(project, isbn, expected):
    write(project, GOOD.replace("summary: Short summary.", f"summary: Short.\nisbn: {isbn}"))
    briefings, problems = load(project)
    assert briefings == []
    assert any(expected in p for p in problems), problems


def test_doi_is_checked_for_syntax_and_the_series_prefix(project):
    series = project / "content" / "series" / "performance-pointers.yaml"
    series.write_text(series.read_text(encoding="utf-8").replace(
        'doi_prefix: "10.5555"', 'doi_prefix: "10.12345"'), encoding="utf-8")
    write(project, GOOD.replace("summary: Short summary.", "summary: Short.\n"
                                "doi: https://doi.org/10.99999/pp-ni-099"))
    _, problems = load(project)
    assert any(":14: 'doi' 10.99999/pp-ni-099 is not under the series' DOI prefix 10.12345" in p
               for p in problems), problems
    write(project, GOOD.replace("summary: Short summary.", "summary: Short.\ndoi: 10.1/x y"))
    _, problems = load(project)
    assert any(":14: 'doi' 10.1/x y is not a DOI" in p for p in problems), problems


def test_identifier_checks_alone():
    assert identifiers.isbn13("978 1 904984 31 3", "isbn") == "978-1-904984-31-3"
    with pytest.raises(Invalid):
        identifiers.isbn13(True, "isbn")
    assert identifiers.doi("doi:10.12345/A.b", "doi", "10.12345") == "10.12345/A.b"
    with pytest.raises(Invalid):
        identifiers.doi_prefix("10.12", "doi_prefix")


def test_sample_series_has_distinct_print_and_pdf_isbns(project):
    problems = Problems()
    _, briefings = load_all(Project.at(project), problems)
    finals = [b for b in briefings if not b.is_draft and b.isbn]
    assert finals and all(b.isbn_pdf and b.isbn_pdf != b.isbn for b in finals)


@pytest.mark.parametrize("value", [{1: 2}, [978], {"print": None}, "\udc80", 3.5, "",
                                   {"pdf": {"x": 1}}, "9" * 40])
def test_odd_isbn_values_are_problems_not_crashes(value):
    with pytest.raises(Invalid):
        identifiers.isbns(value, "isbn")


def test_a_bundle_with_one_isbn_is_checked_with_a_warning(project, capsys):
    from press.commands import main

    path = project / "content" / "bundles" / "performance-pointers-2008-09.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("isbn: {print: 978-1-904984-40-5, pdf: 978-1-904984-41-2}",
                                 "isbn: 978-1-904984-40-5"), encoding="utf-8")
    assert main(["--project", str(project), "check"]) == 0
    out = capsys.readouterr()
    assert "performance-pointers-2008-09.yaml:6: warning: 'isbn' 978-1-904984-40-5 is read " \
        "as the print edition's ISBN only" in out.out + out.err
