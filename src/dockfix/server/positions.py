"""Byte offsets, as fixes give them, to LSP positions, as editors want them, and back.

Fixes edit bytes; an LSP position is a line and a column counted in the code units the client
and server agreed on (UTF-16 unless the client offers another). Lines end at `\\n`, `\\r\\n` or
`\\r`, as the protocol says, and nowhere else.
"""

from __future__ import annotations

import bisect
import re

from lsprotocol import types

_LINE_BREAK = re.compile(rb"\r\n|\r|\n")


def encode(text: str) -> bytes:
    """A document's text as the bytes fixes are offsets into."""
    return text.encode("utf-8", "surrogateescape")


def decode(data: bytes) -> str:
    return data.decode("utf-8", "surrogateescape")


def _units(text: str, encoding: str) -> int:
    if encoding == types.PositionEncodingKind.Utf8:
        return len(encode(text))
    if encoding == types.PositionEncodingKind.Utf32:
        return len(text)
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


class LineIndex:
    """Where each line of a file's bytes starts, to turn offsets into positions and back."""

    def __init__(self, data: bytes, encoding: str = types.PositionEncodingKind.Utf16):
        self.data = data
        self.encoding = encoding
        self.starts = [0, *(match.end() for match in _LINE_BREAK.finditer(data))]
        # Where each line's content ends, before its line break.
        self.ends = [match.start() for match in _LINE_BREAK.finditer(data)] + [len(data)]

    def position(self, offset: int) -> types.Position:
        offset = max(0, min(offset, len(self.data)))
        line = bisect.bisect_right(self.starts, offset) - 1
        # An offset inside a line break (between \r and \n) is the end of the line.
        end = min(offset, self.ends[line])
        return types.Position(line, _units(decode(self.data[self.starts[line] : end]), self.encoding))

    def offset(self, position: types.Position) -> int:
        if position.line >= len(self.starts):
            return len(self.data)
        start, end = self.starts[position.line], self.ends[position.line]
        text = decode(self.data[start:end])
        # Walk the line's characters until the column is reached (a column inside a character,
        # or beyond the line's end, is taken as the next character's start, as the protocol says).
        units = 0
        for index, character in enumerate(text):
            if units >= position.character:
                return start + len(encode(text[:index]))
            units += _units(character, self.encoding)
        return end

    def range(self, start: int, end: int) -> types.Range:
        return types.Range(self.position(start), self.position(end))

    def line_range(self, number: int) -> types.Range:
        """The range of a 1-based line's content without its indentation; the first line for 0."""
        line = min(max(number - 1, 0), len(self.starts) - 1)
        start, end = self.starts[line], self.ends[line]
        content = self.data[start:end]
        indent = len(content) - len(content.lstrip(b" \t"))
        if indent == len(content):  # a blank line: the whole of it
            indent = 0
        return self.range(start + indent, end)


def replacement(old: bytes, new: bytes, encoding: str) -> types.TextEdit:
    """One edit that turns `old` into `new`, replacing only the part that differs.

    Replacing the changed middle rather than the whole file keeps the editor's cursor, folds and
    marks where they were.
    """
    old_text, new_text = decode(old), decode(new)
    limit = min(len(old_text), len(new_text))
    prefix = 0
    while prefix < limit and old_text[prefix] == new_text[prefix]:
        prefix += 1
    if prefix and old_text[prefix - 1] == "\r":
        prefix -= 1  # never split a \r\n: a position between the two does not exist
    suffix = 0
    while suffix < limit - prefix and old_text[-1 - suffix] == new_text[-1 - suffix]:
        suffix += 1
    if (
        suffix
        and old_text[len(old_text) - suffix] == "\n"
        and old_text[len(old_text) - suffix - 1 : len(old_text) - suffix] == "\r"
    ):
        suffix -= 1
    start = len(encode(old_text[:prefix]))
    end = len(old) - len(encode(old_text[len(old_text) - suffix :])) if suffix else len(old)
    middle = new_text[prefix : len(new_text) - suffix] if suffix else new_text[prefix:]
    return types.TextEdit(range=LineIndex(old, encoding).range(start, end), new_text=middle)
