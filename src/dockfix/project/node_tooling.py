"""What dockfix knows about the Node.js package managers and build tools, in one place.

The project reader (which lockfile says which manager) and the rules (what an install, a prune
or a build looks like in a RUN) read these facts from here, so they cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass

# Each lockfile, and the package manager that writes it, in the order they are looked for.
LOCKFILES: dict[str, str] = {
    "package-lock.json": "npm",
    "npm-shrinkwrap.json": "npm",
    "yarn.lock": "yarn",
    "pnpm-lock.yaml": "pnpm",
    "bun.lockb": "bun",
    "bun.lock": "bun",
}
NPM_LOCKFILES = ("package-lock.json", "npm-shrinkwrap.json")

# The package managers whose project installs the rules read and rewrite.
PACKAGE_MANAGERS = ("npm", "yarn", "pnpm")
# Commands that run a package's binary without installing it into the project.
PACKAGE_RUNNERS = ("npx", "pnpx")

# npm's verbs for installing the project's dependencies (with its own aliases and typo fix-ups).
NPM_INSTALL_VERBS = ("install", "i", "add", "isntall", "in")
# Flags that leave the dev dependencies out of an install (npm, yarn classic, pnpm).
OMIT_DEV_FLAGS = ("--omit=dev", "--production", "--only=production", "--only=prod", "--prod", "--production=true")
# npm's older spellings of `--omit=dev`, deprecated since npm 7.
DEPRECATED_OMIT_DEV_FLAGS = ("--production", "--only=production", "--only=prod")
# Flags that make an install global rather than the project's.
GLOBAL_FLAGS = ("-g", "--global", "--location=global")

# The commands a global install of each package-manager package puts on the PATH.
MANAGER_COMMANDS: dict[str, frozenset[str]] = {
    "npm": frozenset({"npm"}),
    "yarn": frozenset({"yarn"}),
    "pnpm": frozenset({"pnpm"}),
    "corepack": frozenset({"yarn", "pnpm", "corepack"}),
}

# Commands that compile or bundle the app's sources.
BUILD_TOOLS = (
    "tsc",
    "webpack",
    "vite",
    "rollup",
    "esbuild",
    "babel",
    "nest",
    "next",
    "ng",
    "gulp",
    "grunt",
    "parcel",
    "swc",
    "tsup",
    "vue-cli-service",
    "react-scripts",
)
# Packages installed globally only for a build (compilers, the native-addon builder).
BUILD_ONLY_PACKAGES = frozenset({"node-gyp", "typescript"})


def omits_dev(words: list[str]) -> bool:
    """Whether an install's words leave the dev dependencies out (`--omit=dev`, `--omit dev`, `--prod`...)."""
    return any(word in OMIT_DEV_FLAGS for word in words) or (
        "--omit" in words and words[words.index("--omit") + 1 :][:1] == ["dev"]
    )


@dataclass(frozen=True, slots=True)
class PackageCache:
    """Where a package manager keeps the packages it downloads, and what moves or empties that folder.

    The folder is `home_folder` under the home of the user who runs the install, except for a
    manager that keeps root's elsewhere (`root_folder`: yarn classic's `userHome` is
    /usr/local/share for root). `variables` are the ENV names that move the folder: the first
    names it (or the folder `under_variable` holds it), the others move it in ways dockfix does not follow. `cleaners` are
    commands that empty it: under a cache mount they would empty the mount on every build.
    `locked`: the cache is not safe for two installs writing it at once, so a shared mount
    must be `sharing=locked`.
    """

    manager: str
    home_folder: str
    root_folder: str | None
    variables: tuple[str, ...]
    cleaners: tuple[tuple[str, ...], ...]
    locked: bool = False
    # The folder under the first variable's value (pnpm keeps its store in $PNPM_HOME/store).
    under_variable: str = ""
    # Configuration files of the project that may name another folder, and the keys that do.
    config_files: tuple[str, ...] = ()
    config_keys: tuple[str, ...] = ()


