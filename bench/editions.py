"""What the HTML and EPUB editions add to a cold build of the bench series (issue #31: at most
10 %).

    .venv/bin/python bench/editions.py               # 12 briefings of about 8 pages
    .venv/bin/python bench/editions.py --sections 7  # of about 15 pages

Generates the series as bench/run.py does, times a cold ``build.py`` (which makes the editions),
then times ``write_editions`` alone for every briefing in one process, its fonts cache emptied
first as on a cold build, given each briefing's Body and layout (made beforehand, not timed).
The editions' share is that time over the rest of the cold build: an upper bound, since the
build runs the editions in its workers, two at a time on two cores.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))


def main(argv=None) -> int:
    from run import PYTHON, generate, timed

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--briefings", type=int, default=12)
    parser.add_argument("--sections", type=int, default=3, help="3: about 8 pages; 7: 15")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-editions-") as tmp:
        root = Path(tmp) / "project"
        slugs = generate(root, args.briefings, args.sections)
        cold = timed([PYTHON, str(REPO / "build.py"), "--project", str(root), "-q"])["wall"]
        shutil.rmtree(root / ".cache" / "fonts", ignore_errors=True)
        done = timed([PYTHON, __file__, "_editions", str(root), *slugs])
        seconds = float(done["stdout"].strip().splitlines()[-1])
    share = seconds / (cold - seconds)
    print(f"cold build.py of {args.briefings} briefings: {cold:.1f} s (editions included)")
    print(f"the HTML and EPUB editions alone, serially: {seconds:.2f} s")
    print(f"added to a cold build: at most {share:.1%} (goal: at most 10 %)")
    return 0


def editions_main(root: Path, slugs: list[str]) -> None:
    from press import briefing as chain
    from press.briefing import editions
    from press.content.load import load_all
    from press.errors import Problems
    from press.project import Project

    project = Project.at(root)
    _, briefings = load_all(project, Problems(), slugs)
    made = [(b, chain.render(project, b)) for b in briefings]
    start = time.perf_counter()
    for briefing, rendered in made:
        editions.write_editions(project, briefing, rendered.body, rendered.laid_out)
    print(time.perf_counter() - start)


if __name__ == "__main__":
    if sys.argv[1:2] == ["_editions"]:
        editions_main(Path(sys.argv[2]), sys.argv[3:])
    else:
        sys.exit(main())
