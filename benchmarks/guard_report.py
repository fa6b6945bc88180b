"""How many corpus outputs would fail on the real node images, by reason.

Lays out every corpus case (with placeholders for the lockfiles it had), fixes it as
`--write --unsafe-fixes --offline` would, and asks the real-image guard which problems the
output has that the input did not. With the guard in the pipeline a rejected fix is withheld,
so this also counts the withheld fixes, by reason: the work the rules still leave to the guard.

With `--splits`, it also measures DF008's stage splits: how many files were split, and how many
of those give the production stage nothing less than the build stage had (the same image and
the whole app folder copied across), which makes the split pointless.

    python benchmarks/guard_report.py [--cases DIR] [--today YYYY-MM-DD] [--list] [--splits]
"""

from __future__ import annotations

import argparse
import posixpath
import re
import sys
import tempfile
from collections import Counter
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "tests"))

from dockfix import guard  # noqa: E402
from dockfix.context import Options, RuleContext  # noqa: E402
from dockfix.dockerfile.document import Document, Stage  # noqa: E402
from dockfix.pipeline import fix_document  # noqa: E402
from dockfix.project.build_context import Project  # noqa: E402
from dockfix.rules import RULES  # noqa: E402
from dockfix.sources.images import NodeImages  # noqa: E402
from support.paths import lay_out_case  # noqa: E402

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
    ("Node.js major across stages", re.compile(r"stage that runs Node\.js")),
    ("native addons across libc", re.compile(r"copied into a")),
    ("start binary", re.compile(r"start binary")),
    ("npm command the npm refuses", re.compile(r"since npm \d|removed in npm")),
    ("native package without a build", re.compile(r"has no build for Node\.js")),
    ("command the Debian release dropped", re.compile(r"is not in Debian")),
    ("archived Debian repositories", re.compile(r"archive\.debian\.org")),
)


def reason_of(message: str) -> str:
    return next((name for name, pattern in REASONS if pattern.search(message)), "other")


def _workdir(stage: Stage) -> str:
    """The stage's WORKDIR at its end (absolute, as the split writes it), "/" if none."""
    current = "/"
    for inst in stage.instructions:
        if inst.name == "WORKDIR" and inst.words:
            current = posixpath.normpath(posixpath.join(current, inst.words[0]))
    return current


_LEFT_BEHIND = re.compile(
    r"\bapt(-get)?\b[^&|;]*\binstall\b|\bapk\b[^&|;]*\badd\b|\bprune\b|--production|--prod\b|run build|\btsc\b"
)


def split_shape(fixed: bytes) -> tuple[str | None, str]:
    """How little the production stage gains, and its base image.

    "same image": the production stage stands on the build stage's image and receives the whole
    app folder; "nothing left behind": besides, the build stage installs no system packages,
    builds nothing and prunes nothing, so the production stage is what the single stage was.
    """
    doc = Document.parse(fixed)
    production = doc.stages[-1]
    by_name = {s.alias.lower(): s for s in doc.stages if s.alias}
    for inst in production.instructions:
        source_flag = inst.flag("from") if inst.name == "COPY" else None
        build = by_name.get((source_flag.value or "").lower()) if source_flag else None
        if build is None or len(inst.words) != 2:
            continue
        whole_folder = posixpath.normpath(inst.words[0]) == _workdir(build)
        same_image = (build.resolved_base or build.base) == (production.resolved_base or production.base)
        if whole_folder and same_image:
            build_runs = " ".join(i.args for i in build.instructions if i.name == "RUN")
            return ("same image" if _LEFT_BEHIND.search(build_runs) else "nothing left behind"), production.base
    return None, production.base


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=Path, default=REPO.parent / "shared" / "corpus" / "cases")
    parser.add_argument("--today", default="2026-11-29")
    parser.add_argument("--list", action="store_true", help="print every problem and every withheld fix")
    parser.add_argument("--splits", action="store_true", help="measure DF008's stage splits")
    args = parser.parse_args()
    today = date.fromisoformat(args.today)
    images = NodeImages.packaged()
    cases = sorted(p for p in args.cases.iterdir() if (p / "Dockerfile").is_file())
    failing_outputs = 0
    by_reason: Counter[str] = Counter()
    withheld: Counter[str] = Counter()
    splits: list[str] = []
    shapes: dict[str, list[str]] = {"same image": [], "nothing left behind": []}
    production_images: Counter[str] = Counter()
    with tempfile.TemporaryDirectory() as scratch:
        for case in cases:
            folder = lay_out_case(case, Path(scratch))
            dockerfile = folder / "Dockerfile"
            source = dockerfile.read_bytes()
            ctx = RuleContext(dockerfile, Project(folder), Options(unsafe_fixes=True, offline=True, today=today))
            result = fix_document(dockerfile, source, ctx, list(RULES))
            for finding in result.remaining:
                if "withheld" in finding.message:
                    withheld[reason_of(finding.message)] += 1
                    if args.list:
                        print(f"{case.name}:{finding.line}: withheld {finding.code}: {finding.message}")
            if result.fixed is None:
                continue
            if args.splits and any(f.code == "DF008" for f in result.applied):
                splits.append(case.name)
                shape, production_base = split_shape(result.fixed)
                production_images[production_base.split("@")[0]] += 1
                if shape is not None:
                    shapes[shape].append(case.name)
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
    if args.splits:
        print(f"stage splits: {len(splits)}")
        same_image = shapes["same image"] + shapes["nothing left behind"]
        print(f"  production stage on the build stage's image, copying the whole app folder: {len(same_image)}")
        print(
            f"    of which the build stage leaves nothing behind (no packages, build or prune): {len(shapes['nothing left behind'])}"
        )
        if args.list:
            print(f"    same image: {' '.join(sorted(same_image))}")
            print(f"    nothing left behind: {' '.join(shapes['nothing left behind'])}")
        print("  production stage images:")
        for image, count in production_images.most_common():
            print(f"    {image}: {count}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
