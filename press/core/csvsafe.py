"""CSV safety: CSV text that a spreadsheet shows as data, never runs as a formula."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from press.core import output


def cell(value: object) -> str:
    """``output.spreadsheet_safe`` (the one formula guard), and one kind of line break."""
    text = output.spreadsheet_safe(value)
    # csv quotes a field holding "\n" (our line end) but not a lone "\r", which readers
    # then take for a line end: write every line break as "\n".
    return text.replace("\r\n", "\n").replace("\r", "\n")


def write(header: Iterable[object], rows: Iterable[Iterable[object]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([cell(h) for h in header])
    for row in rows:
        writer.writerow([cell(v) for v in row])
    return buffer.getvalue()
