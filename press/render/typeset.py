"""Typeset stage: an HTML page → a laid-out WeasyPrint document (written as editions by
:mod:`press.render.web` and :mod:`press.render.print`).

A briefing is laid out once; the web and print editions are both written from that one layout:

* web: trimmed A4 (bleed set to zero at write time), RGB, tagged PDF/UA-1;
* print: A4 trim + 3 mm bleed + a slug with crop marks outside the bleed, every colour written
  as CMYK (brand colours from ``layouts/palette.yaml``), PDF/X-4 with a CMYK output intent.
"""

from __future__ import annotations

import hashlib
import logging
import struct
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, BinaryIO, TypeAlias, overload

import weasyprint
from weasyprint.text.fonts import FontConfiguration

from press.core import limits
from press.errors import ContentError, Problem
from press.model import Page
from press.render.fetcher import ProjectFetcher


@dataclass
class Typeset:
    """A laid-out document plus what the typeset stage learnt while making it."""

    document: weasyprint.Document
    served: set[Path] = field(default_factory=set)
    warnings: list[str] = field(default_factory=list)
    source: str = ""  # what the problems of a later write are reported against

    @property
    def page_count(self) -> int:
        return len(self.document.pages)


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.errors: list[str] = []
        self.warnings: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        (self.errors if record.levelno >= logging.ERROR else self.warnings).append(message)


@contextmanager
def captured() -> Iterator[_Capture]:
    """WeasyPrint's log records of the block (``.errors``, ``.warnings``), kept off the
    terminal: the stages turn them into problems."""
    logger = logging.getLogger("weasyprint")
    handler = _Capture()
    logger.addHandler(handler)
    previous = logger.propagate
    logger.propagate = False
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.propagate = previous


def failures(source: str, capture: _Capture, fetcher: ProjectFetcher) -> list[Problem]:
    """The refused resources and WeasyPrint errors of a layout, once each, as problems."""
    messages = list(fetcher.refused)
    for message in capture.errors:
        if not any(refused in message for refused in fetcher.refused):
            messages.append(message.split("\n")[0])
    return [Problem(source, None, m) for m in dict.fromkeys(messages)]


def render(page: Page, project_root: Path, *, tagged: bool = True,
           forms: bool = False) -> Typeset:
    """Lay out ``page``; WeasyPrint's error records and refused resources fail the briefing.

    ``tagged``: with PDF tags (the editions); the mailing's letters and job sheets, which are
    only printed, are laid out without. ``forms``: HTML form fields become PDF form fields
    (a render-time option in WeasyPrint: it switches on its form stylesheet).
    """
    fetcher = ProjectFetcher(project_root)
    try:
        with captured() as capture, limits.time_limit("layout"):
            html = weasyprint.HTML(string=page.html, base_url=page.base_url, url_fetcher=fetcher)
            document = html.render(font_config=FontConfiguration(), pdf_tags=tagged,
                                   pdf_forms=forms)
    except limits.TimeLimitExceeded as exc:
        raise ContentError.at(page.name, None, f"layout did not finish within {exc.seconds:g} s",
                              "split very long tables or lists, or raise "
                              "PRESS_TIME_LIMIT_LAYOUT") from None
    except RecursionError:  # the markdown stage limits nesting; this is the safety net
        raise ContentError.at(page.name, None, "content is nested too deeply to lay out",
                              "flatten nested lists, quotes and HTML") from None
    problems = failures(page.name, capture, fetcher)
    if problems:
        raise ContentError(problems)
    _check_glyphs(document, page.name, project_root, fetcher.served)
    _PROJECT_FONTS.update(_file_identity(path) for path in fetcher.served
                          if path.suffix.lower() in FONT_SUFFIXES)
    return Typeset(document, set(fetcher.served), capture.warnings, page.name)


@overload
def write(typeset: Typeset, target: None, excerpt: bool = False, **options: Any) -> bytes: ...
@overload
def write(typeset: Typeset, target: Path | BinaryIO, excerpt: bool = False,
          **options: Any) -> None: ...
