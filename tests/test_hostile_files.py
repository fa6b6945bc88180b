"""Hostile files in a repository: a FIFO where dockfix expects a file, a configuration nested to
exhaust the TOML parser. Each is refused with one line and the run goes on with everything else.

The CLI runs in a child process with a timeout: a regression here hangs rather than fails."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dockfix.project.fsutil import TEMP_SUFFIX, FileProblem, read_regular_file
from support.cli_apps import NAIVE, make_app, run_cli

pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs need a POSIX system")


def lines_naming(output: str, name: str) -> list[str]:
    return [line for line in output.splitlines() if name in line]


def test_read_regular_file_refuses_a_fifo_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "compose.yaml"
    os.mkfifo(fifo)
    with pytest.raises(FileProblem, match="not a regular file"):
        read_regular_file(fifo, 1024)


def test_fifo_dockerignore_ends_a_write_with_one_line(tmp_path: Path) -> None:
    app = make_app(tmp_path / "app")
    os.mkfifo(app / ".dockerignore")
    run = run_cli("--write", "app", cwd=tmp_path, timeout=30)
    problems = lines_naming(run.stdout + run.stderr, ".dockerignore: error:")
    assert problems == [
        "app/.dockerignore: error: cannot read before writing: not a regular file (a FIFO, socket or device)"
    ]
    # A failed write is an error (exit 2); the group it belonged to is left as it was.
    assert run.returncode == 2
    assert (app / "Dockerfile").read_bytes() == NAIVE
    assert not [path for path in app.iterdir() if path.name.endswith(TEMP_SUFFIX)]


def test_fifo_compose_file_is_skipped_with_one_warning(tmp_path: Path) -> None:
    app = make_app(tmp_path / "app")
    os.mkfifo(app / "compose.yaml")
    run = run_cli("app", cwd=tmp_path, timeout=30)
    warnings = lines_naming(run.stderr, "compose.yaml")
    assert warnings == [
        "dockfix: warning: app/compose.yaml: cannot read the compose file: not a regular file (a FIFO, socket or "
        "device); its Dockerfiles are searched as usual"
    ]
    # Only a warning: the Dockerfile is still checked, and needs changes (exit 1).
    assert run.returncode == 1
    assert "app/Dockerfile:" in run.stdout


def test_fifo_files_in_one_repository_leave_the_other_written(tmp_path: Path) -> None:
    hostile = make_app(tmp_path / "hostile")
    os.mkfifo(hostile / ".dockerignore")
    os.mkfifo(hostile / "compose.yaml")
    fine = make_app(tmp_path / "fine")
    run = run_cli("--write", "hostile", "fine", cwd=tmp_path, timeout=30)
    output = run.stdout + run.stderr
    assert len(lines_naming(output, "hostile/.dockerignore")) == 1
    assert len(lines_naming(output, "hostile/compose.yaml")) == 1
    assert run.returncode == 2
    # Offline, the safe fix the other repository gets is its new .dockerignore: it is written.
    assert "node_modules" in (fine / ".dockerignore").read_text()


def test_deeply_nested_config_fails_only_its_own_repository(tmp_path: Path) -> None:
    bad = make_app(tmp_path / "bad")
    (bad / ".dockfix.toml").write_text("a = " + "[" * 2000 + "]" * 2000 + "\n")
    good = make_app(tmp_path / "good")
    run = run_cli("good", "bad", cwd=tmp_path, timeout=30)
    output = run.stdout + run.stderr
    errors = lines_naming(output, "bad/Dockerfile: error:")
    assert len(errors) == 1
    assert "not valid TOML: nested too deeply" in errors[0]
    assert "internal error" not in output
    assert lines_naming(run.stdout, "good/Dockerfile:")  # the other repository is checked as usual
    assert run.returncode == 2
    assert good.is_dir()
