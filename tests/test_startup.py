"""Start-up: a one-file run in a fresh interpreter, as an editor's save hook or a pre-commit run starts it.

How fast it starts is measured by benchmarks/bench_startup.py, never here (timings on a shared
machine make flaky tests). What is checked here: that a one-file run works from a fresh process,
that `--version` answers, that a closed pipe ends the run quietly, and that the heavy optional
dependencies a one-file run has no use for stay behind their doors.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from dockfix import __version__

NO_RUN = b'FROM node:22\nWORKDIR /app\nCOPY . .\nUSER node\nCMD ["node", "server.js"]\n'
WITH_RUN = b"FROM node\nMAINTAINER me\nRUN npm install\n" + b'CMD ["node", "server.js"]\n' * 2000

_LIST_IMPORTS = """
import sys
from dockfix.cli import main
sys.argv = ["dockfix", *sys.argv[1:]]
code = 0
try:
    main()
except SystemExit as done:
    code = done.code
print("EXIT", code, "MODULES", " ".join(sorted(sys.modules)), file=sys.stderr)
"""


def _environment() -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    env.pop("DOCKFIX_REGISTRY_MIRROR", None)
    return env


def run_dockfix(folder: Path, *args: str, stdout: int = subprocess.PIPE) -> subprocess.CompletedProcess[bytes]:
    """`dockfix ARGS` in a fresh interpreter, in `folder` (PYTHONPATH as the tests have it)."""
    return subprocess.run(
        [sys.executable, "-m", "dockfix", *args],
        cwd=folder,
        env=_environment(),
        stdout=stdout,
        stderr=subprocess.PIPE,
        timeout=120,
    )


def imported_modules(folder: Path, *args: str) -> tuple[str, set[str]]:
    """The exit code of `dockfix ARGS` run in a fresh interpreter, and the modules it imported."""
    run = subprocess.run(
        [sys.executable, "-c", _LIST_IMPORTS, *args], cwd=folder, env=_environment(), capture_output=True, timeout=120
    )
    report = run.stderr.decode().rsplit("EXIT ", 1)[1].split()
    return report[0], set(report[2:])


def test_a_one_file_check_runs_in_a_fresh_process(tmp_path):
    (tmp_path / "Dockerfile").write_bytes(NO_RUN)
    (tmp_path / "package.json").write_text('{"name": "app"}')
    done = run_dockfix(tmp_path, "--check", "--offline", "Dockerfile")
    assert done.returncode == 1  # a fix is due: .dockerignore
    assert done.stdout == b""
    assert b"would fix .dockerignore" in done.stderr
    # Offline, the base image's digest is unknown: said once the run is done.
    assert b"Dockerfile:1: digest not resolved: `node:22` is not pinned by digest" in done.stderr
    assert done.stderr.splitlines()[-1].startswith(b"1 file would be changed (1 fix).")


def test_a_one_file_run_leaves_the_progress_bar_and_the_language_server_unloaded(tmp_path):
    (tmp_path / "Dockerfile").write_bytes(NO_RUN)
    code, modules = imported_modules(tmp_path, "--check", "--offline", "Dockerfile")
    assert code == "1"
    assert "dockfix.pipeline" in modules and "dockfix.run" in modules
    loaded = sorted(name for name in modules if name.split(".")[0] in ("rich", "pygls", "lsprotocol"))
    assert loaded == []
    assert "dockfix.server.lsp" not in modules


def test_version_answers_from_a_fresh_process(tmp_path):
    done = run_dockfix(tmp_path, "--version")
    assert (done.returncode, done.stdout, done.stderr) == (0, f"dockfix {__version__}\n".encode(), b"")


def test_a_closed_pipe_ends_the_run_with_exit_code_1_and_no_traceback(tmp_path):
    """`dockfix --diff | head -1`."""
    (tmp_path / "Dockerfile").write_bytes(WITH_RUN)
    read, write = os.pipe()
    os.close(read)  # nobody reads: the first write fails with EPIPE
    try:
        done = run_dockfix(tmp_path, "--diff", "--offline", "Dockerfile", stdout=write)
    finally:
        os.close(write)
    assert done.returncode == 1
    assert b"Traceback" not in done.stderr and b"Exception ignored" not in done.stderr
