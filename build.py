"""Build the briefings: a thin command line over the press package (see --help)."""

import sys

from press.cli import main

if __name__ == "__main__":
    sys.exit(main())
