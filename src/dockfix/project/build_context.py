"""The build context, read and never executed: package.json, the lockfile, other files.

Rules ask the project about itself; they never open files themselves. Files that an earlier fix
changed or created are seen through the overlay, so every pass of the pipeline sees the project
as it will be written.
"""

from __future__ import annotations

import json
from functools import cached_property
from pathlib import Path

LOCKFILES = {
    "package-lock.json": "npm",
    "npm-shrinkwrap.json": "npm",
    "yarn.lock": "yarn",
    "pnpm-lock.yaml": "pnpm",
    "bun.lockb": "bun",
    "bun.lock": "bun",
}
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


class Project:
    """A read-only view of the build context folder, with an overlay of pending changes."""

    def __init__(self, root: Path, overlay: dict[Path, bytes] | None = None):
        self.root = root
        self.overlay: dict[Path, bytes] = overlay if overlay is not None else {}

    def path(self, relative: str) -> Path | None:
        """The absolute path of a file inside the context; None if it would leave it."""
        candidate = self.root / relative
        try:
            resolved = candidate.resolve()
            if not resolved.is_relative_to(self.root.resolve()):
                return None
        except (OSError, RuntimeError):
            return None
        return candidate

    def read(self, relative: str) -> bytes | None:
        """The file's bytes (with pending changes), or None if absent, unreadable or outside."""
        path = self.path(relative)
        return None if path is None else self.read_absolute(path)

    def read_absolute(self, path: Path) -> bytes | None:
        """Current bytes of a file the fixes touch (None if it does not exist yet)."""
        if path in self.overlay:
            return self.overlay[path]
        try:
            if not path.is_file() or path.stat().st_size > MAX_PROJECT_FILE:
                return None
            return path.read_bytes()
        except OSError:
            return None

    def exists(self, relative: str) -> bool:
        path = self.path(relative)
        return path is not None and (path in self.overlay or path.exists())

    @cached_property
    def package_json(self) -> dict | None:
        data = self.read("package.json")
        if data is None:
            return None
        try:
            value = json.loads(data.decode("utf-8-sig"))
        except (ValueError, UnicodeDecodeError):
            return None
        return value if isinstance(value, dict) else None

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

    def has_lockfile_for(self, manager: str) -> bool:
        family = "yarn" if manager.startswith("yarn") else manager
        return any(LOCKFILES[name] == family for name in self.lockfiles)

    def build_needs_dev_dependencies(self) -> bool:
        """True when the project has a build script and dev dependencies it may need."""
        return "build" in self.scripts and bool(self.dev_dependencies)

    def native_addons(self) -> list[str]:
        """Production packages with native code, from package-lock.json where it says so.

        A lockfile (v2/v3) marks packages that compile at install (`hasInstallScript`) and the
        platform packages of prebuilt binaries (`os`/`cpu`/`libc`); without one, dependencies
        are matched against the packages known to carry native addons.
        """
        return list(self._native_addons)

    @cached_property
    def _native_addons(self) -> tuple[str, ...]:
        found: set[str] = set()
        lock = self._json_file("package-lock.json") or self._json_file("npm-shrinkwrap.json")
        packages = lock.get("packages") if lock else None
        if isinstance(packages, dict):
            for key, entry in packages.items():
                if not key or not isinstance(entry, dict) or entry.get("dev") is True:
                    continue
                if entry.get("hasInstallScript") is True or any(k in entry for k in ("os", "cpu", "libc")):
                    found.add(key.rsplit("node_modules/", 1)[-1])
        for kind in ("dependencies", "optionalDependencies"):
            found.update(name for name in self.dependencies(kind) if name in NATIVE_ADDON_PACKAGES)
        return tuple(sorted(found))

    def _json_file(self, relative: str) -> dict | None:
        data = self.read(relative)
        if not data:
            return None
        try:
            value = json.loads(data.decode("utf-8-sig"))
        except (ValueError, UnicodeDecodeError):
            return None
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
            bins = entry.get("bin")
            if isinstance(bins, dict):
                found.update((name, package) for name in bins if isinstance(name, str))
            elif isinstance(bins, str):
                found[package.split("/")[-1]] = package  # a single bin is named after the package
        return found
