"""The Markdown stage's decisions as they typeset: photos never stretched past their natural
size (at 300 dpi), the figure width option, no one- or two-row table remnants, code in the
monospace font."""

from __future__ import annotations

import re

import pytest
from conftest import copy_project
from conftest import run as tool
from PIL import Image

from press.commands import main

SLUG = "ni-997-typeset-gate"
FRONT = """---
title: Typeset gate
series: performance-pointers
number: 97
indicator:
  code: NI 97
  title: A test indicator
published: "2010-04"
authors:
  - name: Test Author
status: final
summary: Photos, a long table and code.
---

## Figures

![A 600-pixel test photo](../../assets/figures/photo600.png)
Figure: At its natural size

![A 600-pixel test photo](../../assets/figures/photo600.png){width=30%}
Figure: At 30% of the column

Code: `rate = n / women`.

## A long table

"""
ROWS = 47  # 14 rows on the first page, 30 + 3 after (33 + 1 without the widow rule)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = copy_project(tmp_path_factory.mktemp("typeset") / "project")
    Image.new("RGB", (600, 400), (180, 200, 210)).save(root / "assets/figures/photo600.png")
    table = "| Local authority area | Rate |\n|---|--:|\n" + "".join(
        f"| Authority number {i} | {20 + i % 17}.{i % 10} |\n" for i in range(1, ROWS + 1))
    (root / "content/briefings" / f"{SLUG}.md").write_text(
        FRONT + table + "Table: A long table\n\nThe end.\n", encoding="utf-8")
    assert main(["--project", str(root), "-q", "-j", "1", "briefing", SLUG,
                 "--edition", "web"]) == 0
    return root / "output" / "web" / f"{SLUG}.pdf"


def test_photos_natural_size_and_width_option(built):
    rows = [line.split() for line in tool("pdfimages", "-list", built).splitlines()[2:]]
    widths = [int(r[3]) / int(r[12]) * 25.4 for r in rows if r[2] == "image"]  # placed, mm
    assert len(widths) == 2
    assert abs(widths[0] - 600 / 300 * 25.4) < 1.5  # 600 px at 300 dpi: 51 mm, not 152
    assert abs(widths[1] - 0.30 * 152) < 1.5  # 30% of the 152 mm column


def test_no_table_remnants(built):
    pages = tool("pdftotext", "-layout", built, "-").split("\f")
    counts = [len(re.findall(r"Authority number \d+", page)) for page in pages]
    counts = [c for c in counts if c]
    assert sum(counts) == ROWS and len(counts) >= 2, counts
    assert min(counts) >= 3, counts


def test_code_in_monospace(built):
    assert "DejaVu-Sans-Mono" in tool("pdffonts", built)


def test_number_ranges_break_only_at_spaces(tmp_path):
    """Laid out in a narrow column, no line ends at a range's dash, the dash's neighbours
    still break at their spaces, and the copied text has no word joiner in it."""
    import weasyprint

    from press.briefing.markdown import typography

    words = " ".join(f"youth aged {n}–{n + 5} in the years 19{n}–19{n + 9} (Coles 2002, pp. 35–58)"
                     for n in range(10, 40))
    page = ('<html><body style="font: 10pt/1.3 serif; width: 38mm; margin: 0">'
            f"<p>{typography(words)}</p></body></html>")
    pdf = tmp_path / "ranges.pdf"
    weasyprint.HTML(string=page).write_pdf(pdf)
    text = tool("pdftotext", "-layout", pdf, "-")
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    assert len(lines) > 40
    assert not [line for line in lines if line.endswith("–")]
    assert "\u2060" not in text and "14–19" in text
    # (a nowrap span made whole runs unbreakable: lines far shorter than the column)
    assert sum(len(line) for line in lines) / len(lines) > 15
