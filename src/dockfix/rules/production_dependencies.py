"""Install only production dependencies in the image that runs.

## What it does
In the stage that runs the app, rewrites the package install to skip dev dependencies:
`npm install` becomes `npm ci --omit=dev` when the lockfile is copied into the image (otherwise
`npm install --omit=dev`); `npm ci` gains `--omit=dev`; the deprecated `--production` and
`--only=production` become `--omit=dev` on npm 7 and later; yarn classic gets
`--frozen-lockfile --production`, pnpm `--prod` (with `--frozen-lockfile` when its lockfile is
there). Wherever dev dependencies must stay (a build stage, a build step or a lifecycle script
that needs them) and in a project without any, `npm install` still becomes `npm ci` when the
lockfile is copied in: every stage installs exactly what the lockfile says.

A node_modules the running stage copies `--from` a build stage (`COPY --from=builder
/app/node_modules ./node_modules`, or the whole app folder) holds the dev dependencies that stage
installed for its build: they are pruned at the end of that stage, right after its last build
step, with the package manager that installed them (`npm prune --omit=dev`, `--production` for
npm 6 and older; `pnpm prune --prod`; a production-only `yarn install` for Yarn classic). Only
where the package installed there is one of the build context with dev dependencies, and no
other stage takes that node_modules for its own steps (tests, lint, a further build).

## Why
Dev dependencies (test runners, compilers, linters) make the image larger and widen its attack
surface, and `npm install` may silently resolve different versions than the lockfile says;
`npm ci` installs exactly the lockfile and fails when it is out of date.

## Example
    COPY package*.json ./
    RUN npm install
becomes
    COPY package*.json ./
    RUN npm ci --omit=dev

## Fix safety
- Development, test, CI and base images are left alone, as DF003 tells them (a dev server,
  watcher or test runner as the start command, a devcontainer, Cypress, a final stage without
  CMD or ENTRYPOINT): production settings would defeat their purpose. Only the modernisation
  below applies there, which means the same.
- Modernising `--production`/`--only=production` to `--omit=dev` is safe on npm 7+ (Node.js 15+
  images), where they mean the same; on older or unknown npm it is left alone, because npm 6
  ignores `--omit=dev`.
- On an npm 6 base (Node.js 14 and older) the rewrite writes `--production`, the flag npm 6
  reads; when DF007 moves that base to a supported Node.js in the same run, the rewrite waits for
  the move and writes `--omit=dev`, so the finding names what the file ends with.
- On npm 4 (Node.js 7 and older), which has no `npm ci` (it came with npm 5.7), `npm install`
  is not turned into `npm ci`.
- Every other rewrite is unsafe: a package the app needs at run time may sit in
  devDependencies, and `npm ci` fails on a lockfile that is out of date.
- No rewrite is offered when the start command runs a dev dependency's CLI (`vue-cli-service`
  of `@vue/cli-service`, `nest` of `@nestjs/cli`, `ts-node`, `pino-pretty`; the binary is matched
  to its package through package-lock.json's `bin` records, else a table of common CLIs),
  or when the same stage later runs a build step (`npm run build`, `tsc`,
  `npx ...`), or when an install lifecycle script (`prepare`, `postinstall`...) calls a dev
  tool: removing dev dependencies would break the build. Splitting build and runtime into
  stages (DF008) is the fix there.
- Global installs (`npm install -g pm2`) and installs of named packages are left alone.
- The prune of a copied node_modules is unsafe, like every rewrite but the flag's: a package the
  app needs at run time may sit in devDependencies. It is not offered (the finding says why)
  where the start runs a dev dependency, another stage takes the same node_modules and runs its
  steps on them, the last build step runs in another folder or as another user than the install,
  or the package manager is Yarn 2+ (which cannot prune in place). On an npm 6 base that DF007
  moves in the same run, it waits for the move and writes `--omit=dev`.

## Related hadolint rules
DL3016 (pin versions in npm), DL3060 (yarn cache clean).
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator, Sequence

from ..context import RuleContext
from ..dockerfile.document import Document, Instruction, Stage
from ..dockerfile.shell import Command, Script
from ..dockerfile.stages import (
    applies_to,
    copied_stages,
    copies_file,
    effective_user,
    is_development_image,
    is_root,
    node_major,
    run_commands,
    runtime_stage,
    stage_chain,
    start_commands,
    workdir_at,
)
from ..edit_helpers import insert_line_after
from ..edits import Applicability, Edit, Finding, Fix
from ..project.build_purpose import describe, node_env_builds, sites_building
from ..project.image_package import image_project, package_at
from ..project.inputs import ProjectInput
from ..project.node_tooling import (
    BUILD_TOOLS,
    DEPRECATED_OMIT_DEV_FLAGS,
    NPM_INSTALL_VERBS,
    NPM_LOCKFILES,
    omits_dev,
    prune_command,
)
from ..project.npmscripts import (
    dev_dependency_at_start,
    development_site,
    script_invocation,
    start_needs_dev_dependency,
)
from ..sources.npm_cli import bundled_npm_major, rejected_command
from . import supported_node_version
from .explicit_base_image import target_major
from .rule import Rule

LIFECYCLE = ("preinstall", "install", "postinstall", "prepare", "prepublish")


def _omits_dev(command: Command) -> bool:
    args = [w.text for w in command.args]
    return omits_dev(args)


def _is_install(command: Command) -> str | None:
    """The package manager of a project install command (not a global or named install)."""
    words = [w.text for w in command.args]
    positional = [w for w in words if not w.startswith("-")]
    if any(w in ("-g", "--global", "--location=global") for w in words):
        return None
    if command.name == "npm" and positional[:1] and positional[0] in (*NPM_INSTALL_VERBS, "ci"):
        return "npm" if len(positional) == 1 else None
    if command.name == "yarn" and (not positional or positional == ["install"]):
        return "yarn"
    if command.name == "pnpm" and positional[:1] in (["install"], ["i"]) and len(positional) == 1:
        return "pnpm"
    return None


def _is_build_step(command: Command, ctx: RuleContext) -> bool:
    words = [w.text for w in command.args if not w.text.startswith("-")]
    if command.name in BUILD_TOOLS or command.name == "npx":
        return True
    if command.name in ("npm", "pnpm") and words[:1] in (["run"], ["run-script"]) and len(words) >= 2:
        return words[1] not in ("start",)
    if (
        command.name == "yarn"
        and words
        and words[0] not in ("install", "add", "global", "cache", "start", "config", "set")
    ):
        return True
    return (
        command.name == "pnpm"
        and bool(words)
        and words[0] not in ("install", "i", "add", "start", "store", "config", "fetch", "prune")
    )


def _calls_dev_dependency(script: str, dev: set[str]) -> bool:
    return any(re.search(rf"(?<![\w@/.-]){re.escape(name.split('/')[-1])}(?![\w-])", script) for name in dev)


def _scripts_needing_dev(ctx: RuleContext, stage: Stage, doc: Document) -> str | None:
    """Why dev dependencies are needed: an install lifecycle script, or the start, calls a dev tool."""
    dev = set(ctx.project.dev_dependencies)
    if not dev:
        return None
    tool = dev_dependency_at_start(ctx.project, doc, stage)
    if tool is not None:
        binary, package = tool
        owner = "" if binary == package else f" from `{package}`"
        return f"the start command runs `{binary}`{owner}, a dev dependency"
    names = list(LIFECYCLE)
    for argv in start_commands(stage):
        call = script_invocation(argv[1:] if argv[:1] == ["dumb-init"] else argv)
        if call:
            names.append(call[0])
    for name in names:
        script = ctx.project.scripts.get(name)
        if script and _calls_dev_dependency(script, dev):
            return f"the `{name}` script calls a dev dependency"
    return None


def _word_edit(script: Script, start: int, end: int, text: str) -> Edit:
    source_start, source_end = script.to_source(start, end)
    return Edit(source_start, source_end, text.encode())


def _append(script: Script, command: Command, text: str) -> Edit:
    """Insert ` text` right after the command's last word (before any redirection or `&&`)."""
    position = script.to_source(command.end - 1, command.end)[1]
    return Edit.insert(position, (" " + text).encode())


