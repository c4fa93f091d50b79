"""Benchmark: the build against the raw WeasyPrint floor, measured in the same run.

    .venv/bin/python bench/run.py              # 12 briefings; writes bench/results.json
    .venv/bin/python bench/run.py --scale 48   # also time per page at 48 briefings

It generates a series of briefings (about 15 pages each, with key-message and pointer boxes,
tables, SVG and PNG figures, footnotes and citations, all made from the sample briefings' text)
in a temporary folder, then times, each as a separate ``python`` process as a user would run it:

* the floor: Markdown → HTML → ``HTML(...).write_pdf()`` once per edition, serially, in one
  process (what WeasyPrint alone costs for the same pages);
* a cold build of every edition and one bundle, with the default number of jobs;
* a no-op rebuild; one briefing edited (and its bundle) against a one-shot raw render of it;
* a 150-letter mailing against one raw render of the same letters;
* bundle bytes against the sum of its parts; the peak RSS of each process that renders;
* optionally, time per page at ``--scale`` briefings against 12.

Timings on a shared machine are noisy: ratios compare runs made minutes apart, and the
machine's load average is recorded with them.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
CODE = Path(os.environ.get("PRESS_BENCH_CODE", REPO))  # the press package the run measures
BASES = ("ni-062-placement-stability", "ni-112-under-18-conceptions")
BUNDLE_ID = "bench-collection"
MAILING_ID = "bench-mailing"
TOPICS = ("placement stability", "under-18 conceptions", "school attendance", "youth offending",
          "care leavers", "early years", "child poverty", "emotional health", "adoption",
          "family support", "young carers", "domestic abuse")

# -- generating the benchmark series -----------------------------------------------------------


def _split(path: Path) -> tuple[dict, str]:
    text = path.read_text(encoding="utf-8")
    _, front, body = text.split("---\n", 2)
    return yaml.safe_load(front), body


def _sections(body: str, tag: str) -> tuple[list[str], dict[str, str]]:
    """Level-2 sections of a body and its footnote definitions (ids prefixed with ``tag``)."""
    body = re.sub(r"\[\^(\d+)\]", lambda m: f"[^{tag}{m.group(1)}]", body)
    notes, kept = {}, []
    for line in body.split("\n"):
        match = re.match(r"^\[\^(\w+)\]:", line)
        if match:
            notes[match.group(1)] = line
        else:
            kept.append(line)
    parts = re.split(r"(?m)^(?=## )", "\n".join(kept))
    return [p.strip() + "\n" for p in parts if p.strip()], notes


def _isbn(number: int) -> str:
    stem = f"978190498{number:03d}"
    total = sum(int(d) * (1 if i % 2 == 0 else 3) for i, d in enumerate(stem))
    return f"{stem[:3]}-{stem[3]}-{stem[4:10]}-{stem[10:12]}-{(10 - total % 10) % 10}"


def _png_figure(path: Path) -> None:
    """A 300 dpi raster chart (6 × 3.2 in), so image decoding and caching are exercised."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (1800, 960), "white")
    draw = ImageDraw.Draw(image)
    for i, value in enumerate((62, 48, 71, 35, 54, 80, 44)):
        x = 150 + i * 230
        draw.rectangle([x, 880 - value * 10, x + 150, 880], fill=(0, 101, 110))
    draw.line([100, 880, 1750, 880], fill=(91, 103, 112), width=6)
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, dpi=(300, 300))


