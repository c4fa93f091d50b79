"""Load stage: read series files and briefings from ``content/`` and validate them into models."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import NamedTuple, TypeAlias

from press.content import references as refs
from press.core import fields, identifiers, yamlsafe
from press.errors import ContentError, Problem, Problems, did_you_mean
from press.model import Author, Briefing, Contact, Indicator, Partner, Series
from press.project import Project

MAX_SOURCE_BYTES = 2 * 1024 * 1024
SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]*\Z")  # \Z: "$" would let "ni-900\n" through


# -- reading text ------------------------------------------------------------------------------

def inside(project: Project, path: Path) -> bool:
    """True if ``path`` (after resolving symlinks) is a regular file inside the project."""
    real = path.resolve()
    return real.is_relative_to(project.root) and fields.is_file(real)


def _outside_error(project: Project, path: Path) -> ContentError:
    real = path.resolve()
    if not real.exists():
        return ContentError.at(path, None, f"{path.name} is a broken link",
                               "remove it or make it a real file")
    if real.is_relative_to(project.root):  # in the project, but no file (never opened)
        kind = "a folder" if real.is_dir() else "a pipe, socket or device"
        return ContentError.at(path, None, f"{path.name} is {kind}, not a file",
                               "remove it, or rename it so that it does not end in "
                               f"{path.suffix}")
    return ContentError.at(path, None, f"{path.name} is a link to a file outside the project",
                           "copy the file into the project instead of linking to it")


def _project_root_of(path: Path) -> Path | None:
    """The project a source file belongs to: the folder holding the ``content/`` it is in."""
    absolute = path.absolute()
    for parent in absolute.parents:
        if parent.name == "content":
            return parent.parent
    return None


def read_text(path: Path) -> str:
    """Read a UTF-8 source file (BOM and CRLF accepted); errors name the line and byte offset.

    A file under ``content/`` that is a link to a file outside its project is refused here,
    the one place series, briefings, bundles, mailings and letters are read through."""
    root = _project_root_of(path)
    if root is not None and not inside(Project(root.resolve()), path):
        raise _outside_error(Project(root.resolve()), path)
    data = path.read_bytes()
    if len(data) > MAX_SOURCE_BYTES:
        raise ContentError.at(path, None, f"file is {len(data) // 1024} KB, over the "
                              f"{MAX_SOURCE_BYTES // 1024 // 1024} MB limit",
                              "split it or move large data into assets/")
    text = decode(path, data)
    return text.replace("\r\n", "\n").replace("\r", "\n")


def decode(path: Path, data: bytes, hint: str = "save the file as UTF-8", row: bool = False) -> str:
    """UTF-8 bytes (a BOM accepted) → text; an error names the line and byte offset (and the
    row, for a CSV file, as a spreadsheet numbers it)."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        where = f" (row {line})" if row else ""
        raise ContentError.at(path, line, f"not UTF-8: byte 0x{data[exc.start]:02x} at byte "
                              f"offset {exc.start}{where}", hint) from None


@dataclass(frozen=True)
class Split:
    """A source file cut at its front matter's closing line."""

    yaml: str  # the front matter, without its '---' lines
    body: str
    body_line: int  # the file line the body starts on


def split_front_matter(text: str, path: Path) -> Split:
    """The front matter and the body of ``text``."""
    lines = text.split("\n")
    if not text.strip():
        raise ContentError.at(path, 1, "file is empty",
                              "start with front matter between two '---' lines")
    if lines[0].strip() != "---":
        raise ContentError.at(path, 1, "missing front matter: the file must start with '---'",
                              "see docs/authoring.md for the fields")
    for number, line in enumerate(lines[1:], start=2):
        if line.rstrip() in ("---", "..."):
            return Split("\n".join(lines[1: number - 1]), "\n".join(lines[number:]), number + 1)
    raise ContentError.at(path, 1, "front matter is not closed: no second '---' line",
                          "add a line '---' after the last field")


# -- series ------------------------------------------------------------------------------------

SERIES_FIELDS = ("name", "publisher", "publisher_logo", "strapline", "about", "partners",
                 "contact", "purchase_url", "booklet", "sample_pages", "bibliography",
                 "print_profile", "csl", "free_to_read", "doi_prefix", "language", "place",
                 "upload_url", "product_url")
SERIES_REQUIRED = ("name", "publisher", "strapline", "about", "contact", "purchase_url")