def check(doc: Document, ctx: RuleContext) -> Iterator[Finding]:
    """The findings, one per instruction and message: a RUN with four installs is one finding."""
    merged: dict[tuple[int, str, object], Finding] = {}
    for finding in _check(doc, ctx):
        key = (finding.line, finding.message, finding.fix.applicability if finding.fix else None)
        earlier = merged.get(key)
        if earlier is not None and earlier.fix is not None and finding.fix is not None:
            edits = earlier.fix.edits + finding.fix.edits
            merged[key] = Finding(RULE.code, finding.message, finding.line, Fix(edits, finding.fix.applicability))
        elif earlier is None:
            merged[key] = finding
    yield from merged.values()


RULE = Rule(
    code="DF002",
    name="production-dependencies",
    summary="Install only production dependencies (npm ci --omit=dev, yarn --production, pnpm --prod)",
    fix_safety={
        Applicability.SAFE: "--production to --omit=dev on npm 7+",
        Applicability.UNSAFE: "every other rewrite",
    },
    docs=__doc__,
    check=check,
    reads=frozenset({ProjectInput.DOCKERIGNORE, ProjectInput.PACKAGE, ProjectInput.APP_CODE}),
)


def _check(doc: Document, ctx: RuleContext) -> Iterator[Finding]:
    runtime = runtime_stage(doc)
    ignore = (ctx.project.read(".dockerignore") or b"").decode("utf-8", "replace").splitlines()
    for stage in doc.stages:
        if not applies_to(doc, stage):
            continue
        if stage is runtime:
            yield from _runtime_installs(doc, ctx, stage, ignore)
            yield from _copied_node_modules(doc, ctx, stage)
        elif not is_development_image(doc, stage, ctx.dockerfile.name):
            yield from _build_installs(doc, ctx, stage, ignore)


