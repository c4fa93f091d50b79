"""CSV safety: CSV text that a spreadsheet shows as data, never runs as a formula."""

from __future__ import annotations

import csv
import io

# A cell starting with one of these is a formula (or a DDE call) to Excel, LibreOffice and
# Google Sheets; a leading apostrophe makes them show it as text.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def cell(value) -> str:
    text = "" if value is None else str(value)
    text = "'" + text if text.startswith(FORMULA_START) else text
    # csv quotes a field holding "\n" (our line end) but not a lone "\r", which readers
    # then take for a line end: write every line break as "\n".
    return text.replace("\r\n", "\n").replace("\r", "\n")


def write(header, rows) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([cell(h) for h in header])
    for row in rows:
        writer.writerow([cell(v) for v in row])
    return buffer.getvalue()
