"""``build.py bundle``: the command line of press.products.bundles."""

from __future__ import annotations

from press.products.bundles import command

__all__ = ["command"]