def _build_installs(doc: Document, ctx: RuleContext, stage: Stage, ignore: list[str]) -> Iterator[Finding]:
    """A stage that does not run the app keeps its dev dependencies, but installs the lockfile."""
    for inst, script, command in run_commands(doc, stage):
        if _is_install(command) == "npm" and not script.has_errors:
            ci = _ci_edit(doc, ctx, stage, inst, script, command, ignore)
            if ci is not None:
                edit, verb, lockfile = ci
                yield Finding(
                    RULE.code,
                    f"`npm {verb}` may resolve other versions than {lockfile}: use `npm ci`",
                    inst.line,
                    Fix.unsafe(edit),
                )


def _runtime_installs(doc: Document, ctx: RuleContext, stage: Stage, ignore: list[str]) -> Iterator[Finding]:
    # Development, test, CI and base images keep their dev dependencies; only the deprecated
    # flag is modernised there (and the lockfile followed), which means the same.
    development = ctx.facts(doc).development_reason(stage) is not None
    commands = list(run_commands(doc, stage))
    major = node_major(doc, stage)
    modern_npm = major is not None and major >= 15
    for index, (inst, script, command) in enumerate(commands):
        manager = _is_install(command)
        if manager is None or script.has_errors:
            continue  # a script the shell grammar cannot read (an open quote) is not edited
        # npm 4 (Node.js 7 and earlier) has no `npm ci`: there, `npm install` stays.
        has_ci = major is None or rejected_command(["npm", "ci"], bundled_npm_major(major)) is None
        ci = _ci_edit(doc, ctx, stage, inst, script, command, ignore) if manager == "npm" and has_ci else None
        if _omits_dev(command):
            old = next((w for w in command.args if w.text in DEPRECATED_OMIT_DEV_FLAGS), None)
            if manager == "npm" and old is not None and modern_npm:
                yield Finding(
                    RULE.code,
                    f"`{old.text}` is deprecated since npm 7: use `--omit=dev`",
                    inst.line,
                    Fix.safe(_word_edit(script, old.start, old.end, "--omit=dev")),
                )
            if ci is not None:
                yield _lockfile_finding(inst, ci, "")
            continue
        if development:
            continue
        environment = _environment_verdict(doc, ctx, stage, inst, command)
        if environment is not None:
            if environment:
                yield (
                    _lockfile_finding(inst, ci, environment)
                    if ci is not None
                    else Finding(RULE.code, environment, inst.line)
                )
            elif ci is not None:
                yield _lockfile_finding(inst, ci, "")
            continue
        later_build = next((c for (i2, _, c) in commands[index + 1 :] if _is_build_step(c, ctx)), None)
        if later_build is not None:
            why = ""
            if ctx.project.dev_dependencies or not ctx.project.has_package_json:
                why = f"dev dependencies are installed for a build step (`{' '.join(later_build.argv[:3])}`) in the stage that runs the app; split build and runtime into stages (DF008)"
            if ci is not None:
                yield _lockfile_finding(inst, ci, why)
            elif why:
                yield Finding(RULE.code, why, inst.line)
            continue
        if not ctx.project.has_package_json or not ctx.project.dev_dependencies:
            if ci is not None:  # no dev dependencies to leave out, but the lockfile to follow
                yield _lockfile_finding(inst, ci, "")
            continue
        needed = _scripts_needing_dev(ctx, stage, doc)
        if needed:
            why = f"{needed}, so dev dependencies cannot be left out here"
            yield _lockfile_finding(inst, ci, why) if ci is not None else Finding(RULE.code, why, inst.line)
            continue
        yield from _production_fix(doc, ctx, stage, inst, script, command, manager, modern_npm, ignore)


