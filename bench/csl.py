"""Bench: what the CSL path (pandoc's citeproc, once per briefing) adds to a cold build of one
briefing. Builds the sample project's briefing with the house style (layouts/csl/) and with the
built-in formatter (the style file removed), alternately, and compares CPU seconds (the build
and every process it waited for, pandoc included). Not part of the test suite.

    .venv/bin/python bench/csl.py [--runs 3] [--slug ni-062-placement-stability]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _cpu_of(args: list[str], env: dict) -> float:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(args, env=env, check=True, stdout=subprocess.DEVNULL)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime


def main(argv=None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--slug", default="ni-062-placement-stability")
    args = parser.parse_args(argv)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    cpu: dict[str, list[float]] = {"csl": [], "built-in": []}
    with tempfile.TemporaryDirectory(prefix="press-bench-csl-") as tmp:
        for kind in cpu:
            root = Path(tmp) / kind
            for folder in ("content", "layouts", "assets"):
                shutil.copytree(REPO / folder, root / folder)
            if kind == "built-in":
                (root / "layouts" / "csl" / "house-harvard.csl").unlink()
        for _ in range(args.runs):
            for kind, times in cpu.items():
                root = Path(tmp) / kind
                shutil.rmtree(root / ".cache", ignore_errors=True)
                shutil.rmtree(root / "output", ignore_errors=True)
                times.append(_cpu_of([sys.executable, str(REPO / "build.py"), "--project",
                                      str(root), "briefing", args.slug, "-j", "1", "-q"], env))
    csl, built_in = (statistics.median(cpu[k]) for k in ("csl", "built-in"))
    print(f"cold build of {args.slug}, CPU seconds (median of {args.runs}): "  # noqa: T201
          f"CSL {csl:.2f} s, built-in {built_in:.2f} s, ratio {csl / built_in:.3f}; "
          f"runs {cpu}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