def load_series(project: Project, problems: Problems) -> dict[str, Series]:
    """Every ``content/series/*.yaml``; problems are collected, bad files are left out."""
    result = {}
    for path in sorted(project.series_dir.glob("*.yaml")):
        try:
            if not inside(project, path):
                raise _outside_error(project, path)
            data, lines = yamlsafe.load(read_text(path), path)
        except ContentError as exc:
            problems.extend(exc.problems)
            continue
        series = _series(project, path, data, lines, problems)
        if series:
            result[series.id] = series
    return result


def _asset(project: Project, value: object, name: str) -> str:
    text = fields.text(value, name)
    if "\x00" in text:
        raise fields.Invalid(f"'{name}' contains a null character")
    target = (project.assets / text).resolve()
    if not target.is_relative_to(project.assets) or not fields.is_file(target):
        raise fields.Invalid(f"'{name}': no file assets/{text}", "paths are relative to assets/")
    return str(text)


def _series(project: Project, path: Path, raw: object, lines: yamlsafe.Lines,
            problems: Problems) -> Series | None:
    check = fields.Checker(path, lines, problems)
    data = check.top(raw, SERIES_FIELDS, SERIES_REQUIRED, "a series file")
    if not check.ok:
        return None
    partners: list[Partner] = []
    for i, item in enumerate(check(fields.items, data.get("partners", []), "partners") or []):
        entry = check(fields.fields, item, "partners", i, allowed=("name", "logo"),
                      required=("name", "logo"))
        if entry:
            logo = check(lambda v, n: _asset(project, v, n), entry["logo"], "partners", i,
                         "logo")
            partners.append(Partner(name=str(entry["name"]), logo=logo or ""))
    contact = check(fields.fields, data.get("contact"), "contact",
                    allowed=("name", "phone", "email", "role"), required=("name",))
    logo = ""
    if data.get("publisher_logo"):
        logo = check(lambda v, n: _asset(project, v, n), data["publisher_logo"],
                     "publisher_logo") or ""
    profile = ""
    if data.get("print_profile"):
        profile = check(lambda v, n: _asset(project, v, n), data["print_profile"],
                        "print_profile") or ""
        if profile and not profile.lower().endswith((".icc", ".icm")):
            check.fail(("print_profile",), "'print_profile' must be an .icc or .icm file",
                       "the CMYK profile your printer supplies, e.g. color/printer.icc")
    booklet = data.get("booklet", True)
    if not isinstance(booklet, bool):
        check.fail(("booklet",), "'booklet' must be true or false")
    free = data.get("free_to_read", True)  # HTML edition: whole (true) or a sample (false)
    if not isinstance(free, bool):
        check.fail(("free_to_read",), "'free_to_read' must be true or false")
    sample_pages = data.get("sample_pages", 0)
    if sample_pages:
        sample_pages = check(fields.positive_int, sample_pages, "sample_pages")
    # a value the checker refused is None, and check.ok is then False: the "" never reaches
    # a Series
    values = {key: check(fields.text, data.get(key), key) or ""
              for key in ("name", "publisher", "strapline", "about")}
    values["purchase_url"] = check(fields.https_url, data.get("purchase_url"),
                                   "purchase_url") or ""
    bib = refs.files(check, data["bibliography"], path.parent, project.root) \
        if data.get("bibliography") else ()
    style = refs.style(check, data["csl"], project.layouts) if data.get("csl") else \
        refs.house_style(project.layouts)
    prefix = check(identifiers.doi_prefix, data["doi_prefix"], "doi_prefix") \
        if data.get("doi_prefix") else ""
    language = check(fields.text, data["language"], "language") if data.get("language") \
        else "en-GB"
    urls = {key: check(fields.https_url, data[key], key) or "" if data.get(key) else ""
            for key in ("upload_url", "product_url")}
    place = check(fields.text, data["place"], "place") if data.get("place") else ""
    if not check.ok:
        return None
    refs.check_series(bib, problems)
    assert contact is not None  # required: the checker reported it if missing or wrong
    return Series(bibliography=bib, csl=style, doi_prefix=prefix or "",
        language=language or "en-GB", place=place or "", **urls,
        id=path.stem, path=path, partners=tuple(partners), publisher_logo=logo or "",
        contact=Contact(**{k: str(v) for k, v in contact.items()}),
        booklet=booklet, sample_pages=sample_pages or 0, print_profile=profile or "",
        free_to_read=free, **values)


