"""A run of dockfix: what was asked -> settings -> Dockerfiles found -> fixed -> written or shown -> exit code.

The command line (cli.py), the fleet command (fleet.py) and the language server (server/) all
run dockfix through here:

- `run(request, console)` is a whole run: a `Request` says what the flags ask for; it is checked
  (`UsageProblem`), turned into `Settings` (`settings_for`), and the Dockerfiles are found,
  fixed, reported and, in the write mode, written (`fix_paths`). It returns the exit code.
- `prepare_file` and `process_file` fix one Dockerfile with the settings the configuration file
  found for it gives: the language server checks an editor's text with them.

Settings: the flags first, then the configuration file nearest to each Dockerfile for the keys no
flag set (project/config.py reads the files; `rules_and_options` merges them).

Modes (one at a time; the command line reads them from `--diff`, `--write`, `--check`):
  report    list findings, `path:line: CODE [*] message`, and a summary on stderr
  diff      print one unified diff of every file that would change: exactly what write writes
  write     write the fixes in place (atomically; unchanged files are not touched)
  check     print a summary only

Exit codes, as in ruff and black:
  0  nothing to change, or everything written
  1  changes needed and not written: a fix the flags given would apply, or an unsafe fix held
     back because --unsafe-fixes was not given (also under --write: the file is not finished).
     Findings that have no automatic fix do not make the exit code 1.
  2  an error in any file (it is reported, the other files are still processed) or a usage error

Processing: each Dockerfile gets its own RuleContext: the build context (`--context`, else the
one a compose file gives it, else the Dockerfile's folder), the options and the rules. Nothing is
written outside what the run was given: a Dockerfile that is a symbolic link to a file outside
its own folder and its build context is reported as an error and not processed (the pipeline
refuses, the same way, fixes to `.dockerignore` or app files that lead out of the build context).

Dockerfiles that share a build context share one overlay of pending changes to other files:
when the fixes for `Dockerfile` add a line to `.dockerignore`, the fixes for `Dockerfile.dev` in
the same folder see that line and build on it, instead of both editing the original and one of
the two edits being lost. So files are processed in groups, one group per build context (nested
contexts, such as a repository root and a folder in it, make one group), each group in order in
one process; with `jobs` above 1 the groups are spread over a pool of processes.
"""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, ClassVar

from . import rules as rule_table
from .changes import changes_of, planned_changes
from .context import Options, RuleContext, Services, checked_node_version
from .dockerfile.imageref import use_registry_mirror
from .edits import Applicability, Finding
from .output import Console
from .output.diff import display_path, unified_diff
from .output.emitters import EMITTERS, Presentation, RunResults
from .output.patches import patches_by_repository, write_patches
from .output.style import color_diff
from .output.text import (
    Tally,
    check_summary,
    context_lines,
    digest_lines,
    discovery_lines,
    error_line,
    next_step_lines,
    report_summary,
    run_breakdown,
    too_large_lines,
    write_summary,
)
from .pipeline import FileResult, fix_document
from .project.build_context import Project
from .project.build_graph import DockerfileBuilds
from .project.config import Config, ConfigFinder, ConfigProblem
from .project.discover import Discovery, discover
from .project.fsutil import (
    FileChange,
    FileProblem,
    Leftovers,
    WriteFailed,
    leads_outside,
    read_dockerfile,
    write_together,
)
from .rules.rule import Rule
from .sources.registry import checked_mirror

if TYPE_CHECKING:
    from multiprocessing.context import BaseContext

    from rich.progress import Progress

EXIT_CLEAN = 0
EXIT_CHANGES_NEEDED = 1
EXIT_ERROR = 2

MODES = ("report", "diff", "check", "write")
OUTPUT_FORMATS = tuple(EMITTERS)
# A progress bar for fewer files would only flicker.
PROGRESS_MIN_FILES = 50
# Groups are sent to the workers in batches of at least this many files: one task per file
# would spend more time on pickling and scheduling than on fixing small Dockerfiles.
MIN_FILES_PER_TASK = 8


TRUST_REPOSITORY_CONFIG_VARIABLE = "DOCKFIX_TRUST_REPOSITORY_CONFIG"
"""The environment's `--trust-repository-config` (the language server reads it too)."""


