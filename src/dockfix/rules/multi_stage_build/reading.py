"""Build in one stage, run from a clean one.

## What it does
Splits a single-stage Node.js Dockerfile in two, reading the split from the file and the
project's package.json:
- a `build` stage on the original image: the original steps (dependency install, build tools,
  the build script), then the dev dependencies pruned (`npm prune --omit=dev`,
  `pnpm prune --prod`, or a production-only `yarn install`) when the install kept them and the
  start does not run one of them (`cross-env`, `ts-node`);
- a production stage on the small variant of the same image: the full Debian image (`node:22`,
  `node:22-bookworm`) becomes the `-slim` variant of the same Debian release, a tag the model of
  the official image knows; slim and alpine images stay as they are, so node_modules never
  cross between glibc and musl. It repeats what the app needs at run time: the init process
  install, a start binary its ENTRYPOINT or CMD names (`ADD .../tini /tini` and its `chmod`),
  the system packages that are not build tools (`imagemagick`, `sqlite3`, and `curl` when a
  start or health command calls it: the build toolchain stays behind, an install that mixes
  both is written again with the runtime packages only), global installs of the app's tools
  (`pm2`, `nodemon`, `knex`; Yarn or Corepack when the running container calls them; an install
  from a tarball of the app folder once the app is copied), users and groups (`adduser`,
  `useradd`), folders and permissions prepared outside the app folder or before the app is
  copied, files copied from the build context outside the app folder (never `.npmrc`), and the
  shared settings (WORKDIR, ENV, ARG, USER). It copies the app folder from the build stage, and
  what the build moved out of it (`mv /app/node_modules /node_modules`).
The app folder is the last WORKDIR, widened to where package.json is copied when the
dependencies are installed above it (`WORKDIR /node` for the install, `/node/app` for the app);
without a WORKDIR, where package.json is copied (`COPY . /app`). For a compiled TypeScript app
started from its output folder the production stage takes only `package.json`, `node_modules`
and that folder; for a Next.js app built with `next build` and started with `next start`, only
`package.json`, `node_modules`, `.next`, `public` and its next.config. A monorepo with
workspaces is split like any app, its whole folder copied with the dev dependencies pruned.
When the install picks its package manager by the lockfile it finds, the project's lockfile
says which one prunes.
A split must leave something behind: the full image, the sources of a compiled app, the build
tools the stage installed, or the dev dependencies. Where the production stage would be the
same image with the same files, the practice's aim is already met: the file is left as it is,
with a note (not a finding) that says so.
Comments stay with the instructions they precede.

Development, test, CI and base images (a dev server or watcher at start, a test runner, no
start command) are left alone, as the other production rules leave them.

A file that already has several stages is not split again. Its runtime stage, when it stands
on another Node.js image (`gcr.io/distroless/nodejs22-debian12`), is checked instead: a stage
on the node image that feeds it must build for the runtime's Node.js major, and a runtime
whose Node.js reached its end of life is reported.

## Why
Compilers, dev dependencies, build tools and whatever the build left behind make the image
larger and give an attacker more to work with; credentials used during the install stay in
the build stage's layers, which are never pushed.

## Example
    FROM node:22-bookworm
    WORKDIR /usr/src/app
    COPY . .
    RUN npm ci && npm run build
    CMD ["node", "dist/server.js"]
becomes
    FROM node:22-bookworm AS build
    WORKDIR /usr/src/app
    COPY . .
    RUN npm ci && npm run build
    RUN npm prune --omit=dev

    FROM node:22-bookworm-slim
    WORKDIR /usr/src/app
    COPY --from=build /usr/src/app/package.json ./package.json
    COPY --from=build /usr/src/app/node_modules ./node_modules
    COPY --from=build /usr/src/app/dist ./dist
    CMD ["node", "dist/server.js"]

## Fix safety
Unsafe: files the app reads at run time that the new production stage does not copy, system
packages the stage installed as build tools (curl, git, python3...) that the app calls itself,
or tools of the full image the app runs itself (the slim variant has no curl, git, python3, make
or g++) would be missing. A start or health command that names such a tool keeps the full
image, or its package; a base pinned by digest gets its slim tag without one, for the base image
rule to pin. The split is offered only when every step of the stage is understood: package
installs and builds, system packages, global installs, users, the start binary, and file
commands and copies whose paths are known. What stays reported and left alone, with the reason:
a RUN the split cannot read (a script of the project, `curl ... | sh`), copies from other
images, packages or paths named by a variable or a wildcard, files copied over the folder that
holds the app, an app in the root folder `/`, dependencies installed outside the app folder,
node_modules moved out of it when there are dev dependencies to prune, an install that picks its
package manager by a lockfile the project lacks, and a Next.js app whose next.config asks for
standalone output (its production stage would start `node server.js`, a change of the start
command). The rewrite waits until the other rules have nothing left to change in the file, so it
splits the stage they settled.

## Related hadolint rules
None.
"""

from __future__ import annotations

import posixpath
import re

from ...context import RuleContext, Services
from ...dockerfile.document import Document, Instruction, Node, Stage, parse_words
from ...dockerfile.shell import commands_in, run_scripts
from ...dockerfile.stages import (
    applies_to,
    copied_stages,
    effective_user,
    external_base,
    node_major,
    runtime_node_major,
    runtime_stage,
    split_image,
    start_commands,
)
from ...edits import Applicability, Edit, Finding, Fix
from ...project.npmscripts import (
    commands_run,
    dev_dependency_at_start,
    development_reason,
    script_invocation,
    start_commands_run,
)
from ...records import dataclass, field, replace
from ...sources.images import FULL_IMAGE_TOOLS, MalformedTag, NodeTag
from ..rule import Rule