LAYOUT_MARKER = "{# layout: briefing #}"


def briefing_layouts(project: Project) -> list[str]:
    """Layouts a briefing may name: templates in layouts/ whose first line is LAYOUT_MARKER
    (the bundle, letter and catalogue templates are not briefing layouts)."""
    names = []
    for path in sorted(project.layouts.glob("*.html")):
        with path.open(encoding="utf-8") as handle:
            if handle.readline().strip() == LAYOUT_MARKER and SLUG_RE.match(path.stem):
                names.append(path.stem)
    return names


# -- briefings ---------------------------------------------------------------------------------

BRIEFING_FIELDS = ("title", "subtitle", "series", "number", "indicator", "published",
                   "authors", "status", "summary", "audience", "keywords", "isbn", "price",
                   "doi", "layout", "references", "bibliography", "sample_pages", "nocite")
BRIEFING_REQUIRED = ("title", "series", "number", "indicator", "published", "authors",
                     "status", "summary")


NOCITE_RE = re.compile(r"@(\*|\{[^{}\s]++\}|\w[^\s,;]*+)")


def _nocite(check: fields.Checker, value: object) -> tuple[str, ...]:
    """pandoc's ``nocite: "@ward2001, @who2009"`` (or a list, or ``@*``): keys listed in the
    reference list that the text does not cite."""
    written = check(fields.text_list, value if isinstance(value, list) else [value], "nocite")
    if written is None:
        return ()
    text = " ".join(written)
    keys = tuple(m.group(1).strip("{}") for m in NOCITE_RE.finditer(text))
    if not keys or re.sub(r"[\s,;]", "", NOCITE_RE.sub("", text)):
        check.fail(("nocite",), "'nocite' must list keys, each with an @",
                   "e.g. nocite: \"@ward2001, @who2009\", or \"@*\" for every entry")
        return ()
    return keys


