"""What dockfix knows about the Node.js package managers and build tools, in one place.

The project reader (which lockfile says which manager) and the rules (what an install, a prune
or a build looks like in a RUN) read these facts from here, so they cannot drift apart.
"""

from __future__ import annotations

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