def generate(root: Path, count: int, more: int = 7) -> list[str]:
    """A project at ``root`` with ``count`` final briefings of an introduction and
    ``more`` sections each (7: about 15 pages; 3: about 8), one bundle of four of them
    and one mailing."""
    for folder in ("layouts", "assets"):
        shutil.copytree(REPO / folder, root / folder)
    shutil.copytree(REPO / "content" / "series", root / "content" / "series")
    _png_figure(root / "assets" / "figures" / "bench-chart.png")
    fronts, pools, notes = [], [], {}
    for tag, slug in zip("ab", BASES):
        front, body = _split(REPO / "content" / "briefings" / f"{slug}.md")
        sections, found = _sections(body, tag)
        fronts.append(front)
        pools.append(sections)
        notes.update(found)
    references = {r["id"]: r for front in fronts for r in front["references"]}
    png = ("![Bar chart of an illustrative measure across seven local areas.]"
           "(../../assets/figures/bench-chart.png)\n"
           "Figure: An illustrative measure in seven local areas (raster figure, 300 dpi)\n")
    intro_a, *rest_a = pools[0]
    intro_b, *rest_b = pools[1]
    slugs = []
    folder = root / "content" / "briefings"
    folder.mkdir(parents=True)
    for number in range(1, count + 1):
        topic = TOPICS[(number - 1) % len(TOPICS)]
        slug = f"ni-{200 + number}-{topic.replace(' ', '-')}"
        # One introduction, then a rotating choice of the other sections.
        chosen = [intro_a if number % 2 else intro_b]
        pool = rest_a + rest_b
        start = number % len(pool)
        picked = (pool[start:] + pool[:start])[:more]
        chosen += picked
        chosen.insert(2, png)
        body = "\n".join(chosen)
        used = sorted(set(re.findall(r"\[\^(\w+)\]", body)))
        body += "\n" + "\n".join(notes[n] for n in used if n in notes) + "\n"
        cited = set(re.findall(r"@(\w+)", body))
        front = dict(fronts[number % 2])
        front.update({
            "title": f"Improving outcomes: {topic} (benchmark {number})",
            "number": 100 + number,
            "indicator": {"code": f"NI {200 + number}", "title": f"Benchmark indicator on "
                                                               f"{topic}"},
            "isbn": _isbn(number),
            "references": [r for rid, r in references.items() if rid in cited],
        })
        text = "---\n" + yaml.safe_dump(front, sort_keys=False, allow_unicode=True) + "---\n"
        (folder / f"{slug}.md").write_text(text + "\n" + body, encoding="utf-8")
        slugs.append(slug)
    bundles = root / "content" / "bundles"
    bundles.mkdir(parents=True)
    (bundles / f"{BUNDLE_ID}.yaml").write_text(yaml.safe_dump({
        "title": "Benchmark collection", "series": "performance-pointers",
        "published": "2009-04", "briefings": slugs[:4]}, sort_keys=False), encoding="utf-8")
    _mailing(root, slugs[:2])
    return slugs


