"""The shell inside RUN, seen through tree-sitter-bash.

A RUN instruction's script is its shell-form arguments (the joined logical line) or a heredoc
body. Each script knows how to map its own offsets back to the Dockerfile's bytes, so a rule can
rewrite exactly the `npm install` inside `apt-get ... && npm install && npm cache clean --force`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import lru_cache

from .document import Document, Instruction


@lru_cache(maxsize=1)
def _parser():
    import tree_sitter_bash
    from tree_sitter import Language, Parser

    return Parser(Language(tree_sitter_bash.language()))


@lru_cache(maxsize=2048)
def _tree(script: bytes):
    # Every rule reads the same RUN scripts on every pass of the pipeline: parse each once.
    return _parser().parse(script)


@dataclass(frozen=True)
class Word:
    text: str  # unquoted where the quoting is simple; as written otherwise
    raw: bytes
    start: int  # offsets in the script
    end: int


@dataclass(frozen=True)
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


@dataclass
class Script:
    """A piece of shell and the way back from its offsets to the Dockerfile's."""

    text: bytes
    to_source: Callable[[int, int], tuple[int, int]]
    from_heredoc: bool = False

    def commands(self) -> list[Command]:
        return commands_in(self.text)

    @property
    def has_errors(self) -> bool:
        return _tree(self.text).root_node.has_error


def _word_text(node, source: bytes) -> str:
    raw = source[node.start_byte : node.end_byte]
    if node.type == "raw_string":
        return raw[1:-1].decode("utf-8", "replace")
    if node.type == "string" and all(c.type in ('"', "string_content") for c in node.children):
        return raw[1:-1].decode("utf-8", "replace")
    return raw.decode("utf-8", "replace")


def commands_in(script: bytes) -> list[Command]:
    """Every simple command in the script, in source order (nested ones included)."""
    tree = _tree(script)
    found: list[Command] = []

    def visit(node) -> None:
        if node.type == "command":
            name_node = node.child_by_field_name("name")
            if name_node is not None:
                args, assignments = [], []
                for child in node.children:
                    if child.type == "variable_assignment":
                        assignments.append(
                            Word(
                                _word_text(child, script),
                                script[child.start_byte : child.end_byte],
                                child.start_byte,
                                child.end_byte,
                            )
                        )
                    elif child is not None and child.start_byte >= name_node.end_byte and child.is_named:
                        args.append(
                            Word(
                                _word_text(child, script),
                                script[child.start_byte : child.end_byte],
                                child.start_byte,
                                child.end_byte,
                            )
                        )
                found.append(
                    Command(
                        name=_word_text(name_node, script),
                        args=tuple(args),
                        assignments=tuple(assignments),
                        start=node.start_byte,
                        end=node.end_byte,
                        name_start=name_node.start_byte,
                    )
                )
        for child in node.children:
            visit(child)

    visit(tree.root_node)
    return found


def uses_shell_features(script: bytes) -> bool:
    """True unless the script is one plain command of plain words (no &&, pipes, $, quotes that matter)."""
    root = _tree(script).root_node
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


def run_scripts(doc: Document, inst: Instruction) -> Iterator[Script]:
    """The shell scripts a shell-form RUN executes: its line, and heredoc bodies it feeds a shell."""
    if inst.name != "RUN" or inst.is_json_form:
        return
    base = inst.args_start

    def from_args(start: int, end: int) -> tuple[int, int]:
        return inst.source_span(base + start, base + end)

    yield Script(inst.args_bytes, from_args)
    for heredoc in inst.heredocs:
        body_start = heredoc.body_start

        def from_body(start: int, end: int, _base: int = body_start) -> tuple[int, int]:
            return _base + start, _base + end

        yield Script(doc.source[heredoc.body_start : heredoc.body_end], from_body, from_heredoc=True)
