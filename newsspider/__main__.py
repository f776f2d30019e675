"""``python -m newsspider``: the ``newsspider`` command."""

import sys

from newsspider.cli import main

if __name__ == "__main__":
    sys.exit(main())
