"""Run the fix pipeline over many Dockerfiles; one bad file never stops the others.

Each Dockerfile gets its own RuleContext: the build context (the Dockerfile's folder unless
`--context` names one) and the user's options. The outcome of each file is a FileResult, a small
picklable record, so the loop below can become a process pool without changing its callers.

Files are processed in order and share one overlay of pending changes to other files: when the
fixes for `Dockerfile` add a line to `.dockerignore`, the fixes for `Dockerfile.dev` in the same
folder see that line and build on it, instead of both editing the original and one of the two
edits being lost. (A process pool must keep Dockerfiles that share a context in one worker.)
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from .context import Options, Project, RuleContext, Services
from .fsutil import FileChange, FileProblem, read_dockerfile, write_together
from .pipeline import FileResult, fix_document
from .rules import RuleEntry


@dataclass
class Settings:
    """What the command line asked for, as far as processing files goes."""

    rules: list[RuleEntry]
    options: Options
    context: Path | None = None  # build context for every Dockerfile; None: each one's folder
    services: Services | None = None  # registry client and Node.js data; None: one per run


def _absolute(path: Path) -> Path:
    # Absolute without resolving links, so overlay keys match the paths rules build.
    return Path(os.path.abspath(path))


def process_file(
    path: Path,
    settings: Settings,
    pending: dict[Path, bytes] | None = None,
    services: Services | None = None,
) -> FileResult:
    """Read and fix one Dockerfile. Never raises: every problem becomes the result's error.

    `pending` holds other files' bytes as earlier Dockerfiles' fixes left them; `services` is
    shared between files so the Node.js data is loaded and the registry asked once per run.
    """
    try:
        source = read_dockerfile(path)
    except FileProblem as problem:
        return FileResult(path=path, original=b"", error=problem.message)
    absolute = _absolute(path)
    root = _absolute(settings.context) if settings.context is not None else absolute.parent
    ctx = RuleContext(
        dockerfile=absolute,
        project=Project(root=root, overlay=dict(pending or {})),
        options=settings.options,
        services=services or settings.services or Services(settings.options),
    )
    try:
        return fix_document(path, source, ctx, settings.rules)
    except Exception as error:  # a bug must cost one file, not the run
        return FileResult(path=path, original=source, error=f"internal error: {type(error).__name__}: {error}")


def process_paths(paths: list[Path], settings: Settings) -> list[FileResult]:
    """Fix every Dockerfile in `paths` (already discovered), in order; results in the same order."""
    results = []
    pending: dict[Path, bytes] = {}
    services = settings.services or Services(settings.options)
    for path in paths:
        result = process_file(path, settings, pending, services)
        for other, (_old, new) in result.other_files.items():
            pending[other] = new
        results.append(result)
    return results


def changes_of(result: FileResult) -> list[FileChange]:
    """The files one result would write: the Dockerfile if it changed, then the other files."""
    if result.error is not None:
        return []
    changes = []
    if result.fixed is not None and result.fixed != result.original:
        changes.append(FileChange(result.path, result.original, result.fixed))
    for other, (old, new) in sorted(result.other_files.items()):
        if old != new:
            changes.append(FileChange(other, old, new))
    return changes


def planned_changes(results: list[FileResult]) -> list[FileChange]:
    """Every file the run would write, each once, from its bytes on disk to its final bytes.

    A file several Dockerfiles' fixes touch (a shared `.dockerignore`) appears once, from the
    bytes on disk to the bytes the last of them leaves: exactly what writing all results gives.
    """
    plan: dict[str, FileChange] = {}
    for result in results:
        for change in changes_of(result):
            key = os.path.realpath(change.path)
            if key in plan:
                plan[key] = FileChange(plan[key].path, plan[key].expected, change.new)
            else:
                plan[key] = change
    return [change for change in plan.values() if change.expected != change.new]


def write_result(result: FileResult) -> None:
    """Write one result's files all together (atomically each); raises fsutil.WriteFailed."""
    changes = changes_of(result)
    if changes:
        write_together(changes)
