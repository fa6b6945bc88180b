"""Install packages with the package manager's cache mounted, not baked into a layer.

## What it does
Gives each RUN that installs packages with npm, yarn (classic, and Yarn 4's global cache), pnpm
or bun a BuildKit cache mount on that manager's cache folder, for the user the RUN runs as:
`/root/.npm` as root, `/home/node/.npm` after `USER node` (the mount then owned by uid and gid
1000: a root-owned mount makes npm fail with EACCES as `node`), `/usr/local/share/.cache/yarn`
for yarn classic as root (`~/.cache/yarn` otherwise), `~/.yarn/berry/cache`, pnpm's store
(`$PNPM_HOME/store`, else `~/.local/share/pnpm/store`) and `~/.bun/install/cache`, or the folder
an `ENV` of the stage names (`npm_config_cache`, `YARN_CACHE_FOLDER`, `PNPM_HOME`,
`BUN_INSTALL_CACHE_DIR`). Yarn classic's mount is `sharing=locked`: two installs writing its
cache at once corrupt it (yarnpkg/yarn#683 and #4102, "ENOENT ... .yarn-tarball.tgz"); npm's
cacache, pnpm's content-addressable store and Yarn 4's cache are made to be shared by concurrent
installs, and keep BuildKit's default `sharing=shared`. Each mount keeps BuildKit's default id,
its target, so a root-owned cache is never mounted for `node`. A cache-emptying command in the
same `&&` chain (`npm cache clean --force`, `yarn cache clean`, `pnpm store prune`,
`bun pm cache rm`) goes: it would empty the mount on every build. The line
`# syntax=docker/dockerfile:1` is added when the file names no frontend.

Left alone: Windows images and stages not on the official node image, development, test and
base images (DF000), a RUN that already mounts a cache, installs run as a user other than root
or `node`, and any install whose cache a mount would hide or break: an `--offline` or
`--prefer-offline` install anywhere in the file (it reads what earlier steps put in the cache),
a cache folder copied into the image or set with `npm config set cache`, `yarn config set
cache-folder` or the project's `.npmrc`, `.yarnrc`, `.yarnrc.yml` or `bunfig.toml`, a cache
flag on the install (`--cache`, `--cache-folder`, `--store-dir`), an `rm` of the cache folder in
the RUN, and Yarn 2 and 3, which keep their cache in the project.

## Why
With a cache mount a rebuild after a dependency change downloads only the packages that
changed, and the cache never lands in a layer, so `npm cache clean --force` has nothing left to
do (Docker's "Use cache mounts", the Node.js template of `docker init`, tally's
`prefer-package-cache-mounts`).

## Example
    FROM node:24-alpine
    WORKDIR /app
    COPY package*.json ./
    RUN npm ci --omit=dev && npm cache clean --force
becomes
    # syntax=docker/dockerfile:1
    FROM node:24-alpine
    WORKDIR /app
    COPY package*.json ./
    RUN --mount=type=cache,target=/root/.npm npm ci --omit=dev

## Fix safety
Unsafe: the build then needs a builder that reads `RUN --mount`, BuildKit (Docker 23 and later
by default, `DOCKER_BUILDKIT=1` before) or buildah 1.24 / podman 4 and later; the legacy builder
refuses the file. It is not offered where the build is known not to have one: a `# syntax` line
pinning a frontend older than 1.2, a repository whose compose file, workflow or script sets
`DOCKER_BUILDKIT=0` or `COMPOSE_DOCKER_CLI_BUILD=0`, or builds with buildah or podman on an
Ubuntu 22.04 or older runner (buildah 1.23). The image no longer holds the package cache, which
nothing but the install reads.

## Related hadolint rules
DL3060 (yarn cache clean); tally's prefer-package-cache-mounts.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator
from dataclasses import dataclass

from ..context import RuleContext
from ..dockerfile.document import Document, Instruction, Stage
from ..dockerfile.frontend import run_mount_refused
from ..dockerfile.shell import Command, Script, and_chain
from ..dockerfile.stages import applies_to, effective_user, is_root, stage_chain, workdir_at
from ..dockerfile.words import read_env
from ..edit_helpers import syntax_line_edits
from ..edits import Applicability, Edit, Finding, Fix
from ..project.build_context import Project
from ..project.inputs import ProjectInput
from ..project.node_tooling import (
    CACHE_FOLDER_FLAGS,
    NPM_INSTALL_VERBS,
    OFFLINE_FLAGS,
    PACKAGE_CACHES,
    PackageCache,
)
from .image_purpose import left_alone
from .rule import Rule

# Text that names a package cache folder: a COPY into one, an `rm` of one.
_CACHE_FOLDER_TEXT = re.compile(r"\.npm(?![\w.-])|\.cache/yarn|\.yarn/berry|pnpm/store|\.pnpm-store|\.bun(?![\w.-])")
_CACHE_CONFIG = re.compile(
    r"\b(?:npm|pnpm|yarn)\s+config\s+set\s+(?:cache|cache-folder|store-dir|cacheFolder|enableGlobalCache|globalFolder)\b"
)
_LEGACY_BUILDER = re.compile(
    r"\b(?:DOCKER_BUILDKIT|COMPOSE_DOCKER_CLI_BUILD)[\"']?\s*[=:]\s*[\"']?(?:0|false)\b", re.IGNORECASE
)
_BUILDAH = re.compile(r"\b(?:podman|buildah)\b")
# GitHub's Ubuntu 22.04 and older runners ship buildah 1.23, before cache mounts (buildah#3574).
_OLD_BUILDAH_RUNNER = re.compile(r"\bubuntu-(?:1[68]|20|22)\.04\b")
_CACHE_VARIABLES = frozenset({"HOME", *(name for cache in PACKAGE_CACHES.values() for name in cache.variables)})
BUILD_NEEDS = (
    "the build now needs BuildKit (Docker 23 and later, or DOCKER_BUILDKIT=1) or buildah 1.24 / podman 4 and later: "
    "the legacy builder refuses `RUN --mount`"
)


@dataclass(frozen=True, slots=True)
class _Owner:
    """Who runs an install: the home folder, and the uid and gid of a user other than root."""

    home: str
    uid: int | None


@dataclass(frozen=True, slots=True)
class _Install:
    script: Script
    command: Command
    manager: str  # a key of PACKAGE_CACHES


def _install_manager(command: Command, project: Project) -> str | None:
    """The package cache an install command fills, or None if the command installs nothing."""
    positional = [w.text for w in command.args if not w.text.startswith("-")]
    verb = positional[0] if positional else None
    if command.name == "npm" and verb in (*NPM_INSTALL_VERBS, "ci"):
        return "npm"
    if command.name == "yarn" and (verb in (None, "install", "add") or positional[:2] == ["global", "add"]):
        return "yarn-berry" if project.package_manager == "yarn-berry" else "yarn"
    if command.name == "pnpm" and verb in ("install", "i", "add", "fetch"):
        return "pnpm"
    if command.name == "bun" and verb in ("install", "i", "add"):
        return "bun"
    return None


def _owner(user: str | None) -> _Owner | None:
    """Root's home, or node's with its uid; None for any other user, whose home and ids are not known."""
    if is_root(user):
        return _Owner("/root", None)
    assert user is not None
    name, _, group = user.partition(":")
    if name in ("node", "1000") and group in ("", "node", "1000"):
        return _Owner("/home/node", 1000)
    return None


def _environment(doc: Document, stage: Stage, before: Instruction) -> dict[str, str]:
    """The ENV values set in the stage and the stages it builds on, before `before`."""
    escape = doc.escape.decode()
    values: dict[str, str] = {}
    for member in reversed(stage_chain(doc, stage)):
        for inst in member.instructions:
            if inst is before:
                return values
            if inst.name == "ENV":
                values.update(read_env(inst.args, escape).pairs)
    return values


def _target(cache: PackageCache, owner: _Owner, environment: dict[str, str]) -> str | None:
    """The cache folder of `cache` for `owner` under that environment; None where dockfix cannot tell."""
    named, *moving = cache.variables
    if "HOME" in environment or any(name in environment for name in moving):
        return None
    value = environment.get(named)
    if value is not None:
        value = value.strip("\"'")
        if "$" in value or not value.startswith("/"):
            return None
        return posixpath.normpath(posixpath.join(value, cache.under_variable))
    if owner.uid is None and cache.root_folder is not None:
        return cache.root_folder
    return posixpath.join(owner.home, cache.home_folder)


def _related(a: str, b: str) -> bool:
    """One folder is the other, or holds it."""
    return a == b or a.startswith(b.rstrip("/") + "/") or b.startswith(a.rstrip("/") + "/")


def _holds_image_content(doc: Document, stage: Stage, before: Instruction, target: str) -> bool:
    """The folder is, holds or lies in the working directory or a folder files are copied to: a
    mount there would hide the app (`ENV npm_config_cache=/usr/src/app` in the app's own folder)."""
    folders = [workdir_at(doc, stage, before) or "/"]
    for member in stage_chain(doc, stage):
        for inst in member.instructions:
            if inst.name in ("COPY", "ADD") and inst.words:
                destination = inst.words[-1]
                base = workdir_at(doc, member, inst) or "/"
                folders.append(posixpath.normpath(posixpath.join(base, destination)))
    return any(_related(target, folder) for folder in folders if folder != "/")


def _mount(cache: PackageCache, target: str, owner: _Owner) -> str:
    text = f"--mount=type=cache,target={target}"
    if owner.uid is not None:
        text += f",uid={owner.uid},gid={owner.uid}"
    if cache.locked:
        text += ",sharing=locked"
    return text


def _declared_major(project: Project, manager: str, unknown: int = 0) -> int:
    """The major of `manager` that package.json's `packageManager` declares; `unknown` if it declares none."""
    declared = (project.package_json or {}).get("packageManager")
    if not isinstance(declared, str) or not declared.startswith(f"{manager}@"):
        return unknown
    major = re.match(r"\d+", declared.removeprefix(f"{manager}@"))
    return int(major.group()) if major is not None else unknown


def _configured_elsewhere(project: Project, cache: PackageCache) -> bool:
    """The project's own configuration files move the cache (or name one the image must hold)."""
    for name in cache.config_files:
        text = (project.read(name) or b"").decode("utf-8", "replace")
        for key in cache.config_keys:
            if re.search(rf"(?m)^\s*\[?(?:install\.)?{re.escape(key)}\b", text):
                return True
    return False


def _blocked_managers(doc: Document, ctx: RuleContext) -> set[str] | None:
    """Managers whose cache must stay in the image; None when no install may get a mount."""
    blocked: set[str] = set()
    for inst in doc.instructions:
        if inst.name in ("COPY", "ADD") and inst.words and _CACHE_FOLDER_TEXT.search(inst.words[-1]):
            return None  # a cache folder filled from the build context or another stage
        if inst.name == "RUN" and _CACHE_CONFIG.search(inst.args):
            return None
        for command in inst.commands if inst.name == "RUN" else ():
            manager = _install_manager(command, ctx.project)
            if manager is not None and any(w.text in OFFLINE_FLAGS for w in command.args):
                blocked.add(manager)
    blocked.update(m for m, cache in PACKAGE_CACHES.items() if _configured_elsewhere(ctx.project, cache))
    if _declared_major(ctx.project, "yarn") < 4:
        blocked.add("yarn-berry")  # Yarn 2 and 3 keep their cache in the project, not in the home folder
    if _declared_major(ctx.project, "pnpm", unknown=7) < 7:
        blocked.add("pnpm")  # pnpm 6 and older keep their store in ~/.pnpm-store
    return blocked


def _no_buildkit(ctx: RuleContext) -> bool:
    """The repository builds the file with the legacy builder, or with a buildah older than cache mounts."""
    if ctx.builds is None:
        return False
    for site in ctx.builds.sites:
        texts = [ctx.project.read_absolute(site.source) or b""]
        if site.kind == "compose":
            texts.append(ctx.project.read_absolute(site.source.parent / ".env") or b"")
        text = b"\n".join(texts).decode("utf-8", "replace")
        if _LEGACY_BUILDER.search(text):
            return True
        if site.kind == "workflow" and _BUILDAH.search(text) and _OLD_BUILDAH_RUNNER.search(text):
            return True
    return False


def check(doc: Document, ctx: RuleContext) -> Iterator[Finding]:
    if run_mount_refused(doc) is not None or left_alone(doc, ctx) is not None:
        return
    blocked = _blocked_managers(doc, ctx)
    if blocked is None or _no_buildkit(ctx):
        return
    for stage in doc.stages:
        if not applies_to(doc, stage):
            continue
        for inst in stage.instructions:
            if inst.name == "RUN" and not inst.is_json_form:
                finding = _check_run(doc, ctx, stage, inst, blocked)
                if finding is not None:
                    yield finding


def installs_of(inst: Instruction, project: Project) -> list[_Install]:
    """The package installs a RUN runs, each with the cache it fills."""
    found = []
    for script in inst.scripts:
        for command in script.commands:
            manager = _install_manager(command, project)
            if manager is not None:
                found.append(_Install(script, command, manager))
    return found


def _check_run(doc: Document, ctx: RuleContext, stage: Stage, inst: Instruction, blocked: set[str]) -> Finding | None:
    installs = installs_of(inst, ctx.project)
    if not installs or any(f.name == "mount" and "cache" in (f.value or "") for f in inst.flags):
        return None
    owner = _owner(effective_user(doc, stage, inst))
    if owner is None or any(_moves_cache(install.command) for install in installs):
        return None
    environment = _environment(doc, stage, inst)
    targets: dict[str, str] = {}
    for manager in dict.fromkeys(install.manager for install in installs):
        target = None if manager in blocked else _target(PACKAGE_CACHES[manager], owner, environment)
        if target is None:
            return None
        if _holds_image_content(doc, stage, inst, target):
            return None
        targets[manager] = target
    removals = _cleaner_removals(doc, inst, [PACKAGE_CACHES[m] for m in targets], set(targets.values()))
    if removals is None:
        return None
    mounts = " ".join(_mount(PACKAGE_CACHES[m], target, owner) for m, target in targets.items())
    edits = [Edit.insert(inst.keyword_end, f" {mounts}".encode()), *removals, *syntax_line_edits(doc)]
    first = installs[0]
    install_text = first.script.text[first.command.start : first.command.end].decode("utf-8", "replace")
    message = (
        f"`{install_text}` downloads every package again whenever this step reruns, and leaves the package cache in "
        f"the image; mount the cache (`RUN {mounts}`) so a rebuild downloads only what changed"
    )
    return Finding(RULE.code, message, inst.line, Fix.unsafe(*edits), action=BUILD_NEEDS)


def _moves_cache(command: Command) -> bool:
    """The install names its own cache folder, with a flag or a variable set for it alone."""
    assigned = {w.text.split("=", 1)[0] for w in command.assignments}
    return bool(assigned & _CACHE_VARIABLES) or any(
        w.text in CACHE_FOLDER_FLAGS or w.text.split("=", 1)[0] in CACHE_FOLDER_FLAGS for w in command.args
    )


def _is_cleaner(command: Command, caches: list[PackageCache]) -> bool:
    argv = [word for word in command.argv if not word.startswith("-")]
    return any(tuple(argv[: len(cleaner)]) == cleaner for cache in caches for cleaner in cache.cleaners)


def _touches(command: Command, targets: set[str]) -> bool:
    """A command other than an install that names a cache folder, or removes one or a folder holding one."""
    if command.name != "rm":
        return any(_CACHE_FOLDER_TEXT.search(word) for word in command.argv[1:])
    for word in command.argv[1:]:
        if word.startswith("-"):
            continue
        path = posixpath.normpath(word.replace("$HOME", "~").replace("${HOME}", "~"))
        if path.startswith("~") or _CACHE_FOLDER_TEXT.search(path):
            return True
        if (
            path.startswith("/")
            and path != "/"
            and any(t == path or t.startswith(path.rstrip("/*") + "/") for t in targets)
        ):
            return True
    return False


def _cleaner_removals(
    doc: Document, inst: Instruction, caches: list[PackageCache], targets: set[str]
) -> list[Edit] | None:
    """Edits that take the cache-emptying commands out of their `&&` chain; None where a mount
    would be emptied or removed by the RUN and the commands cannot be taken out."""
    edits: list[Edit] = []
    for script in inst.scripts:
        cleaners = [c for c in script.commands if _is_cleaner(c, caches)]
        others = [c for c in script.commands if not _is_cleaner(c, caches) and _install_manager_name(c) is None]
        if any(_touches(c, targets) for c in others):
            return None
        if not cleaners:
            continue
        chain = and_chain(script.text) if not script.from_heredoc else None
        if chain is None:
            return None
        spans = _chain_deletions(chain, {(c.start, c.end) for c in cleaners})
        if spans is None:
            return None
        for start, end in spans:
            source_start, source_end = script.to_source(start, end)
            if re.search(rb"\n[ \t]*#", doc.source[source_start:source_end]):
                return None  # a comment line inside the continuation would be lost
            edits.append(Edit(source_start, source_end, b""))
    return edits


def _install_manager_name(command: Command) -> str | None:
    return command.name if command.name in ("npm", "yarn", "pnpm", "bun") else None


def _chain_deletions(chain: list[Command], removed: set[tuple[int, int]]) -> list[tuple[int, int]] | None:
    """Script ranges that take the removed commands out of the chain with their `&&`; None if all go."""
    kept = [(c.start, c.end) not in removed for c in chain]
    if not any(kept):
        return None
    spans = []
    for index, command in enumerate(chain):
        if kept[index]:
            continue
        previous_kept = next((i for i in range(index - 1, -1, -1) if kept[i]), None)
        if previous_kept is not None:
            spans.append((chain[index - 1].end, command.end))
        else:
            spans.append((command.start, chain[index + 1].start))
    return _merged(spans)


def _merged(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


RULE = Rule(
    code="DF011",
    name="package-cache-mounts",
    summary="Mount the package manager's cache in RUNs that install packages, instead of keeping it in a layer",
    fix_safety={Applicability.UNSAFE: "the build then needs BuildKit or buildah 1.24+"},
    docs=__doc__,
    check=check,
    reads=frozenset({ProjectInput.PACKAGE, ProjectInput.APP_CODE, ProjectInput.OTHER}),
)
