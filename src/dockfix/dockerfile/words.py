"""How BuildKit splits an instruction's arguments into words, reads ENV, and expands variables.

One port of BuildKit's word lexer (moby/buildkit, frontend/dockerfile/parser) serves both of its
uses there: `parseWords` (ENV, LABEL), which keeps quotes and escape tokens as written, and
`extractBuilderFlags` (the `--flag` words after a keyword), which removes them. Beside it: the
shell lexer's word split (ProcessWords without expansion), the heredocs a line opens, the one
reader of ENV's name=value pairs and the one expander of `$VAR` references.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

# Go's unicode.IsSpace on characters. Python's str.isspace also counts the separators
# \x1c-\x1f, which Go does not.
GO_SPACES = frozenset("\t\n\v\f\r \x85\xa0\u1680\u2028\u2029\u202f\u205f\u3000") | frozenset(
    map(chr, range(0x2000, 0x200B))
)
# extractBuilderFlags looks at single bytes with unicode.IsSpace, so the Latin-1 spaces 0x85
# and 0xA0 count there even when they are part of a UTF-8 sequence. The flags are lexed over the
# bytes read as Latin-1, one character a byte, with these as the spaces.
FLAG_SPACES = frozenset(" \t\n\v\f\r\x85\xa0")
WHITESPACE = re.compile(r"[\t\v\f\r ]+")  # BuildKit's reWhitespace, the ASCII spaces but \n
_HEREDOC_WORD = re.compile(r"^(\d*)<<(-?)([^<]*)$", re.DOTALL)
_SUBSTITUTION_NAME = re.compile(r"[A-Za-z0-9_]*")
_VARIABLE = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-+])([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))")

FlagWord = tuple[str, str | None, str, int, int]  # name, value (None without `=`), text, start, end


class _Lexer:
    """BuildKit's word state machine over text[pos:end].

    `as_written` (parseWords) keeps quotes and escape tokens and lets nothing be escaped inside
    single quotes; otherwise (extractBuilderFlags) they are removed, the escape works in both
    quotes, and the lexer stops at the first word that is not a `--flag` (or after `--`).
    """

    def __init__(self, text: str, escape: str, spaces: frozenset[str], *, as_written: bool):
        self.text = text
        self.escape = escape
        self.spaces = spaces
        self.as_written = as_written
        self.words: list[tuple[str, int, int]] = []

    def _starts_flag(self, pos: int, end: int) -> bool:
        return self.text[pos] == "-" and pos + 1 < end and self.text[pos + 1] == "-"

    def run(self, pos: int, end: int) -> int:
        """Lex to `end`; the offset where the arguments start (flags) or `end`."""
        text, escape, spaces, keep = self.text, self.escape, self.spaces, self.as_written
        word: list[str] = []
        word_start = pos
        blank_ok = False
        phase = "spaces"
        quote = ""
        while pos <= end:
            ch = text[pos] if pos < end else ""
            if phase == "spaces":
                if pos == end:
                    return end
                if ch in spaces:
                    pos += 1
                    continue
                if not keep and not self._starts_flag(pos, end):
                    return pos
                phase = "word"
                word_start = pos
            if pos == end:
                self._emit(word, blank_ok, word_start, pos)
                return end
            if phase == "word":
                if ch in spaces:
                    if not keep and "".join(word) == "--":
                        return pos
                    self._emit(word, blank_ok, word_start, pos)
                    word, blank_ok, phase = [], False, "spaces"
                    pos += 1
                    continue
                if ch in "'\"":
                    quote, blank_ok, phase = ch, True, "quote"
                    if not keep:
                        pos += 1
                        continue
                elif ch == escape:
                    if pos + 1 == end:
                        pos += 1
                        continue
                    if keep:
                        word.append(ch)
                    pos += 1
                    ch = text[pos]
            elif ch == quote:
                phase = "word"
                if not keep:
                    pos += 1
                    continue
            elif ch == escape and (not keep or quote != "'"):
                if pos + 1 == end:
                    phase = "word"
                    pos += 1
                    continue
                if keep:
                    word.append(ch)
                pos += 1
                ch = text[pos]
            word.append(ch)
            pos += 1
        return end

    def _emit(self, word: list[str], blank_ok: bool, start: int, end: int) -> None:
        text = "".join(word)
        if (blank_ok or word) and (self.as_written or text != "--"):
            self.words.append((text, start, end))


def parse_words(rest: str, escape: str = "\\") -> list[str]:
    """BuildKit's parseWords (ENV, LABEL, ARG): whitespace-separated, quotes kept as written."""
    lexer = _Lexer(rest, escape, GO_SPACES, as_written=True)
    lexer.run(0, len(rest))
    return [word for word, _, _ in lexer.words]


def extract_flags(line: bytes, pos: int, end: int) -> tuple[int, list[FlagWord]]:
    """BuildKit's extractBuilderFlags over line[pos:end]: (offset where arguments start, flags)."""
    lexer = _Lexer(line.decode("latin-1"), "\\", FLAG_SPACES, as_written=False)
    args_start = lexer.run(pos, end)
    flags: list[FlagWord] = []
    for word, start, stop in lexer.words:
        text = word.encode("latin-1").decode("utf-8", "replace")
        body = text[2:] if text.startswith("--") else text
        name, sep, value = body.partition("=")
        flags.append((name, value if sep else None, text, start, stop))
    return args_start, flags


def split_first_word(data: bytes) -> list[bytes]:
    """Split off the first word at a byte BuildKit's byte-wise unicode.IsSpace counts as space."""
    text = data.decode("latin-1")
    for index, char in enumerate(text):
        if char in FLAG_SPACES:
            rest = text[index:]
            while rest and rest[0] in FLAG_SPACES:
                rest = rest[1:]
            return [data[:index], rest.encode("latin-1")] if rest else [data[:index]]
    return [data] if data else []


