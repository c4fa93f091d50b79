"""``build.py web``: the command line of press.products.shop."""

from __future__ import annotations

from press.products.shop import command

__all__ = ["command"]