# npm: `cache` defaults to ~/.npm (a content-addressable cacache store, written atomically and
# made for concurrent use). Yarn classic: ~/.cache/yarn (/usr/local/share/.cache/yarn as root);
# two installs writing it at once corrupt it (yarnpkg/yarn#683, #4102). Yarn 4: the global
# cache ~/.yarn/berry/cache, "relatively safe to be shared ... even when multiple Yarn instances
# run at the same time" (yarnrc documentation). pnpm: the content-addressable store under
# $PNPM_HOME, ~/.local/share/pnpm by default (pnpm.io/docker mounts $PNPM_HOME/store). Bun:
# ~/.bun/install/cache, or $BUN_INSTALL_CACHE_DIR (bun.sh/docs/install/cache).
PACKAGE_CACHES: dict[str, PackageCache] = {
    "npm": PackageCache(
        "npm",
        ".npm",
        None,
        ("npm_config_cache", "NPM_CONFIG_CACHE"),
        (("npm", "cache", "clean"),),
        config_files=(".npmrc",),
        config_keys=("cache",),
    ),
    "yarn": PackageCache(
        "yarn",
        ".cache/yarn",
        "/usr/local/share/.cache/yarn",
        ("YARN_CACHE_FOLDER", "XDG_CACHE_HOME"),
        (("yarn", "cache", "clean"),),
        locked=True,
        config_files=(".yarnrc", ".npmrc"),
        config_keys=("cache-folder", "yarn-offline-mirror"),
    ),
    "yarn-berry": PackageCache(
        "yarn-berry",
        ".yarn/berry/cache",
        None,
        ("YARN_GLOBAL_FOLDER", "YARN_CACHE_FOLDER", "YARN_ENABLE_GLOBAL_CACHE"),
        (("yarn", "cache", "clean"),),
        config_files=(".yarnrc.yml",),
        config_keys=("cacheFolder", "enableGlobalCache", "globalFolder"),
    ),
    "pnpm": PackageCache(
        "pnpm",
        ".local/share/pnpm/store",
        None,
        ("PNPM_HOME", "XDG_DATA_HOME", "npm_config_store_dir", "NPM_CONFIG_STORE_DIR"),
        (("pnpm", "store", "prune"),),
        under_variable="store",
        config_files=(".npmrc",),
        config_keys=("store-dir",),
    ),
    "bun": PackageCache(
        "bun",
        ".bun/install/cache",
        None,
        ("BUN_INSTALL_CACHE_DIR", "BUN_INSTALL"),
        (("bun", "pm", "cache", "rm"), ("bun", "pm", "cache", "clean")),
        config_files=("bunfig.toml",),
        config_keys=("cache",),
    ),
}
# Flags of an install that choose the cache folder itself, or read only what is already in it.
CACHE_FOLDER_FLAGS = ("--cache", "--cache-folder", "--store-dir", "--cache-dir", "--global-folder")
OFFLINE_FLAGS = ("--offline", "--prefer-offline")


def prune_command(manager: str, *, npm_omit_dev: bool, yarn_lockfile: bool) -> str | None:
    """The command that leaves only the production dependencies in an installed node_modules:
    `npm prune --omit=dev` (`--production` for an npm that does not read `--omit`, before npm 7),
    `pnpm prune --prod`, a production-only `yarn install` for Yarn classic (with
    `--frozen-lockfile` when yarn.lock is there). None for a manager that cannot prune in place
    (Yarn 2+, bun)."""
    if manager == "npm":
        return "npm prune --omit=dev" if npm_omit_dev else "npm prune --production"
    if manager == "pnpm":
        return "pnpm prune --prod"
    if manager == "yarn":
        return "yarn install --production --ignore-scripts --prefer-offline" + (
            " --frozen-lockfile" if yarn_lockfile else ""
        )
    return None
