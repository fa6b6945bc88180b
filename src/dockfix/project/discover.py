"""Finding the Dockerfiles under the paths given on the command line, with their build contexts.

A file named on the command line is always processed, whatever its name. A folder is searched
recursively for the names Docker tools use: `Dockerfile`, `Containerfile`, `*.Dockerfile`,
`Dockerfile.*` and `Containerfile.*` (matched without regard to case, so `dockerfile` and
`app.dockerfile` count). Names that only look alike are left out: BuildKit's per-Dockerfile
ignore files (`Dockerfile.dockerignore`) and the leftovers of editors and `patch`
(`.orig`, `.rej`, `.bak`, `.swp`, `~`).

Compose files met on the way (`compose.yaml`, `compose.yml`, `docker-compose.yml`,
`docker-compose.yaml`) name Dockerfiles too: `build: DIR` or `build: {context, dockerfile}` under
each service. Those Dockerfiles are processed with the build context the compose file gives
(`docker/Dockerfile` built from the repository root sees the root's package.json), whatever their
name. The compose file is read by compose.py's small reader of that subset of YAML.

Folders that hold version control data, dependencies, vendored code or caches are skipped
(SKIPPED_FOLDERS): `.git` and `node_modules` above all. Other dot-folders are searched, because
real Dockerfiles live in some of them (`.devcontainer/Dockerfile`). Paths a `.gitignore` ignores
are skipped too (the `.gitignore` files of the folder searched, of the folders below it, and of
the folders above it up to the repository's root), and so are the `exclude` patterns of the
configuration. A folder named on the command line is searched even if its name is in the skip
list, and symbolic links to folders are not followed while searching (a link loop must not hang
the run, and a link must not lead the run out of the tree it was given); a link to a folder
outside that tree gets a warning, so the user knows it was not searched. Links to files are
followed; the runner refuses one that leads out of its folder and build context. A Dockerfile a
compose file names outside the folder searched (`build: ../other`, or through a link) is left
out with a warning too.

A folder with no Dockerfile is a warning, not an error, as in ruff: the run goes on with the
other paths and that folder alone does not change the exit code. A path that does not exist
is an error (exit code 2), and the other paths are still processed.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from ..records import dataclass, field
from .fsutil import leads_outside

# typing.TYPE_CHECKING without importing typing, which takes a one-file run 5% of its start-up.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from .gitignore import IgnoreRules

SKIPPED_FOLDERS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        ".bzr",
        ".jj",
        "node_modules",
        ".pnpm-store",
        ".yarn",
        "bower_components",
        "jspm_packages",
        "vendor",
        "third_party",
        "third-party",
        ".venv",
        ".tox",
        ".nox",
        "__pycache__",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        ".cache",
        ".next",
        ".nuxt",
    }
)
COMPOSE_NAMES = ("compose.yaml", "compose.yml", "docker-compose.yml", "docker-compose.yaml")
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
    # Build contexts that are not the Dockerfile's own folder (from compose files), by file.
    contexts: dict[Path, Path] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)  # e.g. a compose file that cannot be read


def _git_root(folder: Path) -> Path | None:
    for candidate in [folder, *folder.parents]:
        if (candidate / ".git").exists():
            return candidate
    return None


def _ancestor_ignores(folder: Path) -> IgnoreRules:
    """The .gitignore rules of the folders above `folder`, up to its repository's root."""
    from .gitignore import IgnoreRules

    rules = IgnoreRules()
    root = _git_root(folder)
    if root is None or root == folder:
        return rules
    chain = []
    current = folder.parent
    while True:
        chain.append(current)
        if current == root or current == current.parent:
            break
        current = current.parent
    for ancestor in reversed(chain):
        rules = rules.with_file(ancestor)
    return rules


