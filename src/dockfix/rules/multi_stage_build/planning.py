"""Planning the split of a stage that has been read: the production stage's image, what it copies
from the build stage, how the dev dependencies are pruned, and what the split leaves behind.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ...context import RuleContext, Services
from ...dockerfile.document import Document, Instruction, Stage
from ...dockerfile.stages import effective_user, node_major, split_image
from ...project.build_purpose import node_env_builds_each
from ...project.node_tooling import BUILD_TOOLS, LOCKFILES, PACKAGE_MANAGERS, omits_dev, prune_command
from ...project.npmscripts import (
    commands_run,
    script_invocation,
    start_commands_run,
    start_needs_dev_dependency,
)
from ...sources.images import FULL_IMAGE_TOOLS, MalformedTag, NodeTag, TagState
from .reading import NothingLeftBehind, Refusal, StageReading

if TYPE_CHECKING:
    from ...project.build_graph import DockerfileBuilds

BUILD_OUTPUT = ("dist", "build", "out", "lib")
NEXT_CONFIGS = ("next.config.js", "next.config.mjs", "next.config.cjs", "next.config.ts")
# The scripts an install runs itself, which may call the dev dependencies.
INSTALL_SCRIPTS = ("preinstall", "install", "postinstall", "prepublish", "preprepare", "prepare", "postprepare")


def _entry_folder(doc: Document, ctx: RuleContext, stage: Stage, runs_build: bool) -> str | None:
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
    argv = [w for w in starts[-1].words if w not in ("dumb-init", "tini", "--")]
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
        and any(posixpath.normpath(w.lstrip("/")).split("/")[0] == name for w in inst.words[:-1])
        for inst in stage.instructions
    )


def _build_commands(doc: Document, ctx: RuleContext, stage: Stage) -> list[list[str]]:
    """Every command the stage's RUN instructions run, through the package.json scripts they call."""
    found = []
    for inst in stage.instructions:
        for script in inst.scripts:
            for command in script.commands:
                found += commands_run(ctx.project, command.argv)
    return found


def _runs_build(doc: Document, stage: Stage) -> bool:
    for inst in stage.instructions:
        for script in inst.scripts:
            for command in script.commands:
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


def installs_of(doc: Document, stage: Stage, builds: DockerfileBuilds | None = None) -> list[tuple[str, bool]]:
    """(package manager, leaves dev dependencies out) for each project install of the stage: by
    its flags, or because NODE_ENV is `production` there in every build (npm, Yarn 1 and pnpm
    then install none)."""
    found = []
    for inst, environments in node_env_builds_each(doc, stage, builds):
        production = inst.name == "RUN" and all(b.production for b in environments)
        for script in inst.scripts:
            for command in script.commands:
                words = [w.text for w in command.args]
                positional = [w for w in words if not w.startswith("-")]
                if any(w in ("-g", "--global") for w in words):
                    continue
                omit = omits_dev(words) or production
                if command.name == "npm" and positional in (["install"], ["i"], ["ci"]):
                    found.append(("npm", omit))
                elif command.name == "yarn" and positional in ([], ["install"]):
                    found.append(("yarn", omit))
                elif command.name == "pnpm" and positional in (["install"], ["i"]):
                    found.append(("pnpm", omit))
    return found


def _install_manager(ctx: RuleContext, installs: list[tuple[str, bool]]) -> str:
    """The package manager that installs the dependencies: when the stage picks one by the
    lockfile it finds (`if [ -f yarn.lock ]; then yarn; elif ...`), the project's lockfile says which."""
    managers = {manager for manager, _ in installs}
    if len(managers) == 1:
        return installs[0][0]
    # bun's lockfile says nothing here: the split reads only npm, yarn and pnpm installs
    found = {manager for name, manager in LOCKFILES.items() if manager in PACKAGE_MANAGERS and ctx.project.exists(name)}
    if len(found) != 1 or not found <= managers:
        raise Refusal("the install picks its package manager by the lockfile, and the project has no single lockfile")
    return found.pop()


