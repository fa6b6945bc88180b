"""Resolving `npm start`, `npm run X`, `yarn X`, `pnpm X` to the command they really run.

Read from package.json, never executed. A script resolves when it is one plain command,
optionally behind `NAME=value` prefixes or `cross-env`: `node`, or a package's binary, which
outside npm is found at `node_modules/.bin/<bin>` (npm puts that folder on the PATH of the
scripts it runs). A script that chains simple commands with `&&` resolves to `sh -c` of the
same chain with `exec` in front of the last command, so the app replaces the shell. Lifecycle
hooks (`prestart`, `poststart`), npm's own variables (`$npm_package_*`), other shell features
and tools that run further commands by name (`concurrently`, `run-s`) stay as they are.

For questions about what a container does when it starts (a dev server? a dev dependency's
CLI? an `npm install`?), `commands_run` follows a start command through every script it calls,
shell features and hooks included, and lists each command it would run.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..dockerfile.document import Document, Stage
from ..dockerfile.shell import SHELLS, Command, and_chain, commands_in, uses_shell_features
from ..dockerfile.stages import (
    development_command,
    effective_start_instructions,
    has_start_command,
    is_development_image,
    is_development_script_name,
    test_tooling,
)
from ..dockerfile.words import shell_words
from .build_context import Project
from .build_purpose import DEVELOPMENT_VALUES, describe, node_env_at, sites_building
from .node_tooling import PACKAGE_MANAGERS

if TYPE_CHECKING:
    from .build_graph import DockerfileBuilds
    from .build_sources import BuildSite

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
    if tool not in PACKAGE_MANAGERS:
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
    if words[0] in ("run", "run-script"):
        # `npm run` alone lists the scripts: the script name may come later (a CMD after an ENTRYPOINT).
        return (words[1], extra) if len(words) == 2 else None
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
        if _NPM_VARIABLE.search(text):
            return ResolvedScript([], [], name, f"the `{name}` script reads npm's own variables, which only npm sets")
        chain, why_not = exec_chain(project, text, in_npm=True, extra=extra, depth=depth)
        if why_not is not None:
            return ResolvedScript([], [], name, f"the `{name}` script {why_not}")
        if chain is None:
            return ResolvedScript([], [], name, f"the `{name}` script uses shell features: {text}")
        return ResolvedScript(["sh", "-c", chain], [], name)
    words = shell_words(text, raw_quotes=False)
    env = []
    while words and (words[0] == "cross-env" or ("=" in words[0] and words[0].split("=", 1)[0].isidentifier())):
        key, _, value = words.pop(0).partition("=")
        if key != "cross-env":
            env.append((key, value))
    if not words:
        return ResolvedScript([], [], name, f"the `{name}` script runs nothing")
    if words[0] in PACKAGE_MANAGERS and depth < 3:
        inner = resolve_script(project, words, depth + 1)
        if inner is not None and inner.why_not is None:
            return ResolvedScript([*inner.argv, *extra], env + inner.env, name)
        if inner is not None:
            return ResolvedScript([], [], name, inner.why_not)
    if words[0] in NODE_BINARIES:
        return ResolvedScript(["node", *words[1:], *extra], env, name)
    binary, why_not = npm_path_binary(project, words)
    if binary is None:
        return ResolvedScript([], [], name, f"the `{name}` script runs `{words[0]}`, and {why_not}")
    return ResolvedScript([binary, *words[1:], *extra], env, name)


# npm's own variables, set only for the scripts it runs (`$npm_package_version`, `${npm_config_port}`).
_NPM_VARIABLE = re.compile(r"\$\{?npm_")
# Package binaries that run further commands by name: outside npm those commands would not find
# node_modules/.bin on the PATH. `run-script-os` runs an npm script of its own choosing.
_COMMAND_RUNNERS = frozenset(
    {"concurrently", "npm-run-all", "run-s", "run-p", "run-script-os", "env-cmd", "dotenv", "cross-env-shell", "npx"}
)
# Commands a script may chain before the app that every node image has on its PATH.
_IMAGE_COMMANDS = frozenset(
    {
        *NODE_BINARIES,
        "npm",
        "yarn",
        "pnpm",
        "echo",
        "printf",
        "test",
        "[",
        "true",
        "mkdir",
        "rm",
        "cp",
        "mv",
        "ls",
        "cat",
        "touch",
        "sleep",
        "chmod",
        "export",
        "set",
        "env",
        "printenv",
        "exec",
        "cd",
    }
)
# Shell builtins that are no program: `exec` cannot run them.
_SHELL_ONLY = frozenset(
    {"cd", "exit", "return", "set", "export", "unset", "shift", "trap", "wait", "eval", ".", "source", ":", "read"}
)


def npm_path_binary(project: Project, argv: list[str]) -> tuple[str | None, str | None]:
    """How to run `argv[0]` without npm: the path of the package binary npm would find on its
    PATH (`next` -> `node_modules/.bin/next`), or None and why not.

    A path (`./node_modules/.bin/x`, `./run`) runs as it is, from the folder npm runs scripts in.
    """
    binary = argv[0]
    if "/" in binary:
        return binary, None
    if binary in _COMMAND_RUNNERS:
        return None, "it runs further commands by name, which outside npm do not find node_modules/.bin"
    if binary == "nodemon" and any(w in ("--exec", "-x") or w.startswith("--exec=") for w in argv[1:]):
        return None, "nodemon runs the command given to `--exec` by name, which outside npm is not on the PATH"
    if uses_plug_n_play(project):
        return None, "Yarn Plug'n'Play installs no node_modules/.bin"
    package = project.binary_package(binary)
    if package is None or not project.installs(package):
        return None, "no package of package.json is known to provide it"
    return f"node_modules/.bin/{binary}", None


def uses_plug_n_play(project: Project) -> bool:
    """Yarn 2+ without `nodeLinker: node-modules`: packages load from zip files, no node_modules."""
    if project.package_manager != "yarn-berry":
        return False
    settings = (project.read(".yarnrc.yml") or b"").decode("utf-8", "replace")
    return not re.search(r"^\s*nodeLinker\s*:\s*[\"']?(node-modules|pnpm)", settings, re.MULTILINE)


def exec_chain(
    project: Project,
    script: str,
    *,
    in_npm: bool,
    extra: list[str] | None = None,
    depth: int = 0,
    resolve: bool = True,
) -> tuple[str | None, str | None]:
    """`a && b` as `a && exec b`: the shell script whose last command replaces the shell.

    The last command, when it calls a package script that resolves to one command, becomes that
    command (unless `resolve` is false). With `in_npm` the script is an npm script: its package
    binaries get their node_modules/.bin path (npm's PATH is gone) and `extra` (the arguments
    after `--`) is appended, as npm does. Returns (the script, None), (the script, why npm stays
    in its last command) or (None, why the script cannot be had); (None, None) when it is not
    such a chain. Reasons are worded to follow "the script".
    """
    data = script.encode()
    chain = and_chain(data)
    if chain is None:
        return None, None
    parts: list[str] = []
    changed_folder = False
    why_not = None
    for index, command in enumerate(chain):
        text = _raw(data, command.start, command.end)
        if index < len(chain) - 1:
            if in_npm and command.name not in _IMAGE_COMMANDS:
                binary, why = npm_path_binary(project, command.argv)
                if binary is None:
                    return None, f"runs `{command.name}`, and {why}"
                if binary != command.name and changed_folder:
                    return None, f"runs `{command.name}` after changing folder, where node_modules/.bin is not"
                text = _rename(data, command, binary)
            changed_folder = changed_folder or command.name in ("cd", "pushd")
            parts.append(text)
            continue
        last, why_not = _exec_last(
            project, data, command, in_npm, changed_folder, extra or [], depth if resolve else None
        )
        if last is None:
            return None, why_not
        parts.append(last)
    return " && ".join(parts), why_not


def _raw(data: bytes, start: int, end: int) -> str:
    return data[start:end].decode("utf-8", "surrogateescape")


def _rename(data: bytes, command: Command, name: str) -> str:
    """The command's text with its name replaced."""
    name_end = command.args[0].start if command.args else command.end
    original = _raw(data, command.name_start, name_end).rstrip()
    return (
        _raw(data, command.start, command.name_start)
        + name
        + _raw(data, command.name_start + len(original), command.end)
    )


