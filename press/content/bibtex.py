"""Load stage helper: BibTeX and biblatex files (``.bib``) into CSL-JSON records, without loss.

bibtexparser 2 splits the file into entries (and reports a malformed one and goes on), with its
``NormalizeFieldKeys`` middleware first so that ``AUTHOR =`` is ``author``. The rest is done
here, in the order biblatex does it: ``@string`` macros and ``#`` concatenation, ``crossref``
and ``xdata`` inheritance, names split into their parts (von, Jr) *before* the LaTeX is
decoded (so ``{Department for Children, Schools and Families}`` stays one organisation), then
LaTeX → Unicode in text fields only: ``url``, ``doi``, ``eprint`` and ``file`` are verbatim,
their ``--`` and ``~`` byte-exact. The field and type mapping follows pandoc's citeproc
(``Citeproc/BibTeX.hs``), the reference this is tested against.
"""

from __future__ import annotations

import logging
import re

from press.content import latex, record
from press.errors import Problem

VERBATIM = frozenset(("url", "doi", "eprint", "file", "pdf", "verba", "verbb", "verbc",
                      "urlraw"))
# biblatex type → CSL type; ``None``: decided by the entry (see _csl_type)
TYPES = {
    "article": None, "periodical": "article-journal", "suppperiodical": "article-journal",
    "book": "book", "mvbook": "book", "bookinbook": "chapter", "booklet": "pamphlet",
    "collection": "book", "mvcollection": "book", "incollection": "chapter",
    "suppcollection": "chapter", "suppbook": "chapter", "inbook": "chapter",
    "manual": "book", "misc": None, "online": "webpage", "electronic": "webpage",
    "www": "webpage", "patent": "patent", "proceedings": "book", "mvproceedings": "book",
    "inproceedings": "paper-conference", "conference": "paper-conference",
    "reference": "book", "mvreference": "book", "inreference": "entry-encyclopedia",
    "report": "report", "techreport": "report", "thesis": "thesis", "phdthesis": "thesis",
    "mastersthesis": "thesis", "unpublished": "manuscript", "dataset": "dataset",
    "software": "software", "artwork": "graphic", "image": "graphic", "audio": "song",
    "music": "song", "movie": "motion_picture", "video": "motion_picture",
    "performance": "performance", "letter": "personal_communication", "review": "review",
    "standard": "standard", "legislation": "legislation", "jurisdiction": "legal_case",
    "legal": "treaty", "commentary": "book", "set": None, "xdata": None}
_SERIES = {"newseries": "new series", "oldseries": "old series"}
_EPRINT_URLS = {"googlebooks": "https://books.google.com?id=", "jstor":
                "https://www.jstor.org/stable/", "hdl": "https://hdl.handle.net/"}
# babel/polyglossia language names → the BCP 47 tags CSL reads (pandoc's table, in short)
LANGUAGES = {"english": "en-US", "american": "en-US", "USenglish": "en-US",
             "british": "en-GB", "ukenglish": "en-GB", "UKenglish": "en-GB",
             "australian": "en-AU", "canadian": "en-CA", "newzealand": "en-NZ",
             "german": "de-DE", "ngerman": "de-DE", "austrian": "de-AT", "naustrian": "de-AT",
             "swissgerman": "de-CH", "french": "fr-FR", "spanish": "es-ES", "italian": "it-IT",
             "dutch": "nl-NL", "portuguese": "pt-PT", "brazilian": "pt-BR", "latin": "la",
             "greek": "el-GR", "russian": "ru-RU", "polish": "pl-PL", "swedish": "sv-SE",
             "danish": "da-DK", "norsk": "nb-NO", "finnish": "fi-FI", "welsh": "cy-GB",
             "irish": "ga-IE", "czech": "cs-CZ", "japanese": "ja-JP", "chinese": "zh-CN"}
_COUNTRIES = {"countryde": "Germany", "countryeu": "European Union", "countryep":
              "European Union", "countryfr": "France", "countryuk": "United Kingdom",
              "countryus": "United States of America"}
