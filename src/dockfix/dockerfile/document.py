"""A lossless Dockerfile document.

The document is the source bytes plus a partition of them into nodes: parser directives,
comments, blank lines and instructions. Every byte belongs to exactly one node (a UTF-8 BOM is
the document's prefix), so printing the nodes in order gives back the input byte for byte.
Nothing is decoded destructively: offsets are byte offsets into the source, and bytes that are
not UTF-8 stay as they are.

The way lines are joined, comments skipped inside continuations, flags split off and heredocs
found follows BuildKit's own parser (moby/buildkit, frontend/dockerfile/parser), so instruction
boundaries, keywords, flags and heredoc bodies agree with what `docker build` sees. The tests
check that agreement over a corpus of real Dockerfiles with BuildKit's parser as the oracle.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import Concatenate, ParamSpec, TypeVar

from .offsets import source_offset, source_span
from .shell import Command, Script, commands_in, run_scripts
from .words import (
    WHITESPACE,
    Heredoc,
    extract_flags,
    heredocs_in,
    parse_words,
    shell_words,
    split_first_word,
    substitute_args,
)

BOM = b"\xef\xbb\xbf"

# Instructions that BuildKit reads heredocs for.
HEREDOC_INSTRUCTIONS = frozenset({"RUN", "COPY", "ADD"})
KNOWN_INSTRUCTIONS = frozenset(
    {
        "ADD",
        "ARG",
        "CMD",
        "COPY",
        "ENTRYPOINT",
        "ENV",
        "EXPOSE",
        "FROM",
        "HEALTHCHECK",
        "LABEL",
        "MAINTAINER",
        "ONBUILD",
        "RUN",
        "SHELL",
        "STOPSIGNAL",
        "USER",
        "VOLUME",
        "WORKDIR",
    }
)
# Instructions whose arguments BuildKit tries as a JSON array first.
JSON_FORM_INSTRUCTIONS = frozenset({"RUN", "CMD", "ENTRYPOINT", "SHELL", "COPY", "ADD", "VOLUME"})
VALID_DIRECTIVES = ("syntax", "escape", "check")

# Go's unicode.IsSpace, as BuildKit trims with it: ASCII spaces plus the Unicode White_Space
# characters, here as their UTF-8 byte sequences.
_UNICODE_SPACE = (
    rb"(?:[ \t\n\v\f\r]|\xc2[\x85\xa0]|\xe1\x9a\x80|\xe2\x80[\x80-\x8a\xa8\xa9\xaf]"
    rb"|\xe2\x81\x9f|\xe3\x80\x80)"
)
_LEADING_SPACE = re.compile(_UNICODE_SPACE + b"*")
_TRAILING_SPACE = re.compile(_UNICODE_SPACE + b"*\\Z")
# Bytes no space starts or ends with: text beginning (or ending) with one has no run to take away
# there, which is nearly every line, so the patterns are not run for it.
_NOT_SPACE = frozenset(byte for byte in range(0x80) if byte not in b" \t\n\v\f\r")
_DIRECTIVE = re.compile(rb"^#[ \t]*([a-zA-Z][a-zA-Z0-9]*)[ \t]*=[ \t]*(.+?)[ \t]*$")
COMMAND_SPLIT = re.compile(rb"[\t\v\f\r ]+")  # BuildKit's reWhitespace
# BuildKit reads the file with a bufio.Scanner limited to this many bytes per line (without the
# "\n"; a BOM counts in the first line) and rejects a file with a longer one.
MAX_LINE_LENGTH = 65535


class DockerfileSyntaxError(Exception):
    """The file is not a Dockerfile BuildKit would accept; `line` is 1-based (0 if unknown)."""

    def __init__(self, message: str, line: int = 0):
        super().__init__(message)
        self.message = message
        self.line = line

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}" if self.line else self.message


def _lstrip_space(data: bytes) -> bytes:
    if not data or data[0] in _NOT_SPACE:
        return data
    # Both patterns match, if only the empty string: the first match is the run to take away.
    return _LEADING_SPACE.sub(b"", data, count=1)


def _strip_space(data: bytes) -> bytes:
    data = _lstrip_space(data)
    if not data or data[-1] in _NOT_SPACE:
        return data
    return _TRAILING_SPACE.sub(b"", data, count=1)


def _trim_newline(line: bytes) -> bytes:
    return line.rstrip(b"\r\n")


def _is_comment(line: bytes) -> bool:
    return _lstrip_space(_trim_newline(line)).startswith(b"#")


@dataclass(frozen=True, slots=True)
class Line:
    """One physical line: `start` to `end` includes its line ending, if it has one."""

    start: int
    end: int
    number: int  # 1-based


@dataclass(frozen=True, slots=True)
class Flag:
    """A builder flag such as `--from=build`: its unquoted text and where it stands."""

    name: str
    value: str | None
    text: str
    start: int
    end: int


@dataclass(slots=True)
class Node:
    """A run of whole lines of the source."""

    kind: str  # "directive" | "comment" | "blank" | "instruction"
    start: int
    end: int
    line: int  # 1-based number of the first line


@dataclass(slots=True)
class Instruction(Node):
    """An instruction with every piece a rule needs, all as byte spans into the source.

    `logical` is the instruction's line as BuildKit sees it: continuation characters and the
    comment or empty lines inside a continuation removed, lines joined. `segments` map logical
    offsets back to source offsets, so a rule can find something in the logical text and edit
    the exact bytes of the source.
    """

    end_line: int = 0
    keyword: str = ""  # as written, e.g. "run"
    # The keyword in upper case: `RUN`, `FROM`... (rules ask it of every instruction, many times a pass).
    name: str = ""
    keyword_start: int = 0
    keyword_end: int = 0
    logical: bytes = b""
    segments: tuple[tuple[int, int], ...] = ()  # (logical_start, source_start)
    # Tuples, not lists: most instructions have no flag and no heredoc, and share the empty tuple.
    flags: tuple[Flag, ...] = ()
    args_start: int = 0  # logical offsets of the arguments after the flags, stripped
    args_end: int = 0
    heredocs: tuple[Heredoc, ...] = ()
    json_args: list[str] | None = None
    onbuild_keyword: str | None = None
    # BuildKit reads heredocs after RUN, COPY and ADD in shell form, also behind ONBUILD.
    reads_heredocs: bool = False
    # What is read from the instruction once, when first asked (a parsed instruction never
    # changes): kept in slots rather than with cached_property, whose dictionary per instruction
    # was one more object for the garbage collector to scan in every full pass.
    _shell_words_read: tuple[str, ...] | None = field(default=None, init=False, repr=False, compare=False)
    _scripts_read: tuple[Script, ...] | None = field(default=None, init=False, repr=False, compare=False)
    _commands_read: tuple[Command, ...] | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def args(self) -> str:
        """The arguments after the flags as text (undecodable bytes replaced, for reading)."""
        return self.logical[self.args_start : self.args_end].decode("utf-8", "replace")

    @property
    def args_bytes(self) -> bytes:
        return self.logical[self.args_start : self.args_end]

    @property
    def is_json_form(self) -> bool:
        return self.json_args is not None

    @property
    def words(self) -> list[str]:
        """The arguments as a list: the JSON array in exec form, else the unquoted shell words."""
        return list(self.json_args if self.json_args is not None else self._shell_words)

    @property
    def _shell_words(self) -> tuple[str, ...]:
        if self._shell_words_read is None:
            self._shell_words_read = tuple(shell_words(self.args, raw_quotes=False))
        return self._shell_words_read

    def flag(self, name: str) -> Flag | None:
        """The last flag of that name (BuildKit lets the last one win)."""
        found = None
        for flag in self.flags:
            if flag.name == name:
                found = flag
        return found

    def source_offset(self, logical_offset: int) -> int:
        """The source offset of a logical offset (an end offset maps to just after its byte)."""
        return source_offset(self.segments, len(self.logical), self.keyword_start, logical_offset)

    def source_span(self, logical_start: int, logical_end: int) -> tuple[int, int]:
        """The source byte span covering a logical span (end exclusive)."""
        return source_span(self.segments, len(self.logical), self.keyword_start, logical_start, logical_end)

    @property
    def args_span(self) -> tuple[int, int]:
        return self.source_span(self.args_start, self.args_end)

    @property
    def spans_one_line(self) -> bool:
        return self.line == self.end_line

    # Read once, by the instruction, when first asked: every rule and the guard read the same
    # scripts, on every pass and in every variant of the file a fix is tried on.
    @property
    def scripts(self) -> tuple[Script, ...]:
        """The shell scripts a shell-form RUN executes: its line, and the heredoc bodies a shell reads."""
        if self._scripts_read is None:
            self._scripts_read = self._read_scripts()
        return self._scripts_read

    def _read_scripts(self) -> tuple[Script, ...]:
        if self.name != "RUN" or self.is_json_form:
            return ()
        return run_scripts(
            self.args_bytes, (self.segments, len(self.logical), self.keyword_start, self.args_start), self.heredocs
        )

    @property
    def commands(self) -> tuple[Command, ...]:
        """The simple commands a shell-form RUN, CMD or ENTRYPOINT runs."""
        if self._commands_read is None:
            self._commands_read = self._read_commands()
        return self._commands_read

    def _read_commands(self) -> tuple[Command, ...]:
        if self.is_json_form:
            return ()
        if self.name == "RUN":
            if len(self.scripts) == 1:  # nearly every RUN: its one script's commands, not a copy
                return self.scripts[0].commands
            return tuple(command for script in self.scripts for command in script.commands)
        if self.name in ("CMD", "ENTRYPOINT"):
            return tuple(commands_in(self.args.encode()))
        return ()


@dataclass
class Stage:
    """A build stage: its FROM and the instructions up to the next FROM."""

    index: int
    from_instruction: Instruction
    base: str  # the image as written, e.g. "node:${NODE_VERSION}-alpine"
    alias: str | None
    platform: str | None
    instructions: list[Instruction]
    resolved_base: str | None  # the base with global ARG defaults substituted, if they resolve
    parent_stage: int | None  # index of an earlier stage this one builds on

    @property
    def is_external(self) -> bool:
        """Built on an image from a registry (not an earlier stage, not scratch)."""
        return self.parent_stage is None and (self.resolved_base or self.base).lower() != "scratch"


_P = ParamSpec("_P")
_T = TypeVar("_T")


# Compared by identity: a parsed document never changes, so what is derived from it is kept by it.
@dataclass(eq=False)
class Document:
    """A parsed Dockerfile. `render()` gives back the source byte for byte."""

    source: bytes
    nodes: list[Node]
    bom: bool
    escape: bytes
    directives: dict[str, str]
    lines: list[Line]
    # Argument errors BuildKit's parser rejects the file for (e.g. `ENV A=1 B`). The document
    # still holds such a file, byte for byte; whoever fixes it must refuse it.
    errors: list[DockerfileSyntaxError] = field(default_factory=list)
    # What other layers derive from the whole document (what each stage inherits, the guard's
    # reading of each RUN), by the function that derives it: see `derived`.
    _derived: dict[Callable[..., object], object] = field(default_factory=dict, init=False, repr=False)

    @classmethod
    def parse(cls, source: bytes) -> Document:
        return _Parser(source).parse()

    def render(self) -> bytes:
        out = [BOM] if self.bom else []
        out.extend(self.source[node.start : node.end] for node in self.nodes)
        return b"".join(out)

    def derived(self, compute: Callable[Concatenate[Document, _P], _T], *args: _P.args, **kwargs: _P.kwargs) -> _T:
        """`compute(self, ...)`, worked out on the first ask and kept by the document: the facts a
        layer above reads of every stage (asked per stage and per instruction, walking the chain
        each time made chained stages cost the square of their number). The arguments serve the
        first ask only: they may make it cheaper, never change its answer."""
        if compute not in self._derived:
            self._derived[compute] = compute(self, *args, **kwargs)
        return self._derived[compute]  # type: ignore[return-value]  # stored by this compute

    # A parsed document never changes (fixes make a new one), so what is derived from its
    # nodes is computed once: rules ask for the stages tens of times per pass.
    @cached_property
    def instructions(self) -> list[Instruction]:
        return [n for n in self.nodes if isinstance(n, Instruction)]

    @property
    def newline(self) -> bytes:
        """The line ending new lines should use: the one of the first line that has one."""
        for line in self.lines:
            text = self.source[line.start : line.end]
            if text.endswith(b"\r\n"):
                return b"\r\n"
            if text.endswith(b"\n"):
                return b"\n"
        return b"\n"

    @cached_property
    def global_args(self) -> list[Instruction]:
        """ARG instructions before the first FROM."""
        found = []
        for inst in self.instructions:
            if inst.name == "FROM":
                break
            if inst.name == "ARG":
                found.append(inst)
        return found

    @cached_property
    def stages(self) -> list[Stage]:
        return _stages(self)

    def line_text(self, number: int) -> bytes:
        line = self.lines[number - 1]
        return self.source[line.start : line.end]

    def line_start(self, offset: int) -> int:
        """Offset of the start of the physical line holding `offset`."""
        return self.source.rfind(b"\n", 0, offset) + 1


def iter_lines(source: bytes, start: int = 0) -> Iterator[Line]:
    number = 1
    offset = start
    while offset < len(source):
        newline = source.find(b"\n", offset)
        end = len(source) if newline < 0 else newline + 1
        yield Line(offset, end, number)
        number += 1
        offset = end


class _Parser:
    def __init__(self, source: bytes):
        if b"\x00" in source:
            raise DockerfileSyntaxError("binary file (contains NUL bytes), not a Dockerfile")
        self.bom = source.startswith(BOM)
        self.source = source[len(BOM) :] if self.bom else source
        # Offsets in nodes are into the source without its BOM; Document.source keeps that
        # form and render() puts the BOM back.
        self.lines = list(iter_lines(self.source))
        for line in self.lines:
            length = line.end - line.start - (self.source[line.end - 1 : line.end] == b"\n")
            if length + (len(BOM) if self.bom and line.number == 1 else 0) > MAX_LINE_LENGTH:
                raise DockerfileSyntaxError(
                    f"line longer than {MAX_LINE_LENGTH} bytes, the most BuildKit reads", line.number
                )
        self.escape = b"\\"
        self.directives: dict[str, str] = {}
        self.directives_done = False
        self.errors: list[DockerfileSyntaxError] = []
        self.continuation = self._continuation_regex()

    def _continuation_regex(self) -> re.Pattern[bytes]:
        # BuildKit's `(^|[^\\])\\[ \t]*$`: a doubled escape character does not continue the line.
        escape = re.escape(self.escape)
        return re.compile(rb"(?<!" + escape + rb")" + escape + rb"[ \t]*$")

    def _text(self, line: Line) -> bytes:
        return self.source[line.start : line.end]

    def _possible_directive(self, content: bytes, line_number: int) -> bool:
        """BuildKit's directive parser: valid only before any other line; returns True if it is one."""
        if self.directives_done:
            return False
        match = _DIRECTIVE.match(content)
        if not match:
            self.directives_done = True
            return False
        name = match.group(1).decode("ascii").lower()
        if name not in VALID_DIRECTIVES:
            self.directives_done = True
            return False
        if name in self.directives:
            raise DockerfileSyntaxError(f"only one {name} parser directive can be used", line_number)
        value = match.group(2).decode("utf-8", "replace")
        if name == "escape":
            if value not in ("`", "\\"):
                raise DockerfileSyntaxError(f"invalid escape token '{value}' does not match ` or \\", line_number)
            self.escape = value.encode()
            self.continuation = self._continuation_regex()
        self.directives[name] = value
        return True

    def _trim_continuation(self, content: bytes) -> tuple[bytes, bool]:
        """Remove a trailing escape character; the bool says whether the line ends there."""
        match = self.continuation.search(content)
        if match:
            return content[: match.start()], False
        return content, True

    def parse(self) -> Document:
        nodes: list[Node] = []
        lines = self.lines
        i = 0
        while i < len(lines):
            line = lines[i]
            raw = _trim_newline(self._text(line))
            stripped = _lstrip_space(raw)
            is_directive = self._possible_directive(stripped, line.number)
            if is_directive:
                nodes.append(Node("directive", line.start, line.end, line.number))
                i += 1
                continue
            if stripped.startswith(b"#"):
                nodes.append(Node("comment", line.start, line.end, line.number))
                i += 1
                continue
            content, ends = self._trim_continuation(stripped)
            if ends and not content:
                nodes.append(Node("blank", line.start, line.end, line.number))
                i += 1
                continue
            i = self._instruction(i, nodes)
        return Document(
            source=self.source,
            nodes=nodes,
            bom=self.bom,
            escape=self.escape,
            directives=dict(self.directives),
            lines=self.lines,
            errors=self.errors,
        )

    def _instruction(self, i: int, nodes: list[Node]) -> int:
        """Parse the instruction starting at line index i; return the index after it."""
        lines = self.lines
        first = lines[i]
        raw = _trim_newline(self._text(first))
        lead = len(raw) - len(_lstrip_space(raw))
        content, ends = self._trim_continuation(raw[lead:])
        logical = bytearray(content)
        segments = [(0, first.start + lead)]
        i += 1
        while not ends and i < len(lines):
            line = lines[i]
            text = self._text(line)
            body = _trim_newline(text)
            i += 1
            if _is_comment(text):
                continue
            if not _lstrip_space(body):
                continue  # an empty continuation line: BuildKit skips it (with a warning)
            piece, ends = self._trim_continuation(body)
            segments.append((len(logical), line.start))
            logical += piece
        last_line = lines[i - 1]
        inst = Instruction(kind="instruction", start=first.start, end=last_line.end, line=first.number)
        inst.logical = bytes(logical)
        inst.segments = tuple(segments)
        self._split_command(inst)
        if inst.reads_heredocs and b"<<" in inst.logical:
            i = self._read_heredocs(inst, i)
        inst.end = lines[i - 1].end
        inst.end_line = lines[i - 1].number
        nodes.append(inst)
        return i

    def _split_command(self, inst: Instruction) -> None:
        split = _split_logical(inst.logical)
        inst.keyword = split.keyword
        inst.name = split.keyword.upper()
        inst.keyword_start = inst.source_offset(split.lead)
        inst.keyword_end = inst.source_span(split.lead, split.keyword_end)[1]
        if split.flags is None:
            inst.args_start = inst.args_end = split.args_start
            return
        inst.flags = tuple(
            Flag(name, value, text, *inst.source_span(start, end)) for name, value, text, start, end in split.flags
        )
        inst.args_start = split.args_start
        inst.args_end = split.args_end
        name = inst.name
        if name == "ONBUILD":
            sub = inst.args_bytes.split(None, 1)
            inst.onbuild_keyword = sub[0].decode("utf-8", "replace").upper() if sub else None
            if len(sub) == 2:
                sub_args_start = extract_flags(sub[1], 0, len(sub[1]))[0]
                sub_args = _strip_space(sub[1][sub_args_start:])
                self._check(inst.onbuild_keyword, sub_args, inst.line)
                inst.reads_heredocs = inst.onbuild_keyword in HEREDOC_INSTRUCTIONS and _maybe_json(sub_args) is None
        else:
            self._check(name, inst.args_bytes, inst.line)
        if name in JSON_FORM_INSTRUCTIONS:
            inst.json_args = _maybe_json(inst.args_bytes)
        if name in HEREDOC_INSTRUCTIONS:
            inst.reads_heredocs = inst.json_args is None

    def _check(self, name: str | None, args: bytes, line: int) -> None:
        message = _argument_error(name, args, self.escape)
        if message is not None:
            self.errors.append(DockerfileSyntaxError(message, line))

    def _read_heredocs(self, inst: Instruction, i: int) -> int:
        lines = self.lines
        heredocs = []
        for name, chomp, expand, fd in heredocs_in(inst.logical):
            terminator = name.encode("utf-8", "surrogateescape")
            body_start = lines[i].start if i < len(lines) else len(self.source)
            while True:
                if i >= len(lines):
                    raise DockerfileSyntaxError(f"unterminated heredoc {name!r}", inst.line)
                line = lines[i]
                i += 1
                candidate = _trim_newline(self._text(line))
                if chomp:
                    candidate = candidate.lstrip(b"\t")
                if candidate == terminator:
                    body = self.source[body_start : line.start]
                    heredocs.append(Heredoc(name, chomp, expand, fd, body_start, line.start, line.end, body))
                    break
        inst.heredocs = tuple(heredocs)
        return i