def _exec_last(
    project: Project,
    data: bytes,
    command: Command,
    in_npm: bool,
    changed_folder: bool,
    extra: list[str],
    depth: int | None,
) -> tuple[str | None, str | None]:
    """The chain's last command with `exec` in front, resolved where it calls a package script
    (`depth` None: left as the call it is)."""
    assignments = _raw(data, command.start, command.name_start)
    if command.name in _SHELL_ONLY:
        return None, None
    if command.name == "exec":
        if not command.args or command.args[0].text.startswith("-"):
            return None, None  # `exec` alone or with options: not a plain command to run
        head, rest = _raw(data, command.args[0].start, command.args[0].end), command.args[1:]
    else:
        head, rest = (
            _raw(data, command.name_start, command.args[0].start if command.args else command.end).rstrip(),
            command.args,
        )
    argv = command.argv[1:] if command.name == "exec" else command.argv
    suffix = "".join(" " + shlex.quote(word) for word in extra)
    why_not = None
    if argv[0] in PACKAGE_MANAGERS and script_invocation([*argv, *extra]) is not None:
        if depth is None:
            why_not = f"runs `{' '.join([*argv, *extra])}`, whose script name is what marks this a development image"
        elif changed_folder:
            why_not = (
                f"runs `{' '.join([*argv, *extra])}` after changing folder, and npm looks for package.json from there"
            )
        else:
            resolved = resolve_script(project, [*argv, *extra], depth + 1)
            if resolved is not None and resolved.why_not is None and resolved.argv[:1] != ["sh"]:
                env = "".join(f"{key}={shlex.quote(value)} " for key, value in resolved.env)
                return f"{assignments}{env}exec {shlex.join(resolved.argv)}", None
            if resolved is not None:
                why_not = f"runs `{' '.join([*argv, *extra])}`: " + (
                    resolved.why_not or f"the `{resolved.script_name}` script runs more than one command"
                )
    elif argv[0] in (*PACKAGE_MANAGERS, "npx"):
        why_not = f"runs `{' '.join([*argv, *extra])}`"
    elif in_npm and argv[0] not in _IMAGE_COMMANDS:
        binary, why = npm_path_binary(project, argv)
        if binary is None:
            return None, f"runs `{argv[0]}`, and {why}"
        if binary != argv[0] and changed_folder:
            return None, f"runs `{argv[0]}` after changing folder, where node_modules/.bin is not"
        head = binary
    body = "".join(" " + _raw(data, word.start, word.end) for word in rest)
    return f"{assignments}exec {head}{body}{suffix}", why_not


