"""Reliability and security of a real `dockfix --write` run: atomic writes, interrupted runs,
limits on what is read, nothing executed, no socket offline, no secret printed, nothing written
outside the build context."""

from __future__ import annotations

import base64
import json
import os
import signal
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

from typer.testing import CliRunner

from dockfix.cli import app
from dockfix.project.fsutil import TEMP_SUFFIX
from support.cli_apps import NAIVE, SERVER, make_app
from support.signals import default_sigint


def dockfix(*args: str, env: dict[str, str] | None = None):
    result = CliRunner().invoke(app, [*args, "--today", "2026-11-29"], env=env)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def temp_files(folder: Path) -> list[Path]:
    return [path for path in folder.rglob("*") if path.name.endswith(TEMP_SUFFIX)]


# -- writes ----------------------------------------------------------------------------------------


def test_write_replaces_the_file_by_rename_and_keeps_its_mode(tmp_path):
    project = make_app(tmp_path / "app")
    dockerfile = project / "Dockerfile"
    dockerfile.chmod(0o640)
    inode = dockerfile.stat().st_ino
    result = dockfix(str(project), "--write", "--offline", "--unsafe-fixes")
    assert result.exit_code in (0, 1), result.output
    assert dockerfile.read_bytes() != NAIVE
    assert dockerfile.stat().st_ino != inode, "a new file renamed over the old one, not rewritten in place"
    assert stat.S_IMODE(dockerfile.stat().st_mode) == 0o640
    assert temp_files(tmp_path) == []


def test_a_symlinked_dockerfile_is_written_through_and_stays_a_link(tmp_path):
    project = make_app(tmp_path / "app")
    real = project / "docker" / "Dockerfile.real"
    real.parent.mkdir()
    (project / "Dockerfile").rename(real)
    (project / "Dockerfile").symlink_to(Path("docker") / "Dockerfile.real")
    dockfix(str(project / "Dockerfile"), "--write", "--offline", "--unsafe-fixes")
    assert (project / "Dockerfile").is_symlink()
    assert real.read_bytes() != NAIVE


# A read-only file or folder is reported in one line: tests/test_cli.py (test_read_only_*).


