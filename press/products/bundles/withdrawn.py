"""Assemble stage, withdrawn: the outputs of bundles whose file was deleted are deleted too.

A bundle is withdrawn by deleting ``content/bundles/<id>.yaml``; its editions, preflight
report, sample and thumbnails would otherwise stay in ``output/{web,print}/bundles`` and could
be printed, mailed or uploaded by hand. Found by listing the output folders, not from a cache
record, so it also works after the cache was cleared.
"""

from __future__ import annotations

import logging
from pathlib import Path

from press.project import Project

LOG = logging.getLogger(__name__)


def outputs(project: Project, bundle_id: str) -> list[Path]:
    """Every file a bundle's build leaves in output/."""
    return (list(project.bundle_outputs(bundle_id).values())
            + list(project.bundle_extras(bundle_id).values())
            + [project.bundle_preflight(bundle_id)])


def remove(project: Project) -> list[Path]:
    """Delete the outputs of every bundle that has no file any more; the files deleted."""
    folders = [project.output / edition / "bundles" for edition in ("web", "print")]
    ids = {p.name.split(".")[0] for folder in folders if folder.is_dir()
           for p in folder.iterdir()
           if p.suffix in (".pdf", ".json") and not p.name.startswith(".")}
    removed = []
    for bundle_id in sorted(ids):
        if (project.bundles_dir / f"{bundle_id}.yaml").exists():
            continue
        for path in outputs(project, bundle_id):
            if path.is_file() or path.is_symlink():
                path.unlink()
                removed.append(path)
                LOG.info("removed %s: bundle %s was withdrawn", path, bundle_id)
    return removed
