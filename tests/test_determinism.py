"""`dockfix --write` gives the same bytes however it is run: with one process or two, and a
second time over its own output (which it must leave alone); and `--diff` shows exactly what
`--write` writes. Over our shapes always, and over the shared corpus where it is next to the
checkout (test_corpus.py)."""

import shutil
import subprocess
from pathlib import Path

import pytest

from support.paths import shapes
from support.trees import snapshot, write_tree

PATCH = shutil.which("patch")


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


@pytest.mark.skipif(PATCH is None, reason="no patch program")
def test_the_diff_of_the_shapes_is_what_write_writes(tmp_path, monkeypatch):
    for copy in ("written", "patched"):
        for shape in shapes():
            shutil.copytree(shape, tmp_path / copy / shape.name)
    write_tree(tmp_path / "written", jobs=2, cache=tmp_path / "cache")
    monkeypatch.chdir(tmp_path / "patched")
    diff = write_tree(Path("."), jobs=2, cache=tmp_path / "cache", mode="--diff")
    assert diff.stdout_bytes.startswith(b"--- ")
    subprocess.run(
        [PATCH, "-p1", "--binary", "--silent", "--force"], input=diff.stdout_bytes, check=True, capture_output=True
    )
    assert snapshot(tmp_path / "patched") == snapshot(tmp_path / "written")


def test_isolated_neither_reads_nor_writes_the_users_cache(tmp_path):
    """A digest the user's cache holds pins an image offline; --isolated gives the same output on
    any machine: it does not read the cache, so the image stays unpinned, and writes nothing there."""
    from typer.testing import CliRunner

    from dockfix.cli import app
    from dockfix.dockerfile.imageref import ImageReference
    from dockfix.sources.registry import DigestCache

    project = tmp_path / "app"
    project.mkdir()
    (project / "Dockerfile").write_text(
        'FROM node:22.22.2-bookworm-slim\nWORKDIR /app\nCOPY package.json ./\nCMD ["node", "server.js"]\n'
    )
    (project / "package.json").write_text('{"name": "app"}')
    cache = tmp_path / "cache"
    digest = "sha256:" + "4" * 64
    cached = ImageReference.parse("node:22.22.2-bookworm-slim").cache_key
    DigestCache(cache / "dockfix" / "registry-digests.json").put(cached, digest)
    before = snapshot(cache)

    def run(*flags: str):
        return CliRunner().invoke(
            app,
            ["--diff", "--offline", "--today", "2026-11-29", *flags, str(project)],
            env={"XDG_CACHE_HOME": str(cache)},
        )

    assert f"node:22.22.2-bookworm-slim@{digest}" in run().output
    isolated = run("--isolated")
    assert digest not in isolated.output
    assert "the digest of node:22.22.2-bookworm-slim is missing" in isolated.output
    assert snapshot(cache) == before