class UsageProblem(Exception):
    """A request that makes no sense (a flag's value, two flags together); one line, exit code 2."""


# -- what is asked, and the settings it makes ---------------------------------------------------


@dataclass(frozen=True)
class Request:
    """What a run is asked to do, as the command line's flags say it; `run` checks it."""

    paths: list[Path] = field(default_factory=lambda: [Path(".")])
    mode: str = "report"  # one of MODES
    unsafe_fixes: bool | None = None  # None: as the configuration says, else no
    select: list[str] | None = None  # rule codes, prefixes or names; each may hold several, comma-separated
    ignore: list[str] | None = None
    offline: bool = False
    context: Path | None = None  # the build context of every Dockerfile; None: each one's own
    node_version: str | None = None
    registry_mirror: str | None = None
    isolated: bool = False  # no configuration files, no user cache
    trust_repository_config: bool = False  # a repository's configuration may choose data sources
    today: date | None = None  # None: today
    jobs: int | None = None  # processes; None: all cores
    presentation: Presentation = field(default_factory=Presentation)


@dataclass
class Settings:
    """What a run needs to process files: the rules, the options, and where each file's configuration comes from."""

    rules: list[Rule]
    options: Options
    context: Path | None = None  # build context for every Dockerfile; None: each one's own
    # Configuration files: read only when `use_config`; the keys the command line set win.
    use_config: bool = False
    # Whether a configuration file may set where data comes from (config.DATA_SOURCE_KEYS).
    trust_repository_config: bool = False
    # The user's cache (registry digests, refreshed Node.js data): not with --isolated.
    use_cache: bool = True
    cli_select: list[str] | None = None
    cli_ignore: list[str] | None = None
    cli_options: frozenset[str] = field(default_factory=frozenset)  # Options fields set by flags


def split_codes(values: list[str] | None) -> list[str]:
    """`--select DF002,DF003 --select DF004` -> ["DF002", "DF003", "DF004"]."""
    codes: list[str] = []
    for value in values or []:
        codes.extend(part.strip() for part in value.split(",") if part.strip())
    return codes


def _checked_selectors(selectors: list[str], flag: str) -> list[str]:
    try:
        return rule_table.check_selectors(selectors)
    except rule_table.UnknownSelector as error:
        raise UsageProblem(f"{flag}: {error}") from None


