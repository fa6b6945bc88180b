"""From offsets in a logical line to the Dockerfile's bytes.

BuildKit reads an instruction as one logical line: its physical lines joined, the escape
characters that continue them and the comment lines inside removed. A logical line is kept as its
`segments`, the (logical offset, source offset) where each piece of it starts, so that what a rule
finds in the logical line maps back to the exact bytes to edit.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence

Segments = Sequence[tuple[int, int]]  # (logical_start, source_start) of each piece, in order
# Where a piece of a logical line lies in the source: (segments, length of the logical line,
# where its empty line maps, the logical offset the piece starts at). A plain tuple of numbers,
# which the garbage collector stops tracking, where an object would be one more per RUN to scan.
Spans = tuple[tuple[tuple[int, int], ...], int, int, int]


def source_offset(segments: Segments, length: int, empty_at: int, logical_offset: int) -> int:
    """The source offset of an offset in a logical line of `length` bytes made of `segments`
    (an end offset maps to just after its byte; any offset of an empty line to `empty_at`)."""
    if logical_offset >= length:
        if not segments or not length:
            return empty_at
        # the end of the logical line: just after the last byte it took from the source
        return source_offset(segments, length, empty_at, length - 1) + 1
    if len(segments) == 1:  # an instruction on one line, nearly all of them: nothing to look up
        logical_start, source_start = segments[0]
    else:
        index = bisect.bisect_right([s[0] for s in segments], logical_offset) - 1
        logical_start, source_start = segments[index]
    return source_start + (logical_offset - logical_start)


def source_span(
    segments: Segments, length: int, empty_at: int, logical_start: int, logical_end: int
) -> tuple[int, int]:
    """The source byte span covering a logical span (end exclusive)."""
    start = source_offset(segments, length, empty_at, logical_start)
    if logical_end <= logical_start:
        return start, start
    return start, source_offset(segments, length, empty_at, logical_end - 1) + 1


def spans_source(spans: Spans, start: int, end: int) -> tuple[int, int]:
    """The source byte span of the piece's offsets `start` to `end` (end exclusive)."""
    segments, length, empty_at, base = spans
    return source_span(segments, length, empty_at, base + start, base + end)
