"""Temporary git repositories, as a fleet tool or a CI checkout leaves them, for the action and
fleet script tests."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from .paths import REPO

GIT = shutil.which("git")
TODAY = "2026-11-29"


def environment(tmp_path: Path, **extra: str) -> dict[str, str]:
    """An environment with dockfix importable, a cache of its own, and a git identity (no user config)."""
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO / "src"), *sys.path]),
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "Fleet Bot",
        "GIT_AUTHOR_EMAIL": "bot@example.com",
        "GIT_COMMITTER_NAME": "Fleet Bot",
        "GIT_COMMITTER_EMAIL": "bot@example.com",
        **extra,
    }


def git(folder: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", *args], cwd=folder, env=environment(folder), capture_output=True, text=True, check=True
    )
    return done.stdout


def make_repository(folder: Path, files: dict[str, str | bytes], *, branch: str | None = None) -> Path:
    """A repository with one commit of `files`; on `branch` if given (as multi-gitter switches to its own)."""
    folder.mkdir(parents=True)
    for name, content in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
    git(folder, "init", "--quiet", "--initial-branch=main")
    git(folder, "add", "--all")
    git(folder, "commit", "--quiet", "--message", "Initial commit")
    if branch is not None:
        git(folder, "checkout", "--quiet", "-b", branch)
    return folder


def files_of(folder: Path) -> dict[str, str | bytes]:
    """The files of a fixture folder, to make a repository of."""
    return {str(path.relative_to(folder)): path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()}
