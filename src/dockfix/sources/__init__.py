"""Knowledge from outside the project: the registry client, Node.js releases and advisories,
version ranges, and the cache folder they share."""

import os
from pathlib import Path

# The data shipped with dockfix (data/SOURCES.md), read as the files package-data installs beside
# the modules. importlib.resources would also read it from a zip, but takes longer to import than
# a small Dockerfile takes to check, and dockfix never runs from a zip: its tree-sitter grammars
# are native extensions.
PACKAGED_DATA = Path(os.path.abspath(__file__)).parent.parent / "data"
