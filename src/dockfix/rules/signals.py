"""DF005 exec-form-init: the app gets signals: exec-form start command under dumb-init.

## What it does
In the stage that runs the app, turns a shell-form `CMD`/`ENTRYPOINT` into exec form (a JSON
array), resolves `npm start` / `npm run X` / `yarn X` / `pnpm X` through package.json to the
`node` command it really runs (an `NAME=value` prefix in the script becomes `ENV`), installs
`dumb-init` with the base image's package manager and starts the app under it as PID 1.

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

## Fix safety
- Shell form to exec form is safe when the command uses no shell feature (no `&&`, pipes,
  variables, globs, redirections) and no custom ENTRYPOINT receives the CMD: the same program
  runs with the same arguments, now as PID 1.
- Resolving a package-manager script is unsafe: npm's lifecycle environment (`npm_package_*`)
  is gone. It is not offered when `pre`/`post` scripts exist or the script is not plain `node`.
- Adding dumb-init is unsafe: it installs a package (the build needs the distribution's package
  mirror) and changes PID 1. An existing init (`dumb-init`, `tini`) is respected.
- A command that uses shell features is reported and left as it is.
- Non-Node and Windows images are left alone.

## Related hadolint rules
DL3025 (use JSON notation for CMD and ENTRYPOINT arguments).
"""

from __future__ import annotations

import json

from ..context import RuleContext
from ..dockerfile.document import Document, Instruction, shell_words
from ..dockerfile.shell import uses_shell_features
from ..dockerfile.stages import (
    applies_to,
    effective_user,
    family,
    insert_line_after,
    is_root,
    run_commands,
    runtime_stage,
    start_instructions,
)
from ..edits import Edit, Finding, Fix
from ..project.npmscripts import resolve_script

CODE = "DF005"
NAME = "exec-form-init"
SUMMARY = "Start the app in exec form under dumb-init so it receives SIGTERM"
FIX_SAFETY = "safe (exec form of a plain command); unsafe (script resolution, dumb-init)"
INITS = ("dumb-init", "tini", "/sbin/tini", "/usr/bin/dumb-init", "/usr/local/bin/dumb-init", "/tini", "catatonit")
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
    return bool(argv) and argv is not None and (argv[0] in INITS or argv[0].rsplit("/", 1)[-1] in ("dumb-init", "tini"))


def check(doc: Document, ctx: RuleContext):
    stage = runtime_stage(doc)
    if stage is None or not applies_to(doc, stage):
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
    what = target.name
    if argv is None:
        if target.is_json_form is False and target.args_bytes.startswith(b"["):
            yield Finding(
                CODE,
                f"{what} looks like exec form but is not valid JSON, so Docker runs it through /bin/sh",
                target.line,
            )
        else:
            yield Finding(
                CODE,
                f"shell-form {what} uses shell features: /bin/sh stays PID 1 and swallows SIGTERM; move the logic into a script that ends with `exec node ...`",
                target.line,
            )
        return
    if not target.is_json_form:
        if entrypoint is not None and target is entrypoint and cmd is not None:
            yield Finding(
                CODE,
                "shell-form ENTRYPOINT with a CMD: converting it would pass the CMD as arguments; left as it is",
                target.line,
            )
            return
        yield Finding(
            CODE,
            f"shell-form {what}: /bin/sh runs as PID 1 and does not forward SIGTERM; use exec form",
            target.line,
            Fix.safe(_replace_args(target, argv)),
        )
    call_argv = argv[1:] if _has_init(argv) else argv
    resolved = resolve_script(ctx.project, call_argv)
    if resolved is not None:
        if resolved.why_not:
            yield Finding(
                CODE,
                f"`{' '.join(call_argv)}` keeps npm/yarn between the init and node: {resolved.why_not}",
                target.line,
            )
        else:
            new_argv = ([argv[0]] if _has_init(argv) else []) + resolved.argv
            edits = [_replace_args(target, new_argv)]
            for key, value in resolved.env:
                edits.append(Edit.insert(target.start, f"ENV {key}={_env_value(value)}".encode() + doc.newline))
            yield Finding(
                CODE,
                f"`{' '.join(call_argv)}` runs `{' '.join(resolved.argv)}` (package.json script `{resolved.script_name}`): start node directly so it gets the signals",
                target.line,
                Fix.unsafe(*edits),
            )
            return  # dumb-init is proposed on the resolved command in the next pass
    # The start command is the ENTRYPOINT when there is one: an init in front of it covers the
    # CMD too. A shell form gets exec form first (above) and the init in the next pass.
    if _has_init(argv) or not target.is_json_form:
        return
    install = INSTALL.get(family(doc, stage) or "")
    edits = [_replace_args(target, ["dumb-init", *argv])]
    if install is None:
        yield Finding(
            CODE,
            f"no init process: PID 1 is `{argv[0]}`; the base image's package manager is unknown, install dumb-init or tini and start the app under it",
            target.line,
        )
        return
    if not _installs_dumb_init(doc, stage):
        if not is_root(effective_user(doc, stage, stage.instructions[1] if len(stage.instructions) > 1 else None)):
            yield Finding(
                CODE,
                f"no init process: PID 1 is `{argv[0]}`; the base image runs as a non-root user, so dumb-init cannot be installed here",
                target.line,
            )
            return
        edits.append(insert_line_after(doc, stage.from_instruction, install))
    yield Finding(
        CODE,
        f"no init process: PID 1 is `{argv[0]}`, which does not reap zombies or handle signals as an init; start it under dumb-init",
        target.line,
        Fix.unsafe(*edits),
    )


def _installs_dumb_init(doc: Document, stage) -> bool:
    for _, _, command in run_commands(doc, stage):
        if command.name in ("apk", "apt-get", "apt") and command.has_arg("dumb-init"):
            return True
    return False


def _env_value(value: str) -> str:
    if value and all(ch.isalnum() or ch in "-_./:,@%+=" for ch in value):
        return value
    return json.dumps(value)
