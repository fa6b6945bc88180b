"""Run the fix pipeline over many Dockerfiles; one bad file never stops the others.

Each Dockerfile gets its own RuleContext: the build context (`--context`, else the one a compose
file gives it, else the Dockerfile's folder), the user's options merged with the configuration
file found for it (config.py; flags given on the command line win), and the rules selected the
same way. The outcome of each file is a FileResult, a small picklable record.

Nothing is written outside what the run was given: a Dockerfile that is a symbolic link to a
file outside its own folder and its build context is reported as an error and not processed
(the pipeline refuses, the same way, fixes to `.dockerignore` or app files that lead out of the
build context). Naming the file the link points to fixes that file.

Dockerfiles that share a build context share one overlay of pending changes to other files:
when the fixes for `Dockerfile` add a line to `.dockerignore`, the fixes for `Dockerfile.dev` in
the same folder see that line and build on it, instead of both editing the original and one of
the two edits being lost. So files are processed in groups, one group per build context (nested
contexts, such as a repository root and a folder in it, make one group), each group in order in
one process; with `jobs` above 1 the groups are spread over a pool of processes.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from .context import Options, RuleContext, Services
from .dockerfile.imageref import use_registry_mirror
from .pipeline import FileResult, fix_document
from .project.build_context import Project
from .project.fsutil import FileChange, FileProblem, leads_outside, read_dockerfile, write_together
from .records import dataclass, field
from .rules.rule import Rule

# typing.TYPE_CHECKING without importing typing, which takes a one-file run 5% of its start-up.
TYPE_CHECKING = False

if TYPE_CHECKING:
    from multiprocessing.context import BaseContext

    from .project.config import ConfigFinder

if TYPE_CHECKING:
    from multiprocessing.context import BaseContext

    from .project.config import ConfigFinder

# Groups are sent to the workers in batches of at least this many files: one task per file
# would spend more time on pickling and scheduling than on fixing small Dockerfiles.
MIN_FILES_PER_TASK = 8


@dataclass
class Settings:
    """What the command line asked for, as far as processing files goes."""

    rules: list[Rule]
    options: Options
    context: Path | None = None  # build context for every Dockerfile; None: each one's own
    services: Services | None = None  # registry client and Node.js data; None: one per run
    # Configuration files: read only when `use_config`; the keys the command line set win.
    use_config: bool = False
    # The user's cache (registry digests, refreshed Node.js data): not with --isolated.
    use_cache: bool = True
    cli_select: list[str] | None = None
    cli_ignore: list[str] | None = None
    cli_options: frozenset[str] = field(default_factory=frozenset)  # Options fields set by flags


def _absolute(path: Path) -> Path:
    # Absolute without resolving links, so overlay keys match the paths rules build.
    return Path(os.path.abspath(path))


class Worker:
    """The state of one process: configurations read and services made, shared by its files."""

    def __init__(self, settings: Settings, services: dict[tuple, Services] | None = None):
        self.settings = settings
        # By registry mirror and offline; handed in by a caller that outlives one worker (the
        # language server), so the data and the registry cache are loaded once.
        self.services: dict[tuple, Services] = services if services is not None else {}
        self._finder: ConfigFinder | None = None

    def services_for(self, options: Options) -> Services:
        if self.settings.services is not None:
            return self.settings.services
        key = (options.registry_mirror, options.offline)
        if key not in self.services:
            self.services[key] = Services(options, use_cache=self.settings.use_cache)
        return self.services[key]

    def resolve(self, path: Path) -> tuple[list[Rule], Options]:
        """The rules and options for one file; raises config.ConfigProblem."""
        settings = self.settings
        if not settings.use_config:
            return settings.rules, settings.options
        from .project.config import ConfigFinder, resolve_settings

        if self._finder is None:
            self._finder = ConfigFinder()
        config = self._finder.for_file(path)
        if config is None:
            return settings.rules, settings.options
        return resolve_settings(config, settings)


def prepare_file(
    path: Path,
    settings: Settings,
    pending: dict[Path, bytes] | None = None,
    services: Services | None = None,
    context: Path | None = None,
    worker: Worker | None = None,
    source: bytes | None = None,
) -> tuple[bytes, list[Rule], RuleContext] | FileResult:
    """What fixing one Dockerfile takes: its bytes, its rules and its RuleContext; or a FileResult with the error.

    `source` is the Dockerfile's text when it is not the file on disk (an editor's unsaved text);
    the build context is read from disk all the same.
    """
    from .project.config import ConfigProblem

    worker = worker or Worker(settings)
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
        services=services or worker.services_for(options),
    )
    return source, rules, ctx


def process_file(
    path: Path,
    settings: Settings,
    pending: dict[Path, bytes] | None = None,
    services: Services | None = None,
    context: Path | None = None,
    worker: Worker | None = None,
    source: bytes | None = None,
) -> FileResult:
    """Read and fix one Dockerfile. Never raises: every problem becomes the result's error.

    `pending` holds other files' bytes as earlier Dockerfiles' fixes left them; `services` is
    shared between files so the Node.js data is loaded and the registry asked once per run;
    `context` is the build context a compose file gives the file (`--context` wins over it);
    `source`, the text to fix instead of the file on disk (see `prepare_file`).
    """
    prepared = prepare_file(path, settings, pending, services, context, worker, source)
    if isinstance(prepared, FileResult):
        return prepared
    source, rules, ctx = prepared
    try:
        return fix_document(path, source, ctx, rules)
    except Exception as error:  # a bug must cost one file, not the run
        return FileResult(path=path, original=source, error=f"internal error: {type(error).__name__}: {error}")


def _process_group(items: list[tuple[int, Path, Path | None]], worker: Worker) -> list[tuple[int, FileResult]]:
    """Fix files that share build contexts, in order, each seeing the others' pending changes."""
    out = []
    pending: dict[Path, bytes] = {}
    for index, path, context in items:
        result = process_file(path, worker.settings, pending, context=context, worker=worker)
        for other, (_old, new) in result.other_files.items():
            pending[other] = new
        out.append((index, result))
    return out