# Commands that run the rest of their arguments as a command (`dumb-init node x`, `env A=b node x`).
_PASS_THROUGH = ("dumb-init", "tini", "catatonit", "exec", "env", "cross-env", "cross-env-shell", "nice", "time")
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
        elif head == "npx" or (head in PACKAGE_MANAGERS and argv[1:2] in (["exec"], ["dlx"])):
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
    if head in SHELLS and "-c" in argv[1:-1]:
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


def development_reason(
    project: Project, doc: Document, stage: Stage, dockerfile: Path, *, builds: DockerfileBuilds | None = None
) -> str | None:
    """Why the stage is a development, test, CI or base image, which production settings would
    defeat; None if it is not.

    The file says so (its name, a stage name, its start command, a devcontainer, a test runner),
    or the repository does (`builds`): every build of the stage is a development one, as a build
    site that passes NODE_ENV=development or runs the image with a dev server says, and no build
    is a production one: no other site, and no default `ARG NODE_ENV=production` for a plain
    `docker build`. A file built both ways is not left alone; the rules that would hard-code
    production settings ask `development_builds` and keep its ARG instead.
    """
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
    return _built_for_development_only(project, doc, stage, builds)


def _built_for_development_only(
    project: Project, doc: Document, stage: Stage, builds: DockerfileBuilds | None
) -> str | None:
    sites = sites_building(stage, builds)
    reasons = [development_site(project, site) for site in sites]
    if not sites or None in reasons:
        return None  # no build site, or one that builds it for production
    default = node_env_at(doc, stage, None, {}, "the default build")
    if default.production:
        return None  # a plain `docker build` takes the default `ARG NODE_ENV=production`
    return str(reasons[0])


def development_builds(project: Project, stage: Stage, builds: DockerfileBuilds | None) -> list[str]:
    """Why each build site that builds the stage builds it for development, in site order."""
    found = (development_site(project, site) for site in sites_building(stage, builds))
    return [why for why in found if why is not None]


def development_site(project: Project, site: BuildSite) -> str | None:
    """Why the site builds or runs the image for development (`... builds it with NODE_ENV=development`)."""
    for key, value in site.args:
        if key == "NODE_ENV" and value is not None and value.lower() in DEVELOPMENT_VALUES:
            return f"{describe(site)} builds it with NODE_ENV={value}"
    runtime = site.runtime
    if runtime is None:
        return None
    for setting in (runtime.entrypoint, runtime.command):
        what = _development_start(project, setting)
        if what:
            return f"{describe(site)} runs it with {what}"
    return None


def _development_start(project: Project, setting: tuple[str, ...] | str | None) -> str | None:
    """The dev server, watcher, test runner or dev script a compose `command` or `entrypoint` runs."""
    if setting is None:
        return None
    argvs = [list(setting)] if isinstance(setting, tuple) else [c.argv for c in commands_in(setting.encode())]
    for argv in argvs:
        for command in commands_run(project, argv):
            call = script_invocation(command)
            if call and call[0] in project.scripts and is_development_script_name(call[0]):
                return f"the `{call[0]}` script"
            what = development_command(command)
            if what:
                return f"`{what}`"
    return None


def dev_dependency_at_start(project: Project, doc: Document, stage: Stage) -> tuple[str, str] | None:
    """(binary, package) of a dev dependency's command-line tool the image runs when it starts."""
    for argv in start_commands_run(project, doc, stage):
        binary = argv[0].rsplit("/", 1)[-1]
        if binary in NODE_BINARIES or binary in (*PACKAGE_MANAGERS, "npx") or binary in SHELLS:
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


def start_needs_dev_dependency(project: Project, doc: Document, stage: Stage) -> bool:
    """Whether the start runs a dev dependency's command, also as the wrapper of a script
    (`cross-env NODE_ENV=production node server.js`): pruning them would break the start."""
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
