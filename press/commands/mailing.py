"""``build.py mailing``: the command line of press.products.mailing."""

from __future__ import annotations

from press.products.mailing import command

__all__ = ["command"]
