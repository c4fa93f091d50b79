"""The CSL path: pandoc's citeproc runs the house style (layouts/csl/house-harvard.csl) and prints
the sample series' citations and reference lists as the built-in formatter does; another style
changes them; URLs byte-exact. Skipped where pandoc (pypandoc-binary) is not installed."""

from __future__ import annotations

import html
import re
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest
from test_bibliography import (  # the same briefing, bibliography and expectations
    CITED,
    LISTED,
    citations,
    convert,
    entries,
    problems_of,
    write,
)

from press.briefing import cite, citeproc
from press.content import bibliography
from press.content.load import load_all
from press.errors import Problems
from press.project import Project

ROOT = Path(__file__).resolve().parents[1]
HOUSE_FILE = ROOT / "layouts" / "csl" / "house-harvard.csl"
DATA = ROOT / "tests" / "data" / "bibliography"
CORPUS = ROOT.parent / "shared" / "reference-corpus"

@pytest.fixture
def house(tmp_path) -> Path:
    """The house style, copied out of the repository (a style in layouts/csl/ caches its
    results in the project's .cache/, and tests never write into the repository)."""
    path = tmp_path / "house-harvard.csl"
    path.write_bytes(HOUSE_FILE.read_bytes())
    return path


try:
    citeproc.binary()
except citeproc.CiteprocMissing:
    pytest.skip("pandoc is not installed (pypandoc-binary)", allow_module_level=True)


def _text(html: str) -> str:
    return re.sub(r"<[^>]+>", "", html)


def _legacy_list(refs) -> list[str]:
    """The list the built-in formatter prints (the references stripped of their style)."""
    refs = [replace(r, style=None, formatted=None) for r in refs]
    listed = cite.reference_list_html(cite.disambiguate(refs), lambda i: i)
    return [html.unescape(e) for e in re.findall(r'<li id="[^"]+">(.*)</li>', listed)]


# the one change from the built-in formatter, and why
def _justified(text: str) -> str:
    """Titles of articles and chapters in typographic single quotes (‘…’, as the body's
    smart quotes print them), where the built-in formatter wrote straight ones."""
    return html.unescape(text).replace("‘", "'").replace("’", "'")


def test_house_style_prints_the_built_in_formatters_list_and_citations(house):
    refs, problems = bibliography.read(DATA / "refs.bib")
    assert not problems
    clusters = [[citeproc.Cite("meltzer2003")], [citeproc.Cite("goodman1997", "12")],
                [citeproc.Cite("ward2001"), citeproc.Cite("meltzer2003")],
                [citeproc.Cite("ward2001", mode="suppress-author")],
                [citeproc.Cite("goodman1997", "pp. 3-5", "see")],
                [citeproc.Cite("who2009a")], [citeproc.Cite("who2009b")],
                [citeproc.Cite("vanderberg2001", "p. 14", mode="author-in-text")],
                [citeproc.Cite("smithnd")]]
    out = citeproc.run([r.csl for r in refs], house, clusters)
    assert [_text(c) for c in out.citations] == [
        "(Meltzer et al, 2003)", "(Goodman, 1997, p. 12)",
        "(Ward and Skuse, 2001; Meltzer et al, 2003)", "(2001)",
        "(see Goodman, 1997, pp. 3–5)", "(World Health Organization, 2009a)",
        "(World Health Organization, 2009b)", "van der Berg and Müller (2001, p. 14)",
        "(Smith, n.d.)"]
    assert [_justified(out.entries[k]) for k in out.order] == _legacy_list(refs)


def test_house_style_prints_the_sample_series_lists_as_today(project, house):
    problems = Problems()
    _, briefings = load_all(Project.at(project), problems)
    assert briefings
    for briefing in briefings:
        refs = briefing.references
        out = citeproc.run([r.csl for r in refs], house, [])
        assert [_justified(out.entries[k]) for k in out.order] == _legacy_list(refs), \
            briefing.slug


def test_another_style_changes_citations_and_list(tmp_path, house):
    chicago = tmp_path / "chicago.csl"  # pandoc's built-in default style
    chicago.write_bytes(subprocess.run([citeproc.binary(), "--print-default-data-file",
                                        "default.csl"], capture_output=True, check=True).stdout)
    refs, _ = bibliography.read(DATA / "refs.bib")
    clusters = [[citeproc.Cite("goodman1997", "12")], [citeproc.Cite("meltzer2003")]]
    house = citeproc.run([r.csl for r in refs], house, clusters)
    other = citeproc.run([r.csl for r in refs], chicago, clusters)
    assert [_text(c) for c in other.citations] == ["(Goodman 1997, 12)",
                                                   "(Meltzer et al. 2003)"]
    assert other.entries["meltzer2003"] != house.entries["meltzer2003"]
    assert "https://doi.org/10.1111/j.1469-7610.1997.tb01545.x" in other.entries["goodman1997"]


