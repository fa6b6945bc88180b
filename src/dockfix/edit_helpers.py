"""Edits that rules make of a Dockerfile again and again: a new instruction line before or after one."""

from __future__ import annotations

from .dockerfile.document import Document, Instruction
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
