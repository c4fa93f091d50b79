"""Assemble stage: built briefings of one series → a bundle PDF per edition (web and print).

A bundle (``content/bundles/<id>.yaml``, read by :mod:`.load`) is a cover and contents page,
the briefings' own already-built pages in order (each without its own back cover: the collected
edition has one back cover, one price and one barcode), and a back cover. The bundle's own pages
(:mod:`.pages`) are laid out by the typeset stage; the briefings' pages are copied in with
pypdf (:mod:`.edition`, ``press.pdf.merge``), never re-rendered unless their PDFs are missing
or out of date (``press.build.cache``). For the web edition the parts' structure trees are
merged into one (``press.pdf.structure``).

In print, the blank pages that padded each briefing to a booklet are left out, and blank pages
are put in so that every briefing starts on a right-hand page and the back cover ends the book
(:func:`.model.plan`). Page labels: the bundle's front matter is numbered i, ii, ...; from the
first briefing on, the pages are numbered 1, 2, 3 ... the numbers the contents page shows.

Size: each Lato face's subsets are merged into one font program (``press.pdf.fontmerge``),
shared resources are stored once and the small objects (the thousands of structure elements
above all) written into compressed object streams (``press.pdf.compact``).

Speed: the web and print bundles are assembled at the same time in two processes; a briefing
that must be built first is built in a child process while this one parses the others' PDFs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial
from pathlib import Path

from press.build import pipeline
from press.content.load import load_all, select
from press.core import freshness, output, parallel
from press.errors import ContentError, Problem, Problems
from press.products.bundles.load import load_bundle
from press.products.bundles.model import (
    BUNDLE_CODE,
    EDITIONS,
    Assembled,
    Bundle,
    PartFile,
    Plan,
    part_count,
    plan,
)
from press.products.bundles.pages import (
    anchor,
    description,
    design_files,
    own_pages,
    page,
    settle_contents,
)
from press.project import Project

LOG = logging.getLogger(__name__)

# The briefings built (or found up to date) in this run, by slug.
Results = dict[str, pipeline.Result]
# Briefing PDFs read and parsed ahead of a merge, by (slug, edition).
Early = dict[tuple[str, str], PartFile]


# -- inputs: the briefings' own PDFs -------------------------------------------------------------

def ensure_built(project: Project, bundle: Bundle, results: Results) -> list[str]:
    """Make sure the bundle's briefing PDFs are current; returns the slugs that were rebuilt.

    Goes through the pipeline's cached build, so an unchanged briefing is never laid out again
    and the next full build does not redo what was built here. ``results`` remembers briefings
    already built in this run (a briefing shared by several bundles is built once).
    """
    todo = _unbuilt(bundle, results)
    rebuilt: list[str] = []
    if todo:
        LOG.info("bringing %s up to date for bundle %s", ", ".join(todo), bundle.id)
        quiet = Problems()
        for result in pipeline.build(project, todo, pipeline.Options(editions=EDITIONS), quiet):
            results[result.slug] = result
            if not result.cached:
                rebuilt.append(result.slug)
    problems = []
    for briefing, line in zip(bundle.briefings, bundle.lines, strict=True):
        found = results.get(briefing.slug)
        if found is None or not found.ok:
            first = found.problems[0].format(project.root) if found and found.problems \
                else "it does not load"
            problems.append(Problem(bundle.path, line, f"briefing '{briefing.slug}' failed to "
                                    f"build, so the bundle cannot be assembled: {first}",
                                    "fix the briefing; the previous bundle is kept"))
    if problems:
        raise ContentError(problems)
    return rebuilt


def _unbuilt(bundle: Bundle, results: Results) -> list[str]:
    """The bundle's briefings not yet built (or found up to date) in this run."""
    return [b.slug for b in bundle.briefings
            if not (results.get(b.slug) and all(e in results[b.slug].outputs for e in EDITIONS))
            and not (results.get(b.slug) and not results[b.slug].ok)]

# -- the stage -----------------------------------------------------------------------------------

def bundle_inputs(project: Project, bundle: Bundle) -> list[Path]:
    """The files a bundle's PDFs are made from (with the code: :func:`bundle_key`)."""
    inputs = [bundle.path, bundle.series.path]
    for briefing in bundle.briefings:
        paths = project.briefing_outputs(briefing.slug)
        inputs += [briefing.path, paths["web"], paths["print"], paths["preflight"]]
    inputs += design_files(project)
    return [p for p in inputs if p.exists()]