@dataclass(frozen=True)
class _LogicalSplit:
    """Where a logical line's keyword, flags and arguments are, in logical offsets."""

    lead: int
    keyword: str
    keyword_end: int
    flags: tuple[tuple[str, str | None, str, int, int], ...] | None  # None: a keyword alone
    args_start: int
    args_end: int


def _split_logical(logical: bytes) -> _LogicalSplit:
    lead = len(logical) - len(_lstrip_space(logical))
    trimmed_end = lead + len(_strip_space(logical))
    match = COMMAND_SPLIT.search(logical, lead, trimmed_end)
    keyword_end = match.start() if match else trimmed_end
    keyword = logical[lead:keyword_end].decode("utf-8", "replace")
    if not match:
        return _LogicalSplit(lead, keyword, keyword_end, None, trimmed_end, trimmed_end)
    args_start, flags = extract_flags(logical, match.end(), trimmed_end)
    rest = logical[args_start:trimmed_end]
    args_start += len(rest) - len(_lstrip_space(rest))
    return _LogicalSplit(lead, keyword, keyword_end, tuple(flags), args_start, args_start + len(_strip_space(rest)))


class _NotJSON(ValueError):
    pass


def _reject_constant(name: str) -> None:
    raise _NotJSON(name)  # Go's encoding/json has no NaN or Infinity


