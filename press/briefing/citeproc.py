"""Cite stage helper: a CSL style run by pandoc's citeproc, the reference CSL processor, once per
briefing: all its citations and its reference records in (a pandoc JSON document), the formatted
citations and the reference list out, as HTML. Results are kept by a hash of the input (style,
records, citations), per process and, for a style in a project's ``layouts/csl/``, in its
``.cache/csl/``: a briefing whose references did not change runs no pandoc again.

Why pandoc: its citeproc is the implementation the CSL test suite is checked against, it reads
every style in Zotero's repository (locators, disambiguation, et-al rules, locales), and
the ``pypandoc-binary`` wheel carries it: no system install. citeproc-py, the pure-Python
alternative, printed visible errors on the shared corpus's library examples.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any, TypeAlias

from press.core import output
from press.errors import ContentError

# pandoc's JSON AST and CSL-JSON records: JSON values, read from json.loads
JsonObject: TypeAlias = dict[str, Any]

MODES = {"normal": "NormalCitation", "suppress-author": "SuppressAuthor",
         "author-in-text": "AuthorInText"}
_cache: dict[str, Formatted] = {}
_binary: str | None = None


class CiteprocMissing(RuntimeError):
    """No pandoc: a setup problem, not the author's (the built-in formatter stands in)."""


@dataclass(frozen=True)
class Cite:
    """One work in a citation: ``[see @key, p. 3]`` → key, prefix ``see``, locator ``p. 3``."""

    key: str
    locator: str = ""
    prefix: str = ""
    mode: str = "normal"


@dataclass(frozen=True)
class Formatted:
    citations: tuple[str, ...]  # one HTML string per cluster, in the order given
    entries: dict[str, str]  # key → the reference list entry's HTML
    order: tuple[str, ...]  # the keys in the style's reference list order


def binary() -> str:
    """The pandoc that ``pypandoc-binary`` installs, else one on the PATH. The package is
    found, not imported: importing pypandoc costs 0.08 s of CPU (urllib and more)."""
    global _binary
    if _binary is not None:
        return _binary
    spec = importlib.util.find_spec("pypandoc")
    if spec is not None and spec.origin:
        bundled = Path(spec.origin).parent / "files" / "pandoc"
        if bundled.exists():
            _binary = str(bundled)
            return _binary
    found = shutil.which("pandoc")
    if found is None:
        raise CiteprocMissing("pandoc is not installed (pip install pypandoc-binary)")
    _binary = found
    return found


def run(records: list[JsonObject], style: Path, clusters: list[list[Cite]],
        lang: str = "en-GB") -> Formatted:
    """Format ``clusters`` (each a list of cites) and the list of ``records`` in ``style``."""
    records = [{k: v for k, v in r.items() if not k.startswith("_")} for r in records]
    style_text = style.read_bytes()
    blocks = [{"t": "Para", "c": [_cite(cluster, i)]} for i, cluster in enumerate(clusters, 1)]
    doc = {"pandoc-api-version": [1, 23, 1], "meta": {
        "lang": {"t": "MetaString", "c": lang},
        "nocite": {"t": "MetaInlines", "c": [_cite([Cite("*")], 0)]}}, "blocks": blocks}
    payload = json.dumps([records, doc], sort_keys=True, ensure_ascii=False)
    program = binary()
    found = Path(program).stat()  # another pandoc may format differently: another key
    key = hashlib.sha256(f"{program}:{found.st_size}:{found.st_mtime_ns}".encode() + style_text
                         + payload.encode()).hexdigest()
    if key in _cache:
        return _cache[key]
    stored = _store(style, key)
    if stored is not None and stored.is_file():
        try:
            data = json.loads(stored.read_text(encoding="utf-8"))
            _cache[key] = Formatted(tuple(data["citations"]), data["entries"],
                                    tuple(data["order"]))
            return _cache[key]
        except (OSError, ValueError, KeyError):
            pass  # a damaged entry: format again and write it anew
    with tempfile.TemporaryDirectory(prefix="press-csl-") as tmp:
        refs = Path(tmp) / "refs.json"
        refs.write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")
        css = Path(tmp) / "style.csl"
        css.write_bytes(style_text)
        try:
            done = subprocess.run(
                [program, "-f", "json", "-t", "json", "--citeproc", f"--bibliography={refs}",
                 f"--csl={css}"], input=json.dumps(doc), capture_output=True, text=True,
                timeout=60, check=False)
        except OSError as exc:  # present but not runnable here
            raise CiteprocMissing(f"pandoc did not run: {exc}") from exc
        except subprocess.TimeoutExpired:
            raise ContentError.at(style, None, "formatting the references in this style did "
                                  "not finish within 60 s", "try another style") from None
    if done.returncode != 0:  # pandoc's message names the style's fault
        raise ContentError.at(style, None, "pandoc could not use this citation style: "
                              + " ".join(done.stderr.split())[:300],
                              "download the style again from https://www.zotero.org/styles")
    out = json.loads(done.stdout)
    citations, entries, order = [], {}, []
    for block in out["blocks"]:
        if block["t"] == "Para":
            citations.append(html(block["c"][0]["c"][1]))
        elif block["t"] == "Div" and block["c"][0][0] == "refs":
            for entry in block["c"][1]:
                ident = entry["c"][0][0].removeprefix("ref-")
                order.append(ident)
                entries[ident] = " ".join(html(b["c"]) for b in entry["c"][1]
                                          if b["t"] in ("Para", "Plain"))
    result = Formatted(tuple(citations), entries, tuple(order))
    _cache[key] = result
    if stored is not None:
        try:
            output.write_text(stored, json.dumps({"citations": citations, "entries": entries,
                                                  "order": order}, ensure_ascii=False))
        except OSError:
            pass  # a read-only project still builds; it formats again next time
    return result


