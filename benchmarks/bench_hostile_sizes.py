"""Wall time and peak memory of dockfix on inputs built to make a careless cost explode.

    python benchmarks/bench_hostile_sizes.py [--only NAME] [--repeat N]

Each input is generated in a temporary folder and dockfix runs on it as a subprocess (offline,
isolated, one job, unsafe fixes on). The peak resident memory is the child's own
(`os.wait4`, the per-child form of `getrusage(RUSAGE_CHILDREN).ru_maxrss`), so one case cannot
hide behind an earlier, larger one. The targets: the first three cases within 10 s and 500 MB
each, and fixing 8,000 RUN lines within 5x the time of 2,000. The exit status is 1 when a target
is missed. Times are wall-clock: on a loaded machine run with `--repeat 3`.

- stages: a Dockerfile of 1,000 stages, each built FROM the one before (about 18 kB);
- repeated-lines: 12,000 identical RUN lines, printed with `--diff` (a diff that is quadratic on
  repeated lines shows here);
- entry-file: a 20 MB minified entry file (package.json `main`) that DF006 would add a SIGTERM
  handler to;
- run-lines-2000 / run-lines-8000: a different RUN script on each line.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FLAGS = ["--offline", "--isolated", "--today", "2026-12-06", "-j", "1", "--unsafe-fixes", "-q"]
SECONDS_LIMIT = 10.0
MEMORY_LIMIT_MB = 500.0
RATIO_LIMIT = 5.0
PACKAGE_JSON = '{"name": "app", "main": "server.js", "scripts": {"start": "node server.js"}}\n'


@dataclass(frozen=True, slots=True)
class Case:
    name: str
    build: Callable[[Path], None]
    mode: str
    bounded: bool = True  # held to SECONDS_LIMIT and MEMORY_LIMIT_MB (the RUN lines only to RATIO_LIMIT)


@dataclass(frozen=True, slots=True)
class Measure:
    seconds: float
    peak_mb: float
    exit_code: int


def stages(project: Path) -> None:
    lines = ["FROM node:20-alpine AS s0\n"]
    lines.extend(f"FROM s{n - 1} AS s{n}\n" for n in range(1, 1000))
    lines.append('CMD ["node", "server.js"]\n')
    (project / "Dockerfile").write_text("".join(lines))
    (project / "package.json").write_text(PACKAGE_JSON)


def repeated_lines(project: Path) -> None:
    body = "RUN echo hello\n" * 12_000
    (project / "Dockerfile").write_text(f"FROM node:20\nWORKDIR /app\n{body}CMD npm start\n")
    (project / "package.json").write_text(PACKAGE_JSON)


def entry_file(project: Path) -> None:
    # One line, as a bundler writes it: 20 MB of statements with no newline.
    statement = "var a{n}=function(b){{return b+{n}}};"
    chunks = ['var http=require("http");']
    size = 0
    n = 0
    while size < 20_000_000:
        chunk = statement.format(n=n)
        chunks.append(chunk)
        size += len(chunk)
        n += 1
    chunks.append('http.createServer(function(q,s){s.end("ok")}).listen(3000);\n')
    (project / "server.js").write_text("".join(chunks))
    (project / "package.json").write_text(PACKAGE_JSON)
    dockerfile = 'FROM node:20\nWORKDIR /app\nCOPY . .\nRUN npm ci\nCMD ["node", "server.js"]\n'
    (project / "Dockerfile").write_text(dockerfile)


def run_lines(count: int) -> Callable[[Path], None]:
    def build(project: Path) -> None:
        lines = ["FROM node:20-alpine\n", "WORKDIR /app\n"]
        lines.extend(f"RUN mkdir -p /srv/{n} && touch /srv/{n}/ready\n" for n in range(count))
        lines.append('CMD ["node", "server.js"]\n')
        (project / "Dockerfile").write_text("".join(lines))
        (project / "package.json").write_text(PACKAGE_JSON)

    return build


CASES = (
    Case("stages", stages, "--diff"),
    Case("repeated-lines", repeated_lines, "--diff"),
    Case("entry-file", entry_file, "--diff"),
    Case("run-lines-2000", run_lines(2000), "--check", bounded=False),
    Case("run-lines-8000", run_lines(8000), "--check", bounded=False),
)


def measure(case: Case) -> Measure:
    with tempfile.TemporaryDirectory() as folder:
        project = Path(folder)
        case.build(project)
        environment = dict(os.environ, PYTHONPATH=str(REPO / "src"))
        command = [sys.executable, "-m", "dockfix", *FLAGS, case.mode, str(project / "Dockerfile")]
        started = time.perf_counter()
        child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=environment)
        _pid, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - started
        child.returncode = os.waitstatus_to_exitcode(status)
    # ru_maxrss is in kilobytes on Linux.
    return Measure(seconds, usage.ru_maxrss / 1024, child.returncode)


def best_of(case: Case, repeat: int) -> Measure:
    runs = [measure(case) for _ in range(repeat)]
    return min(runs, key=lambda run: run.seconds)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", action="append", help="run only this case (repeatable)")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each case; the fastest counts")
    args = parser.parse_args()
    chosen = [case for case in CASES if not args.only or case.name in args.only]
    print(f"{'case':>16} {'mode':>8} {'seconds':>9} {'peak MB':>9} {'exit':>5}  verdict")
    results: dict[str, Measure] = {}
    failed = False
    for case in chosen:
        result = best_of(case, args.repeat)
        results[case.name] = result
        within = result.seconds <= SECONDS_LIMIT and result.peak_mb <= MEMORY_LIMIT_MB
        failed |= case.bounded and not within
        verdict = "ok" if within else f"OVER ({SECONDS_LIMIT:g} s, {MEMORY_LIMIT_MB:g} MB)" if case.bounded else "-"
        print(
            f"{case.name:>16} {case.mode:>8} {result.seconds:>9.2f} {result.peak_mb:>9.1f} {result.exit_code:>5}  {verdict}"
        )
    if "run-lines-2000" in results and "run-lines-8000" in results:
        ratio = results["run-lines-8000"].seconds / results["run-lines-2000"].seconds
        within = ratio <= RATIO_LIMIT
        failed |= not within
        print(f"8,000 / 2,000 RUN lines: {ratio:.2f}x ({'ok' if within else f'OVER {RATIO_LIMIT:g}x'})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
