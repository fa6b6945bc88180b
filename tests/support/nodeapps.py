"""Run a Node.js sample app, send it a slow request, and SIGTERM it while the request is in flight.

The sample apps print ``listening on <port>`` once they accept connections and
``slow request started`` when ``GET /slow`` arrives (that route answers after about 1.5 s), so the
signal is sent exactly while a request is in flight, without sleeping on guesses.
"""

from __future__ import annotations

import http.client
import os
import queue
import shutil
import signal
import socket
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

NODE = shutil.which("node")
NPM = shutil.which("npm")


@dataclass
class SlowRequestOutcome:
    """What happened to the in-flight request and to the process after SIGTERM."""

    status: int | None
    body: bytes | None
    request_error: str | None
    exit_code: int | None
    seconds_to_exit: float | None
    output: str


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def install_dependencies_offline(app_dir: Path) -> str | None:
    """``npm install --offline`` in ``app_dir`` from the local npm cache; the error text on failure.

    Offline keeps the test away from the network: it only works once the packages and their
    dependencies are in npm's cache (any earlier ``npm install`` of them fills it).
    """
    if NPM is None:
        return "npm is not installed"
    try:
        result = subprocess.run(
            [NPM, "install", "--offline", "--no-audit", "--no-fund", "--ignore-scripts"],
            cwd=app_dir,
            capture_output=True,
            text=True,
            timeout=180,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        return str(error)
    if result.returncode != 0:
        lines = (result.stderr or result.stdout).strip().splitlines()
        useful = [line for line in lines if "complete log" not in line and line.strip() != "npm error"]
        return useful[0] if useful else f"npm exited {result.returncode}"
    return None


def _pump(stream, lines: queue.Queue[str], transcript: list[str]) -> None:
    for raw in iter(stream.readline, ""):
        transcript.append(raw)
        lines.put(raw)
    stream.close()


def _wait_for_line(lines: queue.Queue[str], needle: str, deadline: float) -> bool:
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=max(0.01, deadline - time.monotonic()))
        except queue.Empty:
            return False
        if needle in line:
            return True
    return False


def sigterm_during_slow_request(
    app_dir: Path, entry: str, *, path: str = "/slow", exit_timeout: float = 15.0
) -> SlowRequestOutcome:
    """Start ``node entry`` in ``app_dir``, GET ``path``, SIGTERM it mid-request, report the outcome."""
    assert NODE is not None, "node is required"
    port = free_port()
    transcript: list[str] = []
    lines: queue.Queue[str] = queue.Queue()
    process = subprocess.Popen(
        [NODE, entry],
        cwd=app_dir,
        env={**os.environ, "PORT": str(port), "NODE_ENV": "production"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    pump = threading.Thread(target=_pump, args=(process.stdout, lines, transcript), daemon=True)
    pump.start()
    result: dict[str, object] = {}

    def slow_request() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=exit_timeout)
        try:
            connection.request("GET", path)
            response = connection.getresponse()
            result["body"] = response.read()
            result["status"] = response.status
        except (OSError, http.client.HTTPException) as error:
            result["error"] = f"{type(error).__name__}: {error}"
        finally:
            connection.close()

    try:
        if not _wait_for_line(lines, "listening on", time.monotonic() + 15):
            raise AssertionError(f"the app never said it was listening:\n{''.join(transcript)}")
        requester = threading.Thread(target=slow_request, daemon=True)
        requester.start()
        if not _wait_for_line(lines, "slow request started", time.monotonic() + 10):
            raise AssertionError(f"the slow request never arrived:\n{''.join(transcript)}")
        signalled_at = time.monotonic()
        process.send_signal(signal.SIGTERM)
        requester.join(exit_timeout)
        try:
            exit_code: int | None = process.wait(timeout=exit_timeout)
            seconds: float | None = time.monotonic() - signalled_at
        except subprocess.TimeoutExpired:
            exit_code, seconds = None, None
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        pump.join(5)
    return SlowRequestOutcome(
        status=result.get("status"),  # type: ignore[arg-type]
        body=result.get("body"),  # type: ignore[arg-type]
        request_error=result.get("error"),  # type: ignore[arg-type]
        exit_code=exit_code,
        seconds_to_exit=seconds,
        output="".join(transcript),
    )
