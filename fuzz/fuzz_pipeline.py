"""Fuzz the whole pipeline: every rule, unsafe fixes on, offline, on a project with a
package.json. Fixing never raises nor fails internally, its output is a fixpoint, and BuildKit's
parser accepts the output whenever it accepted the input.

    python fuzz/fuzz_pipeline.py --runs 100000 --seed 1      # plain random-input loop
    python fuzz/fuzz_pipeline.py -runs=100000 SEED_DIR       # coverage-guided, with atheris
"""

from __future__ import annotations

import sys

try:
    import atheris
except ImportError:
    atheris = None

import common

if atheris is not None and "--runs" not in sys.argv:
    with atheris.instrument_imports(include=["dockfix"]):
        import dockfix.pipeline
        import dockfix.rules  # noqa: F401
from test_properties import check_pipeline


def check(data: bytes) -> None:
    """Fix the input in a fresh project folder; AssertionError if a property does not hold."""
    check_pipeline(data, common.PACKAGE_JSON)


if __name__ == "__main__":
    common.main(check, "pipeline")
