"""``build.py preview``: the command line of press.preview."""

from __future__ import annotations

from press.preview import command

__all__ = ["command"]
