"""The language server's conversions between byte offsets (fixes) and LSP positions (editors)."""

from __future__ import annotations

import pytest

pytest.importorskip("lsprotocol")

from hypothesis import given
from hypothesis import strategies as st
from lsprotocol import types

from dockfix.server.positions import LineIndex, encode, replacement
from support.lsp_edits import apply_text_edits

UTF8 = types.PositionEncodingKind.Utf8
UTF16 = types.PositionEncodingKind.Utf16
UTF32 = types.PositionEncodingKind.Utf32


def test_the_edit_applier_of_the_tests_follows_the_protocol():
    text = "a\r\nb😀c\nd"
    edits = [
        types.TextEdit(types.Range(types.Position(1, 3), types.Position(1, 4)), "C"),  # after the emoji: 2 units
        types.TextEdit(types.Range(types.Position(0, 0), types.Position(0, 1)), "A"),
    ]
    assert apply_text_edits(text, edits) == "A\r\nb😀C\nd"


@pytest.mark.parametrize(
    ("encoding", "before_emoji", "after_emoji"),
    [(UTF16, 2, 4), (UTF8, 3, 7), (UTF32, 2, 3)],  # "éa" then "😀": é is 2 bytes, 😀 2 UTF-16 units, 4 bytes
)
def test_columns_count_the_agreed_code_units(encoding, before_emoji, after_emoji):
    data = "x\néa😀b\n".encode()
    index = LineIndex(data, encoding)
    emoji = data.index("😀".encode())
    assert index.position(emoji) == types.Position(1, before_emoji)
    assert index.position(emoji + 4) == types.Position(1, after_emoji)
    assert index.offset(types.Position(1, after_emoji)) == emoji + 4
    assert index.offset(types.Position(1, before_emoji)) == emoji


def test_lines_end_at_crlf_cr_and_lf_only():
    data = b"a\r\nb\rc\nd\x0ce"
    index = LineIndex(data)
    assert [index.position(data.index(letter)).line for letter in (b"a", b"b", b"c", b"d", b"e")] == [0, 1, 2, 3, 3]
    # Between \r and \n is the end of the line, not a place of its own.
    assert index.position(2) == types.Position(0, 1)


def test_a_line_range_leaves_out_the_indentation_and_the_line_end():
    index = LineIndex(b"FROM node\n    RUN x \\\r\n")
    assert index.line_range(2) == types.Range(types.Position(1, 4), types.Position(1, 11))
    assert index.line_range(0) == index.line_range(1)  # a finding about the whole file: its first line


@given(st.text(alphabet="ab\r\né😀 ", max_size=30), st.text(alphabet="ab\r\né😀 ", max_size=30))
def test_a_replacement_turns_the_old_text_into_the_new(old, new):
    edit = replacement(encode(old), encode(new), UTF16)
    assert apply_text_edits(old, [edit]) == new


def test_a_replacement_changes_only_what_differs():
    old = b"FROM node\nRUN npm install\nCMD x\n"
    edit = replacement(old, b"FROM node\nRUN npm ci\nCMD x\n", UTF16)
    assert edit.range == types.Range(types.Position(1, 8), types.Position(1, 15))
    assert edit.new_text == "ci"
