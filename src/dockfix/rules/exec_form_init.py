"""The app gets signals: exec-form start command under dumb-init.

## What it does
In the stage that runs the app, turns a shell-form `CMD`/`ENTRYPOINT` into exec form (a JSON
array), resolves `npm start` / `npm run X` / `yarn X` / `pnpm X` through package.json to the
command it really runs, installs `dumb-init` with the base image's package manager and starts
the app under it as PID 1.

A script resolves to:
- `node ...` when it runs node; a `NAME=value` (or `cross-env NAME=value`) prefix becomes `ENV`;
- `node_modules/.bin/<bin> ...` when it runs a package's binary (`next start`, `nest start`,
  `ts-node`, `pm2-runtime`): npm finds it there, on the PATH of the scripts it runs. The package
  must be in package.json or package-lock.json (which also names the binaries of each package);
- `sh -c '<the chain> && exec <last command>'` when it chains commands with `&&` (`next build
  && node server.js`): the shell npm would run, without npm, with the last command replacing
  the shell; the chain's package binaries get their node_modules/.bin path.

A shell-form command that chains commands with `&&` becomes the `/bin/sh -c` Docker runs, with
`exec` in front of the last command (resolved as above when it calls a script).

## Why
In shell form `/bin/sh -c` is PID 1 and does not pass SIGTERM on; npm and yarn add another
process in between. The container then ignores `docker stop` until it is killed after the
timeout, and the app never gets a chance to shut down gracefully. A tiny init as PID 1 forwards
signals and reaps zombie processes.

## Example
    CMD "npm" "start"            # package.json: "start": "node server.js"
becomes
    RUN apk add --no-cache dumb-init
    ...
    CMD ["dumb-init", "node", "server.js"]
and
    CMD npx wait-port db:5432 && npm start
becomes
    CMD ["dumb-init", "/bin/sh", "-c", "npx wait-port db:5432 && exec node server.js"]

## Fix safety
- Shell form to exec form is safe when the command uses no shell feature (no `&&`, pipes,
  variables, globs, redirections) and no custom ENTRYPOINT receives the CMD: the same program
  runs with the same arguments, now as PID 1.
- Resolving a package-manager script is unsafe: npm's lifecycle environment (`npm_package_*`,
  its PATH) is gone. It is not offered when `pre`/`post` scripts exist, when the script reads
  npm's variables, runs a binary no package of package.json is known to provide, runs a tool
  that runs further commands by name (`concurrently`, `run-s`, `run-script-os`, `nodemon
  --exec`), uses Yarn Plug'n'Play (no node_modules), or uses shell features other than an `&&`
  chain (`||`, pipes, `if`). An `ENV` line replaces a script's `NAME=value` only where the image
  does not set the variable to another value. A development image keeps its script call
  (`npm run dev`) where the command it resolves to would not tell every rule it is one
  (`gatsby develop`): they would treat the image as production.
- `exec` in front of the last command of an `&&` chain is unsafe: the same commands run, but
  the last one takes the shell's place. Not offered under a `SHELL` instruction.
- Adding dumb-init is unsafe: it installs a package (the build needs the distribution's package
  mirror) and changes PID 1. An existing init (`dumb-init`, `tini`) is respected. It is not
  offered where a build of the file (a compose `args:`, a CI matrix) passes a build argument a
  FROM reads with another value than its default: that build may stand on another distribution,
  whose package manager the install would not fit; the finding says which argument.
- Non-Node and Windows images are left alone.

## Related hadolint rules
DL3025 (use JSON notation for CMD and ENTRYPOINT arguments).
"""

from __future__ import annotations

import json
import re
from collections.abc import Generator, Iterator
from dataclasses import dataclass

from ..context import RuleContext
from ..dockerfile.document import Document, Instruction, Stage
from ..dockerfile.shell import uses_shell_features
from ..dockerfile.stages import (
    applies_to,
    base_changed_by_build,
    effective_user,
    family,
    is_development_image,
    is_root,
    run_commands,
    runtime_stage,
    stage_chain,
    start_instructions,
)
from ..dockerfile.words import read_env, shell_words
from ..edit_helpers import insert_line_after
from ..edits import Applicability, Edit, Finding, Fix, apply_edits
from ..project.build_context import Project
from ..project.image_package import may_have_node_modules
from ..project.inputs import ProjectInput
from ..project.npmscripts import ResolvedScript, development_reason, exec_chain, resolve_script, script_invocation
from .image_purpose import left_alone
from .rule import Rule

