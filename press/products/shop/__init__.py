"""Shop stage: the upload folder — web editions, cover thumbnails, free samples, catalogue.

``output/upload/`` is the folder the web team uploads as it is; only this stage writes it.
It copies, for every final briefing and every bundle, what was made with its web edition
(by the briefing's worker, ``press.build.pipeline``, or by the bundles stage) and checks it:

* the web edition (``output/web/<slug>.pdf``, ``bundles/<id>.pdf``);
* ``<name>-cover.png`` (600 px wide) and ``<name>-cover@2x.png`` (1200 px), rasterised with
  pdfium (``press.render.thumbnail``) from ``output/web/covers/``;
* ``<name>-sample.pdf``: the first pages (cover, contents, first content page by default) and
  a last page saying where to buy the full product, a tagged PDF/UA-1 like the full edition
  (``press.briefing.sample``, ``press.products.bundles.sample``), from ``output/web/samples/``;
* ``catalogue.json`` and ``catalogue.csv`` describing every product and file, and the review
  page ``output/upload-review.html`` beside the folder (it is not uploaded).

So the shop lays nothing out and rasterises nothing: it copies, checks and catalogues.
Modules: ``products`` (what is sold), ``catalogue`` (the three catalogue files), ``published``
(the changes report); this one builds and checks the folder.

The folder is built in a staging folder and swapped in (``output.staged_folder``) only when
every product is built and the folder matches its catalogue; the catalogue is written last.
``changes()`` compares the folder with the snapshot taken by
``mark_published()`` (``project.published_snapshot``) after the web team's last upload.
"""

from __future__ import annotations

import dataclasses
import html.parser
import io
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from press.briefing import layout
from press.build import pipeline
from press.content.load import load_all
from press.core import freshness, output
from press.errors import ContentError, Problem, Problems
from press.products import bundles
from press.products.bundles import withdrawn
from press.products.shop import published, trade
from press.products.shop.catalogue import (
    CATALOGUE_FILES,
    catalogue_csv,
    catalogue_json,
    human_size,
    index_html,
)
from press.products.shop.products import (
    ROLES,
    TRADE_SUFFIXES,
    Entry,
    FileEntry,
    Product,
    Report,
    products,
    sha256,
)
from press.products.shop.published import changes, listing, mark_published
from press.project import Project
from press.render.thumbnail import THUMB_WIDTHS

_DERIVED = re.compile(r"(^|/)[^/]+(-cover\.png|-cover@2x\.png|-sample\.pdf|\.jsonld"
                      r"|-citation\.html|\.ris|\.bib|\.csl\.json)$")


# -- building the folder -----------------------------------------------------------------------

def _write(stage: Path, name: str, data: bytes) -> None:
    output.write_bytes(stage / name, data)


def _edition(project: Project, product: Product) -> Path:
    """Where the pipeline (or the bundles stage) wrote the product's web edition."""
    if product.kind == "bundle":
        return project.bundle_outputs(product.id)["web"]
    return project.briefing_outputs(product.id)["web"]


def _extras(current: Path) -> list[str]:
    """Files someone put into the upload folder by hand (a ``robots.txt``): kept. PDFs,
    derived files and catalogue files are never carried over: the folder holds exactly what
    the catalogue lists, so a withdrawn product's files leave with its entry."""
    return [rel for rel in listing(current)
            if not rel.lower().endswith(".pdf") and rel not in CATALOGUE_FILES
            and rel not in trade.RELEASE_FILES
            and not _DERIVED.search(rel) and rel != "index.html"]


def _check_names(items: list[Product]) -> None:
    """No two files of the folder may share a name: briefings ``ni-900`` and ``ni-900-sample``
    would otherwise publish the first one's sample as the second one's full PDF."""
    owner: dict[str, tuple[Product, str]] = {}
    problems = []
    for product in items:
        for role in (*ROLES, *TRADE_SUFFIXES):
            name = product.name(role)
            if name in CATALOGUE_FILES or name == "index.html" or name in trade.RELEASE_FILES:
                problems.append(Problem(product.source, None,
                                        f"the {product.kind} id '{product.id}' gives the file "
                                        f"name {name}, which the catalogue uses",
                                        "rename the file"))
            elif name in owner:
                other, other_role = owner[name]
                problems.append(Problem(
                    product.source, None,
                    f"the {role} file of '{product.id}' would be named {name}, the same as "
                    f"the {other_role} file of '{other.id}'",
                    "rename one of them: ids ending in -sample, -cover or -cover@2x clash "
                    "with the files the shop makes"))
            else:
                owner[name] = (product, role)
    if problems:
        raise ContentError(problems)


