"""Bulk-run speed of the `dockfix` command: files per second with -j 1 and -j 2.

    python benchmarks/bench_bulk.py [--synthetic N] [--hadolint PATH] [--repeat R]

Two trees, laid out once in a temporary folder: the shared corpus of real Dockerfiles (each case
in its own folder, with its package.json and lockfile placeholders) and a synthetic tree of N
small repositories (10,000 by default), each with a package.json and a naive Dockerfile.
`dockfix --check --offline` runs over each with -j 1 and -j 2 (best of R runs). With hadolint on
PATH (or given), `hadolint` over the same files is timed too, for comparison.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from support.paths import corpus_cases, lay_out_case  # noqa: E402

NAIVE = "FROM node\nWORKDIR /usr/src/app\nCOPY . .\nRUN npm install\nCMD npm start\n"
PACKAGE = '{"name": "app%d", "scripts": {"start": "node server.js"}, "dependencies": {"express": "4"}}'


def lay_out_synthetic(root: Path, count: int) -> None:
    for number in range(count):
        folder = root / f"repo{number:05d}"
        folder.mkdir(parents=True)
        (folder / "Dockerfile").write_text(NAIVE)
        (folder / "package.json").write_text(PACKAGE % number)
        (folder / "package-lock.json").write_text("")


def best_time(command: list[str], cwd: Path, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        best = min(best, time.perf_counter() - start)
    return best


def measure(name: str, root: Path, files: list[Path], repeat: int, hadolint: str | None) -> None:
    dockfix = [sys.executable, "-m", "dockfix", "--check", "--offline", "--quiet", "--isolated"]
    for jobs in (1, 2):
        seconds = best_time([*dockfix, "-j", str(jobs), "."], root, repeat)
        print(f"{name}: dockfix -j {jobs}: {len(files)} files in {seconds:.2f} s = {len(files) / seconds:,.0f} files/s")
    if hadolint:
        relative = [str(path.relative_to(root)) for path in files]
        start = time.perf_counter()
        for index in range(0, len(relative), 500):  # stay below the argument-length limit
            subprocess.run(
                [hadolint, "--no-fail", *relative[index : index + 500]],
                cwd=root,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        seconds = time.perf_counter() - start
        print(
            f"{name}: hadolint (one process per 500 files): {len(files)} files in {seconds:.2f} s = {len(files) / seconds:,.0f} files/s"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--synthetic", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--hadolint", default=shutil.which("hadolint"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="dockfix-bench-") as temp:
        corpus = Path(temp) / "corpus"
        corpus.mkdir()
        for case in corpus_cases():
            lay_out_case(case, corpus)
        measure("corpus", corpus, sorted(corpus.glob("*/Dockerfile")), args.repeat, args.hadolint)
        synthetic = Path(temp) / "synthetic"
        lay_out_synthetic(synthetic, args.synthetic)
        measure("synthetic", synthetic, sorted(synthetic.glob("*/Dockerfile")), args.repeat, args.hadolint)


if __name__ == "__main__":
    main()