def _prune_line(doc: Document, ctx: RuleContext, stage: Stage, manager: str) -> str | None:
    major = node_major(doc, stage)
    line = prune_command(
        "yarn-berry" if manager == "yarn" and ctx.project.package_manager == "yarn-berry" else manager,
        npm_omit_dev=major is None or major >= 16,
        yarn_lockfile=ctx.project.exists("yarn.lock"),
    )
    return None if line is None else f"RUN {line}"


def services_of(ctx: RuleContext) -> Services:
    assert ctx.services is not None  # a RuleContext makes them when it is given none
    return ctx.services


def _production_base(ctx: RuleContext, stage: Stage, runtime_tools: set[str]) -> str:
    """The image the production stage runs on: the `-slim` variant of the same Debian release
    for a full Debian node image (when the model knows that tag); the build stage's otherwise."""
    base = stage.base
    if "$" in base:
        return base
    name, tag = split_image(base)
    images = services_of(ctx).node_images
    state = images.tag_state(tag, ctx.today)
    if state is TagState.NOT_A_TAG:
        raise Refusal(f"`{base}`, which is not a tag of the official node image (fix the base image first)")
    if state is TagState.NO_LONGER_UPDATED and images.still_builds_line(tag, ctx.today):
        raise Refusal(f"`{base}`, which exists but is no longer updated (fix the base image first)")
    variant = images.variant(tag, ctx.today)
    if variant is None or variant.slim or runtime_tools & set(FULL_IMAGE_TOOLS):
        return base  # already small, unknown, or the running app calls a tool only the full image has
    try:
        parsed = NodeTag.parse(tag)
    except MalformedTag:
        return base
    small = NodeTag(
        parsed.version, parsed.major, parsed.floating, f"{parsed.variant}-slim" if parsed.variant else "slim"
    ).render()
    if images.tag_exists(small, ctx.today) is not True:
        return base
    return f"{name}:{small}"


def _app_owner(doc: Document, stage: Stage, steps_after_copy: list[Instruction], app_dir: str) -> str | None:
    """The owner the author gave the app's files once copied: a recursive chown of the app
    folder (its files keep it across stages, the folder itself would not), or the user that runs."""
    owner = None
    for inst in steps_after_copy:
        for script in inst.scripts:
            for command in script.commands:
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


@dataclass(frozen=True, slots=True)
class Split:
    """How the stage is split: the build stage's name and last step, and what the production stage gets."""

    build_name: str
    boundary: int  # the index of the last instruction that goes to the build stage
    production_base: str
    prune: str | None  # the RUN that prunes the dev dependencies in the build stage
    copies: list[str]  # the production stage's COPY --from lines
    what: str  # what they copy, for the message
    left_behind: list[str]
    runs_build: bool
    next_files: list[str] | None