INITS = ("dumb-init", "tini", "/sbin/tini", "/usr/bin/dumb-init", "/usr/local/bin/dumb-init", "/tini", "catatonit")
# A package binary as a resolved script runs it, outside npm.
_PACKAGE_BINARY = re.compile(r"node_modules/\.bin/[^\s'\"]+")
INSTALL = {
    "alpine": "RUN apk add --no-cache dumb-init",
    "debian": "RUN apt-get update && apt-get install -y --no-install-recommends dumb-init && rm -rf /var/lib/apt/lists/*",
}


def _exec_text(argv: list[str]) -> bytes:
    return json.dumps(argv, ensure_ascii=False).encode()


def _replace_args(inst: Instruction, argv: list[str]) -> Edit:
    start, end = inst.args_span
    return Edit(start, end, _exec_text(argv))


def _current_argv(inst: Instruction) -> list[str] | None:
    """The argv an instruction runs, when it is exec form or a plain shell command."""
    if inst.json_args is not None:
        return list(inst.json_args)
    if inst.args_bytes.startswith(b"[") or uses_shell_features(inst.args_bytes):
        return None
    words = shell_words(inst.args, raw_quotes=False)
    return words or None


def _has_init(argv: list[str] | None) -> bool:
    if not argv:
        return False
    return argv[0] in INITS or argv[0].rsplit("/", 1)[-1] in ("dumb-init", "tini")


def check(doc: Document, ctx: RuleContext) -> Iterator[Finding]:
    stage = runtime_stage(doc)
    if stage is None or not applies_to(doc, stage) or left_alone(doc, ctx):
        return
    entrypoint, cmd = start_instructions(stage)
    if entrypoint is not None and entrypoint.is_json_form and not entrypoint.json_args:
        entrypoint = None  # `ENTRYPOINT []` clears the entrypoint: the CMD alone is what runs
    target = entrypoint or cmd
    if target is None:
        return  # the start command comes from the base image: nothing of the app's to fix
    argv = _current_argv(target)
    if argv == []:
        return  # `CMD []`: no command of the app's to put under an init
    # The scripts are those of the package.json the image has in its working directory.
    project = ctx.facts(doc).image_project(stage)
    if argv is None:
        yield from _shell_features(doc, ctx, project, stage, target)
        return
    if not target.is_json_form:
        if entrypoint is not None and target is entrypoint and cmd is not None:
            yield Finding(
                RULE.code,
                "shell-form ENTRYPOINT with a CMD: converting it would pass the CMD as arguments; left as it is",
                target.line,
            )
            return
        yield Finding(
            RULE.code,
            f"shell-form {target.name}: /bin/sh runs as PID 1 and does not forward SIGTERM; use exec form",
            target.line,
            Fix.safe(_replace_args(target, argv)),
        )
    init = [argv[0]] if _has_init(argv) else []
    call_argv = argv[len(init) :]
    if (yield from _shell_wrapper(doc, ctx, project, stage, target, init, call_argv)):
        return
    start = _Start(target, entrypoint, cmd, init)
    if target is entrypoint and cmd is not None:
        yield from _runner_with_cmd(project, start, call_argv)
    if (yield from _script_call(doc, ctx, project, stage, start, call_argv)):
        return  # dumb-init is proposed on the resolved command in the next pass
    # The start command is the ENTRYPOINT when there is one: an init in front of it covers the
    # CMD too. A shell form gets exec form first (above) and the init in the next pass.
    if _has_init(argv) or not target.is_json_form:
        return
    yield from _no_init(doc, ctx, stage, target, argv)


@dataclass(frozen=True, slots=True)
class _Start:
    """The instruction that starts the app, the ENTRYPOINT and CMD it is one of, and the init in front of it."""

    target: Instruction
    entrypoint: Instruction | None
    cmd: Instruction | None
    init: list[str]


def _shell_features(
    doc: Document, ctx: RuleContext, project: Project, stage: Stage, target: Instruction
) -> Iterator[Finding]:
    """A shell-form start command that is more than one plain command (or not valid exec form)."""
    what = target.name
    if target.is_json_form is False and target.args_bytes.startswith(b"["):
        yield Finding(
            RULE.code,
            f"{what} looks like exec form but is not valid JSON, so Docker runs it through /bin/sh",
            target.line,
        )
        return
    script, _why_not = (None, None) if _sets_shell(doc, stage) else exec_chain(project, target.args, in_npm=False)
    if script is not None and _hides_development_image(
        doc, ctx, stage, _replace_args(target, ["/bin/sh", "-c", script])
    ):
        script, _why_not = exec_chain(project, target.args, in_npm=False, resolve=False)
    if script is None:
        yield Finding(
            RULE.code,
            f"shell-form {what} uses shell features: /bin/sh stays PID 1 and swallows SIGTERM; move the logic into a script that ends with `exec node ...`",
            target.line,
        )
        return
    # Docker runs a shell-form command as `/bin/sh -c <line>`: the same, written out, with
    # the last command replacing the shell.
    yield Finding(
        RULE.code,
        f"shell-form {what} chains commands: /bin/sh stays PID 1 and swallows SIGTERM; run the chain with `sh -c` and let the last command replace the shell with `exec`",
        target.line,
        Fix.unsafe(_replace_args(target, ["/bin/sh", "-c", script])),
    )