def _environment_verdict(
    doc: Document, ctx: RuleContext, stage: Stage, inst: Instruction, command: Command
) -> str | None:
    """What NODE_ENV at the install says, where it settles the matter: "" when every build
    leaves the dev dependencies out already (NODE_ENV=production, or a development build that
    wants them), or why no flag is hard-coded where the file is built for development as well as
    for production; None when the install is for the rule to judge as usual."""
    if command.name == "yarn" and ctx.project.package_manager == "yarn-berry":
        return None  # Yarn 2+ installs dev dependencies whatever NODE_ENV is
    development = {
        describe(site): why
        for site in sites_building(stage, ctx.builds)
        if (why := development_site(ctx.project, site)) is not None
    }
    installing = [
        build
        for build in node_env_builds(doc, stage, inst, ctx.builds)
        if not build.production and build.build not in development
    ]
    if not installing:
        return ""
    if not development:
        return None
    build = installing[0]
    value = f"is `{build.value}`" if build.value else "is not set" if build.known else "comes from the build's shell"
    first = next(iter(development.values()))
    return (
        f"`{' '.join(command.argv[:2])}` installs dev dependencies in {build.build}, where NODE_ENV {value}; not"
        f" fixed: {first}, which needs them: give `ARG NODE_ENV` the default `production` instead of"
        " hard-coding a flag, so each build keeps its own"
    )


def _ci_edit(
    doc: Document,
    ctx: RuleContext,
    stage: Stage,
    inst: Instruction,
    script: Script,
    command: Command,
    ignore: list[str],
) -> tuple[Edit, str, str] | None:
    """`npm install` -> `npm ci` when the lockfile is copied in: (the edit, the old verb, the lockfile)."""
    verb = next((w for w in command.args if not w.text.startswith("-")), None)
    if verb is None or verb.text == "ci":
        return None
    lockfile = _lockfile_in_image(doc, ctx, stage, inst, NPM_LOCKFILES, ignore)
    if lockfile is None:
        return None
    return _word_edit(script, verb.start, verb.end, "ci"), verb.text, lockfile


def _lockfile_finding(inst: Instruction, ci: tuple[Edit, str, str], why: str) -> Finding:
    edit, verb, lockfile = ci
    message = f"`npm {verb}` may resolve other versions than {lockfile}: use `npm ci`"
    return Finding(RULE.code, f"{why}; {message}" if why else message, inst.line, Fix.unsafe(edit))


def _lockfile_in_image(
    doc: Document, ctx: RuleContext, stage: Stage, inst: Instruction, names: Sequence[str], ignore: list[str]
) -> str | None:
    for name in names:
        ignored = name in (line.strip().lstrip("/") for line in ignore)
        if ctx.project.exists(name) and not ignored and copies_file(doc, stage, name, inst):
            return name
    return None


