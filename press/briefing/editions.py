"""Editions stage: a briefing's HTML and EPUB 3 editions, from the Body its PDFs were made from.

``write_editions`` is the one entry point (the build calls it after the web PDF, with the same
Body and layout). The HTML edition is one page, ``output/html/<slug>.html``, its
figures inside it (data: URLs), beside ``output/html/assets/`` (the stylesheet and the subset
fonts every edition shares, which a browser caches once): a briefing's HTML edition is one
file to upload, replace or remove, like its PDFs.
"""

from __future__ import annotations

import base64
import json
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from markupsafe import Markup

from press.briefing import layout
from press.briefing.reflow import EPUB_NS, IMAGE_TYPES, Reflowed, reflow, serialize
from press.core import output
from press.errors import ContentError
from press.model import Body, Briefing, Heading
from press.project import Project
from press.render import epub

if TYPE_CHECKING:  # only the annotation: typeset imports WeasyPrint
    from press.render.typeset import Typeset

SAMPLE_SECTIONS = 2  # a sample-only series shows the first two sections, as its sample PDF does
FONTS = ("Lato-Regular.ttf", "Lato-Italic.ttf", "Lato-Bold.ttf", "Lato-BoldItalic.ttf")
ACCESS_FEATURES = ("structuralNavigation", "tableOfContents", "alternativeText", "readingOrder",
                   "displayTransformability")


@dataclass(frozen=True)
class Link:
    href: str
    text: str
    type: str = ""


def write_editions(project: Project, briefing: Briefing, body: Body, laid_out: Typeset | None = None
                   ) -> list[Path]:
    """Write the HTML edition's folder and the EPUB; ``laid_out`` (the PDF's Typeset) gives
    the EPUB its print page numbers. Returns the paths written."""
    pages = epub.anchor_pages(laid_out.document) if laid_out is not None else {}
    page, book = project.html_edition(briefing.slug), project.epub_edition(briefing.slug)
    files = html_edition(project, briefing, body)
    for name, data in files.items():
        target = page if name == "index.html" else project.html_assets / name
        if not (target.is_file() and target.read_bytes() == data):  # shared: often the same
            output.write_bytes(target, data)
    output.write_bytes(book, epub_edition(project, briefing, body, pages))
    return [page, book]


# -- the HTML edition -----------------------------------------------------------------------


def html_edition(project: Project, briefing: Briefing, body: Body) -> dict[str, bytes]:
    """The HTML edition's page (``index.html``) and its shared files (paths in assets/)."""
    free = briefing.series.free_to_read
    flow = reflow(briefing, body, project.root, epub=False,
                  sample_sections=0 if free else SAMPLE_SECTIONS)
    slug = briefing.slug
    links = [Link(f"../web/{slug}.pdf", "PDF edition", "application/pdf"),
             Link(f"../epub/{slug}.epub", "EPUB edition", "application/epub+zip"),
             Link(briefing.series.purchase_url, "Buy the printed briefing")]
    if not free:
        links = [links[2]]
    for img in flow.body.iter("img"):  # figures inside the page: one file per briefing
        source = flow.images[img.get("src", "").removeprefix("images/")]
        data = base64.b64encode(_image(project, source)).decode()
        img.set("src", f"data:{IMAGE_TYPES[source.suffix.lower()]};base64,{data}")
    template = layout.environment(project.layouts).get_template("html/edition.html")
    page = template.render(**_context(briefing, body, flow), links=links,
                           json_ld=_json_ld(briefing, free),
                           citation=_citation_meta(briefing, free))
    return {"index.html": page.encode(), **_shared_files(project, None)}


