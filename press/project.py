"""Project: where a project's folders are, and the one place that names every output path."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

BRIEFING_EDITIONS = ("print", "web", "drafts")
BUNDLE_EDITIONS = ("web", "print")


@dataclass(frozen=True)
class Project:
    """Where a project's folders are. Every stage gets paths from here, never from the cwd."""

    root: Path

    @classmethod
    def at(cls, root: str | Path) -> Project:
        return cls(Path(root).resolve())

    @property
    def content(self) -> Path:
        return self.root / "content"
    @property
    def layouts(self) -> Path:
        return self.root / "layouts"
    @property
    def assets(self) -> Path:
        return self.root / "assets"
    @property
    def output(self) -> Path:
        return self.root / "output"
    @property
    def cache(self) -> Path:
        return self.root / ".cache"  # only the paths below use it
    @property
    def series_dir(self) -> Path:
        return self.content / "series"
    @property
    def briefings_dir(self) -> Path:
        return self.content / "briefings"
    @property
    def bundles_dir(self) -> Path:
        return self.content / "bundles"
    @property
    def mailings_dir(self) -> Path:
        return self.content / "mailings"
    @property
    def evaluations_dir(self) -> Path:
        return self.content / "evaluations"  # returned answers
    @property
    def reviews_dir(self) -> Path:
        return self.content / "reviews"  # rounds and returned drafts

    def briefing_paths(self) -> list[Path]:
        return sorted(self.briefings_dir.glob("*.md"))

    def bundle_paths(self) -> list[Path]:
        return sorted(self.bundles_dir.glob("*.yaml"))

    # -- outputs -------------------------------------------------------------------------------

    def briefing_outputs(self, slug: str) -> dict[str, Path]:
        """A briefing's editions, the print edition's preflight report, and what the web
        edition brings: the shop's free sample and cover thumbnails, the HTML and EPUB
        editions (made with it, from the same layout)."""
        out = self.output
        return {"print": out / "print" / f"{slug}.pdf", "web": out / "web" / f"{slug}.pdf",
                "drafts": out / "drafts" / f"{slug}.pdf",
                "preflight": out / "print" / f"{slug}.preflight.json",
                "html": self.html_edition(slug), "epub": self.epub_edition(slug),
                **self._web_extras(slug)}

    def edition_files(self, slug: str, edition: str) -> list[Path]:
        """The files one edition of a briefing consists of."""
        paths = self.briefing_outputs(slug)
        extra = {"print": ["preflight"], "web": ["sample", "cover", "cover@2x",
                                                         "html", "epub"]}.get(edition, [])
        return [paths[edition]] + [paths[name] for name in extra]

    def html_edition(self, slug: str) -> Path:
        """The HTML edition: one page, its figures inside; stylesheet and fonts shared."""
        return self.output / "html" / f"{slug}.html"

    html_assets = property(lambda self: self.output / "html" / "assets")  # all HTML editions

    def epub_edition(self, slug: str) -> Path:
        return self.output / "epub" / f"{slug}.epub"

    def bundle_outputs(self, bundle_id: str) -> dict[str, Path]:
        """A bundle's web and print PDFs."""
        return {edition: self.output / edition / "bundles" / f"{bundle_id}.pdf"
                for edition in BUNDLE_EDITIONS}

    def bundle_epub(self, bundle_id: str) -> Path:
        return self.output / "epub" / "bundles" / f"{bundle_id}.epub"

    def bundle_extras(self, bundle_id: str) -> dict[str, Path]:
        """What a bundle's web edition brings for the shop: its free sample and thumbnails."""
        return self._web_extras(f"bundles/{bundle_id}")

    def _web_extras(self, name: str) -> dict[str, Path]:
        web = self.output / "web"
        return {"sample": web / "samples" / f"{name}.pdf",
                "cover": web / "covers" / f"{name}-cover.png",
                "cover@2x": web / "covers" / f"{name}-cover@2x.png"}

    def bundle_preflight(self, bundle_id: str) -> Path:
        return self.output / "print" / "bundles" / f"{bundle_id}.preflight.json"

    def mailing_folder(self, mailing_id: str) -> Path:
        return self.output / "mailings" / mailing_id

    def evaluation_folder(self, mailing_id: str) -> Path:
        return self.output / "evaluations" / mailing_id

    def review_folder(self, slug: str, round_name: str) -> Path:
        """A review round's pack, map and collected comments."""
        return self.output / "reviews" / slug / round_name

    @property
    def shop_folder(self) -> Path:
        """The web team's upload folder: written only by the shop stage, swapped in whole, so
        a briefing build (which rewrites ``output/web/``) never leaves it out of step."""
        return self.output / "upload"

    @property
    def shop_review(self) -> Path:
        return self.output / "upload-review.html"  # not uploaded

    @property
    def published_snapshot(self) -> Path:
        return self.output / "web-published.json"  # last upload

    # -- the build's own state: every path under .cache/ is named here -------------------------

    def records_folder(self, kind: str) -> Path:
        """Where the records of built items of one kind are (``press.core.freshness.Record``)."""
        return self.cache / "records" / kind

    def record_path(self, kind: str, name: str) -> Path:
        return self.records_folder(kind) / f"{name}.json"

    def derived_folder(self, store: str) -> Path:
        """Where one store of derived bytes is (``press.core.freshness.DerivedStore``)."""
        return self.cache / "derived" / store

    @property
    def preview_cache(self) -> Path:
        return self.cache / "preview"  # the preview's page images