def load_briefing(project: Project, path: Path, series: dict[str, Series],
                  problems: Problems) -> Briefing | None:
    """One briefing file, or None with its problems added to ``problems``."""
    try:
        if not inside(project, path):
            raise _outside_error(project, path)
        text = read_text(path)
        split = split_front_matter(text, path)
        data, lines = yamlsafe.load(split.yaml, path, line_offset=1)
    except ContentError as exc:
        problems.extend(exc.problems)
        return None
    if data is None:
        problems.error(path, 2, "front matter is empty", "see docs/authoring.md for the fields")
        return None
    slug = path.stem
    check = fields.Checker(path, lines, problems)
    if not SLUG_RE.match(slug):
        check.ok = False
        problems.error(path, None, f"file name {path.name!r} is not a valid slug",
                       "use lower-case letters, digits and hyphens, e.g. ni-062-topic.md")
    data = check.top(data, BRIEFING_FIELDS, BRIEFING_REQUIRED, "front matter")
    if not data:
        return None

    def text_field(key: str) -> str:
        value = data.get(key)
        if value is None or (key not in BRIEFING_REQUIRED and isinstance(value, str)
                             and not value.strip()):
            return ""  # an optional field left empty is the same as leaving it out
        return check(fields.text, value, key) or ""

    texts = {key: text_field(key) for key in ("title", "subtitle", "summary", "audience")}
    series_id = text_field("series")
    the_series = series.get(series_id)
    if series_id and the_series is None:
        check.fail(("series",), f"unknown series '{series_id}'",
                   did_you_mean(series_id, series) or "add a file in content/series/")
    number = check(fields.positive_int, data.get("number"), "number") if "number" in data else None
    indicator = None
    if "indicator" in data:
        ind = check(fields.fields, data["indicator"], "indicator", allowed=("code", "title"),
                    required=("code", "title"))
        if ind:
            code = check(fields.text, ind["code"], "indicator", "code")
            title = check(fields.text, ind["title"], "indicator", "title")
            indicator = Indicator(code=code or "", title=title or "")
    published = check(fields.published, data.get("published"), "published") if "published" in data \
        else None
    status = data.get("status")
    if "status" in data and status not in ("draft", "final"):
        check.fail(("status",), f"'status' must be 'draft' or 'final', not {status!r}",
                   did_you_mean(str(status), ("draft", "final")))
    authors = []
    for i, item in enumerate(check(fields.items, data.get("authors"), "authors") or []):
        if isinstance(item, str):
            item = {"name": item}
        author = check(fields.fields, item, "authors", i, allowed=("name", "role", "email"),
                       required=("name",))
        if author:
            values = {k: check(fields.text, v, "authors", i, k) for k, v in author.items()
                      if v is not None}
            authors.append(Author(**{k: v or "" for k, v in values.items()}))
    if "authors" in data and not authors and check.ok:
        check.fail(("authors",), "'authors' must not be empty")
    keywords = check(fields.text_list, data["keywords"], "keywords") if data.get("keywords") else ()
    isbns = formats(check, data, lines, path, problems)
    doi = check(identifiers.doi, data["doi"], "doi",
                prefix=the_series.doi_prefix if the_series else "") if data.get("doi") else ""
    price = check(fields.price, data["price"], "price") if data.get("price") is not None else None
    layout = text_field("layout") or "briefing"
    if layout and layout not in briefing_layouts(project):
        check.fail(("layout",), f"unknown layout '{layout}'",
                   did_you_mean(layout, briefing_layouts(project)))
    sample_pages = check(fields.positive_int, data["sample_pages"], "sample_pages") \
        if data.get("sample_pages") else 0
    nocite = _nocite(check, data["nocite"]) if data.get("nocite") else ()
    inline = refs.inline(check, data.get("references") or [])
    bib = refs.files(check, data["bibliography"], path.parent, project.root) \
        if data.get("bibliography") else ()
    if not check.ok or the_series is None:
        return None
    references, read_ok = refs.gather(the_series.bibliography, bib, inline, problems)
    if not read_ok:
        return None
    # required fields: the checker reported a problem for each one missing or wrong
    assert number is not None and indicator is not None and published is not None
    known = [r.id for r in references]
    for key in nocite:
        if key != "*" and key not in known:
            check.fail(("nocite",), f"'nocite' names '{key}', which no bibliography holds",
                       did_you_mean(key, known) if known else "add it to a bibliography file")
            return None
    if the_series.csl is not None:  # the style travels with the records to briefing.cite
        references = tuple(replace(r, style=the_series.csl) for r in references)
    assert isinstance(status, str)
    return Briefing(
        slug=slug, path=path, series=the_series, number=number, indicator=indicator,
        published=published, authors=tuple(authors), status=status, body=split.body,
        body_line=split.body_line, keywords=keywords or (), price=price,
        isbn=isbns.get("print", ""),
        isbn_pdf=isbns.get("pdf", ""), isbn_epub=isbns.get("epub", ""), doi=doi or "",
        layout=layout, references=references, sample_pages=sample_pages or 0,
        # (the style counts as a bibliography file: the build's key and the preview's watch)
        bibliography=(*the_series.bibliography, *bib,
                      *((the_series.csl,) if the_series.csl else ())), nocite=nocite, **texts)


def formats(check: fields.Checker, data: dict[str, object], lines: yamlsafe.Lines, path: Path,
            problems: Problems) -> dict[str, str]:
    """The ``isbn:`` field as {format: ISBN}; the old single ISBN is read as the print
    edition's, with a warning (it used to be sold as the PDF too)."""
    if not data.get("isbn"):
        return {}
    found = check(identifiers.isbns, data["isbn"], "isbn")
    if found is None:
        return {}
    isbns, single = found
    if single:
        problems.warn(path, yamlsafe.line_of(lines, "isbn"),
                      f"'isbn' {isbns['print']} is read as the print edition's ISBN only: the "
                      "PDF is sold without one", identifiers.RULE)
    return dict(isbns)


def select(folder: Path, suffix: str, names: list[str] | None, what: str,
           problems: Problems) -> list[Path]:
    """The ``*suffix`` files in ``folder`` named by ``names`` (all of them, sorted, if none are
    named), in the order named; a name with no file is a problem with a "did you mean"."""
    paths = sorted(folder.glob(f"*{suffix}"))
    if not names:
        for odd in sorted(folder.glob("*")):  # x.MD would otherwise be silently left out
            if odd.suffix.lower() == suffix and odd.suffix != suffix:
                problems.error(odd, None, f"file name {odd.name!r} must end in '{suffix}' "
                               "(lower case) to be read", f"rename it {odd.stem}{suffix}")
        return paths
    known = {p.stem: p for p in paths}
    for name in names:
        if name not in known:
            problems.error(folder / f"{name}{suffix}", None, f"no {what} '{name}'",
                           did_you_mean(name, known))
    return [known[n] for n in names if n in known]