def bundle_key(project: Project, bundle: Bundle) -> str:
    """A key over everything a bundle's PDFs are made from: its files, the code that assembles
    it (``freshness.code_key``) and the library versions."""
    inputs = bundle_inputs(project, bundle)
    # The briefings' PDFs by size and modification time: a no-op build reads no PDF (the
    # pipeline rewrites a PDF only when it rebuilds it).
    pdfs = [p for p in inputs if p.suffix == ".pdf"]
    stamps = sorted((p.relative_to(project.root).as_posix(), freshness.stamp(p)) for p in pdfs)
    sources = [p for p in inputs if p.suffix != ".pdf"]
    return freshness.digest(freshness.FORMAT, freshness.versions(),
                            freshness.code_key(BUNDLE_CODE),
                            freshness.Hasher().files(project.root, sources), stamps)


def _record(project: Project, bundle: Bundle) -> freshness.Record:
    return freshness.Record(project, "bundles", bundle.id)


def bundle_up_to_date(project: Project, bundle: Bundle) -> bool:
    return _record(project, bundle).fresh(bundle_key(project, bundle)) is not None


def assemble(project: Project, bundle: Bundle, results: Results | None = None,
             force: bool = False, early: Early | None = None) -> Assembled:
    """Build (or reuse) the briefings, lay out the bundle's pages, merge, write atomically.

    Both editions are made in memory first (at the same time, in two processes, where the
    machine allows) and written only if both succeeded, so a failure leaves the previous
    good bundle in place. A bundle whose record is fresh (``freshness.Record``) is left as it is
    (``force`` assembles it anyway). ``early``: parts read ahead (:class:`ReadAhead`), used
    only for briefings ``results`` found up to date.
    """
    results = {} if results is None else results
    early = {key: part for key, part in (early or {}).items()
             if results.get(key[0]) is not None and results[key[0]].cached}
    rebuilt, read = _build_and_read(project, bundle, results)
    if not force and not rebuilt and bundle_up_to_date(project, bundle):
        return Assembled(bundle, project.bundle_outputs(bundle.id), {}, {}, (), fresh=True)
    # pypdf and WeasyPrint: imported only to assemble
    from press.products.bundles import edition as one_edition

    early = {key: part for key, part in {**early, **read}.items() if key[0] not in rebuilt}
    made = parallel.run_beside(partial(one_edition.make, project, bundle, early), EDITIONS)
    paths, extras = project.bundle_outputs(bundle.id), project.bundle_extras(bundle.id)
    for edition, one in made.items():
        output.write_bytes(paths[edition], one.data)
        for role, derived_data in one.derived.items():  # the web edition's sample, thumbnails
            output.write_bytes(extras[role], derived_data)
    output.write_text(project.bundle_preflight(bundle.id), made["print"].report_json)
    _write_epub(project, bundle)  # issue #31: from the briefings' EPUBs, after the cover
    _record(project, bundle).write(bundle_key(project, bundle),
                                   [*paths.values(), project.bundle_preflight(bundle.id),
                                    *extras.values()])
    return Assembled(bundle, paths, {e: m.pages for e, m in made.items()},
                     {e: m.sizes for e, m in made.items()}, tuple(rebuilt))


def _write_epub(project: Project, bundle: Bundle) -> None:
    """The bundle's EPUB (press/products/bundles/epub.py), put together from its briefings'."""
    from press.products.bundles.epub import bundle_epub

    output.write_bytes(project.bundle_epub(bundle.id), bundle_epub(project, bundle))


def _build_and_read(project: Project, bundle: Bundle, results: Results
                    ) -> tuple[list[str], Early]:
    """:func:`ensure_built`; where a briefing must be built and a core is free, it is built in a
    child process while this one reads and parses the briefings' PDFs that are up to date.

    Returns (the slugs rebuilt, ``{(slug, edition): PartFile}`` read early: only those of
    briefings not rebuilt may be used).
    """
    todo = _unbuilt(bundle, results)
    if not todo or not parallel.can_fork() or parallel.default_jobs() < 2:
        return ensure_built(project, bundle, results), {}
    child = parallel.Forked(partial(_build_in_child, project, bundle, dict(results)))
    # Finding briefings up to date takes a fraction of a second, laying one out seconds: wait
    # that fraction first, so that a bundle with nothing to build parses nothing twice.
    todo_parts = [] if child.done(wait=0.8) else [(b.slug, edition) for b in bundle.briefings
                                                  for edition in EDITIONS]
    early: Early = {}
    try:
        _parse_parts(project, todo_parts, early, stop=child.done)
    except BaseException:
        child.cancel()
        raise
    rebuilt, built = child.result()  # or the child's ContentError, raised here
    results.update(built)
    return rebuilt, early


