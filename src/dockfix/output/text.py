"""Plain-text reports: one line per finding or error, and one summary line, as ruff prints them.

    Dockerfile:3: DF002 [*] install production dependencies only
    Dockerfile:9: DF004 [unsafe fix] the app runs as root
    Dockerfile:1: error: unterminated heredoc 'EOF'

    Dockerfile:1: DF000 note: left alone: it starts the `dev` script

`[*]` marks a finding whose fix the flags given would apply; `[unsafe fix]` one whose fix needs
`--unsafe-fixes`; a finding without a marker has no automatic fix. A `note` is not a problem: it
says why a rule left the file alone, and is not counted.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..edits import Applicability, Finding
from ..pipeline import FileResult
from ..project.build_context import MAX_PROJECT_FILE
from ..project.discover import Discovery
from ..shown_text import escape_controls, quote
from .diff import display_path
from .style import BOLD, CYAN, RED, paint

if TYPE_CHECKING:
    from .emitters import RunResults

SAFE_MARKER = "[*]"
UNSAFE_MARKER = "[unsafe fix]"


def location(path: Path, line: int | None) -> str:
    """`path:line` (just `path` when the line is unknown)."""
    shown = escape_controls(display_path(path))
    return f"{shown}:{line}" if line else shown


def error_line(path: Path, message: str, line: int | None = None) -> str:
    """`path:line: error: message`."""
    return f"{location(path, line)}: error: {quote(message)}"


def fix_marker(finding: Finding, unsafe_fixes: bool) -> str:
    """The marker that says whether and how a finding can be fixed."""
    fix = finding.fix
    if fix is None or fix.applicability is Applicability.DISPLAY_ONLY:
        return ""
    if fix.applicability is Applicability.SAFE or unsafe_fixes:
        return SAFE_MARKER
    return UNSAFE_MARKER


def finding_line(result: FileResult, finding: Finding, unsafe_fixes: bool, color: bool = False) -> str:
    """`path:line: CODE [marker] message`; the path is the file the finding is about.

    With `color`, the location is bold, the code red and the marker cyan (as ruff shows them).
    """
    marker = "note:" if finding.note else fix_marker(finding, unsafe_fixes)
    code = paint(finding.code, RED, BOLD, enabled=color)
    middle = f"{code} {paint(marker, CYAN, enabled=color)} " if marker else f"{code} "
    return f"{paint(location(finding.path or result.path, finding.line), BOLD, enabled=color)}: {middle}{quote(finding.message)}"


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
    write_failures: int = 0  # Dockerfiles whose fixes --write could not write (each with its error line)

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
        head = "Nothing written." if tally.write_failures else "No changes needed."
    if tally.write_failures:
        head += f" Writing failed for {plural(tally.write_failures, 'Dockerfile')} (see the errors above)."
    if remaining:
        head += f" {remaining} remaining (no automatic fix)."
    return head + _hidden_hint(tally) + _errors_tail(tally)


def unresolved_digests(result: FileResult) -> list[Finding]:
    """The findings that an image could not be pinned because its digest is unknown."""
    return [finding for finding in result.remaining if finding.digest_unresolved]


def discovery_lines(discovery: Discovery, warnings: bool = True) -> Iterator[str]:
    """Paths that are missing or unreadable (errors), then, with `warnings`, folders without Dockerfiles."""
    for missing in discovery.missing:
        yield f"dockfix: error: {location(missing, None)}: no such file or directory"
    for folder, reason in discovery.unreadable_folders:
        yield f"dockfix: error: {location(folder, None)}: cannot read folder: {escape_controls(reason)}"
    if warnings:
        for folder in discovery.empty_folders:
            yield f"dockfix: warning: {location(folder, None)}: no Dockerfile found"
        for warning in discovery.warnings:
            yield f"dockfix: warning: {escape_controls(warning)}"
        for note in discovery.notes:
            yield f"dockfix: note: {escape_controls(note)}"


def too_large_lines(results: Iterable[FileResult]) -> Iterator[str]:
    """One warning per project file the rules read as absent because it is over the size limit."""
    seen: set[Path] = set()
    for result in results:
        for path in result.too_large:
            if path not in seen:
                seen.add(path)
                yield (
                    f"dockfix: warning: {location(path, None)}: larger than {MAX_PROJECT_FILE // 2**20} MiB,"
                    " the most dockfix reads of a project file; read as if absent"
                )


def context_lines(run: RunResults) -> Iterator[str]:
    """`--verbose`: the build context each Dockerfile was fixed in, and where it came from."""
    for result in run.results:
        yield (
            f"dockfix: {location(result.path, None)}: build context {location(run.context_of(result), None)};"
            f" chosen by: {escape_controls(run.context_source_of(result))}"
        )


def next_step_lines(results: Iterable[FileResult]) -> Iterator[str]:
    """Fixes that need the user to do something next: `path:line: CODE next step: what`."""
    for result in results:
        for finding in result.applied:
            if finding.action:
                shown = escape_controls(display_path(result.path))
                yield f"{shown}:{finding.line}: {finding.code} next step: {quote(finding.action)}"


def run_breakdown(
    results: list[FileResult], changed: int, failed: int, applied_by_rule: dict[str, int], verb: str
) -> list[str]:
    """The lines a run over several Dockerfiles ends with, before the summary line.

    Scanned 12 Dockerfiles: 5 changed, 6 unchanged, 1 failed.
    Fixes by rule: DF001 3, DF002 2, DF009 5.
    """
    unchanged = len(results) - changed - failed
    lines = [f"Scanned {plural(len(results), 'Dockerfile')}: {changed} {verb}, {unchanged} unchanged, {failed} failed."]
    if applied_by_rule:
        parts = ", ".join(f"{code} {count}" for code, count in sorted(applied_by_rule.items()))
        lines.append(f"Fixes by rule: {parts}.")
    return lines


def digest_lines(results: list[FileResult]) -> list[str]:
    """One line per base image whose digest could not be resolved."""
    lines = []
    for result in results:
        for finding in unresolved_digests(result):
            lines.append(
                f"dockfix: warning: {location(finding.path or result.path, finding.line)}: digest not resolved: {quote(finding.message)}"
            )
    if lines:
        lines.append(f"{plural(len(lines), 'image')} not pinned: digest not resolved (see above).")
    return lines


def statistics_lines(findings: list[tuple[Finding, str]], unsafe_fixes: bool) -> list[str]:
    """`--statistics`, as ruff prints it: count, code, fix marker and rule name, most frequent first.

    `findings` pairs each finding with its rule's name.
    """
    counts: dict[str, int] = {}
    names: dict[str, str] = {}
    fixable: set[str] = set()
    for finding, name in findings:
        counts[finding.code] = counts.get(finding.code, 0) + 1
        names.setdefault(finding.code, name)
        if fix_marker(finding, unsafe_fixes) == SAFE_MARKER:
            fixable.add(finding.code)
    if not counts:
        return []
    width = max(len(str(count)) for count in counts.values())
    code_width = max(len(code) for code in counts)
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return [
        f"{count:>{width}}\t{code:<{code_width}}\t{'[*]' if code in fixable else '[ ]'} {names[code]}"
        for code, count in ordered
    ]
