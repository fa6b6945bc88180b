"""Unified diffs that `git apply` and `patch -p1` turn back into exactly the bytes dockfix writes.

The diff works on bytes: lines are split after each `\\n` only (a lone `\\r` or a form feed is part
of a line, as it is for patch and git), so CRLF endings, bytes that are not UTF-8 and a missing
final newline all come through unchanged; the last case gets the `\\ No newline at end of file`
marker. Hunks are grouped by difflib with three lines of context, like `diff -u`.

difflib's matcher costs, for every line, as many steps as the line has copies in the new file:
on a file of thousands of identical lines that is quadratic (minutes for 12,000 lines). When that
count is over `DIFFLIB_WORK_LIMIT` the matching lines come from Myers' algorithm instead, whose
cost grows with the number of lines changed, not with how often a line repeats; every ordinary
file stays under the limit and gets difflib's diff, as before.
"""

from __future__ import annotations

import difflib
import os
import re
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

CONTEXT_LINES = 3
NO_NEWLINE_MARKER = b"\\ No newline at end of file\n"
# Steps difflib may take: a line's copies in the old file times its copies in the new one, summed
# over the lines. A file of distinct lines costs its length; 12,000 copies of one line cost 144M.
DIFFLIB_WORK_LIMIT = 1_000_000
# Myers' algorithm costs about (lines) x (lines changed); past this many changed lines the rest
# of the middle is shown as one replaced block (a dockfix fix changes a handful of lines).
MAX_MYERS_CHANGES = 2_000
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
    matcher = _matcher(old_lines, new_lines)
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


class _GivenMatches(difflib.SequenceMatcher):
    """difflib's hunk grouping over matching blocks found elsewhere (Myers' algorithm)."""

    def __init__(self, old: list[bytes], new: list[bytes], blocks: list[difflib.Match]):
        super().__init__(None, old, new, autojunk=False)
        self._given = blocks

    def get_matching_blocks(self) -> list[difflib.Match]:
        return self._given


def difflib_work(old: Sequence[bytes], new: Sequence[bytes]) -> int:
    """An upper bound of the steps one of difflib's longest-match searches takes on these lines."""
    copies = Counter(new)
    return sum(copies[line] for line in old)


def _matcher(old: list[bytes], new: list[bytes]) -> difflib.SequenceMatcher[bytes]:
    if difflib_work(old, new) <= DIFFLIB_WORK_LIMIT:
        return difflib.SequenceMatcher(None, old, new, autojunk=False)
    return _GivenMatches(old, new, myers_matching_blocks(old, new))


def myers_matching_blocks(old: Sequence[bytes], new: Sequence[bytes]) -> list[difflib.Match]:
    """The matching blocks of a shortest edit script (Myers 1986), in difflib's form: ascending
    (i, j, size) triples ending with (len(old), len(new), 0).

    The common first and last lines are matched directly; the middle is searched for at most
    MAX_MYERS_CHANGES changed lines, past which it is one replaced block.
    """
    head = 0
    while head < min(len(old), len(new)) and old[head] == new[head]:
        head += 1
    tail = 0
    while tail < min(len(old), len(new)) - head and old[-1 - tail] == new[-1 - tail]:
        tail += 1
    pairs = _myers_pairs(old[head : len(old) - tail], new[head : len(new) - tail])
    matched = [(i, i) for i in range(head)]
    matched += [(head + i, head + j) for i, j in pairs]
    matched += [(len(old) - tail + k, len(new) - tail + k) for k in range(tail)]
    blocks: list[difflib.Match] = []
    for i, j in matched:
        if blocks and blocks[-1].a + blocks[-1].size == i and blocks[-1].b + blocks[-1].size == j:
            blocks[-1] = difflib.Match(blocks[-1].a, blocks[-1].b, blocks[-1].size + 1)
        else:
            blocks.append(difflib.Match(i, j, 1))
    blocks.append(difflib.Match(len(old), len(new), 0))
    return blocks


def _myers_pairs(old: Sequence[bytes], new: Sequence[bytes]) -> list[tuple[int, int]]:
    """(old index, new index) of each line a shortest edit script keeps; [] past the limit."""
    n, m = len(old), len(new)
    furthest = {1: 0}  # diagonal k = x - y -> furthest x reached
    history: list[dict[int, int]] = []
    for changes in range(min(n + m, MAX_MYERS_CHANGES) + 1):
        history.append(dict(furthest))
        for k in range(-changes, changes + 1, 2):
            down = k == -changes or (k != changes and furthest[k - 1] < furthest[k + 1])
            x = furthest[k + 1] if down else furthest[k - 1] + 1
            y = x - k
            while x < n and y < m and old[x] == new[y]:
                x, y = x + 1, y + 1
            furthest[k] = x
            if x >= n and y >= m:
                return _kept_lines(history, n, m)
    return []


def _kept_lines(history: list[dict[int, int]], n: int, m: int) -> list[tuple[int, int]]:
    """Walk the search back from the end: the diagonal moves of each step are kept lines."""
    kept: list[tuple[int, int]] = []
    x, y = n, m
    for changes in range(len(history) - 1, -1, -1):
        before = history[changes]
        k = x - y
        down = k == -changes or (k != changes and before[k - 1] < before[k + 1])
        previous_k = k + 1 if down else k - 1
        start_x = before[previous_k]
        start_y = start_x - previous_k
        while x > start_x and y > start_y:
            x, y = x - 1, y - 1
            kept.append((x, y))
        if changes > 0:
            x, y = start_x, start_y
    kept.reverse()
    return kept
