"""Plain-text reports: one line per finding or error, and one summary line, as ruff prints them.

    Dockerfile:3: DF002 [*] install production dependencies only
    Dockerfile:9: DF004 [unsafe fix] the app runs as root
    Dockerfile:1: error: unterminated heredoc 'EOF'

`[*]` marks a finding whose fix the flags given would apply; `[unsafe fix]` one whose fix needs
`--unsafe-fixes`; a finding without a marker has no automatic fix.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..edits import Applicability, Finding
from ..pipeline import FileResult
from .diff import display_path

SAFE_MARKER = "[*]"
UNSAFE_MARKER = "[unsafe fix]"


def location(path: Path, line: int | None) -> str:
    """`path:line` (just `path` when the line is unknown)."""
    shown = display_path(path)
    return f"{shown}:{line}" if line else shown


def error_line(path: Path, message: str, line: int | None = None) -> str:
    """`path:line: error: message`."""
    return f"{location(path, line)}: error: {message}"


def fix_marker(finding: Finding, unsafe_fixes: bool) -> str:
    """The marker that says whether and how a finding can be fixed."""
    fix = finding.fix
    if fix is None or fix.applicability is Applicability.DISPLAY_ONLY:
        return ""
    if fix.applicability is Applicability.SAFE or unsafe_fixes:
        return SAFE_MARKER
    return UNSAFE_MARKER


def finding_line(result: FileResult, finding: Finding, unsafe_fixes: bool) -> str:
    """`path:line: CODE [marker] message`; the path is the file the finding is about."""
    marker = fix_marker(finding, unsafe_fixes)
    middle = f"{finding.code} {marker} " if marker else f"{finding.code} "
    return f"{location(finding.path or result.path, finding.line)}: {middle}{finding.message}"


def plural(count: int, word: str) -> str:
    """`1 file`, `2 files`, `3 fixes`."""
    if count == 1:
        return f"{count} {word}"
    return f"{count} {word}es" if word.endswith(("s", "x", "sh", "ch")) else f"{count} {word}s"


@dataclass
class Tally:
    """Counts behind the summary line."""

    files: int = 0
    errors: int = 0
    problems: int = 0  # findings in the files as they were read
    fixable: int = 0  # ... whose fix the flags given allow
    hidden: int = 0  # ... whose fix needs --unsafe-fixes
    changed_files: int = 0  # files (Dockerfiles and others) that would change / changed
    fixed: int = 0  # fixes applied (every pass counted)
    withheld_files: int = 0  # Dockerfiles left with unsafe fixes not applied

    def add(self, result: FileResult, unsafe_fixes: bool) -> None:
        self.files += 1
        if result.error is not None:
            self.errors += 1
            return
        self.problems += len(result.initial)
        for finding in result.initial:
            marker = fix_marker(finding, unsafe_fixes)
            self.fixable += marker == SAFE_MARKER
            self.hidden += marker == UNSAFE_MARKER
        self.fixed += len(result.applied)
        self.withheld_files += bool(result.withheld)


def _hidden_hint(tally: Tally) -> str:
    if not tally.hidden:
        return ""
    fixes = "fix" if tally.hidden == 1 else "fixes"
    return f" {tally.hidden} hidden {fixes} can be enabled with --unsafe-fixes."


def _errors_tail(tally: Tally) -> str:
    if not tally.errors:
        return ""
    return f" {plural(tally.errors, 'file')} could not be processed."


def report_summary(tally: Tally) -> str:
    """The line after the findings list."""
    if not tally.problems:
        head = f"No problems found in {plural(tally.files - tally.errors, 'file')}."
    else:
        head = f"Found {plural(tally.problems, 'problem')} in {plural(tally.files - tally.errors, 'file')}"
        head += f" ({tally.fixable} fixable with --write)." if tally.fixable else "."
    return head + _hidden_hint(tally) + _errors_tail(tally)


def check_summary(tally: Tally) -> str:
    """The line `--check` and `--diff` end with."""
    if tally.changed_files:
        head = f"{plural(tally.changed_files, 'file')} would be changed ({plural(tally.fixed, 'fix')})."
    else:
        head = "No changes needed." if not tally.hidden else "No safe changes needed."
    return head + _hidden_hint(tally) + _errors_tail(tally)


def write_summary(tally: Tally, remaining: int) -> str:
    """The line `--write` ends with."""
    if tally.changed_files:
        head = f"Fixed {plural(tally.fixed, 'problem')}, {plural(tally.changed_files, 'file')} written."
    else:
        head = "No changes needed."
    if remaining:
        head += f" {remaining} remaining (no automatic fix)."
    return head + _hidden_hint(tally) + _errors_tail(tally)