_JSON_DECODER = json.JSONDecoder(parse_constant=_reject_constant)
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _replace_lone_surrogates(text: str) -> str:
    """A lone surrogate escape (`"\\ud800"`) is U+FFFD for Go, and could not be written back as UTF-8."""
    return text if text.isascii() else _LONE_SURROGATE.sub("\ufffd", text)


def _json_array(args: bytes) -> list | None:
    if not args.startswith(b"["):
        return None
    try:
        # Go's json.Decoder, as BuildKit uses it, reads the first value and ignores what follows
        # (`CMD ["node", "a.js"] x` is exec form), and reads invalid UTF-8 in strings as U+FFFD.
        value, _ = _JSON_DECODER.raw_decode(args.decode("utf-8", "replace"))
    except ValueError:
        return None
    if not isinstance(value, list):
        return None
    return [_replace_lone_surrogates(item) if isinstance(item, str) else item for item in value]


def _maybe_json(args: bytes) -> list[str] | None:
    """BuildKit's parseMaybeJSON: a JSON array of strings, or None for shell form."""
    value = _json_array(args)
    if value is not None and all(isinstance(item, str) for item in value):
        return value
    return None


def _argument_error(name: str | None, args: bytes, escape: bytes) -> str | None:
    """The argument error BuildKit's parser itself raises (the file is rejected); None if none."""
    if name in JSON_FORM_INSTRUCTIONS or name == "HEALTHCHECK":
        if name == "HEALTHCHECK":
            parts = split_first_word(args)  # parseHealthConfig looks at single bytes
            args = parts[1] if len(parts) == 2 else b""
        value = _json_array(args)
        if value is not None and not all(isinstance(item, str) for item in value):
            return "when using JSON array syntax, arrays must be comprised of strings only"
    elif name in ("ENV", "LABEL"):
        words = parse_words(args.decode("utf-8", "surrogateescape"), escape.decode())
        if not words:
            return None
        if "=" not in words[0]:
            if len(COMMAND_SPLIT.split(args, 1)) < 2:
                return f"{name} must have two arguments"
            return None
        for word in words:
            if "=" not in word:
                shown = word.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
                return f"Syntax error - can't find = in {json.dumps(shown)}. Must be of the form: name=value"
    return None