def test_formatted_output_is_kept_in_the_projects_cache(project):
    refs, _ = bibliography.read(DATA / "refs.bib")
    style = project / "layouts" / "csl" / "house-harvard.csl"
    first = citeproc.run([r.csl for r in refs], style, [[citeproc.Cite("ward2001")]])
    [stored] = (project / ".cache" / "csl").glob("*.json")
    citeproc._cache.clear()  # a new process: read from the project's cache, no pandoc
    assert citeproc.run([r.csl for r in refs], style, [[citeproc.Cite("ward2001")]]) == first
    stored.write_text("{damaged")
    citeproc._cache.clear()
    assert citeproc.run([r.csl for r in refs], style, [[citeproc.Cite("ward2001")]]) == first


def test_cite_them_right_on_the_corpus_keeps_urls_byte_exact():
    if not CORPUS.is_dir():
        pytest.skip(f"the shared reference corpus is not at {CORPUS}")
    refs, _ = bibliography.read(CORPUS / "staying-put-afc_bib.bib")
    out = citeproc.run([r.csl for r in refs], CORPUS / "harvard-cite-them-right.csl", [])
    assert len(out.entries) == len(refs)
    for ref in refs:
        if ref.url and not ref.doi:
            assert f'href="{ref.url}"' in out.entries[ref.id].replace("&amp;", "&"), ref.id


# -- the series' csl: through the Markdown stage -------------------------------------------------



@pytest.fixture
def empty(project):
    """The sample project without its briefings."""
    for path in (project / "content" / "briefings").glob("*.md"):
        path.unlink()
    return project


def _use_style(project: Path, name: str) -> None:
    series = project / "content" / "series" / "performance-pointers.yaml"
    series.write_text(series.read_text() + f"csl: {name}\n")


def test_series_csl_house_style_prints_as_the_built_in_formatter(empty):
    _use_style(empty, "house-harvard")
    write(empty, "bibliography: refs.bib\n", files=("refs.bib",))
    body = convert(empty)
    assert citations(body.html) == CITED
    assert entries(body.references_html) == LISTED


def test_series_csl_another_style_changes_citations_and_list(empty, tmp_path):
    chicago = empty / "layouts" / "csl" / "chicago-author-date.csl"
    chicago.write_bytes(subprocess.run([citeproc.binary(), "--print-default-data-file",
                                        "default.csl"], capture_output=True, check=True).stdout)
    _use_style(empty, "chicago-author-date.csl")
    write(empty, "bibliography: refs.bib\n", files=("refs.bib",))
    body = convert(empty)
    found = citations(body.html)
    assert found[:2] == ["(Meltzer et al. 2003)", "(Goodman 1997, 12)"]
    assert found[4] == "Ward and Skuse (2001)"
    listed = entries(body.references_html)
    assert listed[0].startswith("Berg, Anna van der, and Jörg Müller. 2001.")  # its order
    goodman = next(e for e in listed if e.startswith("Goodman, Robert. 1997."))
    assert 'href="https://doi.org/10.1111/j.1469-7610.1997.tb01545.x"' in goodman


def test_unknown_style_is_an_error_with_a_suggestion(empty):
    _use_style(empty, "house-harvad")
    write(empty, "bibliography: refs.bib\n", files=("refs.bib",))
    assert any("performance-pointers.yaml" in p and "no citation style 'house-harvad' in "
               "layouts/csl/ (did you mean 'house-harvard.csl'?)" in p
               for p in problems_of(empty)), problems_of(empty)


@pytest.mark.parametrize("name", ["bath-harvard-examples.json",
                                  "zotero-csl-json-import-test.json"])
def test_our_records_print_as_pandoc_reads_the_file(name, tmp_path):
    """The gate over the corpus's CSL-JSON: every entry formatted in Cite Them Right from our
    record equals pandoc's output from the file itself (``--bibliography`` the export)."""
    if not CORPUS.is_dir():
        pytest.skip(f"the shared reference corpus is not at {CORPUS}")
    source = CORPUS / name
    style = CORPUS / "harvard-cite-them-right.csl"
    refs, problems = bibliography.read(source)
    assert not [p for p in problems if p.severity == "error"]
    ours = citeproc.run([r.csl for r in refs], style, [])
    theirs = subprocess.run(
        [citeproc.binary(), "-f", "markdown", "-t", "json", "--citeproc",
         "-M", "lang=en-GB", f"--bibliography={source}", f"--csl={style}"], input="---\nnocite: '@*'\n---\n",
        capture_output=True, text=True, check=True).stdout
    import json

    expected = {}
    for block in json.loads(theirs)["blocks"]:
        if block["t"] == "Div" and block["c"][0][0] == "refs":
            for entry in block["c"][1]:
                expected[entry["c"][0][0].removeprefix("ref-")] = " ".join(
                    citeproc.html(b["c"]) for b in entry["c"][1])
    assert len(expected) == len(refs)
    assert {r.id: ours.entries[r.id] for r in refs if r.id in expected} == \
        {r.id: expected[r.id] for r in refs if r.id in expected}