def _moves_to_modern_npm(doc: Document, ctx: RuleContext, stage: Stage) -> bool:
    """Whether DF007, in this run, moves the stage's npm 6 base to a Node.js whose npm reads `--omit=dev`."""
    if ctx.rule_codes is not None and supported_node_version.RULE.code not in ctx.rule_codes:
        return False
    upgrade = supported_node_version.upgrade_of(doc, ctx, stage)
    return upgrade is not None and upgrade.fix is not None and target_major(ctx) >= 15


def _production_fix(
    doc: Document,
    ctx: RuleContext,
    stage: Stage,
    inst: Instruction,
    script: Script,
    command: Command,
    manager: str,
    modern_npm: bool,
    ignore: list[str],
) -> Iterator[Finding]:
    verb = next((w for w in command.args if not w.text.startswith("-")), None)
    old_npm = manager == "npm" and not modern_npm and node_major(doc, stage) is not None
    if old_npm and _moves_to_modern_npm(doc, ctx, stage):
        # Writing `--production` now would be rewritten to `--omit=dev` once the base moves:
        # the fix waits for the move, so it and its message say what the file ends with.
        yield Finding(
            RULE.code,
            f"`npm {verb.text if verb else 'install'}` installs dev dependencies: `--omit=dev` is added once"
            " DF007 has moved the base to a supported Node.js (the base image's npm 6 ignores it)",
            inst.line,
        )
        return
    if manager == "npm":
        omit = "--omit=dev" if modern_npm or node_major(doc, stage) is None else "--production"
        lockfile = _lockfile_in_image(doc, ctx, stage, inst, NPM_LOCKFILES, ignore)
        if verb is not None and verb.text != "ci" and lockfile:
            edits = [_word_edit(script, verb.start, verb.end, "ci"), _append(script, command, omit)]
            message = f"`npm {verb.text}` installs dev dependencies and may drift from {lockfile}: use `npm ci {omit}`"
        else:
            edits = [_append(script, command, omit)]
            message = f"`npm {verb.text if verb else 'install'}` installs dev dependencies: add `{omit}`" + (
                ""
                if lockfile or (verb and verb.text == "ci")
                else " (no lockfile is copied into the image, so `npm ci` cannot be used)"
            )
        if omit == "--production":
            message += " (the base image's npm 6 ignores `--omit=dev`; on npm 7+ it becomes `--omit=dev`)"
        yield Finding(RULE.code, message, inst.line, Fix.unsafe(*edits))
    elif manager == "yarn":
        if ctx.project.package_manager == "yarn-berry":
            yield Finding(
                RULE.code,
                "Yarn 2+ installs dev dependencies: use `yarn workspaces focus --all --production` in the stage that runs the app",
                inst.line,
            )
            return
        lockfile = _lockfile_in_image(doc, ctx, stage, inst, ("yarn.lock",), ignore)
        extra = ("--frozen-lockfile " if lockfile and not command.has_arg("--frozen-lockfile") else "") + "--production"
        yield Finding(
            RULE.code,
            "`yarn install` installs dev dependencies: add `--production`",
            inst.line,
            Fix.unsafe(_append(script, command, extra)),
        )
    elif manager == "pnpm":
        lockfile = _lockfile_in_image(doc, ctx, stage, inst, ("pnpm-lock.yaml",), ignore)
        extra = ("--frozen-lockfile " if lockfile and not command.has_arg("--frozen-lockfile") else "") + "--prod"
        yield Finding(
            RULE.code,
            "`pnpm install` installs dev dependencies: add `--prod`",
            inst.line,
            Fix.unsafe(_append(script, command, extra)),
        )


# node_modules copied from another stage ----------------------------------------------------


