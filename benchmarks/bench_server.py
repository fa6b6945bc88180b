"""Diagnostics latency of `dockfix server` on a generated 200-line Dockerfile, over real LSP stdio.

    python benchmarks/bench_server.py [--repeat N] [--lines N]

Starts `dockfix server` as an editor does (a subprocess speaking LSP on stdin/stdout, pygls's
client on this side), in a folder with the generated Dockerfile, a package.json and an entry
file, then times, N times each:

- open: `textDocument/didOpen` of a new version of the text to its `publishDiagnostics`;
- change: `textDocument/didChange` to its `publishDiagnostics`, which includes the server's
  debounce (the wait for typing to stop, DEBOUNCE_SECONDS); the line also gives it without.

Each run changes a comment line, so no check is answered from a kept result. The first open
(the data loaded, the rules imported) is shown apart. Prints the median, the best and the
quartiles, in milliseconds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from lsprotocol import types
from pygls.lsp.client import LanguageClient

from dockfix.server.lsp import DEBOUNCE_SECONDS

TODAY = "2026-11-29"


def generated_dockerfile(lines: int) -> str:
    """A two-stage Dockerfile of exactly `lines` lines, with findings for most rules."""
    head = [
        "# syntax=docker/dockerfile:1",
        "FROM node:20 AS build",
        "WORKDIR /usr/src/app",
        "COPY package.json ./",
        "RUN npm install",
    ]
    tail = [
        "FROM node:20",
        "WORKDIR /usr/src/app",
        "COPY --from=build /usr/src/app /usr/src/app",
        "EXPOSE 3000",
        'CMD "npm" "start"',
    ]
    body: list[str] = ["# run 0"]
    number = 0
    while len(head) + len(body) + len(tail) < lines:
        kind = number % 4
        if kind == 0:
            body.append(f"ENV SETTING_{number}=value-{number}")
        elif kind == 1:
            body.append(f'LABEL org.example.label-{number}="{number}"')
        elif kind == 2:
            body.append(f"RUN echo step {number} && mkdir -p /usr/src/app/data/{number}")
        else:
            body.append(f"COPY src/part{number}.js ./src/")
        number += 1
    return "\n".join([*head, *body, *tail]) + "\n"


def lay_out(folder: Path, lines: int) -> Path:
    package = {"name": "bench", "version": "1.0.0", "scripts": {"start": "node server.js"}, "dependencies": {}}
    (folder / "package.json").write_text(json.dumps(package, indent=2) + "\n")
    (folder / "server.js").write_text(
        "const http = require('http')\n"
        "const server = http.createServer((req, res) => res.end('ok'))\n"
        "server.listen(3000)\n"
    )
    (folder / "src").mkdir()
    dockerfile = folder / "Dockerfile"
    dockerfile.write_text(generated_dockerfile(lines))
    return dockerfile


class Timer:
    """Waits for the diagnostics of one version of one document."""

    def __init__(self, client: LanguageClient):
        self.arrived: dict[tuple[str, int | None], float] = {}
        self.event = asyncio.Event()

        @client.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        def published(params: types.PublishDiagnosticsParams) -> None:
            self.arrived[(params.uri, params.version)] = time.perf_counter()
            self.event.set()

    async def wait(self, uri: str, version: int) -> float:
        while (uri, version) not in self.arrived:
            self.event.clear()
            await asyncio.wait_for(self.event.wait(), timeout=120)
        return self.arrived[(uri, version)]


def variant(text: str, number: int) -> str:
    return text.replace("# run 0", f"# run {number}", 1)


async def measure(folder: Path, dockerfile: Path, repeat: int) -> dict[str, list[float]]:
    client = LanguageClient("bench", "1")
    timer = Timer(client)
    await client.start_io(sys.executable, "-m", "dockfix", "server", "--today", TODAY)
    await client.initialize_async(
        types.InitializeParams(capabilities=types.ClientCapabilities(), root_uri=folder.as_uri())
    )
    client.initialized(types.InitializedParams())
    text = dockerfile.read_text()
    uri = dockerfile.as_uri()
    times: dict[str, list[float]] = {"first open": [], "open": [], "change": []}
    version = 0
    for run in range(repeat + 1):
        version += 1
        start = time.perf_counter()
        client.text_document_did_open(
            types.DidOpenTextDocumentParams(
                types.TextDocumentItem(uri=uri, language_id="dockerfile", version=version, text=variant(text, version))
            )
        )
        times["first open" if run == 0 else "open"].append(await timer.wait(uri, version) - start)
        version += 1
        start = time.perf_counter()
        client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
                content_changes=[types.TextDocumentContentChangeWholeDocument(text=variant(text, version))],
            )
        )
        if run:
            times["change"].append(await timer.wait(uri, version) - start)
        else:
            await timer.wait(uri, version)
        client.text_document_did_close(types.DidCloseTextDocumentParams(types.TextDocumentIdentifier(uri=uri)))
    await client.shutdown_async(None)
    client.exit(None)
    await client.stop()
    return times


def summary(name: str, seconds: list[float], less: float = 0.0) -> str:
    values = sorted((value - less) * 1000 for value in seconds)
    if len(values) == 1:
        return f"{name:<28} {values[0]:8.1f} ms"
    quartiles = statistics.quantiles(values, n=4)
    return (
        f"{name:<28} median {statistics.median(values):7.1f} ms  best {values[0]:7.1f} ms  "
        f"quartiles {quartiles[0]:.1f}-{quartiles[2]:.1f} ms  ({len(values)} runs)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20, help="runs of each kind (default 20)")
    parser.add_argument("--lines", type=int, default=200, help="lines of the generated Dockerfile (default 200)")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        dockerfile = lay_out(folder, options.lines)
        times = asyncio.run(measure(folder, dockerfile, options.repeat))
    print(f"dockfix server, a {options.lines}-line Dockerfile, diagnostics latency over LSP stdio:")
    print(summary("first open (cold)", times["first open"]))
    print(summary("open", times["open"]))
    print(summary("change (with debounce)", times["change"]))
    print(summary(f"change (less {DEBOUNCE_SECONDS * 1000:.0f} ms debounce)", times["change"], DEBOUNCE_SECONDS))


if __name__ == "__main__":
    main()
