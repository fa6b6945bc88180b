"""Configuration files: `[tool.dockfix]` in pyproject.toml, or a `.dockfix.toml`.

The configuration of a Dockerfile is the nearest one found from its folder upwards: in each
folder, `.dockfix.toml` first (its keys at the top level, or under `[tool.dockfix]`), then a
`pyproject.toml` that has a `[tool.dockfix]` table (a pyproject.toml without one does not stop
the search). Keys, as ruff spells them:

    select = ["DF001", "DF002"]     # rule codes, prefixes or names
    ignore = ["DF008"]
    unsafe-fixes = true
    node-version = "22"
    registry-mirror = "https://mirror.example.com"
    exclude = ["legacy/**", "*.dev.Dockerfile"]   # globs, relative to the configuration's folder

Flags on the command line win over the file (run.py merges the two). Keys that choose where
dockfix fetches data from (DATA_SOURCE_KEYS: `registry-mirror`) come from the command line or the
environment; a repository's file sets them only when the user trusts it
(`--trust-repository-config`), so that one repository cannot make dockfix pin what a server of
its choosing answers. A file that is not valid TOML, or a key or value
that makes no sense (checked as the command line checks its flags), is a ConfigProblem: each
Dockerfile it applies to fails with one line (exit code 2), the others are still processed.
"""

from __future__ import annotations

import fnmatch
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..context import checked_node_version
from .fsutil import FileProblem, read_regular_file

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

CONFIG_FILE = ".dockfix.toml"
MAX_CONFIG_SIZE = 1024 * 1024
PYPROJECT = "pyproject.toml"
KNOWN_KEYS = frozenset({"select", "ignore", "unsafe-fixes", "node-version", "registry-mirror", "exclude"})
DATA_SOURCE_KEYS = ("registry-mirror",)
"""Keys that choose where data comes from: used from a repository's file only when it is trusted."""


class ConfigProblem(Exception):
    """A configuration file that cannot be used; the message names the file."""


@dataclass(frozen=True)
class Config:
    """The settings of one configuration file; None: the file does not set it."""

    path: Path
    select: tuple[str, ...] | None = None
    ignore: tuple[str, ...] | None = None
    unsafe_fixes: bool | None = None
    node_version: str | None = None
    registry_mirror: str | None = None
    exclude: tuple[str, ...] = field(default_factory=tuple)

    @property
    def folder(self) -> Path:
        return self.path.parent

    @property
    def data_sources(self) -> list[str]:
        """The DATA_SOURCE_KEYS this file sets."""
        return ["registry-mirror"] if self.registry_mirror is not None else []

    def excludes(self, path: Path) -> bool:
        """Whether `path` matches an `exclude` glob (relative to the configuration's folder)."""
        if not self.exclude:
            return False
        try:
            relative = Path(os.path.abspath(path)).relative_to(os.path.abspath(self.folder)).as_posix()
        except ValueError:
            return False
        parts = relative.split("/")
        for pattern in self.exclude:
            pattern = pattern.strip("/")
            # A pattern matches the path, a folder above it, or (without a slash) any one name in it.
            candidates = ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]
            if "/" not in pattern:
                candidates.extend(parts)
            if any(fnmatch.fnmatchcase(candidate, pattern) for candidate in candidates):
                return True
        return False


def load_toml(path: Path) -> dict[str, Any]:
    """The TOML file at `path`; raises ConfigProblem when it cannot be read or parsed."""
    try:
        data = read_regular_file(path, MAX_CONFIG_SIZE)
    except FileProblem as problem:
        raise ConfigProblem(f"{path}: {problem.message}") from None
    try:
        return tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigProblem(f"{path}: not valid TOML: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigProblem(f"{path}: not valid TOML: {error}") from None
    except RecursionError:
        # tomllib recurses once per nested array or table: a few kilobytes of brackets exhaust it.
        raise ConfigProblem(f"{path}: not valid TOML: nested too deeply") from None


def _strings(path: Path, key: str, value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ConfigProblem(f"{path}: {key} must be a list of strings")
    return tuple(value)


def _string(path: Path, key: str, value: object) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise ConfigProblem(f"{path}: {key} must be a string")
    return value


def _node_version(path: Path, value: object) -> str:
    try:
        return checked_node_version(_string(path, "node-version", value))
    except ValueError as error:
        raise ConfigProblem(f"{path}: node-version: {error}") from None


def parse_config(table: dict[str, Any], path: Path) -> Config:
    """Check a `[tool.dockfix]` table and turn it into a Config."""
    unknown = sorted(set(table) - KNOWN_KEYS)
    if unknown:
        raise ConfigProblem(f"{path}: unknown key {unknown[0]!r} (known: {', '.join(sorted(KNOWN_KEYS))})")
    unsafe = table.get("unsafe-fixes")
    if unsafe is not None and not isinstance(unsafe, bool):
        raise ConfigProblem(f"{path}: unsafe-fixes must be true or false")
    return Config(
        path=path,
        select=_strings(path, "select", table["select"]) if "select" in table else None,
        ignore=_strings(path, "ignore", table["ignore"]) if "ignore" in table else None,
        unsafe_fixes=unsafe,
        node_version=_node_version(path, table["node-version"]) if "node-version" in table else None,
        registry_mirror=_string(path, "registry-mirror", table["registry-mirror"])
        if "registry-mirror" in table
        else None,
        exclude=_strings(path, "exclude", table["exclude"]) if "exclude" in table else (),
    )


def load_config_file(path: Path) -> Config | None:
    """The Config of one file; None for a pyproject.toml without `[tool.dockfix]`."""
    data = load_toml(path)
    tool = data.get("tool", {})
    table = tool.get("dockfix") if isinstance(tool, dict) else None
    if path.name == CONFIG_FILE and table is None:
        table = data
    if table is None:
        return None
    if not isinstance(table, dict):
        raise ConfigProblem(f"{path}: [tool.dockfix] must be a table")
    return parse_config(table, path)


class ConfigFinder:
    """Finds the configuration of each file, reading each folder's files once."""

    def __init__(self) -> None:
        self._by_folder: dict[str, Config | None] = {}

    def for_folder(self, folder: Path) -> Config | None:
        """The nearest configuration from `folder` upwards, or None."""
        start = os.path.abspath(folder)
        visited = []
        current = start
        found: Config | None = None
        while True:
            if current in self._by_folder:
                found = self._by_folder[current]
                break
            visited.append(current)
            found = self._read_folder(Path(current))
            if found is not None:
                break
            parent = os.path.dirname(current)
            if parent == current:
                break
            current = parent
        for folder_seen in visited:
            self._by_folder[folder_seen] = found
        return found

    def for_file(self, path: Path) -> Config | None:
        """The configuration that applies to the file at `path`."""
        return self.for_folder(Path(os.path.abspath(path)).parent)

    @staticmethod
    def _read_folder(folder: Path) -> Config | None:
        for name in (CONFIG_FILE, PYPROJECT):
            candidate = folder / name
            if candidate.is_file():
                config = load_config_file(candidate)
                if config is not None:
                    return config
        return None
