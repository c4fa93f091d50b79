"""Shop stage: the web shop folder — cover thumbnails, free samples, catalogue and index page.

``output/web/`` is the folder the web team uploads as it is. The pipeline writes the web
editions into it (``<slug>.pdf``, ``bundles/<id>.pdf``); this stage adds, for every final
briefing and every bundle:

* ``<name>-cover.png`` (600 px wide) and ``<name>-cover@2x.png`` (1200 px), rasterised with
  pdfium; PNGs carry no timestamps or text chunks, so unchanged covers keep their checksum;
* ``<name>-sample.pdf``: the first pages (cover, contents, first content page by default) and
  a last page saying where to buy the full product, laid out again with WeasyPrint in one
  document so that the sample is tagged PDF/UA-1 like the full edition;
* ``catalogue.json``, ``catalogue.csv`` and ``index.html`` describing every product and file.

The folder is built in a staging folder that starts as a copy of the current pipeline outputs
and is swapped in (``output.staged_folder``) only when every product is built and checked; the
catalogue is written last. ``changes()`` compares the folder with the snapshot taken by
``mark_published()`` (``output/web-published.json``) after the web team's last upload.
"""

from __future__ import annotations

import copy
import csv
import datetime as dt
import hashlib
import html.parser
import io
import json
import re
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from press.briefing import layout, markdown
from press.content.load import load_all
from press.core import freshness, output
from press.errors import ContentError, Problem, Problems, UsageError
from press.model import Briefing, Page, Series
from press.products import bundles as assemble
from press.project import Project
from press.render import typeset, web

THUMB_WIDTHS = {"cover": 600, "cover@2x": 1200}
DEFAULT_SAMPLE_PAGES = 3  # cover, contents (inside cover), first content page
MAX_CONTENTS = 12  # sections listed on the sample's note page (it must stay one page)
CATALOGUE_FILES = ("catalogue.json", "catalogue.csv", "index.html")
PUBLISHED_SNAPSHOT = "web-published.json"  # in output/, beside the folder it describes
ROLES = ("full", "sample", "cover", "cover@2x")
_DERIVED = re.compile(r"(^|/)[^/]+(-cover\.png|-cover@2x\.png|-sample\.pdf)$")


# -- products ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Product:
    """One thing the shop sells: a final briefing or a bundle, with where its files live."""

    kind: str  # "briefing" or "bundle"
    id: str  # the briefing slug or the bundle id
    source: Path  # the .md or .yaml it comes from
    series: Series
    title: str
    subtitle: str
    number: int | None
    indicator_code: str
    indicator_title: str
    published: str
    authors: tuple[str, ...]
    summary: str
    keywords: tuple[str, ...]
    price: float | None
    isbn: str
    sample_pages: int
    briefing: Briefing | None = None  # for briefings: what to re-render the sample from
    parts: tuple[Briefing, ...] = ()  # for bundles: the briefings it collects
    bundle: assemble.Bundle | None = None  # for bundles: what to re-render the sample from

    @property
    def folder(self) -> str:
        return "bundles/" if self.kind == "bundle" else ""

    def name(self, role: str) -> str:
        """The file's path inside ``output/web/`` for ``role`` (one of ``ROLES``)."""
        suffix = {"full": ".pdf", "sample": "-sample.pdf", "cover": "-cover.png",
                  "cover@2x": "-cover@2x.png"}[role]
        return f"{self.folder}{self.id}{suffix}"

    @property
    def published_label(self) -> str:
        parts = [int(p) for p in self.published.split("-")]
        return dt.date(parts[0], parts[1], parts[2] if len(parts) > 2 else 1).strftime("%B %Y")


@dataclass(frozen=True)
class FileEntry:
    role: str
    name: str
    bytes: int
    sha256: str


@dataclass(frozen=True)
class Entry:
    """A product as published: its page count and files."""

    product: Product
    pages: int
    sample_pages: int  # pages of the product shown in the sample (the note page not counted)
    files: tuple[FileEntry, ...]

    def file(self, role: str) -> FileEntry:
        return next(f for f in self.files if f.role == role)