RULE = Rule(
    code="DF008",
    name="multi-stage-build",
    summary="Build in a separate stage and run from a clean production stage",
    fix_safety={Applicability.UNSAFE: "files the app reads at run time may be left behind"},
    docs=__doc__,
    module=__name__,
)

RUNTIME_ONLY = ("CMD", "ENTRYPOINT", "EXPOSE", "HEALTHCHECK", "STOPSIGNAL", "VOLUME", "LABEL", "MAINTAINER")
SHARED = ("ENV", "ARG", "WORKDIR", "USER", "SHELL")
INIT_PACKAGES = {"dumb-init", "tini"}
# Packages only a build uses. Libraries a running app may load (libc6-compat for prebuilt glibc
# binaries on Alpine, openssl for Prisma's engines, ca-certificates) and bash, which start
# scripts use, are not among them: the production stage repeats them.
BUILD_PACKAGES = {
    "python3",
    "python",
    "py3-pip",
    "make",
    "g++",
    "gcc",
    "build-base",
    "build-essential",
    "git",
    "curl",
    "wget",
    "pkgconfig",
    "pkg-config",
    "autoconf",
    "automake",
    "libtool",
    "node-gyp",
}
PACKAGE_TOOLS = ("apk", "apt-get", "apt")
PACKAGE_HOUSEKEEPING = ("update", "upgrade", "clean", "del", "autoremove", "autoclean")
HARMLESS = ("echo", "cd", "true", "set", "ls", "cat", "printf", "test", "[", "export", "pwd", "rm")
# Commands that build or inspect the app: they belong to the build stage.
BUILD_COMMANDS = ("node", "tsc", "npx", "npm", "yarn", "pnpm")
FILE_COMMANDS = ("mkdir", "cp", "mv", "touch", "ln", "chown", "chmod")
# File commands that need no file of the build: before the app is copied they prepare folders
# and owners, which the production stage must have too.
PREPARING = ("mkdir", "chown", "chmod", "touch", "ln")
# Users and groups the app may run as: the production stage needs them as much as the build.
USER_COMMANDS = ("addgroup", "adduser", "groupadd", "useradd", "usermod")
NEUTRAL = ("set", "true", "echo", "printf", "cd", "rm", "export")
# Global installs of the build's own tools; the package managers come along when the running
# container calls them.
BUILD_TOOLS = {"node-gyp", "typescript"}
PACKAGE_MANAGERS = {"npm": {"npm"}, "yarn": {"yarn"}, "pnpm": {"pnpm"}, "corepack": {"yarn", "pnpm", "corepack"}}
# Files that hold credentials for the install: never repeated where the app runs.
CREDENTIALS = (".npmrc", ".yarnrc", ".yarnrc.yml")
BUILD_OUTPUT = ("dist", "build", "out", "lib")
PATH_FOLDERS = ("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin")
NEXT_CONFIGS = ("next.config.js", "next.config.mjs", "next.config.cjs", "next.config.ts")
_VARIABLE = re.compile(r"\$(?:\{(\w+)\}|(\w+))")


class Refusal(Exception):
    """The stage does something the split cannot carry over safely."""


class NothingLeftBehind(Refusal):
    """A split would give the production stage the same image and the same files."""


@dataclass(frozen=True)
class StartProgram:
    """What the start commands run from outside the app folder (which the production stage
    copies anyway): absolute paths (`/tini`) and bare names found on the PATH."""

    paths: frozenset[str]
    names: frozenset[str]

    @classmethod
    def of(cls, stage: Stage, app_dir: str) -> StartProgram:
        paths: set[str] = set()
        names: set[str] = set()
        for argv in start_commands(stage):
            paths.update(posixpath.normpath(w) for w in argv if w.startswith("/") and not _inside(w, app_dir))
            if argv and "/" not in argv[0]:
                names.add(argv[0])
        return cls(frozenset(paths), frozenset(names))

    def is_target(self, path: str) -> bool:
        normal = posixpath.normpath(path)
        if normal in self.paths:
            return True
        return posixpath.dirname(normal) in PATH_FOLDERS and posixpath.basename(normal) in self.names


@dataclass
class Step:
    """Where one instruction of the single stage goes in the split."""

    build: bool = True  # kept in the build stage, as written
    production: bool = False  # repeated in the production stage
    generated: str | None = None  # what the production stage gets instead of the instruction itself
    after_app: bool = False  # in the production stage, once the app is copied (it reads the app's files)
    start_program: bool = False  # adds the start program (`ADD .../tini /tini`)


def _argv(inst: Instruction) -> list[str]:
    return inst.words


def _inside(path: str, folder: str) -> bool:
    if "$" in path or path.startswith("~"):
        return False
    if not path.startswith("/"):
        return ".." not in path.split("/")
    normal = posixpath.normpath(path)
    return normal == folder or normal.startswith(folder.rstrip("/") + "/")


def _resolve(current: str, path: str) -> str:
    return posixpath.normpath(posixpath.join(current, path))


def _expand(text: str, env: dict[str, str]) -> str | None:
    """`$HOME/app` with the stage's ENV values; None when a variable is not known."""
    unknown = False

    def value(match: re.Match) -> str:
        nonlocal unknown
        name = match.group(1) or match.group(2)
        if name not in env:
            unknown = True
            return ""
        return env[name]

    expanded = _VARIABLE.sub(value, text)
    return None if unknown or "$" in expanded else expanded


