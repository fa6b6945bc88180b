"""Resolving `npm start`, `npm run X`, `yarn X`, `pnpm X` to the command they really run.

Read from package.json, never executed. A script resolves only when it is one plain `node`
command, optionally behind `NAME=value` prefixes; anything using shell features, lifecycle
hooks (`prestart`, `poststart`) or tools from node_modules/.bin stays as it is.

For questions about what a container does when it starts (a dev server? a dev dependency's
CLI? an `npm install`?), `commands_run` follows a start command through every script it calls,
shell features and hooks included, and lists each command it would run.
"""

from __future__ import annotations

from pathlib import Path

from ..dockerfile.document import Document, Stage, shell_words
from ..dockerfile.shell import commands_in, uses_shell_features
from ..dockerfile.stages import (
    development_command,
    effective_start_instructions,
    has_start_command,
    is_development_image,
    is_development_script_name,
    test_tooling,
)
from ..records import dataclass
from .build_context import Project

NODE_BINARIES = ("node", "nodejs")


@dataclass(frozen=True)
class ResolvedScript:
    argv: list[str]
    env: list[tuple[str, str]]
    script_name: str
    why_not: str | None = None  # set when the script exists but cannot be resolved


def script_invocation(argv: list[str]) -> tuple[str, list[str]] | None:
    """`["npm", "run", "serve", "--", "-p", "80"]` -> ("serve", ["-p", "80"]); None if not a script call."""
    if not argv:
        return None
    tool, rest = argv[0], argv[1:]
    if tool not in ("npm", "yarn", "pnpm"):
        return None
    if not rest:
        return None  # bare `yarn` installs; bare `npm` prints help
    extra: list[str] = []
    if "--" in rest:
        index = rest.index("--")
        rest, extra = rest[:index], rest[index + 1 :]
    flags = [w for w in rest if w.startswith("-")]
    words = [w for w in rest if not w.startswith("-")]
    if flags or not words:
        return None  # flags such as --prefix or --silent change how the script runs
    if words[0] in ("start", "restart", "test") and len(words) == 1:
        return words[0], extra
    if words[0] in ("run", "run-script") and len(words) == 2:
        return words[1], extra
    if tool in ("yarn", "pnpm") and len(words) == 1 and words[0] not in ("install", "add", "build"):
        return words[0], extra
    if tool == "yarn" and len(words) == 1 and words[0] == "build":
        return words[0], extra
    return None


def resolve_script(project: Project, argv: list[str], depth: int = 0) -> ResolvedScript | None:
    """The plain command behind a package-manager script call, or why it cannot be had."""
    call = script_invocation(argv)
    if call is None:
        return None
    name, extra = call
    scripts = project.scripts
    if project.package_json is None:
        return ResolvedScript([], [], name, "no package.json in the build context")
    for hook in (f"pre{name}", f"post{name}"):
        if hook in scripts:
            return ResolvedScript(
                [], [], name, f"package.json has a `{hook}` script that running node directly would skip"
            )
    if name not in scripts:
        if name == "start" and project.exists("server.js"):
            return ResolvedScript(["node", "server.js", *extra], [], name)  # npm's default start
        return ResolvedScript([], [], name, f"package.json has no `{name}` script")
    text = scripts[name]
    if uses_shell_features(text.encode()):
        return ResolvedScript([], [], name, f"the `{name}` script uses shell features: {text}")
    words = shell_words(text, raw_quotes=False)
    env = []
    while words and "=" in words[0] and words[0].split("=", 1)[0].isidentifier():
        key, _, value = words.pop(0).partition("=")
        env.append((key, value))
    if not words:
        return ResolvedScript([], [], name, f"the `{name}` script runs nothing")
    if words[0] in ("npm", "yarn", "pnpm") and depth < 3:
        inner = resolve_script(project, words, depth + 1)
        if inner is not None and inner.why_not is None:
            return ResolvedScript([*inner.argv, *extra], env + inner.env, name)
        if inner is not None:
            return ResolvedScript([], [], name, inner.why_not)
    if words[0] not in NODE_BINARIES:
        return ResolvedScript([], [], name, f"the `{name}` script runs `{words[0]}`, not node")
    return ResolvedScript(["node", *words[1:], *extra], env, name)


# Commands that run the rest of their arguments as a command (`dumb-init node x`, `env A=b node x`).
_PASS_THROUGH = ("dumb-init", "tini", "catatonit", "exec", "env", "cross-env", "cross-env-shell", "nice", "time")
_SHELLS = ("sh", "bash", "ash", "dash", "zsh")
_MAX_SCRIPT_DEPTH = 6
# Commands of the package managers that are not script calls.
_MANAGER_COMMANDS = (
    "install",
    "i",
    "ci",
    "add",
    "remove",
    "exec",
    "dlx",
    "cache",
    "config",
    "run",
    "run-script",
    "prune",
)