def shell_words(text: str, raw_quotes: bool = True) -> list[str]:
    """Split like BuildKit's shell lexer (ProcessWords) without expanding variables.

    With raw_quotes the quote characters stay in the words, as BuildKit's heredoc detection
    sees them; without, they are removed.
    """
    words: list[str] = []
    word: list[str] = []
    in_word = False
    quote = ""
    i = 0
    while i < len(text):
        ch = text[i]
        if quote:
            if ch == quote:
                quote = ""
                if raw_quotes:
                    word.append(ch)
            elif ch == "\\" and quote == '"' and i + 1 < len(text):
                if raw_quotes:
                    word.append(ch)
                i += 1
                word.append(text[i])
            else:
                word.append(ch)
            i += 1
            continue
        if ch in GO_SPACES:
            if in_word:
                words.append("".join(word))
                word = []
                in_word = False
            i += 1
            continue
        in_word = True
        if ch in "'\"":
            quote = ch
            if raw_quotes:
                word.append(ch)
        elif ch == "\\":
            if i + 1 < len(text):
                if raw_quotes:
                    word.append(ch)
                i += 1
                word.append(text[i])
        else:
            word.append(ch)
        i += 1
    if in_word:
        words.append("".join(word))
    return words


def _lexes_cleanly(text: str) -> bool:
    """Whether BuildKit's shell lexer reads the whole line without an error.

    It fails on an open quote and on a broken `${...}` (no closing brace, `${}`, `${:x}`, an
    unknown modifier); then it yields no words, so the line opens no heredoc. Quotes and
    backslashes are read as shell_words reads them.
    """
    quote = ""
    i = 0
    while i < len(text):
        ch = text[i]
        if quote == "'":
            if ch == "'":
                quote = ""
        elif ch == "\\":
            i += 1
        elif ch == '"':
            quote = "" if quote else '"'
        elif ch == "'" and not quote:
            quote = "'"
        elif ch == "$" and text.startswith("${", i):
            i += 2
            if i >= len(text) or text[i] in "{}:":
                return False
            name = _SUBSTITUTION_NAME.match(text, i)
            assert name is not None  # `*`: it matches, if only the empty string
            i = name.end()
            if i >= len(text) or text[i] not in "}:?-+%#/":
                return False
            closing = text.find("}", i)
            if closing < 0:
                return False
            i = closing
        i += 1
    return not quote


def _quote_count(word: str) -> int:
    return word.count("'") + word.count('"')


def heredocs_in(logical: bytes) -> list[tuple[str, bool, bool, int]]:
    """The heredocs a RUN/COPY/ADD line opens: (name, chomp, expand, file descriptor)."""
    text = logical.decode("utf-8", "surrogateescape")
    if not _lexes_cleanly(text):
        return []  # BuildKit's shell lexer fails on the line: it opens no heredoc
    found = []
    for word in shell_words(text, raw_quotes=True):
        match = _HEREDOC_WORD.match(word)
        if not match or not match.group(3):
            continue
        rest = match.group(3)
        plain = shell_words(rest, raw_quotes=False)
        raw = shell_words(rest, raw_quotes=True)
        if len(plain) != 1 or len(raw) != 1 or not plain[0]:
            continue  # `<<""` names no heredoc either
        expand = _quote_count(plain[0]) == _quote_count(raw[0])
        fd = int(match.group(1)) if match.group(1) else 0
        found.append((plain[0], match.group(2) == "-", expand, fd))
    return found


@dataclass(frozen=True, slots=True)
class Heredoc:
    """A heredoc attached to RUN/COPY/ADD: name, options, and the body's bytes and byte span."""

    name: str
    chomp: bool
    expand: bool
    file_descriptor: int
    body_start: int
    body_end: int  # the terminator line starts here
    terminator_end: int
    body: bytes


@dataclass(frozen=True, slots=True)
class EnvLine:
    """What an ENV instruction sets: (name, value as written, quotes kept) pairs.

    `legacy` is the old `ENV NAME value` form: one pair, whose value is the rest of the line.
    """

    pairs: tuple[tuple[str, str], ...]
    legacy: bool


def read_env(args: str, escape: str) -> EnvLine:
    """BuildKit's parseNameVal over an ENV's arguments, with the file's escape character."""
    words = parse_words(args, escape)
    if not words:
        return EnvLine((), legacy=False)
    if "=" not in words[0]:
        parts = WHITESPACE.split(args, 1)
        return EnvLine(((parts[0], parts[1] if len(parts) > 1 else ""),), legacy=True)
    return EnvLine(tuple((name, value) for name, _, value in (word.partition("=") for word in words)), legacy=False)


def variables_read(text: str) -> set[str]:
    """The names `substitute_args` looks up in `text` (`$VARIANT`, `${NODE_VERSION:-24}`)."""
    return {match.group(1) or match.group(4) for match in _VARIABLE.finditer(text)}


def substitute_args(text: str, values: Mapping[str, str | None]) -> str | None:
    """Expand $VAR / ${VAR} / ${VAR:-default} / ${VAR:+word} with known values; None if one is unknown."""
    unresolved = False

    def replace(match: re.Match[str]) -> str:
        nonlocal unresolved
        name = match.group(1) or match.group(4)
        operator, word = match.group(2), match.group(3)
        value = values.get(name)
        if operator in (":-", "-"):
            if value is None or (operator == ":-" and value == ""):
                return word or ""
            return value
        if operator in (":+", "+"):
            return (word or "") if value else ""
        if value is None:
            unresolved = True
            return ""
        return value

    result = _VARIABLE.sub(replace, text)
    return None if unresolved or "$" in result else result