def _env_values(inst: Instruction, env: dict[str, str]) -> None:
    """Record an ENV's values (both forms; a value with a variable in it is not known)."""
    words = parse_words(inst.args)
    if not words:
        return
    if "=" not in words[0]:
        pairs = [(words[0], inst.args.split(None, 1)[1].strip() if len(inst.args.split(None, 1)) > 1 else "")]
    else:
        pairs = [(name, value) for name, _, value in (word.partition("=") for word in words)]
    for name, value in pairs:
        value = value.strip("\"'")
        known = _expand(value, env)
        if known is None:
            env.pop(name, None)
        else:
            env[name] = known


def _destinations(inst: Instruction) -> list[str]:
    """Where a COPY/ADD puts each of its sources."""
    words = [w for w in _argv(inst)]
    sources, target = words[:-1], words[-1] if words else ""
    if target.endswith("/") or len(sources) > 1:
        return [posixpath.join(target, posixpath.basename(source.rstrip("/"))) for source in sources]
    return [target] if sources else []


def _copy_folder(inst: Instruction, workdir: str, env: dict[str, str]) -> str | None:
    """The folder a COPY of app files fills: its destination when it is a folder (`COPY . /app`,
    `COPY package.json /app/`), else the folder of the file it names."""
    words = _argv(inst)
    target = _expand(words[-1], env)
    if target is None:
        return None
    sources = words[:-1]
    folder = _resolve(workdir, target)
    if target.endswith("/") or target in (".", "./") or len(sources) > 1 or sources[0].rstrip("/") in (".", ""):
        return folder
    if posixpath.basename(folder) == posixpath.basename(sources[0].rstrip("/")):
        return posixpath.dirname(folder)
    return folder


def _copies_start_program(inst: Instruction, start: StartProgram) -> bool:
    """`ADD https://.../tini /tini` for `ENTRYPOINT ["/tini", "--"]`: the running app's, not the build's."""
    targets = _destinations(inst)
    return bool(targets) and not inst.heredocs and all(start.is_target(target) for target in targets)


def _is_global(command_name: str, words: list[str], positional: list[str]) -> bool:
    return command_name in ("npm", "pnpm", "yarn") and (
        any(w in ("-g", "--global", "--location=global") for w in words) or positional[:1] == ["global"]
    )


def _package_name(spec: str) -> str:
    """`pm2@5` -> `pm2`, `@vue/cli@5` -> `@vue/cli`."""
    head, at, _ = spec[1:].partition("@")
    return spec[0] + head if at else spec


def _is_local_spec(spec: str) -> bool:
    return spec.startswith((".", "/", "~", "file:")) or spec.endswith((".tgz", ".tar.gz", ".tar"))


