"""Where dockfix keeps what it fetched: one folder per user, shared by every run."""

from __future__ import annotations

import os
from pathlib import Path

NODE_DATA_FILE_NAME = "nodejs-data.json"
"""The refreshed data inside the cache folder: the published files (schedule, advisories, the node
image's versions.json) and their dates, in one file so that replacing it is a single atomic rename.
`dockfix --update-data` writes it (`nodedata.update_data`); `nodedata` and `images` read it."""


def user_cache_dir() -> Path:
    """The user's cache folder for dockfix: `$XDG_CACHE_HOME/dockfix` or `~/.cache/dockfix`."""
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".cache"
    return base / "dockfix"
