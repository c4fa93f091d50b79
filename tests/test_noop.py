"""A build with nothing to do: it must not pay for WeasyPrint (about a second to import)."""

from __future__ import annotations

import json
import subprocess
import sys

PROBE = """
import json, sys
from press.commands import main
code = main(["--project", sys.argv[1], "--drafts", "-q"])
print(json.dumps({"code": code, "weasyprint": "weasyprint" in sys.modules}))
"""


def test_a_no_op_build_imports_no_weasyprint(copy_built):
    root = copy_built()
    done = subprocess.run([sys.executable, "-c", PROBE, str(root)], capture_output=True,
                          text=True, check=False)
    assert done.returncode == 0, done.stderr
    outcome = json.loads(done.stdout.strip().splitlines()[-1])
    assert outcome == {"code": 0, "weasyprint": False}, done.stderr
