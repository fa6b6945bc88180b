"""A run of the command: find the Dockerfiles, fix them, hand the results to the mode and the emitter.

`run` finds the Dockerfiles, fixes them (runner.py), hands the results to the mode (MODES: one
function per mode), then to the emitter of the output format (output/emitters.py), and ends with
the steps every mode shares: patches, next steps, the run summary on stderr. The command line
(cli.py) reads the flags and calls `run`; it imports this module only then, so `--version` and
`--help` load none of the machinery.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

from ..cli import EXIT_CHANGES_NEEDED, EXIT_CLEAN, EXIT_ERROR
from ..pipeline import FileResult
from ..project.discover import Discovery, discover
from ..project.fsutil import FileChange, WriteFailed
from ..records import dataclass
from ..runner import Settings, changes_of, planned_changes, process_paths, write_result
from . import Console
from .diff import display_path, unified_diff
from .emitters import EMITTERS, Presentation, RunResults
from .style import color_diff
from .text import Tally, check_summary, digest_lines, error_line, report_summary, run_breakdown, write_summary

OUTPUT_FORMATS = tuple(EMITTERS)
# A progress bar for fewer files would only flicker.
PROGRESS_MIN_FILES = 50


def _progress(console: Console, total: int, presentation: Presentation):
    """A transient progress bar on stderr for long runs on a terminal, else None."""
    if presentation.quiet or total < PROGRESS_MIN_FILES:
        return None
    try:
        if not console.stderr.isatty():
            return None
    except (AttributeError, ValueError):
        return None
    from rich.console import Console as RichConsole
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    # auto_refresh off: no refresh thread while worker processes are forked.
    return Progress(
        TextColumn("dockfix"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=RichConsole(file=sys.stderr, no_color=bool(os.environ.get("NO_COLOR"))),
        transient=True,
        auto_refresh=False,
    )


def _excluder(settings: Settings):
    """The configuration's `exclude`, as discover() wants it; None without configuration."""
    if not settings.use_config:
        return None
    from ..project.config import ConfigFinder, ConfigProblem

    finder = ConfigFinder()

    def excluded(path: Path) -> bool:
        try:
            config = finder.for_file(path)
        except ConfigProblem:
            return False  # reported when the file itself is processed
        return config is not None and config.excludes(path)

    return excluded


# -- the steps every mode shares ------------------------------------------------------------------


def _report_discovery(discovery: Discovery, console: Console, shown: Presentation) -> int:
    """Paths that are missing or unreadable (errors), folders without Dockerfiles (warnings); the errors' count."""
    errors = 0
    for missing in discovery.missing:
        console.err(f"dockfix: error: {display_path(missing)}: no such file or directory")
        errors += 1
    for folder, reason in discovery.unreadable_folders:
        console.err(f"dockfix: error: {display_path(folder)}: cannot read folder: {reason}")
        errors += 1
    if not shown.quiet:
        for folder in discovery.empty_folders:
            console.err(f"dockfix: warning: {display_path(folder)}: no Dockerfile found")
        for warning in discovery.warnings:
            console.err(f"dockfix: warning: {warning}")
        for note in discovery.notes:
            console.err(f"dockfix: note: {note}")
    return errors


def _process(
    discovery: Discovery, settings: Settings, console: Console, shown: Presentation, jobs: int
) -> list[FileResult]:
    """Fix every Dockerfile found, with a progress bar on long runs."""
    progress = _progress(console, len(discovery.files), shown)
    if progress is None:
        return process_paths(discovery.files, settings, contexts=discovery.contexts, jobs=jobs)
    task = progress.add_task("fixing", total=len(discovery.files))

    def advance(_result: FileResult) -> None:
        progress.update(task, advance=1)
        progress.refresh()

    with progress:
        return process_paths(discovery.files, settings, contexts=discovery.contexts, jobs=jobs, on_result=advance)


def _report_file_errors(run: RunResults, console: Console, shown: Presentation) -> int:
    """The files that could not be processed: one line each on stderr (the other formats carry them); their count."""
    failed = [result for result in run.results if result.error is not None]
    if shown.output_format == "text":
        for result in failed:
            console.err(error_line(result.path, result.error or "", result.error_line))
    return len(failed)


def _write_patches(plan: list[FileChange], paths: list[Path], patch_dir: Path, console: Console, quiet: bool) -> int:
    """`--patch-dir`: one patch per repository; the number of errors (0 or 1)."""
    from .patches import patches_by_repository, write_patches

    try:
        patch_files = write_patches(patches_by_repository(plan, paths), patch_dir)
    except OSError as error:
        console.err(f"dockfix: error: --patch-dir: cannot write {display_path(patch_dir)}: {error.strerror or error}")
        return 1
    if not quiet:
        for patch in patch_files:
            console.err(f"patch written: {display_path(patch)}")
    return 0


def _print_next_steps(run: RunResults, console: Console) -> None:
    """Fixes that need the user to do something next: said where they will see it."""
    for result in run.settled():
        for finding in result.applied:
            if finding.action:
                console.err(f"{display_path(result.path)}:{finding.line}: {finding.code} next step: {finding.action}")


