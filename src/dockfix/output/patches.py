"""`--patch-dir DIR`: one patch per repository, for review or for fleet tools to commit.

A file's repository is the nearest folder above it that holds `.git`; files outside any
repository go together under the folder named on the command line that holds them (or the
file's own folder). Each patch names files relative to its repository (`a/docker/Dockerfile`),
so `git apply` (or `patch -p1`) in a fresh clone of that repository applies it. Patches are
named after the repository folder (`api.patch`; `api-2.patch` when two repositories share a
name) and listed in the order met. A `.patch` file is never read as a Dockerfile by a later run,
whatever the repository's name (`Dockerfile.patch`). Each patch replaces its file whole: a link of
that name is replaced, not written through, and a failed write (a full disk) leaves no patch.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from ..project.fsutil import FileChange, replace_file
from .diff import unified_diff
from .json import repository_root

_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def _root_of(path: Path, fallbacks: list[Path]) -> Path:
    root = repository_root(path)
    if root is not None:
        return root
    absolute = os.path.abspath(path)
    for folder in fallbacks:
        candidate = os.path.abspath(folder)
        if os.path.isdir(candidate) and absolute.startswith(candidate.rstrip(os.sep) + os.sep):
            return Path(candidate)
    return Path(absolute).parent


def patches_by_repository(changes: list[FileChange], searched: list[Path]) -> dict[Path, bytes]:
    """The patch of each repository's changes (a FileChange's `expected` None: a new file)."""
    patches: dict[Path, list[bytes]] = {}
    for change in changes:
        root = _root_of(change.path, searched)
        patches.setdefault(root, []).append(unified_diff(change.expected, change.new, change.path, root))
    return {root: b"".join(parts) for root, parts in patches.items()}


def write_patches(patches: dict[Path, bytes], folder: Path) -> list[Path]:
    """Write each repository's patch into `folder` (created if needed); returns the files written.

    Raises OSError on the first patch that cannot be written, leaving that one absent.
    """
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    used: set[str] = set()
    for root, patch in patches.items():
        base = _UNSAFE_NAME.sub("-", root.name or "root").strip("-") or "root"
        name, number = base, 1
        while name in used:
            number += 1
            name = f"{base}-{number}"
        used.add(name)
        target = folder / f"{name}.patch"
        replace_file(target, patch)
        written.append(target)
    return written