def build(project: Project, check_fresh: bool = True) -> Report:
    """Build ``output/upload/`` for every product and swap it in; raise ContentError on problems.

    The folder is a pure function of what is published: the catalogue's products, their web
    editions (copied from ``output/web/``), thumbnails and samples, and the catalogue. It is
    written in a staging folder, checked against the catalogue, and swapped in whole; on any
    failure the previous folder stays as it was. ``check_fresh``: note the web editions whose
    build records say they are out of date (a full build has just brought them up to date).
    """
    started = time.perf_counter()
    # leftovers of a killed build: staging folders, a half-done swap (rolled back), partials
    output.clean_partials(project.output)
    published.check_folder(project)
    removed = published.remove_links(project)
    gone = [p.relative_to(project.root).as_posix() for p in withdrawn.remove(project)]
    items = products(project)
    _check_names(items)
    current = project.shop_folder
    problems, stale = [], []
    for product in items:
        path = _edition(project, product)
        command = (f"python build.py bundle {product.id}" if product.kind == "bundle"
                   else f"python build.py briefing {product.id}")
        if not path.is_file():
            problems.append(Problem(product.source, None,
                                    f"no web edition {path.relative_to(project.root).as_posix()}",
                                    f"build it first: {command}"))
        elif check_fresh and not _up_to_date(project, product):
            stale.append((product.name("full"), command))
    if problems:
        raise ContentError(problems)
    record = published.folder_record(project)
    key = _folder_key(project, items)
    facts = record.fresh(key)
    if facts is not None and sorted(facts["listing"]) == published.names(current):
        # Nothing it is made from changed, and the folder is as the last build left it.
        report = Report(current, stale=stale, entries=_entries(facts["entries"], items),
                        unlisted=facts["unlisted"], links=removed, withdrawn=gone)
        report.seconds = time.perf_counter() - started
        return report
    report = Report(current, stale=stale, links=removed, withdrawn=gone)
    before = listing(current)
    known = _known(record.read())
    with output.staged_folder(current) as stage:
        for rel in _extras(current):
            _write(stage, rel, (current / rel).read_bytes())
        for product in items:
            report.entries.append(trade.add(_package(project, product, stage, known), stage))
        release = trade.release_files(report.entries)
        for name, data in release.items():
            _write(stage, name, data)
        _write(stage, "catalogue.csv", catalogue_csv(report.entries).encode("utf-8-sig"))
        page = index_html(project, report.entries)
        _check_links(page, stage)
        catalogue = catalogue_json(report.entries, release)
        _write(stage, "catalogue.json", catalogue.encode("utf-8"))
        report.unlisted = _check_folder(stage, report.entries)
    output.write_text(project.shop_review, page)
    now = listing(current)
    report.changed = sorted(name for name, facts in now.items() if before.get(name) != facts)
    record.write(key, [current / name for name in now] + [project.shop_review], {
        "listing": now, "unlisted": report.unlisted,
        "entries": [[e.product.kind, e.product.id, e.pages, e.sample_pages,
                     [dataclasses.astuple(f) for f in e.files], _stamps(project, e.product)]
                    for e in report.entries]})
    report.seconds = time.perf_counter() - started
    return report


def _folder_key(project: Project, items: list[Product]) -> str:
    """Everything the folder is made from: the shop's code and layouts, every product's source
    and series file, and the files it copies (editions, samples, thumbnails) by size and
    modification time (none is read: the build rewrites one only when it remakes it)."""
    hasher = freshness.Hasher()
    sources = {p for item in items for p in (item.source, item.series.path)}
    layouts = layout.layout_files(project, "catalogue")
    copied = sorted((item.kind, item.id, role, freshness.stamp(path)) for item in items
                    for role, path in [("full", _edition(project, item)),
                                       *_derived(project, item).items()])
    return freshness.digest(freshness.code_key("press.products.shop"),
                            hasher.files(project.root, [*sources, *layouts]),
                            [(item.kind, item.id) for item in items], copied)


