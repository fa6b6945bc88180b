"""The commands a command runs: `gosu node yarn install` runs yarn, `sh -c 'npm ci'` runs npm.

A Dockerfile often runs a tool through another program: one that drops root (`gosu USER cmd`,
`su-exec USER cmd`, `su USER -c '...'`, `sudo -u USER cmd`, `runuser -u USER -- cmd`), sets the
environment or priority (`env VAR=x cmd`, `nice -n 5 cmd`), feeds it arguments (`xargs cmd`), is
an init (`dumb-init cmd`, `tini -- cmd`) or a shell given a script (`sh -c '...'`). What the image
must have is what those run, so a question such as "which tools does this RUN use" reads through
them. Scripts given to a shell or to `su -c` are read with the same shell reader as RUN's.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from .shell import SHELLS, commands_in
from .words import shell_words

# How deep wrappers are read inside one another (`sudo -u app sh -c 'gosu x env A=1 yarn'`).
_DEPTH = 6
# Wrappers that take options, then the command: the options that take a separate value.
_VALUED_OPTIONS: dict[str, frozenset[str]] = {
    "nice": frozenset({"-n", "--adjustment"}),
    "nohup": frozenset(),
    "exec": frozenset({"-a"}),
    "dumb-init": frozenset({"-r", "--rewrite"}),
    "tini": frozenset({"-p", "-e"}),
    "catatonit": frozenset(),
    "xargs": frozenset(
        {"-a", "-d", "-E", "-I", "-L", "-n", "-P", "-s", "--arg-file", "--delimiter", "--max-args", "--max-procs"}
    ),
    "sudo": frozenset({"-u", "-g", "-C", "-D", "-h", "-p", "-R", "-r", "-t", "-T", "-U", "--user", "--group"}),
    "env": frozenset({"-u", "-C", "--unset", "--chdir"}),
}
# Wrappers whose first operand is the user to run as.
_STEP_DOWN = frozenset({"gosu", "su-exec"})
_SU_VALUED = frozenset({"-s", "--shell", "-g", "--group", "-G", "--supp-group", "-w", "--whitelist-environment"})


def commands_run(argv: Sequence[str], depth: int = 0) -> Iterator[list[str]]:
    """The command itself, then every command it runs through the wrappers it names, in order."""
    words = list(argv)
    if not words:
        return
    yield words
    if depth >= _DEPTH:
        return
    for inner in _inner_commands(words):
        yield from commands_run(inner, depth + 1)


def _inner_commands(argv: list[str]) -> list[list[str]]:
    """What one wrapper runs: one command, the commands of a script, or nothing."""
    name = argv[0].rsplit("/", 1)[-1]
    if name in SHELLS:
        script = _shell_script(argv)
        return [] if script is None else _script_commands(script)
    if name == "--":
        return [argv[1:]]
    if name in _STEP_DOWN:
        return [argv[2:]] if len(argv) > 2 else []
    if name in ("su", "runuser"):
        return _su_commands(argv)
    if name == "env":
        return _env_command(argv)
    if name == "sudo":
        return [_after_assignments(_after_options(argv, _VALUED_OPTIONS[name]))]
    if name in _VALUED_OPTIONS:
        return [_after_options(argv, _VALUED_OPTIONS[name])]
    return []


def _after_options(argv: list[str], valued: frozenset[str]) -> list[str]:
    """The words after the wrapper's options (and a `--` that ends them)."""
    index = 1
    while index < len(argv):
        word = argv[index]
        if word == "--":
            return argv[index + 1 :]
        if not word.startswith("-") or word == "-":
            break
        index += 2 if word in valued else 1
    return argv[index:]


def _after_assignments(words: list[str]) -> list[str]:
    """`VAR=x cmd` -> `cmd`: what sudo and env run after the variables they set."""
    index = 0
    while index < len(words) and "=" in words[index] and not words[index].startswith(("=", "-")):
        index += 1
    return words[index:]


def _env_command(argv: list[str]) -> list[list[str]]:
    split = next((i for i, word in enumerate(argv) if word in ("-S", "--split-string")), None)
    if split is not None and split + 1 < len(argv):
        # `env -S 'node --max-old-space-size=512 app.js'`: one word, split like a shell's
        return [_after_assignments(shell_words(argv[split + 1], raw_quotes=False) + argv[split + 2 :])]
    return [_after_assignments(_after_options(argv, _VALUED_OPTIONS["env"]))]


def _su_commands(argv: list[str]) -> list[list[str]]:
    """`su [-] USER -c SCRIPT`, `su -c SCRIPT USER`, `runuser -u USER -- cmd`, `runuser -l USER -c SCRIPT`."""
    index = 1
    while index < len(argv):
        word = argv[index]
        if word in ("-c", "--command") and index + 1 < len(argv):
            return _script_commands(argv[index + 1])
        if word.startswith("--command="):
            return _script_commands(word.partition("=")[2])
        if word in ("-u", "--user") and argv[0].rsplit("/", 1)[-1] == "runuser":
            rest = argv[index + 2 :]
            return [rest[1:] if rest[:1] == ["--"] else rest]
        index += 2 if word in _SU_VALUED else 1
    return []


def _shell_script(argv: list[str]) -> str | None:
    """The script of `sh -c SCRIPT` (also `bash -ec SCRIPT`, `sh -x -c SCRIPT`); None without `-c`."""
    has_c = False
    words = iter(argv[1:])
    for word in words:
        if has_c and not word.startswith("-"):
            return word
        if word in ("-o", "+o", "-O", "+O"):
            next(words, None)  # the option's name: `bash -o pipefail -c SCRIPT`
        elif word.startswith("-") and not word.startswith("--") and "c" in word[1:]:
            has_c = True
        elif not word.startswith(("-", "+")):
            return None  # a script file: `sh ./start.sh`
    return None


def _script_commands(script: str) -> list[list[str]]:
    """The commands of a script a wrapper hands to a shell (`su -c "cd /app && yarn"`)."""
    text = script.strip()
    if len(text) > 1 and text[0] == text[-1] and text[0] in "'\"":
        text = text[1:-1]  # still quoted where the shell reader kept an expansion inside
    return [command.argv for command in commands_in(text.encode("utf-8", "surrogateescape"))]