def _unwrap(argv: list[str]) -> list[str]:
    """The command behind inits, `env`, `NAME=value` prefixes and `npx` (`npx nest start` -> `nest start`)."""
    while argv:
        head = argv[0].rsplit("/", 1)[-1]
        if "=" in argv[0] and argv[0].split("=", 1)[0].isidentifier():
            argv = argv[1:]
        elif head in _PASS_THROUGH:
            argv = argv[1:]
            while argv and (argv[0].startswith("-") or ("=" in argv[0] and argv[0].split("=", 1)[0].isidentifier())):
                argv = argv[1:]
        elif head == "npx" or (head in ("npm", "yarn", "pnpm") and argv[1:2] in (["exec"], ["dlx"])):
            argv = argv[1:] if head == "npx" else argv[2:]
            while argv and argv[0].startswith("-"):
                argv = argv[1:]
        elif head in ("node", "nodejs") and len(argv) > 1 and "node_modules/.bin/" in argv[1]:
            argv = [argv[1].rsplit("/", 1)[-1], *argv[2:]]
        else:
            return argv
    return argv


def commands_run(project: Project, argv: list[str], depth: int = 0) -> list[list[str]]:
    """Every command `argv` runs, through the package.json scripts it calls and their pre/post hooks.

    Script calls are listed too (`npm start`, then what `start` runs); `sh -c '...'` is read as
    the shell script it is. What a script does with variables or files is not followed.
    """
    argv = _unwrap(argv)
    if not argv:
        return []
    head = argv[0].rsplit("/", 1)[-1]
    if head in _SHELLS and "-c" in argv[1:-1]:
        script = argv[argv.index("-c", 1) + 1]
        return [argv, *_script_commands(project, script, depth)]
    call = script_invocation(argv)
    if call is None or depth >= _MAX_SCRIPT_DEPTH:
        return [argv]
    name, extra = call
    scripts = project.scripts
    if name not in scripts:
        if head in ("yarn", "pnpm") and name not in _MANAGER_COMMANDS and argv[1:2] != ["run"]:
            return [argv, *commands_run(project, [name, *extra], depth + 1)]  # `yarn nodemon` runs the binary
        if name == "start" and not scripts.get("start") and project.exists("server.js"):
            return [argv, ["node", "server.js", *extra]]  # npm's default start
        return [argv]
    found = [argv]
    for script_name in (f"pre{name}", name, f"post{name}"):
        text = scripts.get(script_name)
        if text:
            found += _script_commands(project, text, depth, extra if script_name == name else [])
    return found


def _script_commands(project: Project, text: str, depth: int, extra: list[str] | None = None) -> list[list[str]]:
    commands = commands_in(text.encode())
    found: list[list[str]] = []
    for index, command in enumerate(commands):
        argv = command.argv + ((extra or []) if index == len(commands) - 1 else [])
        found += commands_run(project, argv, depth + 1)
    return found


def start_commands_run(project: Project, doc: Document, stage: Stage) -> list[list[str]]:
    """Every command the image runs when it starts: its ENTRYPOINT and CMD, through the scripts they call."""
    entrypoint, cmd = effective_start_instructions(doc, stage)
    found: list[list[str]] = []
    parts = []
    for inst in (entrypoint, cmd):
        if inst is None:
            continue
        if inst.is_json_form:
            parts.append(list(inst.json_args or []))
        else:
            found += _script_commands(project, inst.args, 0)
    if len(parts) == 2 and entrypoint is not None and entrypoint.is_json_form:
        found += commands_run(project, parts[0] + parts[1])
    for argv in parts:
        found += commands_run(project, argv)
    return found


def development_reason(project: Project, doc: Document, stage: Stage, dockerfile: Path) -> str | None:
    """Why the stage is a development, test, CI or base image, which production settings would defeat; None if it is not."""
    if is_development_image(doc, stage, dockerfile.name):
        return "its file name, stage name or start command marks a development image"
    if ".devcontainer" in dockerfile.parts:
        return "it is a devcontainer image"
    if not has_start_command(doc, stage):
        return (
            "it has no CMD or ENTRYPOINT of its own, so it is a base, CI or tooling image (it starts the `node` prompt)"
        )
    tool = test_tooling(doc, stage)
    if tool:
        return f"it installs `{tool}`: an image for end-to-end tests"
    for argv in start_commands_run(project, doc, stage):
        call = script_invocation(argv)
        if call and call[0] in project.scripts and is_development_script_name(call[0]):
            return f"it starts the `{call[0]}` script"
        what = development_command(argv)
        if what:
            return f"it starts `{what}`, a development server, watcher or test runner"
    return None


def dev_dependency_at_start(project: Project, doc: Document, stage: Stage) -> tuple[str, str] | None:
    """(binary, package) of a dev dependency's command-line tool the image runs when it starts."""
    for argv in start_commands_run(project, doc, stage):
        binary = argv[0].rsplit("/", 1)[-1]
        if binary in NODE_BINARIES or binary in ("npm", "yarn", "pnpm", "npx", *_SHELLS):
            continue
        package = project.binary_package(binary)
        if package is not None and project.is_dev_only(package):
            return binary, package
    return None


def install_at_start(project: Project, doc: Document, stage: Stage) -> str | None:
    """The package install (`npm install`, `yarn`, `pnpm install`) the image runs when it starts, as written."""
    for argv in start_commands_run(project, doc, stage):
        binary = argv[0].rsplit("/", 1)[-1]
        positional = [w for w in argv[1:] if not w.startswith("-")]
        if (
            (binary == "npm" and positional[:1] in (["install"], ["i"], ["ci"]))
            or (binary == "yarn" and positional[:1] in ([], ["install"]))
            or (binary == "pnpm" and positional[:1] in (["install"], ["i"]))
        ):
            return " ".join(argv)
    return None
