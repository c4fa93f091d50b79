"""A briefing written from real public text (tests/data/real-briefing/, adapted from an ONS
statistical bulletin and Hansard answers under the Open Government and Open Parliament
Licences) passes `check` clean and typesets as the author meant: notes whole at the foot of
their page, number ranges unbroken, numeric headers over their numbers, no invisible
characters in the text a reader copies."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from conftest import copy_project
from conftest import run as tool
from test_bad_inputs import words_off_the_page

from press.commands import main

SOURCE = Path(__file__).parent / "data" / "real-briefing"
SLUG = "ni-999-under-18-conceptions-2014"


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = copy_project(tmp_path_factory.mktemp("real") / "project")
    shutil.copy(SOURCE / f"{SLUG}.md", root / "content" / "briefings")
    assert main(["--project", str(root), "-q", "check"]) == 0
    assert main(["--project", str(root), "-q", "-j", "1", "briefing", SLUG,
                 "--edition", "web"]) == 0
    pdf = root / "output" / "web" / f"{SLUG}.pdf"
    pages = tool("pdftotext", "-layout", pdf, "-").split("\f")
    return pdf, pages


def test_check_is_clean(tmp_path, capsys):
    root = copy_project(tmp_path / "project")
    shutil.copy(SOURCE / f"{SLUG}.md", root / "content" / "briefings")
    assert main(["--project", str(root), "check"]) == 0
    out = capsys.readouterr()
    assert "warning" not in (out.out + out.err).lower()


def test_text_reads_as_written(built):
    pdf, pages = built
    text = "\n".join(pages)
    assert "\u200b" not in text and "\x02" not in text
    # a soft hyphen only where a word is divided at a line end (the web edition marks automatic
    # hyphens so, ISO 32000-1 14.8.2.2.3, and a screen reader joins the word again)
    assert not re.search("\xad(?!\n)", text)
    assert not re.search(r"\d–\s*\n\s*\d", text), "a number range split over two lines"
    assert words_off_the_page(pdf) == []
    for word in ("recor-", "po-", "expens-"):
        assert word not in text


def test_footnote_with_a_list_is_whole_on_the_page_of_its_call(built):
    _, pages = built
    [page] = [p for p in pages if "Both make the published rates" in p]
    call = page.index("Embryology Act 2008.")
    note = page.index("The two sources are combined record by record")
    assert call < note < page.index("conceptions ending in a miscarriage") < \
        page.index("Both make the published rates")
    body = page[:page.rindex("The two sources are combined")]
    assert "Both make the published rates" not in body


def test_tables_and_figure(built):
    _, pages = built
    text = "\n".join(pages)
    assert "Table 1" in text and "Table 3" in text and "Figure 1" in text
    header = next(line for line in text.splitlines() if "Under 16" in line and "All ages" in line)
    row = next(line for line in text.splitlines() if line.strip().startswith("2014") and
               "871,038" in line)
    assert header.rstrip().endswith("All ages") and row.rstrip().endswith("871,038")
    assert abs(len(header.rstrip()) - len(row.rstrip())) <= 2  # right edges line up
