"""Build in one stage, run from a clean one.

## What it does
Splits a single-stage Node.js Dockerfile in two, reading the split from the file and the
project's package.json:
- a `build` stage on the original image: the original steps (dependency install, build tools,
  the build script), then the dev dependencies pruned (`npm prune --omit=dev`,
  `pnpm prune --prod`, or a production-only `yarn install`) when the install kept them;
- a production stage on the small variant of the same image: the full Debian image (`node:22`,
  `node:22-bookworm`) becomes the `-slim` variant of the same Debian release, a tag the model of
  the official image knows; slim and alpine images stay as they are, so node_modules never
  cross between glibc and musl. It repeats what the app needs at run time: the init process
  install, a start binary its ENTRYPOINT or CMD names (`ADD .../tini /tini` and its `chmod`),
  the folders and owners the author prepared before copying the app, the shared settings
  (WORKDIR, ENV, ARG, USER). It copies the app folder from the build stage (or, for a compiled
  TypeScript app started from its output folder, only `package.json`, `node_modules` and that
  folder) and keeps the runtime part of the original (ENV NODE_ENV, USER, EXPOSE, CMD...).
A split must leave something behind: the full image, the sources of a compiled app, the build
tools the stage installed, or the dev dependencies. Where the production stage would be the
same image with the same files, the file is reported and left as it is.
Comments stay with the instructions they precede.

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
packages installed for run time, or tools of the full image the app runs itself (the slim
variant has no curl, git, python3, make or g++) would be missing. A start or health command
that names such a tool keeps the full image; a base pinned by digest gets its slim tag without
one, for the base image rule to pin. The split is offered only when every step of the stage is
understood: package installs and builds, build-only system packages (python3, make, g++...),
the start binary, and file commands inside the app folder. Anything else (other system
packages, global tools, copies from other images, files outside the app folder), monorepo
workspaces and Next.js apps are reported and left alone. The rewrite waits until the other
rules have nothing left to change in the file, so it splits the stage they settled.

## Related hadolint rules
None.
"""

from __future__ import annotations

import posixpath
import re

from ..context import RuleContext, Services
from ..dockerfile.document import Document, Instruction, Node, Stage
from ..dockerfile.shell import run_scripts
from ..dockerfile.stages import (
    applies_to,
    copied_stages,
    effective_user,
    external_base,
    is_development_image,
    next_workdir,
    node_major,
    runtime_node_major,
    runtime_stage,
    split_image,
    start_commands,
)
from ..edits import Applicability, Edit, Finding, Fix
from ..guard import FULL_IMAGE_TOOLS, stage_image
from ..project.npmscripts import script_invocation
from ..records import dataclass, replace
from ..sources.images import MalformedTag, NodeTag
from .rule import Rule

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
    "libc6-compat",
    "ca-certificates",
    "openssl",
    "curl",
    "wget",
    "pkgconfig",
    "pkg-config",
    "autoconf",
    "automake",
    "libtool",
    "bash",
    "node-gyp",
}
PACKAGE_TOOLS = ("apk", "apt-get", "apt")
HARMLESS = (
    "echo",
    "cd",
    "true",
    "set",
    "ls",
    "cat",
    "printf",
    "test",
    "[",
    "export",
    "pwd",
    "node",
    "rm",
    "tsc",
    "corepack",
    "npx",
)
FILE_COMMANDS = ("mkdir", "cp", "mv", "touch", "ln", "chown", "chmod")
# File commands that need no file of the build: before the app is copied they prepare folders
# and owners, which the production stage must have too.
PREPARING = ("mkdir", "chown", "chmod", "touch", "ln")
NEUTRAL = ("set", "true", "echo", "printf")
SELF_UPDATES = re.compile(r"^(npm|pnpm|yarn|corepack|node-gyp|typescript)(@.*)?$")
BUILD_OUTPUT = ("dist", "build", "out", "lib")
PATH_FOLDERS = ("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin")


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


def _argv(inst: Instruction) -> list[str]:
    return inst.words


def _inside(path: str, workdir: str) -> bool:
    if "$" in path or path.startswith("~"):
        return False
    if not path.startswith("/"):
        return ".." not in path.split("/")
    normal = posixpath.normpath(path)
    return normal == workdir or normal.startswith(workdir.rstrip("/") + "/")


def _destinations(inst: Instruction) -> list[str]:
    """Where a COPY/ADD puts each of its sources."""
    words = _argv(inst)
    sources, target = words[:-1], words[-1] if words else ""
    if target.endswith("/") or len(sources) > 1:
        return [posixpath.join(target, posixpath.basename(source.rstrip("/"))) for source in sources]
    return [target] if sources else []


def _copies_start_program(inst: Instruction, start: StartProgram) -> bool:
    """`ADD https://.../tini /tini` for `ENTRYPOINT ["/tini", "--"]`: the running app's, not the build's."""
    targets = _destinations(inst)
    return bool(targets) and not inst.heredocs and all(start.is_target(target) for target in targets)