GENRE_KEYS = {
    "phdthesis": "PhD thesis", "mathesis": "Master’s thesis", "candthesis": "Candidate thesis",
    "techreport": "technical report", "resreport": "research report",
    "software": "computer software", "datacd": "CD-ROM", "audiocd": "audio CD",
    "patent": "patent", "patentus": "U.S. patent", "patentuk": "British patent",
    "patenteu": "European patent", "patentde": "German patent", "patentfr": "French patent",
    "patreq": "patent request", "patrequs": "U.S. patent request", "patrequk":
    "British patent request", "patreqeu": "European patent request", "patreqde":
    "German patent request", "patreqfr": "French patent request"}
GENRES = {"phdthesis": "PhD thesis", "mastersthesis": "Master’s thesis"}
# plain field → CSL variable (fields needing a rule are in _csl)
PLAIN = {
    "volume": "volume", "volumes": "number-of-volumes", "edition": "edition",
    "version": "version", "pagetotal": "number-of-pages", "chapter": "chapter-number",
    "isbn": "ISBN", "issn": "ISSN", "pmid": "PMID", "pmcid": "PMCID", "abstract": "abstract",
    "note": "note", "addendum": "note", "annotation": "annote", "annote": "annote",
    "keywords": "keyword", "language": "language", "langid": "language", "type": "genre",
    "eventtitle": "event-title", "venue": "event-place", "shorttitle": "title-short",
    "shortjournal": "container-title-short", "doi": "DOI", "origpublisher": "original-publisher",
    "origlocation": "original-publisher-place", "origtitle": "original-title",
    "library": "call-number", "howpublished": "medium", "eid": "number", "part": "part",
    "status": "status", "section": "section", "references": "references",
    "archiveprefix": "archive", "primaryclass": "archive_location", "dimensions": "dimensions",
    "scale": "scale"}
NAMES = {"author": "author", "editor": "editor", "translator": "translator",
         "bookauthor": "container-author", "origauthor": "original-author",
         "holder": "author", "director": "director", "composer": "composer",
         "illustrator": "illustrator", "commentator": "contributor",
         "annotator": "contributor", "foreword": "contributor", "afterword": "contributor",
         "introduction": "contributor"}
# crossref/xdata inheritance (biblatex manual, appendix B): parent field → child field
_INHERIT = {"title": "booktitle", "subtitle": "booksubtitle", "titleaddon": "booktitleaddon",
            "author": "bookauthor"}
_CONTAINED = {"inbook", "bookinbook", "suppbook", "incollection", "suppcollection",
              "inproceedings", "inreference", "conference"}
_ALWAYS_OWN = {"ids", "crossref", "xref", "entryset", "entrysubtype", "execute", "label",
               "options", "presort", "related", "relatedoptions", "relatedstring",
               "relatedtype", "shorthand", "shorthandintro", "sortinit", "sortkey", "xdata"}


def read(path, text, problems) -> list[dict]:
    """The CSL-JSON records of a .bib file (each with ``_line``, its entry's first line)."""
    import bibtexparser
    from bibtexparser import middlewares as mw
    from bibtexparser.model import DuplicateBlockKeyBlock, ParsingFailedBlock

    logging.getLogger("bibtexparser").setLevel(logging.CRITICAL)  # reported below, as problems
    library = bibtexparser.parse_string(text, parse_stack=[mw.NormalizeFieldKeys()])
    for block in library.failed_blocks:
        line = block.start_line + 1  # bibtexparser counts lines from 0
        if isinstance(block, DuplicateBlockKeyBlock):
            problems.append(Problem(path, line, f"duplicate key '{block.key}'",
                                    "give each entry its own key"))
        elif isinstance(block, ParsingFailedBlock):
            reason = getattr(block.error, "abort_reason", "") or str(block.error) or "syntax error"
            hint = "check that every { has a matching } and that fields end with a comma"
            end = getattr(block.error, "end_index", None)
            if end is not None:  # an offset into the whole file: where the parser gave up
                hint = f"the parser gave up on line {text[:end].count(chr(10)) + 1}; {hint}"
            # (a warning: one bad entry of a shared library must not stop every briefing;
            # citing it is an error, "unknown citation")
            problems.append(Problem(path, line, f"malformed entry: {reason.strip()}", hint,
                                    "warning"))
    strings = {k.lower(): s.value for k, s in library.strings_dict.items()}
    raw = {}
    for entry in library.entries:
        fields = {f.key: _resolve(f.value, strings) for f in entry.fields}
        raw[entry.key.lower()] = (entry, fields)
    records = []
    for entry, fields in raw.values():
        kind = entry.entry_type.lower()
        line = entry.start_line + 1
        if kind in ("set", "xdata"):
            continue  # a biblatex entry set or data container: cited through its members
        fields = _inherit(kind, fields, raw, path, line, problems)
        records.append(_csl(entry.key, kind, fields, path, line, problems))
    return records


