"""Everything dockfix prints: findings and summaries as text, changes as unified diffs.

Output goes to the byte streams under stdout and stderr, so file names and diff lines that are
not UTF-8 come out as the bytes they are instead of raising or being replaced. Text lines are
written with their control characters escaped (shown_text.py; a tab and a newline are kept,
the pieces of a line that come from files escape their own), so nothing a file holds reaches
the terminal as a command; bytes (diffs, JSON) are written as they are.
"""

from __future__ import annotations

import sys
from typing import BinaryIO

from ..shown_text import escape_controls


def _encode(text: str) -> bytes:
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a lone surrogate that did not come from surrogateescape
        return text.encode("utf-8", "backslashreplace")


class Console:
    """Writes lines to stdout (results) and stderr (errors, warnings, summaries)."""

    def __init__(self, stdout: BinaryIO | None = None, stderr: BinaryIO | None = None):
        self._stdout = stdout
        self._stderr = stderr

    @property
    def stdout(self) -> BinaryIO:
        return self._stdout or sys.stdout.buffer

    @property
    def stderr(self) -> BinaryIO:
        return self._stderr or sys.stderr.buffer

    def out(self, text: str | bytes) -> None:
        """Write text (a line gets its newline here) or raw bytes (written as they are) to stdout."""
        self._write(self.stdout, text)

    def out_styled(self, line: str) -> None:
        """Write a line with colour codes of its own, whose pieces from files were escaped already."""
        self._write(self.stdout, _encode(line + "\n"))

    def err(self, text: str | bytes) -> None:
        """Write to stderr, like `out`."""
        self._write(self.stderr, text)

    @staticmethod
    def _write(stream: BinaryIO, text: str | bytes) -> None:
        data = text if isinstance(text, bytes) else _encode(escape_controls(text, keep="\t\n") + "\n")
        stream.write(data)
        stream.flush()
