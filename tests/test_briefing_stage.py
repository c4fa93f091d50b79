"""Briefing stage: one layout, two editions written from it (web at screen resolution)."""

from __future__ import annotations

import io

from conftest import copy_project
from PIL import Image
from pypdf import PdfReader

from press.build import pipeline
from press.build.pipeline import Options
from press.errors import Problems
from press.project import Project

SLUG = "ni-112-under-18-conceptions"


def _with_photo(root, pixels=(1800, 960)):
    """Put a PNG with fine detail (so it cannot be stored as a trivial image) in ``SLUG``."""
    image = Image.effect_noise(pixels, 60).convert("RGB")
    image.save(root / "assets" / "figures" / "photo.png")
    path = root / "content" / "briefings" / f"{SLUG}.md"
    text = path.read_text(encoding="utf-8")
    anchor = "Rates of teenage conception are strongly associated with deprivation"
    assert anchor in text
    path.write_text(text.replace(anchor, "![A test photograph of noise.]"
                                 "(../../assets/figures/photo.png)\n\n" + anchor, 1),
                    encoding="utf-8")


def _image_widths(data: bytes) -> set[int]:
    """Pixel widths of the images in a PDF (its pages share one resource dictionary)."""
    widths = set()
    for page in PdfReader(io.BytesIO(data)).pages:
        objects = page["/Resources"].get("/XObject", {})
        widths |= {int(obj.get_object()["/Width"]) for obj in objects.values()
                   if obj.get_object().get("/Subtype") == "/Image"}
    return widths


def test_web_edition_images_are_150_dpi_and_print_keeps_every_pixel(tmp_path):
    root = copy_project(tmp_path / "project")
    _with_photo(root)
    problems = Problems()
    [result] = pipeline.build(Project.at(root), [SLUG], Options(editions=("web", "print")),
                              problems, jobs=1)
    assert result.ok and not problems.errors, result.problems
    # Placed across the text column (about 6 in), 1800 pixels are about 300 dpi.
    [web] = _image_widths(result.outputs["web"].read_bytes())
    [printed] = _image_widths(result.outputs["print"].read_bytes())
    assert printed == 1800
    assert 700 < web < 1000, web
    entry = next(i for i in result.preflight["images"] if i["src"] == "photo.png")
    placed_in = entry["placed_mm"][0] / 25.4
    assert abs(web / placed_in - 150) < 2, web / placed_in
