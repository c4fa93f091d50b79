"""Benchmark, mailing: how the mailing's cost grows with its recipients (not a test).

    .venv/bin/python bench/mailing.py                      # 100 and 1,000 recipients, 1 run
    .venv/bin/python bench/mailing.py --sizes 100,1000,3000 --runs 3

In a copy of the fixture project (tests/project, with the repository's layouts and assets) a
mailing of one briefing and one insert is built once for a handful of recipients (so the
briefing's print edition is in the cache), then for each size a recipients file of that many
fictional agencies is written and ``build.py mailing`` run as a user would, with the default
jobs and batch. Reported per size: wall and CPU seconds, cores used (CPU / wall), the peak
RSS of the command's process and of its largest worker, the peak RSS of all its processes
together, and the pack's bytes per recipient; then the ratios of the largest size to the
smallest. Writes bench/mailing.json.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run as bench  # noqa: E402  (bench/run.py: the process watcher and the code snapshot)

MAILING = """\
title: Bench mailing
date: 2009-04-01
series: performance-pointers
subject: New briefings for your agency
letter: bench-letter.md
recipients: bench-recipients.csv
items:
  - briefing: ni-112-under-18-conceptions
    copies: 2
  - insert: assets/inserts/order-form.pdf
    label: Order form
"""
LETTER = """\
Dear {link_officer},

We enclose for {agency}: {items}. Buy more at {purchase_url}.

{items}
"""
TOWNS = ("NORTHFIELD", "BRAMBLEVALE", "ICKLEHAM", "GORSEFIELD", "YNYS FACH")


def recipients(count: int) -> str:
    rows = ["agency,link_officer,address_1,address_2,address_3,town,postcode,copies,email"]
    for n in range(1, count + 1):
        rows.append(f"Agency {n:05d} Children's Services,Officer {n},Civic Centre,"
                    f"Station Road,,{TOWNS[n % len(TOWNS)]},XF{n % 90 + 10} {n % 9}AB,,"
                    f"officer{n}@agency{n}.example")
    return "\n".join(rows) + "\n"


def project(target: Path) -> Path:
    repo = bench.REPO
    shutil.copytree(repo / "tests" / "project" / "content", target / "content")
    for folder in ("layouts", "assets"):
        shutil.copytree(repo / folder, target / folder)
    mailings = target / "content" / "mailings"
    (mailings / "bench.yaml").write_text(MAILING, encoding="utf-8")
    (mailings / "bench-letter.md").write_text(LETTER, encoding="utf-8")
    return target


def measure(root: Path, count: int) -> dict:
    (root / "content/mailings/bench-recipients.csv").write_text(recipients(count),
                                                               encoding="utf-8")
    done = bench.timed(bench.build_cmd(root, "mailing", "bench", "--max-recipients",
                                       str(max(count, 2000))))
    pack = root / "output/mailings/bench"
    size = sum(p.stat().st_size for p in pack.rglob("*") if p.is_file())
    forms = [p.stat().st_size for p in (pack / "feedback").iterdir()]
    return {"recipients": count, "wall": round(done["wall"], 2), "cpu": done["cpu"],
            "cores": round(done["cpu"] / done["wall"], 2), "rss_main": done["rss_main"],
            "rss_worker": max(done["rss_workers"] or [0]),
            "pack_per_recipient_kb": round(size / count / 1024, 1),
            "form_kb": round(max(forms) / 1024, 1),
            "letters_kb": round((pack / "letters.pdf").stat().st_size / 1024, 1)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100,1000", help="recipients, comma-separated")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--output", type=Path, default=bench.REPO / "bench" / "mailing.json")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    work = Path(tempfile.mkdtemp(prefix="press-bench-mailing-"))
    bench.CODE = bench.snapshot(work / "code")
    results: dict[int, list[dict]] = {}
    load_before = bench.load_average()
    try:
        root = project(work / "project")
        measure(root, 5)  # the briefing's print edition into the cache
        for run in range(args.runs):
            for count in sizes:  # interleaved, so a busy minute spreads over every size
                measured = measure(root, count)
                results.setdefault(count, []).append(measured)
                bench.log(f"run {run + 1}, {count} recipients: {measured}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    keys = ("wall", "cpu", "cores", "rss_main", "rss_worker", "pack_per_recipient_kb")
    summary = {count: {k: {"median": statistics.median(m[k] for m in runs),
                           "min": min(m[k] for m in runs), "max": max(m[k] for m in runs)}
                       for k in keys} for count, runs in results.items()}
    small, large = min(sizes), max(sizes)
    # (a mailing of one batch has no worker: its one task runs in a child beside the command)
    ratios = {f"{k} {large} vs {small}": round(summary[large][k]["median"]
                                                / summary[small][k]["median"], 2)
              if summary[small][k]["median"] else None
              for k in ("wall", "cpu", "rss_main", "rss_worker")}
    for count, figures in summary.items():
        print(f"{count:>6} recipients: " + ", ".join(
            f"{k} {v['median']} ({v['min']}–{v['max']})" for k, v in figures.items()))
    for name, value in ratios.items():
        print(f"{name}: {value}")
    args.output.write_text(json.dumps({
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "load": [load_before, bench.load_average()], "summary": summary, "ratios": ratios,
        "runs": results}, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
