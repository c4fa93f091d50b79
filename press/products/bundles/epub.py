"""Bundles stage, EPUB: a bundle's EPUB 3 edition, put together from its briefings' EPUBs.

No Markdown and no layout: each briefing's content document, figures and contents entries are
taken from the EPUB its build wrote (the same Body as its PDF), under names of its own. The
briefings' print page numbers are dropped: the bundle's print edition numbers its pages
differently, and a page list that disagrees with the printed pages is worse than none.
"""

from __future__ import annotations

import re
import uuid
import zipfile

from press.briefing import layout
from press.errors import ContentError
from press.products.bundles.model import Bundle
from press.project import Project
from press.render import epub

PAGEBREAK_RE = re.compile(r'<span epub:type="pagebreak"[^>]*></span>|<span epub:type="pagebreak"'
                          r'[^>]*/>')
IMAGE_SRC_RE = re.compile(r'src="images/([^"]+)"')
TOC_RE = re.compile(r'<nav epub:type="toc".*?</nav>', re.S)  # the briefing's contents
ENTRY_RE = re.compile(r'<ol>\s*<li>(.*)</li>\s*</ol>\s*</nav>', re.S)  # its one entry's inside


def bundle_epub(project: Project, bundle: Bundle) -> bytes:
    """The bundle's EPUB bytes (ContentError if a briefing's EPUB has not been built)."""
    files: dict[str, bytes] = {}
    parts, images = [], []
    for briefing in bundle.briefings:
        source = project.epub_edition(briefing.slug)
        if not source.is_file():
            raise ContentError.at(briefing.path, None, f"no EPUB of '{briefing.slug}' to put "
                                  "in the bundle", "build the briefing first: build.py")
        with zipfile.ZipFile(source) as book:
            text = book.read("EPUB/text.xhtml").decode()
            nav = book.read("EPUB/nav.xhtml").decode()
            names = [n for n in book.namelist() if n.startswith("EPUB/images/")]
            for name in names:  # the slug keeps two briefings' figures apart
                new = f"{briefing.slug}-{name.removeprefix('EPUB/images/')}"
                files[f"images/{new}"] = book.read(name)
                images.append((new, _media_type(new)))
            if not files.get("edition.css"):
                files["edition.css"] = book.read("EPUB/edition.css")
                for font in epub_fonts(book):
                    files[font] = book.read(f"EPUB/{font}")
        document = f"{briefing.slug}.xhtml"
        text = PAGEBREAK_RE.sub("", text)
        text = IMAGE_SRC_RE.sub(f'src="images/{briefing.slug}-\\1"', text)
        files[document] = text.encode()
        toc = TOC_RE.search(nav)
        toc = ENTRY_RE.search(toc.group(0)) if toc else None
        entry = toc.group(1).replace('href="text.xhtml', f'href="{document}') if toc else \
            f'<a href="{document}">{briefing.title}</a>'
        parts.append({"document": document, "entry": entry, "briefing": briefing})
    cover = project.bundle_extras(bundle.id)["cover@2x"]
    env = layout.environment(project.layouts)
    context = {"bundle": bundle, "series": bundle.series, "parts": parts, "images": images,
               "cover": cover.is_file(), "fonts": sorted(f for f in files if f.startswith(
                   "fonts/")), "identifier": _identifier(bundle),
               "modified": f"{bundle.published[:7]}-01T00:00:00Z"}
    for name in ("bundle-nav.xhtml", "bundle-package.opf", "bundle-cover.xhtml"):
        if name == "bundle-cover.xhtml" and not context["cover"]:
            continue
        target = name.removeprefix("bundle-")
        files[target] = env.get_template(f"epub/{name}").render(**context).encode()
    if context["cover"]:
        files["cover.png"] = cover.read_bytes()
    return epub.package(files)


def epub_fonts(book: zipfile.ZipFile) -> list[str]:
    return sorted(n.removeprefix("EPUB/") for n in book.namelist()
                  if n.startswith("EPUB/fonts/"))


def _media_type(name: str) -> str:
    from press.briefing.reflow import IMAGE_TYPES

    return IMAGE_TYPES[name[name.rindex("."):].lower()]


def _identifier(bundle: Bundle) -> str:
    name = f"{bundle.series.purchase_url}#{bundle.series.id}/bundles/{bundle.id}/epub"
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, name)}"
