"""Rendering a planned split: the build stage, then the production stage, as text that replaces
the single stage from its FROM to the end of the file. Comments stay with the instructions they
precede.
"""

from __future__ import annotations

import re

from ...dockerfile.document import Document, Node, Stage
from ...edits import Edit, Fix
from .planning import Split
from .reading import StageReading


def _text(doc: Document, nodes: list[Node]) -> bytes:
    out = b""
    for node in nodes:
        piece = doc.source[node.start : node.end]
        if not piece.endswith(b"\n"):
            piece += doc.newline
        out += piece
    return out


def render_split(doc: Document, stage: Stage, read: StageReading, split: Split) -> tuple[Fix, str]:
    """The fix that splits the stage, and the finding's message that says what it does."""
    newline = doc.newline.decode()
    from_inst = stage.from_instruction
    alias = stage.alias
    from_line = doc.source[from_inst.start : from_inst.end].decode("utf-8", "replace").rstrip("\r\n")
    base_line = re.sub(r"\s+[Aa][Ss]\s+\S+\s*$", "", from_line) if alias else from_line.rstrip()
    build_from = f"{base_line} AS {split.build_name}{newline}"
    production_line = re.sub(rf"(?<=\s){re.escape(stage.base)}(?=\s|$)", split.production_base, base_line, count=1)
    prod_from = f"{production_line}{f' AS {alias}' if alias else ''}{newline}"
    replacement = _build_part(doc, read, split, build_from, newline) + _production_part(
        doc, read, split, prod_from, newline
    )
    if not doc.source.endswith(b"\n"):
        replacement = replacement.rstrip(b"\r\n")
    return Fix.unsafe(Edit(from_inst.start, len(doc.source), replacement)), _message(stage, read, split)


def _build_part(doc: Document, read: StageReading, split: Split, build_from: str, newline: str) -> bytes:
    """The build stage: the steps the build keeps, as written, up to the last one, then the prune."""
    build_part = build_from.encode()
    for index, ((comments, inst), step) in enumerate(zip(read.groups, read.steps, strict=True)):
        if index > split.boundary:
            break
        if step.build:
            build_part += _text(doc, [*comments, inst])
    if split.prune:
        build_part += (split.prune + newline).encode()
    return build_part


def _production_part(doc: Document, read: StageReading, split: Split, prod_from: str, newline: str) -> bytes:
    """The production stage: the steps it repeats, the copies from the build stage, what runs once
    the app is there, and every instruction after the last build step."""
    prod_part = newline.encode() + prod_from.encode()
    after_app = b""
    for index, ((comments, inst), step) in enumerate(zip(read.groups, read.steps, strict=True)):
        if index > split.boundary:
            break
        if not step.production:
            continue
        if step.generated is not None:
            text = (step.generated + newline).encode()
        else:
            text = _text(doc, [inst] if step.build else [*comments, inst])
        if step.after_app:
            after_app += text
        else:
            prod_part += text
    prod_part += "".join(line + newline for line in split.copies).encode() + after_app
    for comments, inst in read.groups[split.boundary + 1 :]:
        prod_part += _text(doc, [*comments, inst])
    return prod_part + _text(doc, read.trailing)


def _message(stage: Stage, read: StageReading, split: Split) -> str:
    did = (
        ["install"]
        + (["build"] if split.runs_build or split.next_files else [])
        + (["prune dev dependencies"] if split.prune else [])
    )
    pinned = " (pin it by digest)" if "@" in stage.base and split.production_base != stage.base else ""
    carried = read.reading.carried
    repeats = f"; it repeats {', '.join(carried)}" if carried else ""
    return (
        f"the image builds and runs the app in one stage: split into a `{split.build_name}` stage ({', '.join(did)}) "
        f"and a production stage on `{split.production_base}`{pinned} that copies only {split.what} from it, leaving "
        f"behind {', '.join(split.left_behind)}{repeats}"
    )
