"""Finding the Dockerfiles under the paths given on the command line.

A file named on the command line is always processed, whatever its name. A folder is searched
recursively for the names Docker tools use: `Dockerfile`, `Containerfile`, `*.Dockerfile`,
`Dockerfile.*` and `Containerfile.*` (matched without regard to case, so `dockerfile` and
`app.dockerfile` count). Names that only look alike are left out: BuildKit's per-Dockerfile
ignore files (`Dockerfile.dockerignore`) and the leftovers of editors and `patch`
(`.orig`, `.rej`, `.bak`, `.swp`, `~`).

Folders that hold version control data, dependencies or caches are skipped (SKIPPED_FOLDERS):
`.git` and `node_modules` above all. Other dot-folders are searched, because real Dockerfiles
live in some of them (`.devcontainer/Dockerfile`). A folder named on the command line is
searched even if its name is in the skip list, and symbolic links to folders are not followed
while searching (a link loop must not hang the run); links to files are.

A folder with no Dockerfile is a warning, not an error, as in ruff: the run goes on with the
other paths and that folder alone does not change the exit code. A path that does not exist
is an error (exit code 2), and the other paths are still processed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

SKIPPED_FOLDERS = frozenset(
    {
        ".git", ".hg", ".svn", ".bzr", ".jj",
        "node_modules", ".pnpm-store", ".yarn",
        ".venv", ".tox", ".nox", "__pycache__", ".mypy_cache", ".pytest_cache", ".ruff_cache",
        ".cache", ".next", ".nuxt",
    }
)
_IGNORED_SUFFIXES = (".dockerignore", ".orig", ".rej", ".bak", ".swp", "~")
_BASE_NAMES = ("dockerfile", "containerfile")


def is_dockerfile_name(name: str) -> bool:
    """True for the file names a folder search picks up."""
    lower = name.lower()
    if lower.endswith(_IGNORED_SUFFIXES):
        return False
    if lower in _BASE_NAMES:
        return True
    if lower.endswith(".dockerfile") and len(lower) > len(".dockerfile"):
        return True
    return any(lower.startswith(base + ".") and len(lower) > len(base) + 1 for base in _BASE_NAMES)


@dataclass
class Discovery:
    """The Dockerfiles found, in a stable order, and what went wrong on the way."""

    files: list[Path] = field(default_factory=list)
    missing: list[Path] = field(default_factory=list)  # paths that do not exist
    empty_folders: list[Path] = field(default_factory=list)  # folders with no Dockerfile
    unreadable_folders: list[tuple[Path, str]] = field(default_factory=list)


def _walk(folder: Path, discovery: Discovery) -> list[Path]:
    found: list[Path] = []

    def on_error(error: OSError) -> None:
        discovery.unreadable_folders.append((Path(error.filename or folder), error.strerror or str(error)))

    for current, subfolders, files in os.walk(folder, onerror=on_error):
        # Pruning in place stops os.walk from descending; sorting makes the order stable.
        subfolders[:] = sorted(name for name in subfolders if name not in SKIPPED_FOLDERS)
        base = Path(current)
        found.extend(base / name for name in sorted(files) if is_dockerfile_name(name))
    return found


def discover(paths: list[Path]) -> Discovery:
    """Expand the command-line paths into Dockerfiles, each once, in the order given."""
    discovery = Discovery()
    seen: set[str] = set()

    def add(path: Path) -> None:
        key = os.path.realpath(path)
        if key not in seen:
            seen.add(key)
            discovery.files.append(path)

    for path in paths:
        if path.is_dir():
            found = _walk(path, discovery)
            if not found:
                discovery.empty_folders.append(path)
            for file in found:
                add(file)
        elif path.exists() or path.is_symlink():
            # A dangling link is passed on too: reading it then reports the problem by name.
            add(path)
        else:
            discovery.missing.append(path)
    return discovery
