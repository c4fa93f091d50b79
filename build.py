"""Build the briefings: a thin command line over the press package (see --help)."""

import sys
from pathlib import Path

from press.commands import main

if __name__ == "__main__":
    sys.exit(main(default_project=Path(__file__).resolve().parent))