def _resolve(value, strings) -> str:
    """A raw field value → its text: ``{...}``/``"..."`` unwrapped, ``@string`` macros and
    month names expanded, the parts of ``a # {b}`` joined."""
    value = str(value).strip()
    parts, depth, start, quoted = [], 0, 0, False
    for i, char in enumerate(value):
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
        elif char == '"' and depth == 0 and (i == 0 or value[i - 1] != "\\"):
            quoted = not quoted
        elif char == "#" and depth == 0 and not quoted:
            parts.append(value[start:i])
            start = i + 1
    parts.append(value[start:])
    out = []
    for part in (p.strip() for p in parts):
        if len(part) >= 2 and part[0] + part[-1] in ("{}", '""'):
            out.append(part[1:-1])
        elif part.lower() in strings:
            out.append(_resolve(strings[part.lower()], {}))
        elif part.lower()[:3] in record._MONTHS and len(part) == 3:
            out.append(str(record.month(part)))
        else:
            out.append(part)
    return "".join(out)


def _inherit(kind, fields, raw, path, line, problems) -> dict:
    """biblatex's ``xdata`` (every field) and ``crossref`` (a book's title becomes a chapter's
    booktitle) inheritance: fields the entry has itself win."""
    out = dict(fields)
    for key in [k.strip() for k in fields.get("xdata", "").split(",") if k.strip()]:
        parent = raw.get(key.lower())
        if parent is None:
            problems.append(Problem(path, line, f"xdata '{key}' is not in this file",
                                    "add the @xdata entry or remove the field", "warning"))
            continue
        for name, value in parent[1].items():
            out.setdefault(name, value)
    parent_key = fields.get("crossref", "").strip()
    if parent_key:
        parent = raw.get(parent_key.lower())
        if parent is None:
            problems.append(Problem(path, line, f"crossref '{parent_key}' is not in this file",
                                    "add the parent entry to the same file", "warning"))
            return out
        parent_kind = parent[0].entry_type.lower()
        for name, value in _inherit(parent_kind, parent[1], raw, path, line, problems).items():
            if name in _ALWAYS_OWN:
                continue
            if kind in _CONTAINED and name in _INHERIT:
                out.setdefault(_INHERIT[name], value)
            elif parent_kind in ("periodical",) and name in ("title", "subtitle"):
                out.setdefault("journal" + name, value)
            else:
                out.setdefault(name, value)
    return out


def _csl_type(kind, fields) -> str | None:
    subtype = fields.get("entrysubtype", "").lower()
    if kind == "article":
        return {"magazine": "article-magazine", "newspaper": "article-newspaper"}.get(
            subtype, "article-journal")
    if kind == "misc":
        return "webpage" if fields.get("url") or fields.get("howpublished", "").startswith(
            "http") else "document"
    return TYPES.get(kind)


def _title(fields, prefix="") -> str:
    main = latex.text(fields.get(prefix + "title", ""))
    sub = latex.text(fields.get(prefix + "subtitle", ""))
    addon = latex.text(fields.get(prefix + "titleaddon", ""))
    out = f"{main}: {sub}" if main and sub and not main.endswith((":", "?", "!")) else \
        " ".join(x for x in (main, sub) if x)
    return f"{out}. {addon}" if addon and out else out or addon