def _checked_node_version(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return checked_node_version(value)
    except ValueError as error:
        raise UsageProblem(f"--node-version: {error}") from None


def _checked_mirror(value: str | None) -> str | None:
    if not value:
        return None
    try:
        checked_mirror(value)
    except ValueError as error:
        raise UsageProblem(f"--registry-mirror: {error}") from None
    return value


def check_request(request: Request) -> None:
    """Raise UsageProblem for a request whose parts do not go together."""
    shown = request.presentation
    if request.context is not None and not request.context.is_dir():
        raise UsageProblem(f"--context: not a folder: {display_path(request.context)}")
    if shown.output_format not in OUTPUT_FORMATS:
        raise UsageProblem(f"--output-format: one of {', '.join(OUTPUT_FORMATS)}, not {shown.output_format}")
    if request.mode == "diff" and (shown.output_format != "text" or shown.statistics):
        raise UsageProblem("--diff prints a diff: it cannot be combined with --output-format or --statistics")
    if shown.statistics and shown.output_format != "text":
        raise UsageProblem("--statistics is a text report: it cannot be combined with --output-format")


def settings_for(request: Request) -> Settings:
    """The settings the request gives, before any configuration file; raises UsageProblem."""
    selected = _checked_selectors(split_codes(request.select), "--select")
    ignored = _checked_selectors(split_codes(request.ignore), "--ignore")
    options = Options(
        unsafe_fixes=bool(request.unsafe_fixes),
        offline=request.offline,
        node_version=_checked_node_version(request.node_version),
        registry_mirror=_checked_mirror(request.registry_mirror),
        today=request.today or date.today(),
    )
    given = frozenset(
        name
        for name, value in (
            ("unsafe_fixes", request.unsafe_fixes),
            ("node_version", request.node_version),
            ("registry_mirror", request.registry_mirror),
        )
        if value is not None
    )
    return Settings(
        rules=rule_table.select_rules(selected or None, ignored or None),
        options=options,
        context=request.context,
        use_config=not request.isolated,
        trust_repository_config=request.trust_repository_config,
        use_cache=not request.isolated,
        cli_select=selected if request.select else None,
        cli_ignore=ignored if request.ignore else None,
        cli_options=given,
    )


def _config_selectors(config: Config, key: str, selectors: tuple[str, ...]) -> list[str]:
    try:
        return rule_table.check_selectors(selectors)
    except rule_table.UnknownSelector as error:
        raise ConfigProblem(f"{config.path}: {key}: {error}") from None


def rules_and_options(config: Config, settings: Settings) -> tuple[list[Rule], Options]:
    """The rules and options for a file under `config`: the file's values where no flag was given.

    The file's data sources (its `registry-mirror`) only when the settings trust it.

    Raises ConfigProblem for a `select` or `ignore` that names no rule.
    """
    select = settings.cli_select
    if select is None and config.select is not None:
        select = _config_selectors(config, "select", config.select)
    ignore = settings.cli_ignore
    if ignore is None and config.ignore is not None:
        ignore = _config_selectors(config, "ignore", config.ignore)
    if select is settings.cli_select and ignore is settings.cli_ignore:
        chosen = settings.rules
    else:
        chosen = rule_table.select_rules(select or None, ignore or None)
    flags = settings.options
    given = settings.cli_options
    options = Options(
        unsafe_fixes=flags.unsafe_fixes
        if "unsafe_fixes" in given or config.unsafe_fixes is None
        else config.unsafe_fixes,
        offline=flags.offline,
        node_version=flags.node_version
        if "node_version" in given or config.node_version is None
        else config.node_version,
        registry_mirror=flags.registry_mirror
        if "registry_mirror" in given or config.registry_mirror is None or not settings.trust_repository_config
        else _config_mirror(config),
        today=flags.today,
    )
    return chosen, options


def _config_mirror(config: Config) -> str | None:
    """A trusted configuration's `registry-mirror`; a bad one is that configuration's error."""
    if not config.registry_mirror:
        return None
    try:
        checked_mirror(config.registry_mirror)
    except ValueError as error:
        raise ConfigProblem(f"{config.path}: registry-mirror: {error}") from None
    return config.registry_mirror


# -- one file -------------------------------------------------------------------------------------


def _absolute(path: Path) -> Path:
    # Absolute without resolving links, so overlay keys match the paths rules build.
    return Path(os.path.abspath(path))


ServicesKey = tuple[str | None, bool]  # registry mirror, offline


class Worker:
    """The state of one process: configurations read and services made, shared by its files."""

    def __init__(self, settings: Settings, services: dict[ServicesKey, Services] | None = None):
        self.settings = settings
        # By registry mirror and offline; handed in by a caller that outlives one worker (the
        # language server), so the data and the registry cache are loaded once.
        self.services: dict[ServicesKey, Services] = services if services is not None else {}
        self._finder = ConfigFinder()

    def services_for(self, options: Options) -> Services:
        key = (options.registry_mirror, options.offline)
        if key not in self.services:
            self.services[key] = Services(options, use_cache=self.settings.use_cache)
        return self.services[key]

    def resolve(self, path: Path) -> tuple[list[Rule], Options]:
        """The rules and options for one file; raises config.ConfigProblem."""
        settings = self.settings
        if not settings.use_config:
            return settings.rules, settings.options
        config = self._finder.for_file(path)
        if config is None:
            return settings.rules, settings.options
        return rules_and_options(config, settings)


def prepare_file(
    path: Path,
    worker: Worker,
    *,
    pending: dict[Path, bytes] | None = None,
    context: Path | None = None,
    builds: DockerfileBuilds | None = None,
    source: bytes | None = None,
) -> tuple[bytes, list[Rule], RuleContext] | FileResult:
    """What fixing one Dockerfile takes: its bytes, its rules and its RuleContext; or a FileResult with the error.

    `pending` holds other files' bytes as earlier Dockerfiles' fixes left them; `context` is the
    build context the build graph gives the file (the settings' context wins over it); `builds`
    how the repository builds and runs it, for the rules that must honour that; `source` is
    the Dockerfile's text when it is not the file on disk (an editor's unsaved text): the build
    context is read from disk all the same.
    """
    settings = worker.settings
    try:
        rules, options = worker.resolve(path)
    except ConfigProblem as problem:
        return FileResult(path=path, original=b"", error=f"configuration: {problem}")
    if source is None:
        try:
            source = read_dockerfile(path)
        except FileProblem as problem:
            return FileResult(path=path, original=b"", error=problem.message)
    use_registry_mirror(options.registry_mirror)  # the mirror's `host/node` is the official image too
    absolute = _absolute(path)
    chosen_context = settings.context or context
    root = _absolute(chosen_context) if chosen_context is not None else absolute.parent
    outside = leads_outside(absolute, [absolute.parent, root])
    if outside is not None:
        return FileResult(
            path=path,
            original=b"",
            error=f"a link to {outside}, outside the folder and build context given; not processed",
        )
    ctx = RuleContext(
        dockerfile=absolute,
        project=Project(root=root, overlay=dict(pending or {})),
        options=options,
        services=worker.services_for(options),
        builds=builds,
    )
    return source, rules, ctx


def process_file(
    path: Path,
    worker: Worker,
    *,
    pending: dict[Path, bytes] | None = None,
    context: Path | None = None,
    builds: DockerfileBuilds | None = None,
    source: bytes | None = None,
) -> FileResult:
    """Read and fix one Dockerfile (see `prepare_file`). Never raises: every problem becomes the result's error."""
    prepared = prepare_file(path, worker, pending=pending, context=context, builds=builds, source=source)
    if isinstance(prepared, FileResult):
        return prepared
    text, rules, ctx = prepared
    try:
        return fix_document(path, text, ctx, rules)
    except Exception as error:  # a bug must cost one file, not the run
        return FileResult(path=path, original=text, error=f"internal error: {type(error).__name__}: {error}")


# -- many files -----------------------------------------------------------------------------------

# A Dockerfile to fix: its index among the run's files, its path, the context a compose file gives it.
# A file to fix: its index in the run, its path, the build context the build graph chose for it
# (None: its own folder) and how the repository builds and runs it (None: nothing says).
Item = tuple[int, Path, Path | None, DockerfileBuilds | None]


def _process_group(items: list[Item], worker: Worker) -> list[tuple[int, FileResult]]:
    """Fix files that share build contexts, in order, each seeing the others' pending changes."""
    out = []
    pending: dict[Path, bytes] = {}
    for index, path, context, builds in items:
        result = process_file(path, worker, pending=pending, context=context, builds=builds)
        for other, (_old, new) in result.other_files.items():
            pending[other] = new
        out.append((index, result))
    return out


def group_by_context(
    paths: list[Path],
    settings: Settings,
    contexts: dict[Path, Path],
    builds: dict[Path, DockerfileBuilds] | None = None,
) -> list[list[Item]]:
    """Split the files into groups that must run in one process, in the order first met.

    Files share a group when their build contexts are the same folder or one lies inside the
    other (a fix may write a file both contexts see).
    """
    keys = []
    for path in paths:
        context = settings.context or contexts.get(path)
        folder = context if context is not None else Path(path).parent
        keys.append(os.path.realpath(folder))
    known = set(keys)
    roots: dict[str, str] = {}
    for key in known:
        root = key
        for ancestor in Path(key).parents:
            if str(ancestor) in known:
                root = str(ancestor)  # keep climbing: the topmost context wins
        roots[key] = root
    groups: dict[str, list[Item]] = {}
    for index, (path, key) in enumerate(zip(paths, keys, strict=True)):
        groups.setdefault(roots[key], []).append((index, path, contexts.get(path), (builds or {}).get(path)))
    return list(groups.values())


def _batches(groups: list[list[Item]]) -> list[list[list[Item]]]:
    batches: list[list[list[Item]]] = []
    size = 0
    for group in groups:
        if not batches or size >= MIN_FILES_PER_TASK:
            batches.append([])
            size = 0
        batches[-1].append(group)
        size += len(group)
    return batches


class _PoolProcess:
    """What a worker process of the pool keeps from one batch to the next: its Worker, so the
    configurations read and the services made (the Node.js data, the registry cache) serve all
    its files, and the batches to do. The pool's initializer sets them, in the worker process."""

    worker: ClassVar[Worker | None] = None
    batches: ClassVar[list[list[list[Item]]]] = []

    @classmethod
    def start(cls, settings: Settings, batches: list[list[list[Item]]]) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)  # the pool ends its workers with SIGTERM
        cls.worker = Worker(settings)
        cls.batches = batches

    @classmethod
    def run_batch(cls, number: int) -> list[tuple[int, FileResult]]:
        assert cls.worker is not None, "the pool's initializer makes the worker"
        out = []
        for group in cls.batches[number]:
            out.extend(_process_group(group, cls.worker))
        return out


