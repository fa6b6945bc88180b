"""Reading the single stage: where each of its instructions goes when it is split in two.

The reading refuses (`Refusal`) whatever it cannot carry over safely; what it accepts becomes a
`Step` per instruction, and what it learns on the way (the app folder, the build packages, what
the production stage repeats) is kept in `StageReading`.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field

from ...context import RuleContext
from ...dockerfile.document import Document, Instruction, Node, Stage
from ...dockerfile.shell import Command, Script
from ...dockerfile.stages import start_commands
from ...dockerfile.words import read_env, substitute_args
from ...project.node_tooling import BUILD_ONLY_PACKAGES, GLOBAL_FLAGS, MANAGER_COMMANDS, PACKAGE_MANAGERS
from ...project.npmscripts import script_invocation

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
BUILD_STAGE_COMMANDS = ("node", "tsc", "npx", *PACKAGE_MANAGERS)
FILE_COMMANDS = ("mkdir", "cp", "mv", "touch", "ln", "chown", "chmod")
# File commands that need no file of the build: before the app is copied they prepare folders
# and owners, which the production stage must have too.
PREPARING = ("mkdir", "chown", "chmod", "touch", "ln")
# Users and groups the app may run as: the production stage needs them as much as the build.
USER_COMMANDS = ("addgroup", "adduser", "groupadd", "useradd", "usermod")
NEUTRAL = ("set", "true", "echo", "printf", "cd", "rm", "export")
# Files that hold credentials for the install: never repeated where the app runs.
CREDENTIALS = (".npmrc", ".yarnrc", ".yarnrc.yml")
PATH_FOLDERS = ("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin")


class Refusal(Exception):
    """The stage does something the split cannot carry over safely."""


class NothingLeftBehind(Refusal):
    """A split would give the production stage the same image and the same files."""


@dataclass(frozen=True, slots=True)
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


@dataclass(slots=True)
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


def _env_values(inst: Instruction, env: dict[str, str], escape: str) -> None:
    """Record an ENV's values (both forms; a value with a variable in it is not known)."""
    for name, value in read_env(inst.args, escape).pairs:
        value = value.strip("\"'")
        known = substitute_args(value, env)
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
    target = substitute_args(words[-1], env)
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
    return command_name in PACKAGE_MANAGERS and (any(w in GLOBAL_FLAGS for w in words) or positional[:1] == ["global"])


def _package_name(spec: str) -> str:
    """`pm2@5` -> `pm2`, `@vue/cli@5` -> `@vue/cli`."""
    head, at, _ = spec[1:].partition("@")
    return spec[0] + head if at else spec


def _is_local_spec(spec: str) -> bool:
    return spec.startswith((".", "/", "~", "file:")) or spec.endswith((".tgz", ".tar.gz", ".tar"))


