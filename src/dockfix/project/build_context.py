"""The build context, read and never executed: package.json, the lockfile, other files.

Rules ask the project about itself; they never open files themselves. Files that an earlier fix
changed or created are seen through the overlay, so every pass of the pipeline sees the project
as it will be written.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from .fsutil import FileProblem, FileTooLarge, read_regular_file
from .node_tooling import LOCKFILES

MAX_PROJECT_FILE = 5 * 1024 * 1024

# Packages with native addons (compiled or prebuilt for one libc): known by name, for projects
# whose lockfile is not in the context to say it.
NATIVE_ADDON_PACKAGES = frozenset(
    {
        "sharp",
        "bcrypt",
        "canvas",
        "better-sqlite3",
        "sqlite3",
        "node-sass",
        "puppeteer",
        "@tensorflow/tfjs-node",
        "grpc",
        "libxmljs",
        "libxmljs2",
        "zeromq",
        "leveldown",
        "re2",
        "farmhash",
        "node-rdkafka",
        "oracledb",
        "ibm_db",
    }
)

# What the official node images run on: Linux, on these CPUs (npm's names), with glibc (the
# Debian variants) or musl (Alpine).
NODE_IMAGE_CPUS = ("x64", "arm64", "arm", "ppc64", "s390x")
NODE_IMAGE_LIBCS = ("glibc", "musl")


@dataclass(frozen=True, slots=True)
class Platforms:
    """The `os`, `cpu` and `libc` a lockfile entry restricts its package to (empty: any), and
    whether the package compiles at install (else it is a prebuilt binary)."""

    os: tuple[str, ...] = ()
    cpu: tuple[str, ...] = ()
    libc: tuple[str, ...] = ()
    compiled: bool = True

    def installs_on_node_image(self, libc: str | None = None) -> bool:
        """Whether npm or pnpm installs the package on a node image (on `libc` when given): a
        prebuilt binary for Android, Windows, macOS or another libc is skipped, not installed."""
        return (
            _allows(self.os, ("linux",))
            and _allows(self.cpu, NODE_IMAGE_CPUS)
            and _allows(self.libc, (libc,) if libc else NODE_IMAGE_LIBCS)
        )


def _allows(values: tuple[str, ...], candidates: Iterable[str]) -> bool:
    """npm's reading of an `os`/`cpu`/`libc` list (`["linux"]`, `["!win32"]`) for any of `candidates`."""
    if not values:
        return True
    allowed = [v for v in values if not v.startswith("!")]
    return any((not allowed or c in allowed) and f"!{c}" not in values for c in candidates)


def _platforms_of(entry: dict) -> Platforms:
    """The platforms of a package-lock.json entry."""

    def listed(key: str) -> tuple[str, ...]:
        value = entry.get(key)
        if isinstance(value, str):
            return (value,)
        return tuple(v for v in value if isinstance(v, str)) if isinstance(value, list) else ()

    return Platforms(listed("os"), listed("cpu"), listed("libc"), compiled=entry.get("hasInstallScript") is True)


# The package that ships a command-line tool, for common CLIs whose binary is not named after
# their package; used when no package-lock.json records `bin` (yarn and pnpm lockfiles do not).
COMMON_CLI_PACKAGES = {
    "vue-cli-service": "@vue/cli-service",
    "nest": "@nestjs/cli",
    "next": "next",
    "ts-node": "ts-node",
    "ts-node-dev": "ts-node-dev",
    "tsnd": "ts-node-dev",
    "ts-node-esm": "ts-node",
    "tsc": "typescript",
    "tsx": "tsx",
    "nodemon": "nodemon",
    "node-dev": "node-dev",
    "pino-pretty": "pino-pretty",
    "react-scripts": "react-scripts",
    "react-app-rewired": "react-app-rewired",
    "craco": "@craco/craco",
    "vite": "vite",
    "ng": "@angular/cli",
    "nuxt": "nuxt",
    "nuxi": "nuxi",
    "gatsby": "gatsby",
    "pm2": "pm2",
    "pm2-runtime": "pm2",
    "webpack": "webpack",
    "webpack-dev-server": "webpack-dev-server",
    "babel-node": "@babel/node",
    "babel": "@babel/cli",
    "concurrently": "concurrently",
    "cross-env": "cross-env",
    "env-cmd": "env-cmd",
    "dotenv": "dotenv-cli",
    "run-s": "npm-run-all",
    "run-p": "npm-run-all",
    "npm-run-all": "npm-run-all",
    "rimraf": "rimraf",
    "jest": "jest",
    "mocha": "mocha",
    "vitest": "vitest",
    "cypress": "cypress",
    "playwright": "@playwright/test",
    "serve": "serve",
    "http-server": "http-server",
    "sequelize": "sequelize-cli",
    "knex": "knex",
    "prisma": "prisma",
    "typeorm": "typeorm",
    "remix-serve": "@remix-run/serve",
    "astro": "astro",
    "svelte-kit": "@sveltejs/kit",
    "ember": "ember-cli",
    "parcel": "parcel",
    "forever": "forever",
    "micro": "micro",
    "nx": "nx",
    "turbo": "turbo",
    "lerna": "lerna",
    "swc": "@swc/cli",
    "tsup": "tsup",
    "esbuild": "esbuild",
    "rollup": "rollup",
    "json-server": "json-server",
    "strapi": "@strapi/strapi",
}