def _store(style: Path, key: str) -> Path | None:
    """``<project>/.cache/csl/<key>.json`` for a style in ``<project>/layouts/csl/``."""
    if style.parent.name != "csl" or style.parent.parent.name != "layouts":
        return None
    return style.parent.parent.parent / ".cache" / "csl" / f"{key}.json"


def _cite(cluster: list[Cite], number: int) -> JsonObject:
    items = []
    for cite in cluster:
        suffix = [{"t": "Str", "c": ","}, {"t": "Space"}, {"t": "Str", "c": cite.locator}] \
            if cite.locator else []
        prefix = [{"t": "Str", "c": cite.prefix}] if cite.prefix else []
        items.append({"citationId": cite.key, "citationPrefix": prefix,
                      "citationSuffix": suffix, "citationMode": {"t": MODES[cite.mode]},
                      "citationNoteNum": number, "citationHash": 0})
    return {"t": "Cite", "c": [items, []]}


_WRAP = {"Strong": "b", "Superscript": "sup", "Subscript": "sub", "Underline": "u"}
_QUOTES = {"SingleQuote": ("‘", "’"), "DoubleQuote": ("“", "”")}


def html(inlines: list[JsonObject], italic: bool = False) -> str:
    """pandoc inlines → HTML: text escaped, links kept byte-exact, italics as ``<i>``; italics
    inside italics print upright (CSL's flip-flop: a species name in a book's title)."""
    out = []
    for node in inlines:
        kind = node["t"]
        content: Any = node.get("c")  # its shape depends on the kind (pandoc's AST)
        if kind == "Str":
            out.append(escape(content, quote=False))
        elif kind in ("Space", "SoftBreak", "LineBreak"):
            out.append(" ")
        elif kind == "Emph":
            out.append(f'<span style="font-style: normal">{html(content)}</span>' if italic
                       else f"<i>{html(content, True)}</i>")
        elif kind in _WRAP:
            out.append(f"<{_WRAP[kind]}>{html(content, italic)}</{_WRAP[kind]}>")
        elif kind == "SmallCaps":
            out.append(f'<span class="smallcaps">{html(content, italic)}</span>')
        elif kind == "Quoted":
            start, end = _QUOTES[content[0]["t"]]
            out.append(f"{start}{html(content[1], italic)}{end}")
        elif kind == "Link":
            out.append(f'<a href="{escape(content[2][0], quote=True)}">'
                       f"{html(content[1], italic)}</a>")
        elif kind in ("Span", "Strikeout"):
            out.append(html(content[1] if kind == "Span" else content, italic))
        elif kind == "Cite":
            out.append(html(content[1], italic))
        elif kind in ("Code", "Math"):
            out.append(escape(content[1], quote=False))
    return "".join(out)