def write(typeset: Typeset, target: Path | BinaryIO | None, excerpt: bool = False,
          **options: Any) -> bytes | None:
    """``write_pdf`` with WeasyPrint's error records (e.g. an SVG that fails to draw, or a link
    to an anchor that does not exist, which WeasyPrint only logs) turned into a failure.

    ``excerpt``: the document is a selection of pages (a shop sample), so links to sections
    left out are expected to dangle (WeasyPrint drops them).
    """
    try:
        # SVGs are drawn here, not in the layout: a <use> fan-out would otherwise never end
        with captured() as capture, limits.time_limit("write"):
            data: bytes | None = typeset.document.write_pdf(target, **options)
    except limits.TimeLimitExceeded as exc:
        raise ContentError.at(typeset.source or "document", None,
                              f"writing the PDF did not finish within {exc.seconds:g} s",
                              "simplify the SVG figures (many nested <use> copies), or raise "
                              "PRESS_TIME_LIMIT_WRITE") from None
    errors = [m for m in capture.errors if not (excerpt and m.startswith("No anchor #"))]
    if errors:
        raise ContentError([Problem(typeset.source or "document", None, message.split("\n")[0])
                            for message in dict.fromkeys(errors)])
    _check_fonts(typeset)
    return data


FONT_SUFFIXES = {".ttf", ".otf"}
# (PostScript name, created, modified, revision), or (sha256,) for a font fontTools can't read
FontIdentity: TypeAlias = tuple[object, ...]
# Fonts the sandboxed fetcher has served in this process: a document made of other documents'
# pages (a shop sample) was laid out from those, so its own ``served`` set may be empty.
_PROJECT_FONTS: set[FontIdentity] = set()


def _check_fonts(typeset: Typeset) -> None:
    """Every font drawn must be one the fetcher served from the project (assets/fonts/). A
    character the house fonts lack (CJK, Hebrew, emoji) or an SVG naming another font would
    otherwise be set in whatever the build machine has installed: output that depends on the
    machine, with no warning."""
    allowed = _PROJECT_FONTS | {_file_identity(path) for path in typeset.served
                                if path.suffix.lower() in FONT_SUFFIXES}
    foreign = sorted({font.family for font in typeset.document.fonts.values()
                      if _identity(font.file_content) not in allowed})
    if foreign:
        raise ContentError.at(typeset.source or "document", None,
                              "some text is set in a font of this computer, not of the project "
                              f"({', '.join(foreign)})",
                              "a character the house fonts do not have (CJK, Hebrew, emoji, "
                              "a rare symbol) or an SVG naming another font: replace it, or "
                              "add a font with it to assets/fonts/ and layouts/fonts.css")


# Characters that draw no glyph of their own: spaces (HarfBuzz makes any Unicode space from the
# font's space), line and paragraph separators, controls and format characters (soft hyphen,
# zero-width joiners, bidi marks), variation selectors.
_NO_GLYPH_CATEGORIES = {"Zs", "Zl", "Zp", "Cc", "Cf"}


def draws_glyph(character: str) -> bool:
    """Whether the character needs a glyph of its own (what :func:`_check_glyphs` checks)."""
    return unicodedata.category(character) not in _NO_GLYPH_CATEGORIES \
        and not 0xFE00 <= ord(character) <= 0xFE0F


def family_cmap(fonts_dir: Path, family: str) -> frozenset[int]:
    """The code points the project's fonts of ``family`` (in ``fonts_dir``) have glyphs for:
    text from outside the press (a returned form) can be fitted to the house fonts before it
    is laid out, instead of failing :func:`_check_glyphs`."""
    covered: set[int] = set()
    for path in sorted(fonts_dir.glob("*")):
        if path.suffix.lower() in FONT_SUFFIXES:
            name, cmap = _cmap_of(path)
            if name.casefold() == family.casefold():
                covered.update(cmap)
    return frozenset(covered)


