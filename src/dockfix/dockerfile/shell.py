"""The shell inside RUN, seen through tree-sitter-bash.

A RUN instruction's script is its shell-form arguments (the joined logical line) or a heredoc
body. Each script knows how to map its own offsets back to the Dockerfile's bytes, so a rule can
rewrite exactly the `npm install` inside `apt-get ... && npm install && npm cache clean --force`.

Heredocs are read the way BuildKit runs them. A line that is nothing but one heredoc
(`RUN <<EOT`) runs the body as the script (or, when the body starts with `#!`, as a file run by
that interpreter); the line itself runs nothing. Any other line runs in the shell with the bodies
as the inputs of the commands that open them: a body is shell only when a shell reads it
(`RUN <<EOT bash`), not when `cat`, `python3` or `node` does.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

from .offsets import Spans, spans_source
from .words import Heredoc

if TYPE_CHECKING:
    from tree_sitter import Node, Parser, Tree


@cache
def _parser() -> Parser:
    # tree-sitter's door: the grammar is loaded only when a script is not one plain command.
    import tree_sitter_bash
    from tree_sitter import Language, Parser

    return Parser(Language(tree_sitter_bash.language()))


def parse_bash(script: bytes) -> Tree:
    """The syntax tree of a piece of shell."""
    return _parser().parse(script)


@dataclass(frozen=True, slots=True)
class Word:
    text: str  # unquoted where the quoting is simple; as written otherwise
    raw: bytes
    start: int  # offsets in the script
    end: int


@dataclass(frozen=True, slots=True)
class Command:
    """One simple command: `NODE_ENV=x npm install --production`."""

    name: str
    args: tuple[Word, ...]
    assignments: tuple[Word, ...]
    start: int
    end: int
    name_start: int

    @property
    def argv(self) -> list[str]:
        return [self.name, *(w.text for w in self.args)]

    def has_arg(self, *values: str) -> bool:
        return any(w.text in values for w in self.args)


@dataclass(frozen=True, slots=True, eq=False)
class Script:
    """A piece of shell, read once (by `read_script`), and where its bytes lie in the Dockerfile.

    `commands` are every simple command in it, in source order (nested ones included); `tree` is
    its syntax tree, None for a script of plain words, which is read without the grammar.
    """

    text: bytes
    commands: tuple[Command, ...]
    tree: Tree | None
    spans: Spans
    from_heredoc: bool = False

    def to_source(self, start: int, end: int) -> tuple[int, int]:
        """The Dockerfile's byte span of the script's offsets `start` to `end`."""
        return spans_source(self.spans, start, end)

    @property
    def has_errors(self) -> bool:
        return self.tree is not None and self.tree.root_node.has_error


def read_script(text: bytes, spans: Spans, *, from_heredoc: bool = False) -> Script:
    """The script `text`, whose offsets lie in the Dockerfile as `spans` say, read."""
    plain = _plain_command(text)
    if plain is not None:
        return Script(text, (plain,), None, spans, from_heredoc)
    tree = parse_bash(text)
    return Script(text, tuple(_parsed_commands(text, tree)), tree, spans, from_heredoc)


def _word_text(node: Node, source: bytes) -> str:
    raw = source[node.start_byte : node.end_byte]
    if node.type == "raw_string":
        return raw[1:-1].decode("utf-8", "replace")
    if node.type == "string" and all(c.type in ('"', "string_content") for c in node.children):
        return raw[1:-1].decode("utf-8", "replace")
    return raw.decode("utf-8", "replace")


def _command(node: Node, script: bytes) -> Command | None:
    """The simple command a tree-sitter `command` node is; None when it has no name."""
    name_node = node.child_by_field_name("name")
    if name_node is None:
        return None
    args, assignments = [], []
    for child in node.children:
        word = Word(
            _word_text(child, script), script[child.start_byte : child.end_byte], child.start_byte, child.end_byte
        )
        if child.type == "variable_assignment":
            assignments.append(word)
        elif child.start_byte >= name_node.end_byte and child.is_named:
            args.append(word)
    return Command(
        name=_word_text(name_node, script),
        args=tuple(args),
        assignments=tuple(assignments),
        start=node.start_byte,
        end=node.end_byte,
        name_start=name_node.start_byte,
    )


# A script of plain words (`npm ci`, `yarn install --frozen-lockfile`) is one simple command,
# told without the grammar: most one-file runs then never load tree-sitter. Plain: letters,
# digits and `_./:@%+,-` (and `=` after the first word), no quotes, expansions, globs, operators
# or comments; the first word not one the grammar reads otherwise (a keyword, a declaration).
_PLAIN_WORDS = re.compile(rb"[ \t]*[A-Za-z_./][A-Za-z0-9_./:@%+,-]*(?:[ \t]+[A-Za-z0-9_./:@%+,=-]+)*[ \t]*")
_PLAIN_WORD = re.compile(rb"[^ \t]+")
_NOT_PLAIN_COMMANDS = frozenset(
    "if then else elif fi case esac for select while until do done in function time coproc "  # noqa: SIM905
    "declare typeset export readonly local unset unsetenv".split()
)


def _plain_command(script: bytes) -> Command | None:
    """The one command of a script of plain words, as the grammar reads it; None for any other script."""
    if _PLAIN_WORDS.fullmatch(script) is None:
        return None
    words = [
        Word(match.group().decode("ascii"), match.group(), match.start(), match.end())
        for match in _PLAIN_WORD.finditer(script)
    ]
    if words[0].text in _NOT_PLAIN_COMMANDS:
        return None
    name = words[0]
    return Command(name.text, tuple(words[1:]), (), name.start, words[-1].end, name.start)


def commands_in(script: bytes) -> list[Command]:
    """Every simple command in a piece of shell, in source order (nested ones included)."""
    plain = _plain_command(script)
    return [plain] if plain is not None else _parsed_commands(script, parse_bash(script))


def _parsed_commands(script: bytes, tree: Tree) -> list[Command]:
    """The commands of a script, read by the grammar.

    The tree is walked with a stack, not by recursion: a RUN of 1,600 commands joined by `&&`
    is a list nested 1,600 deep.
    """
    found: list[Command] = []
    stack = [tree.root_node]
    while stack:
        node = stack.pop()
        if node.type == "command":
            command = _command(node, script)
            if command is not None:
                found.append(command)
        stack.extend(reversed(node.children))
    return found


def and_chain(script: bytes) -> list[Command] | None:
    """The commands of a script that is simple commands joined by `&&` (`a && b && c`), in order.

    None for anything else: pipes, redirections, `;`, `||`, subshells, `if`, a command
    substitution in a command's name. In such a chain the last command is the one that ends
    the script: putting `exec` in front of it makes it replace the shell.
    """
    root = parse_bash(script).root_node
    if root.has_error:
        return None
    statements = [c for c in root.children if c.is_named and c.type != "comment"]
    if len(statements) != 1:
        return None
    found: list[Command] = []
    stack = [statements[0]]  # walked with a stack: `a && b && c` nests one list per `&&`
    while stack:
        node = stack.pop()
        if node.type == "list":
            if any(not child.is_named and child.type != "&&" for child in node.children):
                return None
            stack.extend(reversed([c for c in node.children if c.is_named and c.type != "comment"]))
            continue
        if node.type != "command":
            return None
        command = _command(node, script)
        name = node.child_by_field_name("name")
        if command is None or name is None or any(c.type != "word" for c in name.children):
            return None
        found.append(command)
    return found


def uses_shell_features(script: bytes) -> bool:
    """True unless the script is one plain command of plain words (no &&, pipes, $, quotes that matter)."""
    if _plain_command(script) is not None:
        return False
    root = parse_bash(script).root_node
    if root.has_error:
        return True
    statements = [c for c in root.children if c.is_named and c.type != "comment"]
    if len(statements) != 1 or statements[0].type != "command":
        return True
    command = statements[0]
    for child in command.children:
        if child.type == "variable_assignment":
            continue
        if child.type == "command_name":
            child = child.children[0] if child.children else child
        if child.type not in ("word", "raw_string", "string", "number"):
            return True
        if child.type == "string" and any(c.type not in ('"', "string_content") for c in child.children):
            return True
        text = script[child.start_byte : child.end_byte]
        if child.type == "word" and any(ch in text for ch in b"$`*?[]{}~\\"):
            return True
    return False


SHELLS = frozenset({"sh", "bash", "ash", "dash", "zsh", "ksh", "mksh"})
# A heredoc opener as BuildKit's lexer sees it: a whole word `[n]<<[-]NAME`, the name maybe quoted.
_OPENER = re.compile(rb"(?<![^ \t])(\d*)<<(-?)(\S+)")
_ONLY_OPENER = re.compile(rb"^\d*<<-?\S+$")


def _is_shell(word: str) -> bool:
    return word.rsplit("/", 1)[-1] in SHELLS


def _openers(line: bytes, heredocs: Sequence[Heredoc]) -> list[tuple[int, int]] | None:
    """The (start, end) of each heredoc's opener in the line, in order; None if they cannot be told."""
    found: list[tuple[int, int]] = []
    for match in _OPENER.finditer(line):
        name = match.group(3).replace(b'"', b"").replace(b"'", b"").decode("utf-8", "surrogateescape")
        if len(found) < len(heredocs) and name == heredocs[len(found)].name:
            found.append((match.start(), match.end()))
    return found if len(found) == len(heredocs) else None


