"""`--output-format json`: one JSON object per line (JSON Lines), one line per Dockerfile.

One record per file, so the reports of many runs (one per repository, say) are merged by
concatenating them. Every record has the same keys:

    {"path": "api/Dockerfile",            # as given or found, relative to the current folder
     "repo_root": "api" | null,           # the folder holding .git above the file, if any
     "context": "api",                    # the build context used
     "context_source": "compose.yaml service api: context api",  # where that context came from
     "status": "changed" | "unchanged" | "failed",
     "written": true | false,             # --write wrote the file's changes
     "changed_files": ["api/Dockerfile", "api/.dockerignore"],
     "applied": [FINDING...],             # fixes applied (or that --write would apply)
     "withheld": [FINDING...],            # unsafe fixes not applied without --unsafe-fixes
     "remaining": [FINDING...],           # findings left after the fixes
     "notes": [FINDING...],               # why rules left the output alone (not problems)
     "error": null | {"message": "...", "line": 3 | null}}

where FINDING is {"code", "rule", "message", "line", "path", "fix": "safe"|"unsafe"|"display-only"|null};
its path is the Dockerfile or another file that exists (never a file the fix creates).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TypedDict

from ..edits import Finding
from ..pipeline import FileResult
from ..shown_text import json_safe, mask_secrets
from .diff import display_path

SCHEMA_VERSION = 1


class FindingRecord(TypedDict):
    code: str
    rule: str | None
    message: str
    line: int | None
    path: str | None
    fix: str | None


class ErrorRecord(TypedDict):
    message: str
    line: int | None


class FileRecord(TypedDict):
    version: int
    path: str | None
    repo_root: str | None
    context: str | None
    context_source: str
    status: str
    written: bool
    changed_files: list[str | None]
    applied: list[FindingRecord]
    withheld: list[FindingRecord]
    remaining: list[FindingRecord]
    notes: list[FindingRecord]
    error: ErrorRecord | None


def repository_root(path: Path) -> Path | None:
    """The nearest folder at or above the file's folder that holds `.git`."""
    folder = Path(os.path.abspath(path)).parent
    for candidate in [folder, *folder.parents]:
        if (candidate / ".git").exists():
            return candidate
    return None


def _shown(path: Path | None) -> str | None:
    return None if path is None else display_path(path).replace(os.sep, "/")


def finding_record(finding: Finding, result: FileResult, names: dict[str, str]) -> FindingRecord:
    """One finding as a JSON-ready dict."""
    return {
        "code": finding.code,
        "rule": names.get(finding.code),
        "message": mask_secrets(finding.message),
        "line": finding.line or None,
        "path": _shown(finding.path or result.path),
        "fix": finding.fix.applicability.value if finding.fix is not None else None,
    }


def file_record(
    result: FileResult,
    *,
    context: Path,
    changed_files: list[Path],
    written: bool,
    names: dict[str, str],
    context_source: str = "the Dockerfile's folder",
) -> FileRecord:
    """The record of one Dockerfile."""
    failed = result.error is not None
    return {
        "version": SCHEMA_VERSION,
        "path": _shown(result.path),
        "repo_root": _shown(repository_root(result.path)),
        "context": _shown(context),
        "context_source": context_source,
        "status": "failed" if failed else "changed" if changed_files else "unchanged",
        "written": written and not failed and bool(changed_files),
        "changed_files": [_shown(path) for path in changed_files],
        "applied": [finding_record(f, result, names) for f in result.applied],
        "withheld": [finding_record(f, result, names) for f in result.withheld],
        "remaining": [finding_record(f, result, names) for f in result.remaining if f not in result.withheld],
        "notes": [finding_record(f, result, names) for f in result.notes],
        "error": ErrorRecord(message=mask_secrets(result.error), line=result.error_line)
        if result.error is not None
        else None,
    }


def render(records: list[FileRecord]) -> str:
    """JSON Lines: one compact object per line (control characters escaped, as shown_text says)."""
    return "".join(json_safe(json.dumps(record, ensure_ascii=False, sort_keys=True)) + "\n" for record in records)
