"""Fuzz the document: any bytes parse or raise DockerfileSyntaxError, print back byte for byte,
and agree with BuildKit's parser.

    python fuzz/fuzz_document.py --runs 100000 --seed 1      # plain random-input loop
    python fuzz/fuzz_document.py -runs=100000 SEED_DIR       # coverage-guided, with atheris
"""

from __future__ import annotations

import sys

try:
    import atheris
except ImportError:  # the plain loop needs nothing beyond the test dependencies
    atheris = None

import common

if atheris is not None and "--runs" not in sys.argv:
    with atheris.instrument_imports(include=["dockfix"]):
        from dockfix.dockerfile.document import DockerfileSyntaxError, Document
else:
    from dockfix.dockerfile.document import DockerfileSyntaxError, Document
from test_properties import agrees_with_buildkit


def check(data: bytes) -> None:
    """Raise AssertionError (or whatever escaped the parser) if a property does not hold."""
    try:
        document = Document.parse(data)
    except DockerfileSyntaxError:
        document = None
    if document is not None:
        assert document.render() == data, "render() must give back the input byte for byte"
    assert agrees_with_buildkit(data), "the document must agree with BuildKit's parser"


if __name__ == "__main__":
    common.main(check, "document")
