"""A build with nothing to do: it must not pay for WeasyPrint (about a second to import) nor
open a PDF (pypdf parses a briefing in about 0.2 s), nor import the PDF and image libraries
only a render or a merge needs (pypdf alone is a sixth of a no-op)."""

from __future__ import annotations

import json
import subprocess
import sys

PROBE = """
import json, sys
opened = []
def audit(event, args):
    if event == "open" and str(args[0]).endswith(".pdf"):
        opened.append(str(args[0]))
sys.addaudithook(audit)
from press.commands import main
code = main(["--project", sys.argv[1], "--drafts", "-q"])
heavy = ["weasyprint", "pypdf", "pypdfium2", "fontTools", "PIL", "segno", "barcode"]
print(json.dumps({"code": code, "weasyprint": "weasyprint" in sys.modules,
                  "imported": [name for name in heavy if name in sys.modules],
                  "opened": opened}))
"""


def no_op(root):
    done = subprocess.run([sys.executable, "-c", PROBE, str(root)], capture_output=True,
                          text=True, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_no_op_build_imports_no_weasyprint_and_opens_no_pdf(copy_built):
    root = copy_built()
    outcome = no_op(root)
    assert outcome["code"] == 0
    assert outcome["weasyprint"] is False
    assert outcome["imported"] == []
    assert outcome["opened"] == []


def test_after_an_edit_only_the_edited_briefing_is_rendered(copy_built):
    """The next build after an edit renders; the one after that is a no-op again."""
    root = copy_built()
    source = next((root / "content" / "briefings").glob("ni-112-*.md"))
    source.write_text(source.read_text(encoding="utf-8") + "\nOne more sentence.\n",
                      encoding="utf-8")
    briefing_pdfs = [p for edition in ("web", "print")
                     for p in (root / "output" / edition).glob("*.pdf")]
    before = {p: p.stat().st_mtime_ns for p in briefing_pdfs}
    first = no_op(root)
    # (the briefing may be built in a forked child while this process reads the bundle's
    # other briefings ahead: which files changed says what was rendered)
    assert first["code"] == 0
    assert {p.name for p in briefing_pdfs if p.stat().st_mtime_ns != before[p]} == {
        source.with_suffix(".pdf").name}
    again = no_op(root)
    assert again["code"] == 0 and again["weasyprint"] is False and again["opened"] == []