# The most paths of the context listed for COPY globs and the search for source files.
MAX_LISTED_FILES = 2000


class UnreadableProjectFile(Exception):
    """A file of the build context the rules need that cannot be read as what it must be (a
    package.json nested too deeply for the JSON parser): the Dockerfile fails with this line."""

    def __init__(self, path: Path, reason: str):
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


class Project:
    """A read-only view of the build context folder, with an overlay of pending changes.

    A file over MAX_PROJECT_FILE reads as absent, and is kept in `too_large` so the run can
    say so: a 6 MiB package-lock.json is not silently ignored.

    A project lives for one check. What it reads from disk is kept in `on_disk` (shared with the
    projects of the folders its stages work in), so each file is read once a check: the rules ask
    for .dockerignore, .npmrc and the lockfiles again and again, and the pending changes are the
    only thing that changes meanwhile (in the overlay, which is looked at first).
    """

    def __init__(
        self,
        root: Path,
        overlay: dict[Path, bytes] | None = None,
        too_large: set[Path] | None = None,
        on_disk: dict[Path, bytes | None] | None = None,
    ):
        self.root = root
        self.overlay: dict[Path, bytes] = overlay if overlay is not None else {}
        self.too_large: set[Path] = too_large if too_large is not None else set()
        self.on_disk: dict[Path, bytes | None] = on_disk if on_disk is not None else {}
        # Each path asked, resolved once: the rules ask for package.json, server.js... tens of
        # times a check, and resolving is a system call per component. Only the fixes' overlay
        # changes during a check, and it changes no link.
        self._paths: dict[str, Path | None] = {}
        self._exists: dict[Path, bool] = {}  # whether each path asked is on disk, asked once too

    @cached_property
    def resolved_root(self) -> Path | None:
        """The context folder with its links resolved, once: every path is checked against it.
        None when it cannot be resolved (a loop of links)."""
        try:
            return self.root.resolve()
        except (OSError, RuntimeError):
            return None

    def path(self, relative: str) -> Path | None:
        """The absolute path of a file inside the context; None if it would leave it."""
        if relative not in self._paths:
            self._paths[relative] = self._inside(relative)
        return self._paths[relative]

    def _inside(self, relative: str) -> Path | None:
        root = self.resolved_root
        if root is None:
            return None
        candidate = self.root / relative
        if not self._plainly_inside(root, relative):
            try:
                if not candidate.resolve().is_relative_to(root):
                    return None
            except (OSError, RuntimeError):
                return None
        return candidate

    @staticmethod
    def _plainly_inside(root: Path, relative: str) -> bool:
        """Whether `relative` stays in the (resolved) root with no `..` and no link on the way,
        checked from the root: one lstat per component of `relative`, where resolving the whole
        path costs one per component of the absolute path. False means "resolve it to know"."""
        parts = relative.split("/")
        if relative.startswith("/") or ".." in parts:
            return False
        current = str(root)
        for part in parts:
            if part in ("", "."):
                continue
            current = os.path.join(current, part)
            try:
                mode = os.lstat(current).st_mode
            except FileNotFoundError:
                return True  # what does not exist is no link: the rest of the path is plain
            except OSError:
                return False
            if stat.S_ISLNK(mode):
                return False
        return True

    def read(self, relative: str) -> bytes | None:
        """The file's bytes (with pending changes), or None if absent, unreadable or outside."""
        path = self.path(relative)
        return None if path is None else self.read_absolute(path)

    def read_absolute(self, path: Path) -> bytes | None:
        """Current bytes of a file the fixes touch (None if it does not exist yet)."""
        if path in self.overlay:
            return self.overlay[path]
        if path not in self.on_disk:
            self.on_disk[path] = self._read_from_disk(path)
        return self.on_disk[path]

    def _read_from_disk(self, path: Path) -> bytes | None:
        try:
            return read_regular_file(path, MAX_PROJECT_FILE)
        except FileTooLarge:
            self.too_large.add(path)
            return None
        except FileProblem:
            return None

    def exists(self, relative: str) -> bool:
        path = self.path(relative)
        if path is None:
            return False
        if path in self.overlay:
            return True
        if path not in self._exists:
            self._exists[path] = path.exists()
        return self._exists[path]

    @cached_property
    def top_level_files(self) -> tuple[str, ...]:
        """The names of the regular files at the top of the context, sorted (none if it cannot be listed)."""
        try:
            with os.scandir(self.root) as entries:
                return tuple(sorted(entry.name for entry in entries if entry.is_file()))
        except OSError:
            return ()

    @cached_property
    def listed_files(self) -> tuple[str, ...]:
        """The context's files and folders as relative paths, node_modules and .git left out, up to
        MAX_LISTED_FILES (what COPY globs and the search for source files look through)."""
        found: list[str] = []
        for folder, subfolders, names in os.walk(self.root, onerror=lambda error: None):
            subfolders[:] = [name for name in subfolders if name not in ("node_modules", ".git")]
            base = Path(folder).relative_to(self.root)
            for name in [*subfolders, *names]:
                found.append((base / name).as_posix())
                if len(found) >= MAX_LISTED_FILES:
                    return tuple(found)
        return tuple(found)

    @cached_property
    def package_json(self) -> dict | None:
        return self._json_file("package.json")

    @property
    def has_package_json(self) -> bool:
        return self.package_json is not None

    @property
    def scripts(self) -> dict[str, str]:
        scripts = (self.package_json or {}).get("scripts")
        if not isinstance(scripts, dict):
            return {}
        return {k: v for k, v in scripts.items() if isinstance(k, str) and isinstance(v, str)}

    def dependencies(self, kind: str = "dependencies") -> dict[str, str]:
        deps = (self.package_json or {}).get(kind)
        return {k: v for k, v in deps.items() if isinstance(v, str)} if isinstance(deps, dict) else {}

    @property
    def dev_dependencies(self) -> dict[str, str]:
        return self.dependencies("devDependencies")

    @cached_property
    def lockfiles(self) -> tuple[str, ...]:
        return tuple(name for name in LOCKFILES if self.exists(name))

    @property
    def package_manager(self) -> str:
        """npm, yarn (classic), yarn-berry, pnpm or bun: from `packageManager`, else the lockfile."""
        declared = (self.package_json or {}).get("packageManager")
        if isinstance(declared, str) and "@" in declared:
            name, _, version = declared.partition("@")
            if name == "yarn":
                return "yarn" if version.startswith("1.") else "yarn-berry"
            if name in ("npm", "pnpm", "bun"):
                return name
        for lockfile in self.lockfiles:
            manager = LOCKFILES[lockfile]
            if manager == "yarn" and (self.exists(".yarnrc.yml") or self._yarn_lock_is_berry()):
                return "yarn-berry"
            return manager
        return "npm"

    def _yarn_lock_is_berry(self) -> bool:
        data = self.read("yarn.lock") or b""
        return b"__metadata:" in data[:4096]

    def native_addons(self, libc: str | None = None, *, compiled: bool = False) -> list[str]:
        """Packages with native code that install on a node image (with `libc`, "glibc" or
        "musl", when given), from the lockfile where it says so, else known by name; with
        `compiled`, only those that compile at install (a prebuilt binary needs no compiler).

        package-lock.json (v2/v3) marks packages that compile at install (`hasInstallScript`) and
        the platform packages of prebuilt binaries (`os`/`cpu`/`libc`), and tells production
        from development ones; pnpm-lock.yaml marks them `requiresBuild: true` (and `os`/`cpu`/
        `libc`). A platform package for another system (`os: [android]`, `cpu: [ia32]`, or a
        `libc` other than the image's) is one npm and pnpm skip there, so it is not counted.
        yarn.lock has no such marker: its packages are matched against the packages known to
        carry native addons, less those package.json's `dependenciesMeta` says are not built.
        The dependencies in package.json are matched against the known packages in every case.
        """
        return sorted(
            name
            for name, platforms in self._native_addons.items()
            if platforms.installs_on_node_image(libc) and (platforms.compiled or not compiled)
        )

    @cached_property
    def _native_addons(self) -> dict[str, Platforms]:
        found: dict[str, Platforms] = {}
        lock = self._json_file("package-lock.json") or self._json_file("npm-shrinkwrap.json")
        packages = lock.get("packages") if lock else None
        if isinstance(packages, dict):
            for key, entry in packages.items():
                if not key or not isinstance(entry, dict) or entry.get("dev") is True:
                    continue
                if entry.get("hasInstallScript") is True or any(k in entry for k in ("os", "cpu", "libc")):
                    found[key.rsplit("node_modules/", 1)[-1]] = _platforms_of(entry)
        pnpm_lock = self.read("pnpm-lock.yaml")
        if pnpm_lock:
            found.update(pnpm_native_packages(pnpm_lock.decode("utf-8", "replace")))
        yarn_lock = self.read("yarn.lock")
        if yarn_lock:
            not_built = self._not_built()
            for name in yarn_lock_packages(yarn_lock.decode("utf-8", "replace")):
                if name in NATIVE_ADDON_PACKAGES and name not in not_built:
                    found.setdefault(name, Platforms())
        for kind in ("dependencies", "optionalDependencies"):
            for name in self.dependencies(kind):
                if name in NATIVE_ADDON_PACKAGES:
                    found.setdefault(name, Platforms())
        return found

    def _not_built(self) -> set[str]:
        """Packages whose install scripts Yarn is told not to run (`dependenciesMeta.<name>.built: false`)."""
        meta = (self.package_json or {}).get("dependenciesMeta")
        if not isinstance(meta, dict):
            return set()
        return {
            key.rsplit("@", 1)[0] if key.rfind("@") > 0 else key
            for key, value in meta.items()
            if isinstance(value, dict) and value.get("built") is False
        }

    def _json_file(self, relative: str) -> dict | None:
        """A JSON object file of the context; None when absent, unreadable or not an object.

        Raises UnreadableProjectFile for one nested too deeply to parse: read as absent, it would
        change the fixes without a word.
        """
        data = self.read(relative)
        if not data:
            return None
        try:
            value = json.loads(data.decode("utf-8-sig"))
        except (ValueError, UnicodeDecodeError):
            return None
        except RecursionError:
            raise UnreadableProjectFile(self.root / relative, "JSON nested too deeply to read") from None
        return value if isinstance(value, dict) else None

    def binary_package(self, binary: str) -> str | None:
        """The package whose `bin` provides the command `binary` (`vue-cli-service` -> `@vue/cli-service`).

        package-lock.json (v2/v3) records every installed package's `bin`; without it, common
        CLIs are known by name, and a binary named after a declared package is that package's.
        """
        owner = self._lockfile_binaries.get(binary)
        if owner is not None:
            return owner
        if binary in COMMON_CLI_PACKAGES:
            return COMMON_CLI_PACKAGES[binary]
        declared = {**self.dependencies(), **self.dev_dependencies}
        return binary if binary in declared else None

    def installs(self, package: str) -> bool:
        """Whether installing the project puts `package` at the top of node_modules, where its
        binaries go to node_modules/.bin: package.json declares it, or package-lock.json has it there."""
        declared = {
            **self.dependencies(),
            **self.dev_dependencies,
            **self.dependencies("optionalDependencies"),
        }
        return package in declared or f"node_modules/{package}" in self._lockfile_packages

    def is_dev_only(self, package: str) -> bool:
        """Whether `npm ci --omit=dev` (or NODE_ENV=production) leaves `package` out.

        The lockfile knows (`"dev": true` on its entry, also for packages only dev tools pull in);
        without one, a package declared in devDependencies and not among the production ones.
        """
        entry = self._lockfile_packages.get(f"node_modules/{package}")
        if isinstance(entry, dict):
            return entry.get("dev") is True
        production = {
            **self.dependencies(),
            **self.dependencies("optionalDependencies"),
            **self.dependencies("peerDependencies"),
        }
        return package in self.dev_dependencies and package not in production

    def locked_versions(self, names: Iterable[str]) -> dict[str, list[str]]:
        """The versions of each of `names` that package-lock.json (or npm-shrinkwrap.json) installs, at any depth."""
        wanted = set(names)
        found: dict[str, list[str]] = {}
        for key, entry in self._lockfile_packages.items():
            name = key.rpartition("node_modules/")[2]
            if name in wanted and isinstance(entry, dict) and "version" in entry:
                found.setdefault(name, []).append(str(entry["version"]))
        return found

    @cached_property
    def _lockfile_packages(self) -> dict[str, object]:
        lock = self._json_file("package-lock.json") or self._json_file("npm-shrinkwrap.json")
        packages = lock.get("packages") if lock else None
        return packages if isinstance(packages, dict) else {}

    @cached_property
    def _lockfile_binaries(self) -> dict[str, str]:
        """binary -> package, for the packages installed at the top of node_modules (the ones on PATH)."""
        found: dict[str, str] = {}
        for key, entry in self._lockfile_packages.items():
            if not key.startswith("node_modules/") or "/node_modules/" in key or not isinstance(entry, dict):
                continue
            package = key[len("node_modules/") :]
            if entry.get("link") is True and isinstance(entry.get("resolved"), str):
                # a `file:` dependency or a workspace: its `bin` is on the folder it links to
                target = self._lockfile_packages.get(entry["resolved"])
                entry = target if isinstance(target, dict) else entry
            bins = entry.get("bin")
            if isinstance(bins, dict):
                found.update((name, package) for name in bins if isinstance(name, str))
            elif isinstance(bins, str):
                found[package.split("/")[-1]] = package  # a single bin is named after the package
        return found