def _mailing(root: Path, slugs: list[str]) -> None:
    """150 recipients (the sample's, repeated with other names), two briefings enclosed."""
    folder = root / "content" / "mailings"
    folder.mkdir(parents=True)
    sample = REPO / "content" / "mailings"
    shutil.copy(sample / "2009-04-letter.md", folder / "bench-letter.md")
    with open(sample / "2009-04-recipients.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    # More agencies than the sample has: the same kinds of council in other (invented) towns.
    towns = [r["town"].title() for r in rows]
    taken = {r["agency"] for r in rows}
    for i in range(150):
        row = dict(rows[i % len(rows)])
        shift = 1
        while row["agency"] in taken and i >= len(rows):
            town = towns[(i + shift * 7) % len(towns)]
            old = rows[i % len(rows)]
            row["agency"] = old["agency"].replace(old["town"].title(), town, 1)
            row["town"] = town.upper()
            shift += 1
            if shift > len(towns):  # the agency's name does not contain its town
                row["agency"] = f"{old['agency']} {i}"
        taken.add(row["agency"])
        writer.writerow(row)
    (folder / "bench-recipients.csv").write_text(out.getvalue(), encoding="utf-8")
    config = yaml.safe_load((sample / "2009-04.yaml").read_text(encoding="utf-8"))
    config.update({"letter": "bench-letter.md", "recipients": "bench-recipients.csv",
                   "items": [{"briefing": s} for s in slugs]})
    (folder / f"{MAILING_ID}.yaml").write_text(yaml.safe_dump(config, sort_keys=False,
                                                              allow_unicode=True))


# -- the raw floor (runs in its own process: ``run.py _floor ROOT SLUG...``) -------------------

def floor_main(root: Path, slugs: list[str], only: str = "") -> None:
    """Markdown → HTML → write_pdf once per edition (or only the edition ``only``), serially;
    prints timings as JSON."""
    started = time.perf_counter()
    from weasyprint import HTML

    from press.briefing import layout, markdown
    from press.content.load import load_all
    from press.errors import Problems
    from press.project import Project

    project = Project.at(root)
    imported = time.perf_counter() - started
    _, briefings = load_all(project, Problems(), slugs or None)
    out = root / "floor"
    out.mkdir(exist_ok=True)
    times, pages = {}, 0
    for briefing in briefings:
        start = time.perf_counter()
        page = layout.page(project, briefing, markdown.convert(briefing, project.root))
        editions = ("drafts",) if briefing.is_draft else ("web", "print")
        editions = (only,) if only else editions
        for edition in editions:
            document = HTML(string=page.html, base_url=page.base_url).render()
            pages += len(document.pages)
            document.write_pdf(out / f"{briefing.slug}.{edition}.pdf")
        times[briefing.slug] = time.perf_counter() - start
    print(json.dumps({"import": imported, "briefings": times, "pages": pages,
                      "total": time.perf_counter() - started}))


def preview_main(root: Path, slug: str) -> None:
    """Seconds from saving an edit to a briefing to its new page images being ready, in a warm
    preview (``press.preview.time_rebuild``); prints JSON."""
    from press import preview
    from press.project import Project

    seconds = preview.time_rebuild(Project.at(root), slug,
                                   lambda text: text.replace("## ", "## Previewed: ", 1))
    print(json.dumps({"seconds": seconds}))


def letters_floor_main(root: Path) -> None:
    """One raw render of the mailing's letters (the same HTML ``press.mailing`` lays out)."""
    started = time.perf_counter()
    from weasyprint import HTML

    from press.products.mailing import letters, load_mailing
    from press.project import Project

    project = Project.at(root)
    page = letters.letters_page(project, load_mailing(project, MAILING_ID))
    document = HTML(string=page.html, base_url=page.base_url).render()
    document.write_pdf(root / "letters-floor.pdf")
    print(json.dumps({"pages": len(document.pages), "total": time.perf_counter() - started}))


# -- measuring ---------------------------------------------------------------------------------

class Watcher(threading.Thread):
    """Polls /proc for the peak RSS (VmHWM) of a process and all its descendants."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid, self.peaks, self.depth, self.cpu = pid, {}, {}, {}
        self.tick = os.sysconf("SC_CLK_TCK")
        self.stop = threading.Event()

    def run(self):
        while not self.stop.is_set():
            self.poll()
            self.stop.wait(0.1)

    def poll(self):
        parents, times = {}, {}
        for entry in os.scandir("/proc"):
            if entry.name.isdigit():
                try:
                    stat = Path(f"/proc/{entry.name}/stat").read_text()
                except OSError:
                    continue
                fields = stat.rsplit(")", 1)[1].split()
                parents[int(entry.name)] = int(fields[1])
                times[int(entry.name)] = (int(fields[11]) + int(fields[12])) / self.tick
        family, depth = [self.pid], {self.pid: 0}
        for pid in family:
            for child, parent in parents.items():
                if parent == pid and child not in depth:
                    depth[child] = depth[pid] + 1
                    family.append(child)
        for pid in family:
            self.cpu[pid] = max(self.cpu.get(pid, 0.0), times.get(pid, 0.0))
            try:
                status = Path(f"/proc/{pid}/status").read_text()
            except OSError:
                continue
            match = re.search(r"VmHWM:\s+(\d+) kB", status)
            if match:
                self.peaks[pid] = max(self.peaks.get(pid, 0), int(match.group(1)) // 1024)
                self.depth[pid] = depth[pid]


def timed(command: list[str], cwd: Path | None = None, check: bool = True) -> dict:
    """Run a command; wall time, its output and the peak RSS of it and its descendants (MB)."""
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    watcher = Watcher(process.pid)
    watcher.start()
    out, err = process.communicate()
    wall = time.perf_counter() - start
    watcher.stop.set()
    watcher.join()
    if check and process.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({process.returncode}):\n{out}\n{err}")
    # The build process is depth 0, the fork server depth 1, its workers depth 2.
    workers = [mb for pid, mb in watcher.peaks.items() if watcher.depth[pid] == 2]
    # CPU seconds of the process and its descendants (user + system, polled: a process that
    # lives under 0.1 s is missed). Unlike wall time, this hardly depends on the machine's load.
    cpu = sum(watcher.cpu.values())
    return {"wall": wall, "cpu": round(cpu, 2), "stdout": out, "stderr": err,
            "code": process.returncode,
            "rss_main": watcher.peaks.get(process.pid, 0),
            "rss_workers": sorted(workers, reverse=True)}


def build_cmd(root: Path, *args: str) -> list[str]:
    return [PYTHON, str(CODE / "build.py"), "--project", str(root), "-q", *args]


def snapshot(target: Path) -> Path:
    """A copy of the code, so edits made in the repository during the run change nothing
    (the build cache keys on the package's source: an edit would rebuild everything)."""
    shutil.copytree(REPO / "press", target / "press",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy2(REPO / "build.py", target / "build.py")
    return target


def whole_build(root: Path) -> dict:
    """``build.py`` as the README gives it (every briefing, bundle and the web shop folder),
    with the wall time of each of its stages (``--timings``)."""
    stages_file = root / ".bench-stages.json"
    run = timed(build_cmd(root, "--timings", str(stages_file)))
    run["stages"] = json.loads(stages_file.read_text(encoding="utf-8"))
    return run


def _has(module: str) -> bool:
    """The package (``products.bundles``) is in this version of the code."""
    return (REPO / "press" / module.replace(".", "/") / "__init__.py").exists()


def output_pages(root: Path) -> int:
    from pypdf import PdfReader

    return sum(len(PdfReader(p).pages) for folder in ("web", "print")
               for p in (root / "output" / folder).glob("*.pdf"))


def load_average() -> list[float]:
    return [round(v, 2) for v in os.getloadavg()]


def figure(name: str, value, goal: str, ok, unit: str = "", detail: str = "") -> dict:
    return {"figure": name, "value": value, "goal": goal, "ok": ok, "unit": unit,
            "detail": detail}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--briefings", type=int, default=12)
    parser.add_argument("--runs", type=int, default=3, help="repeat each measurement (spread)")
    parser.add_argument("--sizes", default="8,15",
                        help="briefing sizes to measure, in pages: 8 and/or 15 (default both)")
    parser.add_argument("--scale", type=int, default=0,
                        help="also time a cold build of this many briefings (e.g. 48)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary projects")
    parser.add_argument("--output", type=Path, default=REPO / "bench" / "results.json")
    args = parser.parse_args(argv)
    if args.briefings < 4:
        parser.error("--briefings must be at least 4 (the bundle holds four)")
    env_note = {"machine": platform.machine(), "cores": os.cpu_count(),
                "cpu": _cpu_model(), "python": platform.python_version(),
                "load_before": load_average()}
    work = Path(tempfile.mkdtemp(prefix="press-bench-"))
    figures, timings = [], {}
    global CODE
    CODE = snapshot(work / "code")
    os.environ["PRESS_BENCH_CODE"] = str(CODE)  # for the floor processes
    try:
        sizes = {"8": ("8 pages", 3), "15": ("15 pages", 7)}
        for label, sections in (sizes[s] for s in args.sizes.split(",")):
            for run in range(1, args.runs + 1):
                measured = measure(work / f"series-{sections}-{run}", args.briefings, sections)
                timings.setdefault(label, []).append(measured)
                log(f"{label}, run {run}: " + ", ".join(
                    f"{k} {v:.3f}" for k, v in measured["ratios"].items()))
            figures += summarise(label, timings[label])
        first = next(iter(timings))
        root = Path(timings[first][0]["root"])
        figures.append(_mailing_figure(root, timings))
        figures.append(_bundle_figure(root, timings[first][0]["slugs"]))
        peaks = [mb for m in timings[first] for mb in m["rss_workers"]]
        worst = max(peaks or [0])
        figures.append(figure(f"peak RSS per worker (cold build.py, {first} series)", worst,
                              "≤ 400 MB", worst <= 400, "MB",
                              detail=f"workers {sorted(set(peaks), reverse=True)} MB"))
        if args.scale:
            figures.append(_scale_figure(work, args.scale, args.briefings, timings))
    finally:
        env_note["load_after"] = load_average()
        if args.keep:
            log(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    print_table(figures, env_note)
    args.output.write_text(json.dumps({"machine": env_note, "figures": figures,
                                       "timings": timings, "when": time.strftime(
                                           "%Y-%m-%dT%H:%M:%SZ", time.gmtime())},
                                      indent=2) + "\n", encoding="utf-8")
    log(f"wrote {args.output}")
    return 0


GOALS = {"cold build.py vs the floor": 0.45, "no-op build.py vs cold": 0.03,
         "edit outside any bundle, build.py, vs a one-shot of it": 1.1,
         "edit inside the bundle, build.py, vs the same one-shot": 1.5,
         "preview save → new page images vs a one-shot of that briefing": 0.5}


def measure(root: Path, count: int, sections: int) -> dict:
    """One series: the floor, then ``build.py`` cold, as a no-op, after an edit of a briefing in
    no bundle and after an edit of one in the bundle, each against its reference."""
    slugs = generate(root, count, sections)
    raw = timed([PYTHON, __file__, "_floor", str(root)])
    floor = json.loads(raw["stdout"])
    cold = whole_build(root)
    pages = output_pages(root)
    noop = whole_build(root)
    runs = {"floor": raw, "cold": cold, "noop": noop}
    for name, slug in (("edit_outside", slugs[-1]), ("edit_inside", slugs[1])):
        source = root / "content" / "briefings" / f"{slug}.md"
        source.write_text(source.read_text(encoding="utf-8").replace("## ", "## Revised: ", 1),
                          encoding="utf-8")
        runs[name] = whole_build(root)
        runs[name + "_one_shot"] = timed([PYTHON, __file__, "_floor", str(root), "--only=web",
                                          slug])
    # The preview, last (it edits the briefing): save → page images, against the same one-shot.
    shown = timed([PYTHON, __file__, "_preview", str(root), slugs[-1]])
    runs["preview"] = {"wall": json.loads(shown["stdout"])["seconds"], "cpu": 0.0}
    ratios = {
        "cold build.py vs the floor": cold["wall"] / raw["wall"],
        "no-op build.py vs cold": noop["wall"] / cold["wall"],
        "edit outside any bundle, build.py, vs a one-shot of it":
            runs["edit_outside"]["wall"] / runs["edit_outside_one_shot"]["wall"],
        "edit inside the bundle, build.py, vs the same one-shot":
            runs["edit_inside"]["wall"] / runs["edit_inside_one_shot"]["wall"],
        "preview save → new page images vs a one-shot of that briefing":
            runs["preview"]["wall"] / runs["edit_outside_one_shot"]["wall"],
    }
    return {"root": str(root), "slugs": slugs, "pages": pages, "floor_pages": floor["pages"],
            "ratios": ratios,
            "rss_workers": cold["rss_workers"] or [cold["rss_main"]],
            "runs": {k: {"wall": round(v["wall"], 3), "cpu": v["cpu"],
                         **({"stages": v["stages"]} if "stages" in v else {})}
                     for k, v in runs.items()}}


def summarise(label: str, measured: list[dict]) -> list[dict]:
    """One figure per goal: the median of the runs, with their spread and the stage times."""
    rows = []
    keys = {"cold build.py vs the floor": ("cold", "floor"),
            "no-op build.py vs cold": ("noop", "cold"),
            "edit outside any bundle, build.py, vs a one-shot of it":
                ("edit_outside", "edit_outside_one_shot"),
            "edit inside the bundle, build.py, vs the same one-shot":
                ("edit_inside", "edit_inside_one_shot"),
            "preview save → new page images vs a one-shot of that briefing":
                ("preview", "edit_outside_one_shot")}
    for name, goal in GOALS.items():
        values = sorted(m["ratios"][name] for m in measured)
        median = values[len(values) // 2]
        ours, theirs = keys[name]
        last = measured[len(measured) // 2]["runs"]
        stages = last[ours].get("stages", {})
        detail = (f"runs {', '.join(f'{v:.3f}' for v in values)}; {last[ours]['wall']:.2f} s vs "
                  f"{last[theirs]['wall']:.2f} s; stages " + ", ".join(
                      f"{k} {v:.2f} s" for k, v in stages.items() if k != "total"))
        rows.append(figure(f"{label}: {name}", round(median, 3), f"≤ {goal}", median <= goal,
                           detail=detail))
    return rows


def _versus(name: str, ours: dict, theirs: dict, goal: str, digits: int = 1) -> dict:
    """A figure comparing two timed runs' wall time against a goal such as "≤ 0.40"."""
    ratio = ours["wall"] / theirs["wall"]
    detail = f"{ours['wall']:.{digits}f} s vs {theirs['wall']:.1f} s; " + _cpu(ours, theirs)
    return figure(name, round(ratio, 3), goal, ratio <= float(goal.split()[-1]), detail=detail)


def _cpu(ours: dict, theirs: dict) -> str:
    return (f"CPU {ours['cpu']:.1f} s vs {theirs['cpu']:.1f} s "
            f"({ours['cpu'] / max(theirs['cpu'], 0.01):.2f})")


def _mailing_figure(root: Path, timings: dict) -> dict:
    name = "150-letter mailing vs one raw render of the same pages"
    if not _has("products.mailing"):
        return figure(name, None, "≤ 1.3", None, detail="not available (no press.mailing)")
    made = timed(build_cmd(root, "mailing", MAILING_ID), check=False)
    if made["code"] != 0:
        return figure(name, None, "≤ 1.3", None,
                      detail="mailing failed: " + (made["stderr"].strip().splitlines()
                                                   or ["?"])[-1])
    raw = timed([PYTHON, __file__, "_letters", str(root)])
    info = json.loads(raw["stdout"])
    timings["mailing"] = {"wall": made["wall"], "raw_wall": raw["wall"], "cpu": made["cpu"],
                          "raw_cpu": raw["cpu"], **info,
                          "summary": made["stdout"].strip()}
    ratio = made["wall"] / raw["wall"]
    log(f"mailing: {made['wall']:.1f} s vs raw {raw['wall']:.1f} s ({info['pages']} pages)")
    return figure(name, round(ratio, 3), "≤ 1.3", ratio <= 1.3,
                  detail=f"{made['wall']:.1f} s vs {raw['wall']:.1f} s for {info['pages']} "
                         f"letter pages; " + _cpu(made, raw))


def _bundle_figure(root: Path, slugs: list[str]) -> dict:
    name = "bundle bytes vs sum of its parts"
    if not _has("products.bundles"):
        return figure(name, None, "≤ 0.8", None, detail="not available (no press.assemble)")
    ratios, details = [], []
    for edition in ("web", "print"):
        bundle = root / "output" / edition / "bundles" / f"{BUNDLE_ID}.pdf"
        if not bundle.exists():
            found = list((root / "output").rglob(f"{BUNDLE_ID}*.pdf"))
            bundle = next((p for p in found if f"/{edition}/" in p.as_posix()), None)
        if bundle is None or not bundle.exists():
            return figure(name, None, "≤ 0.8", None, detail="bundle not found in output/")
        parts = sum((root / "output" / edition / f"{s}.pdf").stat().st_size for s in slugs[:4])
        ratios.append(bundle.stat().st_size / parts)
        details.append(f"{edition} {bundle.stat().st_size // 1024} KB / {parts // 1024} KB")
    worst = max(ratios)
    return figure(name, round(worst, 3), "≤ 0.8", worst <= 0.8, detail="; ".join(details))


def _scale_figure(work: Path, count: int, base_count: int, timings: dict) -> dict:
    """Time per page of a cold ``build.py`` at ``count`` briefings against ``base_count``."""
    base = timings["15 pages"][0]
    root = work / f"series-scale-{count}"
    generate(root, count)
    big = whole_build(root)
    pages = output_pages(root)
    timings[f"cold_{count}"] = {"wall": big["wall"], "cpu": big["cpu"], "pages": pages,
                                "stages": big["stages"]}
    per_page = big["wall"] / pages
    base_per_page = base["runs"]["cold"]["wall"] / base["pages"]
    change = per_page / base_per_page - 1
    return figure(f"time per page at {count} briefings vs at {base_count} (15 pages)",
                  round(change * 100, 1), "within ±15 %", abs(change) <= 0.15, "%",
                  detail=f"{per_page * 1000:.0f} ms vs {base_per_page * 1000:.0f} ms a page")


def _strip(run: dict) -> dict:
    """Timings without the captured output, for results.json."""
    keep = {}
    for key, value in run.items():
        if isinstance(value, dict):
            keep[key] = {k: v for k, v in value.items() if k not in ("stdout", "stderr")}
        else:
            keep[key] = value
    return keep


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def log(text: str) -> None:
    print(f"[bench] {text}", file=sys.stderr, flush=True)


def print_table(figures: list[dict], machine: dict) -> None:
    print(f"\nbriefing press benchmark — {machine['cores']} cores ({machine['cpu']}), "
          f"Python {machine['python']}, load {machine['load_before']} → "
          f"{machine.get('load_after')}\n")
    print(f"| {'figure':<62} | {'value':>9} | {'goal':<13} | ok  | detail")
    print(f"|{'-' * 64}|{'-' * 11}|{'-' * 15}|-----|-------")
    for row in figures:
        value = "n/a" if row["value"] is None else f"{row['value']}{row['unit']}"
        ok = {True: "yes", False: "NO", None: "-"}[row["ok"]]
        print(f"| {row['figure']:<62} | {value:>9} | {row['goal']:<13} | {ok:<3} | "
              f"{row['detail']}")


if __name__ == "__main__":
    sys.path.insert(0, str(CODE))
    if len(sys.argv) > 2 and sys.argv[1] == "_floor":
        edition = sys.argv[3][len("--only="):] if sys.argv[3:4] and \
            sys.argv[3].startswith("--only=") else ""
        floor_main(Path(sys.argv[2]), sys.argv[4 if edition else 3:], edition)
    elif len(sys.argv) > 2 and sys.argv[1] == "_letters":
        letters_floor_main(Path(sys.argv[2]))
    elif len(sys.argv) > 3 and sys.argv[1] == "_preview":
        preview_main(Path(sys.argv[2]), sys.argv[3])
    else:
        sys.exit(main())