def _check_glyphs(document: weasyprint.Document, source: str, project_root: Path,
                  served: set[Path]) -> None:
    """Every character of the laid-out text must be in the cmap of a font the project ships
    (those the fetcher served from assets/fonts/). Without a system font that has it, Pango
    draws the house font's empty box (tofu) and nothing warns, so this is checked against the
    project's own fonts, whatever this computer has installed. The problem names the first
    source line holding the character."""
    fonts = sorted(path for path in served if path.suffix.lower() in FONT_SUFFIXES)
    if not fonts:  # a document with no house fonts: _check_fonts says what it was set in
        return
    by_family: dict[str, set[int]] = {}
    for path in fonts:
        family, cmap = _cmap_of(path)
        by_family.setdefault(family.casefold(), set()).update(cmap)
    everything = set().union(*by_family.values())
    used: dict[tuple[str, ...], set[str]] = {}  # the text of each font-family list
    for page in document.pages:
        for box in page._page_box.descendants():
            text = getattr(box, "text", None)
            if text:
                used.setdefault(tuple(box.style["font_family"]), set()).update(text)
    missing: set[str] = set()
    for families, characters in used.items():
        # the house families the CSS names for this text (Pango's fallback to another house
        # family, or to a font of this computer, is not counted: it depends on the machine)
        named = [by_family[f.casefold()] for f in families if f.casefold() in by_family]
        covered = set().union(*named) if named else everything
        missing.update(c for c in characters if ord(c) not in covered and draws_glyph(c))
    if not missing:
        return
    line, ordered = _in_source_order(project_root, source, sorted(missing))
    shown = ", ".join(f"'{c}' (U+{ord(c):04X} {unicodedata.name(c, 'unnamed')})"
                      for c in ordered[:5]) + (f" and {len(ordered) - 5} more"
                                               if len(ordered) > 5 else "")
    raise ContentError.at(source, line, f"the house fonts have no glyph for {shown}",
                          "the page would show an empty box: write the text without it, or "
                          "add a font that has it to assets/fonts/ and layouts/fonts.css")


def _in_source_order(project_root: Path, source: str,
                     characters: list[str]) -> tuple[int | None, list[str]]:
    """The first line of the source file holding one of ``characters`` (None if the text came
    from elsewhere: a bibliography file, a layout), and the characters in the order the source
    has them."""
    path = Path(source)
    if not path.is_absolute():
        path = project_root / path
    try:
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError):
        return None, characters
    where = {c: text.find(c) for c in characters}
    ordered = sorted(characters, key=lambda c: (where[c] < 0, where[c]))
    first = where[ordered[0]]
    return (text.count("\n", 0, first) + 1 if first >= 0 else None), ordered


def _cmap_of(path: Path) -> tuple[str, frozenset[int]]:
    stat = path.stat()
    return _cmap_at(path, stat.st_size, stat.st_mtime)


@lru_cache(maxsize=64)
def _cmap_at(path: Path, size: int, mtime: float) -> tuple[str, frozenset[int]]:
    """A font file's family name (typographic, else legacy: "Lato" for Lato Black too) and the
    code points it maps to glyphs; read once per process."""
    from fontTools.ttLib import TTFont, TTLibError

    logging.getLogger("fontTools.ttLib.tables._h_e_a_d").setLevel(logging.ERROR)
    try:
        with TTFont(path, lazy=True, fontNumber=0) as font:
            family = font["name"].getDebugName(16) or font["name"].getDebugName(1) or ""
            return family, frozenset(font.getBestCmap() or {})
    except (TTLibError, KeyError, ValueError, AssertionError, struct.error, OSError):
        return "", frozenset()


