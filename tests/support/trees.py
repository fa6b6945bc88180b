"""Whole folders as data, and `dockfix --write` run over them the way a user runs it."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from dockfix.cli import app


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every regular file under `folder` (links left out), by relative path."""
    return {
        str(path.relative_to(folder)): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file() and not path.is_symlink()
    }


def write_tree(
    folder: Path, *, jobs: int, cache: Path, today: str = "2026-11-29", mode: str = "--write", unsafe: bool = True
):
    """`dockfix --write --unsafe-fixes --offline --isolated` over `folder`, in this process.

    `cache` is the user cache folder for the run: what an offline run decides depends on the
    digests and data cached there, so a run that must be repeatable gets one of its own. `mode`
    may be `--diff` instead; the diff names the files relative to the current folder. Without
    `unsafe`, only safe fixes are applied (`--no-unsafe-fixes`).
    """
    result = CliRunner().invoke(
        app,
        [
            mode,
            "--unsafe-fixes" if unsafe else "--no-unsafe-fixes",
            *("--offline", "--isolated", "--today", today, "-j", str(jobs), str(folder)),
        ],
        env={"XDG_CACHE_HOME": str(cache)},
    )
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output and "internal error" not in result.output, result.output
    return result
