"""Layout stage: a briefing and its converted body → one complete HTML document for typesetting.

One Jinja2 environment (``layouts/``, StrictUndefined, autoescape). Author text arrives as data
(already-sanitised HTML wrapped in ``Markup``); it is never compiled as a template.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2
import jinja2.meta
from markupsafe import Markup, escape

from press.briefing import citeas
from press.errors import ContentError
from press.model import Body, Briefing, Page
from press.project import Project


@dataclass(frozen=True)
class Draft:
    """What a draft edition shows in its footer."""

    build_date: str
    revision: str


@lru_cache(maxsize=8)
class LayoutsLoader(jinja2.FileSystemLoader):
    """Templates and partials from ``layouts/`` only: a symlinked partial pointing outside the
    project would otherwise print that file's text into every PDF and letter."""

    def __init__(self, layouts: Path):
        super().__init__(str(layouts))
        self.root = Path(layouts).resolve()

    def get_source(self, environment: jinja2.Environment, template: str
                   ) -> tuple[str, str, Callable[[], bool]]:
        source, filename, uptodate = super().get_source(environment, template)
        if not Path(filename).resolve().is_relative_to(self.root):
            # a ContentError, not TemplateNotFound: it passes through Jinja's {% include %} to
            # every caller as a problem, never a traceback
            raise ContentError.at(Path(filename), None,
                                  f"layouts/{template} is a link to a file outside layouts/",
                                  "copy the file into layouts/ instead of linking to it")
        return source, filename, uptodate