def test_small_rules_agree_between_the_house_style_and_the_built_in_formatter(house):
    """One page is ``p.``, a bare locator a page, no second full stop after a title's own ``?``,
    no date of access after a DOI: the built-in formatter and the house CSL agree."""
    from press.content import record

    records = [
        {"id": "one", "type": "article-journal", "title": "Does it work?",
         "author": [{"family": "Ward", "given": "H."}], "issued": {"date-parts": [[2001]]},
         "container-title": "Children and Society", "volume": "15", "page": "12"},
        {"id": "what", "type": "book", "title": "What works?", "publisher": "Sage",
         "author": [{"family": "Smith", "given": "J."}], "issued": {"date-parts": [[2003]]}},
        {"id": "doi", "type": "article-journal", "title": "T", "DOI": "10.1000/x--1",
         "author": [{"family": "Roe", "given": "A."}], "issued": {"date-parts": [[2005]]},
         "accessed": {"date-parts": [[2010, 3, 15]]}, "container-title": "J"}]
    refs = [record.to_reference(r, None, 0) for r in records]
    out = citeproc.run(records, house, [[citeproc.Cite("one", "12")],
                                        [citeproc.Cite("one", "12-14")]])
    built_in = {r.id: html.unescape(cite.entry_html(r)) for r in refs}
    assert {k: _justified(v) for k, v in out.entries.items()} == built_in
    assert "pp." not in built_in["one"] and ", p. 12." in built_in["one"]
    assert built_in["what"].endswith("<i>What works?</i> (Sage).")
    assert "accessed" not in built_in["doi"]
    assert [_text(c) for c in out.citations] == [
        f"({cite.in_text(refs[0], '12')})", f"({cite.in_text(refs[0], '12–14')})"] == [
        "(Ward, 2001, p. 12)", "(Ward, 2001, pp. 12–14)"]


def test_urls_and_dois_are_byte_exact_in_the_pdfs_link_annotations(tmp_path):
    """A Zotero export's URL with ``--`` and ``~`` and a DOI reach the web PDF's links as
    written (the LaTeX decoding once made ``--`` an en dash: dead links in print)."""
    from conftest import copy_project
    from pypdf import PdfReader

    from press.build import pipeline
    from press.build.pipeline import Options

    root = copy_project(tmp_path / "project")
    folder = root / "content" / "briefings"
    url = "https://www.gov.uk/government/statistics/looked-after--2~x?a=1&b=2"
    (folder / "links.bib").write_text(
        "@misc{dfe2015, author = {{Department for Education}}, title = {Children looked "
        f"after -- 2015}}, url = {{{url}}}, urldate = {{2019-05-15}}, year = 2015}}\n"
        "@article{doi2001, AUTHOR = {Ward, H.}, TITLE = {T}, JOURNAL = {J}, YEAR = 2001, "
        "DOI = {10.1000/a--b~c}}\n", encoding="utf-8")
    slug = "ni-062-placement-stability"
    path = folder / f"{slug}.md"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("\n---\n", "\nbibliography: links.bib\n---\n", 1)
                    + "\nSee [@dfe2015] and [@doi2001, 12].\n", encoding="utf-8")
    problems = Problems()
    [result] = pipeline.build(Project.at(root), [slug], Options(editions=("web",)), problems,
                              jobs=1)
    assert result.ok and not problems.errors, result.problems
    links = set()
    for page in PdfReader(result.outputs["web"]).pages:
        for annot in page.get("/Annots") or []:
            action = annot.get_object().get("/A") or {}
            if action.get("/S") == "/URI":
                links.add(str(action["/URI"]))
    assert url in links
    assert "https://doi.org/10.1000/a--b~c" in links


@pytest.mark.parametrize("style, expected", [
    ('<style xmlns="http://purl.org/net/xbiblio/csl" class="in-text" version="1.0"><info>'
     '<link href="http://www.zotero.org/styles/apa" rel="independent-parent"/></info></style>',
     "'x.csl' is a dependent style: it only names its parent, apa (download "
     "http://www.zotero.org/styles/apa into layouts/csl/ and name it)"),
    ('<style xmlns="http://purl.org/net/xbiblio/csl" class="note" version="1.0"/>',
     "'x.csl' is a note style (citations in footnotes)"),
    ("<html>", "citation style 'x.csl' is not readable XML"),
])
def test_unusable_style_is_an_error_at_the_series_file(empty, style, expected):
    (empty / "layouts" / "csl" / "x.csl").write_text(style)
    _use_style(empty, "x")
    write(empty, "bibliography: refs.bib\n", files=("refs.bib",))
    found = problems_of(empty)
    assert any("performance-pointers.yaml:" in p and expected in p for p in found), found


