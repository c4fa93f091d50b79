"""Web edition stage, last step of the write: what WeasyPrint's PDF/UA-1 tagging leaves out,
added to WeasyPrint's own PDF objects (pydyf) in the write's finisher, before they are
serialised, so that the PDF is written once and never parsed again (re-reading it with pypdf
cost a third of the web edition's write).

Each fix answers a finding of the independent checkers (``outloud``, ``pdfua``; run in
``tests/test_accessibility.py``) or of ISO 14289-1 directly:

* Running heads and folios. WeasyPrint marks margin-box text as ``/Span`` with an MCID whose
  structure element it never links into the tree (tags.py: "could be included in tree as
  Artifact, but that's only allowed in PDF 2.0"), so that text is neither tagged content nor
  an artifact (ISO 14289-1 7.1; Matterhorn 18-001). Every marked-content sequence whose
  ParentTree entry is unreachable from the StructTreeRoot becomes
  ``/Artifact <</Type /Pagination>>`` and its ParentTree slot is emptied.
* Link annotations get a /Contents that a person can read (the link's text, and the page an
  internal link goes to), instead of WeasyPrint's bare fragment id (7.18.5), and the Print
  flag (harmless; outloud asks for it, see the test). A /Link element with no annotation
  left (a shop sample drops links to the sections it leaves out) becomes a /Span.
* Table header cells get /Scope, and the /ID that WeasyPrint gives them is entered in an
  /IDTree (ISO 32000-1 14.7.2: required when elements have IDs; the cells' /Headers name them).
* Automatic hyphens: the hyphen drawn at an automatic break is wrapped in
  ``/Span <</ActualText (U+00AD)>>`` (ISO 32000-1 14.8.2.2.3: an incidental word division is a
  soft hyphen), so a screen reader reads "reduction", while a real hyphen at a line end
  ("under-" / "18") is left alone and copy/search still gives "under-18".
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import pydyf

from press.render import tagging
from press.render.tagging import NULL, Element, Graph


@dataclass
class Report:
    """What :func:`complete` changed (for tests and logging)."""

    artifacts: int = 0
    scopes: int = 0
    ids: int = 0
    links: int = 0
    unlinked: int = 0
    hyphens: list[str] = field(default_factory=list)  # the words whose break became soft


def complete(pdf: pydyf.PDF, source_text: str = "",
             actual_text: dict[tuple[int, int], str] | None = None) -> Report:
    """Complete the tagging of a PDF WeasyPrint is about to write (a finisher's ``pdf``).
    ``source_text``: the document's text as written (its HTML's text), which tells an
    automatic hyphen ("re-" / "duction") from a real one ("under-"). ``actual_text``:
    (page index, MCID) → the text that sequence stands for in extraction and copy (a
    footnote call's " [1]", from :func:`press.render.regroup.regroup`)."""
    report = Report()
    graph = Graph(pdf)
    if "StructTreeRoot" not in pdf.catalog:
        return report
    struct = graph.get(pdf.catalog["StructTreeRoot"])
    reached = {number for number, _ in tagging.elements(graph, struct)}
    parent_tree = dict(tagging.number_tree(graph, struct["ParentTree"]))
    slots = [tagging.page_slots(graph, page, parent_tree) for page in graph.pages]
    pages = _read_pages(graph)
    report.artifacts, edits = _artifacts(graph, pages, slots, reached)
    report.hyphens = _soft_hyphens(pages, _normalised(source_text), edits)
    _actual_texts(pages, actual_text or {}, edits)
    _apply(pages, edits)
    texts = [{m: s.text for m, s in page.sequences.items()} if page else {} for page in pages]
    report.links, report.unlinked = tagging.links(graph, struct, texts)
    report.scopes, report.ids = tagging.tables(graph, struct)
    return report


# -- page content ---------------------------------------------------------------------------------
#
# WeasyPrint writes its content streams one operator per line, text as hex glyph ids of
# Type0/Identity-H fonts in TJ arrays. They are read and rewritten as bytes with the patterns
# below (parsing them with pypdf's ContentStream costs about half a second a page).

_TOKEN = re.compile(
    rb"/(?P<tag>\w+)\n<</MCID (?P<mcid>\d+)>>\nBDC\n"  # start of a tagged sequence
    rb"|(?P<bmc>BMC|BDC)\n"  # start of another marked-content sequence
    rb"|(?P<emc>EMC)\n"
    rb"|/(?P<font>\S+) [\d.]+ Tf\n"
    rb"|\[(?P<tj>[^\]]*)\] TJ\n")
_HEX = re.compile(rb"<([0-9a-fA-F]*)>")


@dataclass
class _Sequence:
    """One tagged marked-content sequence of a page: its text and where its last glyph is."""

    mcid: int
    start: int  # offset of its BDC in the content
    text: str = ""
    # offsets of the hex digits of its last glyph, and of the end of their TJ line
    last_glyph: tuple[int, int, int] | None = None


@dataclass
class _Page:
    content: pydyf.Stream  # the page's content stream
    data: bytes
    sequences: dict[int, _Sequence]


@dataclass(frozen=True, order=True)
class _Edit:
    """Bytes ``start:end`` of a page's content replaced (sorted by where they start)."""

    start: int
    end: int
    replacement: bytes


def _read_pages(graph: Graph) -> list[_Page | None]:
    cmaps: dict[int, dict[bytes, str]] = {}
    pages: list[_Page | None] = []
    for page in graph.pages:
        content = graph.get(page.get("Contents"))
        if not isinstance(content, pydyf.Stream):
            pages.append(None)  # not a WeasyPrint page: left as it is
            continue
        fonts = graph.get(graph.get(page.get("Resources", {})).get("Font", {})) or {}
        data = _stream_data(content)
        pages.append(_Page(content, data, _scan(data, graph, fonts, cmaps)))
    return pages


def _stream_data(stream: pydyf.Stream) -> bytes:
    """A stream's content, uncompressed, as pydyf will write it (one operator a line)."""
    return b"\n".join(pydyf._to_bytes(item) for item in stream.stream)


def _scan(data: bytes, graph: Graph, fonts: Element, cmaps: dict[int, dict[bytes, str]]
          ) -> dict[int, _Sequence]:
    sequences: dict[int, _Sequence] = {}
    stack: list[_Sequence | None] = []
    cmap: dict[bytes, str] = {}
    for match in _TOKEN.finditer(data):
        if match["mcid"] is not None:
            sequence = _Sequence(int(match["mcid"]), match.start())
            sequences[sequence.mcid] = sequence
            stack.append(sequence)
        elif match["bmc"] is not None:
            stack.append(None)
        elif match["emc"] is not None:
            if stack:
                stack.pop()
        elif match["font"] is not None:
            cmap = _cmap(graph, fonts.get(match["font"].decode("latin-1")), cmaps)
        else:
            current = next((s for s in reversed(stack) if s is not None), None)
            if current is None:
                continue
            for hexes in _HEX.finditer(match["tj"]):
                digits = hexes[1]
                for i in range(0, len(digits) - 3, 4):
                    current.text += cmap.get(digits[i:i + 4].lower(), "")
                if len(digits) >= 4:
                    offset = match.start("tj") + hexes.start(1)
                    current.last_glyph = (offset + len(digits) - 4, offset + len(digits),
                                          match.end())
    return sequences


_BFCHAR = re.compile(rb"<([0-9a-fA-F]{4})>\s*<([0-9a-fA-F]+)>")
_BFRANGE = re.compile(rb"<([0-9a-fA-F]{4})>\s*<([0-9a-fA-F]{4})>\s*<([0-9a-fA-F]+)>")


def _cmap(graph: Graph, font: object, cmaps: dict[int, dict[bytes, str]]) -> dict[bytes, str]:
    """Glyph id (4 hex digits, lower case) → text, from a Type0 font's ToUnicode CMap."""
    if font is None:
        return {}
    number = graph.number(font)
    key = number if number is not None else id(font)
    if key not in cmaps:
        resolved = graph.get(font)
        found: dict[bytes, str] = {}
        if resolved.get("Subtype") == "/Type0" and "ToUnicode" in resolved:
            data = _stream_data(graph.get(resolved["ToUnicode"]))
            for section in re.findall(rb"beginbfrange(.*?)endbfrange", data, re.S):
                for low, high, first in _BFRANGE.findall(section):
                    base = int(first, 16)
                    for n, glyph in enumerate(range(int(low, 16), int(high, 16) + 1)):
                        found[b"%04x" % glyph] = chr(base + n)
            for section in re.findall(rb"beginbfchar(.*?)endbfchar", data, re.S):
                for glyph, text in _BFCHAR.findall(section):
                    found[glyph.lower()] = bytes.fromhex(text.decode()).decode("utf-16-be")
        cmaps[key] = found
    return cmaps[key]


def _artifacts(graph: Graph, pages: list[_Page | None], slots_of: list[list[Any] | None],
               reached: set[int]) -> tuple[int, dict[int, list[_Edit]]]:
    """Margin-box sequences → pagination artifacts (edits per page); ParentTree slots emptied."""
    count = 0
    edits: dict[int, list[_Edit]] = {}
    for number, page in enumerate(pages):
        slots = slots_of[number]
        if page is None or slots is None:
            continue
        for mcid in sorted(tagging.orphans(graph, slots, reached)):
            sequence = page.sequences.get(mcid)
            if sequence is None:
                continue
            end = page.data.index(b"BDC\n", sequence.start) + 4
            edits.setdefault(number, []).append(
                _Edit(sequence.start, end, b"/Artifact\n<</Type /Pagination>>\nBDC\n"))
            slots[mcid] = NULL
            del page.sequences[mcid]
            count += 1
    return count, edits


# -- hyphens --------------------------------------------------------------------------------------

_WORD_END = re.compile(r"(\w+)-$")
_WORD_START = re.compile(r"^\s*(\w+)")


def _normalised(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("\u00ad", ""))


def _soft_hyphens(pages: list[_Page | None], source: str, edits: dict[int, list[_Edit]]
                  ) -> list[str]:
    """Put the hyphen of every automatic break in a Span with ActualText U+00AD (edits per
    page); returns the words so broken."""
    sequence = [(number, s) for number, page in enumerate(pages) if page is not None
                for s in sorted(page.sequences.values(), key=lambda s: s.start)]
    words = []
    for (number, current), (_, following) in zip(sequence, sequence[1:]):
        end, start = _WORD_END.search(current.text), _WORD_START.match(following.text)
        if not end or not start or not source or current.last_glyph is None:
            continue
        head, tail = end.group(1), start.group(1)
        if f"{head}-{tail}" in source or f"{head}{tail}" not in source:
            continue  # a real hyphen at the line end, or a break we cannot place
        # "<aaaa hhhh>0] TJ" → "<aaaa> ] TJ /Span <</ActualText (U+00AD)>> BDC [<hhhh>0] TJ EMC"
        first, last, line_end = current.last_glyph
        glyph = _read_page(pages, number).data[first:last]
        edits.setdefault(number, []).extend([
            _Edit(first, last, b"> ] TJ\n/Span\n<</ActualText <FEFF00AD>>>\nBDC\n[<" + glyph),
            _Edit(line_end, line_end, b"EMC\n")])
        words.append(head + tail)
    return words


def _read_page(pages: list[_Page | None], number: int) -> _Page:
    """Page ``number``, which has sequences (only pages read from WeasyPrint have edits)."""
    page = pages[number]
    assert page is not None, f"page {number} has edits but no content read"
    return page


def _actual_texts(pages: list[_Page | None], actual_text: dict[tuple[int, int], str],
                  edits: dict[int, list[_Edit]]) -> None:
    """``<</MCID n>>`` → ``<</MCID n /ActualText <FEFF...>>>`` for each sequence given."""
    for (number, mcid), text in sorted(actual_text.items()):
        page = pages[number] if number < len(pages) else None
        if page is None or mcid not in page.sequences:
            continue
        sequence = page.sequences[mcid]
        head = page.data.index(b">>\nBDC\n", sequence.start)
        edits.setdefault(number, []).append(_Edit(
            head, head,
            b" /ActualText <FEFF" + text.encode("utf-16-be").hex().upper().encode() + b">"))


def _apply(pages: list[_Page | None], edits: dict[int, list[_Edit]]) -> None:
    for number, changes in edits.items():
        page = _read_page(pages, number)
        data, at = page.data, 0
        out: list[bytes] = []
        for edit in sorted(changes):
            out += [data[at:edit.start], edit.replacement]
            at = edit.end
        out.append(data[at:])
        page.content.stream = [b"".join(out)]