def _package_name(spec: str) -> str:
    """`@scope/name@^1.0.0` -> `@scope/name`; `name@npm:1.2.3` -> `name`."""
    spec = spec.strip().strip("\"'")
    at = spec.find("@", 1)
    return spec if at < 0 else spec[:at]


def yarn_lock_packages(text: str) -> set[str]:
    """The package names a yarn.lock (v1 or berry) resolves: the keys of its top-level entries."""
    names = set()
    for line in text.splitlines():
        if not line or line[0] in " \t#" or not line.rstrip().endswith(":"):
            continue
        if line.startswith("__metadata"):
            continue
        for spec in line.rstrip()[:-1].split(","):
            name = _package_name(spec)
            if name:
                names.add(name)
    return names


_PNPM_PLATFORM_FIELDS = ("os", "cpu", "libc")


def pnpm_native_packages(text: str) -> dict[str, Platforms]:
    """Packages pnpm-lock.yaml marks as built at install (`requiresBuild: true`) or platform-bound
    (`os`/`cpu`/`libc`), other than those only development needs (`dev: true`), with the
    platforms they are bound to.

    Read line by line: entries of the `packages:` section are the keys indented by two spaces,
    `/name/1.0.0` (lockfile v5), `/name@1.0.0` (v6) or `name@1.0.0` (v9), their fields by four,
    the platform lists written in flow style (`os: [linux]`) or as `- item` lines below.
    """
    found: dict[str, Platforms] = {}
    section = None
    current: str | None = None
    native = dev = compiled = False
    lists: dict[str, list[str]] = {}
    open_list: list[str] | None = None

    def close() -> None:
        if current is not None and native and not dev:
            os_list, cpu_list, libc_list = (tuple(lists.get(key, ())) for key in _PNPM_PLATFORM_FIELDS)
            found[current] = Platforms(os_list, cpu_list, libc_list, compiled=compiled)

    for line in text.splitlines():
        if line and not line[0].isspace():
            close()
            current, native, dev, compiled, lists, open_list = None, False, False, False, {}, None
            section = line.rstrip()
            continue
        if section != "packages:" or not line.strip():
            continue
        indent = len(line) - len(line.lstrip(" "))
        field = line.strip()
        if indent == 2 and field.endswith(":"):
            close()
            current, native, dev, compiled, lists, open_list = _pnpm_key_name(field[:-1]), False, False, False, {}, None
        elif indent == 4 and current is not None:
            key, _, value = field.partition(":")
            open_list = None
            if field == "requiresBuild: true":
                native = compiled = True
            elif key in _PNPM_PLATFORM_FIELDS:
                native = True
                open_list = lists.setdefault(key, [])
                open_list.extend(_yaml_items(value))
            elif field == "dev: true":
                dev = True
        elif indent > 4 and open_list is not None and field.startswith("- "):
            open_list.extend(_yaml_items(field[2:]))
    close()
    return found


def _yaml_items(value: str) -> list[str]:
    """`[linux, darwin]`, `linux` or `'!win32'` -> the strings listed."""
    value = value.strip().removeprefix("[").removesuffix("]")
    return [item.strip().strip("\"'") for item in value.split(",") if item.strip()]


def _pnpm_key_name(key: str) -> str | None:
    key = key.strip().strip("\"'").split("(", 1)[0]  # `(peer@1.0.0)`: the peer suffix of v6/v9
    if key.startswith("/"):
        parts = key[1:].split("/")
        name_parts = parts[:2] if parts[0].startswith("@") else parts[:1]
        if "@" not in name_parts[-1] and len(parts) > len(name_parts):  # v5: /name/1.0.0_peer@1.0.0
            return "/".join(name_parts)
        key = key[1:]
    return _package_name(key) or None
