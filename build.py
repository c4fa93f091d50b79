"""Build the briefings: a thin command line over the press package (see --help)."""

from pathlib import Path

from press.commands import cli

if __name__ == "__main__":
    cli(default_project=Path(__file__).resolve().parent)