@dataclass
class _Reading:
    """What the split learns while it reads the stage, instruction by instruction."""

    doc: Document
    ctx: RuleContext
    app_dir: str
    start: StartProgram
    runtime_tools: set[str]
    workdir: str = "/"
    app_copied: bool = False
    build_packages: set[str] = field(default_factory=set)
    carried: list[str] = field(default_factory=list)  # what the production stage repeats
    moved_out: list[str] = field(default_factory=list)  # app files the build puts outside the app folder
    start_program_in_build: bool = False  # a build step also prepares the start program

    def carry(self, what: str) -> None:
        if what not in self.carried:
            self.carried.append(what)

    def needs_manager(self, package: str) -> bool:
        """Whether the running container calls the package manager that `package` installs."""
        return bool(PACKAGE_MANAGERS.get(package, set()) & self.runtime_tools)

    def read_copy(self, inst: Instruction, env: dict[str, str]) -> Step:
        if _copies_start_program(inst, self.start):
            return Step(build=False, production=True, start_program=True)
        if inst.flag("from") is not None:
            raise Refusal(f"line {inst.line}: files copied from another image")
        argv = _argv(inst)
        target = _expand(argv[-1], env) if len(argv) >= 2 else None
        if inst.heredocs or target is None:
            raise Refusal(f"line {inst.line}: files copied outside the app folder")
        destination = _resolve(self.workdir, target)
        if _inside(destination, self.app_dir):
            self.app_copied = True
            return Step()
        if _inside(self.app_dir, destination):
            raise Refusal(f"line {inst.line}: files copied over the folder that holds the app ({destination})")
        if all(posixpath.basename(path.rstrip("/")) in CREDENTIALS for path in argv[:-1]):
            return Step()  # the install's credentials stay in the build stage
        self.carry(f"the files copied to {destination}")
        return Step(production=True)

    def read_run(self, inst: Instruction) -> Step:
        if inst.is_json_form:
            raise Refusal(f"line {inst.line}: a RUN in exec form")
        builds = False  # a step only the build needs
        steps = 0  # commands that are not neutral
        preparing = 0  # of them, those that prepare folders and owners
        start_program: list[str] = []  # commands that prepare the start program
        repeated: list[str] = []  # commands the production stage repeats, as written
        runtime_packages: list[tuple[str, list[str], bool]] = []  # (tool, packages as written, no recommends)
        after_app = False
        updated = stale = False
        cwd = self.workdir
        for script in run_scripts(self.doc, inst):
            if script.has_errors:
                raise Refusal(f"line {inst.line}: a RUN whose shell could not be read")
            for command in script.commands():
                words = [w.text for w in command.args]
                positional = [w for w in words if not w.startswith("-")]
                name = command.name
                text = script.text[command.start : command.end].decode("utf-8", "replace")
                if name == "cd":
                    target = positional[0] if positional else "/root"
                    cwd = _resolve(cwd, target) if "$" not in target else "?"
                    continue
                if name in NEUTRAL:
                    continue
                steps += 1
                preparing += name in PREPARING
                if name in PACKAGE_TOOLS:
                    if positional[:1] == ["update"]:
                        updated = True
                    if positional[:1] in (["add"], ["install"]):
                        carried = self._read_packages(inst, positional[1:])
                        builds = builds or any(_system_package(w) in self.build_packages for w in positional[1:])
                        if carried:
                            runtime_packages.append((name, carried, "--no-install-recommends" in words))
                            # apt-get needs the package lists, which the images do not keep
                            stale = stale or (name != "apk" and not updated)
                    elif not (positional[:1] == [] or positional[0] in PACKAGE_HOUSEKEEPING):
                        raise Refusal(f"line {inst.line}: `{name} {positional[0]}`")
                elif _is_global(name, words, positional):
                    specs = [p for p in positional if p not in ("install", "i", "add", "global")]
                    needed = [s for s in specs if self._global_needed(s)]
                    if not needed:
                        builds = True
                        continue
                    local = [s for s in needed if _is_local_spec(s)]
                    for spec in local:
                        path = spec.removeprefix("file:")
                        if "$" in path or path.startswith("~"):
                            raise Refusal(f"line {inst.line}: a global install from a path with a variable")
                        if _inside(_resolve(cwd, path), self.app_dir):
                            if not path.startswith("/") and cwd != self.app_dir:
                                raise Refusal(f"line {inst.line}: a global install from the app folder, run elsewhere")
                            after_app = True
                    repeated.append(text)
                    self.carry(f"the global install ({', '.join(_package_name(s) for s in needed)})")
                elif name == "corepack":
                    if self.needs_manager("corepack"):
                        repeated.append(text)
                        self.carry("the package manager set up by Corepack")
                    else:
                        builds = True
                elif name in USER_COMMANDS:
                    repeated.append(text)
                    self.carry("the users and groups")
                elif name in FILE_COMMANDS:
                    step = self._read_file_command(inst, name, positional, cwd)
                    if step == "start program":
                        start_program.append(text)
                    elif step == "repeat":
                        repeated.append(text)
                        self.carry("the folders and permissions prepared outside the app folder")
                    else:
                        builds = True
                elif name in BUILD_COMMANDS:
                    builds = True
                    self._check_install_folder(inst, name, words, positional, cwd)
                elif name in HARMLESS:
                    builds = True
                else:
                    raise Refusal(f"line {inst.line}: `{name}` may prepare something the app needs at run time")
        if start_program and not (builds or repeated or runtime_packages):
            return Step(build=False, production=True)
        if start_program:
            # the build stage runs this step too: it needs the start program as well
            self.start_program_in_build = True
            repeated = start_program + repeated
        installed = {_system_package(p) for _, packages, _ in runtime_packages for p in packages}
        if installed and installed <= INIT_PACKAGES and not (builds or repeated):
            return Step(build=False, production=True)  # the init process: the running app's alone
        if not runtime_packages and not repeated:
            if not self.app_copied and steps and preparing == steps:
                return Step(production=True)  # folders and owners prepared for the app
            return Step()
        if not builds and not stale:
            return Step(production=True, after_app=after_app)
        if inst.heredocs:
            raise Refusal(f"line {inst.line}: a heredoc RUN that mixes build steps with what the app needs")
        parts = [_install_line(tool, packages, no_recommends) for tool, packages, no_recommends in runtime_packages]
        return Step(production=True, generated="RUN " + " && ".join([*parts, *repeated]), after_app=after_app)

    def _read_packages(self, inst: Instruction, words: list[str]) -> list[str]:
        """The packages of an install that the running app may need (as written); the others
        are recorded as build packages."""
        carried = []
        for word in words:
            if "$" in word:
                raise Refusal(f"line {inst.line}: system packages named by a variable")
            package = _system_package(word)
            if package in BUILD_PACKAGES and package not in self.runtime_tools:
                self.build_packages.add(package)
            else:
                carried.append(word)
        names = sorted({_system_package(w) for w in carried} - INIT_PACKAGES)
        if names:
            self.carry(f"the system packages ({', '.join(names)})")
        return carried

    def _global_needed(self, spec: str) -> bool:
        """Whether the production stage needs a global install: the app's tools do, the build's
        own (typescript, node-gyp) do not, and a package manager only when the container calls it."""
        package = _package_name(spec)
        if package in BUILD_TOOLS:
            return False
        if package in PACKAGE_MANAGERS:
            return self.needs_manager(package)
        return True

    def _read_file_command(self, inst: Instruction, name: str, positional: list[str], cwd: str) -> str:
        """ "start program", "repeat" (prepares something outside the app folder) or "build"."""
        paths = positional[1:] if name in ("chown", "chmod") else positional
        if paths and all(self.start.is_target(p) for p in paths):
            return "start program"
        if any("$" in p or "*" in p or p.startswith("~") for p in paths) or cwd == "?":
            raise Refusal(f"line {inst.line}: `{name}` on a path with a variable or a wildcard")
        resolved = [_resolve(cwd, p) for p in paths]
        inside = [_inside(p, self.app_dir) for p in resolved]
        if all(inside):
            return "build"
        if name in ("mv", "cp") and len(resolved) >= 2 and all(inside[:-1]):
            # app files the build moves out of the app folder (`mv /app/node_modules /node_modules`)
            target = positional[-1]
            for source in resolved[:-1]:
                moved = (
                    posixpath.join(resolved[-1], posixpath.basename(source)) if target.endswith("/") else resolved[-1]
                )
                if moved not in self.moved_out:
                    self.moved_out.append(moved)
            return "build"
        if name in PREPARING and not any(inside):
            return "repeat"
        if name in PREPARING and not self.app_copied:
            return "repeat"
        raise Refusal(f"line {inst.line}: `{name}` outside the app folder")

    def _check_install_folder(self, inst: Instruction, name: str, words: list[str], positional: list[str], cwd: str):
        installs = (name == "npm" and positional[:1] in (["install"], ["i"], ["ci"])) or (
            name in ("yarn", "pnpm") and positional[:1] in ([], ["install"], ["i"])
        )
        if installs and not _is_global(name, words, positional) and (cwd == "?" or not _inside(cwd, self.app_dir)):
            where = "a folder the file does not fix" if cwd == "?" else cwd
            raise Refusal(f"line {inst.line}: the dependencies are installed in {where}, not in the app folder")