@dataclass
class Report:
    folder: Path
    entries: list[Entry] = field(default_factory=list)
    made: int = 0  # thumbnails and samples made in this run
    reused: int = 0  # ... taken from the cache because their inputs had not changed
    unlisted: list[str] = field(default_factory=list)  # files in the folder but in no product
    stale: list[tuple[str, str]] = field(default_factory=list)  # (edition, command) out of date
    seconds: float = 0.0


def products(project: Project) -> list[Product]:
    """Every final briefing and every bundle, in catalogue order; raise on content errors."""
    problems = Problems()
    series, briefings = load_all(project, problems)
    problems.raise_if_errors()
    finals = sorted((b for b in briefings if not b.is_draft),
                    key=lambda b: (b.series.id, b.number, b.slug))
    items = [_briefing_product(b) for b in finals]
    by_slug = {b.slug: b for b in briefings}
    for path in project.bundle_paths():
        try:
            items.append(_bundle_product(assemble.load_bundle(project, path, series, by_slug)))
        except ContentError as exc:
            problems.extend(exc.problems)
    problems.raise_if_errors()
    return items


def _briefing_product(b: Briefing) -> Product:
    return Product(
        kind="briefing", id=b.slug, source=b.path, series=b.series, title=b.title,
        subtitle=b.subtitle, number=b.number, indicator_code=b.indicator.code,
        indicator_title=b.indicator.title, published=b.published,
        authors=tuple(a.name for a in b.authors), summary=b.summary, keywords=b.keywords,
        price=b.price, isbn=b.isbn, briefing=b,
        sample_pages=b.sample_pages or b.series.sample_pages or DEFAULT_SAMPLE_PAGES)


def _bundle_product(bundle: assemble.Bundle) -> Product:
    """A bundle as the bundles stage loads it (``content/bundles/<id>.yaml``)."""
    parts = bundle.briefings
    return Product(
        kind="bundle", id=bundle.id, source=bundle.path, series=bundle.series,
        title=bundle.title, subtitle=bundle.subtitle, number=None,
        indicator_code=", ".join(b.indicator.code for b in parts),
        indicator_title="; ".join(b.indicator.title for b in parts),
        published=bundle.published,
        authors=tuple(dict.fromkeys(a.name for b in parts for a in b.authors)),
        summary=assemble.description(bundle),
        keywords=tuple(dict.fromkeys(k for b in parts for k in b.keywords)),
        price=bundle.price, isbn=bundle.isbn, parts=parts, bundle=bundle,
        sample_pages=bundle.series.sample_pages or DEFAULT_SAMPLE_PAGES)


# -- thumbnails --------------------------------------------------------------------------------

