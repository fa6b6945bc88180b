"""ANSI colour for a terminal: only when the stream is one and NO_COLOR is not set.

https://no-color.org: any non-empty NO_COLOR turns colour off; TERM=dumb does too. FORCE_COLOR
(non-empty) turns it on when output is not a terminal, for CI logs that render ANSI.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TextIO

RESET = "\x1b[0m"
BOLD = "\x1b[1m"
RED = "\x1b[31m"
GREEN = "\x1b[32m"
CYAN = "\x1b[36m"


def wants_color(stream: TextIO, environ: Mapping[str, str] | None = None) -> bool:
    """Whether output to `stream` should be coloured."""
    environ = os.environ if environ is None else environ
    if environ.get("NO_COLOR"):
        return False
    if environ.get("FORCE_COLOR"):
        return True
    if environ.get("TERM") == "dumb":
        return False
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def paint(text: str, *codes: str, enabled: bool = True) -> str:
    """`text` in the given ANSI styles, or as it is when colour is off."""
    if not enabled or not codes:
        return text
    return "".join(codes) + text + RESET


def color_diff(diff: bytes) -> bytes:
    """A unified diff with headers bold, hunks cyan, removed lines red and added ones green."""
    out = []
    for line in diff.splitlines(keepends=True):
        body, ending = (line[:-1], b"\n") if line.endswith(b"\n") else (line, b"")
        if line.startswith((b"--- ", b"+++ ")):
            style = BOLD
        elif line.startswith(b"@@"):
            style = CYAN
        elif line.startswith(b"-"):
            style = RED
        elif line.startswith(b"+"):
            style = GREEN
        else:
            out.append(line)
            continue
        out.append(style.encode() + body + RESET.encode() + ending)
    return b"".join(out)