def test_sigint_during_a_bulk_write_leaves_every_file_old_or_new(tmp_path):
    reference = make_app(tmp_path / "reference")
    dockfix(str(reference), "--write", "--offline", "--unsafe-fixes")
    new = (reference / "Dockerfile").read_bytes()
    assert new != NAIVE
    bulk = tmp_path / "bulk"
    for number in range(300):
        make_app(bulk / f"app{number:03d}")
    process = subprocess.Popen(
        [sys.executable, "-m", "dockfix", str(bulk), "--write", "--offline", "--unsafe-fixes", "--today", "2026-11-29"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        preexec_fn=default_sigint,
    )
    dockerfiles = sorted(bulk.glob("*/Dockerfile"))
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and process.poll() is None:
        if any(path.stat().st_size != len(NAIVE) for path in dockerfiles[:5]):
            break
        time.sleep(0.002)
    interrupted = process.poll() is None
    if interrupted:
        process.send_signal(signal.SIGINT)
    process.communicate(timeout=120)
    contents = [path.read_bytes() for path in dockerfiles]
    assert all(content in (NAIVE, new) for content in contents), "a file is neither old nor new"
    assert temp_files(bulk) == []
    assert contents.count(new) >= 1
    if interrupted:
        assert process.returncode != 0


# -- limits ----------------------------------------------------------------------------------------

# The peak resident size of this process's own memory: VmHWM starts afresh at exec, where
# getrusage's ru_maxrss keeps the peak of the process it was forked from (a test session that
# built images can be hundreds of megabytes).
_MEASURE = """
import re, sys, time
from dockfix.cli import main
sys.argv = ["dockfix", sys.argv[1], "--offline"]
started = time.monotonic()
try:
    main()
except SystemExit as done:
    code = done.code
with open("/proc/self/status") as status:
    peak = re.search(r"VmHWM:\\s+(\\d+) kB", status.read()).group(1)
print("SECONDS", time.monotonic() - started, "RSS_KIB", peak, "CODE", code, file=sys.stderr)
"""


def measure(path: Path) -> tuple[float, int, int, bytes]:
    run = subprocess.run([sys.executable, "-c", _MEASURE, str(path)], capture_output=True, timeout=120)
    figures = run.stderr.rsplit(b"SECONDS", 1)[1].split()
    return float(figures[0]), int(figures[2]), int(figures[4]), run.stderr


def test_a_50_mb_file_is_refused_quickly_without_reading_it(tmp_path):
    big = tmp_path / "Dockerfile"
    with open(big, "wb") as handle:
        handle.write(b"FROM node\n")
        handle.truncate(50 * 1024 * 1024)
    seconds, rss_kib, code, stderr = measure(big)
    assert code == 2 and b"too large for a Dockerfile" in stderr and b"Traceback" not in stderr
    assert seconds < 5
    assert rss_kib < 200 * 1024, f"{rss_kib} KiB resident: the file must not be read"


def test_a_binary_file_is_refused_with_a_clear_message(tmp_path):
    binary = tmp_path / "Dockerfile"
    binary.write_bytes(bytes(range(256)) * 2000)
    seconds, rss_kib, code, stderr = measure(binary)
    assert code == 2 and b"binary file" in stderr and b"Traceback" not in stderr
    assert seconds < 5 and rss_kib < 200 * 1024


# -- security --------------------------------------------------------------------------------------


def test_nothing_of_the_repository_is_ever_executed(tmp_path, monkeypatch):
    marker = tmp_path / "EXECUTED"
    scripts = {name: f"touch {marker}" for name in ("start", "build", "preinstall", "postinstall", "prepare", "test")}
    project = make_app(
        tmp_path / "app",
        dockerfile=f"FROM node:20\nRUN touch {marker}\nCOPY . .\nRUN npm install\nCMD npm start\n".encode(),
        package_json=json.dumps({"name": "app", "scripts": scripts}),
    )
    spawned = []

    def refuse(*args, **kwargs):
        spawned.append(args)
        raise AssertionError("dockfix must not start a process")

    for name in (
        "system",
        "popen",
        "execv",
        "execve",
        "execvp",
        "execvpe",
        "execl",
        "execlp",
        "posix_spawn",
        "posix_spawnp",
        "fork",
    ):
        if hasattr(os, name):
            monkeypatch.setattr(os, name, refuse)
    monkeypatch.setattr(subprocess, "Popen", refuse)
    result = dockfix(str(project), "--write", "--offline", "--unsafe-fixes")
    assert "internal error" not in result.output
    assert spawned == [] and not marker.exists()


def test_offline_opens_no_socket(tmp_path, monkeypatch):
    project = make_app(tmp_path / "app")
    opened = []

    class NoSocket(socket.socket):
        def __init__(self, *args, **kwargs):
            opened.append(args)
            raise OSError("no socket may be opened offline")

    monkeypatch.setattr(socket, "socket", NoSocket)
    monkeypatch.setattr(socket, "create_connection", lambda *a, **k: opened.append(a) or NoSocket())
    result = dockfix(str(project), "--offline", "--unsafe-fixes")
    assert result.exit_code in (0, 1), result.output
    assert opened == []


def test_registry_credentials_never_appear_in_output(tmp_path):
    secret_password = "s3cret-password-that-must-not-leak"
    secret_token = "identity-token-that-must-not-leak"
    with socket.socket() as probe:  # a loopback port nothing listens on: every look-up fails
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = tmp_path / "docker"
    config.mkdir()
    auth = base64.b64encode(f"user:{secret_password}".encode()).decode()
    (config / "config.json").write_text(
        json.dumps(
            {
                "auths": {
                    f"127.0.0.1:{port}": {"auth": auth, "identitytoken": secret_token},
                    "https://index.docker.io/v1/": {"auth": auth},
                }
            }
        )
    )
    project = make_app(tmp_path / "app")
    env = {**os.environ, "DOCKER_CONFIG": str(config), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "dockfix",
            str(project),
            "--diff",
            "--registry-mirror",
            f"http://127.0.0.1:{port}",
            "--today",
            "2026-11-29",
        ],
        capture_output=True,
        timeout=120,
        env=env,
    )
    output = run.stdout + run.stderr
    assert b"Traceback" not in output
    for secret in (secret_password, secret_token, auth):
        assert secret.encode() not in output


def test_a_symlinked_dockerignore_leading_outside_the_context_is_never_written(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "ignore").write_bytes(b"precious\n")
    project = make_app(tmp_path / "app")
    (project / ".dockerignore").symlink_to(Path("..") / "outside" / "ignore")
    result = dockfix(str(project), "--write", "--offline", "--unsafe-fixes")
    assert (outside / "ignore").read_bytes() == b"precious\n"
    assert "outside the build context" in result.output
    assert temp_files(tmp_path) == []


def test_an_app_entry_file_leading_outside_the_context_is_never_written(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "server.js").write_text(SERVER)
    project = make_app(tmp_path / "app")
    (project / "server.js").unlink()
    (project / "server.js").symlink_to(Path("..") / "outside" / "server.js")
    dockfix(str(project), "--write", "--offline", "--unsafe-fixes")
    assert (outside / "server.js").read_text() == SERVER


def test_a_context_path_with_dotdot_is_never_written_outside(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "server.js").write_text(SERVER)
    project = make_app(
        tmp_path / "app",
        dockerfile=b'FROM node:20\nWORKDIR /app\nCOPY ../outside/server.js .\nCMD ["node", "../outside/server.js"]\n',
    )
    dockfix(str(project), "--write", "--offline", "--unsafe-fixes")
    assert (outside / "server.js").read_text() == SERVER
