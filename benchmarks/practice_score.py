"""The corpus practice score: of the practices that apply to each file, the share met after fixing.

Lays out every corpus case (with placeholders for the lockfiles it had), fixes it as
`--write --unsafe-fixes --offline` would, and counts, for every file whose final stage is a
Linux stage on the node image, the practices (rules) that still report a finding afterwards.
P1 (explicit base image: offline, digests cannot be pinned) and P6 (graceful shutdown: app code)
are left out, and DF000, which only notes which images the practices are for. A practice a rule
has nothing to say about, or only a note (not a problem) about, counts as met.

    python benchmarks/practice_score.py [--cases DIR] [--today YYYY-MM-DD]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections import Counter
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "tests"))

from dockfix.context import Options, RuleContext  # noqa: E402
from dockfix.dockerfile.document import Document  # noqa: E402
from dockfix.dockerfile.stages import applies_to, runtime_stage  # noqa: E402
from dockfix.pipeline import fix_document  # noqa: E402
from dockfix.project.build_context import Project  # noqa: E402
from dockfix.rules import RULES  # noqa: E402
from support.paths import lay_out_case  # noqa: E402

EXCLUDED = {"DF000", "DF001", "DF006"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=Path, default=REPO.parent / "shared" / "corpus" / "cases")
    parser.add_argument("--today", default="2026-11-29")
    args = parser.parse_args()
    today = date.fromisoformat(args.today)
    codes = [rule.code for rule in RULES if rule.code not in EXCLUDED]
    unmet: Counter[str] = Counter()
    unmet_apps: Counter[str] = Counter()
    files = apps = 0
    with tempfile.TemporaryDirectory() as scratch:
        for case in sorted(p for p in args.cases.iterdir() if (p / "Dockerfile").is_file()):
            folder = lay_out_case(case, Path(scratch))
            dockerfile = folder / "Dockerfile"
            source = dockerfile.read_bytes()
            ctx = RuleContext(dockerfile, Project(folder), Options(unsafe_fixes=True, offline=True, today=today))
            result = fix_document(dockerfile, source, ctx, list(RULES))
            if result.error is not None:
                continue
            doc = Document.parse(source)
            stage = runtime_stage(doc)
            if stage is None or not applies_to(doc, stage):
                continue
            files += 1
            is_app = Project(folder).has_package_json and any(
                i.name in ("CMD", "ENTRYPOINT") for i in stage.instructions
            )
            apps += is_app
            left = {finding.code for finding in result.remaining}
            for code in codes:
                if code in left:
                    unmet[code] += 1
                    unmet_apps[code] += is_app
    print(f"node files: {files}; score {1 - sum(unmet.values()) / (files * len(codes)):.3f}")
    print(
        f"with package.json and a start command: {apps}; score {1 - sum(unmet_apps.values()) / (apps * len(codes)):.3f}"
    )
    for code in codes:
        print(f"  {code}: {1 - unmet[code] / files:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
