"""Parsing and fixing speed over the corpus of real Dockerfiles, in one process.

    python benchmarks/bench_corpus.py [--repeat N] [--corpus DIR]

Reports files per second for parsing alone and for the whole fix pipeline (all rules,
--unsafe-fixes, offline), best of N rounds, plus peak memory. Cases are laid out once in a
temporary folder with lockfile placeholders, so the build context is real.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
import time
import tracemalloc
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "tests"))

from dockfix.context import Options, RuleContext, Services  # noqa: E402
from dockfix.dockerfile.document import Document  # noqa: E402
from dockfix.pipeline import fix_document  # noqa: E402
from dockfix.project.build_context import Project  # noqa: E402
from dockfix.rules import RULES  # noqa: E402
from support.paths import CORPUS, lay_out_case  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    args = parser.parse_args()
    cases = sorted(p for p in args.corpus.iterdir() if (p / "Dockerfile").is_file())
    with tempfile.TemporaryDirectory() as tmp:
        folders = [lay_out_case(case, Path(tmp)) for case in cases]
        sources = [(folder / "Dockerfile").read_bytes() for folder in folders]
        total_bytes = sum(len(s) for s in sources)
        options = Options(unsafe_fixes=True, offline=True, today=date(2026, 11, 29))
        services = Services(options, cache_dir=Path(tmp) / "cache")

        def parse_all() -> None:
            for source in sources:
                with contextlib.suppress(Exception):  # a file that does not parse still costs its parse
                    Document.parse(source)

        def fix_all() -> int:
            changed = 0
            for folder, source in zip(folders, sources, strict=True):
                ctx = RuleContext(folder / "Dockerfile", Project(folder), options, services)
                result = fix_document(folder / "Dockerfile", source, ctx, list(RULES))
                changed += result.changed
            return changed

        fix_all()  # warm up: grammars loaded, data read, as in a long bulk run
        for name, work in (("parse", parse_all), ("parse+fix", fix_all)):
            best = min(_timed(work) for _ in range(args.repeat))
            print(
                f"{name:10s} {len(sources)} files ({total_bytes / 1024:.0f} KiB): best {best:.3f} s = {len(sources) / best:,.0f} files/s"
            )
        tracemalloc.start()
        fix_all()
        _, peak = tracemalloc.get_traced_memory()
        print(f"peak traced memory during one parse+fix round: {peak / 1024 / 1024:.1f} MiB")


def _timed(work) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


if __name__ == "__main__":
    main()