def plan_split(
    doc: Document, ctx: RuleContext, stage: Stage, installs: list[tuple[str, bool]], read: StageReading
) -> Split:
    """Plan the split of a stage that has been read; raises Refusal, or NothingLeftBehind when
    the production stage would be the same image with the same files."""
    steps = read.steps
    build_indexes = [i for i, step in enumerate(steps) if step.build and (not step.production or step.generated)]
    if not build_indexes:
        raise Refusal("no build step")
    boundary = build_indexes[-1]
    manager = _install_manager(ctx, installs)
    alias = stage.alias
    build_name = "builder" if alias and alias.lower() == "build" else "build"
    production_base = _production_base(ctx, stage, read.runtime_tools)
    runs_build = _runs_build(doc, stage)
    prune = _prune(doc, ctx, stage, installs, manager, read)
    copies, what, trimmed, next_files = _copies(doc, ctx, stage, read, build_name, boundary, runs_build)
    left_behind = []
    if production_base != stage.base:
        left_behind.append("the full image")
    if trimmed:
        left_behind.append("the sources")
    if read.reading.build_packages:
        left_behind.append(f"the build packages ({', '.join(sorted(read.reading.build_packages))})")
    if prune:
        left_behind.append("the dev dependencies")
    if left_behind == ["the dev dependencies"] and _install_leaves_out(ctx, stage):
        # A split for them alone would offer what DF002's fix of the same run does, and be gone
        # (one stage is enough) once that fix is applied.
        raise NothingLeftBehind(
            f"the production stage would run on the same image (`{stage.base}`) with the whole app folder, the"
            " build installs no build tools, and no build step uses the dev dependencies: the install leaves"
            " them out (DF002)"
        )
    if not left_behind:
        raise NothingLeftBehind(
            f"the production stage would run on the same image (`{stage.base}`) with the whole app folder, and the"
            " build installs no build tools and no dev dependencies to leave behind"
        )
    return Split(build_name, boundary, production_base, prune, copies, what, left_behind, runs_build, next_files)


def _install_leaves_out(ctx: RuleContext, stage: Stage) -> bool:
    """Whether this run's DF002 fix leaves the dev dependencies out of the install: it runs, its
    (unsafe) fixes are applied, and no step of the stage besides the installs uses them."""
    applies = ctx.options.unsafe_fixes and (ctx.rule_codes is None or "DF002" in ctx.rule_codes)
    return applies and not _build_uses_dev_dependencies(ctx, stage)


def _build_uses_dev_dependencies(ctx: RuleContext, stage: Stage) -> bool:
    """Whether a step of the stage other than the installs may use the dev dependencies: a
    package script, a build tool, node itself, or an install script of package.json."""
    if any(name in ctx.project.scripts for name in INSTALL_SCRIPTS):
        return True
    for inst in stage.instructions:
        for script in inst.scripts:
            for command in script.commands:
                argv = command.argv
                if command.name in ("node", "npx", *BUILD_TOOLS):
                    return True
                if command.name in PACKAGE_MANAGERS and (
                    script_invocation(argv) is not None or argv[1:2] in (["exec"], ["dlx"], ["rebuild"])
                ):
                    return True
    return False


def _prune(
    doc: Document, ctx: RuleContext, stage: Stage, installs: list[tuple[str, bool]], manager: str, read: StageReading
) -> str | None:
    """The RUN that prunes the dev dependencies, when the install kept them and the start needs none."""
    if (
        not ctx.project.dev_dependencies
        or all(omit for _, omit in installs)
        or start_needs_dev_dependency(ctx.project, doc, stage)
    ):
        return None
    if any(posixpath.basename(path) == "node_modules" for path in read.reading.moved_out):
        raise Refusal("node_modules moved out of the app folder, where the dev dependencies cannot be pruned")
    prune = _prune_line(doc, ctx, stage, manager)
    if prune is None:
        raise Refusal("Yarn 2+ cannot prune dev dependencies in place")
    return prune


def _copies(
    doc: Document,
    ctx: RuleContext,
    stage: Stage,
    read: StageReading,
    build_name: str,
    boundary: int,
    runs_build: bool,
) -> tuple[list[str], str, bool, list[str] | None]:
    """The production stage's copies from the build stage, what they copy (for the message),
    whether they leave the sources behind, and the files of a Next.js app."""
    app_dir = read.app_dir
    owner = _app_owner(doc, stage, read.steps_after_copy, app_dir)
    chown = f"--chown={owner} " if owner else ""
    here = "." if read.workdirs[boundary] == app_dir else app_dir  # where the production copies land
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
    moved_out = read.reading.moved_out
    copies += [f"COPY --from={build_name} {path} {path}" for path in moved_out]
    if moved_out:
        what += f" and {', '.join(moved_out)}"
    return copies, what, bool(next_files or folder), next_files