def _as_input_redirects(line: bytes, openers: list[tuple[int, int]]) -> bytes:
    """`<<EOT` becomes `< EOT`, as long: to the command it is an input, and the grammar then reads
    the line without the body it cannot see (offsets stay where they were)."""
    text = bytearray(line)
    for start, _ in openers:
        at = text.index(b"<<", start)
        text[at : at + 2] = b"< "
    return bytes(text)


def _reader(line: Script, opener_start: int) -> Command | None:
    """The simple command whose input the heredoc opened at `opener_start` is."""
    if line.tree is None:
        return None  # plain words open no heredoc
    node = line.tree.root_node.descendant_for_byte_range(opener_start, opener_start + 1)
    while node is not None and node.type != "file_redirect":
        node = node.parent
    parent = node.parent if node is not None else None
    if parent is not None and parent.type == "redirected_statement":
        parent = parent.child_by_field_name("body")
    if parent is None or parent.type != "command":
        return None
    return next((c for c in line.commands if (c.start, c.end) == (parent.start_byte, parent.end_byte)), None)


def _runs_in_a_shell(body: bytes) -> bool:
    """A body without a shebang runs in the shell; with one, in the interpreter it names."""
    if not body.startswith(b"#!"):
        return True
    words = body[2:].split(b"\n", 1)[0].decode("utf-8", "replace").split()
    if words[:1] and words[0].rsplit("/", 1)[-1] == "env":
        words = [w for w in words[1:] if not w.startswith("-")]
    return bool(words) and _is_shell(words[0])


