"""One edition of a bundle (assemble stage): its own pages and its briefings' PDFs merged
into one PDF with pypdf, and what the web edition brings for the shop (sample, thumbnails).

The stage (:mod:`press.products.bundles`) imports this module only when a bundle is
assembled, so that a build with nothing to assemble imports no pypdf and no WeasyPrint.
"""

from __future__ import annotations

import hashlib
import io
import json

from pypdf import PdfReader
from pypdf.errors import PyPdfError
from pypdf.generic import ArrayObject, ByteStringObject

from press.core import freshness, output
from press.errors import ContentError, Problem
from press.pdf import compact, fontmerge, structure
from press.pdf import merge as pdfmerge
from press.pdf.merge import Segment
from press.products.bundles import sample as bundle_sample
from press.products.bundles.model import BUNDLE_CODE, Bundle, Made, PartFile, Plan, Sizes
from press.products.bundles.pages import anchor, own_pages
from press.project import Project
from press.render import preflight, thumbnail
from press.render.thumbnail import THUMB_WIDTHS


def make(project: Project, bundle: Bundle, early: dict[tuple[str, str], PartFile],
         edition: str) -> Made:
    """One edition of a bundle, with what the web edition brings for the shop:
    {"sample", "cover", "cover@2x": bytes}. ``early``: parts already read."""
    try:
        parts = [early.get((b.slug, edition)) or PartFile.of(project, b.slug, edition)
                 for b in bundle.briefings]
        own, the_plan, own_layout = own_pages(project, bundle, edition,
                                              tuple(len(p.pages) for p in parts))
        data = merge(bundle, edition, own, the_plan, parts)
    except (PyPdfError, OSError) as exc:  # a damaged or vanished briefing PDF
        raise ContentError.at(bundle.path, None, f"cannot merge the {edition} PDFs: {exc}",
                              "rebuild them: build.py briefing SLUG --force") from None
    report_json, derived = "", dict[str, bytes]()
    if edition == "web":
        derived = {"sample": bundle_sample.write(project, bundle, the_plan, parts, own_layout),
                   **_covers(project, bundle, own)}
    if edition == "print":  # the printer's checks, as for a briefing: boxes, fonts, intent
        report = preflight.check(data, [], booklet=bundle.series.booklet)
        report["source"] = str(bundle.path.relative_to(project.root))
        if report["blocking"]:
            raise ContentError([Problem(bundle.path, None, f"print preflight: {message}")
                                for message in report["blocking"]])
        report_json = json.dumps(report, indent=2, sort_keys=True) + "\n"
    sizes = Sizes(len(data), sum(p.path.stat().st_size for p in parts), len(own))
    return Made(data, the_plan.total, sizes, report_json, derived)


def _covers(project: Project, bundle: Bundle, own: bytes) -> dict[str, bytes]:
    """The cover thumbnails, drawn from the bundle's own pages (their first page is the cover:
    the same pixels as in the merged PDF) and kept in a ``DerivedStore`` while those pages are
    unchanged, as they are after most edits inside a briefing."""
    key = freshness.digest(freshness.FORMAT, freshness.versions(),
                           freshness.code_key(BUNDLE_CODE), hashlib.sha256(own).hexdigest())
    store = freshness.DerivedStore(project, "bundle-covers")
    suffixes = [f".{role}.png" for role in THUMB_WIDTHS]
    cached = store.get(bundle.id, key, *suffixes)
    if cached is not None:
        return dict(zip(THUMB_WIDTHS, cached, strict=True))
    made = thumbnail.covers(own)
    store.put(bundle.id, key, {f".{role}.png": png for role, png in made.items()})
    return made


def merge(bundle: Bundle, edition: str, own: bytes, the_plan: Plan,
          parts: list[PartFile]) -> bytes:
    """Copy the bundle's own pages and the briefings' pages into one PDF."""
    own_reader = PdfReader(io.BytesIO(own))
    readers = [part.reader or PdfReader(part.path) for part in parts]
    segments = _segments(bundle, the_plan, own_reader, readers, parts)
    writer = compact.PackingWriter()
    tagged = edition == "web"
    placed = pdfmerge.copy_pages(writer, segments)
    targets = {anchor(bundle, b): s for b, s in zip(bundle.briefings, (
        s for s in segments if s.kind == "part"), strict=True)}
    pdfmerge.named_destinations(writer, segments, targets, bundle.path)
    pdfmerge.outline(writer, bundle.title, segments)
    pdfmerge.page_labels(writer, the_plan.front)
    pdfmerge.catalog(writer, own_reader, tagged)
    if tagged:
        structure.merge_structure(writer, segments, placed, bundle.path)
    fontmerge.merge_font_subsets(writer)  # one font program per face, not one per briefing
    compact.store_once(writer)
    writer._ID = ArrayObject([ByteStringObject(output.identifier(
        bundle.series.id, "bundle", bundle.id, edition))] * 2)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def _segments(bundle: Bundle, the_plan: Plan, own_reader: PdfReader, readers: list[PdfReader],
              parts: list[PartFile]) -> list[Segment]:
    own_count = len(own_reader.pages)
    blanks = iter(range(the_plan.front, own_count - 1))
    segments = [Segment(own_reader, list(range(the_plan.front)), "front")]
    for briefing, reader, part, pad in zip(bundle.briefings, readers, parts, the_plan.pads,
                                           strict=True):
        if pad:
            segments.append(Segment(own_reader, [next(blanks) for _ in range(pad)], "blank"))
        segments.append(Segment(reader, list(part.pages), "part", briefing.slug,
                                f"{briefing.indicator.code}: {briefing.title}"))
    if the_plan.pad_end:
        segments.append(Segment(own_reader, [next(blanks) for _ in range(the_plan.pad_end)],
                                "blank"))
    segments.append(Segment(own_reader, [own_count - 1], "back"))
    return segments
