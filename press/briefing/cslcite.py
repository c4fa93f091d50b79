"""Cite stage helper: a briefing's references formatted in its series' CSL style, in one pandoc
run (``briefing.citeproc``), as the pieces ``briefing.cite`` puts each citation together from.

The Markdown converter asks for one citation at a time, so the run formats, for every work,
the three forms of a citation (``[@k]``, ``[-@k]``, ``@k``) and, once, a citation with each
kind of locator (``p. 1``, ``pp. 1-2``, ``ch. 1``, ...), from which the style's locator
labels and their place are read; the reference list comes from the same run, so the letters
that tell works apart (2009a, 2009b) agree between the text and the list.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, replace
from html import unescape
from pathlib import Path

from press.briefing import citeproc
from press.model import Reference

# the locator kinds probed, each as an author writes it and a value to find in the output
PROBES = {"page": ("p. 7", "7"), "pages": ("pp. 7-8", "7–8"), "chapter": ("ch. 7", "7"),
          "section": ("sec. 7", "7"), "paragraph": ("para. 7", "7"), "figure": ("fig. 7", "7"),
          "volume": ("vol. 7", "7"), "line": ("l. 7", "7"), "note": ("n. 7", "7")}
_LABELS = [("pages", r"(?:pp\.?|pages)\s+(.+[-–].+)"), ("page", r"(?:p\.?|pp\.?|pages?)\s+(.+)"),
           ("chapter", r"(?:ch\.?|chap\.?|chapters?)\s+(.+)"),
           ("section", r"(?:sec\.?|sect\.?|sections?|§)\s*(.+)"),
           ("paragraph", r"(?:para\.?|paragraphs?|¶)\s*(.+)"),
           ("figure", r"(?:fig\.?|figures?)\s+(.+)"), ("volume", r"(?:vol\.?|volumes?)\s+(.+)"),
           ("line", r"(?:l\.|ll\.|lines?)\s+(.+)"), ("note", r"(?:n\.|nn\.|notes?)\s+(.+)"),
           ("pages", r"(\d+\s*[-–]\s*\d+)"), ("page", r"(\d+)")]


@dataclass(frozen=True)
class Style:
    """What a style does with any work: the affixes of a citation and its locator templates."""

    prefix: str
    suffix: str
    locators: dict[str, str]  # kind → "{}" template: ", p. {}"

    def locator(self, text: str) -> str:
        """``pp. 3-5`` → ``, pp. 3–5`` in this style (a label it has no probe for: as given)."""
        text = re.sub(r"(?<=\d)\s*(?:-{1,2}|–)\s*(?=\d)", "–", text.strip())
        for kind, pattern in _LABELS:
            found = re.fullmatch(pattern, text, re.I)
            if found and kind in self.locators:
                return self.locators[kind].replace("{}", found.group(1))
        return f", {text}"


@dataclass(frozen=True)
class Forms:
    """One work in the style: ``item`` (``Ward and Skuse, 2001``), ``year`` (``2001``), ``name``
    (``Ward and Skuse``), ``when`` (``(2001)``), its list entry (HTML) and place in the list."""

    item: str
    year: str
    name: str
    when: str
    entry: str
    rank: int
    style: Style


def _affixes(style: Path) -> tuple[str, str]:
    root = ET.parse(style).getroot()
    layout = root.find("{*}citation/{*}layout")
    if layout is None:
        return "", ""
    return layout.get("prefix", ""), layout.get("suffix", "")


def _strip(text: str, prefix: str, suffix: str) -> str:
    if prefix and text.startswith(prefix):
        text = text[len(prefix):]
    if suffix and text.endswith(suffix):
        text = text[: -len(suffix)]
    return text


def _plain(html: str) -> str:
    return unescape(re.sub(r"<[^>]+>", "", html))


def format_all(refs: list[Reference], style: Path) -> list[Reference]:
    """Every reference with its :class:`Forms` in ``style`` (``formatted``), in one run."""
    if not refs:
        return refs
    clusters = []
    for ref in refs:
        clusters += [[citeproc.Cite(ref.id)], [citeproc.Cite(ref.id, mode="suppress-author")],
                     [citeproc.Cite(ref.id, mode="author-in-text")]]
    first = refs[0].id
    clusters += [[citeproc.Cite(first, text)] for text, _ in PROBES.values()]
    out = citeproc.run([r.csl for r in refs], style, clusters)
    prefix, suffix = _affixes(style)
    texts = [_plain(c) for c in out.citations]
    base = texts[0]
    locators = {}
    for kind, probe in zip(PROBES, texts[3 * len(refs):], strict=True):
        value = PROBES[kind][1]
        start = len(_common(base, probe))
        end = min(len(_common(base[::-1], probe[::-1])), len(base) - start)
        inserted = probe[start: len(probe) - end]
        if value in inserted:  # the style printed the locator: keep its label and place
            head, _, tail = inserted.rpartition(value)
            locators[kind] = f"{head}{{}}{tail}"
    shape = Style(prefix, suffix, locators)
    rank = {key: i for i, key in enumerate(out.order)}
    done = []
    for i, ref in enumerate(refs):
        normal, alone, in_text = texts[3 * i: 3 * i + 3]
        year = _strip(alone, prefix, suffix)
        name = in_text[: -len(alone)].rstrip() if in_text.endswith(alone) else \
            _strip(normal, prefix, suffix).removesuffix(year).rstrip(", ")
        forms = Forms(item=_strip(normal, prefix, suffix), year=year, name=name,
                      when=alone if in_text.endswith(alone) else in_text[len(name):].strip(),
                      entry=out.entries.get(ref.id, ""), rank=rank.get(ref.id, len(rank)),
                      style=shape)
        done.append(replace(ref, formatted=forms))
    return done


def _common(a: str, b: str) -> str:
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return a[:n]


def narrative_when(forms: Forms, where: str) -> str:
    """``(2001)`` with a locator: ``(2001, p. 3)`` (the locator before the closing bracket)."""
    if not where:
        return forms.when
    found = re.fullmatch(r"(.*?)([)\]]*)", forms.when, re.S)
    assert found is not None  # (.*?) with re.S matches any text
    return f"{found.group(1)}{forms.style.locator(where)}{found.group(2)}"
