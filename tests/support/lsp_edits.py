"""Applying LSP edits to text, as an editor does: the tests' own, independent of the server's code.

Positions count lines ended by `\\n`, `\\r\\n` or `\\r`, and columns in UTF-16 code units (the
protocol's default encoding, which the test clients use).
"""

from __future__ import annotations

import re

from lsprotocol import types

_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)?")


def _offset(text: str, position: types.Position) -> int:
    lines = [match.group() for match in _LINE.finditer(text)][:-1] or [""]
    if position.line >= len(lines):
        return len(text)
    start = sum(len(line) for line in lines[: position.line])
    content = lines[position.line].rstrip("\r\n")
    units = 0
    for index, character in enumerate(content):
        if units >= position.character:
            return start + index
        units += 2 if ord(character) > 0xFFFF else 1
    return start + len(content)


def apply_text_edits(text: str, edits: list[types.TextEdit]) -> str:
    """Apply edits made for `text` (non-overlapping, in any order), from the end backwards."""
    spans = sorted(
        ((_offset(text, edit.range.start), _offset(text, edit.range.end), edit.new_text) for edit in edits),
        reverse=True,
    )
    for start, end, new_text in spans:
        text = text[:start] + new_text + text[end:]
    return text


def apply_workspace_edit(edit: types.WorkspaceEdit, texts: dict[str, str]) -> dict[str, str]:
    """The texts of the files a workspace edit touches, after it; `texts` has their texts before
    (a file it creates starts empty)."""
    result: dict[str, str] = {}
    for change in edit.document_changes or []:
        if isinstance(change, types.CreateFile):
            result.setdefault(change.uri, texts.get(change.uri, ""))
        elif isinstance(change, types.TextDocumentEdit):
            uri = change.text_document.uri
            before = result.get(uri, texts.get(uri))
            assert before is not None, f"no text for {uri}"
            result[uri] = apply_text_edits(before, [e for e in change.edits if isinstance(e, types.TextEdit)])
        else:
            raise AssertionError(f"unexpected change {change!r}")
    for uri, edits in (edit.changes or {}).items():
        before = result.get(uri, texts.get(uri))
        assert before is not None, f"no text for {uri}"
        result[uri] = apply_text_edits(before, list(edits))
    return result
