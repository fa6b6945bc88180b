"""A small Node.js app written to disk, and the dockfix command run over it in a child process,
as a user runs it: the tests of hostile input, input limits and interrupted writes share them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

NAIVE = b'FROM node:20\nWORKDIR /app\nCOPY . .\nRUN npm install\nCMD ["npm", "start"]\n'
PACKAGE_JSON = json.dumps({"name": "app", "scripts": {"start": "node server.js"}, "dependencies": {"express": "^4"}})
SERVER = "require('http').createServer((q, s) => s.end('ok')).listen(3000)\n"


def make_app(folder: Path, dockerfile: bytes = NAIVE, package_json: str = PACKAGE_JSON) -> Path:
    """`folder` holding a Dockerfile, its package.json and the server it starts."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "Dockerfile").write_bytes(dockerfile)
    (folder / "package.json").write_text(package_json)
    (folder / "server.js").write_text(SERVER)
    return folder


def run_cli(*args: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """`dockfix ARGS --offline` in a child process with a timeout: a regression that hangs fails."""
    return subprocess.run(
        [sys.executable, "-m", "dockfix", *args, "--offline", "--today", "2026-11-29"],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "NO_COLOR": "1"},
    )