def _identity(data: bytes) -> FontIdentity:
    """A font's identity: its PostScript name and its ``head`` dates and revision. (HarfBuzz
    hands the drawn font back rebuilt from its tables, so its bytes differ from the file's.)"""
    import io

    from fontTools.ttLib import TTFont, TTLibError

    # (fontTools warns about Lato's 'created' date, which is harmless)
    logging.getLogger("fontTools.ttLib.tables._h_e_a_d").setLevel(logging.ERROR)
    try:
        font = TTFont(io.BytesIO(data), lazy=True, fontNumber=0)
        head = font["head"]
        return (font["name"].getDebugName(6), head.created, head.modified, head.fontRevision)
    except (TTLibError, KeyError, ValueError, AssertionError, struct.error):
        return (hashlib.sha256(data).hexdigest(),)


@lru_cache(maxsize=64)
def _identity_at(path: Path, size: int, mtime: float) -> FontIdentity:
    return _identity(path.read_bytes())


def _file_identity(path: Path) -> FontIdentity:
    stat = path.stat()
    return _identity_at(path, stat.st_size, stat.st_mtime)


NOTES_LINES = 28  # ruled lines on a notes page, 8 mm apart


def padding_kinds(count: int) -> list[str]:
    """What the ``count`` pages that pad a booklet before its back cover are: a reader
    understands a Notes page, and one blank (the inside back cover), never a run of blanks."""
    if count <= 1:
        return ["blank"] * max(count, 0)
    return ["notes"] * (count - 1) + ["blank"]


def blank_pages(count: int, project_root: Path, css_url: str,
                kinds: list[str] | None = None) -> list[Any]:
    """``count`` A4 pages with the same bleed, for padding a print booklet: by default as
    :func:`padding_kinds` says (Notes pages, then a blank); ``kinds`` gives each page's kind
    ("notes" or "blank") instead. ``css_url``: the layout's stylesheet (its fonts are used)."""
    if count <= 0:
        return []
    kinds = list(kinds) if kinds is not None else padding_kinds(count)  # (a copy)
    fonts = css_url.rsplit("/", 1)[0] + "/fonts.css"
    rules = "".join('<div class="rule"></div>' for _ in range(NOTES_LINES))
    pages = "".join('<div class="notes"><h2>Notes</h2>' + rules + '</div>' if kind == "notes"
                    else '<div class="blank"></div>' for kind in kinds[:count])
    html = ('<html lang="en-GB"><head><meta charset="utf-8">'
            f'<link rel="stylesheet" href="{fonts}"><style>'
            '@page { size: A4; bleed: 3mm; margin: 24mm 24mm 22mm 24mm } '
            'body { margin: 0; font-family: "Lato"; color: #1f2a30 } '
            '.blank, .notes { break-after: page } .blank { height: 1px } '
            # the house heading: teal, 16 pt black weight, an orange bar above (briefing.css h2)
            '.notes h2 { font: 900 16pt/1.2 "Lato"; color: #00656e; margin: 0 0 2mm; '
            'padding-top: 3mm; position: relative } '
            '.notes h2::before { content: ""; position: absolute; top: 0; left: 0; '
            'width: 14mm; height: 1.4mm; background: #e35d2f } '
            '.rule { height: 8mm; border-bottom: 0.5pt solid #c9d1d5 } '
            '</style></head><body>' + pages + '</body></html>')
    document = weasyprint.HTML(string=html, url_fetcher=ProjectFetcher(project_root)).render()
    pages_drawn: list[Any] = document.pages[:count]  # weasyprint Page objects
    return pages_drawn


Bleeds: TypeAlias = list[dict[str, float]]  # per page, per side ("top", ...): CSS px


def set_bleed(document: weasyprint.Document, value: float) -> Bleeds:
    """Set every page's bleed to ``value`` (CSS px) for one write; returns what to restore."""
    saved = [dict(page.bleed) for page in document.pages]
    for page in document.pages:
        for side in page.bleed:
            page.bleed[side] = value
    return saved


def restore_bleed(document: weasyprint.Document, saved: Bleeds) -> None:
    for page, bleed in zip(document.pages, saved):
        page.bleed.update(bleed)
