"""`dockfix server`: the language server, for editors (see docs/editors.md).

    dockfix server [--network]

It speaks LSP on standard input and output. It never touches the network unless it is started
with `--network`, or the editor's initialization options say `{"network": true}`: offline, image
digests come from the cache a command-line run filled. The LSP machinery (pygls) is an optional
dependency, `pip install 'dockfix[server]'`, imported only here, so the command line never loads it.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date

from ..output import Console

EXIT_ERROR = 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dockfix server",
        description="Run the dockfix language server on standard input and output (LSP).",
    )
    parser.add_argument(
        "--network",
        action="store_true",
        help="Let the server ask the registry for image digests (default: offline, cached digests only).",
    )
    parser.add_argument("--today", type=date.fromisoformat, help=argparse.SUPPRESS)
    return parser


def main(args: list[str]) -> int:
    """Run the server until the editor ends it; returns the exit code."""
    options = _parser().parse_args(args)
    try:
        from .lsp import create_server
    except ModuleNotFoundError:
        Console().err(
            "dockfix: error: the language server needs pygls, which is not installed: pip install 'dockfix[server]'"
        )
        return EXIT_ERROR
    from .checks import Checker

    server = create_server(Checker(network=options.network, today=options.today))
    channel = sys.stdout.buffer
    # Standard output is the protocol's channel: anything else printed goes to the editor's log.
    sys.stdout = sys.stderr
    server.start_io(sys.stdin.buffer, channel)
    return 0