class _Recorded(NamedTuple):
    """A product's entry as the last build recorded it (JSON, read back)."""

    stamps: list[Any]  # what :func:`_stamps` gave then
    pages: int
    shown: int
    files: list[list[Any]]  # each FileEntry's fields


def _entries(recorded: list[list[Any]], items: list[Product]) -> list[Entry]:
    by_id = {(item.kind, item.id): item for item in items}
    return [Entry(by_id[(kind, pid)], pages, shown, tuple(FileEntry(*f) for f in files))
            for kind, pid, pages, shown, files, _ in recorded]


def _known(data: freshness.Facts | None) -> dict[tuple[str, str], _Recorded]:
    """The entries the last build recorded, by product."""
    if data is None:
        return {}
    try:
        return {(kind, pid): _Recorded(stamps, pages, shown, files)
                for kind, pid, pages, shown, files, stamps in data["facts"]["entries"]}
    except (TypeError, KeyError, ValueError):
        return {}


def _stamps(project: Project, product: Product) -> list[Any]:
    """What a product's entry is made from: its files by size and modification time, and how
    many pages its sample shows."""
    paths = [_edition(project, product), *_derived(project, product).values()]
    return [product.sample_pages, *(freshness.stamp(path) for path in paths)]


def _check_folder(stage: Path, entries: list[Entry]) -> list[str]:
    """The staged folder against its catalogue: every listed file there with the stated bytes
    and sha256, no PDF or derived file outside it. Returns the unlisted (hand-placed) files."""
    files = listing(stage)
    listed = {f.name: f for e in entries for f in e.files}
    for name, entry in listed.items():
        found = files.get(name)
        if found is None or (found["bytes"], found["sha256"]) != (entry.bytes, entry.sha256):
            raise output.IncompleteOutput(f"{name} does not match its catalogue entry")
    unlisted = sorted(set(files) - set(listed) - set(CATALOGUE_FILES)
                      - set(trade.RELEASE_FILES))
    for name in unlisted:
        if name.lower().endswith(".pdf") or _DERIVED.search(name):
            raise output.IncompleteOutput(f"{name} is in the folder but in no catalogue entry")
    return unlisted


def _up_to_date(project: Project, product: Product) -> bool:
    """Whether the product's web edition is as a build would make it now (its record)."""
    if product.bundle is not None:
        return bundles.bundle_up_to_date(project, product.bundle)
    assert product.briefing is not None  # a product is a bundle or a briefing
    return pipeline.up_to_date(project, product.briefing, "web")


def _package(project: Project, product: Product, stage: Path,
             known: dict[tuple[str, str], _Recorded]) -> Entry:
    """The product's files, copied into ``stage`` and checked: its web edition, and the sample
    and thumbnails made with it (by the briefing's worker, or the bundles stage). A product
    whose files are as the last build recorded them is copied with its recorded entry: no PDF
    is parsed again (the staged folder is still checked against every sha256)."""
    recorded = known.get((product.kind, product.id))
    if recorded is not None and recorded.stamps == _stamps(project, product):
        entry = Entry(product, recorded.pages, recorded.shown,
                      tuple(FileEntry(*f) for f in recorded.files))
        for role, path in [("full", _edition(project, product)),
                           *_derived(project, product).items()]:
            _write(stage, product.name(role), _made_with(project, product, path))
        return entry
    full_name = product.name("full")
    pdf = _edition(project, product).read_bytes()
    try:
        pages = pdf_pages(pdf, full_name)
    except output.IncompleteOutput as exc:
        raise ContentError.at(product.source, None, str(exc), "rebuild it") from None
    _write(stage, full_name, pdf)
    files = [FileEntry("full", full_name, len(pdf), sha256(pdf))]
    made = _derived(project, product)
    for role, width in THUMB_WIDTHS.items():
        data = _made_with(project, product, made[role])
        _check_png(data, width, product.name(role))
        _write(stage, product.name(role), data)
        files.append(FileEntry(role, product.name(role), len(data), sha256(data)))
    data = _made_with(project, product, made["sample"])
    shown = min(product.sample_pages, pages)
    sample_pages = pdf_pages(data, product.name("sample"))
    if sample_pages != shown + 1:
        raise output.IncompleteOutput(f"{product.name('sample')}: {sample_pages} pages, "
                                      f"expected {shown} + the note")
    _write(stage, product.name("sample"), data)
    files.insert(1, FileEntry("sample", product.name("sample"), len(data), sha256(data)))
    return Entry(product, pages, shown, tuple(files))