def _parse_parts(project: Project, keys: list[tuple[str, str]], into: Early,
                 stop: Callable[[], bool] = lambda: False) -> None:
    """Read and parse the briefing PDFs ``keys`` (``(slug, edition)``) into ``into``, ahead of
    a merge, until ``stop()``. One missing or damaged is skipped: it is being built, or the
    merge reads it again and says so."""
    from pypdf.errors import PyPdfError  # only when there is something to read

    for key in keys:
        if stop():
            break
        if key not in into:
            try:
                into[key] = PartFile.of(project, *key, parse=True)
            except (PyPdfError, OSError, ValueError):
                pass


def _build_in_child(project: Project, bundle: Bundle, results: Results
                    ) -> tuple[list[str], Results]:
    """:func:`ensure_built` and the results it added: the child's ``results`` is its own."""
    rebuilt = ensure_built(project, bundle, results)
    return rebuilt, {b.slug: results[b.slug] for b in bundle.briefings if b.slug in results}


def assemble_all(project: Project, ids: list[str] | None, problems: Problems,
                 results: Results | None = None, force: bool = False,
                 early: Early | None = None) -> list[Assembled]:
    """Every bundle (or those named); each failure is a problem, the others still build."""
    results = {} if results is None else results
    series, briefings = load_all(project, Problems())  # briefing problems: the briefing's own
    by_slug = {b.slug: b for b in briefings}
    paths = select(project.bundles_dir, ".yaml", ids, "bundle", problems)
    done = []
    for path in paths:
        try:
            bundle = load_bundle(project, path, series, by_slug)
            problems.extend(bundle.warnings)
            done.append(assemble(project, bundle, results, force, early))
        except ContentError as exc:
            problems.extend(exc.problems)
    return done


def after_build(project: Project, results: list[pipeline.Result], force: bool = False,
                early: Early | None = None) -> tuple[list[Assembled], Problems]:
    """After a full build: assemble every bundle from the briefings just built (none if there
    are no bundle files); returns what was assembled and the problems found. ``early``: the
    parts a :class:`ReadAhead` read while they were built."""
    problems = Problems()
    if not project.bundle_paths():
        return [], problems
    return assemble_all(project, None, problems, {r.slug: r for r in results}, force,
                        early), problems


class ReadAhead:
    """While a full build builds the briefings that changed, read and parse the PDFs of the
    other briefings of every bundle that holds one of them (``pipeline.build(beside=...)``):
    that bundle is assembled next, and its merge then parses only the rebuilt briefings.

    ``parts``: ``{(slug, edition): PartFile}``, for :func:`after_build`.
    """

    def __init__(self, project: Project) -> None:
        self.project = project
        self.parts: Early = {}

    def __call__(self, building: list[str]) -> None:
        paths = self.project.bundle_paths()
        if not building or not paths:
            return
        series, briefings = load_all(self.project, Problems())
        by_slug = {b.slug: b for b in briefings}
        changing = set(building)
        for path in paths:
            try:
                slugs = [b.slug for b in load_bundle(self.project, path, series,
                                                     by_slug).briefings]
            except ContentError:
                continue  # reported when the bundles are assembled
            if changing.isdisjoint(slugs):
                continue  # up to date: nothing to merge
            _parse_parts(self.project, [(s, e) for s in slugs if s not in changing
                                        for e in EDITIONS], self.parts)


__all__ = ["EDITIONS", "Assembled", "Bundle", "PartFile", "Plan", "ReadAhead", "after_build",
           "anchor", "assemble", "assemble_all", "bundle_key", "bundle_up_to_date", "description",
           "ensure_built", "load_bundle", "own_pages", "page", "part_count", "plan",
           "settle_contents"]
