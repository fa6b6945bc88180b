"""The `dockfix` command: flags -> settings -> runner -> report -> exit code.

Modes (one at a time; `--check --diff` is the same as `--diff`):
  (none)    list findings, `path:line: CODE [*] message`, and a summary on stderr
  --diff    print one unified diff of every file that would change: exactly what --write writes
  --write   write the fixes in place (atomically; unchanged files are not touched)
  --check   print a summary only

Exit codes, as in ruff and black:
  0  nothing to change, or everything written
  1  changes needed and not written: a fix the flags given would apply, or an unsafe fix held
     back because --unsafe-fixes was not given (also under --write: the file is not finished).
     Findings that have no automatic fix do not make the exit code 1.
  2  an error in any file (it is reported, the other files are still processed) or a usage error

`run` finds the Dockerfiles, fixes them (runner.py), hands the results to the mode (MODES: one
function per mode), then to the emitter of the output format (output/emitters.py), and ends with
the steps every mode shares: patches, next steps, the run summary on stderr.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from functools import cache, wraps
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

from . import __version__
from . import rules as rule_table
from .context import Options, checked_node_version
from .output import Console
from .output.diff import display_path, unified_diff
from .output.emitters import EMITTERS, Presentation, RunResults
from .output.style import color_diff, wants_color
from .output.text import (
    Tally,
    check_summary,
    digest_lines,
    error_line,
    report_summary,
    run_breakdown,
    write_summary,
)
from .pipeline import FileResult
from .project.discover import Discovery, discover, read_path_list
from .project.fsutil import FileChange, WriteFailed
from .runner import Settings, changes_of, default_jobs, planned_changes, process_paths, write_result

if TYPE_CHECKING:
    import typer

    app: typer.Typer  # the typer application, built when first asked for (`__getattr__`)

EXIT_CLEAN = 0
EXIT_CHANGES_NEEDED = 1
EXIT_ERROR = 2


class UsageProblem(Exception):
    """A flag value that makes no sense; reported as one line, exit code 2."""


def _split_codes(values: list[str] | None) -> list[str]:
    """`--select DF002,DF003 --select DF004` -> ["DF002", "DF003", "DF004"]."""
    codes: list[str] = []
    for value in values or []:
        codes.extend(part.strip() for part in value.split(",") if part.strip())
    return codes


def _check_selectors(selectors: list[str], flag: str) -> list[str]:
    try:
        return rule_table.check_selectors(selectors)
    except rule_table.UnknownSelector as error:
        raise UsageProblem(f"{flag}: {error}") from None


def _parse_today(value: str | None) -> date:
    if value is None:
        return date.today()
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise UsageProblem(f"--today: not a date in the form YYYY-MM-DD: {value}") from None


def _parse_node_version(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return checked_node_version(value)
    except ValueError as error:
        raise UsageProblem(f"--node-version: {error}") from None


def _read_from_file(name: str) -> list[Path]:
    """The paths listed in `--from-file` (relative ones from the current folder)."""
    try:
        data = sys.stdin.buffer.read() if name == "-" else Path(name).read_bytes()
    except OSError as error:
        raise UsageProblem(f"--from-file: cannot read {name}: {error.strerror or type(error).__name__}") from None
    return read_path_list(data.decode("utf-8", "surrogateescape"), Path("."))


def _list_rules(console: Console) -> int:
    for rule in rule_table.RULES:
        console.out(f"{rule.code}  {rule.name:<24} {rule.summary}  [fix: {rule.fix_safety_text}]")
    return EXIT_CLEAN


def _explain(console: Console, code: str) -> int:
    rule = rule_table.rule_by_code(code.strip())
    if rule is None:
        console.err(f"dockfix: error: --explain: unknown rule code or name: {code}")
        return EXIT_ERROR
    from .output.rule_docs import explanation

    console.out(explanation(rule))
    return EXIT_CLEAN


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
    from .project.config import ConfigFinder, ConfigProblem

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
    from .output.patches import patches_by_repository, write_patches

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
    from .context import Services

    services = settings.services or Services(settings.options)
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


def _update_data(console: Console) -> int:
    from .sources.cache import user_cache_dir
    from .sources.nodedata import NodeDataUpdateError, update_data

    try:
        console.out(update_data(user_cache_dir()))
    except NodeDataUpdateError as error:
        console.err(f"dockfix: error: --update-data: {error}")
        return EXIT_ERROR
    return EXIT_CLEAN


def _version_callback(value: bool) -> None:
    if value:
        Console().out(f"dockfix {__version__}")
        raise typer.Exit(EXIT_CLEAN)


def command(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(metavar="PATH", help="Dockerfiles or folders to search (default: .)", show_default=False),
    ] = None,
    diff: Annotated[
        bool, typer.Option("--diff", help="Print a unified diff of the changes instead of writing them.")
    ] = False,
    write: Annotated[bool, typer.Option("--write", help="Write the fixes in place.")] = False,
    check: Annotated[
        bool, typer.Option("--check", help="Print a summary only; exit 1 if anything would change.")
    ] = False,
    unsafe_fixes: Annotated[
        bool | None,
        typer.Option(
            "--unsafe-fixes/--no-unsafe-fixes",
            help="Also apply fixes that may change behaviour (default: the configuration's unsafe-fixes, else no).",
            show_default=False,
        ),
    ] = None,
    select: Annotated[
        list[str] | None,
        typer.Option("--select", metavar="CODES", help="Only these rules (codes or prefixes, comma-separated)."),
    ] = None,
    ignore: Annotated[
        list[str] | None,
        typer.Option("--ignore", metavar="CODES", help="Skip these rules (codes or prefixes, comma-separated)."),
    ] = None,
    offline: Annotated[
        bool, typer.Option("--offline", help="Never touch the network; use cached and shipped data only.")
    ] = False,
    context: Annotated[
        Path | None,
        typer.Option("--context", metavar="DIR", help="The build context (default: each Dockerfile's folder)."),
    ] = None,
    node_version: Annotated[
        str | None,
        typer.Option(
            "--node-version", metavar="VERSION", help="The Node.js version to target (default: the current LTS)."
        ),
    ] = None,
    registry_mirror: Annotated[
        str | None,
        typer.Option(
            "--registry-mirror",
            metavar="URL",
            envvar="DOCKFIX_REGISTRY_MIRROR",
            help="Registry mirror to resolve image digests with.",
        ),
    ] = None,
    list_rules: Annotated[bool, typer.Option("--list-rules", help="List the rules and exit.")] = False,
    explain: Annotated[
        str | None, typer.Option("--explain", metavar="CODE", help="Print a rule's documentation and exit.")
    ] = None,
    from_file: Annotated[
        str | None,
        typer.Option(
            "--from-file", metavar="FILE", help="Read more paths from FILE, one a line ('-': standard input)."
        ),
    ] = None,
    jobs: Annotated[
        int | None,
        typer.Option(
            "--jobs",
            "-j",
            metavar="N",
            min=1,
            help="Process files in N processes (default: all cores).",
            show_default=False,
        ),
    ] = None,
    output_format: Annotated[
        str,
        typer.Option(
            "--output-format",
            metavar="FORMAT",
            help="text, json (one record per file), sarif or github (workflow annotations).",
        ),
    ] = "text",
    statistics: Annotated[
        bool, typer.Option("--statistics", help="Count the findings by rule instead of listing them.")
    ] = False,
    patch_dir: Annotated[
        Path | None, typer.Option("--patch-dir", metavar="DIR", help="Write one patch per repository into DIR.")
    ] = None,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Print findings and errors only: no progress, warnings or summary.")
    ] = False,
    isolated: Annotated[
        bool, typer.Option("--isolated", help="Ignore configuration files (pyproject.toml, .dockfix.toml).")
    ] = False,
    update_data: Annotated[
        bool,
        typer.Option(
            "--update-data", help="Refresh the Node.js release and vulnerability data into the user's cache, then exit."
        ),
    ] = False,
    today: Annotated[str | None, typer.Option("--today", hidden=True)] = None,
    version: Annotated[
        bool, typer.Option("--version", callback=_version_callback, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> int:
    """The command behind the flags, as typer (or `_plain_arguments`) parsed them; returns the exit code."""
    console = Console()
    try:
        if list_rules:
            return _list_rules(console)
        if explain is not None:
            return _explain(console, explain)
        if update_data:
            if offline:
                raise UsageProblem("--update-data downloads the data: it cannot be combined with --offline")
            return _update_data(console)
        if write and (diff or check):
            raise UsageProblem("--write cannot be combined with --diff or --check")
        mode = "diff" if diff else "check" if check else "write" if write else "report"
        selected = _check_selectors(_split_codes(select), "--select")
        ignored = _check_selectors(_split_codes(ignore), "--ignore")
        if context is not None and not context.is_dir():
            raise UsageProblem(f"--context: not a folder: {display_path(context)}")
        if output_format not in OUTPUT_FORMATS:
            raise UsageProblem(f"--output-format: one of {', '.join(OUTPUT_FORMATS)}, not {output_format}")
        if mode == "diff" and (output_format != "text" or statistics):
            raise UsageProblem("--diff prints a diff: it cannot be combined with --output-format or --statistics")
        if statistics and output_format != "text":
            raise UsageProblem("--statistics is a text report: it cannot be combined with --output-format")
        options = Options(
            unsafe_fixes=bool(unsafe_fixes),
            offline=offline,
            node_version=_parse_node_version(node_version),
            registry_mirror=registry_mirror or None,
            today=_parse_today(today),
        )
        given = {
            name
            for name, value in (
                ("unsafe_fixes", unsafe_fixes),
                ("node_version", node_version),
                ("registry_mirror", registry_mirror),
            )
            if value is not None
        }
        settings = Settings(
            rules=rule_table.select_rules(selected or None, ignored or None),
            options=options,
            context=context,
            use_config=not isolated,
            cli_select=selected if select else None,
            cli_ignore=ignored if ignore else None,
            cli_options=frozenset(given),
        )
        targets = list(paths or [])
        if from_file is not None:
            targets.extend(_read_from_file(from_file))
        elif not targets:
            targets = [Path(".")]
        presentation = Presentation(
            output_format=output_format,
            quiet=quiet,
            statistics=statistics,
            color=output_format == "text" and wants_color(sys.stdout),
            patch_dir=patch_dir,
        )
        code = run(
            targets,
            mode=mode,
            settings=settings,
            console=console,
            presentation=presentation,
            jobs=jobs if jobs is not None else default_jobs(),
        )
    except UsageProblem as problem:
        console.err(f"dockfix: error: {problem}")
        code = EXIT_ERROR
    except (BrokenPipeError, KeyboardInterrupt):
        raise
    except Exception as error:  # the last line of defence: one line, never a traceback
        console.err(f"dockfix: error: internal error: {type(error).__name__}: {error}")
        code = EXIT_ERROR
    return code


@cache
def _typer_app() -> typer.Typer:
    """The typer application around `command`: `--help`, usage errors and every flag.

    Built on first use, since importing typer and building the command (typer converts values
    with pydantic) take longer than checking a small Dockerfile: plain runs skip it (`main`).
    """
    global typer  # `command`'s annotations name typer; typer evaluates them in this module
    import typer

    app = typer.Typer(
        add_completion=False,
        pretty_exceptions_enable=False,
        rich_markup_mode=None,
        context_settings={"help_option_names": ["-h", "--help"]},
    )

    @app.command(
        help="Rewrite Node.js Dockerfiles into production-grade ones, one reviewable fix per best practice.",
        epilog="Exit codes: 0 nothing to change (or everything written); 1 changes needed and not written, "
        "unsafe fixes held back included; 2 an error in any file, or a usage error.",
    )
    @wraps(command)
    def exiting(*args, **kwargs) -> None:
        raise typer.Exit(command(*args, **kwargs))

    return app


def __getattr__(name: str) -> object:
    """`app`: see `_typer_app`."""
    if name == "app":
        return _typer_app()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# The flags of a plain run, by `command`'s parameter: switches (flag -> parameter, value) and
# options that take a value (flag -> parameter; select and ignore may be repeated).
_PLAIN_SWITCHES: dict[str, tuple[str, bool]] = {
    "--diff": ("diff", True),
    "--write": ("write", True),
    "--check": ("check", True),
    "--unsafe-fixes": ("unsafe_fixes", True),
    "--no-unsafe-fixes": ("unsafe_fixes", False),
    "--offline": ("offline", True),
    "--statistics": ("statistics", True),
    "--quiet": ("quiet", True),
    "-q": ("quiet", True),
    "--isolated": ("isolated", True),
}
_PLAIN_OPTIONS: dict[str, str] = {
    "--select": "select",
    "--ignore": "ignore",
    "--output-format": "output_format",
    "--node-version": "node_version",
    "--context": "context",
}
# Environment variables typer reads: a run with one of them set goes through typer.
_TYPER_ENVIRONMENT = ("DOCKFIX_REGISTRY_MIRROR", "_DOCKFIX_COMPLETE")


def _plain_arguments(args: list[str]) -> dict[str, object] | None:
    """`command`'s arguments for a plain run, exactly as typer would pass them; None for anything else.

    A plain run: paths and the common flags, an option's value in the same argument (`--select=X`)
    or the next. Anything else (help, usage errors, `--`, a value that looks like a flag, the rarer
    flags) goes through typer, which alone says what is wrong and prints the help.
    """
    if os.name == "nt" or "" in args or any(name in os.environ for name in _TYPER_ENVIRONMENT):
        return None
    arguments: dict[str, object] = {}
    paths: list[Path] = []
    select: list[str] = []
    ignore: list[str] = []
    remaining = iter(args)
    for arg in remaining:
        if not arg.startswith("-"):
            paths.append(Path(arg))
        elif arg in _PLAIN_SWITCHES:
            name, switch = _PLAIN_SWITCHES[arg]
            arguments[name] = switch
        else:
            flag, equals, value = arg.partition("=")
            name = _PLAIN_OPTIONS.get(flag, "")
            if not equals:
                value = next(remaining, "")
            if not name or not value or value.startswith("-"):
                return None
            if name == "select":
                select.append(value)
            elif name == "ignore":
                ignore.append(value)
            else:
                arguments[name] = Path(value) if name == "context" else value
    for name, values in (("paths", paths), ("select", select), ("ignore", ignore)):
        if values:
            arguments[name] = values
    return arguments


def main() -> None:
    """Entry point of the `dockfix` script."""
    args = sys.argv[1:]
    if args == ["--version"]:
        # Answered before anything else is imported: editors and pre-commit ask for it often.
        Console().out(f"dockfix {__version__}")
        return
    arguments = _plain_arguments(args)
    if arguments is None:
        _typer_app()(prog_name="dockfix")
        return
    try:
        code = command(**arguments)  # type: ignore[arg-type]
    except KeyboardInterrupt:
        code = 130  # as typer ends an interrupted command
    except BrokenPipeError:
        # The reader is gone (`dockfix | head`): as typer, exit 1 without a complaint when Python
        # flushes the streams on the way out.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.dup2(devnull, sys.stderr.fileno())
        code = 1
    raise SystemExit(code)
