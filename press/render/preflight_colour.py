"""Preflight stage: the colour checks of a print file — nothing in RGB, and every raster
image's resolution at its printed size."""

from __future__ import annotations

import math
from typing import Any, TypeAlias

from pypdf import PdfReader
from pypdf.generic import IndirectObject

MIN_PPI = 300  # at the printed size: under it a warning
FAIL_PPI = 150  # under it the print edition fails

# the rasters and inks are parts of preflight's JSON report (preflight.Report)
Report: TypeAlias = dict[str, Any]

RGB_SPACES = {"/DeviceRGB", "/CalRGB", "/RGB"}


def colour_space_kind(space: object) -> str:
    """``rgb``, ``cmyk``, ``grey`` or the space's name, for a colour space object."""
    space = space.get_object() if hasattr(space, "get_object") else space
    if isinstance(space, list) and space:
        family = str(space[0])
        if family == "/ICCBased":
            components = int(space[1].get_object().get("/N", 0))
            return {1: "grey", 3: "rgb", 4: "cmyk"}.get(components, family)
        if family == "/Indexed":
            return colour_space_kind(space[1])
        if family in RGB_SPACES:
            return "rgb"
        return family.lstrip("/").lower()
    name = str(space)
    return {"/DeviceRGB": "rgb", "/CalRGB": "rgb", "/RGB": "rgb", "/DeviceCMYK": "cmyk",
            "/CMYK": "cmyk", "/DeviceGray": "grey", "/G": "grey",
            "/CalGray": "grey"}.get(name, name.lstrip("/").lower())


def name_rasters(rasters: list[Report], images: list[Report]) -> list[Report]:
    """The PDF's raster images, named by the layout's image of the same page and pixels."""
    named = []
    for raster in rasters:
        src = next((image["src"] for image in images if image.get("page") == raster["page"]
                    and image.get("pixels") == raster["pixels"]), "")
        named.append({"src": src or f"{raster['pixels'][0]}×{raster['pixels'][1]} px",
                      **raster})
    return named


def needed_pixels(raster: Report) -> str:
    width, height = (math.ceil(mm / 25.4 * MIN_PPI) for mm in raster["printed_mm"])
    return f"{width}×{height}"


def colour_problems(reader: PdfReader, inks: Report, rasters: list[Report]) -> list[str]:
    """Everything in RGB in a print file: colour operators and spaces in the pages, raster
    images, and RGB colour spaces in the resources (a printer's preflight refuses each)."""
    problems = []
    if inks["rgb"]:
        problems.append(f"{inks['rgb']} colours are set in RGB in the pages' content: a print "
                        "file is CMYK only")
    for raster in rasters:
        if raster["colour"] == "rgb":
            problems.append(f"image {raster['src']} on page {raster['page']} is RGB: it must "
                            "be separated to CMYK through the output profile")
    spaces = _resource_spaces(reader)
    if "rgb" in spaces:
        problems.append("an RGB colour space (DeviceRGB, CalRGB or a three-component ICC "
                        "profile) is in the pages' resources")
    return problems


def _resource_spaces(reader: PdfReader) -> set[str]:
    """The kinds of the colour spaces named in the pages' (and their forms') resources."""
    kinds, seen = set(), set()
    stack = [page.get("/Resources") for page in reader.pages]
    while stack:
        resources = stack.pop()
        if resources is None:
            continue
        if isinstance(resources, IndirectObject):
            if resources.idnum in seen:
                continue
            seen.add(resources.idnum)
        resources = resources.get_object()
        for space in (resources.get("/ColorSpace") or {}).values():
            kinds.add(colour_space_kind(space))
        for ref in (resources.get("/XObject") or {}).values():
            obj = ref.get_object()
            if obj.get("/Subtype") == "/Form" and "/Resources" in obj:
                stack.append(obj.raw_get("/Resources"))
            elif obj.get("/Subtype") == "/Image":
                kinds.add(colour_space_kind(obj.get("/ColorSpace", "/DeviceGray")))
    return kinds