def _copied_node_modules(doc: Document, ctx: RuleContext, runtime: Stage) -> Iterator[Finding]:
    """Dev dependencies that reach the running image in a node_modules copied `--from` a stage
    that installed them for its build: pruned at the end of that stage, after its last build step."""
    if ctx.facts(doc).development_reason(runtime) is not None:
        return
    seen: set[int] = set()
    for copy, builder in copied_stages(doc, runtime):
        if builder.index in seen or any(member.index == builder.index for member in stage_chain(doc, runtime)):
            continue
        seen.add(builder.index)
        install = _kept_dev_install(doc, ctx, builder)
        if install is None or not _copies_node_modules(copy, install.folder) or _handled_after(runtime, copy):
            continue
        yield _prune_finding(doc, ctx, runtime, copy, builder, install)


class _Install:
    """The last dependency install of a stage (or of the stages it builds on), which kept the dev dependencies."""

    def __init__(self, stage: Stage, inst: Instruction, command: Command, manager: str, folder: str):
        self.stage = stage
        self.inst = inst
        self.command = command
        self.manager = manager
        self.folder = folder  # the working directory it installed in: node_modules is there


def _dependency_command(command: Command) -> str | None:
    """The package manager of a project install or prune (`npm prune`, `pnpm prune`, Yarn 2+'s
    `yarn workspaces focus`)."""
    positional = [w.text for w in command.args if not w.text.startswith("-")]
    if command.name in ("npm", "pnpm") and positional == ["prune"]:
        return command.name
    if command.name == "yarn" and positional[:2] == ["workspaces", "focus"]:
        return "yarn"
    return _is_install(command)


def _kept_dev_install(doc: Document, ctx: RuleContext, builder: Stage) -> _Install | None:
    """The stage's last install or prune, when it left the dev dependencies in node_modules."""
    last = None
    for member in reversed(stage_chain(doc, builder)):
        for inst, script, command in run_commands(doc, member):
            manager = _dependency_command(command)
            if manager is not None and not script.has_errors:
                last = (member, inst, command, manager)
    if last is None:
        return None
    member, inst, command, manager = last
    if _omits_dev(command):
        return None
    if all(build.production for build in node_env_builds(doc, member, inst, ctx.builds)):
        return None  # NODE_ENV=production at the install: npm and yarn left them out already
    folder = workdir_at(doc, member, inst)
    # The dev dependencies of the package installed there: none known, nothing to prune.
    package = None if folder is None else package_at(ctx.project, doc, member, folder)
    if folder is None or package is None or not package.dev_dependencies:
        return None
    return _Install(member, inst, command, manager, folder)


def _copies_node_modules(copy: Instruction, folder: str) -> bool:
    """Whether the COPY brings in `folder`'s node_modules: the folder itself, or one above it."""
    modules = posixpath.join(folder, "node_modules")
    for source in copy.words[:-1]:
        if "$" in source or any(c in source for c in "*?["):
            continue
        path = posixpath.normpath("/" + source.lstrip("/"))
        if path == modules or (path != "/" and (folder + "/").startswith(path.rstrip("/") + "/")):
            return True
    return False


def _handled_after(runtime: Stage, copy: Instruction) -> bool:
    """Whether the running stage installs or prunes its dependencies itself after the copy."""
    after = False
    for inst in runtime.instructions:
        after = after or inst is copy
        if after and any(_dependency_command(c) for script in inst.scripts for c in script.commands):
            return True
    return False


def _uses_dev_dependencies(command: Command, ctx: RuleContext) -> bool:
    """A build step, a package script (`npm test`) or a package binary run without installing it."""
    return _is_build_step(command, ctx) or script_invocation(command.argv) is not None


def _other_needs(doc: Document, ctx: RuleContext, runtime: Stage, builder: Stage, folder: str) -> str | None:
    """Why another stage that takes the builder's node_modules needs its dev dependencies."""
    for stage in doc.stages:
        if stage.index in (builder.index, runtime.index):
            continue
        built_on = any(member.index == builder.index for member in stage_chain(doc, stage)[1:])
        copied = any(
            source.index == builder.index and _copies_node_modules(inst, folder)
            for inst, source in copied_stages(doc, stage)
        )
        if not built_on and not copied:
            continue
        name = f"stage `{stage.alias}`" if stage.alias else f"the stage on line {stage.from_instruction.line}"
        for inst, _script, command in run_commands(doc, stage):
            if _uses_dev_dependencies(command, ctx) or _dependency_command(command):
                return f"{name} takes them too and runs `{' '.join(command.argv[:3])}` (line {inst.line})"
        if any(_takes_from(doc, later, stage) for later in doc.stages[stage.index + 1 :]):
            return f"{name} takes them too and passes them on to another stage"
    return None


