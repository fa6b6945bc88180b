"""Start-up: a plain run imports only what it needs, and skips typer without behaving differently.

How fast it starts is measured by benchmarks/bench_startup.py, never here (timings on a shared
machine make flaky tests). What is checked here is deterministic: the modules a run imports, and
that the direct path for plain runs (`cli._plain_arguments`) calls the command exactly as typer
would, or leaves the run to typer.
"""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dockfix import cli

NO_RUN = b'FROM node:22\nWORKDIR /app\nCOPY . .\nUSER node\nCMD ["node", "server.js"]\n'
# A RUN of plain words is read without the shell grammar (shell._plain_command).
PLAIN_RUN = b'FROM node:22\nWORKDIR /app\nCOPY . .\nRUN npm ci --omit=dev\nUSER node\nCMD ["node", "server.js"]\n'
WITH_RUN = b"FROM node\nMAINTAINER me\nRUN npm install\n" + b'CMD ["node", "server.js"]\n' * 2000

# Modules a plain offline run over a Dockerfile without RUN instructions has no use for.
NOT_NEEDED = (
    "typer",  # the command line of a plain run is read by cli._plain_arguments
    "pydantic",  # typer's value conversion
    "tree_sitter_bash",  # RUN instructions only
    "urllib.request",  # downloads and registry requests only
    "http.client",
    "ssl",
    "subprocess",  # docker credential helpers only
    "difflib",  # --diff and --write only
    "tree_sitter",  # shell scripts with more than plain words; app code
    "importlib.resources",  # the shipped data is read as files (sources.PACKAGED_DATA)
    "tempfile",  # writes only
)

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


def run_dockfix(folder: Path, *args: str, stdout=subprocess.PIPE) -> subprocess.CompletedProcess:
    """`dockfix ARGS` in a fresh interpreter, in `folder` (PYTHONPATH as the tests have it)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    env.pop("DOCKFIX_REGISTRY_MIRROR", None)
    return subprocess.run(
        [sys.executable, "-c", "from dockfix.cli import main; main()", *args],
        cwd=folder,
        env=env,
        stdout=stdout,
        stderr=subprocess.PIPE,
        timeout=120,
    )


def imported_modules(folder: Path, *args: str) -> tuple[str, set[str]]:
    """The exit code of `dockfix ARGS` run in a fresh interpreter, and the modules it imported."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    env.pop("DOCKFIX_REGISTRY_MIRROR", None)
    run = subprocess.run(
        [sys.executable, "-c", _LIST_IMPORTS, *args], cwd=folder, env=env, capture_output=True, timeout=120
    )
    report = run.stderr.decode().rsplit("EXIT ", 1)[1].split()
    return report[0], set(report[2:])


@pytest.mark.parametrize("dockerfile", [NO_RUN, PLAIN_RUN], ids=["no RUN", "a plain RUN"])
def test_a_plain_run_imports_neither_typer_nor_the_network_nor_the_shell_parser(tmp_path, dockerfile):
    (tmp_path / "Dockerfile").write_bytes(dockerfile)
    (tmp_path / "package.json").write_text('{"name": "app"}')
    code, modules = imported_modules(tmp_path, "--check", "--offline", "Dockerfile")
    assert code == "1"  # it did run: a fix is due (.dockerignore)
    assert "dockfix.pipeline" in modules and "dockfix.rules.explicit_base_image" in modules
    assert sorted(name for name in NOT_NEEDED if name in modules) == []


def test_version_imports_none_of_the_machinery(tmp_path):
    code, modules = imported_modules(tmp_path, "--version")
    assert code == "0"
    assert sorted(name for name in modules if name.startswith("dockfix")) == [
        "dockfix",
        "dockfix.cli",
        "dockfix.output",
    ]


# The command's parameters and their defaults: what typer passes for a flag not given.
DEFAULTS = {name: parameter.default for name, parameter in inspect.signature(cli.command).parameters.items()}


