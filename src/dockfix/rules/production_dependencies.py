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

## Related hadolint rules
DL3016 (pin versions in npm), DL3060 (yarn cache clean).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

from ..context import RuleContext
from ..dockerfile.document import Document, Instruction, Stage
from ..dockerfile.shell import Command, Script
from ..dockerfile.stages import (
    applies_to,
    copies_file,
    is_development_image,
    node_major,
    run_commands,
    runtime_stage,
    start_commands,
)
from ..edits import Applicability, Edit, Finding, Fix
from ..project.build_purpose import describe, node_env_builds, sites_building
from ..project.node_tooling import (
    BUILD_TOOLS,
    DEPRECATED_OMIT_DEV_FLAGS,
    NPM_INSTALL_VERBS,
    NPM_LOCKFILES,
    omits_dev,
)
from ..project.npmscripts import (
    dev_dependency_at_start,
    development_site,
    script_invocation,
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
)


def _check(doc: Document, ctx: RuleContext) -> Iterator[Finding]:
    runtime = runtime_stage(doc)
    ignore = (ctx.project.read(".dockerignore") or b"").decode("utf-8", "replace").splitlines()
    for stage in doc.stages:
        if not applies_to(doc, stage):
            continue
        if stage is runtime:
            yield from _runtime_installs(doc, ctx, stage, ignore)
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