def _csl(key, kind, fields, path, line, problems) -> dict:
    ctype = _csl_type(kind, fields)
    if ctype is None:
        ctype = record.unknown_type(path, line, key, "@" + kind, problems)
    rec: dict = {"id": key, "type": ctype, "_line": line}
    for field, var in NAMES.items():
        if fields.get(field):
            rec.setdefault(var, [])
            rec[var] += names(fields[field])
    if ctype == "patent" and "holder" in fields and "author" in fields:
        rec["author"] = names(fields["author"])
    for field, var in PLAIN.items():
        value = fields.get(field, "").strip()
        if value and var not in rec:
            rec[var] = value if field in VERBATIM else latex.text(value)
    if kind in GENRES and "genre" not in rec:
        rec["genre"] = GENRES[kind]
    if rec.get("genre") in GENRE_KEYS:  # biblatex's localisation keys (type = {mathesis})
        rec["genre"] = GENRE_KEYS[rec["genre"]]
    if kind == "periodical" and fields.get("issuetitle"):  # an issue of a journal
        fields = {**fields, "journaltitle": fields["title"], "journalsubtitle":
                  fields.get("subtitle", ""), "title": fields["issuetitle"],
                  "subtitle": fields.get("issuesubtitle", "")}
    if ctype == "patent" and (fields.get("location") or fields.get("address")):
        rec["jurisdiction"] = "; ".join(_COUNTRIES.get(one, latex.text(one)) for one in _list(
            fields.get("location") or fields.get("address")))
        fields = {k: v for k, v in fields.items() if k not in ("location", "address")}
    title = _title(fields)
    if title:
        rec["title"] = title
        if "title-short" not in rec and (fields.get("subtitle") or ": " in title):
            rec["title-short"] = latex.text(fields["title"]).partition(": ")[0]
    contained = ctype in ("chapter", "paper-conference", "entry-encyclopedia",
                          "entry-dictionary", "entry")
    container = (_title(fields, "book") if contained else "") or _title(fields, "journal") \
        or latex.text(fields.get("journal", ""))
    if fields.get("maintitle"):  # one volume of a multi-volume work
        if contained and container:
            rec["volume-title"], container = container, _title(fields, "main")
        else:
            if title:
                rec["volume-title"] = title
            rec["title"] = _title(fields, "main")
    if container:
        rec["container-title"] = container
    if fields.get("series"):
        series = latex.text(fields["series"])
        if series.isdigit() and ctype.startswith("article"):  # biblatex: "3rd series"
            series = f"{series}{_ordinal(int(series))} series"
        rec["collection-title"] = _SERIES.get(series, series)
    if fields.get("part") and rec.get("volume"):
        rec["volume"] = f"{rec['volume']}.{latex.text(fields['part'])}"
    langid = fields.get("langid", "").strip().lower()
    if langid:
        variant = re.search(r"variant\s*=\s*(\w+)", fields.get("langidopts", ""))
        if langid == "english":  # as pandoc reads it: British unless the variant says not
            langid = variant.group(1).lower() if variant else "british"
        rec["language"] = LANGUAGES.get(langid, langid)
    number = latex.text(fields.get("number", ""))
    if number:
        if ctype.startswith("article") or ctype == "periodical":
            rec.setdefault("issue", number)
        elif fields.get("series") and ctype in ("book", "chapter", "paper-conference",
                                                 "report", "thesis"):
            rec["collection-number"] = number
        else:
            rec["number"] = number
    if fields.get("issue") and "issue" not in rec:
        rec["issue"] = latex.text(fields["issue"])
    if fields.get("pages"):
        rec["page"] = record.pages(latex.text(fields["pages"]))
    publisher = [latex.text(one) for f in ("publisher", "institution", "school",
                                            "organization") for one in _list(fields.get(f))]
    if publisher:
        rec["publisher"] = "; ".join(publisher)
    place = fields.get("location") or fields.get("address")
    if place:
        rec["publisher-place"] = "; ".join(latex.text(one) for one in _list(place))
    if ctype == "legislation" and fields.get("jurisdiction"):
        rec["jurisdiction"] = latex.text(fields["jurisdiction"])
    if fields.get("origyear") and not fields.get("origdate"):
        fields = {**fields, "origdate": fields["origyear"]}
    for field, var in (("date", "issued"), ("urldate", "accessed"),
                       ("eventdate", "event-date"), ("origdate", "original-date")):
        if fields.get(field):
            rec[var] = record.date(fields[field])
    if "issued" not in rec and fields.get("year"):
        rec["issued"] = record.date(fields["year"], fields.get("month"), fields.get("day"))
    for var in ("issued", "accessed", "event-date", "original-date"):
        if var in rec and rec[var] is None:
            problems.append(Problem(path, line, f"'{key}': cannot read a date in "
                                    f"{fields.get('date') or fields.get('year')!r}",
                                    "write 2009, 2009-03 or 2009-03-15", "warning"))
            del rec[var]
    url = fields.get("url", "").strip()
    if not url and fields.get("howpublished", "").strip().startswith("http"):
        url = fields["howpublished"].strip()
        rec.pop("medium", None)
    eprint, etype = fields.get("eprint", "").strip(), fields.get("eprinttype", "").lower()
    if eprint:
        if etype in ("arxiv", "") and re.fullmatch(r"[\w./-]+", eprint):
            rec.setdefault("archive", "arXiv")
            rec.setdefault("archive_location", eprint)
            url = url or f"https://arxiv.org/abs/{eprint}"
        elif etype in _EPRINT_URLS:
            url = url or _EPRINT_URLS[etype] + eprint
        elif etype == "pubmed":
            rec.setdefault("PMID", eprint)
        elif etype == "doi":
            rec.setdefault("DOI", eprint)
        else:
            rec.setdefault("archive", fields.get("eprinttype", ""))
            rec.setdefault("archive_location", eprint)
    if url:
        rec["URL"] = url
    if "DOI" in rec:
        rec["DOI"] = record.doi(rec["DOI"])
    return rec