def thumbnail(pdf: bytes, width: int) -> bytes:
    """The first page rasterised by pdfium at exactly ``width`` pixels wide, as a PNG.

    Pillow writes no tIME or text chunks unless asked, so the same page gives the same bytes.
    """
    import pypdfium2 as pdfium
    from PIL import Image

    document = pdfium.PdfDocument(pdf)
    try:
        page = document[0]
        page_width, _ = page.get_size()
        image = page.render(scale=width / page_width).to_pil().convert("RGB")
        page.close()
    finally:
        document.close()
    if image.width != width:  # pdfium rounds the bitmap size; never off by more than a pixel
        height = round(image.height * width / image.width)
        image = image.resize((width, height), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    image.save(buffer, "PNG", optimize=True)
    return buffer.getvalue()


# -- samples -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class _ContentsItem:
    text: str
    in_sample: bool


def _note_page(project: Project, product: Product, shown: int, total: int,
               contents: list[_ContentsItem]) -> typeset.Typeset:
    """The sample's last page, laid out with the house style (layouts/_sample_note.html)."""
    env = layout.environment(project.layouts)
    html = env.get_template("_sample_note.html").render(
        product=product, series=product.series, shown=shown, total=total,
        kind_word="bundle" if product.kind == "bundle" else "briefing",
        contents_title="In this bundle" if product.kind == "bundle" else "In the full briefing",
        contents=contents[:MAX_CONTENTS], more=max(0, len(contents) - MAX_CONTENTS),
        published_label=product.published_label,
        css_url=layout.file_url(project.layouts / "briefing.css"),
        qr=layout.qr_svg(product.series.purchase_url))
    page = Page(html=html, base_url=layout.file_url(project.layouts) + "/",
                name=str(product.source))
    return typeset.render(page, project.root)


def _sample_metadata(metadata, product: Product):
    sample = copy.copy(metadata)
    sample.title = f"{metadata.title or product.title} (sample)"
    sample.keywords = [*metadata.keywords, "sample"]
    sample.description = (f"Free sample of {product.title}: the first {product.sample_pages} "
                          f"pages. Buy the full {product.kind} at "
                          f"{product.series.purchase_url}")
    return sample


def briefing_sample(project: Project, product: Product, full_pages: int) -> tuple[bytes, int]:
    """A tagged PDF/UA-1 sample: the briefing's first pages plus the note, laid out together.

    The briefing is laid out again (WeasyPrint keeps no layout between runs) and its first
    pages are combined with the note page in one ``Document``, so WeasyPrint writes one
    structure tree and the sample stays a tagged, accessible PDF. Returns (pdf, pages shown).
    """
    briefing = product.briefing
    body = markdown.convert(briefing, project.root)
    laid_out = typeset.render(layout.page(project, briefing, body), project.root)
    document = laid_out.document
    if len(document.pages) != full_pages:
        raise ContentError.at(briefing.path, None,
                              f"the web edition output/web/{briefing.slug}.pdf has {full_pages} "
                              f"pages but the briefing now lays out as {len(document.pages)}",
                              f"rebuild it first: python build.py briefing {briefing.slug}")
    shown = min(product.sample_pages, full_pages)
    anchors = set()
    for page in document.pages[:shown]:
        anchors.update(page.anchors)
    contents = [_ContentsItem(h.text, h.id in anchors) for h in body.headings if h.level == 2]
    if body.references_html:
        contents.append(_ContentsItem("References", f"{briefing.slug}--references" in anchors))
    note = _note_page(project, product, shown, full_pages, contents)
    sample = document.copy(document.pages[:shown] + note.document.pages)
    sample.metadata = _sample_metadata(document.metadata, product)
    ident = f"{briefing.series.id}/{briefing.slug}/sample"
    data = web.write_web(typeset.Typeset(sample), None, ident, excerpt=True)
    return data, shown


def bundle_sample(project: Project, product: Product, pdf: bytes,
                  folder: Path) -> tuple[bytes, int]:
    """A bundle's sample, tagged like a briefing's: the bundle's own front matter (laid out as
    the bundles stage lays it out), then the first pages of its briefings, then the note.

    The bundle PDF is merged by pypdf, so there is no layout to cut from; laying the same
    pages out again gives the same pages (checked against the bundle's page count here, and
    by text in the tests) in one WeasyPrint document, which writes one structure tree.
    """
    from pypdf import PdfReader

    total = len(PdfReader(io.BytesIO(pdf)).pages)
    bundle = product.bundle
    counts = tuple(_pdf_pages((folder / f"{b.slug}.pdf").read_bytes(), f"{b.slug}.pdf")
                   for b in bundle.briefings)
    front = 2  # cover and contents; the contents may run longer
    for _ in range(3):
        the_plan = assemble.plan(front, counts, "web", bundle.series.booklet)
        own = typeset.render(assemble.page(project, bundle, the_plan), project.root)
        if own.page_count - 1 == front:
            break
        front = own.page_count - 1
    if the_plan.total != total or own.page_count - 1 != front:
        raise ContentError.at(product.source, None,
                              f"the web edition output/web/{product.name('full')} has {total} "
                              f"pages but the bundle now lays out as {the_plan.total}",
                              f"rebuild it first: python build.py bundle {product.id}")
    shown = min(product.sample_pages, total)
    pages = own.document.pages[:min(shown, front)]
    laid_out = [own]  # keep every document (and its fonts) alive until the sample is written
    for briefing in bundle.briefings:
        if len(pages) >= shown:
            break
        body = markdown.convert(briefing, project.root)
        laid_out.append(typeset.render(layout.page(project, briefing, body), project.root))
        pages += laid_out[-1].document.pages[:shown - len(pages)]
    if len(pages) < shown:
        pages.append(own.document.pages[-1])  # the back cover
    contents = [_ContentsItem(f"{b.indicator.code}: {b.title}", start < shown)
                for b, start in zip(bundle.briefings, the_plan.starts)]
    note = _note_page(project, product, shown, total, contents)
    sample = own.document.copy(pages + note.document.pages)
    sample.metadata = _sample_metadata(own.document.metadata, product)
    ident = f"{product.series.id}/bundles/{product.id}/sample"
    return web.write_web(typeset.Typeset(sample), None, ident, excerpt=True), shown


# -- the cache of derived files ----------------------------------------------------------------

class _Cache(freshness.DerivedStore):
    """Thumbnails and samples by the hash of everything they are made from (``.cache/shop``).

    A rebuild with unchanged sources reuses them instead of laying out and rasterising again;
    entries not used by a successful build are removed.
    """

    def __init__(self, project: Project):
        super().__init__(project.cache, "shop")
        code = freshness.code_key("press.products.shop")
        self.code_only = hashlib.sha256(code.encode())
        self.code = self.code_only.copy()
        for path in sorted(project.layouts.glob("*")):
            if path.is_file():
                self.code.update(path.name.encode() + b"\0" + path.read_bytes())

    def key(self, *parts, layouts: bool = True) -> str:
        """A hash of ``parts``, this product's code and (if ``layouts``) every layout file."""
        digest = (self.code if layouts else self.code_only).copy()
        for part in parts:
            digest.update(b"\0" + (part if isinstance(part, bytes) else str(part).encode()))
        return digest.hexdigest()[:40]


# -- building the folder -----------------------------------------------------------------------

def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _pdf_pages(data: bytes, name: str) -> int:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        output.check_pdf(data)
        return len(PdfReader(io.BytesIO(data)).pages)
    except (PdfReadError, output.IncompleteOutput, ValueError) as exc:
        raise output.IncompleteOutput(f"{name}: not a readable PDF ({exc})") from None


def _write(stage: Path, name: str, data: bytes) -> None:
    path = stage / name
    output.write_bytes(path, data)
    path.chmod(0o644)


def _copy_current(current: Path, stage: Path, products_: list[Product]) -> None:
    """Start the staging folder from the pipeline's files (web editions, bundles, anything
    else another stage put there), leaving out what this stage makes anew."""
    keep = {p.name("full") for p in products_}
    if not current.is_dir():
        return
    for path in sorted(current.rglob("*")):
        rel = path.relative_to(current).as_posix()
        if any(part.startswith(".") for part in rel.split("/")) or not path.is_file():
            continue
        if rel not in keep and (rel in CATALOGUE_FILES or _DERIVED.search(rel)):
            continue
        target = stage / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
        target.chmod(0o644)


def build(project: Project, say=lambda *a: None) -> Report:
    """Build ``output/web/`` for every product and swap it in; raise ContentError on problems.

    Everything is checked before anything is written: a missing or unreadable edition stops
    the build with the previous folder untouched.
    """
    started = time.perf_counter()
    # leftovers of a killed build: staging folders, a half-done swap (rolled back), partials
    output.clean_partials(project.output)
    items = products(project)
    current = project.shop_folder
    problems, stale = [], []
    for product in items:
        path = current / product.name("full")
        command = (f"python build.py bundle {product.id}" if product.kind == "bundle"
                   else f"python build.py briefing {product.id}")
        if not path.is_file():
            problems.append(Problem(product.source, None,
                                    f"no web edition output/web/{product.name('full')}",
                                    f"build it first: {command}"))
        elif path.stat().st_mtime < _newest_input(project, product):
            stale.append((product.name("full"), command))
    if problems:
        raise ContentError(problems)
    cache = _Cache(project)
    report = Report(current, stale=stale)
    with output.staged_folder(current) as stage:
        stage.chmod(0o755)
        _copy_current(current, stage, items)
        for product in items:
            report.entries.append(_package(project, product, stage, cache, report))
        _write(stage, "catalogue.csv", catalogue_csv(report.entries).encode("utf-8-sig"))
        page = index_html(project, report.entries)
        _check_links(page, stage)
        _write(stage, "index.html", page.encode("utf-8"))
        _write(stage, "catalogue.json", catalogue_json(report.entries).encode("utf-8"))
        listed = {f.name for e in report.entries for f in e.files} | set(CATALOGUE_FILES)
        report.unlisted = sorted(set(listing(stage)) - listed)
    cache.prune()
    report.seconds = time.perf_counter() - started
    return report


def _newest_input(project: Project, product: Product) -> float:
    """When the product's source (and, for a bundle, its briefings' editions) last changed."""
    inputs = [product.source] + [project.shop_folder / f"{b.slug}.pdf" for b in product.parts]
    return max(p.stat().st_mtime for p in inputs if p.exists())


def _package(project: Project, product: Product, stage: Path, cache: _Cache,
             report: Report) -> Entry:
    """Thumbnails and sample for one product, written into ``stage`` and checked."""
    full_name = product.name("full")
    pdf = (stage / full_name).read_bytes()
    try:
        pages = _pdf_pages(pdf, full_name)
    except output.IncompleteOutput as exc:
        raise ContentError.at(product.source, None, str(exc), "rebuild it") from None
    pdf_hash = sha256(pdf)
    files = [FileEntry("full", full_name, len(pdf), pdf_hash)]
    for role, width in THUMB_WIDTHS.items():
        key = cache.key("thumbnail", pdf_hash, width, layouts=False)
        data = cache.get(key, ".png")
        if data is None:
            data = thumbnail(pdf, width)
            cache.put(key, ".png", data)
            report.made += 1
        else:
            report.reused += 1
        _check_png(data, width, product.name(role))
        _write(stage, product.name(role), data)
        files.append(FileEntry(role, product.name(role), len(data), sha256(data)))
    key = cache.key("sample", pdf_hash, product.source.read_bytes(),
                    product.series.path.read_bytes(), json.dumps(_fields(product, pages)))
    data = cache.get(key, ".pdf")
    if data is None:
        if product.kind == "briefing":
            data, _ = briefing_sample(project, product, pages)
        else:
            data, _ = bundle_sample(project, product, pdf, stage)
        cache.put(key, ".pdf", data)
        report.made += 1
    else:
        report.reused += 1
    shown = min(product.sample_pages, pages)
    sample_pages = _pdf_pages(data, product.name("sample"))
    if sample_pages != shown + 1:
        raise output.IncompleteOutput(f"{product.name('sample')}: {sample_pages} pages, "
                                      f"expected {shown} + the note")
    _write(stage, product.name("sample"), data)
    files.insert(1, FileEntry("sample", product.name("sample"), len(data), sha256(data)))
    return Entry(product, pages, shown, tuple(files))


def _check_png(data: bytes, width: int, name: str) -> None:
    from PIL import Image

    with Image.open(io.BytesIO(data)) as image:
        if image.format != "PNG" or image.width != width:
            raise output.IncompleteOutput(f"{name}: expected a PNG {width} px wide")


class _Links(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag, attrs):
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
        if url not in CATALOGUE_FILES and not (stage / url).is_file():
            raise output.IncompleteOutput(f"index.html links to missing file {url}")


# -- catalogue ---------------------------------------------------------------------------------

def _fields(product: Product, pages: int) -> dict:
    fields = {
        "id": product.id, "type": product.kind, "title": product.title,
        "subtitle": product.subtitle,
        "series": {"id": product.series.id, "name": product.series.name},
        "number": product.number,
        "indicator": {"code": product.indicator_code, "title": product.indicator_title},
        "published": product.published, "authors": list(product.authors),
        "summary": product.summary, "keywords": list(product.keywords),
        "price": product.price, "currency": "GBP", "isbn": product.isbn, "pages": pages,
        "sample_pages": min(product.sample_pages, pages),
        "purchase_url": product.series.purchase_url,
    }
    if product.kind == "bundle":
        fields["briefings"] = [b.slug for b in product.parts]
    return fields


def catalogue_json(entries: list[Entry]) -> str:
    """The machine-readable catalogue: no dates or timings, so unchanged means identical."""
    products_ = []
    for entry in entries:
        item = _fields(entry.product, entry.pages)
        item["files"] = [{"role": f.role, "name": f.name, "bytes": f.bytes, "sha256": f.sha256}
                         for f in entry.files]
        products_.append(item)
    document = {"catalogue": "briefing press web shop", "format": 1, "products": products_}
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


CSV_COLUMNS = ["id", "type", "title", "subtitle", "series", "number", "indicator_code",
               "indicator_title", "published", "authors", "summary", "keywords", "price",
               "isbn", "pages", "sample_pages", "purchase_url"] + [
    f"{role}_{what}" for role in ROLES for what in ("name", "bytes", "sha256")]


def catalogue_csv(entries: list[Entry]) -> str:
    """One row per product; lists are joined with '; '. Written with a BOM for spreadsheets."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, CSV_COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    for entry in entries:
        fields = _fields(entry.product, entry.pages)
        row = {key: fields[key] for key in CSV_COLUMNS if key in fields}
        row.update(series=fields["series"]["name"], indicator_code=fields["indicator"]["code"],
                   indicator_title=fields["indicator"]["title"],
                   authors="; ".join(fields["authors"]), keywords="; ".join(fields["keywords"]),
                   price="" if fields["price"] is None else f"{fields['price']:.2f}",
                   number="" if fields["number"] is None else fields["number"])
        for f in entry.files:
            row.update({f"{f.role}_name": f.name, f"{f.role}_bytes": f.bytes,
                        f"{f.role}_sha256": f.sha256})
        writer.writerow(row)
    return buffer.getvalue()


def human_size(size: int) -> str:
    if size < 1024:
        return f"{size} bytes"
    if size < 1024 * 1024:
        return f"{round(size / 1024)} KB"
    return f"{size / 1024 / 1024:.1f} MB"


def index_html(project: Project, entries: list[Entry]) -> str:
    """The catalogue page the web team opens before uploading (layouts/catalogue.html)."""
    env = layout.environment(project.layouts)
    series = list(dict.fromkeys(e.product.series for e in entries))
    total = sum(f.bytes for e in entries for f in e.files)
    return env.get_template("catalogue.html").render(
        entries=entries, series=series,
        briefings=[e for e in entries if e.product.kind == "briefing"],
        bundles=[e for e in entries if e.product.kind == "bundle"],
        file_count=sum(len(e.files) for e in entries), total_size=human_size(total),
        size=human_size)


# -- what changed since the last upload --------------------------------------------------------

def listing(folder: Path) -> dict[str, dict]:
    """``{relative name: {"bytes", "sha256"}}`` for every file in the folder (not hidden)."""
    files = {}
    if not folder.is_dir():
        return files
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder).as_posix()
        if path.is_file() and not any(p.startswith(".") for p in rel.split("/")):
            data = path.read_bytes()
            files[rel] = {"bytes": len(data), "sha256": sha256(data)}
    return files


def snapshot_path(project: Project) -> Path:
    return project.output / PUBLISHED_SNAPSHOT


def changes(project: Project) -> list[tuple[str, str]] | None:
    """``[(status, name)]``: files that are new, changed or removed since the last upload was
    marked published (sorted by name); None if no upload has been marked yet."""
    now = listing(project.shop_folder)
    path = snapshot_path(project)
    if not path.is_file():
        return None
    try:
        before = json.loads(path.read_text(encoding="utf-8"))["files"]
    except (ValueError, KeyError, TypeError):
        raise ContentError.at(path, None, "the published snapshot is not readable",
                              "mark the last upload again: python build.py web "
                              "--mark-published") from None
    result = []
    for name in sorted(set(now) | set(before)):
        if name not in before:
            result.append(("new", name))
        elif name not in now:
            result.append(("removed", name))
        elif now[name]["sha256"] != before[name].get("sha256"):
            result.append(("changed", name))
    return result


def mark_published(project: Project) -> int:
    """Record the folder as uploaded: ``output/web-published.json``. Returns the file count."""
    folder = project.shop_folder
    if not (folder / "catalogue.json").is_file():
        raise ContentError.at(folder, None, "there is no web shop folder to mark",
                              "build it first: python build.py web")
    files = listing(folder)
    text = json.dumps({"folder": "output/web", "files": files}, indent=2, sort_keys=True)
    output.write_text(snapshot_path(project), text + "\n")
    return len(files)


# -- command line ------------------------------------------------------------------------------

def command(project: Project, args, say) -> int:
    """``build.py web [--changes | --mark-published]``."""
    if args.slugs:
        raise UsageError("'web' packages every final briefing and bundle; it takes no names")
    mark = getattr(args, "mark_published", False)
    if mark and args.changes:
        raise UsageError("use --changes or --mark-published, not both")
    if mark:
        count = mark_published(project)
        say(f"web: marked {count} files in output/web as published "
            f"(snapshot output/{PUBLISHED_SNAPSHOT})")
        return 0
    if args.changes:
        return _say_changes(project, say, full=True)
    report = build(project, say)
    _say_report(project, report, say)
    _say_changes(project, say, full=False)
    return 0


def _say_report(project: Project, report: Report, say) -> None:
    size = sum(f.bytes for e in report.entries for f in e.files)
    kinds = [e.product.kind for e in report.entries]
    say(f"web: output/web ready: {_count(kinds.count('briefing'), 'briefing')}, "
        f"{_count(kinds.count('bundle'), 'bundle')}, "
        f"{sum(len(e.files) for e in report.entries)} files ({human_size(size)}) in "
        f"{report.seconds:.1f} s; {report.made} thumbnails/samples made, {report.reused} "
        "unchanged")
    for name in report.unlisted:
        say(f"web: note: output/web/{name} is in the folder but in no catalogue entry")
    for name, command in report.stale:
        say(f"web: note: output/web/{name} is older than what it is made from: rebuild it "
            f"before uploading ({command})")


def _count(number: int, word: str) -> str:
    return f"{number} {word}{'' if number == 1 else 's'}"


def _say_changes(project: Project, say, full: bool) -> int:
    found = changes(project)
    if found is None:
        say("web: no upload has been marked as published yet, so every file is new "
            "(after uploading: python build.py web --mark-published)")
        if full:
            for name in listing(project.shop_folder):
                say(f"new      {name}")
        return 0
    if not full:
        say(f"web: {len(found)} files differ from the last published upload"
            + (" (list them: python build.py web --changes)" if found else ""))
        return 0
    if not found:
        say("web: no changes since the last published upload")
    for status, name in found:
        say(f"{status:<8} {name}")
    return 0


def after_build(project: Project, args, results, say, blocked: bool = False) -> Problems:
    """The shop step of a full build: runs only if everything before it built cleanly (and
    the web editions were part of the build)."""
    problems = Problems()
    if getattr(args, "edition", "all") not in ("all", "web"):
        return problems
    content = Problems()
    load_all(project, content)  # (its errors were reported by the briefings step already)
    if blocked or content.errors or any(not r.ok for r in results):
        say("web: output/web shop folder not updated because of the errors above")
        return problems
    try:
        report = build(project, say)
    except ContentError as exc:
        problems.extend(exc.problems)
        return problems
    _say_report(project, report, say)
    _say_changes(project, say, full=False)
    return problems


__all__ = ["Product", "Entry", "Report", "build", "products", "thumbnail", "briefing_sample",
           "bundle_sample", "catalogue_json", "catalogue_csv", "index_html", "changes",
           "mark_published", "command", "after_build", "listing"]
