"""What a run's results would write: each result's file changes, and the whole run's.

The run (run.py) writes them and prints them as a diff; the reports (output/) name the files
each result changes. Both read them from here, so neither imports the other.
"""

from __future__ import annotations

import os
from dataclasses import replace

from .pipeline import FileResult
from .project.fsutil import FileChange


def changes_of(result: FileResult) -> list[FileChange]:
    """The files one result would write: the Dockerfile if it changed, then the other files."""
    if result.error is not None:
        return []
    context = (result.real_context,) if result.real_context is not None else ()
    folders = (result.real_folder, *context) if result.real_folder is not None else context
    changes = []
    if result.fixed is not None and result.fixed != result.original:
        changes.append(FileChange(result.path, result.original, result.fixed, folders))
    for other, (old, new) in sorted(result.other_files.items()):
        if old != new:
            changes.append(FileChange(other, old, new, context))
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
                plan[key] = replace(plan[key], new=change.new)
            else:
                plan[key] = change
    return [change for change in plan.values() if change.expected != change.new]