def arg_defaults(instructions: list[Instruction]) -> dict[str, str | None]:
    """Name -> default value of ARG instructions (None when declared without one)."""
    values: dict[str, str | None] = {}
    for inst in instructions:
        for word in shell_words(inst.args, raw_quotes=False):
            name, sep, value = word.partition("=")
            values[name] = value if sep else values.get(name)
    return values


def _stages(doc: Document) -> list[Stage]:
    stages: list[Stage] = []
    by_alias: dict[str, int] = {}  # the last earlier stage of each name
    defaults = arg_defaults(doc.global_args)
    current: Stage | None = None
    for inst in doc.instructions:
        if inst.name == "FROM":
            # BuildKit splits FROM's arguments on ASCII whitespace only: `a\u00a0b` is one word.
            words = [w for w in WHITESPACE.split(inst.args) if w]
            base = words[0] if words else ""
            alias = words[2] if len(words) >= 3 and words[1].lower() == "as" else None
            platform_flag = inst.flag("platform")
            resolved = substitute_args(base, defaults) if "$" in base else base
            parent = None
            if resolved is not None:
                parent = by_alias.get(resolved.lower())
                if resolved.isdigit() and int(resolved) < len(stages):
                    parent = int(resolved)
            current = Stage(
                index=len(stages),
                from_instruction=inst,
                base=base,
                alias=alias,
                platform=platform_flag.value if platform_flag else None,
                instructions=[inst],
                resolved_base=resolved,
                parent_stage=parent,
            )
            stages.append(current)
            if alias:
                by_alias[alias.lower()] = current.index
        elif current is not None:
            current.instructions.append(inst)
    return stages
