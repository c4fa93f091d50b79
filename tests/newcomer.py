"""A newcomer's kind of content added to a copy of the fixture project: a PNG chart and a
JPEG photo (as a newcomer exports them from a spreadsheet and a camera), a page-range
citation and a footnote holding a list (tests/test_plates.py, tests/test_accessibility.py)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

SLUG = "ni-112-under-18-conceptions"
CHART = "newcomer-chart.png"  # 1500×750 px: 127 mm wide at 300 ppi
PHOTO = "newcomer-photo.jpg"  # 1200×800 px
BRAND = ["#00656e", "#e35d2f", "#5fa0a6", "#1f2a30"]


def add(root: Path) -> Path:
    """Add the images and the text to ``root``'s NI 112; returns the briefing's path."""
    figures = root / "assets" / "figures"
    chart = Image.new("RGB", (1500, 750), "white")
    draw = ImageDraw.Draw(chart)
    for i, (height, colour) in enumerate(zip((500, 380, 620, 250), BRAND)):
        draw.rectangle([150 + i * 320, 700 - height, 400 + i * 320, 700], fill=colour)
    draw.line([100, 700, 1450, 700], fill="black", width=4)
    chart.save(figures / CHART, dpi=(300, 300))
    noise = random.Random(1)
    photo = Image.new("RGB", (1200, 800))
    pixels = photo.load()
    for y in range(800):
        for x in range(1200):
            pixels[x, y] = (255 * x // 1200, 120 + 80 * y // 800,
                            (x * y) % 256 // 2 + noise.randrange(60))
    photo.save(figures / PHOTO, quality=90)
    path = root / "content" / "briefings" / f"{SLUG}.md"
    text = path.read_text(encoding="utf-8")
    marker = "Local analysis should go beyond the headline rate."
    assert marker in text
    insert = (f"![Bar chart of four illustrative values.](../../assets/figures/{CHART})\n"
              "Figure: Illustrative values (a PNG chart)\n\n"
              f"![A photograph of a youth centre.](../../assets/figures/{PHOTO})\n"
              "Figure: A youth centre (a JPEG photo)\n\n"
              "Programmes that work share some features [@harden2009, pp. 35-58].[^9]\n\n")
    note = ("\n[^9]: The features most often found:\n\n"
            "    - a named lead in each partner agency\n"
            "    - data shared every quarter\n")
    path.write_text(text.replace(marker, insert + marker, 1).rstrip("\n") + "\n" + note,
                    encoding="utf-8")
    return path


@pytest.fixture(scope="session", name="newcomer_project")
def newcomer_fixture(tmp_path_factory) -> Path:
    """The fixture project with :func:`add`'s content in NI 112, built whole, with the April
    mailing's pack (a test module imports ``newcomer_fixture`` to use ``newcomer_project``)."""
    from conftest import copy_project

    from press.commands import main

    root = copy_project(tmp_path_factory.mktemp("newcomer") / "project")
    add(root)
    assert main(["--project", str(root), "-q"]) == 0
    assert main(["mailing", "2009-04", "--project", str(root), "-q"]) == 0
    return root