def _system_package(word: str) -> str:
    """`curl=7.88.1-10` or `tini@community` -> the package name."""
    return word.split("=")[0].split("@")[0]


def _install_line(tool: str, packages: list[str], no_recommends: bool) -> str:
    """An install of `packages` written for the production stage, cleaning up as it goes."""
    if tool == "apk":
        return f"apk add --no-cache {' '.join(packages)}"
    recommends = " --no-install-recommends" if no_recommends else ""
    return f"apt-get update && apt-get install -y{recommends} {' '.join(packages)} && rm -rf /var/lib/apt/lists/*"


def _groups(doc: Document, stage) -> tuple[list[tuple[list[Node], Instruction]], list[Node]]:
    """Each instruction after FROM with the comment and blank lines before it; the trailing lines."""
    nodes = [n for n in doc.nodes if n.start >= stage.from_instruction.end]
    groups: list[tuple[list[Node], Instruction]] = []
    pending: list[Node] = []
    for node in nodes:
        if isinstance(node, Instruction):
            groups.append((pending, node))
            pending = []
        else:
            pending.append(node)
    return groups, pending


def _text(doc: Document, nodes: list[Node]) -> bytes:
    out = b""
    for node in nodes:
        piece = doc.source[node.start : node.end]
        if not piece.endswith(b"\n"):
            piece += doc.newline
        out += piece
    return out


def _entry_folder(doc: Document, ctx: RuleContext, stage, runs_build: bool) -> str | None:
    """The build output folder the app starts from, for a compiled TypeScript app."""
    project = ctx.project
    typescript = (
        "typescript" in project.dev_dependencies
        or "typescript" in project.dependencies()
        or project.exists("tsconfig.json")
    )
    if not runs_build or not typescript:
        return None
    starts = [i for i in stage.instructions if i.name in ("CMD", "ENTRYPOINT")]
    if not starts:
        return None
    argv = [w for w in _argv(starts[-1]) if w not in ("dumb-init", "tini", "--")]
    if not argv or argv[0] not in ("node", "nodejs"):
        return None
    entry = next((w for w in argv[1:] if not w.startswith("-")), None)
    if entry is None or entry.startswith("/") or "$" in entry:
        return None
    folder = posixpath.normpath(entry).split("/")[0]
    if folder not in BUILD_OUTPUT or posixpath.normpath(entry) == folder:
        return None
    if _copies_named(stage, folder):
        return None  # the output is built outside Docker and copied in
    return folder


def _copies_named(stage: Stage, name: str) -> bool:
    """Whether a COPY/ADD of the stage names `name` (or a file in it) as a source."""
    return any(
        inst.name in ("COPY", "ADD")
        and any(posixpath.normpath(w.lstrip("/")).split("/")[0] == name for w in _argv(inst)[:-1])
        for inst in stage.instructions
    )


def _build_commands(doc: Document, ctx: RuleContext, stage: Stage) -> list[list[str]]:
    """Every command the stage's RUN instructions run, through the package.json scripts they call."""
    found = []
    for inst in stage.instructions:
        for script in run_scripts(doc, inst):
            for command in script.commands():
                found += commands_run(ctx.project, command.argv)
    return found


def _runs_build(doc: Document, stage) -> bool:
    for inst in stage.instructions:
        for script in run_scripts(doc, inst):
            for command in script.commands():
                positional = [w.text for w in command.args if not w.text.startswith("-")]
                if command.name == "tsc" or (command.name == "npx" and positional[:1] == ["tsc"]):
                    return True
                if (
                    command.name in ("npm", "pnpm")
                    and positional[:1] in (["run"], ["run-script"])
                    and positional[1:2] == ["build"]
                ):
                    return True
                if command.name in ("yarn", "pnpm") and positional[:1] == ["build"]:
                    return True
    return False


def _next_files(doc: Document, ctx: RuleContext, stage: Stage) -> list[str] | None:
    """What `next start` reads, for a Next.js app the stage builds with `next build`: the build
    output, the static files, the config and the dependencies. None for any other app (a custom
    server, or a Next.js app built when it starts, needs its whole folder)."""
    project = ctx.project
    if "next" not in project.dependencies() and "next" not in project.dev_dependencies:
        return None
    starts = start_commands_run(project, doc, stage)
    if not any(argv[0].rsplit("/", 1)[-1] == "next" and argv[1:2] == ["start"] for argv in starts if argv):
        return None
    builds = _build_commands(doc, ctx, stage)
    if not any(argv[0].rsplit("/", 1)[-1] == "next" and argv[1:2] == ["build"] for argv in builds if argv):
        return None
    files = ["package.json", "node_modules", ".next"]
    if project.exists("public") or _copies_named(stage, "public"):
        files.append("public")
    for name in NEXT_CONFIGS:
        if project.exists(name) or _copies_named(stage, name):
            data = project.read(name)
            if data and re.search(r"""output\s*:\s*["'`]standalone""", data.decode("utf-8", "replace")):
                raise Refusal(
                    f"{name} asks for standalone output, which `node server.js` starts from `.next/standalone`:"
                    " a change of the start command"
                )
            files.append(name)
    return files