def _walk(
    folder: Path,
    discovery: Discovery,
    excluded: Callable[[Path], bool] | None,
) -> tuple[list[Path], list[Path]]:
    """Dockerfiles and compose files below `folder`."""
    # Here: a run given only files never searches a folder, nor reads a .gitignore.
    from .gitignore import IgnoreRules

    found: list[Path] = []
    compose: list[Path] = []
    absolute_start = Path(os.path.abspath(folder))
    rules_by_folder: dict[str, IgnoreRules] = {
        str(absolute_start): _ancestor_ignores(absolute_start).with_file(absolute_start)
    }

    def on_error(error: OSError) -> None:
        discovery.unreadable_folders.append((Path(error.filename or folder), error.strerror or str(error)))

    for current, subfolders, files in os.walk(folder, onerror=on_error):
        absolute = os.path.abspath(current)
        rules = rules_by_folder.pop(absolute, None) or IgnoreRules()
        base = Path(current)
        kept = []
        for name in sorted(subfolders):
            child = Path(absolute) / name
            if name in SKIPPED_FOLDERS or rules.ignores(child, is_dir=True):
                continue
            if excluded is not None and excluded(base / name):
                continue
            if child.is_symlink():
                # os.walk does not descend into it; say so when it leads out of the tree.
                if leads_outside(child, [absolute_start]) is not None:
                    discovery.warnings.append(f"{base / name}: a link to a folder outside {folder}; not searched")
                continue
            kept.append(name)
            rules_by_folder[str(child)] = rules.with_file(child)
        # Pruning in place stops os.walk from descending; sorting makes the order stable.
        subfolders[:] = kept
        for name in sorted(files):
            path = base / name
            if rules.ignores(Path(absolute) / name, is_dir=False):
                continue
            if excluded is not None and excluded(path):
                continue
            if is_dockerfile_name(name):
                found.append(path)
            elif name in COMPOSE_NAMES:
                compose.append(path)
    return found, compose


def discover(
    paths: list[Path],
    *,
    excluded: Callable[[Path], bool] | None = None,
) -> Discovery:
    """Expand the command-line paths into Dockerfiles, each once, in the order given.

    `excluded` says whether a path met while searching a folder is left out (the configuration's
    `exclude`); files named on the command line are always taken.
    """
    discovery = Discovery()
    seen: dict[str, Path] = {}

    def add(path: Path) -> None:
        key = os.path.realpath(path)
        if key not in seen:
            seen[key] = path
            discovery.files.append(path)

    for path in paths:
        if path.is_dir():
            found, compose_files = _walk(path, discovery, excluded)
            from_compose: list[tuple[Path, Path]] = []
            if compose_files:
                # Here: reading compose files compiles expressions a folder without one never needs.
                from .compose import ComposeProblem, read_compose_builds
            for compose in compose_files:
                try:
                    builds = read_compose_builds(compose)
                except ComposeProblem as problem:
                    discovery.warnings.append(
                        f"{compose}: cannot read the compose file: {problem}; its Dockerfiles are searched as usual"
                    )
                    continue
                for build in builds:
                    outside = leads_outside(build.dockerfile, [path])
                    if outside is not None:
                        discovery.warnings.append(
                            f"{compose}: service {build.service}: its Dockerfile {outside} is outside {path}; "
                            f"not processed"
                        )
                    elif build.dockerfile.is_file():
                        from_compose.append((build.dockerfile, build.context))
                    else:
                        discovery.warnings.append(
                            f"{compose}: service {build.service}: no Dockerfile at {build.dockerfile}"
                        )
            if not found and not from_compose:
                discovery.empty_folders.append(path)
            for file in found:
                add(file)
            for file, context in from_compose:
                add(file)
                key = os.path.realpath(file)
                if os.path.realpath(context) != os.path.dirname(key):
                    discovery.contexts[seen[key]] = context
        elif path.exists() or path.is_symlink():
            # A dangling link is passed on too: reading it then reports the problem by name.
            add(path)
        else:
            discovery.missing.append(path)
    return discovery


def read_path_list(text: str, base: Path) -> list[Path]:
    """The paths of a `--from-file` list: one a line, blank lines and `#` comments skipped.

    Relative paths are taken from `base` (the current folder for a list read from stdin).
    """
    paths = []
    for line in text.splitlines():
        entry = line.strip()
        if not entry or entry.startswith("#"):
            continue
        path = Path(entry).expanduser()
        paths.append(path if path.is_absolute() else base / path)
    return paths