def test_front_matter_takes_csl_types_and_more_fields(empty):
    write(empty, """references:
  - id: freud1900
    type: book
    authors: ["Freud, S."]
    translators: ["Brill, A. A."]
    title: The Interpretation of Dreams
    subtitle: Third Edition
    year: 1913
    publisher: Macmillan
    place: New York
  - id: smith2010
    type: thesis
    genre: PhD thesis
    authors: ["Smith, J."]
    title: Staying put
    publisher: University of Sheffield
    date: 2010-03-15
  - id: dcsf2009
    type: report
    authors: ["Department for Children, Schools and Families"]
    title: Care Matters
    series: Research reports
    year: 2009
""", body="One [@freud1900]. Two [@smith2010]. Three [@dcsf2009].\n")
    body = convert(empty)
    assert citations(body.html) == ["(Freud, 1913)", "(Smith, 2010)",
                                    "(Department for Children, Schools and Families, 2009)"]
    listed = " ".join(entries(body.references_html))
    assert "<i>The Interpretation of Dreams: Third Edition</i>" in listed
    assert "Department for Children, Schools and Families (2009)" in listed


def test_front_matter_type_did_you_mean(empty):
    write(empty, "references:\n  - id: a\n    type: theses\n    authors: [A, B.]\n"
                 "    title: T\n", body="See [@a].\n")
    found = problems_of(empty)
    assert any("reference type must be one of" in p and "did you mean 'thesis'?" in p
               for p in found), found


def test_house_style_prints_translators_genres_series_and_newspaper_dates(house):
    records = [
        {"id": "freud", "type": "book", "title": "The Interpretation of Dreams",
         "author": [{"family": "Freud", "given": "Sigmund"}],
         "translator": [{"family": "Brill", "given": "A. A."}],
         "issued": {"date-parts": [[1913]]}, "publisher": "Macmillan"},
        {"id": "smith", "type": "thesis", "genre": "PhD thesis", "title": "Staying put",
         "author": [{"family": "Smith", "given": "J."}], "issued": {"date-parts": [[2010]]},
         "publisher": "University of Sheffield"},
        {"id": "guardian", "type": "article-newspaper", "title": "Care leavers",
         "author": [{"family": "Butler", "given": "P."}], "container-title": "The Guardian",
         "issued": {"date-parts": [[2014, 5, 1]]}, "page": "3"},
        {"id": "dcsf", "type": "report", "title": "Care Matters",
         "author": [{"literal": "Department for Children, Schools and Families"}],
         "collection-title": "Research reports", "number": "12",
         "issued": {"date-parts": [[2009]]}},
        {"id": "arxiv", "type": "article", "title": "Preprint", "URL":
         "https://arxiv.org/abs/1234.5678", "author": [{"family": "Baez", "given": "J."}],
         "issued": {"date-parts": [[1998]]}}]
    out = citeproc.run(records, house, [])
    assert _text(out.entries["freud"]) == ("Freud, S. (1913) The Interpretation of Dreams, "
                                           "translated by A. A. Brill (Macmillan).")
    assert _text(out.entries["smith"]) == ("Smith, J. (2010) Staying put, PhD thesis "
                                           "(University of Sheffield).")
    assert _text(out.entries["guardian"]) == ("Butler, P. (2014) ‘Care leavers’ The Guardian, "
                                              "1 May 2014, p. 3.")
    assert _text(out.entries["dcsf"]) == ("Department for Children, Schools and Families "
                                          "(2009) Care Matters, Research reports, Report no. "
                                          "12.")
    assert "https://arxiv.org/abs/1234.5678" in out.entries["arxiv"]


def test_series_csl_apa_changes_citations_locators_and_list(empty):
    """The issue's own case: a series that names APA (the Zotero styles repository's file,
    tests/data/csl/) gets APA's in-text forms, locator labels and reference list."""
    apa = Path(__file__).parent / "data" / "csl" / "apa.csl"
    (empty / "layouts" / "csl" / "apa.csl").write_bytes(apa.read_bytes())
    _use_style(empty, "apa.csl")
    write(empty, "bibliography: refs.bib\n", files=("refs.bib",))
    body = convert(empty)
    found = citations(body.html)
    assert found[:2] == ["(Meltzer et al., 2003)", "(Goodman, 1997, p. 12)"], found
    listed = entries(body.references_html)
    goodman = next(e for e in listed if e.startswith("Goodman, R. (1997)."))
    assert 'href="https://doi.org/10.1111/j.1469-7610.1997.tb01545.x"' in goodman
    assert listed != LISTED  # the house style's list of the same works
