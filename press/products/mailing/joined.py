"""Mailing stage, letters in batches: each batch of letters laid out by a worker, every letter
written as its own PDF/X-4, then joined in mailing order into letters.pdf (pypdf).

A letter's PDF is made from its own pages only (a fresh WeasyPrint document of those pages,
so its fonts hold its own glyphs), which makes it the same bytes whichever batch laid it
out; the join then sees the same parts in the same order, so letters.pdf is the same bytes
for any batch size and number of workers. The join merges the letters' font subsets into
one program per face and stores their shared resources (the output intent's profile) once.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pypdf import PdfReader
from pypdf.generic import ArrayObject, ByteStringObject, IndirectObject

from press.core import output, parallel
from press.pdf import compact, fontmerge
from press.pdf import merge as pdfmerge
from press.pdf.merge import Segment
from press.products.mailing.letters import render_letters, write_letters
from press.products.mailing.model import Mailing, Placement, Say
from press.project import Project

BATCH = 100  # letters a task: one layout pass each
PRELOAD = ("weasyprint", "pypdf", "press.products.mailing.joined")


@dataclasses.dataclass(frozen=True)
class Part:
    """One letter written on its own: its PDF (a file: a PDF/X carries its output profile, a
    quarter of a megabyte, which a thousand letters should not hold in memory), and where it
    landed (pages from 1)."""

    pdf: str  # "" without pages
    placement: Placement


def letter_batch(project: Project, mailing: Mailing, first: int, count: int, folder: str,
                 fork_beside: bool = False) -> list[Part]:
    """Lay out letters ``first`` to ``first + count - 1`` and write each as its own PDF into
    ``folder``. (A top-level function: the pool's workers call it.)"""
    from press.render.typeset import Typeset

    laid_out, placements = render_letters(project, mailing, first, count)
    pages = laid_out.document.pages
    parts = []
    for number, placement in enumerate(placements, first):
        start = placement.first_page - 1
        path = ""
        if placement.pages:  # no pages: no address either, which check_placements reports
            own = Typeset(laid_out.document.copy(pages[start:start + placement.pages]),
                          source=laid_out.source)
            path = str(Path(folder) / f"letter-{number:06d}.pdf")
            Path(path).write_bytes(write_letters(project, mailing, own))
        parts.append(Part(path, dataclasses.replace(placement, first_page=1)))
    return parts


def letters_in_batches(project: Project, mailing: Mailing, folder: Path, *, jobs: int = 0,
                       size: int = BATCH, say: Say = print,
                       beside: Callable[[], None] | None = None) -> list[Part]:
    """Every letter into ``folder``, ``size`` a task on ``jobs`` workers (0: every core), in
    mailing order; ``beside`` runs here meanwhile."""
    total = len(mailing.recipients)
    size = max(1, size)
    tasks: list[tuple[str, tuple[Any, ...]]] = [
        (f"{first:08d}", (project, mailing, first, min(size, total - first + 1), str(folder)))
        for first in range(1, total + 1, size)]
    done = 0

    def progress(name: str, parts: list[Part]) -> None:
        nonlocal done
        done += len(parts)
        if len(tasks) > 1:
            say(f"mailing: {done:,} of {total:,} letters laid out")

    results = parallel.run(letter_batch, tasks, jobs, preload=PRELOAD, on_done=progress,
                           beside=beside)
    return [part for name in sorted(results) for part in results[name]]


def numbered(parts: list[Part]) -> list[Placement]:
    """Where each letter lands in letters.pdf (its first page there; 0: it has none)."""
    placements, page = [], 1
    for part in parts:
        pages = part.placement.pages
        placements.append(dataclasses.replace(part.placement, first_page=page if pages else 0))
        page += pages
    return placements


JOIN_CHUNK = 100  # letters joined (their fonts merged) at a time; a constant: see join


def join(mailing: Mailing, parts: list[Part]) -> bytes:
    """letters.pdf from the letters' own PDFs, one bookmark per letter as each had.

    Letters are joined a hundred at a time and those joins joined: merging the font subsets
    of every letter at once holds them all parsed (0.7 MB a letter). The chunks are counted
    in letters, not batches, so the bytes do not depend on the batch size."""
    files = [part.pdf for part in parts if part.pdf]
    chunks = [_join(mailing, files[start:start + JOIN_CHUNK])
              for start in range(0, len(files), JOIN_CHUNK)]
    data = chunks[0] if len(chunks) == 1 else _join(mailing, [io.BytesIO(c) for c in chunks])
    output.check_pdf(data)
    return data


def _join(mailing: Mailing, sources: list[Any]) -> bytes:
    """The PDFs ``sources`` (paths or streams) joined in order, their flat bookmarks kept, the
    first one's catalog (output intent, metadata), fonts merged per face, profiles once."""
    writer = compact.PackingWriter()
    catalog = False
    profiles: dict[bytes, int] = {}  # an ICC profile's digest → its object in the writer
    for source in sources:  # one read at a time: its pages copied, the reader dropped
        reader = PdfReader(source)
        segment = Segment(reader, list(range(len(reader.pages))), "part")
        # pypdf keeps every reader it copied from (and what it copied) for later copies: a
        # source's own entries are made here, its profile pointed at the one copied already,
        # and dropped after, so memory holds each profile once and no reader
        translated = writer._id_translated.setdefault(id(reader), {"PreventGC": reader})
        found = {ref.idnum: hashlib.sha256(ref.get_object()._data).digest()
                 for ref in _profiles(reader)}
        translated.update({idnum: profiles[digest] for idnum, digest in found.items()
                           if digest in profiles})
        pdfmerge.copy_pages(writer, [segment])
        items: Any = reader.outline  # (pypdf: nested lists of Destinations)
        for item in items:
            if not isinstance(item, list):
                index = reader.get_destination_page_number(item) or 0
                writer.add_outline_item(title=str(item.title),
                                        page_number=segment.first + index)
        if not catalog:  # every letter's catalog is the same: the first one's is kept
            pdfmerge.catalog(writer, reader, tagged=False)
            catalog = True
        for idnum, digest in found.items():
            if idnum in translated:
                profiles.setdefault(digest, translated[idnum])
        del writer._id_translated[id(reader)]
    fontmerge.merge_font_subsets(writer)  # one font program per face, not one per letter
    compact.store_once(writer)
    # the identifier each letter has (WeasyPrint's pdf_identifier): one document, letters.pdf
    writer._ID = ArrayObject([ByteStringObject(output.identifier(
        f"{mailing.id}/letters", "print"))] * 2)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def _profiles(reader: PdfReader) -> list[Any]:
    """The ICC profile streams (``[/ICCBased ref]`` colour spaces) the pages' resources name:
    a PDF/X's output profile, a quarter of a megabyte in every letter."""
    found = []
    for page in reader.pages:
        resources: Any = page.get("/Resources")
        spaces = resources.get_object().get("/ColorSpace") if resources is not None else None
        for space in (spaces.get_object().values() if spaces is not None else ()):
            space = space.get_object()
            if isinstance(space, list) and len(space) == 2 and space[0] == "/ICCBased" \
                    and isinstance(space[1], IndirectObject):
                found.append(space[1])
    return found
