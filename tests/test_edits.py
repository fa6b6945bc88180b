"""Applying byte-range edits: the one way dockfix changes any file."""

from __future__ import annotations

import pytest

from dockfix.edits import Edit, apply_edits


def test_edits_apply_from_the_end_so_offsets_stay_valid():
    edits = [Edit(0, 3, b"xyz!"), Edit.insert(3, b"-"), Edit.delete(4, 6)]

    assert apply_edits(b"abcdef", edits) == b"xyz!-d"


def test_overlapping_edits_are_refused():
    with pytest.raises(ValueError, match="overlaps"):
        apply_edits(b"abcdef", [Edit(0, 3, b"x"), Edit(2, 4, b"y")])


def test_an_edit_past_the_end_is_refused():
    with pytest.raises(ValueError, match="beyond end of file"):
        apply_edits(b"abc", [Edit(2, 5, b"x")])