@dataclass(slots=True)
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
        return bool(MANAGER_COMMANDS.get(package, frozenset()) & self.runtime_tools)

    def read_copy(self, inst: Instruction, env: dict[str, str]) -> Step:
        if _copies_start_program(inst, self.start):
            return Step(build=False, production=True, start_program=True)
        if inst.flag("from") is not None:
            raise Refusal(f"line {inst.line}: files copied from another image")
        argv = _argv(inst)
        target = substitute_args(argv[-1], env) if len(argv) >= 2 else None
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
        run = _RunCommands(cwd=self.workdir)
        for script in inst.scripts:
            if script.has_errors:
                raise Refusal(f"line {inst.line}: a RUN whose shell could not be read")
            for command in script.commands:
                self._read_command(inst, script, command, run)
        return self._run_step(inst, run)

    def _read_command(self, inst: Instruction, script: Script, command: Command, run: _RunCommands) -> None:
        """Where one command of a RUN goes: the build, the production stage, or a refusal."""
        words = [w.text for w in command.args]
        positional = [w for w in words if not w.startswith("-")]
        name = command.name
        text = script.text[command.start : command.end].decode("utf-8", "replace")
        if name == "cd":
            target = positional[0] if positional else "/root"
            run.cwd = _resolve(run.cwd, target) if "$" not in target else "?"
            return
        if name in NEUTRAL:
            return
        run.steps += 1
        run.preparing += name in PREPARING
        if name in PACKAGE_TOOLS:
            self._read_package_tool(inst, name, words, positional, run)
        elif _is_global(name, words, positional):
            self._read_global_install(inst, text, positional, run)
        elif name == "corepack":
            if self.needs_manager("corepack"):
                run.repeated.append(text)
                self.carry("the package manager set up by Corepack")
            else:
                run.builds = True
        elif name in USER_COMMANDS:
            run.repeated.append(text)
            self.carry("the users and groups")
        elif name in FILE_COMMANDS:
            step = self._read_file_command(inst, name, positional, run.cwd)
            if step == "start program":
                run.start_program.append(text)
            elif step == "repeat":
                run.repeated.append(text)
                self.carry("the folders and permissions prepared outside the app folder")
            else:
                run.builds = True
        elif name in BUILD_STAGE_COMMANDS:
            run.builds = True
            self._check_install_folder(inst, name, words, positional, run.cwd)
        elif name in HARMLESS:
            run.builds = True
        else:
            raise Refusal(f"line {inst.line}: `{name}` may prepare something the app needs at run time")

    def _read_package_tool(
        self, inst: Instruction, name: str, words: list[str], positional: list[str], run: _RunCommands
    ) -> None:
        """`apt-get install`, `apk add`: the build packages stay behind, the others are repeated."""
        if positional[:1] == ["update"]:
            run.updated = True
        if positional[:1] in (["add"], ["install"]):
            carried = self._read_packages(inst, positional[1:])
            run.builds = run.builds or any(_system_package(w) in self.build_packages for w in positional[1:])
            if carried:
                run.runtime_packages.append((name, carried, "--no-install-recommends" in words))
                # apt-get needs the package lists, which the images do not keep
                run.stale = run.stale or (name != "apk" and not run.updated)
        elif not (positional[:1] == [] or positional[0] in PACKAGE_HOUSEKEEPING):
            raise Refusal(f"line {inst.line}: `{name} {positional[0]}`")

    def _read_global_install(self, inst: Instruction, text: str, positional: list[str], run: _RunCommands) -> None:
        """`npm install -g pm2`: the app's tools are installed again where it runs, the build's are not."""
        specs = [p for p in positional if p not in ("install", "i", "add", "global")]
        needed = [s for s in specs if self._global_needed(s)]
        if not needed:
            run.builds = True
            return
        local = [s for s in needed if _is_local_spec(s)]
        for spec in local:
            path = spec.removeprefix("file:")
            if "$" in path or path.startswith("~"):
                raise Refusal(f"line {inst.line}: a global install from a path with a variable")
            if _inside(_resolve(run.cwd, path), self.app_dir):
                if not path.startswith("/") and run.cwd != self.app_dir:
                    raise Refusal(f"line {inst.line}: a global install from the app folder, run elsewhere")
                run.after_app = True
        run.repeated.append(text)
        self.carry(f"the global install ({', '.join(_package_name(s) for s in needed)})")

    def _run_step(self, inst: Instruction, run: _RunCommands) -> Step:
        """The step of a RUN whose commands have all been read."""
        repeated = run.repeated
        if run.start_program and not (run.builds or repeated or run.runtime_packages):
            return Step(build=False, production=True)
        if run.start_program:
            # the build stage runs this step too: it needs the start program as well
            self.start_program_in_build = True
            repeated = run.start_program + repeated
        installed = {_system_package(p) for _, packages, _ in run.runtime_packages for p in packages}
        if installed and installed <= INIT_PACKAGES and not (run.builds or repeated):
            return Step(build=False, production=True)  # the init process: the running app's alone
        if not run.runtime_packages and not repeated:
            if not self.app_copied and run.steps and run.preparing == run.steps:
                return Step(production=True)  # folders and owners prepared for the app
            return Step()
        if not run.builds and not run.stale:
            return Step(production=True, after_app=run.after_app)
        if inst.heredocs:
            raise Refusal(f"line {inst.line}: a heredoc RUN that mixes build steps with what the app needs")
        parts = [_install_line(tool, packages, no_recommends) for tool, packages, no_recommends in run.runtime_packages]
        return Step(production=True, generated="RUN " + " && ".join([*parts, *repeated]), after_app=run.after_app)

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
        if package in BUILD_ONLY_PACKAGES:
            return False
        if package in MANAGER_COMMANDS:
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

    def _check_install_folder(
        self, inst: Instruction, name: str, words: list[str], positional: list[str], cwd: str
    ) -> None:
        installs = (name == "npm" and positional[:1] in (["install"], ["i"], ["ci"])) or (
            name in ("yarn", "pnpm") and positional[:1] in ([], ["install"], ["i"])
        )
        if installs and not _is_global(name, words, positional) and (cwd == "?" or not _inside(cwd, self.app_dir)):
            where = "a folder the file does not fix" if cwd == "?" else cwd
            raise Refusal(f"line {inst.line}: the dependencies are installed in {where}, not in the app folder")


@dataclass(slots=True)
class _RunCommands:
    """What the commands of one RUN amount to, as they are read."""

    cwd: str  # the folder the next command runs in; "?" once a `cd` names a variable
    builds: bool = False  # a step only the build needs
    steps: int = 0  # commands that are not neutral
    preparing: int = 0  # of them, those that prepare folders and owners
    start_program: list[str] = field(default_factory=list)  # commands that prepare the start program
    repeated: list[str] = field(default_factory=list)  # commands the production stage repeats, as written
    runtime_packages: list[tuple[str, list[str], bool]] = field(default_factory=list)  # (tool, packages, no recommends)
    after_app: bool = False
    updated: bool = False
    stale: bool = False


def _system_package(word: str) -> str:
    """`curl=7.88.1-10` or `tini@community` -> the package name."""
    return word.split("=")[0].split("@")[0]


