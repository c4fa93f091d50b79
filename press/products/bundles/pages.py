"""Bundle pages (assemble stage): the bundle's own cover, contents and back cover, laid out with
``layouts/bundle.html`` and written by the typeset stage (so the web part is tagged PDF/UA
and the print part PDF/X with bleed)."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path
from typing import TYPE_CHECKING

from press.briefing import citeas, layout
from press.core import freshness
from press.errors import ContentError
from press.model import Author, Briefing, Page
from press.products.bundles.model import BUNDLE_CODE, Bundle, Plan, plan
from press.project import Project

if TYPE_CHECKING:
    from press.render.typeset import Typeset


def _authors(bundle: Bundle) -> list[Author]:
    seen: dict[str, Author] = {}
    for briefing in bundle.briefings:
        for author in briefing.authors:
            seen.setdefault(author.name, author)
    return list(seen.values())


def description(bundle: Bundle) -> str:
    codes = [b.indicator.code for b in bundle.briefings]
    listed = codes[0] if len(codes) == 1 else ", ".join(codes[:-1]) + " and " + codes[-1]
    words = ("one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")
    count = "one briefing" if len(codes) == 1 else (
        f"{words[len(codes) - 1] if len(codes) <= len(words) else len(codes)} briefings")
    return (f"{bundle.subtitle + '. ' if bundle.subtitle else ''}The {count} of the "
            f"{bundle.series.name} series on {listed}, collected in one volume.")


def anchor(bundle: Bundle, briefing: Briefing) -> str:
    """The contents entry's link target; re-pointed at the briefing's cover when merging."""
    return f"bundle-{bundle.id}--{briefing.slug}"


def page(project: Project, bundle: Bundle, the_plan: Plan) -> Page:
    env = layout.environment(project.layouts)
    series = bundle.series
    parts = [{"briefing": b, "anchor": anchor(bundle, b), "page": the_plan.label(start)}
             for b, start in zip(bundle.briefings, the_plan.starts, strict=True)]
    keywords = list(dict.fromkeys(k for b in bundle.briefings for k in b.keywords))
    authors = _authors(bundle)
    html = env.get_template("bundle.html").render(
        bundle=bundle, series=series, parts=parts,
        authors=[a.name for a in authors], author_entries=authors,
        description=description(bundle), keywords=keywords,
        published_label=bundle.published_label,
        created=_iso(bundle.published),
        css_url=layout.file_url(project.layouts / "briefing.css"),
        bundle_css_url=layout.file_url(project.layouts / "bundle.css"),
        asset=lambda rel: layout.file_url(project.assets / rel),
        qr=layout.qr_svg(series.purchase_url),
        ean13=layout.ean13_svg(bundle.isbn) if bundle.isbn else None,
        isbn_digits=re.sub(r"\D", "", bundle.isbn),
        identity=layout.identity(bundle, None),
        citation=citeas.suggested(citeas.work(bundle, None)),
        about_paragraphs=[p.strip() for p in series.about.split("\n\n") if p.strip()])
    return Page(html=html, base_url=layout.file_url(bundle.path.parent) + "/",
                name=str(bundle.path), metadata={"bundle": bundle.id})


def _iso(published: str) -> str:
    parts = published.split("-")
    return "-".join(parts + ["01"] * (3 - len(parts)))


def own_pages(project: Project, bundle: Bundle, edition: str,
              counts: tuple[int, ...]) -> tuple[bytes, Plan, Typeset | None]:
    """The bundle's own pages for one edition, reused from their ``DerivedStore`` when nothing
    they show changed (an edit inside a briefing usually changes neither its page count nor
    what the contents page says about it), else laid out by :func:`_lay_out_own_pages`.
    The third item is that layout (for the sample), or None if the pages were reused."""
    html = page(project, bundle, plan(2, counts, edition, bundle.series.booklet)).html
    # file URLs name the project's folder: leave it out, so a moved project keeps its cache
    key = freshness.digest(freshness.FORMAT, freshness.versions(),
                           freshness.code_key(BUNDLE_CODE),
                           html.replace(layout.file_url(project.root), ""), edition, counts,
                           freshness.Hasher().files(project.root, design_files(project)))
    store, name = freshness.DerivedStore(project, "bundle-pages"), f"{bundle.id}.{edition}"
    cached = store.get(name, key, ".pdf", ".json")
    try:
        if cached is not None:
            fields = json.loads(cached[1])
            return cached[0], Plan(fields["front"], tuple(fields["counts"]),
                                   tuple(fields["pads"]), fields["pad_end"]), None
    except (ValueError, KeyError, TypeError):
        pass
    guess = 2
    try:  # the front matter's length last time
        guess = int(json.loads(store.any(name, ".json") or "{}")["front"])
    except (ValueError, KeyError, TypeError):
        pass
    data, the_plan, laid_out = _lay_out_own_pages(project, bundle, edition, counts,
                                                  max(2, guess))
    store.put(name, key, {".pdf": data,
                          ".json": json.dumps(dataclasses.asdict(the_plan)).encode()})
    return data, the_plan, laid_out


def design_files(project: Project) -> list[Path]:
    """What the bundle's own pages and its sample may use (``layout.layout_files``)."""
    return layout.layout_files(project, "bundle", "_sample_note", fetched=True)


def settle_contents(project: Project, bundle: Bundle, edition: str, counts: tuple[int, ...],
                    guess: int = 2) -> tuple[Typeset, Plan]:
    """The bundle's own pages laid out (WeasyPrint's document) and the plan they settle on.

    The contents page lists start pages, which depend on how many pages the front matter
    takes (``guess``: the count last time); it is laid out again if the guess was wrong
    and the contents would show other numbers.
    """
    from press.render import typeset  # WeasyPrint: imported only when a bundle is assembled
    booklet = bundle.series.booklet
    front = guess
    laid_out: Typeset | None = None
    rendered: str | None = None
    for _ in range(3):
        the_plan = plan(front, counts, edition, booklet)
        the_page = page(project, bundle, the_plan)
        if the_page.html != rendered:  # e.g. the web contents shows the same numbers anyway
            laid_out = typeset.render(the_page, project.root)
            rendered = the_page.html
        assert laid_out is not None  # laid out on the first pass
        actual = laid_out.page_count - 1  # everything but the back cover
        if actual == front:
            break
        front = actual
    else:
        raise ContentError.at(bundle.path, None, "the contents pages do not settle on a page "
                              "count", "shorten the titles")
    return laid_out, the_plan


def _lay_out_own_pages(project: Project, bundle: Bundle, edition: str,
                       counts: tuple[int, ...], guess: int = 2) -> tuple[bytes, Plan, Typeset]:
    """Lay out (:func:`settle_contents`) and write the bundle's cover, contents and back cover
    for one edition."""
    from press.render import recipes, web  # WeasyPrint: imported only to assemble

    laid_out, the_plan = settle_contents(project, bundle, edition, counts, guess)
    ident = f"{bundle.series.id}/bundles/{bundle.id}"
    if edition == "web":
        return web.write_web(laid_out, None, ident), the_plan, laid_out
    # a blank before a briefing that must start on a right-hand page; before the back cover,
    # Notes pages rather than a run of blanks
    data = recipes.write_print(project, laid_out, ident, profile=bundle.series.print_profile,
                               source=bundle.path, blanks=sum(the_plan.pads),
                               pad_end=the_plan.pad_end)
    return data, the_plan, laid_out