def _takes_from(doc: Document, stage: Stage, source: Stage) -> bool:
    """Whether `stage` builds on `source` or copies from it."""
    return any(member.index == source.index for member in stage_chain(doc, stage)[1:]) or any(
        copied.index == source.index for _, copied in copied_stages(doc, stage)
    )


def _anchor(doc: Document, ctx: RuleContext, builder: Stage) -> Instruction:
    """Where the prune goes: right after the builder's last RUN that installs, builds or runs a
    package script (its FROM when those are all in the stages it builds on)."""
    anchor = builder.from_instruction
    for inst, _script, command in run_commands(doc, builder):
        if _uses_dev_dependencies(command, ctx) or _dependency_command(command):
            anchor = inst
    return anchor


def _prune_finding(
    doc: Document, ctx: RuleContext, runtime: Stage, copy: Instruction, builder: Stage, install: _Install
) -> Finding:
    name = f"`{builder.alias}`" if builder.alias else f"on line {builder.from_instruction.line}"
    installed = " ".join(install.command.argv[:2])
    head = (
        f"dev dependencies ship in the image: node_modules is copied from stage {name},"
        f" where `{installed}` (line {install.inst.line}) installed them for its build"
    )
    anchor = _anchor(doc, ctx, builder)
    why_not = _why_no_prune(doc, ctx, runtime, builder, install, anchor)
    if why_not is not None:
        return Finding(RULE.code, f"{head}; not pruned: {why_not}", copy.line)
    major = node_major(doc, builder)
    modern_npm = major is None or bundled_npm_major(major) >= 7
    if install.manager == "npm" and not modern_npm and _moves_to_modern_npm(doc, ctx, builder):
        return Finding(
            RULE.code,
            f"{head}: `npm prune --omit=dev` is added at the end of that stage once DF007 has moved its base to a"
            " supported Node.js (the base image's npm 6 ignores `--omit=dev`)",
            copy.line,
        )
    manager = (
        "yarn-berry" if install.manager == "yarn" and ctx.project.package_manager == "yarn-berry" else install.manager
    )
    prune = prune_command(manager, npm_omit_dev=modern_npm, yarn_lockfile=ctx.project.exists("yarn.lock"))
    assert prune is not None  # Yarn 2+ is refused by _why_no_prune
    return Finding(
        RULE.code,
        f"{head}: prune them at the end of that stage, after its last build step (line {anchor.line}):"
        f" `RUN {prune}` (unsafe, as every DF002 rewrite but the flag's: a package the app needs at run time"
        " may sit in devDependencies)",
        copy.line,
        Fix.unsafe(insert_line_after(doc, anchor, f"RUN {prune}")),
    )


def _why_no_prune(
    doc: Document, ctx: RuleContext, runtime: Stage, builder: Stage, install: _Install, anchor: Instruction
) -> str | None:
    """Why the builder's node_modules cannot be pruned for the running image; None when it can."""
    project = ctx.project
    if install.manager == "yarn" and project.package_manager == "yarn-berry":
        return "Yarn 2+ cannot prune in place: install with `yarn workspaces focus --all --production` there"
    running = image_project(project, doc, runtime)
    if start_needs_dev_dependency(running, doc, runtime):
        tool = dev_dependency_at_start(running, doc, runtime)
        return f"the start command runs `{tool[0]}`, a dev dependency" if tool else "the start runs a dev dependency"
    other = _other_needs(doc, ctx, runtime, builder, install.folder)
    if other is not None:
        return other
    if workdir_at(doc, builder, anchor) != install.folder:
        return f"the stage's last build step does not run in {install.folder}, where they are installed"
    if _user(effective_user(doc, builder, anchor)) != _user(effective_user(doc, install.stage, install.inst)):
        return "the stage's last build step runs as another user than the install"
    return None


def _user(name: str | None) -> str | None:
    return None if is_root(name) else name