def _shell_wrapper(
    doc: Document,
    ctx: RuleContext,
    project: Project,
    stage: Stage,
    target: Instruction,
    init: list[str],
    call_argv: list[str],
) -> Generator[Finding, None, bool]:
    """`sh -c "... && node server.js"` between the init and the app; True when it is fixed."""
    if not (
        len(call_argv) >= 3
        and call_argv[0].rsplit("/", 1)[-1] in ("sh", "bash", "ash", "dash")
        and call_argv[1] == "-c"
    ):
        return False
    script, why_not = exec_chain(project, call_argv[2], in_npm=False)
    if script is not None and _hides_development_image(
        doc, ctx, stage, _replace_args(target, [*init, *call_argv[:2], script, *call_argv[3:]])
    ):
        script, why_not = exec_chain(project, call_argv[2], in_npm=False, resolve=False)
    if script is not None and script != call_argv[2]:
        yield Finding(
            RULE.code,
            f"`{call_argv[0]} -c` stays between the init and the app: let the last command replace the shell with `exec`",
            target.line,
            Fix.unsafe(_replace_args(target, [*init, *call_argv[:2], script, *call_argv[3:]])),
        )
        return True
    if why_not is not None:
        yield Finding(
            RULE.code,
            f"`{call_argv[2]}` keeps npm/yarn between the init and the app: its last command {why_not}",
            target.line,
        )
    return False


def _runner_with_cmd(project: Project, start: _Start, call_argv: list[str]) -> Iterator[Finding]:
    """`ENTRYPOINT ["pnpm", "run"]` with the script named by the CMD, read as the one call it
    makes. Not rewritten: the command is split between two instructions (the init still goes
    in front of the ENTRYPOINT)."""
    assert start.cmd is not None
    cmd_argv = _current_argv(start.cmd)
    if script_invocation(call_argv) is not None or not cmd_argv or not start.cmd.is_json_form:
        return
    whole = [*call_argv, *cmd_argv]
    resolved = resolve_script(project, whole)
    if resolved is None:
        return
    shown = f"`{' '.join(whole)}` (ENTRYPOINT and CMD)"
    if resolved.why_not:
        message = f"{shown} keeps npm/yarn between the init and node: {resolved.why_not}"
    else:
        message = (
            f"{shown} runs `{' '.join(resolved.argv)}` (package.json script `{resolved.script_name}`): start it "
            "directly so it gets the signals; not rewritten, as the command is split between ENTRYPOINT and CMD"
        )
    yield Finding(RULE.code, message, start.target.line)


def _script_call(
    doc: Document, ctx: RuleContext, project: Project, stage: Stage, start: _Start, call_argv: list[str]
) -> Generator[Finding, None, bool]:
    """`npm start` and the like, resolved to the command the script runs; True when it is fixed."""
    resolved = resolve_script(project, call_argv)
    if resolved is None:
        return False
    target = start.target
    why_not = resolved.why_not or _resolution_problem(doc, ctx, stage, start, resolved)
    if why_not:
        yield Finding(
            RULE.code,
            f"`{' '.join(call_argv)}` keeps npm/yarn between the init and node: {why_not}",
            target.line,
        )
        return False
    edits = [_replace_args(target, start.init + resolved.argv)]
    set_here = _env_values(doc, stage)
    pairs = [f"{key}={_env_value(value)}" for key, value in resolved.env if set_here.get(key) != value]
    if pairs:
        edits.append(Edit.insert(target.start, f"ENV {' '.join(pairs)}".encode() + doc.newline))
    runs = "node" if resolved.argv[0] == "node" else "the command"
    yield Finding(
        RULE.code,
        f"`{' '.join(call_argv)}` runs `{' '.join(resolved.argv)}` (package.json script `{resolved.script_name}`): start {runs} directly so it gets the signals",
        target.line,
        Fix.unsafe(*edits),
    )
    return True


