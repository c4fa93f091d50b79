"""``python -m press``: the command line, for the project in the current directory."""

import sys

from press.commands import main

sys.exit(main())
