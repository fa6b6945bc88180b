"""What a report may show of a hostile repository: no secret a file holds, no terminal command.

A compose file can name any file as a Dockerfile (`dockerfile: .npmrc`), a file can start with a
registry token, and file names and contents can hold escape sequences. Every output format is
checked on the bytes the CLI writes, in a child process as a user runs it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from dockfix.project.discover import discover, is_project_file_name
from dockfix.shown_text import escape_controls, json_safe, mask_secrets, quote

TOKEN = "npm_Zq8vXw2LkP0aTokenValue"
NPMRC = f"//registry.npmjs.org/:_authToken={TOKEN}\n".encode()
FORMATS = ("text", "json", "sarif", "github")
ESC = b"\x1b"


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "dockfix", *args, "--offline", "--isolated", "--today", "2026-11-29"],
        cwd=cwd,
        capture_output=True,
        timeout=60,
        env={**os.environ, "NO_COLOR": "1"},
    )


def every_format(cwd: Path, *args: str) -> dict[str, subprocess.CompletedProcess[bytes]]:
    return {fmt: run_cli("--output-format", fmt, *args, cwd=cwd) for fmt in FORMATS}


def assert_parses(fmt: str, stdout: bytes) -> None:
    if fmt == "json":
        for line in stdout.splitlines():
            json.loads(line)
    elif fmt == "sarif":
        json.loads(stdout)


def test_a_compose_file_naming_npmrc_as_dockerfile_is_a_warning_and_the_token_is_in_no_report(tmp_path):
    (tmp_path / ".npmrc").write_bytes(NPMRC)
    (tmp_path / "compose.yaml").write_text(
        "services:\n  web:\n    build:\n      context: .\n      dockerfile: .npmrc\n"
    )
    for fmt, done in every_format(tmp_path).items():
        assert TOKEN.encode() not in done.stdout + done.stderr, fmt
        assert (
            b"compose.yaml: service web: build.dockerfile is .npmrc, a project file and not a Dockerfile;"
            b" not processed" in done.stderr
        ), fmt
        assert done.returncode == 0, fmt  # nothing was processed: a warning, not an error


def test_a_workflow_naming_an_env_file_as_dockerfile_is_a_warning_and_the_file_is_not_read(tmp_path):
    (tmp_path / ".env.production").write_text(f"NPM_TOKEN={TOKEN}\n")
    workflows = tmp_path / ".github" / "workflows"
    workflows.mkdir(parents=True)
    (workflows / "image.yml").write_text(
        "on: push\njobs:\n  image:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - uses: docker/build-push-action@v6\n        with:\n          context: .\n"
        "          file: .env.production\n"
    )
    discovery = discover([tmp_path])
    assert discovery.files == []
    assert [warning for warning in discovery.warnings if ".env.production" in warning] == [
        f"{workflows / 'image.yml'}: job image step 1 (docker/build-push-action): its Dockerfile is .env.production,"
        " a project file and not a Dockerfile; not processed"
    ]


def test_a_file_that_is_not_a_dockerfile_is_not_quoted_in_any_report(tmp_path):
    (tmp_path / "Dockerfile").write_bytes(b"\n# settings\n" + NPMRC)
    for fmt, done in every_format(tmp_path).items():
        out = done.stdout + done.stderr
        assert TOKEN.encode() not in out, fmt
        assert b"registry.npmjs.org" not in out, fmt
        assert b"not a Dockerfile: line 3 is not an instruction" in out, fmt
        assert done.returncode == 2, fmt
        assert_parses(fmt, done.stdout)


def test_a_mistyped_instruction_is_still_named(tmp_path):
    (tmp_path / "Dockerfile").write_bytes(b"FORM node:20\n")
    done = run_cli(cwd=tmp_path)
    assert b"Dockerfile:1: error: unknown instruction: FORM" in done.stderr


def test_a_file_named_like_a_dockerfile_is_noted_by_its_line_not_its_text(tmp_path):
    (tmp_path / "Dockerfile.prod").write_bytes(NPMRC)
    done = run_cli(str(tmp_path / "Dockerfile.prod"), cwd=tmp_path)
    assert TOKEN.encode() not in done.stdout + done.stderr
    assert b"but line 1, its first that is not blank or a comment, is not an instruction" in done.stderr


def test_a_secret_on_a_quoted_line_of_a_dockerfile_is_masked_in_every_format(tmp_path):
    (tmp_path / "Dockerfile").write_bytes(b"FROM node:20\nRUN npm ci\n" + NPMRC)
    for fmt, done in every_format(tmp_path).items():
        out = done.stdout + done.stderr
        assert TOKEN.encode() not in out, fmt
        assert b"unknown instruction: //registry.npmjs.org/:_authToken=***" in out, fmt
        assert_parses(fmt, done.stdout)


def test_escape_sequences_from_file_names_and_contents_reach_no_terminal(tmp_path):
    folder = tmp_path / "app\x1b]0;pwned\x07\x1b[2J"
    folder.mkdir()
    # ESC, and the C1 control CSI (U+009B) that some terminals read as ESC [.
    (folder / "Dockerfile").write_bytes(b"FROM node:20\nRUN npm ci\n" + "\x1b[31mEVIL\x9b2J now\n".encode())
    for fmt, done in every_format(tmp_path).items():
        out = done.stdout + done.stderr
        assert ESC not in out and "\x9b".encode() not in out and b"\x07" not in out, fmt
        assert_parses(fmt, done.stdout)
        if fmt in ("text", "github"):
            assert rb"app\x1b]0;pwned\x07\x1b[2J" in out, fmt
            assert rb"unknown instruction: \x1b[31mEVIL\x9b2J" in out, fmt
    record = json.loads(every_format(tmp_path)["json"].stdout)
    assert record["error"]["message"].startswith("unknown instruction: \x1b[31mEVIL\x9b2J")


def test_a_newline_in_a_file_name_cannot_forge_a_report_line(tmp_path):
    folder = tmp_path / "x\nDockerfile:1: DF999 [*] forged"
    folder.mkdir()
    (folder / "Dockerfile").write_bytes(b"FROM node:20\n&& oops\n")
    done = run_cli(cwd=tmp_path)
    assert not any(line.startswith(b"Dockerfile:1: DF999") for line in done.stderr.splitlines())
    assert rb"x\nDockerfile:1: DF999 [*] forged/Dockerfile:2: error: unknown instruction: &&" in done.stderr


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("//registry.npmjs.org/:_authToken=abc123", "//registry.npmjs.org/:_authToken=***"),
        ("ENV NPM_TOKEN=abc DB_PASSWORD = 'two words'", "ENV NPM_TOKEN=*** DB_PASSWORD = ***"),
        ('{"password": "hunter2"}', '{"password": ***}'),
        ("_auth:dXNlcjpwYXNz", "_auth:***"),
        ("git clone https://bob:s3cret@example.com/x.git", "git clone https://bob:***@example.com/x.git"),
        ("export AWS_SECRET_ACCESS_KEY=abc;", "export AWS_SECRET_ACCESS_KEY=***;"),
        # Not secrets: a reference to a variable, prose, a mount's options, an author.
        ("ARG NPM_TOKEN=${NPM_TOKEN}", "ARG NPM_TOKEN=${NPM_TOKEN}"),
        ("rotate the token: it was in the image", "rotate the token: it was in the image"),
        ("--mount=type=secret,id=npmrc,target=/root/.npmrc", "--mount=type=secret,id=npmrc,target=/root/.npmrc"),
        ("LABEL author=me", "LABEL author=me"),
    ],
)
def test_mask_secrets(text, shown):
    assert mask_secrets(text) == shown


def test_escape_controls_is_idempotent_and_keeps_tabs():
    text = "a\tb\x1b[1m\r\n\x00\x7f\x9b"
    assert escape_controls(text) == "a\tb\\x1b[1m\\r\\n\\x00\\x7f\\x9b"
    assert escape_controls(escape_controls(text)) == escape_controls(text)
    assert quote("token=x\x1b") == "token=***"
    assert json.loads(json_safe(json.dumps("\x7f\x9b", ensure_ascii=False))) == "\x7f\x9b"
    assert "\x9b" not in json_safe(json.dumps("\x9b", ensure_ascii=False))


@pytest.mark.parametrize("name", [".npmrc", ".env", ".env.production", "package.json", "yarn.lock", "id_rsa", "a.pem"])
def test_project_files_are_never_dockerfiles(name):
    assert is_project_file_name(name)


@pytest.mark.parametrize("name", ["Dockerfile", "Dockerfile.prod", "web.dockerfile", "Containerfile"])
def test_dockerfile_names_are_not_project_files(name):
    assert not is_project_file_name(name)