def _installs(doc: Document, stage) -> list[tuple[str, bool]]:
    """(package manager, leaves dev dependencies out) for each project install of the stage."""
    found = []
    for inst in stage.instructions:
        for script in run_scripts(doc, inst):
            for command in script.commands():
                words = [w.text for w in command.args]
                positional = [w for w in words if not w.startswith("-")]
                if any(w in ("-g", "--global") for w in words):
                    continue
                omit = any(
                    w in ("--omit=dev", "--production", "--only=production", "--prod", "--production=true")
                    for w in words
                ) or ("--omit" in words and words[words.index("--omit") + 1 :][:1] == ["dev"])
                if command.name == "npm" and positional in (["install"], ["i"], ["ci"]):
                    found.append(("npm", omit))
                elif command.name == "yarn" and positional in ([], ["install"]):
                    found.append(("yarn", omit))
                elif command.name == "pnpm" and positional in (["install"], ["i"]):
                    found.append(("pnpm", omit))
    return found


LOCKFILES = {"package-lock.json": "npm", "npm-shrinkwrap.json": "npm", "yarn.lock": "yarn", "pnpm-lock.yaml": "pnpm"}


def _install_manager(ctx: RuleContext, installs: list[tuple[str, bool]]) -> str:
    """The package manager that installs the dependencies: when the stage picks one by the
    lockfile it finds (`if [ -f yarn.lock ]; then yarn; elif ...`), the project's lockfile says which."""
    managers = {manager for manager, _ in installs}
    if len(managers) == 1:
        return installs[0][0]
    found = {manager for name, manager in LOCKFILES.items() if ctx.project.exists(name)}
    if len(found) != 1 or not found <= managers:
        raise Refusal("the install picks its package manager by the lockfile, and the project has no single lockfile")
    return found.pop()


def _prune_line(doc: Document, ctx: RuleContext, stage, manager: str) -> str | None:
    if manager == "npm":
        major = node_major(doc, stage)
        return "RUN npm prune --omit=dev" if major is None or major >= 16 else "RUN npm prune --production"
    if manager == "pnpm":
        return "RUN pnpm prune --prod"
    if manager == "yarn" and ctx.project.package_manager != "yarn-berry":
        return "RUN yarn install --production --ignore-scripts --prefer-offline" + (
            " --frozen-lockfile" if ctx.project.exists("yarn.lock") else ""
        )
    return None


def _start_needs_dev_dependency(ctx: RuleContext, doc: Document, stage: Stage) -> bool:
    """Whether the start runs a dev dependency's command, also as the wrapper of a script
    (`cross-env NODE_ENV=production node server.js`): pruning them would break the start."""
    project = ctx.project
    if dev_dependency_at_start(project, doc, stage) is not None:
        return True
    for argv in start_commands_run(project, doc, stage):
        call = script_invocation(argv)
        if call is None or call[0] not in project.scripts:
            continue
        for command in commands_in(project.scripts[call[0]].encode()):
            package = project.binary_package(command.name)
            if package is not None and project.is_dev_only(package):
                return True
    return False


def _services(ctx: RuleContext) -> Services:
    assert ctx.services is not None  # a RuleContext makes them when it is given none
    return ctx.services


def _tools_at_run_time(ctx: RuleContext, stage: Stage) -> set[str]:
    """Words of the start and health commands, and of the package.json script they call: the
    programs the running container may call by name."""
    texts = [inst.args for inst in stage.instructions if inst.name in ("CMD", "ENTRYPOINT", "HEALTHCHECK")]
    for argv in start_commands(stage):
        call = script_invocation(argv)
        if call is not None and call[0] in ctx.project.scripts:
            texts.append(ctx.project.scripts[call[0]])
    return {posixpath.basename(word) for text in texts for word in re.findall(r"[\w./+-]+", text)}


def _production_base(ctx: RuleContext, stage: Stage, runtime_tools: set[str]) -> str:
    """The image the production stage runs on: the `-slim` variant of the same Debian release
    for a full Debian node image (when the model knows that tag); the build stage's otherwise."""
    base = stage.base
    if "$" in base:
        return base
    name, tag = split_image(base)
    images = _services(ctx).node_images
    if images.tag_exists(tag, ctx.today) is False:
        raise Refusal(f"`{base}`, which is not a tag of the official node image (fix the base image first)")
    variant = images.variant(tag, ctx.today)
    if variant is None or variant.slim or runtime_tools & set(FULL_IMAGE_TOOLS):
        return base  # already small, unknown, or the running app calls a tool only the full image has
    try:
        parsed = NodeTag.parse(tag)
    except MalformedTag:
        return base
    small = replace(parsed, variant=f"{parsed.variant}-slim" if parsed.variant else "slim").render()
    if images.tag_exists(small, ctx.today) is not True:
        return base
    return f"{name}:{small}"