@lru_cache(maxsize=16)
def environment(layouts: Path) -> jinja2.Environment:
    """The Jinja environment of a project's ``layouts/``, one per process: a template is
    compiled once (about 15 ms each, six for a briefing), and compiled again when its file
    changes (Jinja checks the modification time at every use: the preview sees an edit)."""
    env = jinja2.Environment(
        loader=LayoutsLoader(layouts),
        undefined=jinja2.StrictUndefined,
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["gbp"] = lambda value: f"£{value:,.2f}"
    return env


def compile_templates(project: Project) -> None:
    """Compile every template of ``layouts/`` now, into :func:`environment`'s cache (for a
    process that forks one child per build: each child starts with them compiled). A template
    that does not compile is left for the build to report."""
    env = environment(project.layouts)
    for name in env.list_templates(extensions=["html"]):
        try:
            env.get_template(name)
        except (jinja2.TemplateError, ContentError, OSError, UnicodeDecodeError):
            pass


def layout_files(project: Project, *templates: str, fetched: bool = False) -> list[Path]:
    """Which files of the design count for pages made with ``templates`` (names without
    ``.html``), the one definition every freshness key uses: each template with every partial
    it includes, extends or imports, and the palette (read directly by the typeset stage). If a
    template names another through a variable, every file in ``layouts/`` counts.

    The style sheets, fonts and images are fetched while rendering: a build that records what
    its layout fetched (a briefing's edition: ``freshness.Record`` inputs) counts those. For
    the others (a bundle's own pages and sample), ``fetched`` adds every other file of
    ``layouts/`` and every file of ``assets/``.
    """
    layouts = project.layouts
    found: set[str] = set()
    todo = [f"{name}.html" for name in templates]
    files: set[Path] = {layouts / "palette.yaml"}
    while todo:
        template = todo.pop()
        path = layouts / template
        if template in found or not path.is_file():
            continue
        found.add(template)
        try:
            info = path.stat()
            refs = _references(path, info.st_mtime_ns, info.st_size)
        except OSError:
            continue  # the build reports it
        if None in refs:
            files.update(p for p in layouts.rglob("*") if p.is_file())
            break
        todo.extend(r for r in refs if r is not None)  # (none is: see above)
    files.update(layouts / t for t in found)
    if fetched:
        files.update(p for p in [*layouts.rglob("*"), *project.assets.rglob("*")]
                     if p.is_file() and p.suffix != ".html")
    return sorted(files)


@lru_cache(maxsize=256)
def _references(path: Path, mtime_ns: int, size: int) -> tuple[str | None, ...]:
    """The templates a template file names (None: one named through a variable), parsed once
    per version of the file in a process (a no-op build asks for every key it computes)."""
    try:
        tree = jinja2.Environment().parse(path.read_text(encoding="utf-8"))
    except (jinja2.TemplateSyntaxError, OSError, UnicodeDecodeError):
        return ()  # the build reports it
    return tuple(jinja2.meta.find_referenced_templates(tree))


def file_url(path: Path) -> str:
    return path.resolve().as_uri()


def qr_svg(url: str) -> Markup:
    """A QR code for ``url`` as inline SVG (black modules, no ids).

    The ``<title>`` is the figure's alternative text in the tagged web PDF: WeasyPrint takes
    an inline SVG's /Alt from its direct ``<title>`` child and ignores ``aria-label``."""
    import segno  # here, not at the top: a build with nothing to lay out never needs it

    svg = segno.make(url, error="m").svg_inline(scale=1, dark="#000", border=2,
                                               svgclass="qr", lineclass=None,
                                               title=f"QR code linking to {url}")
    return Markup(svg)


def ean13_svg(isbn: str) -> Markup:
    """EAN-13 bars for an ISBN as inline SVG; digits are typeset in HTML with our fonts."""
    import barcode  # here, not at the top: a build with nothing to lay out never needs it
    from barcode.writer import SVGWriter

    digits = re.sub(r"\D", "", isbn)
    code = barcode.get("ean13", digits[:12], writer=SVGWriter())
    buf = io.BytesIO()
    code.write(buf, options={"module_height": 18.0, "write_text": False, "quiet_zone": 3.0,
                             "background": "white", "foreground": "black", "module_width": 0.33})
    svg = buf.getvalue().decode("utf-8")
    svg = svg[svg.index("<svg"):]
    svg = re.sub(r"<!--.*?-->", "", svg, flags=re.S)
    svg = re.sub(r'\sid="[^"]*"', "", svg)
    title = escape(f"ISBN {isbn} barcode for this publication")
    svg = re.sub(r"<svg\b([^>]*)>",
                 lambda m: f'<svg class="ean13"{m.group(1)}><title>{title}</title>', svg, count=1)
    return Markup(svg)  # the <title> is its /Alt in the web PDF (see qr_svg)


def identity(product: Any, number: int | None) -> dict[str, str]:
    """What the PDFs' XMP says about a briefing or a bundle (``<meta name="press.*">``, read by
    press.render.xmp): each format's ISBN, the DOI, publisher, date, rights, series."""
    series = product.series
    return {"isbn.print": product.isbn, "isbn.pdf": product.isbn_pdf,
            "isbn.epub": product.isbn_epub, "doi": product.doi,
            "publisher": series.publisher, "date": product.published,
            "rights": f"© {product.published[:4]} {series.publisher}. All rights reserved.",
            "series": series.name, "number": "" if number is None else str(number),
            "url": f"https://doi.org/{product.doi}" if product.doi else ""}


def page(project: Project, briefing: Briefing, body: Body, draft: Draft | None = None) -> Page:
    """The full HTML page for one briefing (``draft`` adds the watermark and build footer)."""
    env = environment(project.layouts)
    template = env.get_template(f"{briefing.layout}.html")
    series = briefing.series
    context = {
        "briefing": briefing,
        "series": series,
        "body": Markup(body.html),
        "references": Markup(body.references_html),
        "contents": [h for h in body.headings],
        "prefix": f"{briefing.slug}--",
        "draft": draft,
        "draft_line": (f"DRAFT – not for circulation · built {draft.build_date} · "
                       f"{briefing.path.name} revision {draft.revision}") if draft else "",
        "css_url": file_url(project.layouts / "briefing.css"),
        "asset": lambda rel: file_url(project.assets / rel),
        "qr": qr_svg(series.purchase_url),
        "ean13": ean13_svg(briefing.isbn) if briefing.isbn else None,
        "isbn_digits": re.sub(r"\D", "", briefing.isbn),
        "about_paragraphs": [p.strip() for p in series.about.split("\n\n") if p.strip()],
        "created": briefing.published_date.isoformat(),
        "identity": identity(briefing, briefing.number) if draft is None else {},
        "citation": citeas.suggested(citeas.work(briefing, briefing.number)),
    }
    html = template.render(**context)
    return Page(html=html, base_url=file_url(briefing.path.parent) + "/",
                name=str(briefing.path), metadata={"slug": briefing.slug})
