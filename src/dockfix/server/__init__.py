"""`dockfix server`: the language server, for editors (see docs/editors.md).

    dockfix server [--network]

It speaks LSP on standard input and output. It never touches the network unless it is started
with `--network`, or the editor's initialization options say `{"network": true}`: offline, image
digests come from the cache a command-line run filled. The LSP machinery (pygls) is an optional
dependency, `pip install 'dockfix[server]'`, imported only by `serve`, so the command line never
loads it. The command's flags are read by cli.py.
"""

from __future__ import annotations

import sys
from datetime import date
from typing import BinaryIO, cast

from ..output import Console
from ..run import EXIT_CLEAN, EXIT_ERROR
from .checks import Checker
from .framing import ResyncingInput


def serve(*, network: bool = False, today: date | None = None) -> int:
    """Run the server until the editor ends it; returns the exit code."""
    try:
        # pygls, the optional dependency: its one door.
        from .lsp import create_server
    except ModuleNotFoundError:
        Console().err(
            "dockfix: error: the language server needs pygls, which is not installed: pip install 'dockfix[server]'"
        )
        return EXIT_ERROR
    server = create_server(Checker(network=network, today=today))
    channel = sys.stdout.buffer
    # Standard output is the protocol's channel: anything else printed goes to the editor's log.
    sys.stdout = sys.stderr
    # One message with a wrong Content-Length must not leave the server deaf (framing.py); pygls
    # reads its input with readline() and read(n) only, which is all ResyncingInput has.
    server.start_io(cast(BinaryIO, ResyncingInput(sys.stdin.buffer)), channel)
    return EXIT_CLEAN