def _classify_run(
    doc: Document, inst: Instruction, workdir: str | None, start: StartProgram, app_copied: bool
) -> tuple[str, set[str]]:
    """(kind, system packages installed): "prod" for the init process or the start program,
    "both" for folders and owners prepared before the app is copied, "build" for build steps;
    raises Refusal otherwise."""
    if inst.is_json_form:
        raise Refusal(f"line {inst.line}: a RUN in exec form")
    packages: set[str] = set()
    names: list[str] = []
    on_start_program = False
    for script in run_scripts(doc, inst):
        if script.has_errors:
            raise Refusal(f"line {inst.line}: a RUN whose shell could not be read")
        for command in script.commands():
            words = [w.text for w in command.args]
            positional = [w for w in words if not w.startswith("-")]
            name = command.name
            names.append(name)
            if name in PACKAGE_TOOLS:
                if positional[:1] in (["add"], ["install"]):
                    packages.update(p.split("=")[0].split("@")[0] for p in positional[1:])
                elif positional[:1] not in (["update"], ["upgrade"], ["clean"], [], ["del"]):
                    raise Refusal(f"line {inst.line}: `{name} {' '.join(positional[:1])}`")
            elif name in ("npm", "pnpm", "yarn"):
                is_global = any(w in ("-g", "--global", "--location=global") for w in words) or positional[:1] == [
                    "global"
                ]
                if is_global:
                    installed = [p for p in positional if p not in ("install", "i", "add", "global")]
                    if not all(SELF_UPDATES.match(p) for p in installed):
                        raise Refusal(
                            f"line {inst.line}: a global install ({' '.join(installed)}) the app may need at run time"
                        )
            elif name in FILE_COMMANDS:
                paths = positional[1:] if name in ("chown", "chmod") else positional
                if paths and all(start.is_target(p) for p in paths):
                    on_start_program = True
                    names[-1] = "start program"
                elif workdir is None or not all(_inside(p, workdir) for p in paths):
                    raise Refusal(f"line {inst.line}: `{name}` outside the app folder")
            elif name not in HARMLESS:
                raise Refusal(f"line {inst.line}: `{name}` may prepare something the app needs at run time")
    steps = [n for n in names if n not in NEUTRAL]
    if on_start_program:
        if any(n != "start program" for n in steps):
            raise Refusal(f"line {inst.line}: the start program is prepared together with other steps")
        return "prod", set()
    if packages and packages <= INIT_PACKAGES:
        return "prod", set()
    extra = packages - BUILD_PACKAGES - INIT_PACKAGES
    if extra:
        raise Refusal(f"line {inst.line}: system packages the app may need at run time ({', '.join(sorted(extra))})")
    if packages & INIT_PACKAGES:
        raise Refusal(f"line {inst.line}: the init process is installed together with build packages")
    if steps and not app_copied and all(n in PREPARING for n in steps):
        return "both", set()
    return "build", packages


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
    for inst in stage.instructions:
        if inst.name in ("COPY", "ADD") and any(
            posixpath.normpath(w.lstrip("/")).split("/")[0] == folder for w in _argv(inst)[:-1]
        ):
            return None  # the output is built outside Docker and copied in
    return folder


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
        or is_development_image(doc, stage, ctx.dockerfile.name)
        or not ctx.project.has_package_json
    ):
        return
    installs = _installs(doc, stage)
    if not installs or not any(i.name in ("CMD", "ENTRYPOINT") for i in stage.instructions):
        return
    line = stage.from_instruction.line
    project = ctx.project
    if (project.package_json or {}).get("workspaces"):
        yield Finding(
            RULE.code,
            "single build and run stage in a monorepo with workspaces: split it into build and production stages by hand (left alone)",
            line,
        )
        return
    if "next" in project.dependencies() or "next" in project.dev_dependencies:
        yield Finding(
            RULE.code,
            "single build and run stage for a Next.js app: use `output: 'standalone'` and copy `.next/standalone` and `.next/static` into a production stage (left alone)",
            line,
        )
        return
    try:
        fix, message = _split(doc, ctx, stage, installs)
    except NothingLeftBehind as reason:
        yield Finding(RULE.code, f"the image builds and runs the app in one stage; not split: {reason}", line)
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


