"""briefing press: Markdown research briefings to print-ready, web and draft PDFs."""

from press.core import libraries

# Before anything imports WeasyPrint (a worker, the preview, a test): its C libraries are found
# from the linker cache, not by running gcc and ld some 200 times (press/core/libraries.py).
libraries.install()