def _ordinal(n: int) -> str:
    return "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")


def _list(value) -> list[str]:
    """A biblatex literal list (``publisher``, ``location``): items split on a top-level
    ``and``, as biblatex does (``{Faber and Faber}`` in braces stays one)."""
    value, depth, start, out = str(value or ""), 0, 0, []
    for match in re.finditer(r"[{}]|\s+and\s+", value):
        if match.group() == "{":
            depth += 1
        elif match.group() == "}":
            depth -= 1
        elif depth == 0:
            out.append(value[start:match.start()])
            start = match.end()
    out.append(value[start:])
    return [one.strip() for one in out if one.strip()]


def names(text: str) -> list[dict]:
    """``von Hicks, III, Michael and {Department for Children, Schools and Families}`` →
    CSL names, the parts split by bibtexparser before the LaTeX is decoded."""
    from bibtexparser.middlewares.names import (
        InvalidNameError,
        parse_single_name_into_parts,
        split_multiple_persons_names,
    )

    out = []
    for one in split_multiple_persons_names(text):
        if one.strip().lower() == "others":
            out.append({"literal": "others"})  # "and others": et al, however many there are
            continue
        try:
            parts = parse_single_name_into_parts(one, strict=False)
        except InvalidNameError:
            out.append({"literal": latex.text(one)})
            continue
        last = parts.last
        if not parts.first and not parts.von and not parts.jr and len(last) == 1 \
                and last[0].startswith("{") and last[0].endswith("}"):
            out.append({"literal": latex.text(last[0])})
            continue
        name = {"family": latex.text(" ".join(last))}
        if parts.first:
            name["given"] = latex.text(" ".join(parts.first))
        if parts.von:
            name["non-dropping-particle"] = latex.text(" ".join(parts.von))
        if parts.jr:
            name["suffix"] = latex.text(" ".join(parts.jr))
        out.append(name)
    return out
