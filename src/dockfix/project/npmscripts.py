"""Resolving `npm start`, `npm run X`, `yarn X`, `pnpm X` to the command they really run.

Read from package.json, never executed. A script resolves only when it is one plain `node`
command, optionally behind `NAME=value` prefixes; anything using shell features, lifecycle
hooks (`prestart`, `poststart`) or tools from node_modules/.bin stays as it is.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..dockerfile.document import shell_words
from ..dockerfile.shell import uses_shell_features
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
