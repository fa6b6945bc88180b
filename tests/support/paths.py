"""Where the test data lives, relative to this checkout."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures"
# Our own small Dockerfiles, one folder per shape real files take; always there.
SHAPES = FIXTURES / "shapes"
# The shared corpus of real public Node.js Dockerfiles sits next to the checkout.
CORPUS = (REPO.parent / "shared" / "corpus" / "cases").resolve()


def corpus_cases() -> list[Path]:
    return sorted(p for p in CORPUS.iterdir() if (p / "Dockerfile").is_file()) if CORPUS.is_dir() else []


#: Files of a case's build context that the corpus lists but does not keep (`.npmrc`, `.env`, `.env.*`).
CONTEXT_PLACEHOLDERS = re.compile(r"^(\.npmrc|\.env(\..+)?)$")


def lay_out_case(case: Path, destination: Path, *, context_files: bool = False) -> Path:
    """Copy a corpus case into a folder, with empty placeholders for the lockfiles it had.

    With `context_files`, also for the `.npmrc` and `.env` files its build context had, so
    what a rule decides about sending them can be judged.
    """
    target = destination / case.name
    # The bytes without the modes: a read-only corpus must still give files --write may write.
    shutil.copytree(case, target, copy_function=shutil.copyfile)
    context = json.loads((case / "context.json").read_text())
    listed = context.get("context_files", []) if context_files else []
    for name in [*context.get("lockfiles_present", []), *filter(CONTEXT_PLACEHOLDERS.match, listed)]:
        if not (target / name).exists():
            (target / name).write_text("")
    return target


def shapes() -> list[Path]:
    return sorted(p for p in SHAPES.iterdir() if p.is_dir())


def dockerfile_name(folder: Path) -> str:
    """The one Dockerfile of a shape or corpus case (`Dockerfile`, `Dockerfile.dev`...)."""
    from dockfix.project.discover import is_dockerfile_name

    [name] = [p.name for p in folder.iterdir() if p.is_file() and is_dockerfile_name(p.name)]
    return name