def _derived(project: Project, product: Product) -> dict[str, Path]:
    """Where the sample and the thumbnails made with the product's web edition are."""
    if product.kind == "bundle":
        return project.bundle_extras(product.id)
    return {role: project.briefing_outputs(product.id)[role] for role in ("sample", *THUMB_WIDTHS)}


def _made_with(project: Project, product: Product, path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        command = (f"python build.py bundle {product.id}" if product.kind == "bundle"
                   else f"python build.py briefing {product.id}")
        raise ContentError.at(product.source, None,
                              f"no {path.relative_to(project.root).as_posix()}",
                              f"build it: {command}") from None


def pdf_pages(data: bytes, name: str) -> int:
    """The page count of a PDF that must be complete and readable (else IncompleteOutput).

    Opened with pdfium, as the thumbnails are: in C, about a millisecond, where pypdf takes a
    tenth of a second to read a PDF's cross-reference and object streams."""
    import pypdfium2 as pdfium

    try:
        output.check_pdf(data)
        document = pdfium.PdfDocument(data)
        try:
            return len(document)
        finally:
            document.close()
    except (pdfium.PdfiumError, output.IncompleteOutput, ValueError) as exc:
        raise output.IncompleteOutput(f"{name}: not a readable PDF ({exc})") from None


def _check_png(data: bytes, width: int, name: str) -> None:
    from PIL import Image

    with Image.open(io.BytesIO(data)) as image:
        if image.format != "PNG" or image.width != width:
            raise output.IncompleteOutput(f"{name}: expected a PNG {width} px wide")


class _Links(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("href", "src") and value:
                self.urls.append(value)
            elif name == "srcset" and value:
                self.urls.extend(item.split()[0] for item in value.split(",") if item.strip())


def _check_links(page: str, stage: Path) -> None:
    """Every local link and image of the index page must be a file in the folder."""
    parser = _Links()
    parser.feed(page)
    for url in parser.urls:
        if url.startswith(("#", "http://", "https://", "mailto:")):
            continue
        url = url.removeprefix("upload/")
        if url not in CATALOGUE_FILES and not (stage / url).is_file():
            raise output.IncompleteOutput(f"index.html links to missing file {url}")



# -- the shop step of a full build -------------------------------------------------------------

@dataclass
class AfterBuild:
    """What the shop step of a full build did, for the command line to report."""

    report: Report | None = None  # None: the folder was not built
    problems: Problems = field(default_factory=Problems)
    blocked: bool = False  # not built because of the errors of the steps before it


def after_build(project: Project, results: list[pipeline.Result], blocked: bool = False,
                with_web: bool = True) -> AfterBuild:
    """The shop step of a full build: runs only if everything before it built cleanly and
    the web editions were part of the build (``with_web``)."""
    step = AfterBuild()
    if not with_web:
        return step
    content = Problems()
    load_all(project, content)  # (its errors were reported by the briefings step already)
    if blocked or content.errors or any(not r.ok for r in results):
        step.blocked = True
        return step
    try:
        step.report = build(project, check_fresh=False)  # the steps before made them
    except ContentError as exc:
        step.problems.extend(exc.problems)
    return step


__all__ = ["Product", "FileEntry", "Entry", "Report", "AfterBuild", "ROLES", "CATALOGUE_FILES",
           "build", "after_build", "products", "pdf_pages",
           "catalogue_json", "catalogue_csv", "index_html", "human_size", "changes",
           "mark_published", "listing", "sha256"]
