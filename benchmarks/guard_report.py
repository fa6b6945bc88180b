"""How many corpus outputs would fail on the real node images, by reason.

Lays out every corpus case (with placeholders for the lockfiles it had), fixes it as
`--write --unsafe-fixes --offline` would, and asks the real-image guard which problems the
output has that the input did not. With the guard in the pipeline a rejected fix is withheld,
so this also counts the withheld fixes, by reason: the work the rules still leave to the guard.

    python benchmarks/guard_report.py [--cases DIR] [--today YYYY-MM-DD] [--list]
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
import tempfile
from collections import Counter
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from dockfix import guard  # noqa: E402
from dockfix.context import Options, RuleContext  # noqa: E402
from dockfix.dockerfile.document import Document  # noqa: E402
from dockfix.pipeline import fix_document  # noqa: E402
from dockfix.project.build_context import Project  # noqa: E402
from dockfix.rules import RULES  # noqa: E402
from dockfix.sources.images import NodeImages  # noqa: E402

REASONS = (
    ("tag", re.compile(r"not a tag")),
    ("yarn", re.compile(r"`yarn")),
    ("corepack", re.compile(r"`corepack")),
    ("pnpm", re.compile(r"`pnpm")),
    ("distro command", re.compile(r"does not exist on")),
    ("build tool", re.compile(r"node image \(install it first\)")),
    ("distro package", re.compile(r"has no package")),
    ("glibc binary", re.compile(r"glibc binary")),
    ("native addons without a compiler", re.compile(r"to build them")),
    ("runtime major", re.compile(r"Node\.js \d+ runtime")),
    ("native addons across libc", re.compile(r"copied into a")),
    ("start binary", re.compile(r"start binary")),
)


def reason_of(message: str) -> str:
    return next((name for name, pattern in REASONS if pattern.search(message)), "other")


def lay_out(case: Path, destination: Path) -> Path:
    target = destination / case.name
    shutil.copytree(case, target)
    context = json.loads((case / "context.json").read_text())
    for name in context.get("lockfiles_present", []):
        (target / name).write_text("")
    return target


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=Path, default=REPO.parent / "shared" / "corpus" / "cases")
    parser.add_argument("--today", default="2026-11-29")
    parser.add_argument("--list", action="store_true", help="print every problem")
    args = parser.parse_args()
    today = date.fromisoformat(args.today)
    images = NodeImages.packaged()
    cases = sorted(p for p in args.cases.iterdir() if (p / "Dockerfile").is_file())
    failing_outputs = 0
    by_reason: Counter[str] = Counter()
    withheld: Counter[str] = Counter()
    with tempfile.TemporaryDirectory() as scratch:
        for case in cases:
            folder = lay_out(case, Path(scratch))
            dockerfile = folder / "Dockerfile"
            source = dockerfile.read_bytes()
            ctx = RuleContext(dockerfile, Project(folder), Options(unsafe_fixes=True, offline=True, today=today))
            result = fix_document(dockerfile, source, ctx, list(RULES))
            for finding in result.remaining:
                if "withheld" in finding.message:
                    withheld[reason_of(finding.message)] += 1
            if result.fixed is None:
                continue
            project = Project(folder)
            before = guard.check(Document.parse(source), project, images, today)
            after = guard.check(Document.parse(result.fixed), project, images, today)
            new = guard.introduced(before, after)
            if new:
                failing_outputs += 1
                for problem in new:
                    by_reason[reason_of(problem.message)] += 1
                    if args.list:
                        print(f"{case.name}:{problem.line}: {problem.message}")
    print(f"cases: {len(cases)}; outputs that fail the real-image model: {failing_outputs}")
    for reason, count in by_reason.most_common():
        print(f"  {reason}: {count}")
    print(f"fixes withheld by the guard: {sum(withheld.values())}")
    for reason, count in withheld.most_common():
        print(f"  {reason}: {count}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
