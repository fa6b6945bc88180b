"""The language server's input, read so that one message with a wrong `Content-Length` costs only itself.

pygls reads a header line, then exactly `Content-Length` bytes. When that number is wrong, the
body it reads ends inside the next message (or takes in part of it), every later header is
glued to the end of a body, and pygls never recognises one again: the server goes silent for
good. `ResyncingInput` is the stream pygls reads instead of standard input. It keeps its own
buffer and finds the messages' real bounds:

- a body cannot hold another message's `Content-Length: N` header followed by CR LF (JSON does
  not allow a raw CR or LF inside a string, nor letters outside one), so a body read that meets
  one ends there: the length was too large;
- a body that is complete JSON before its declared length, with nothing more sent for now, ends
  there too, so a client waiting for the answer is answered;
- a header line that is no header (the rest of a body whose length was too small) is skipped up
  to the next `Content-Length:`.

Each skip or cut is one line on standard error (the editor's log for the server).
"""

from __future__ import annotations

import json
import re
import select
import sys
from typing import BinaryIO, TextIO

_HEADER_LINE = re.compile(rb"[A-Za-z][A-Za-z0-9-]*: [^\r\n]*\r\n|\r\n")
_NEXT_HEADER = re.compile(rb"Content-Length: \d+\r\n")
_HEADER_START = b"Content-Length: "
_CHUNK = 64 * 1024
_HEADER_OVERLAP = 40  # a `Content-Length: N` header cut between two reads is still found


class ResyncingInput:
    """A binary stream with `readline` and `read(n)`, as pygls reads standard input."""

    def __init__(self, raw: BinaryIO, log: TextIO | None = None):
        self._raw = raw
        self._log = log
        self._buffer = bytearray()
        self._eof = False

    def _say(self, text: str) -> None:
        log = self._log or sys.stderr
        log.write(f"dockfix server: warning: {text}\n")
        log.flush()

    def _fill(self) -> bool:
        """Read what the client has sent (at least one byte, or end of input); False at the end."""
        if self._eof:
            return False
        read1 = getattr(self._raw, "read1", None)
        chunk = read1(_CHUNK) if read1 is not None else self._raw.read(_CHUNK)
        if not chunk:
            self._eof = True
            return False
        self._buffer += chunk
        return True

    def _take(self, size: int) -> bytes:
        data = bytes(self._buffer[:size])
        del self._buffer[:size]
        return data

    def readline(self) -> bytes:
        """The next header line; the rest of a body whose length was too small is skipped."""
        while True:
            while b"\n" not in self._buffer and self._fill():
                pass
            end = self._buffer.find(b"\n") + 1 or len(self._buffer)
            # A header line, unless another message's header follows text on it: then it is the
            # rest of a body glued to that header.
            if not end or (
                _HEADER_LINE.fullmatch(self._buffer, 0, end) and self._buffer.find(_HEADER_START, 1, end) < 0
            ):
                return self._take(end)
            self._skip_to_next_header()

    def _skip_to_next_header(self) -> None:
        skipped = 0
        while True:
            start = self._buffer.find(_HEADER_START)
            if start >= 0:
                skipped += start
                del self._buffer[:start]
                break
            # Keep a tail that may be the start of a header cut by the read.
            keep = len(_HEADER_START) - 1
            skipped += max(0, len(self._buffer) - keep)
            del self._buffer[: max(0, len(self._buffer) - keep)]
            if not self._fill():
                skipped += len(self._buffer)
                self._buffer.clear()
                break
        self._say(f"skipped {skipped} bytes that were no message (a Content-Length smaller than its body)")

    def read(self, size: int) -> bytes:
        """The body of `size` bytes, or less where the next message or the end of the JSON shows it is shorter."""
        searched = 0
        while True:
            found = _NEXT_HEADER.search(self._buffer, searched)
            if found is not None and found.start() < size:
                return self._cut(found.start(), size)
            if len(self._buffer) >= size:
                return self._take(size)
            searched = max(0, len(self._buffer) - _HEADER_OVERLAP)
            if not self._more_ready() and self._complete_json():
                return self._cut(len(self._buffer), size)
            if not self._fill():
                return self._take(len(self._buffer))

    def _cut(self, length: int, declared: int) -> bytes:
        self._say(f"a message was {length} bytes long, not the {declared} its Content-Length said")
        return self._take(length)

    def _more_ready(self) -> bool:
        """Whether the client has sent more than the buffer holds (an in-memory stream always has)."""
        try:
            ready, _, _ = select.select([self._raw.fileno()], [], [], 0)
        except (AttributeError, OSError, ValueError):
            return True
        return bool(ready)

    def _complete_json(self) -> bool:
        """Whether the buffer holds one whole JSON message (checked only where one could end)."""
        if not self._buffer.rstrip().endswith(b"}"):
            return False
        try:
            json.loads(self._buffer)
        except ValueError:
            return False
        return True