# the names in each folder a load reads, and (path, blake2b of its bytes or None) of each file
Stamps: TypeAlias = tuple[tuple[tuple[str, ...], ...], tuple[tuple[str, bytes | None], ...]]


@dataclass(frozen=True)
class _Loaded:
    stamps: Stamps  # of every file and folder the load read
    series: dict[str, Series]
    briefings: tuple[Briefing, ...]
    problems: tuple[Problem, ...]


_LOADED: dict[tuple[str, tuple[str, ...]], _Loaded] = {}


class Content(NamedTuple):
    """What :func:`load_all` gives: the series by id, and the briefings that loaded."""

    series: dict[str, Series]
    briefings: list[Briefing]


def load_all(project: Project, problems: Problems,
             slugs: list[str] | None = None) -> Content:
    """Series and briefings (all, or those named), with cross-file rules checked.

    A command's stages each ask for them (the briefings, the bundles, the shop): they are
    parsed once per process, and again only when a file the load read has changed or a file
    was added or removed. The model is frozen, so the stages share it."""
    key = (str(project.root), tuple(slugs or ()))
    loaded = _LOADED.get(key)
    if loaded is None or loaded.stamps != _stamps(project, loaded.series, loaded.briefings):
        found = Problems()
        series, briefings = _load_all(project, found, slugs)
        loaded = _Loaded(_stamps(project, series, briefings), series, tuple(briefings),
                         tuple(found.items))
        _LOADED[key] = loaded
    problems.extend(loaded.problems)
    return Content(dict(loaded.series), list(loaded.briefings))


def _stamps(project: Project, series: dict[str, Series], briefings: Iterable[Briefing]
            ) -> Stamps:
    """What a load depends on, by content (a file rewritten within the same clock tick is
    still seen): the names in the series, briefings and layouts folders, and the bytes of the
    series files, every briefing, the layouts and the bibliography files read."""
    folders = (project.series_dir, project.briefings_dir, project.layouts)
    names = tuple(tuple(sorted(p.name for p in folder.iterdir())) if folder.is_dir() else ()
                  for folder in folders)
    paths = {p for folder in folders if folder.is_dir() for p in folder.iterdir()
             if p.suffix in (".yaml", ".md", ".html") and p.is_file()}  # a FIFO would block
    paths.update(p for s in series.values() for p in s.bibliography)
    paths.update(p for b in briefings for p in b.bibliography)
    hashes: list[tuple[str, bytes | None]] = []
    for path in sorted(paths):
        try:
            hashes.append((str(path), hashlib.blake2b(path.read_bytes(), digest_size=16).digest()))
        except OSError:
            hashes.append((str(path), None))
    return names, tuple(hashes)


def _load_all(project: Project, problems: Problems,
              slugs: list[str] | None) -> tuple[dict[str, Series], list[Briefing]]:
    series = load_series(project, problems)
    paths = select(project.briefings_dir, ".md", slugs, "briefing", problems)
    briefings = [b for p in paths if (b := load_briefing(project, p, series, problems))]
    _check_numbers(project, series, briefings, problems, complete=not slugs)
    return series, briefings


def _check_numbers(project: Project, series: dict[str, Series], briefings: list[Briefing],
                   problems: Problems, complete: bool) -> None:
    """Numbers must be unique within a series (checked over every file, not just those built)."""
    if not complete:  # the files not named are loaded quietly, those named only once
        quiet, named = Problems(), {b.path.name for b in briefings}
        briefings = briefings + [b for p in project.briefing_paths() if p.name not in named
                                 if (b := load_briefing(project, p, series, quiet))]
    taken: dict[tuple[str, int], Briefing] = {}
    for briefing in sorted(briefings, key=lambda b: b.slug):
        key = (briefing.series.id, briefing.number)
        if key in taken:
            first = taken[key]
            problems.error(briefing.path, _number_line(briefing.path),
                           f"number {briefing.number} is already used in series "
                           f"'{briefing.series.id}' by {first.path.name}",
                           "give each briefing in a series its own number")
        else:
            taken[key] = briefing


def _number_line(path: Path) -> int | None:
    for number, line in enumerate(read_text(path).split("\n"), 1):
        if line.startswith("number:"):
            return number
    return None


__all__ = ["Project", "load_all", "load_briefing", "load_series", "read_text", "Problem"]