def _context(briefing: Briefing, body: Body, flow: Reflowed) -> dict[str, object]:
    prefix = f"{briefing.slug}--"
    kept = {el.get("id") for el in flow.body.iter() if el.get("id")}
    contents = [h for h in body.headings if h.id in kept]
    if flow.notes:
        contents.append(Heading(2, "Notes", f"{prefix}notes"))
    if flow.references is not None:
        contents.append(Heading(2, "References", f"{prefix}references"))
    return {
        "briefing": briefing, "series": briefing.series, "prefix": prefix,
        "body": Markup(serialize(flow.body)),
        "notes": [Markup(serialize(_wrap(note))) for note in flow.notes],
        "references": Markup(serialize(flow.references)) if flow.references is not None
        else "",
        "contents": contents, "toc": _nested(contents), "sample": flow.sample,
        "created": briefing.published_date.isoformat(),
        "about_paragraphs": [p.strip() for p in briefing.series.about.split("\n\n")
                             if p.strip()],
    }


def _nested(headings: list[Heading]) -> list[tuple[Heading, list[Heading]]]:
    """Level-2 headings, each with the level-3 headings under it (a contents list numbers
    only the sections)."""
    toc: list[tuple[Heading, list[Heading]]] = []
    for heading in headings:
        if heading.level == 2 or not toc:
            toc.append((heading, []))
        else:
            toc[-1][1].append(heading)
    return toc


def _wrap(element: ET.Element) -> ET.Element:
    holder = ET.Element("div")
    holder.append(element)
    return holder


def _shared_files(project: Project, flow: Reflowed | None) -> dict[str, bytes]:
    """The stylesheet, the fonts and (``flow``: the EPUB's) the figures."""
    files = {"edition.css": (project.layouts / "html" / "edition.css").read_bytes()}
    files.update({f"fonts/{name}": data for name, data in edition_fonts(project).items()})
    for name, source in (flow.images.items() if flow else ()):
        files[f"images/{name}"] = _image(project, source)
    return files


def _image(project: Project, source: Path) -> bytes:
    """A figure's bytes as the PDFs get them: through the sandboxed fetcher, which refuses
    files outside the project, scripted or external SVG and broken or oversized images, and
    strips a JPEG to the segments that draw it (no EXIF, comments or trailing data)."""
    from press.render.fetcher import ProjectFetcher, RefusedResource

    try:
        data: bytes = ProjectFetcher(project.root).fetch(source.as_uri()).read()
        return data
    except RefusedResource as exc:
        raise ContentError.at(source, None, str(exc), "fix the figure; the PDF refuses it too"
                              ) from None


def edition_fonts(project: Project) -> dict[str, bytes]:
    """The house faces subset for the editions, made once per font and kept in
    ``.cache/fonts/`` (about 0.6 s a face: every briefing uses the same four)."""
    fonts = {}
    for name in FONTS:
        source = project.assets / "fonts" / name
        cached = project.cache / "fonts" / f"{source.stem}-{epub.font_key(source)}.ttf"
        if not cached.is_file():
            output.write_bytes(cached, epub.subset_font(source))
        fonts[name] = cached.read_bytes()
    return fonts


def _json_ld(briefing: Briefing, free: bool) -> Markup:
    """schema.org Book and Product: what a search engine and the shop's pages read."""
    series = briefing.series
    data = {
        "@context": "https://schema.org", "@type": ["Book", "Product"],
        "name": briefing.title, "description": briefing.summary, "inLanguage": "en-GB",
        "author": [{"@type": "Person", "name": a.name} for a in briefing.authors],
        "publisher": {"@type": "Organization", "name": series.publisher},
        "datePublished": briefing.published_date.isoformat(),
        "isPartOf": {"@type": "CreativeWorkSeries", "name": series.name},
        "position": briefing.number, "isAccessibleForFree": free,
        "keywords": ", ".join(briefing.keywords),
        "accessMode": ["textual", "visual"], "accessModeSufficient": ["textual"],
        "accessibilityFeature": list(ACCESS_FEATURES), "accessibilityHazard": "none",
    }
    if briefing.isbn:
        data["isbn"] = briefing.isbn
    if briefing.price is not None:
        data["offers"] = {"@type": "Offer", "price": f"{briefing.price:.2f}",
                          "priceCurrency": "GBP", "url": series.purchase_url}
    text = json.dumps(data, ensure_ascii=False, indent=1)
    # no "</script>" or "<!--" can end the script element early: "<" as a JSON escape
    return Markup(text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))


