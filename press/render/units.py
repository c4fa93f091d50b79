"""Units: the paper sizes and unit conversions shared by the typeset, preflight and mailing
stages (one definition of A4 and of the bleed)."""

from __future__ import annotations

MM = 72 / 25.4  # PDF points per millimetre
CSS_PX_PER_MM = 96 / 25.4
MM_PER_PX = 25.4 / 96  # WeasyPrint lays out in CSS pixels
MM_PER_PT = 25.4 / 72

A4 = (210, 297)  # trim, mm
A4_PT = (595.276, 841.890)  # trim, PDF points (as preflight compares them)
BLEED_MM = 3.0
BLEED_PT = BLEED_MM * 72 / 25.4

PAPER_SIZES = {A4: "A4", (148, 210): "A5", (297, 420): "A3", (105, 148): "A6"}