def _no_init(doc: Document, ctx: RuleContext, stage: Stage, target: Instruction, argv: list[str]) -> Iterator[Finding]:
    """An exec-form start command with no init in front of it: dumb-init, installed when missing."""
    changed = base_changed_by_build(doc, stage, ctx.builds.build_args) if ctx.builds is not None else None
    install = INSTALL.get(family(doc, stage) or "")
    edits = [_replace_args(target, ["dumb-init", *argv])]
    if changed is not None and not _installs_dumb_init(doc, stage):
        yield Finding(
            RULE.code,
            f"no init process: PID 1 is `{argv[0]}`; a build of this file passes `{changed}`, which may put it on"
            " another base image, so the package manager to install dumb-init with is not known: install"
            " dumb-init or tini in each base and start the app under it",
            target.line,
        )
        return
    if install is None:
        yield Finding(
            RULE.code,
            f"no init process: PID 1 is `{argv[0]}`; the base image's package manager is unknown, install dumb-init or tini and start the app under it",
            target.line,
        )
        return
    if not _installs_dumb_init(doc, stage):
        if not is_root(effective_user(doc, stage, stage.instructions[1] if len(stage.instructions) > 1 else None)):
            yield Finding(
                RULE.code,
                f"no init process: PID 1 is `{argv[0]}`; the base image runs as a non-root user, so dumb-init cannot be installed here",
                target.line,
            )
            return
        edits.append(insert_line_after(doc, stage.from_instruction, install))
    yield Finding(
        RULE.code,
        f"no init process: PID 1 is `{argv[0]}`, which does not reap zombies or handle signals as an init; start it under dumb-init",
        target.line,
        Fix.unsafe(*edits),
    )


RULE = Rule(
    code="DF005",
    name="exec-form-init",
    summary="Start the app in exec form under dumb-init so it receives SIGTERM",
    fix_safety={
        Applicability.SAFE: "exec form of a plain command",
        Applicability.UNSAFE: "resolving a package script, exec in a command chain, adding dumb-init",
    },
    docs=__doc__,
    check=check,
    reads=frozenset({ProjectInput.PACKAGE, ProjectInput.APP_CODE}),
)


def _sets_shell(doc: Document, stage: Stage) -> bool:
    """Whether a SHELL instruction changes what runs a shell-form command."""
    return any(inst.name == "SHELL" for member in stage_chain(doc, stage) for inst in member.instructions)


def _env_values(doc: Document, stage: Stage) -> dict[str, str]:
    """The variables the stage's ENV lines (and those of the stages it builds on) set, as last set."""
    values: dict[str, str] = {}
    for member in reversed(stage_chain(doc, stage)):
        for inst in member.instructions:
            env = read_env(inst.args, doc.escape.decode()) if inst.name == "ENV" else None
            if env is not None and not env.legacy:
                values.update(env.pairs)
    return values


def _resolution_problem(
    doc: Document, ctx: RuleContext, stage: Stage, start: _Start, resolved: ResolvedScript
) -> str | None:
    """Why the resolved script cannot replace the script call, though it resolves."""
    target = start.target
    if resolved.argv[0] == "sh" and target is start.entrypoint and start.cmd is not None:
        return "the script runs through `sh -c`, which would not pass the CMD on to the app"
    binary = _PACKAGE_BINARY.search(" ".join(resolved.argv))
    if binary is not None and not may_have_node_modules(doc, stage):
        # The tool is then found on npm's PATH elsewhere (a global install), not in node_modules.
        return (
            f"the `{resolved.script_name}` script would run `{binary.group(0)}`, and the image neither installs "
            "nor copies node_modules into its WORKDIR"
        )
    set_here = _env_values(doc, stage)
    for key, value in resolved.env:
        if key in set_here and set_here[key] != value:
            return f"the `{resolved.script_name}` script sets {key}={value} for the app, and the image sets {key}={set_here[key]}"
    return _hides_development_image(doc, ctx, stage, _replace_args(target, start.init + resolved.argv))


def _hides_development_image(doc: Document, ctx: RuleContext, stage: Stage, edit: Edit) -> str | None:
    """Why the new start command would hide that this is a development image (the name of the
    script it calls being the only sign), which the other rules would then treat as production.

    Both readings the rules use must still see it: the scripts followed (development_reason),
    and the start command as written (is_development_image)."""
    reason = development_reason(ctx.project, doc, stage, ctx.dockerfile)
    if reason is None:
        return None
    after = Document.parse(apply_edits(doc.source, [edit]))
    after_stage = runtime_stage(after)
    if after_stage is None:
        return None
    still = development_reason(ctx.project, after, after_stage, ctx.dockerfile) is not None and (
        is_development_image(after, after_stage, ctx.dockerfile.name)
        or not is_development_image(doc, stage, ctx.dockerfile.name)
    )
    if still:
        return None
    return f"{reason}, and the command the script runs would not say so: the other rules would then treat the image as a production one"


def _installs_dumb_init(doc: Document, stage: Stage) -> bool:
    for _, _, command in run_commands(doc, stage):
        if command.name in ("apk", "apt-get", "apt") and command.has_arg("dumb-init"):
            return True
    return False


def _env_value(value: str) -> str:
    if value and all(ch.isalnum() or ch in "-_./:,@%+=" for ch in value):
        return value
    return json.dumps(value)
