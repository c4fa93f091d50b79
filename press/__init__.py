"""briefing press: Markdown research briefings to print-ready, web and draft PDFs."""