def default_jobs() -> int:
    """All the cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def process_paths(
    paths: list[Path],
    settings: Settings,
    *,
    contexts: dict[Path, Path] | None = None,
    builds: dict[Path, DockerfileBuilds] | None = None,
    jobs: int = 1,
    on_result: Callable[[FileResult], None] | None = None,
) -> list[FileResult]:
    """Fix every Dockerfile in `paths` (already discovered); results in the same order.

    `contexts` gives the build context of files whose context is not their folder; `builds`
    how the repository builds and runs each file (discovery's build graph); `jobs` is the
    number of processes (1: all in this one); `on_result` is called as each file is done.
    """
    groups = group_by_context(paths, settings, contexts or {}, builds)
    results: list[FileResult | None] = [None] * len(paths)

    def done(index: int, result: FileResult) -> None:
        results[index] = result
        if on_result is not None:
            on_result(result)

    if jobs <= 1 or len(groups) <= 1:
        worker = Worker(settings)
        for group in groups:
            for index, result in _process_group(group, worker):
                done(index, result)
    else:
        _process_in_pool(settings, groups, jobs, done)
    return [result for result in results if result is not None]


def _process_in_pool(
    settings: Settings, groups: list[list[Item]], jobs: int, done: Callable[[int, FileResult], None]
) -> None:
    batches = _batches(groups)
    # Forked workers start at once and inherit the settings and the batches (with the documents
    # discovery parsed) without pickling them; a task is then just a batch's number.
    context: BaseContext = (
        multiprocessing.get_context("fork")
        if "fork" in multiprocessing.get_all_start_methods()
        else multiprocessing.get_context()
    )
    # The package attribute, not `from concurrent.futures import ProcessPoolExecutor`: the standard
    # library loads the process pool's modules on that first use, so a one-file run never does.
    with concurrent.futures.ProcessPoolExecutor(
        max_workers=min(jobs, len(batches)),
        mp_context=context,
        initializer=_PoolProcess.start,
        initargs=(settings, batches),
    ) as pool:
        futures: dict[concurrent.futures.Future[list[tuple[int, FileResult]]], list[list[Item]]] = {
            pool.submit(_PoolProcess.run_batch, number): batch for number, batch in enumerate(batches)
        }
        for future in concurrent.futures.as_completed(futures):
            try:
                finished = future.result()
            except Exception as error:  # a worker that died costs its files, not the run
                message = f"internal error: worker failed: {type(error).__name__}: {error}"
                finished = [
                    (index, FileResult(path=path, original=b"", error=message))
                    for group in futures[future]
                    for index, path, _context, _builds in group
                ]
            for index, result in finished:
                done(index, result)


def write_result(result: FileResult, leftovers: Leftovers | None = None) -> None:
    """Write one result's files all together (atomically each); raises fsutil.WriteFailed.

    `leftovers`: remove the temporary files killed runs left in the folders written in.
    """
    changes = changes_of(result)
    if changes:
        write_together(changes, leftovers)


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
    leftovers = Leftovers(older_than=time.time())
    for number, result in enumerate(run.results):
        if result.error is not None:
            continue
        try:
            write_result(result, leftovers)
        except WriteFailed as failure:
            console.err(error_line(failure.path, failure.message))
            errors += 1
            tally.fixed -= len(result.applied)
            run.failed_writes.add(number)
            continue
        finally:
            for leftover in leftovers.removed:
                console.err(
                    f"dockfix: warning: {display_path(leftover)}: removed, a temporary file left by a killed run"
                )
            leftovers.removed.clear()
        written.update(os.path.realpath(change.path) for change in changes_of(result))
        remaining += sum(1 for finding in result.remaining if not finding.fixable)
    withheld = _withheld(run)
    tally.changed_files = len(written)
    tally.write_failures = errors
    tally.hidden = withheld
    return ModeOutcome(write_summary(tally, remaining), bool(withheld), errors)


_MODE_STEPS: dict[str, Callable[[RunResults, Tally, Console, Presentation], ModeOutcome]] = {
    "report": _report,
    "diff": _diff,
    "check": _check,
    "write": _write,
}


# -- a run ----------------------------------------------------------------------------------------


def _progress(console: Console, total: int, shown: Presentation) -> Progress | None:
    """A transient progress bar on stderr for long runs on a terminal, else None."""
    if shown.quiet or total < PROGRESS_MIN_FILES:
        return None
    try:
        if not console.stderr.isatty():
            return None
    except (AttributeError, ValueError):
        return None
    # rich draws the bar; only a long run on a terminal needs it.
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


def _process(
    discovery: Discovery, settings: Settings, console: Console, shown: Presentation, jobs: int
) -> list[FileResult]:
    """Fix every Dockerfile found, with a progress bar on long runs."""
    progress = _progress(console, len(discovery.files), shown)
    if progress is None:
        return process_paths(discovery.files, settings, contexts=discovery.contexts, builds=discovery.builds, jobs=jobs)
    task = progress.add_task("fixing", total=len(discovery.files))

    def advance(_result: FileResult) -> None:
        progress.update(task, advance=1)
        progress.refresh()

    with progress:
        return process_paths(
            discovery.files,
            settings,
            contexts=discovery.contexts,
            builds=discovery.builds,
            jobs=jobs,
            on_result=advance,
        )


def _excluder(settings: Settings) -> Callable[[Path], bool] | None:
    """The configuration's `exclude`, as discover() wants it; None without configuration."""
    if not settings.use_config:
        return None
    finder = ConfigFinder()

    def excluded(path: Path) -> bool:
        try:
            config = finder.for_file(path)
        except ConfigProblem:
            return False  # reported when the file itself is processed
        return config is not None and config.excludes(path)

    return excluded


def _write_patches(plan: list[FileChange], paths: list[Path], patch_dir: Path, console: Console, quiet: bool) -> int:
    """`--patch-dir`: one patch per repository; the number of errors (0 or 1)."""
    try:
        patch_files = write_patches(patches_by_repository(plan, paths), patch_dir)
    except OSError as error:
        console.err(f"dockfix: error: --patch-dir: cannot write {display_path(patch_dir)}: {error.strerror or error}")
        return 1
    if not quiet:
        for patch in patch_files:
            console.err(f"patch written: {display_path(patch)}")
    return 0


def _judged_by_node_data(finding: Finding) -> bool:
    """A finding of a rule that judges versions by the data (DF007), or a new tag DF001 chose by the
    release schedule (a floating tag made an explicit major)."""
    rule = rule_table.rule_by_code(finding.code)
    if rule is not None and rule.needs_fresh_node_data:
        return True
    fix = finding.fix
    return rule is rule_table.explicit_base_image.RULE and fix is not None and fix.applicability is Applicability.UNSAFE


def _stale_data_warning(run: RunResults, settings: Settings) -> str | None:
    """Once per run, not per file, and only when a finding of the run was judged by the Node.js
    data, which is old: said on every run, it would be noise nobody reads."""
    if not any(_judged_by_node_data(finding) for result in run.results for finding in result.initial):
        return None
    services = Services(settings.options, use_cache=settings.use_cache)
    return services.node_data.warn_if_stale(settings.options.today)


def _print_run_summary(run: RunResults, settings: Settings, summary: str, console: Console) -> None:
    """The stale-data warning, the breakdown of a run over several files, unresolved digests, the summary line."""
    stale = _stale_data_warning(run, settings)
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


def fix_paths(
    paths: list[Path],
    *,
    mode: str,
    settings: Settings,
    console: Console,
    presentation: Presentation | None = None,
    jobs: int = 1,
) -> int:
    """Find the Dockerfiles in `paths` and process them in one of MODES; returns the exit code.

    Errors go to stderr as lines (the other output formats carry the files' errors themselves),
    then the mode does its work, the emitter of the output format writes the report to stdout,
    and the steps every mode shares follow: patches, next steps, the run summary on stderr.
    """
    shown = presentation or Presentation()
    discovery = discover(paths, excluded=_excluder(settings))
    errors = len(discovery.missing) + len(discovery.unreadable_folders)
    for line in discovery_lines(discovery, warnings=not shown.quiet):
        console.err(line)
    if not shown.quiet:
        for line in untrusted_config_lines(discovery.files, settings):
            console.err(line)
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
    if shown.verbose and not shown.quiet:
        for line in context_lines(finished):
            console.err(line)
    if not shown.quiet:
        for line in too_large_lines(results):
            console.err(line)
    tally = Tally()
    for result in results:
        tally.add(result, finished.unsafe_fixes)
    failed = [result for result in results if result.error is not None]
    errors += len(failed)
    if shown.output_format == "text":
        for result in failed:
            console.err(error_line(result.path, result.error or "", result.error_line))
    outcome = _MODE_STEPS[mode](finished, tally, console, shown)
    errors += outcome.errors
    EMITTERS[shown.output_format].emit(console, finished, shown)
    if shown.patch_dir is not None:
        plan = planned_changes(results)
        if plan:
            errors += _write_patches(plan, paths, shown.patch_dir, console, shown.quiet)
    if shown.output_format == "text" and mode in ("diff", "write"):
        for line in next_step_lines(finished.settled()):
            console.err(line)
    if not shown.quiet:
        _print_run_summary(finished, settings, outcome.summary, console)
    if errors:
        return EXIT_ERROR
    return EXIT_CHANGES_NEEDED if outcome.needs_changes else EXIT_CLEAN


def untrusted_config_lines(files: list[Path], settings: Settings) -> list[str]:
    """One warning for each configuration file over `files` whose data sources are ignored."""
    if not settings.use_config or settings.trust_repository_config:
        return []
    finder = ConfigFinder()
    ignored: dict[Path, list[str]] = {}
    for path in files:
        try:
            config = finder.for_file(path)
        except ConfigProblem:
            continue  # the files under it fail with its own error
        if config is not None and config.data_sources and "registry_mirror" not in settings.cli_options:
            ignored[config.path] = config.data_sources
    return [
        f"dockfix: warning: {display_path(path)}: {', '.join(keys)} ignored: a repository's configuration "
        "chooses no data source unless --trust-repository-config is given"
        for path, keys in ignored.items()
    ]


def run(request: Request, console: Console) -> int:
    """A whole run as the request asks for it; returns the exit code. Raises UsageProblem."""
    check_request(request)
    settings = settings_for(request)
    return fix_paths(
        request.paths,
        mode=request.mode,
        settings=settings,
        console=console,
        presentation=request.presentation,
        jobs=request.jobs if request.jobs is not None else default_jobs(),
    )


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the run is, so that it ends as Ctrl-C ends it."""


def _raise_terminated(_signal: int, _frame: FrameType | None) -> None:
    raise Terminated


@contextmanager
def _sigterm_ends_like_ctrl_c() -> Iterator[None]:
    """SIGTERM's default would end the process on the spot; as an exception it ends the run as
    Ctrl-C does: after the group of files being written (see fsutil), with one line."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def guarded(console: Console, action: Callable[[], int]) -> int:
    """`action()`'s exit code; a usage problem, or a bug, is one line on stderr and exit code 2, never a traceback.

    Ctrl-C or SIGTERM ends the run with one line and the shell's code for that signal (130, 143).
    """
    try:
        with _sigterm_ends_like_ctrl_c():
            return action()
    except UsageProblem as problem:
        console.err(f"dockfix: error: {problem}")
    except BrokenPipeError:
        raise
    except KeyboardInterrupt as stop:
        console.err("dockfix: interrupted: every file is either as it was or completely written")
        return 128 + (signal.SIGTERM if isinstance(stop, Terminated) else signal.SIGINT)
    except Exception as error:  # the last line of defence
        console.err(f"dockfix: error: internal error: {type(error).__name__}: {error}")
    return EXIT_ERROR
