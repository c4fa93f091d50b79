"""Bundle files (assemble stage): read and check ``content/bundles/<id>.yaml`` with the field
checks every kind of file shares (``press.core.fields``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from press.content.load import SLUG_RE, formats, read_text
from press.core import fields, identifiers, yamlsafe
from press.errors import ContentError, Problems, did_you_mean
from press.model import Briefing, Series
from press.products.bundles.model import Bundle
from press.project import Project

FIELDS = ("title", "subtitle", "series", "briefings", "published", "isbn", "price", "doi")
REQUIRED = ("title", "series", "briefings", "published")


def load_bundle(project: Project, path: Path, series: dict[str, Series],
                briefings: dict[str, Briefing]) -> Bundle:
    """Read and check one bundle file; every problem found is raised together."""
    data, lines = yamlsafe.load(read_text(path), path)
    if not isinstance(data, dict):
        raise ContentError.at(path, 1, "a bundle file must be a mapping of 'field: value' lines",
                              "see docs/publishing.md, Bundles")
    problems = Problems()
    check = fields.Checker(path, lines, problems)
    check.top(data, FIELDS, REQUIRED, "a bundle file")
    if not SLUG_RE.match(path.stem):  # the id names its output files and its shop entry
        problems.error(path, None, f"file name {path.name!r} is not a valid bundle id",
                       "use lower-case letters, digits and hyphens, e.g. "
                       + (slug_of(path.stem) or "my-bundle") + ".yaml")

    def text(key: str) -> str:
        value = data.get(key)
        if value is None or (key not in REQUIRED and isinstance(value, str)
                             and not value.strip()):
            return ""  # an optional field left empty is the same as leaving it out
        return check(fields.text, value, key) or ""

    texts = {key: text(key) for key in ("title", "subtitle")}
    series_id = text("series")
    the_series = series.get(series_id)
    if series_id and the_series is None:
        check.fail(("series",), f"unknown series '{series_id}'",
                   did_you_mean(series_id, series) or "add a file in content/series/")
    published = (check(fields.published, data["published"], "published") or "") \
        if data.get("published") is not None else ""
    isbns = formats(check, data, lines, path, problems)
    doi = check(identifiers.doi, data["doi"], "doi",
                prefix=the_series.doi_prefix if the_series else "") if data.get("doi") else ""
    price = check(fields.price, data["price"], "price") if data.get("price") is not None \
        else None
    chosen, entry_lines = _briefings(project, data.get("briefings"), lines, the_series,
                                     briefings, check.fail)
    if problems.errors:
        raise ContentError(problems.errors)
    assert the_series is not None  # required: a missing or unknown series is an error above
    return Bundle(
        id=path.stem, path=path, title=texts["title"], subtitle=texts["subtitle"],
        series=the_series, briefings=tuple(chosen), published=published,
        lines=tuple(entry_lines), isbn=isbns.get("print", ""), price=price,
        isbn_pdf=isbns.get("pdf", ""), isbn_epub=isbns.get("epub", ""), doi=doi or "",
        warnings=tuple(problems.warnings))


def slug_of(name: str) -> str:
    """A suggested id for a file name: lower case, ASCII letters and digits, hyphens."""
    import re
    import unicodedata

    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")


def _briefings(project: Project, items: object, lines: yamlsafe.Lines, the_series: Series | None,
               briefings: dict[str, Briefing], fail: Callable[..., None]
               ) -> tuple[list[Briefing], list[int | None]]:
    """The ``briefings`` list: known, final, from this series, each listed once."""
    if items is None:
        return [], []
    if not isinstance(items, list):
        fail(("briefings",), "'briefings' must be a list of briefing slugs",
             "write each slug on a line starting '- '")
        return [], []
    if not items:
        fail(("briefings",), "'briefings' is empty", "list at least one briefing slug")
        return [], []
    chosen: list[Briefing] = []
    entry_lines: list[int | None] = []
    seen: dict[str, int | None] = {}
    for index, item in enumerate(items):
        line = yamlsafe.line_of(lines, "briefings", index)
        slug = str(item).strip() if isinstance(item, (str, int)) else ""
        if not slug:
            fail(("briefings", index), "each entry of 'briefings' must be a briefing slug")
            continue
        if slug in seen:
            fail(("briefings", index), f"briefing '{slug}' is listed twice",
                 f"first on line {seen[slug]}")
            continue
        seen[slug] = line
        briefing = briefings.get(slug)
        if briefing is None:
            if fields.is_file(project.briefings_dir / f"{slug}.md"):
                fail(("briefings", index), f"briefing '{slug}' has errors, so it cannot be "
                     "bundled", f"fix content/briefings/{slug}.md first")
            else:
                known = [p.stem for p in project.briefing_paths()]
                fail(("briefings", index), f"no briefing '{slug}'",
                     did_you_mean(slug, known))
            continue
        if briefing.is_draft:
            fail(("briefings", index), f"briefing '{slug}' is a draft",
                 "only final briefings can be bundled: set 'status: final' when it is ready")
            continue
        if the_series is not None and briefing.series.id != the_series.id:
            fail(("briefings", index), f"briefing '{slug}' belongs to series "
                 f"'{briefing.series.id}', not '{the_series.id}'",
                 "a bundle collects briefings of one series")
            continue
        chosen.append(briefing)
        entry_lines.append(line)
    return chosen, entry_lines
