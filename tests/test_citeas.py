"""Layout stage helper, "cite this": the suggested citation and the citation files, from one
record; odd characters survive each format (read back by the project's own readers)."""

from __future__ import annotations

from press.briefing.citeas import Person, Work, bibtex, csl_json, meta_tags, ris, suggested
from press.content import bibliography


def make(**changes):
    fields = dict(id="ni-099-test", kind="briefing", title="Costs & benefits: 50% of {cases}",
                  subtitle="", authors=(Person.parse("Ann Mary Author"),
                                        Person.parse("van der Berg, Jo")),
                  published="2010-04", publisher="research in practice", place="Dartington",
                  series="Performance Pointers", number=9, isbn="978-1-904984-25-2",
                  doi="10.5555/x_1", url="https://example.org/p/ni-099-test", language="en-GB",
                  summary="A <summary>.", keywords=("a", "b"))
    fields.update(changes)
    return Work(**fields)


def test_suggested_citation_house_form():
    text = str(suggested(make()))
    assert text == ("Author, A. M. and van der Berg, J. (2010) <cite>Costs &amp; benefits: 50% "
                    "of {cases}</cite> (Dartington: research in practice). doi:10.5555/x_1")
    bundle = str(suggested(make(kind="bundle", number=None, doi="", place="")))
    assert "</cite> (research in practice). ISBN 978-1-904984-25-2." in bundle


def test_each_file_reads_back_with_odd_characters(tmp_path):
    work = make()
    for suffix, text in ((".bib", bibtex(work)), (".ris", ris(work)),
                         (".json", csl_json(work))):
        path = tmp_path / f"cite{suffix}"
        path.write_text(text, encoding="utf-8")
        (ref,), problems = bibliography.read(path)
        assert not [p for p in problems if p.severity == "error"], (suffix, problems)
        assert ref.title == work.title, suffix
        assert [a.family for a in ref.authors] == ["Author", "van der Berg"], suffix
        assert ref.csl["DOI"] == "10.5555/x_1" and ref.year == 2010


def test_meta_tags_are_escaped():
    tags = meta_tags(make(), "https://example.org/f.pdf")
    assert '<meta name="citation_title" content="Costs &amp; benefits: 50% of {cases}">' in tags
    assert '<meta name="citation_pdf_url" content="https://example.org/f.pdf">' in tags
