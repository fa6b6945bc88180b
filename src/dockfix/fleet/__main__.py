"""`python -m dockfix.fleet ...`: the same as `dockfix fleet ...`."""

import sys

from ..cli import app

if __name__ == "__main__":
    app(["fleet", *sys.argv[1:]], prog_name="dockfix")