def _app_owner(doc: Document, stage: Stage, steps_after_copy: list[Instruction], app_dir: str) -> str | None:
    """The owner the author gave the app's files once copied: a recursive chown of the app
    folder (its files keep it across stages, the folder itself would not), or the user that runs."""
    owner = None
    for inst in steps_after_copy:
        for script in run_scripts(doc, inst):
            for command in script.commands():
                words = [w.text for w in command.args]
                positional = [w for w in words if not w.startswith("-")]
                recursive = any(w.startswith("-") and not w.startswith("--") and "R" in w for w in words)
                if (
                    command.name == "chown"
                    and recursive
                    and any(posixpath.normpath(posixpath.join(app_dir, p)) == app_dir for p in positional[1:])
                ):
                    owner = positional[0]
    if owner is not None and "$" not in owner:
        return owner
    user = effective_user(doc, stage)
    return "node:node" if user and user.split(":")[0] in ("node", "1000") else None


def check(doc: Document, ctx: RuleContext):
    stages = doc.stages
    if len(stages) > 1:
        yield from _runtime_findings(doc, ctx)
        return
    if len(stages) != 1:
        return
    stage = stages[0]  # the runtime stage, and the only one
    if (
        not applies_to(doc, stage)
        or not ctx.project.has_package_json
        or development_reason(ctx.project, doc, stage, ctx.dockerfile) is not None
    ):
        return
    installs = _installs(doc, stage)
    if not installs or not any(i.name in ("CMD", "ENTRYPOINT") for i in stage.instructions):
        return
    line = stage.from_instruction.line
    try:
        fix, message = _split(doc, ctx, stage, installs)
    except NothingLeftBehind as reason:
        # The practice's aim (no build tools, dev dependencies or sources in the image) is met.
        yield Finding(RULE.code, f"one stage is enough here: {reason}", line, note=True)
        return
    except Refusal as refusal:
        yield Finding(
            RULE.code,
            f"the image builds and runs the app in one stage; not split automatically because of {refusal}",
            line,
        )
        return
    yield Finding(RULE.code, message, line, fix)


def _runtime_findings(doc: Document, ctx: RuleContext):
    """A runtime stage on another Node.js image (distroless), against the stages that feed it."""
    runtime = runtime_stage(doc)
    if runtime is None:
        return
    base = external_base(doc, runtime)
    major = runtime_node_major(base)
    if major is None:
        return
    image = base.split("@")[0]
    services = _services(ctx)
    data = services.node_data
    if data.is_end_of_life(major, ctx.today):
        end = data.end_of_life_date(major)
        yield Finding(
            RULE.code,
            f"the runtime image `{image}` runs Node.js {major}, which reached its end of life"
            f"{f' on {end.isoformat()}' if end else ''}: move it to a supported major, and the stages that build"
            " for it to the same major",
            runtime.from_instruction.line,
        )
    from ...guard import stage_image  # the real-image guard only for a runtime that copies from a stage

    for inst, source in copied_stages(doc, runtime):
        built_on = stage_image(doc, source, services.node_images, ctx.today).major
        if built_on is not None and built_on != major:
            name = source.alias or str(source.index)
            yield Finding(
                RULE.code,
                f"the stage `{name}` builds on Node.js {built_on} for a runtime on Node.js {major} (`{image}`):"
                f" native addons and engine checks must match the runtime's major, so build it on `node:{major}`",
                inst.line,
            )


def _app_folder(groups: list[tuple[list[Node], Instruction]]) -> str:
    """The folder that holds the app: the last WORKDIR and where package.json is copied (a parent
    of the WORKDIR when the dependencies are installed above it, as in `/node` and `/node/app`)."""
    env: dict[str, str] = {}
    workdir = "/"
    named = False
    package_folders = []
    for _, inst in groups:
        if inst.name == "ENV":
            _env_values(inst, env)
        elif inst.name == "WORKDIR":
            value = _expand(inst.args.strip().strip("\"'"), env)
            if value is None:
                raise Refusal(f"line {inst.line}: a WORKDIR with a variable the file does not set")
            workdir, named = _resolve(workdir, value), True
        elif inst.name in ("COPY", "ADD") and inst.flag("from") is None and not inst.heredocs:
            sources = [posixpath.basename(w.rstrip("/")) for w in _argv(inst)[:-1]]
            if any(s in ("", ".") or s.startswith("package") for s in sources):
                folder = _copy_folder(inst, workdir, env)
                if folder is not None:
                    package_folders.append(folder)
    folders = [workdir, *package_folders] if named else package_folders
    app_dir = posixpath.commonpath(folders) if folders else "/"
    if app_dir == "/":
        raise Refusal("the app is in the root folder / (no WORKDIR names its folder)")
    return app_dir