def _body_script(heredoc: Heredoc) -> Script:
    # The body is one piece of the source, from its first byte.
    spans = (((0, heredoc.body_start),), len(heredoc.body), heredoc.body_start, 0)
    return read_script(heredoc.body, spans, from_heredoc=True)


def run_scripts(line: bytes, line_spans: Spans, heredocs: Sequence[Heredoc]) -> tuple[Script, ...]:
    """The shell scripts a shell-form RUN executes: its line (the arguments after the flags, which
    lie in the Dockerfile as `line_spans` say), and the heredoc bodies a shell reads."""
    if not heredocs:
        return (read_script(line, line_spans),)
    if len(heredocs) == 1 and _ONLY_OPENER.match(line):
        body = _body_script(heredocs[0])
        return (body,) if _runs_in_a_shell(body.text) else ()
    openers = _openers(line, heredocs)
    if openers is None:
        return (read_script(line, line_spans),)  # read as it is: the grammar reports it, rules leave it alone
    readable = read_script(_as_input_redirects(line, openers), line_spans)
    scripts = [readable]
    for heredoc, (start, _) in zip(heredocs, openers, strict=True):
        reader = _reader(readable, start)
        if heredoc.file_descriptor == 0 and reader is not None and _reads_script_from_input(reader):
            scripts.append(_body_script(heredoc))
    return tuple(scripts)


def _reads_script_from_input(command: Command) -> bool:
    """`bash`, `sh -e`, `sh -s arg`: a shell that takes its script from its input, not from
    `-c` or a file."""
    if not _is_shell(command.name):
        return False
    options = [w.text for w in command.args if w.text.startswith("-") and not w.text.startswith("--")]
    operands = [w.text for w in command.args if not w.text.startswith("-")]
    if any("c" in option[1:] for option in options):
        return False
    return not operands or any("s" in option[1:] for option in options)
