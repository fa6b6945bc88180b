"""Unified diffs that `git apply` and `patch -p1` turn back into exactly the bytes dockfix writes.

The diff works on bytes: lines are split after each `\\n` only (a lone `\\r` or a form feed is part
of a line, as it is for patch and git), so CRLF endings, bytes that are not UTF-8 and a missing
final newline all come through unchanged; the last case gets the `\\ No newline at end of file`
marker. Hunks are grouped by difflib with three lines of context, like `diff -u`.
"""

from __future__ import annotations

import difflib
import os
import re
from pathlib import Path

CONTEXT_LINES = 3
NO_NEWLINE_MARKER = b"\\ No newline at end of file\n"
_LINE = re.compile(rb"[^\n]*\n|[^\n]+\Z")


def split_lines(data: bytes) -> list[bytes]:
    """The lines of `data`, each with its `\\n` (the last one may lack it)."""
    return _LINE.findall(data)


def display_path(path: Path) -> str:
    """The path relative to the current folder when it lies below it, else absolute."""
    absolute = os.path.abspath(path)
    try:
        relative = os.path.relpath(absolute)
    except ValueError:  # another drive on Windows
        return absolute
    if relative == os.pardir or relative.startswith(os.pardir + os.sep):
        return absolute
    return relative


def header_names(path: Path, root: Path | None = None) -> tuple[str, str]:
    """`a/<path>` and `b/<path>` for files below the current folder (for `patch -p1`), else the absolute path twice.

    With `root`, the path is taken relative to that folder instead (a repository's patch).
    """
    if root is not None:
        relative = os.path.relpath(os.path.abspath(path), os.path.abspath(root)).replace(os.sep, "/")
        return f"a/{relative}", f"b/{relative}"
    shown = display_path(path)
    if os.path.isabs(shown):
        return shown, shown
    shown = shown.replace(os.sep, "/")
    return f"a/{shown}", f"b/{shown}"


def _range(start: int, length: int) -> str:
    # The same convention as difflib and GNU diff: an empty range names the line before it.
    first = start + 1
    if length == 1:
        return f"{first}"
    if length == 0:
        first -= 1
    return f"{first},{length}"


def _emit(prefix: bytes, line: bytes, out: list[bytes]) -> None:
    out.append(prefix + line)
    if not line.endswith(b"\n"):
        out.append(b"\n" + NO_NEWLINE_MARKER)


def unified_diff(old: bytes | None, new: bytes, path: Path, root: Path | None = None) -> bytes:
    """The diff turning `old` into `new` for the file at `path`; `old` None means a new file.

    File names are relative to the current folder, or to `root` when it is given.

    Returns b"" when nothing changes.
    """
    if old == new:
        return b""
    old_lines = split_lines(old or b"")
    new_lines = split_lines(new)
    old_name, new_name = header_names(path, root)
    if old is None:
        old_name = "/dev/null"
    out = [
        b"--- " + old_name.encode("utf-8", "surrogateescape") + b"\n",
        b"+++ " + new_name.encode("utf-8", "surrogateescape") + b"\n",
    ]
    matcher = difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False)
    for group in matcher.get_grouped_opcodes(CONTEXT_LINES):
        first, last = group[0], group[-1]
        old_range = _range(first[1], last[2] - first[1])
        new_range = _range(first[3], last[4] - first[3])
        out.append(f"@@ -{old_range} +{new_range} @@\n".encode())
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                for line in old_lines[i1:i2]:
                    _emit(b" ", line, out)
                continue
            for line in old_lines[i1:i2]:
                _emit(b"-", line, out)
            for line in new_lines[j1:j2]:
                _emit(b"+", line, out)
    return b"".join(out)
