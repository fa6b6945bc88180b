"""`dockfix --write` gives the same bytes however it is run: with one process or two, and a
second time over its own output (which it must leave alone). Over our shapes always, and over
the shared corpus where it is next to the checkout (test_corpus.py)."""

import shutil

from support.paths import shapes
from support.trees import snapshot, write_tree


def test_writing_the_shapes_is_deterministic_and_final(tmp_path):
    for copy in ("serial", "parallel"):
        for shape in shapes():
            shutil.copytree(shape, tmp_path / copy / shape.name)
    original = snapshot(tmp_path / "serial")

    write_tree(tmp_path / "serial", jobs=1, cache=tmp_path / "cache-serial")
    write_tree(tmp_path / "parallel", jobs=2, cache=tmp_path / "cache-parallel")
    written = snapshot(tmp_path / "serial")
    assert written != original
    assert snapshot(tmp_path / "parallel") == written, "-j 1 and -j 2 must write the same bytes"

    again = write_tree(tmp_path / "serial", jobs=2, cache=tmp_path / "cache-serial")
    assert snapshot(tmp_path / "serial") == written, "a second --write must change nothing"
    assert "No changes needed." in again.output
