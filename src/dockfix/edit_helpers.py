"""Edits that rules make of a Dockerfile again and again: a new instruction line before or after one,
the `# syntax` line a mount needs."""

from __future__ import annotations

from .dockerfile.document import Document, Instruction
from .dockerfile.frontend import SYNTAX_LINE, syntax_directive
from .edits import Edit


def insert_line_after(doc: Document, inst: Instruction, text: str) -> Edit:
    """An edit that puts a new instruction line right after `inst` (keeping line endings)."""
    newline = doc.newline
    if inst.end == len(doc.source) and not doc.source.endswith(b"\n"):
        return Edit.insert(inst.end, newline + text.encode())
    return Edit.insert(inst.end, text.encode() + newline)


def insert_line_before(doc: Document, inst: Instruction, text: str) -> Edit:
    """An edit that puts a new instruction line right before `inst`."""
    return Edit.insert(inst.start, text.encode() + doc.newline)


def syntax_line_edits(doc: Document) -> list[Edit]:
    """The `# syntax=docker/dockerfile:1` line a file needs for a `RUN --mount`, when it names no frontend.

    A file that names one keeps it (dockerfile.frontend says whether that one reads mounts).
    """
    if syntax_directive(doc) is not None:
        return []
    return [Edit.insert(0, SYNTAX_LINE.encode() + doc.newline)]
