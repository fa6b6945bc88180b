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

This module reads the flags; the run itself is output/modes.py (`run`), imported with the rules
and the rest of the machinery only once a run is due: `--version` and `--help` need none of it.
"""

from __future__ import annotations

import os
import sys
from datetime import date
from functools import cache, wraps
from pathlib import Path

from . import __version__
from .output import Console

# typing.TYPE_CHECKING without importing typing, which takes a one-file run 5% of its start-up.
TYPE_CHECKING = False

if TYPE_CHECKING:
    from typing import Annotated

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
    from . import rules as rule_table

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
    from .context import checked_node_version

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
    from .project.discover import read_path_list

    return read_path_list(data.decode("utf-8", "surrogateescape"), Path("."))


def _list_rules(console: Console) -> int:
    from . import rules as rule_table

    for rule in rule_table.RULES:
        console.out(f"{rule.code}  {rule.name:<24} {rule.summary}  [fix: {rule.fix_safety_text}]")
    return EXIT_CLEAN


def _explain(console: Console, code: str) -> int:
    from . import rules as rule_table

    rule = rule_table.rule_by_code(code.strip())
    if rule is None:
        console.err(f"dockfix: error: --explain: unknown rule code or name: {code}")
        return EXIT_ERROR
    console.out(rule.explanation)
    return EXIT_CLEAN


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
        bool,
        typer.Option(
            "--isolated",
            help="Ignore configuration files (pyproject.toml, .dockfix.toml) and the user's cache (registry digests, "
            "refreshed Node.js data): the output depends only on the files and flags given.",
        ),
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
        # The machinery of a run, imported once a run is due (see the module's docstring).
        from . import rules as rule_table
        from .context import Options
        from .output.diff import display_path
        from .output.emitters import Presentation
        from .output.modes import OUTPUT_FORMATS, run
        from .output.style import wants_color
        from .runner import Settings, default_jobs

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
            use_cache=not isolated,
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
    global typer, Annotated  # `command`'s annotations name them; typer evaluates them in this module
    from typing import Annotated

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


def _import_run_machinery() -> None:
    """Import what a run needs, out of the garbage collector's sight.

    The modules' objects live as long as the process. Collecting while importing finds nothing to
    free, and once frozen (`gc.freeze`) they are not traversed again at every full collection:
    a tenth of the instructions of a one-file check.
    """
    import gc

    gc.disable()
    try:
        from .output import modes  # noqa: F401  (the runner, the pipeline and the rules with it)
    finally:
        gc.freeze()
        gc.enable()


def main() -> None:
    """Entry point of the `dockfix` script."""
    args = sys.argv[1:]
    if args == ["--version"]:
        # Answered before anything else is imported: editors and pre-commit ask for it often.
        Console().out(f"dockfix {__version__}")
        return
    if args[:1] == ["server"]:
        # The language server: its own flags, and its own imports (pygls), loaded only here.
        from .server import main as serve

        raise SystemExit(serve(args[1:]))
    arguments = _plain_arguments(args)
    if arguments is None:
        _typer_app()(prog_name="dockfix")
        return
    _import_run_machinery()
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