@pytest.fixture
def typer_arguments(monkeypatch):
    """`args` -> the arguments typer calls the command with (the command itself replaced)."""
    app = cli.app  # built before the command is replaced; it looks `command` up when called
    received: dict[str, object] = {}

    def record(**arguments: object) -> int:
        received.clear()
        received.update(arguments)
        return 0

    monkeypatch.setattr(cli, "command", record)

    def parse(args: list[str]) -> dict[str, object]:
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 0, result.output
        # typer passes None for --version, a flag it handles itself (is_eager) before the command.
        return {name: value for name, value in received.items() if name != "version"}

    return parse


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["--check"],
        ["--check", "--offline", "Dockerfile"],
        ["a", "b/", "c/Dockerfile.prod", "--write"],
        ["--diff", "--unsafe-fixes", "--offline", "--isolated", "."],
        ["--unsafe-fixes", "--no-unsafe-fixes"],
        ["--no-unsafe-fixes", "--unsafe-fixes", "-q"],
        ["--check", "--check", "--quiet", "--statistics"],
        ["--select", "DF001", "--select=DF002,DF003", "--ignore", "DF004", "x"],
        ["--output-format", "json", "--output-format=sarif"],
        ["--context", "some/folder/", "--node-version", "v22.1", "Dockerfile"],
        ["--node-version=20", "--context=.", "space in name"],
        ["caf\udce9/", "--context", "x\udce9", "--select", "DF\udce9"],  # names that are not UTF-8
    ],
)
def test_a_plain_run_calls_the_command_as_typer_would(args, typer_arguments):
    plain = cli._plain_arguments(args)
    assert plain is not None
    assert {**DEFAULTS, **plain} == {**DEFAULTS, **typer_arguments(args)}


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["-h"],
        ["--version", "--check"],
        ["--list-rules"],
        ["--explain", "DF001"],
        ["--jobs", "2"],
        ["-j2"],
        ["-qj", "2"],
        ["--select"],
        ["--select", "--check"],
        ["--select="],
        ["--check=yes"],
        ["--", "Dockerfile"],
        ["-"],
        [""],
        ["--chek"],
        ["--from-file", "list.txt"],
        ["--patch-dir", "patches"],
        ["--registry-mirror", "https://mirror.example"],
        ["--update-data"],
    ],
)
def test_anything_else_is_left_to_typer(args):
    assert cli._plain_arguments(args) is None


def test_an_environment_typer_reads_leaves_the_run_to_typer(monkeypatch):
    monkeypatch.setenv("DOCKFIX_REGISTRY_MIRROR", "https://mirror.example")
    assert cli._plain_arguments(["--check"]) is None


def test_the_direct_path_and_typer_print_and_exit_alike(tmp_path):
    (tmp_path / "Dockerfile").write_bytes(WITH_RUN)
    (tmp_path / "package.json").write_text('{"name": "app"}')
    for args in (["--check", "--offline"], ["--diff", "--unsafe-fixes", "--offline"], ["--offline", "-q"]):
        direct = run_dockfix(tmp_path, *args, "Dockerfile")
        # `--` ends the options for typer, and sends the run through typer.
        through_typer = run_dockfix(tmp_path, *args, "--", "Dockerfile")
        assert cli._plain_arguments([*args, "--", "Dockerfile"]) is None
        assert (direct.returncode, direct.stdout, direct.stderr) == (
            through_typer.returncode,
            through_typer.stdout,
            through_typer.stderr,
        )
        assert direct.returncode == 1 and direct.stdout + direct.stderr  # it ran: changes are due


def test_a_closed_pipe_ends_the_direct_path_as_it_ends_typer(tmp_path):
    """`dockfix --diff | head -1`: exit code 1, no traceback, on both paths."""
    (tmp_path / "Dockerfile").write_bytes(WITH_RUN)
    outcomes = []
    for args in (["--diff", "--offline", "Dockerfile"], ["--diff", "--offline", "--", "Dockerfile"]):
        read, write = os.pipe()
        os.close(read)  # nobody reads: the first write fails with EPIPE
        try:
            run = run_dockfix(tmp_path, *args, stdout=write)
        finally:
            os.close(write)
        outcomes.append((run.returncode, b"Traceback" in run.stderr, b"Exception ignored" in run.stderr))
    assert outcomes == [(1, False, False), (1, False, False)]
