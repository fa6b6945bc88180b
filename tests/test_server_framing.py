"""The language server over a real pipe: a message whose Content-Length is wrong costs only itself.

Messages are framed by hand, as a broken or hostile client would frame them, and every later
well-formed request must still be answered.
"""

from __future__ import annotations

import io
import json
import queue
import subprocess
import sys
import threading
from typing import IO, Any

import pytest

from dockfix.server.framing import ResyncingInput

pytest.importorskip("pygls")

TIMEOUT = 30.0


def frame(message: dict[str, Any], length_change: int = 0, header: bytes | None = None) -> bytes:
    body = json.dumps(message).encode()
    head = header if header is not None else f"Content-Length: {len(body) + length_change}\r\n".encode()
    return head + b"\r\n" + body


def request(number: int, method: str = "dockfix/probe", params: Any = None) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": number, "method": method, "params": params}


def read_messages(stream: IO[bytes], out: queue.Queue[dict[str, Any]]) -> None:
    while True:
        length = None
        while True:
            line = stream.readline()
            if not line:
                return
            if line == b"\r\n":
                break
            if line.startswith(b"Content-Length: "):
                length = int(line.split(b":")[1])
        assert length is not None
        out.put(json.loads(stream.read(length)))


class Server:
    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "dockfix", "server", "--today", "2026-11-29"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        self.answers: queue.Queue[dict[str, Any]] = queue.Queue()
        assert self.process.stdout is not None
        threading.Thread(target=read_messages, args=(self.process.stdout, self.answers), daemon=True).start()

    def send(self, data: bytes) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(data)
        self.process.stdin.flush()

    def answer_to(self, number: int) -> dict[str, Any]:
        while True:
            message = self.answers.get(timeout=TIMEOUT)
            if message.get("id") == number:
                return message


@pytest.fixture
def server():
    started = Server()
    yield started
    started.process.kill()
    started.process.wait()


def test_the_server_answers_every_well_formed_request_after_wrongly_framed_ones(server):
    server.send(frame(request(1, "initialize", {"capabilities": {}, "processId": None, "rootUri": None})))
    assert "capabilities" in server.answer_to(1)["result"]
    server.send(frame({"jsonrpc": "2.0", "method": "initialized", "params": {}}))

    # Too small: the rest of the body is glued to the next header.
    server.send(frame(request(2), length_change=-10) + frame(request(3)))
    assert server.answer_to(3)["error"]["code"] == -32601  # method not found: answered all the same
    # Too large, and the client waits for the answer before it sends anything else.
    server.send(frame(request(4), length_change=+50))
    assert server.answer_to(4)["id"] == 4
    # Too large, with the next message already on its way: both are answered.
    server.send(frame(request(5), length_change=+500) + frame(request(6)))
    assert server.answer_to(5)["id"] == 5
    assert server.answer_to(6)["id"] == 6
    # A header that is no number, then a good message.
    server.send(frame(request(7), header=b"Content-Length: many\r\n") + frame(request(8)))
    assert server.answer_to(8)["id"] == 8

    server.send(frame(request(9, "shutdown")))
    assert server.answer_to(9)["result"] is None
    server.send(frame({"jsonrpc": "2.0", "method": "exit"}))
    server.process.wait(timeout=TIMEOUT)
    assert server.process.stderr is not None
    log = server.process.stderr.read().decode()
    assert "dockfix server: warning: skipped" in log
    assert "not the " in log and "its Content-Length said" in log


def test_resyncing_input_reads_well_framed_messages_unchanged():
    data = frame(request(1)) + frame({"jsonrpc": "2.0", "method": "x", "params": {"text": "a\r\nContent-Length: 3"}})
    log = io.StringIO()
    stream = ResyncingInput(io.BytesIO(data), log)
    for _ in range(2):
        header = stream.readline()
        assert stream.readline() == b"\r\n"
        length = int(header.split(b":")[1])
        assert len(json.loads(stream.read(length))) >= 3
    assert stream.readline() == b""
    assert log.getvalue() == ""