def _install_line(tool: str, packages: list[str], no_recommends: bool) -> str:
    """An install of `packages` written for the production stage, cleaning up as it goes."""
    if tool == "apk":
        return f"apk add --no-cache {' '.join(packages)}"
    recommends = " --no-install-recommends" if no_recommends else ""
    return f"apt-get update && apt-get install -y{recommends} {' '.join(packages)} && rm -rf /var/lib/apt/lists/*"


def _groups(doc: Document, stage: Stage) -> tuple[list[tuple[list[Node], Instruction]], list[Node]]:
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


def tools_at_run_time(ctx: RuleContext, stage: Stage) -> set[str]:
    """Words of the start and health commands (the file's, and those of the compose services that
    run it), and of the package.json script they call: the programs the running container may
    call by name."""
    texts = [inst.args for inst in stage.instructions if inst.name in ("CMD", "ENTRYPOINT", "HEALTHCHECK")]
    # How compose runs the image: its healthcheck `test`, `command` and `entrypoint`.
    for runtime in ctx.builds.runtimes if ctx.builds is not None else []:
        for setting in (runtime.healthcheck, runtime.command, runtime.entrypoint):
            if setting is not None:
                texts.append(setting if isinstance(setting, str) else " ".join(setting))
    for argv in start_commands(stage):
        call = script_invocation(argv)
        if call is not None and call[0] in ctx.project.scripts:
            texts.append(ctx.project.scripts[call[0]])
    return {posixpath.basename(word) for text in texts for word in re.findall(r"[\w./+-]+", text)}


def _app_folder(groups: list[tuple[list[Node], Instruction]], escape: str) -> str:
    """The folder that holds the app: the last WORKDIR and where package.json is copied (a parent
    of the WORKDIR when the dependencies are installed above it, as in `/node` and `/node/app`)."""
    env: dict[str, str] = {}
    workdir = "/"
    named = False
    package_folders: list[tuple[str, int]] = []
    for _, inst in groups:
        if inst.name == "ENV":
            _env_values(inst, env, escape)
        elif inst.name == "WORKDIR":
            value = substitute_args(inst.args.strip().strip("\"'"), env)
            if value is None:
                raise Refusal(f"line {inst.line}: a WORKDIR with a variable the file does not set")
            workdir, named = _resolve(workdir, value), True
        elif inst.name in ("COPY", "ADD") and inst.flag("from") is None and not inst.heredocs:
            sources = [posixpath.basename(w.rstrip("/")) for w in _argv(inst)[:-1]]
            if any(s in ("", ".") or s.startswith("package") for s in sources):
                folder = _copy_folder(inst, workdir, env)
                if folder is not None:
                    package_folders.append((folder, inst.line))
    folders = [workdir, *(folder for folder, _ in package_folders)] if named else [f for f, _ in package_folders]
    app_dir = posixpath.commonpath(folders) if folders else "/"
    if app_dir != "/":
        return app_dir
    if not named:
        raise Refusal("the app is in the root folder / (no WORKDIR names its folder)")
    if workdir == "/":
        raise Refusal("the app is in the root folder / (its WORKDIR is /)")
    folder, line = next((f, n) for f, n in package_folders if posixpath.commonpath([workdir, f]) == "/")
    raise Refusal(f"the app's files are in {workdir} and {folder} (line {line}), which share only the root folder /")


@dataclass(slots=True)
class StageReading:
    """The single stage, read: its instructions with the comments before them, and each one's step."""

    groups: list[tuple[list[Node], Instruction]]  # each instruction with the comment lines before it
    trailing: list[Node]  # the lines after the last instruction
    app_dir: str
    runtime_tools: set[str]
    reading: _Reading
    steps: list[Step]
    workdirs: list[str]  # the working directory after each instruction
    steps_after_copy: list[Instruction]  # the RUN instructions once the app is copied


def read_stage(doc: Document, ctx: RuleContext, stage: Stage) -> StageReading:
    """Read every instruction of the stage after its FROM; raises Refusal at the first it cannot carry over."""
    groups, trailing = _groups(doc, stage)
    app_dir = _app_folder(groups, doc.escape.decode())
    runtime_tools = tools_at_run_time(ctx, stage)
    reading = _Reading(doc, ctx, app_dir, StartProgram.of(stage, app_dir), runtime_tools)
    env: dict[str, str] = {}
    steps: list[Step] = []
    workdirs: list[str] = []
    steps_after_copy: list[Instruction] = []
    for _, inst in groups:
        if reading.app_copied and inst.name == "RUN":
            steps_after_copy.append(inst)
        if inst.name == "WORKDIR":
            reading.workdir = _resolve(reading.workdir, substitute_args(inst.args.strip().strip("\"'"), env) or "/")
            steps.append(Step(production=True))
        elif inst.name == "ENV":
            _env_values(inst, env, doc.escape.decode())
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
    return StageReading(groups, trailing, app_dir, runtime_tools, reading, steps, workdirs, steps_after_copy)
