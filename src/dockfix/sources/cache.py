"""Where dockfix keeps what it fetched: one folder per user, shared by every run."""

from __future__ import annotations

import os
from pathlib import Path


def user_cache_dir() -> Path:
    """The user's cache folder for dockfix: `$XDG_CACHE_HOME/dockfix` or `~/.cache/dockfix`."""
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".cache"
    return base / "dockfix"