def _print_run_summary(run: RunResults, settings: Settings, summary: str, console: Console) -> None:
    """The stale-data warning, the breakdown of a run over several files, unresolved digests, the summary line."""
    stale = _stale_data_warning(settings)
    if stale:
        console.err(f"dockfix: warning: {stale}")
    if len(run.results) > 1:
        settled = list(run.settled())
        failed = len(run.results) - len(settled)
        changed = sum(1 for result in settled if changes_of(result))
        by_rule: dict[str, int] = {}
        for result in settled:
            for finding in result.applied:
                by_rule[finding.code] = by_rule.get(finding.code, 0) + 1
        verb = "changed" if run.mode == "write" else "to change"
        for line in run_breakdown(run.results, changed, failed, by_rule, verb):
            console.err(line)
    for line in digest_lines(run.results):
        console.err(line)
    console.err(summary)


def _stale_data_warning(settings: Settings) -> str | None:
    """Once per run, not per file: the Node.js data DF007 judges versions by is old."""
    if not any(rule.code == "DF007" for rule in settings.rules):
        return None
    from ..context import Services

    services = settings.services or Services(settings.options, use_cache=settings.use_cache)
    return services.node_data.warn_if_stale(settings.options.today)


# -- the modes: each does its work and says how it went -------------------------------------------


@dataclass
class ModeOutcome:
    summary: str  # the line the run ends with
    needs_changes: bool  # exit code 1 unless there are errors
    errors: int = 0


def _withheld(run: RunResults) -> int:
    """Unsafe fixes not applied because --unsafe-fixes was not given."""
    return sum(len(result.withheld) for result in run.results)


def _report(run: RunResults, tally: Tally, console: Console, shown: Presentation) -> ModeOutcome:
    """No mode flag: the findings are listed (by the emitter)."""
    needs_changes = bool(_withheld(run)) or any(result.changed for result in run.results)
    return ModeOutcome(report_summary(tally), needs_changes)


def _diff(run: RunResults, tally: Tally, console: Console, shown: Presentation) -> ModeOutcome:
    """`--diff`: one unified diff of every file --write would change."""
    plan = planned_changes(run.results)
    for change in plan:
        diff = unified_diff(change.expected, change.new, change.path)
        console.out(color_diff(diff) if shown.color else diff)
    return _would_change(run, plan, tally)


def _check(run: RunResults, tally: Tally, console: Console, shown: Presentation) -> ModeOutcome:
    """`--check`: the files that would change, on stderr."""
    plan = planned_changes(run.results)
    if shown.output_format == "text" and not shown.quiet:
        for change in plan:
            console.err(f"would fix {display_path(change.path)}")
    return _would_change(run, plan, tally)


def _would_change(run: RunResults, plan: list[FileChange], tally: Tally) -> ModeOutcome:
    withheld = _withheld(run)
    tally.changed_files = len(plan)
    tally.hidden = withheld
    return ModeOutcome(check_summary(tally), bool(withheld) or bool(plan))


def _write(run: RunResults, tally: Tally, console: Console, shown: Presentation) -> ModeOutcome:
    """`--write`: every file's changes written together; a file that cannot be written is an error."""
    errors = 0
    written: set[str] = set()
    remaining = 0
    for number, result in enumerate(run.results):
        if result.error is not None:
            continue
        try:
            write_result(result)
        except WriteFailed as failure:
            console.err(error_line(failure.path, failure.message))
            errors += 1
            tally.fixed -= len(result.applied)
            run.failed_writes.add(number)
            continue
        written.update(os.path.realpath(change.path) for change in changes_of(result))
        remaining += sum(1 for finding in result.remaining if not finding.fixable)
    withheld = _withheld(run)
    tally.changed_files = len(written)
    tally.hidden = withheld
    return ModeOutcome(write_summary(tally, remaining), bool(withheld), errors)


MODES: dict[str, Callable[[RunResults, Tally, Console, Presentation], ModeOutcome]] = {
    "report": _report,
    "diff": _diff,
    "check": _check,
    "write": _write,
}


def run(
    paths: list[Path],
    *,
    mode: str,
    settings: Settings,
    console: Console,
    presentation: Presentation | None = None,
    jobs: int = 1,
) -> int:
    """Process `paths` in one mode ("report", "diff", "check", "write"); returns the exit code."""
    shown = presentation or Presentation()
    discovery = discover(paths, excluded=_excluder(settings))
    errors = _report_discovery(discovery, console, shown)
    results = _process(discovery, settings, console, shown, jobs)
    finished = RunResults(
        mode=mode,
        results=results,
        rules=settings.rules,
        unsafe_fixes=settings.options.unsafe_fixes,
        context=settings.context,
        contexts=discovery.contexts,
        context_sources=discovery.context_sources,
    )
    tally = Tally()
    for result in results:
        tally.add(result, finished.unsafe_fixes)
    errors += _report_file_errors(finished, console, shown)
    outcome = MODES[mode](finished, tally, console, shown)
    errors += outcome.errors
    EMITTERS[shown.output_format].emit(console, finished, shown)
    if shown.patch_dir is not None:
        plan = planned_changes(results)
        if plan:
            errors += _write_patches(plan, paths, shown.patch_dir, console, shown.quiet)
    if shown.output_format == "text" and mode in ("diff", "write"):
        _print_next_steps(finished, console)
    if not shown.quiet:
        _print_run_summary(finished, settings, outcome.summary, console)
    if errors:
        return EXIT_ERROR
    return EXIT_CHANGES_NEEDED if outcome.needs_changes else EXIT_CLEAN
