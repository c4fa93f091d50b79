"""``python -m press``: the command line, for the project in the current directory."""

from press.commands import cli

cli()
