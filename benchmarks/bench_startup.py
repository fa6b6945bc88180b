"""Start-up time of the `dockfix` command: `--version` and a run over one Dockerfile.

    python benchmarks/bench_startup.py [--repeat N] [--importtime]

Best and median of N runs of each, in fresh processes (the goal for the one-file run is under
150 ms). With --importtime, the ten slowest imports of the one-file run (`python -X importtime`).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ONE_FILE = 'FROM node:22\nWORKDIR /app\nCOPY . .\nRUN npm ci\nUSER node\nCMD ["node", "server.js"]\n'


def timings(command: list[str], cwd: Path, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        out.append(time.perf_counter() - start)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--importtime", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="dockfix-startup-") as temp:
        folder = Path(temp)
        (folder / "Dockerfile").write_text(ONE_FILE)
        (folder / "package.json").write_text('{"name": "app"}')
        (folder / "package-lock.json").write_text("")
        base = [sys.executable, "-m", "dockfix"]
        for name, command in (
            ("--version", [*base, "--version"]),
            ("one file", [*base, "--check", "--offline", "Dockerfile"]),
        ):
            runs = timings(command, folder, args.repeat)
            print(f"dockfix {name}: best {min(runs) * 1000:.0f} ms, median {statistics.median(runs) * 1000:.0f} ms")
        if args.importtime:
            result = subprocess.run(
                [sys.executable, "-X", "importtime", "-m", "dockfix", "--check", "--offline", "Dockerfile"],
                cwd=folder,
                capture_output=True,
                text=True,
            )
            rows = []
            for line in result.stderr.splitlines():
                if line.startswith("import time:") and "|" in line:
                    parts = [part.strip() for part in line[len("import time:") :].split("|")]
                    if parts[0].isdigit():
                        rows.append((int(parts[1]), parts[2]))
            for cumulative, module in sorted(rows, reverse=True)[:10]:
                print(f"  {cumulative / 1000:7.1f} ms  {module}")


if __name__ == "__main__":
    main()
