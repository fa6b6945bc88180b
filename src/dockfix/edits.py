"""Fixes are data: byte-range edits with an applicability, never text surgery by rules.

A rule returns findings; a finding may carry a fix; a fix is a set of edits that must be
applied together (possibly in several files: the Dockerfile, `.dockerignore`, app sources).
The pipeline decides which fixes apply, in which order, and checks the result.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path


class Applicability(enum.Enum):
    """How sure a fix is to keep a working build and a working app working.

    SAFE: cannot break a build or a running app that worked; applied by default.
    UNSAFE: may change behaviour (a new base variant, a new user, app code); applied only with
    --unsafe-fixes, otherwise shown as available.
    DISPLAY_ONLY: shown as a suggestion, never applied.
    """

    SAFE = "safe"
    UNSAFE = "unsafe"
    DISPLAY_ONLY = "display-only"


@dataclass(frozen=True, slots=True)
class Edit:
    """Replace bytes [start, end) of a file with `content`.

    `path` None means the Dockerfile being fixed; otherwise the file it names, which may not
    exist yet (then start == end == 0 creates it).
    """

    start: int
    end: int
    content: bytes
    path: Path | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.start <= self.end:
            raise ValueError(f"bad edit range {self.start}..{self.end}")

    @classmethod
    def insert(cls, offset: int, content: bytes, path: Path | None = None) -> Edit:
        return cls(offset, offset, content, path)

    @classmethod
    def delete(cls, start: int, end: int, path: Path | None = None) -> Edit:
        return cls(start, end, b"", path)


@dataclass(frozen=True, slots=True)
class Fix:
    """Edits applied together, or not at all.

    `isolated` asks for a pass of its own: the fix changes something other rules read (the base
    image's family, say), so fixes planned on the old text must wait and be planned again.
    """

    edits: tuple[Edit, ...]
    applicability: Applicability
    isolated: bool = False

    @classmethod
    def safe(cls, *edits: Edit) -> Fix:
        return cls(tuple(edits), Applicability.SAFE)

    @classmethod
    def unsafe(cls, *edits: Edit) -> Fix:
        return cls(tuple(edits), Applicability.UNSAFE)

    @classmethod
    def display_only(cls, *edits: Edit) -> Fix:
        return cls(tuple(edits), Applicability.DISPLAY_ONLY)

    def alone(self) -> Fix:
        """The same fix, applied in a pass of its own."""
        return Fix(self.edits, self.applicability, isolated=True)


@dataclass(frozen=True, slots=True)
class Finding:
    """What a rule has to say about one place in a file."""

    code: str
    message: str
    line: int
    fix: Fix | None = None
    path: Path | None = None  # None: the Dockerfile; else the file the finding is about
    # What the user must do once the fix is applied (build differently, rotate a token):
    # shown with --diff and --write, where applied findings are not listed.
    action: str | None = None
    # Not a problem: why a rule leaves the file alone (a development image, nothing a split
    # would leave behind), so a user can tell "nothing to do" from "chose not to". A note has
    # no fix, is never counted as a finding and never fails --check.
    note: bool = False
    # An image left unpinned because its digest could not be resolved (offline, no registry
    # answer): the run warns about each such image once it is done, where a user looks.
    digest_unresolved: bool = False

    @property
    def fixable(self) -> bool:
        return self.fix is not None and self.fix.applicability is not Applicability.DISPLAY_ONLY


def overlaps(a: Edit, b: Edit) -> bool:
    """Two edits of the same file collide if their ranges overlap or both insert at one point."""
    if a.path != b.path:
        return False
    if a.start == a.end == b.start == b.end:
        return True
    return (a.start < b.end and b.start < a.end) or (a.start == b.start and (a.start == a.end or b.start == b.end))


def apply_edits(data: bytes, edits: Iterable[Edit]) -> bytes:
    """Apply non-overlapping edits to one file's bytes, from the end backwards, so offsets stay valid.

    Edits may touch (an insertion where a replacement starts) but not overlap: that is a bug in
    whoever made them, refused with ValueError rather than applied as garbage.
    """
    size = len(data)
    next_start = size
    for edit in sorted(edits, key=lambda e: (e.start, e.end), reverse=True):
        if edit.end > size:
            raise ValueError(f"edit {edit.start}..{edit.end} beyond end of file ({size} bytes)")
        if edit.end > next_start:
            raise ValueError(f"edit {edit.start}..{edit.end} overlaps the edit at {next_start}")
        data = data[: edit.start] + edit.content + data[edit.end :]
        next_start = edit.start
    return data
