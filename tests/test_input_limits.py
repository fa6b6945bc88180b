"""Input at the edge of what dockfix reads: each gets its own clear line, never "internal error".

A RUN of thousands of commands joined by `&&`, a package.json nested deeper than the JSON parser
goes, a project file over the size limit, a registry mirror that is no registry URL. The CLI
runs in a child process, as a user runs it.
"""

from __future__ import annotations

import json
from pathlib import Path

from dockfix.dockerfile import shell
from support.cli_apps import make_app as make_app_with
from support.cli_apps import run_cli

DOCKERFILE = b'FROM node:20\nWORKDIR /app\nCOPY . .\nRUN npm ci\nCMD ["npm", "start"]\n'
PACKAGE_JSON = json.dumps({"name": "app", "scripts": {"start": "node server.js"}})


def make_app(folder: Path, dockerfile: bytes = DOCKERFILE, package_json: str = PACKAGE_JSON) -> Path:
    return make_app_with(folder, dockerfile, package_json)


def test_a_chain_of_thousands_of_commands_is_read_without_recursion():
    script = " && ".join(f"echo {number}" for number in range(5000)).encode()
    chain = shell.and_chain(script)
    assert chain is not None and len(chain) == 5000
    assert chain[-1].argv == ["echo", "4999"]
    assert [command.argv for command in shell.commands_in(script)][:2] == [["echo", "0"], ["echo", "1"]]
    assert shell.and_chain(b"a && b || c") is None


def test_a_run_of_1600_chained_commands_is_fixed_like_any_other(tmp_path):
    chain = " && ".join(f"echo {number}" for number in range(1600))
    app = make_app(tmp_path / "app", DOCKERFILE.replace(b"RUN npm ci\n", f"RUN npm ci && {chain}\n".encode()))
    done = run_cli("--isolated", "--output-format", "json", str(app), cwd=tmp_path)
    record = json.loads(done.stdout)
    assert record["error"] is None, record["error"]
    assert "internal error" not in done.stderr


def test_a_package_json_nested_too_deeply_fails_its_dockerfile_with_one_line(tmp_path):
    nested = '{"name": "app", "x": ' + "[" * 100_000 + "]" * 100_000 + "}"
    make_app(tmp_path / "app", package_json=nested)
    make_app(tmp_path / "other")
    done = run_cli("--isolated", ".", cwd=tmp_path)
    assert done.returncode == 2
    assert "app/Dockerfile: error: package.json: JSON nested too deeply to read" in done.stderr.splitlines()
    assert "internal error" not in done.stderr
    assert "1 file could not be processed" in done.stderr  # the other repository is still processed


def test_a_project_file_over_the_size_limit_is_one_warning(tmp_path):
    app = make_app(tmp_path / "app")
    lock = {"lockfileVersion": 3, "packages": {"": {"name": "app"}}, "padding": "x" * (6 * 2**20)}
    (app / "package-lock.json").write_text(json.dumps(lock))
    make_app(tmp_path / "other").joinpath("package-lock.json").write_bytes((app / "package-lock.json").read_bytes())
    done = run_cli("--isolated", "--unsafe-fixes", ".", cwd=tmp_path)
    warnings = [line for line in done.stderr.splitlines() if "larger than 5 MiB" in line]
    assert warnings == [
        "dockfix: warning: app/package-lock.json: larger than 5 MiB, the most dockfix reads of a project file;"
        " read as if absent",
        "dockfix: warning: other/package-lock.json: larger than 5 MiB, the most dockfix reads of a project file;"
        " read as if absent",
    ]


def test_a_bad_registry_mirror_in_a_trusted_configuration_is_its_configuration_error(tmp_path):
    bad = make_app(tmp_path / "bad")
    (bad / ".dockfix.toml").write_text('registry-mirror = "ftp://mirror.example"\n')
    make_app(tmp_path / "good")
    done = run_cli("--trust-repository-config", "--output-format", "json", ".", cwd=tmp_path)
    records = {record["path"]: record for record in map(json.loads, done.stdout.splitlines())}
    assert records["bad/Dockerfile"]["error"]["message"] == (
        f"configuration: {bad / '.dockfix.toml'}: registry-mirror: registry mirror 'ftp://mirror.example'"
        " must be an http(s) URL like https://mirror.example"
    )
    assert records["good/Dockerfile"]["error"] is None
    assert "internal error" not in done.stdout + done.stderr


def test_a_bad_registry_mirror_on_the_command_line_is_a_usage_error(tmp_path):
    make_app(tmp_path / "app")
    done = run_cli("--isolated", "--registry-mirror", "http://mirror.example", ".", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        "dockfix: error: --registry-mirror: registry mirror 'http://mirror.example': plain http is only allowed"
        " for loopback hosts"
    ]