def _citation_meta(briefing: Briefing, free: bool) -> list[tuple[str, str]]:
    """Highwire Press ``citation_*`` tags (Google Scholar, Zotero)."""
    meta = [("citation_title", briefing.title)]
    meta += [("citation_author", a.name) for a in briefing.authors]
    meta += [("citation_publication_date", briefing.published_date.strftime("%Y/%m/%d")),
             ("citation_publisher", briefing.series.publisher),
             ("citation_series_title", briefing.series.name),
             ("citation_language", "en")]
    if briefing.isbn:
        meta.append(("citation_isbn", briefing.isbn))
    if briefing.keywords:
        meta.append(("citation_keywords", "; ".join(briefing.keywords)))
    if free:
        meta.append(("citation_pdf_url", f"../web/{briefing.slug}.pdf"))
    return meta


# -- the EPUB edition -----------------------------------------------------------------------


def epub_edition(project: Project, briefing: Briefing, body: Body,
                 pages: dict[str, int] | None = None) -> bytes:
    """The EPUB 3 edition: always the whole briefing (it is sold, like the PDF)."""
    flow = reflow(briefing, body, project.root, epub=True)
    context = _context(briefing, body, flow)
    page_list = _page_breaks(flow.body, pages or {}, f"{briefing.slug}--")  # _context's prefix
    context["body"] = Markup(serialize(flow.body))
    cover = project.briefing_outputs(briefing.slug)["cover@2x"]
    env = layout.environment(project.layouts)
    context.update(
        page_list=page_list, cover=cover.is_file(),
        identifier=_identifier(briefing), modified=f"{context['created']}T00:00:00Z",
        features=ACCESS_FEATURES + (("pageNavigation", "printPageNumbers")
                                        if page_list else ()),
        images=[(name, IMAGE_TYPES[source.suffix.lower()])
                for name, source in sorted(flow.images.items())],
        fonts=FONTS)
    docs = {name: env.get_template(f"epub/{name}").render(**context)
            for name in ("text.xhtml", "nav.xhtml", "cover.xhtml", "package.opf")}
    if not context["cover"]:
        docs.pop("cover.xhtml")
    files = {name: text.encode() for name, text in docs.items()}
    files.update(_shared_files(project, flow))
    if context["cover"]:
        files["cover.png"] = cover.read_bytes()
    return epub.package(files)


def _identifier(briefing: Briefing) -> str:
    """A stable identifier for the EPUB: the same briefing gives the same one on every build."""
    name = f"{briefing.series.purchase_url}#{briefing.series.id}/{briefing.slug}/epub"
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, name)}"


BREAK_HOSTS = {"h2", "h3", "h4", "h5", "h6", "p", "li", "figure", "aside", "div", "table"}


def _page_breaks(root: ET.Element, pages: dict[str, int], prefix: str) -> list[tuple[int, str]]:
    """A page-break marker where each print page's first located element begins: before the
    first element (in reading order) whose id the PDF has on that page. Pages on which no
    element with an id starts have no marker (a reader goes to the page before)."""
    found: list[tuple[int, str]] = []
    parents = {child: parent for parent in root.iter() for child in parent}
    last = 0
    for element in list(root.iter()):
        page = pages.get(element.get("id") or "")
        if not page or page <= last or element.tag not in BREAK_HOSTS:
            continue
        last = page
        marker = ET.Element("span", {f"{{{EPUB_NS}}}type": "pagebreak",
                                     "role": "doc-pagebreak", "id": f"{prefix}page-{page}",
                                     "aria-label": str(page)})
        if element.tag == "li":  # inside the item: a list holds only items
            marker.tail, element.text = element.text, None
            element.insert(0, marker)
        else:  # before a block, as its sibling: not inside a heading's name
            parent = parents[element]
            host = parents.get(parent) if parent.tag == "div" and "table-scroll" in (
                parent.get("class") or "") else None
            if host is not None:
                element, parent = parent, host
            parent.insert(list(parent).index(element), marker)
        found.append((page, f"{prefix}page-{page}"))
    return found
