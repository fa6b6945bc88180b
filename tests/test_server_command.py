"""`dockfix server` as a command: its flags, its one-line error without pygls, and a plain run
of the command line that never loads it."""

from __future__ import annotations

import os
import subprocess
import sys

from test_startup import NO_RUN, imported_modules

# `dockfix ARGS` in a fresh interpreter where pygls cannot be imported, as without the extra.
_WITHOUT_PYGLS = """
import sys
sys.modules["pygls"] = None
sys.argv = ["dockfix", *sys.argv[1:]]
from dockfix.cli import main
main()
"""


def run(*args: str, script: str = "from dockfix.cli import main; main()") -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    return subprocess.run(
        [sys.executable, "-c", script, *args],
        env=env,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=120,
    )


def test_without_pygls_the_server_says_what_to_install_in_one_line():
    done = run("server", script=_WITHOUT_PYGLS)
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        "dockfix: error: the language server needs pygls, which is not installed: pip install 'dockfix[server]'"
    ]
    assert done.stdout == ""


def test_the_server_has_its_own_help_and_usage_errors():
    helped = run("server", "--help")
    assert helped.returncode == 0
    assert "Usage: dockfix server [OPTIONS]" in helped.stdout and "--network" in helped.stdout
    assert "--today" not in helped.stdout  # hidden, for tests
    wrong = run("server", "--write")
    assert wrong.returncode == 2
    assert "No such option: --write" in wrong.stderr and "Traceback" not in wrong.stderr
    bad_day = run("server", "--today", "tomorrow")
    assert bad_day.returncode == 2
    assert "not a date in the form YYYY-MM-DD: tomorrow" in bad_day.stderr and "Traceback" not in bad_day.stderr


def test_a_path_named_like_no_subcommand_is_a_path(tmp_path):
    """Only `server` and `fleet` are subcommands: any other first argument is the run's."""
    folder = tmp_path / "serve"
    folder.mkdir()
    (folder / "Dockerfile").write_bytes(NO_RUN)
    done = subprocess.run(
        [sys.executable, "-m", "dockfix", "--check", "--offline", "serve"],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1, done.stderr
    assert "would fix serve/.dockerignore" in done.stderr


def test_a_plain_run_does_not_load_the_language_server(tmp_path):
    (tmp_path / "Dockerfile").write_bytes(NO_RUN)
    code, modules = imported_modules(tmp_path, "--check", "--offline", "Dockerfile")
    assert code == "1"
    assert "dockfix.pipeline" in modules
    assert sorted(name for name in modules if name.split(".")[0] in ("pygls", "lsprotocol", "cattrs")) == []
    assert "dockfix.server.lsp" not in modules
