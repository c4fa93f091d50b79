"""Pipeline: drives load → markdown → layout → typeset → editions for each briefing.

``build_briefing`` is self-contained (paths and options in, a ``Result`` out) so that worker
processes can run it; everything it writes goes through atomic writes.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple, Protocol

from press import briefing as chain
from press.content.load import load_all, load_briefing, load_series
from press.core import freshness, output, provenance
from press.errors import ContentError, Problem, Problems
from press.model import Briefing
from press.project import BRIEFING_EDITIONS, Project

if TYPE_CHECKING:
    from press.build.cache import Keys
    from press.core.freshness import Facts
    from press.render.preflight import Report
    from press.render.typeset import Typeset

EDITIONS = BRIEFING_EDITIONS
# What the fork server imports before workers are forked from it: the stages (WeasyPrint).
PRELOAD = ["press.build.pipeline", "press.content.load", "press.briefing.markdown",
           "press.briefing.layout", "press.briefing.sample", "press.render.typeset",
           "press.render.web", "press.render.print", "press.render.preflight",
           "press.render.recipes", "press.render.thumbnail", "pypdfium2", "PIL.Image"]


@dataclass(frozen=True)
class Options:
    editions: tuple[str, ...] = EDITIONS
    drafts_of_final: bool = False  # --drafts: also make drafts of final briefings
    build_date: str = ""  # for the draft footer; defaults to today


@dataclass
class Result:
    """What building one briefing produced."""

    slug: str
    source: Path
    outputs: dict[str, Path] = field(default_factory=dict)
    pages: dict[str, int] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    preflight: Report | None = None  # press.render.preflight's report on the print edition
    served: list[str] = field(default_factory=list)
    cached: bool = False  # True: nothing was rebuilt, the outputs were already up to date

    @property
    def ok(self) -> bool:
        return not self.problems


class Progress(Protocol):
    """What a build tells as it goes (``press.commands.progress.Progress`` is one)."""

    def start(self, total: int, up_to_date: int = 0) -> None: ...
    def begin(self, name: str) -> None: ...
    def finished(self, name: str, ok: bool, message: str = "") -> None: ...
    def note(self, text: str) -> None: ...


class PrintPart(NamedTuple):
    """The print edition made but not written: what it adds to the briefing's result, and
    the bytes of each of its files."""

    result: Result
    files: dict[Path, bytes]


class Plan(NamedTuple):
    """What a build does with one briefing (``_plan``)."""

    stale: list[str]  # the editions to build
    keys: dict[str, str]  # the key of each wanted edition
    facts: dict[str, Facts]  # the recorded facts of the wanted editions that are up to date


def build_briefing(project: Project, briefing: Briefing, options: Options,
                   fork_print: bool = False) -> Result:
    """Build every requested edition of one briefing; problems are returned, not raised.

    ``fork_print``: make the sample and the print edition in forked processes while this one
    writes the web edition and its thumbnails (for a core that would otherwise idle); the
    outcome is the same either way.
    """
    # The stages import WeasyPrint (about a second): only when something is built, so that
    # an up-to-date build never pays for it.
    from press.core import parallel
    from press.render import web
    result = Result(briefing.slug, briefing.path)
    paths = project.briefing_outputs(briefing.slug)
    try:
        body = chain.convert(project, briefing)
        result.warnings.extend(body.warnings)
        wants_final = [e for e in ("web", "print") if e in options.editions]
        result.notes.extend(draft_notes(briefing, options))
        if wants_final and not briefing.is_draft:
            rendered = chain.render(project, briefing, body)
            result.served = sorted(str(p) for p in rendered.laid_out.served)
            fork = (fork_print and "web" in options.editions and "print" in options.editions
                    and parallel.can_fork())
            _final_editions(project, briefing, rendered, options.editions, result, paths, fork)
        if "drafts" in options.editions and (briefing.is_draft or options.drafts_of_final):
            rendered = chain.render(project, briefing, body,
                                    chain.draft_of(briefing, options.build_date))
            laid_out = rendered.laid_out
            result.served = sorted(set(result.served) | {str(p) for p in laid_out.served})
            data = web.write_web(laid_out, None, rendered.ident)
            output.write_bytes(paths["drafts"], data)
            result.outputs["drafts"], result.pages["drafts"] = paths["drafts"], \
                laid_out.page_count
    except ContentError as exc:
        result.problems.extend(exc.problems)
    return result


def build_in_worker(root: str, slug: str, options: Options, fork_print: bool = False) -> Result:
    """The work function of :func:`build`: load one briefing from ``root`` and build it (runs in
    a worker process, or in this one)."""
    project = Project(Path(root))
    problems = Problems()
    path = project.briefings_dir / f"{slug}.md"
    briefing = load_briefing(project, path, load_series(project, problems), problems)
    if briefing is None:  # changed on disk since the build started
        return Result(slug, path, problems=problems.errors or [
            Problem(path, None, "could not be loaded")])
    return build_briefing(project, briefing, options, fork_print=fork_print)


def _final_editions(project: Project, briefing: Briefing, rendered: chain.Rendered,
                    editions: tuple[str, ...], result: Result, paths: dict[str, Path],
                    fork: bool) -> None:
    """The web edition with its sample and thumbnails, and the print edition, from the one
    layout. ``fork``: the sample and the print edition are made in two forked children (each
    with its own copy of the layout) while this process writes the web edition and its
    thumbnails; the files and the outcome are the same as when serial (tests/test_parallel.py).
    """
    from press.briefing import sample
    from press.core import parallel
    from press.render import thumbnail, web

    laid_out, ident = rendered.laid_out, rendered.ident
    print_part = partial(_print_part, project, briefing, laid_out, ident, paths)
    make_sample = partial(sample.write, project, briefing, rendered)
    sample_child = parallel.Forked(make_sample) if fork else None
    print_child = parallel.Forked(print_part) if fork else None
    children = [c for c in (sample_child, print_child) if c is not None]
    try:
        if "web" in editions:
            # The shop's free sample, cut from this same layout, is made first: a page copied
            # out of a document WeasyPrint has already written comes out with broken contents,
            # while the full editions written after the excerpt are byte for byte what they
            # are alone (tests/test_shop.py checks both).
            sample_data = None if sample_child is not None else make_sample()[0]
            data = web.write_web(laid_out, None, ident)
            covers = thumbnail.covers(data)  # the shop's thumbnails, made here
            # as when serial, a failed sample leaves no web edition written
            if sample_child is not None:
                sample_data = sample_child.result()[0]
            assert sample_data is not None  # made above, here or in the child
            output.write_bytes(paths["web"], data)
            output.write_bytes(paths["sample"], sample_data)
            for role, png in covers.items():
                output.write_bytes(paths[role], png)
            _reflowable_editions(project, briefing, rendered, result)  # issue #31: HTML, EPUB
            result.outputs["web"] = paths["web"]
            result.pages["web"] = laid_out.page_count
    except BaseException:
        for child in children:  # as when serial: no print edition after a failed web
            child.cancel()
        raise
    if print_child is not None:
        _merge_print(result, print_child.result())
    elif "print" in editions:
        _merge_print(result, print_part())


def _reflowable_editions(project: Project, briefing: Briefing, rendered: chain.Rendered,
                         result: Result) -> None:
    """The HTML and EPUB editions (press/briefing/editions.py), from this same Body (no second
    Markdown pass) and layout (the EPUB's print page numbers), after the cover thumbnails."""
    from press.briefing import editions

    html, book = editions.write_editions(project, briefing, rendered.body, rendered.laid_out)
    result.outputs["html"], result.outputs["epub"] = html, book


def _print_part(project: Project, briefing: Briefing, laid_out: Typeset, ident: str,
                paths: dict[str, Path]) -> PrintPart:
    """The print edition, made but not written: what it adds to the briefing's result, its
    problems included, and its files' bytes. It may run in a forked process: only this one
    writes files, after the web edition, so a failed web edition leaves no print edition
    however far the child had got; the preflight report of a refused edition still comes back,
    to be shown with the problems."""
    part = Result(briefing.slug, briefing.path)
    try:
        files = _print_edition(project, briefing, laid_out, ident, part, paths)
    except ContentError as exc:
        part.problems.extend(exc.problems)
        files = {}
    return PrintPart(part, files)


def _merge_print(result: Result, made: PrintPart) -> None:
    part, files = made
    result.warnings.extend(part.warnings)
    if part.preflight is not None:
        result.preflight = part.preflight
    if part.problems:
        raise ContentError(part.problems)
    for path, data in files.items():
        output.write_bytes(path, data)
    result.outputs.update(part.outputs)
    result.pages.update(part.pages)


def _print_edition(project: Project, briefing: Briefing, laid_out: Typeset, ident: str,
                   result: Result, paths: dict[str, Path]) -> dict[Path, bytes]:
    from press.render import preflight, recipes

    padding = (-laid_out.page_count) % 4 if briefing.series.booklet else 0
    images = preflight.placed_images(laid_out.document)
    data = recipes.write_print(project, laid_out, ident, profile=briefing.series.print_profile,
                               source=briefing.path, pad_end=padding)
    report = preflight.check(data, images, booklet=briefing.series.booklet)
    report["source"] = str(briefing.path.relative_to(project.root))
    report["padding_pages"] = padding
    result.preflight = report
    if report["blocking"]:
        raise ContentError([Problem(briefing.path, None, f"print preflight: {message}")
                            for message in report["blocking"]])
    for message in report["warnings"]:
        result.warnings.append(Problem(briefing.path, None, f"print preflight: {message}",
                                       severity="warning"))
    result.outputs["print"], result.pages["print"] = paths["print"], report["pages"]
    return {paths["print"]: data,
            paths["preflight"]: (json.dumps(report, indent=2, sort_keys=True) + "\n").encode()}


def wanted_editions(briefing: Briefing, options: Options) -> tuple[str, ...]:
    """The editions ``build_briefing`` makes of this briefing with these options."""
    return tuple(e for e in options.editions
                 if (e == "drafts" and (briefing.is_draft or options.drafts_of_final))
                 or (e in ("web", "print") and not briefing.is_draft))


def build(project: Project, slugs: list[str] | None, options: Options, problems: Problems, *,
          jobs: int = 1, force: bool = False, progress: Progress | None = None,
          beside: Callable[[list[str]], None] | None = None) -> list[Result]:
    """Load, validate and build what is out of date; load problems go into ``problems``.

    Briefings are built in ``jobs`` worker processes (0: one per core). An edition is rebuilt
    only if something it was made from changed (see ``press.build.cache``) or ``force`` is set;
    outputs of deleted sources, and of editions a briefing no longer produces, are removed.
    ``progress`` (a ``press.commands.progress.Progress``) is told as briefings finish. ``beside`` is
    called in this process with the slugs being built, while they are built (a later stage
    reading what it will need: ``parallel.run``).
    """
    from press.build import cache
    from press.core import parallel

    _, briefings = load_all(project, problems, slugs)
    loaded = {b.slug for b in briefings}
    for slug in slugs or [p.stem for p in project.briefing_paths()]:
        if slug not in loaded:  # invalid now: build it again once it is fixed
            cache.forget(project, slug)
    _remove_deleted(project, progress)
    if not options.build_date:  # the same date in every worker, whatever their environment
        options = replace(options, build_date=provenance.build_date())
    hasher = freshness.Hasher()
    keys = cache.Keys(project, options, hasher)
    results: dict[str, Result] = {}
    plans: dict[str, tuple[Briefing, Plan]] = {}
    for briefing in briefings:
        plan = _plan(project, briefing, options, keys, hasher, force)
        if plan.stale:
            plans[briefing.slug] = (briefing, plan)
        else:
            results[briefing.slug] = _cached_result(project, briefing, plan.facts, options)
    if progress is not None:
        progress.start(len(briefings), up_to_date=len(results))

    def done(slug: str, result: Result) -> None:
        plan = plans[slug][1]
        if result.ok:
            _merge_cached(project, result, plan.facts)
            cache.record(project, result, {e: plan.keys[e] for e in plan.stale}, hasher)
        else:
            cache.forget(project, slug)
        results[slug] = result
        if progress is not None:
            first = result.problems[0].format(project.root) if result.problems else ""
            progress.finished(slug, result.ok, first)

    # Longest first, so that no worker is left rendering a big briefing alone at the end.
    order = sorted(plans, key=lambda s: -plans[s][0].path.stat().st_size * len(plans[s][1].stale))
    tasks = [(slug, replace(options, editions=tuple(plans[slug][1].stale))) for slug in order]
    parallel.run(build_in_worker, [(slug, (str(project.root), slug, opts)) for slug, opts in tasks],
                 jobs, preload=PRELOAD,
                 on_start=progress.begin if progress is not None else None, on_done=done,
                 beside=partial(beside, list(order)) if beside is not None else None)
    return [results[b.slug] for b in briefings]


def _plan(project: Project, briefing: Briefing, options: Options, key_maker: Keys,
          hasher: freshness.Hasher, force: bool) -> Plan:
    """Which editions to build, and the keys and facts for them; drops outputs that went
    stale."""
    from press.build import cache

    wanted = wanted_editions(briefing, options)
    rev = ""
    if "drafts" in wanted or ("drafts" in options.editions and
                              project.briefing_outputs(briefing.slug)["drafts"].exists()):
        rev = provenance.revision(briefing.path)
    keys = {e: key_maker.edition(briefing, e, rev) for e in options.editions}
    facts: dict[str, Facts] = {} if force else cache.fresh(project, briefing.slug, keys, hasher)
    for edition in options.editions:
        # An edition not made this time (a briefing back to draft status, a draft of a final
        # briefing without --drafts) stays only while it still matches its source.
        if edition not in wanted and edition not in facts:
            cache.remove_outputs(project, briefing.slug,
                                 project.edition_files(briefing.slug, edition))
    stale = [e for e in wanted if e not in facts]
    return Plan(stale, {e: keys[e] for e in wanted}, {e: facts[e] for e in wanted if e in facts})


def up_to_date(project: Project, briefing: Briefing, edition: str) -> bool:
    """Whether the briefing's final ``edition`` is as a build would make it now (for a later
    stage that uses it without building it)."""
    from press.build import cache

    hasher = freshness.Hasher()
    key = cache.Keys(project, Options(), hasher).edition(briefing, edition)
    return edition in cache.fresh(project, briefing.slug, {edition: key}, hasher)


def draft_notes(briefing: Briefing, options: Options) -> list[str]:
    """Say why a draft briefing gets no print or web edition (every build, cached or not)."""
    if briefing.is_draft and any(e in options.editions for e in ("web", "print")):
        return [f"{briefing.slug}: status is draft, so no print or web edition "
                "(set 'status: final' when it is ready)"]
    return []


def _cached_result(project: Project, briefing: Briefing, facts: dict[str, Facts],
                   options: Options) -> Result:
    from press.build import cache

    result = Result(briefing.slug, briefing.path, cached=True)
    result.warnings = cache.cached_warnings(project, list(facts.values()))
    result.notes = draft_notes(briefing, options)
    result.served = cache.served(project, briefing.slug)
    _merge_cached(project, result, facts)
    return result


def _merge_cached(project: Project, result: Result, facts: dict[str, Facts]) -> None:
    """Add the editions that were up to date (``facts``: their records') to ``result``."""
    for edition, recorded in facts.items():
        if edition in result.outputs:
            continue
        result.outputs[edition] = project.briefing_outputs(result.slug)[edition]
        result.pages[edition] = recorded["pages"]
        if edition == "print":
            path = project.briefing_outputs(result.slug)["preflight"]
            result.preflight = json.loads(path.read_text(encoding="utf-8"))


def _remove_deleted(project: Project, progress: Progress | None) -> None:
    """Outputs and cache entries of briefings whose source file was deleted."""
    from press.build import cache

    for slug in cache.orphans(project):
        files = [p for e in EDITIONS for p in project.edition_files(slug, e)]
        for path in cache.remove_outputs(project, slug, files):
            if progress is not None:
                progress.note(f"removed {path.relative_to(project.root)}: its source "
                              f"content/briefings/{slug}.md is gone")
        cache.forget(project, slug)