def _split(doc: Document, ctx: RuleContext, stage: Stage, installs) -> tuple[Fix, str]:
    from_inst = stage.from_instruction
    if not from_inst.spans_one_line or any(i.name == "ONBUILD" for i in stage.instructions):
        raise Refusal("a FROM over several lines or an ONBUILD")
    groups, trailing = _groups(doc, stage)
    app_dir: str | None = "/"
    for _, inst in groups:
        if inst.name == "WORKDIR":
            app_dir = next_workdir(app_dir, inst)
    if app_dir is None or app_dir == "/":
        raise Refusal("no WORKDIR (the app folder is unknown)")
    start = StartProgram.of(stage, app_dir)
    workdir: str | None = "/"
    app_copied = False
    classes = []
    build_packages: set[str] = set()
    steps_after_copy: list[Instruction] = []
    for _, inst in groups:
        if app_copied and inst.name == "RUN":
            steps_after_copy.append(inst)
        if inst.name == "WORKDIR":
            workdir = next_workdir(workdir, inst)
            classes.append("both")
        elif inst.name in ("COPY", "ADD") and _copies_start_program(inst, start):
            classes.append("prod")
        elif inst.name == "RUN":
            kind, packages = _classify_run(doc, inst, workdir, start, app_copied)
            classes.append(kind)
            build_packages |= packages
        elif inst.name in ("COPY", "ADD"):
            source_stage = inst.flag("from")
            if source_stage is not None:
                raise Refusal(f"line {inst.line}: files copied from another image")
            argv = _argv(inst)
            if inst.heredocs or len(argv) < 2 or workdir is None or not _inside(argv[-1], workdir):
                raise Refusal(f"line {inst.line}: files copied outside the app folder")
            classes.append("build")
            app_copied = True
        elif inst.name in RUNTIME_ONLY:
            classes.append("prod")
        elif inst.name in SHARED:
            classes.append("both")
        else:
            raise Refusal(f"line {inst.line}: {inst.name}")
    build_indexes = [i for i, c in enumerate(classes) if c == "build"]
    if not build_indexes:
        raise Refusal("no build step")
    boundary = build_indexes[-1]
    if any(inst.name == "WORKDIR" for _, inst in groups[boundary + 1 :]):
        raise Refusal("a WORKDIR after the build steps")
    runtime_tools = _tools_at_run_time(ctx, stage)
    needed = sorted(build_packages & runtime_tools)
    if needed:
        raise Refusal(f"system packages the start or health command uses ({', '.join(needed)})")

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
    for index, ((comments, inst), kind) in enumerate(zip(groups, classes, strict=True)):
        if index > boundary:
            break
        if kind in ("build", "both"):
            build_part += _text(doc, [*comments, inst])
    manager = installs[0][0]
    runs_build = _runs_build(doc, stage)
    prune = None
    if ctx.project.dev_dependencies and not all(omit for _, omit in installs):
        prune = _prune_line(doc, ctx, stage, manager)
        if prune is None:
            raise Refusal("Yarn 2+ cannot prune dev dependencies in place")
        build_part += (prune + newline).encode()

    owner = _app_owner(doc, stage, steps_after_copy, app_dir)
    chown = f"--chown={owner} " if owner else ""
    folder = _entry_folder(doc, ctx, stage, runs_build)
    if folder:
        copies = [
            f"COPY {chown}--from={build_name} {app_dir}/package.json ./package.json",
            f"COPY {chown}--from={build_name} {app_dir}/node_modules ./node_modules",
            f"COPY {chown}--from={build_name} {app_dir}/{folder} ./{folder}",
        ]
        what = f"package.json, node_modules and {folder}/ (add COPY --from={build_name} lines for other files the app reads at run time)"
    else:
        copies = [f"COPY {chown}--from={build_name} {app_dir} {app_dir}"]
        what = f"the app folder {app_dir}"

    left_behind = []
    if production_base != stage.base:
        left_behind.append("the full image")
    if folder:
        left_behind.append("the sources")
    if build_packages:
        left_behind.append(f"the build packages ({', '.join(sorted(build_packages))})")
    if prune:
        left_behind.append("the dev dependencies")
    if not left_behind:
        raise NothingLeftBehind(
            f"the production stage would run on the same image (`{stage.base}`) with the whole app folder, and the"
            " build installs no build tools and no dev dependencies to leave behind"
        )

    prod_part = newline.encode() + prod_from.encode()
    for index, ((comments, inst), kind) in enumerate(zip(groups, classes, strict=True)):
        if index > boundary:
            break
        if kind == "prod":
            prod_part += _text(doc, [*comments, inst])
        elif kind == "both":
            prod_part += _text(doc, [inst])
    prod_part += "".join(line + newline for line in copies).encode()
    for comments, inst in groups[boundary + 1 :]:
        prod_part += _text(doc, [*comments, inst])
    prod_part += _text(doc, trailing)
    replacement = build_part + prod_part
    if not doc.source.endswith(b"\n"):
        replacement = replacement.rstrip(b"\r\n")
    steps = ", ".join(["install"] + (["build"] if runs_build else []) + (["prune dev dependencies"] if prune else []))
    pinned = " (pin it by digest)" if "@" in stage.base and production_base != stage.base else ""
    message = (
        f"the image builds and runs the app in one stage: split into a `{build_name}` stage ({steps}) "
        f"and a production stage on `{production_base}`{pinned} that copies only {what} from it, leaving behind "
        f"{', '.join(left_behind)}"
    )
    return Fix.unsafe(Edit(from_inst.start, len(doc.source), replacement)), message