def group_by_context(
    paths: list[Path], settings: Settings, contexts: dict[Path, Path]
) -> list[list[tuple[int, Path, Path | None]]]:
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
    groups: dict[str, list[tuple[int, Path, Path | None]]] = {}
    for index, (path, key) in enumerate(zip(paths, keys, strict=True)):
        groups.setdefault(roots[key], []).append((index, path, contexts.get(path)))
    return list(groups.values())


def _batches(groups: list[list[tuple[int, Path, Path | None]]]) -> list[list[list[tuple[int, Path, Path | None]]]]:
    batches: list[list[list[tuple[int, Path, Path | None]]]] = []
    size = 0
    for group in groups:
        if not batches or size >= MIN_FILES_PER_TASK:
            batches.append([])
            size = 0
        batches[-1].append(group)
        size += len(group)
    return batches


_POOL_WORKER: Worker | None = None


def _init_pool_worker(settings: Settings | None) -> None:
    global _POOL_WORKER
    if settings is not None:  # not forked: the settings came pickled
        _POOL_WORKER = Worker(settings)
    elif _POOL_WORKER is not None:  # forked: start with fresh caches, not the parent's
        _POOL_WORKER = Worker(_POOL_WORKER.settings)


def _run_batch(batch: list[list[tuple[int, Path, Path | None]]]) -> list[tuple[int, FileResult]]:
    assert _POOL_WORKER is not None
    out = []
    for group in batch:
        out.extend(_process_group(group, _POOL_WORKER))
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
    jobs: int = 1,
    on_result: Callable[[FileResult], None] | None = None,
) -> list[FileResult]:
    """Fix every Dockerfile in `paths` (already discovered); results in the same order.

    `contexts` gives the build context of files whose context is not their folder; `jobs` is
    the number of processes (1: all in this one); `on_result` is called as each file is done.
    """
    contexts = contexts or {}
    groups = group_by_context(paths, settings, contexts)
    results: list[FileResult | None] = [None] * len(paths)
    if jobs <= 1 or len(groups) <= 1:
        worker = Worker(settings)
        for group in groups:
            for index, result in _process_group(group, worker):
                results[index] = result
                if on_result is not None:
                    on_result(result)
        return [result for result in results if result is not None]
    return _process_in_pool(paths, settings, groups, jobs, results, on_result)


def _process_in_pool(paths, settings, groups, jobs, results, on_result) -> list[FileResult]:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    global _POOL_WORKER
    batches = _batches(groups)
    workers = min(jobs, len(batches))
    context: BaseContext
    if "fork" in multiprocessing.get_all_start_methods():
        # Forked workers inherit the settings (and a registry client given by the caller)
        # without pickling them.
        context = multiprocessing.get_context("fork")
        _POOL_WORKER = Worker(settings)
        initargs = (None,)
    else:  # pragma: no cover - Windows and macOS defaults
        context = multiprocessing.get_context()
        initargs = (settings,)
    try:
        with ProcessPoolExecutor(
            max_workers=workers, mp_context=context, initializer=_init_pool_worker, initargs=initargs
        ) as pool:
            futures = {pool.submit(_run_batch, batch): batch for batch in batches}
            for future in as_completed(futures):
                try:
                    done = future.result()
                except Exception as error:  # a worker that died costs its files, not the run
                    done = [
                        (
                            index,
                            FileResult(
                                path=path,
                                original=b"",
                                error=f"internal error: worker failed: {type(error).__name__}: {error}",
                            ),
                        )
                        for group in futures[future]
                        for index, path, _context in group
                    ]
                for index, result in done:
                    results[index] = result
                    if on_result is not None:
                        on_result(result)
    finally:
        _POOL_WORKER = None
    return [result for result in results if result is not None]


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