def _split(doc: Document, ctx: RuleContext, stage: Stage, installs) -> tuple[Fix, str]:
    from_inst = stage.from_instruction
    if not from_inst.spans_one_line or any(i.name == "ONBUILD" for i in stage.instructions):
        raise Refusal("a FROM over several lines or an ONBUILD")
    groups, trailing = _groups(doc, stage)
    app_dir = _app_folder(groups)
    runtime_tools = _tools_at_run_time(ctx, stage)
    reading = _Reading(doc, ctx, app_dir, StartProgram.of(stage, app_dir), runtime_tools)
    env: dict[str, str] = {}
    steps: list[Step] = []
    workdirs: list[str] = []  # the working directory after each instruction
    steps_after_copy: list[Instruction] = []
    for _, inst in groups:
        if reading.app_copied and inst.name == "RUN":
            steps_after_copy.append(inst)
        if inst.name == "WORKDIR":
            reading.workdir = _resolve(reading.workdir, _expand(inst.args.strip().strip("\"'"), env) or "/")
            steps.append(Step(production=True))
        elif inst.name == "ENV":
            _env_values(inst, env)
            steps.append(Step(production=True))
        elif inst.name in ("COPY", "ADD"):
            steps.append(reading.read_copy(inst, env))
        elif inst.name == "RUN":
            steps.append(reading.read_run(inst))
        elif inst.name in RUNTIME_ONLY:
            steps.append(Step(build=False, production=True))
        elif inst.name in SHARED:
            steps.append(Step(production=True))
        else:
            raise Refusal(f"line {inst.line}: {inst.name}")
        workdirs.append(reading.workdir)
    if reading.start_program_in_build:
        for step in steps:
            step.build = step.build or step.start_program
    build_indexes = [i for i, step in enumerate(steps) if step.build and (not step.production or step.generated)]
    if not build_indexes:
        raise Refusal("no build step")
    boundary = build_indexes[-1]
    manager = _install_manager(ctx, installs)

    newline = doc.newline.decode()
    alias = stage.alias
    build_name = "builder" if alias and alias.lower() == "build" else "build"
    from_line = doc.source[from_inst.start : from_inst.end].decode("utf-8", "replace").rstrip("\r\n")
    base_line = re.sub(r"\s+[Aa][Ss]\s+\S+\s*$", "", from_line) if alias else from_line.rstrip()
    production_base = _production_base(ctx, stage, runtime_tools)
    build_from = f"{base_line} AS {build_name}{newline}"
    production_line = re.sub(rf"(?<=\s){re.escape(stage.base)}(?=\s|$)", production_base, base_line, count=1)
    prod_from = f"{production_line}{f' AS {alias}' if alias else ''}{newline}"

    build_part = build_from.encode()
    for index, ((comments, inst), step) in enumerate(zip(groups, steps, strict=True)):
        if index > boundary:
            break
        if step.build:
            build_part += _text(doc, [*comments, inst])
    runs_build = _runs_build(doc, stage)
    prune = None
    if (
        ctx.project.dev_dependencies
        and not all(omit for _, omit in installs)
        and not _start_needs_dev_dependency(ctx, doc, stage)
    ):
        if any(posixpath.basename(path) == "node_modules" for path in reading.moved_out):
            raise Refusal("node_modules moved out of the app folder, where the dev dependencies cannot be pruned")
        prune = _prune_line(doc, ctx, stage, manager)
        if prune is None:
            raise Refusal("Yarn 2+ cannot prune dev dependencies in place")
        build_part += (prune + newline).encode()

    owner = _app_owner(doc, stage, steps_after_copy, app_dir)
    chown = f"--chown={owner} " if owner else ""
    here = "." if workdirs[boundary] == app_dir else app_dir  # where the production copies land
    next_files = _next_files(doc, ctx, stage)
    folder = None if next_files else _entry_folder(doc, ctx, stage, runs_build)
    if next_files or folder:
        names = next_files or ["package.json", "node_modules", str(folder)]
        copies = [f"COPY {chown}--from={build_name} {app_dir}/{name} {here}/{name}" for name in names]
        listed = f"{', '.join(names[:-1])} and {names[-1]}"
        what = f"{listed} (add COPY --from={build_name} lines for other files the app reads at run time)"
    else:
        copies = [f"COPY {chown}--from={build_name} {app_dir} {app_dir}"]
        what = f"the app folder {app_dir}"
    copies += [f"COPY --from={build_name} {path} {path}" for path in reading.moved_out]
    if reading.moved_out:
        what += f" and {', '.join(reading.moved_out)}"

    left_behind = []
    if production_base != stage.base:
        left_behind.append("the full image")
    if next_files or folder:
        left_behind.append("the sources")
    if reading.build_packages:
        left_behind.append(f"the build packages ({', '.join(sorted(reading.build_packages))})")
    if prune:
        left_behind.append("the dev dependencies")
    if not left_behind:
        raise NothingLeftBehind(
            f"the production stage would run on the same image (`{stage.base}`) with the whole app folder, and the"
            " build installs no build tools and no dev dependencies to leave behind"
        )

    prod_part = newline.encode() + prod_from.encode()
    after_app = b""
    for index, ((comments, inst), step) in enumerate(zip(groups, steps, strict=True)):
        if index > boundary:
            break
        if not step.production:
            continue
        if step.generated is not None:
            text = (step.generated + newline).encode()
        else:
            text = _text(doc, [inst] if step.build else [*comments, inst])
        if step.after_app:
            after_app += text
        else:
            prod_part += text
    prod_part += "".join(line + newline for line in copies).encode() + after_app
    for comments, inst in groups[boundary + 1 :]:
        prod_part += _text(doc, [*comments, inst])
    prod_part += _text(doc, trailing)
    replacement = build_part + prod_part
    if not doc.source.endswith(b"\n"):
        replacement = replacement.rstrip(b"\r\n")
    did = ["install"] + (["build"] if runs_build or next_files else []) + (["prune dev dependencies"] if prune else [])
    pinned = " (pin it by digest)" if "@" in stage.base and production_base != stage.base else ""
    repeats = f"; it repeats {', '.join(reading.carried)}" if reading.carried else ""
    message = (
        f"the image builds and runs the app in one stage: split into a `{build_name}` stage ({', '.join(did)}) "
        f"and a production stage on `{production_base}`{pinned} that copies only {what} from it, leaving behind "
        f"{', '.join(left_behind)}{repeats}"
    )
    return Fix.unsafe(Edit(from_inst.start, len(doc.source), replacement)), message
