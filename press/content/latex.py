"""Load stage helper: the LaTeX of a BibTeX text field → Unicode (never a URL or a DOI: the BibTeX
reader keeps those verbatim). pylatexenc does accents and commands; the rest is done here,
because pylatexenc drops macros it does not know (``\\TeX``) and reads TeX quotes as accents."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported where it is used: building the converter is slow
    from pylatexenc.latex2text import LatexNodes2Text

_NEEDS_LATEX = re.compile(r"[\\$]")  # commands and maths; braces, dashes, quotes are done here
# escaped specials stand in as private-use characters while pylatexenc runs (a plain % would
# start a comment there, a plain & an alignment)
_ESCAPED = {"\\~{}": "~", "\\^{}": "^", "\\&": "&", "\\%": "%", "\\$": "$", "\\#": "#",
            "\\_": "_", "\\{": "{", "\\}": "}"}
_HELD = {escaped: chr(0xE000 + i) for i, escaped in enumerate(_ESCAPED)}
# macros pylatexenc does not know (or turns into nothing), by their printed text
_MACROS = {"TeX": "TeX", "LaTeX": "LaTeX", "LaTeXe": "LaTeX2e", "BibTeX": "BibTeX",
           "XeTeX": "XeTeX", "LuaTeX": "LuaTeX", "ConTeXt": "ConTeXt", "ldots": "…",
           "dots": "…", "textendash": "–", "textemdash": "—", "slash": "/",
           "textquoteright": "’", "textquoteleft": "‘", "-": "", "textbackslash": "\\"}
# macros whose argument is the text (font commands with no CSL markup, boxes)
_WRAPPERS = ("textup", "textsf", "texttt", "textrm", "textnormal", "mkbibacro", "mbox", "hbox",
             "url", "nolinkurl", "NoCaseChange", "MakeUppercase", "uppercase", "lowercase",
             "MakeLowercase")
# macros that become CSL-JSON's rich text (italics, bold, small capitals, super/subscript):
# the style keeps them (an italic word in a title prints upright inside an italic title)
_RICH = {"emph": "i", "textit": "i", "mkbibemph": "i", "mkbibitalic": "i", "textsl": "i",
         "textbf": "b", "mkbibbold": "b", "textsc": "sc", "textsuperscript": "sup",
         "mkbibsuperscript": "sup", "textsubscript": "sub", "mkbibsubscript": "sub"}
_TAGS = {"i": ("<i>", "</i>"), "b": ("<b>", "</b>"), "sup": ("<sup>", "</sup>"),
         "sub": ("<sub>", "</sub>"), "sc": ('<span style="font-variant:small-caps;">', "</span>")}
_MARK = {tag: (chr(0xE100 + 2 * i), chr(0xE101 + 2 * i)) for i, tag in enumerate(_TAGS)}
_latex2text: LatexNodes2Text | None = None


def _quotes(text: str) -> str:
    """TeX quotes: ````x''`` → “x”, ```x'`` → ‘x’ (not the accents ``\\'`` and ``\\```)."""
    text = re.sub(r"(?<!\\)``", "“", text)
    text = re.sub(r"(?<!\\)''", "”", text)
    text = re.sub(r"(?<![\\\w])`", "‘", text)
    return re.sub(r"(?<![\\])'", "’", text)


def _around(value: str, macros: Iterable[str], marks: Callable[[str], tuple[str, str]]
            ) -> str:
    """``\\macro{x}`` → ``<open>x<close>``, the closing mark after the matching brace;
    ``marks(name)`` gives the two marks."""
    pattern = re.compile(r"\\(" + "|".join(macros) + r")\s*\{")
    while (found := pattern.search(value)):
        depth, end = 1, found.end()
        while end < len(value) and depth:
            depth += {"{": 1, "}": -1}.get(value[end], 0)
            end += 1
        start, close = marks(found.group(1))
        value = f"{value[:found.start()]}{start}{value[found.end():end - 1]}{close}{value[end:]}"
    return value


def _quoted(value: str) -> str:
    """``\\mkbibquote{x}`` (and ``\\enquote``) → “x”; ``\\emph{x}`` → a mark for ``<i>x</i>``."""
    value = _around(value, ("mkbibquote", "enquote", "mkbibdquote"), lambda _: ("“", "”"))
    return _around(value, _RICH, lambda name: _MARK[_RICH[name]])


def text(value: str) -> str:
    """``{\\"o}`` → ö, ``--`` → –, ``~`` → a no-break space, braces dropped, ``\\&`` → &."""
    value = str(value or "")
    if not _NEEDS_LATEX.search(value):  # most fields: skip pylatexenc (~1 ms a call)
        value = _quotes(value).replace("---", "—").replace("--", "–").replace("~", "\u00a0")
        return re.sub(r"[ \t\n]+", " ", value.replace("{", "").replace("}", "")).strip()
    for escaped, held in _HELD.items():
        value = value.replace(escaped, held)
    value = re.sub(r"\\(" + "|".join(_MACROS) + r")(?![A-Za-z])(?:\{\})?",
                   lambda m: _MACROS[m.group(1)], value)
    value = re.sub(r"\\(?:hyphen|hyp)(?![A-Za-z])\s*(?:\{\})?", "-", value)
    value = _quoted(value)
    value = re.sub(r"\\(?:" + "|".join(_WRAPPERS) + r")\s*\{", "{", value)
    value = _quotes(value)
    global _latex2text
    if _latex2text is None:  # building the converter is the slow part: once per process
        from pylatexenc.latex2text import LatexNodes2Text

        _latex2text = LatexNodes2Text(math_mode="text", strict_latex_spaces=True)
    out = _latex2text.latex_to_text(value)
    for escaped, plain in _ESCAPED.items():
        out = out.replace(_HELD[escaped], plain)
    for tag, (start, end) in _MARK.items():
        out = out.replace(start, _TAGS[tag][0]).replace(end, _TAGS[tag][1])
    return re.sub(r"[ \t\n]+", " ", out).strip()
