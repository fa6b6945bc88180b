"""The `dockfix` command line: flags -> run.Request -> run.run -> exit code.

    dockfix [OPTIONS] [PATH...]     fix, check or report (the flags are below, in `fix`)
    dockfix server [--network]      the language server, for editors (server/)
    dockfix fleet [OPTIONS] ...     fix one repository for a fleet tool (fleet/)

One parser reads them all: typer. Everything a run does, and its exit codes, is run.py's; this
module only turns flags into a request.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from . import __version__, fleet
from . import rules as rule_table
from .output import Console
from .output.emitters import Presentation
from .output.style import wants_color
from .project.discover import read_path_list
from .run import EXIT_CLEAN, TRUST_REPOSITORY_CONFIG_VARIABLE, Request, UsageProblem, guarded, run
from .server import serve
from .sources.cache import user_cache_dir
from .sources.nodedata import NodeDataUpdateError, update_data

HELP = "Rewrite Node.js Dockerfiles into production-grade ones, one reviewable fix per best practice."
EPILOG = (
    "Exit codes: 0 nothing to change (or everything written); 1 changes needed and not written, "
    "unsafe fixes held back included; 2 an error in any file, or a usage error."
)
SETTINGS: dict[str, Any] = {"help_option_names": ["-h", "--help"]}


# -- the answers that are not runs ----------------------------------------------------------------


def _version_callback(value: bool) -> None:
    if value:
        Console().out(f"dockfix {__version__}")
        raise typer.Exit(EXIT_CLEAN)


def _list_rules(console: Console) -> int:
    for rule in rule_table.RULES:
        console.out(f"{rule.code}  {rule.name:<24} {rule.summary}  [fix: {rule.fix_safety_text}]")
    return EXIT_CLEAN


def _explain(console: Console, code: str) -> int:
    rule = rule_table.rule_by_code(code.strip())
    if rule is None:
        raise UsageProblem(f"--explain: unknown rule code or name: {code}")
    console.out(rule.explanation)
    return EXIT_CLEAN


def _update_data(console: Console, offline: bool) -> int:
    if offline:
        raise UsageProblem("--update-data downloads the data: it cannot be combined with --offline")
    try:
        console.out(update_data(user_cache_dir()))
    except NodeDataUpdateError as error:
        raise UsageProblem(f"--update-data: {error}") from None
    return EXIT_CLEAN


# -- flags -> request -----------------------------------------------------------------------------


def _parse_today(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise UsageProblem(f"--today: not a date in the form YYYY-MM-DD: {value}") from None


def _read_from_file(name: str) -> list[Path]:
    """The paths listed in `--from-file` (relative ones from the current folder)."""
    try:
        data = sys.stdin.buffer.read() if name == "-" else Path(name).read_bytes()
    except OSError as error:
        raise UsageProblem(f"--from-file: cannot read {name}: {error.strerror or type(error).__name__}") from None
    return read_path_list(data.decode("utf-8", "surrogateescape"), Path("."))


def _mode(flags: dict[str, Any]) -> str:
    if flags["write"] and (flags["diff"] or flags["check"]):
        raise UsageProblem("--write cannot be combined with --diff or --check")
    return "diff" if flags["diff"] else "check" if flags["check"] else "write" if flags["write"] else "report"


def _optional_path(value: str | Path | None) -> Path | None:
    return None if value is None else Path(value)


def request_from_flags(flags: dict[str, Any]) -> Request:
    """The run the flags ask for, from the parameters of `fix` as typer read them; raises UsageProblem.

    Paths are made `Path`s here: the context's parameters hold them as the strings typed on some typer
    versions (0.28) and as `Path`s on others.
    """
    mode = _mode(flags)
    targets = [Path(path) for path in flags["paths"] or []]
    if flags["from_file"] is not None:
        targets.extend(_read_from_file(flags["from_file"]))
    elif not targets:
        targets = [Path(".")]
    output_format = flags["output_format"]
    return Request(
        paths=targets,
        mode=mode,
        unsafe_fixes=flags["unsafe_fixes"],
        select=flags["select"],
        ignore=flags["ignore"],
        offline=flags["offline"],
        context=_optional_path(flags["context"]),
        node_version=flags["node_version"],
        registry_mirror=flags["registry_mirror"],
        isolated=flags["isolated"],
        trust_repository_config=flags["trust_repository_config"],
        today=_parse_today(flags["today"]),
        jobs=flags["jobs"],
        presentation=Presentation(
            output_format=output_format,
            quiet=flags["quiet"],
            verbose=flags["verbose"],
            statistics=flags["statistics"],
            color=output_format == "text" and wants_color(sys.stdout),
            patch_dir=_optional_path(flags["patch_dir"]),
        ),
    )


def _answer(console: Console, flags: dict[str, Any]) -> int:
    """What the flags ask for: a rule list, a rule's documentation, fresh data, or a run."""
    if flags["list_rules"]:
        return _list_rules(console)
    if flags["explain"] is not None:
        return _explain(console, flags["explain"])
    if flags["update_data"]:
        return _update_data(console, flags["offline"])
    return run(request_from_flags(flags), console)


# -- the flags of `fix`, in the order --help lists them ---------------------------------------------

Paths = Annotated[
    list[Path] | None,
    typer.Argument(metavar="PATH...", help="Dockerfiles or folders to search (default: .)", show_default=False),
]
Diff = Annotated[bool, typer.Option("--diff", help="Print a unified diff of the changes instead of writing them.")]
Write = Annotated[bool, typer.Option("--write", help="Write the fixes in place.")]
Check = Annotated[bool, typer.Option("--check", help="Print a summary only; exit 1 if anything would change.")]
UnsafeFixes = Annotated[
    bool | None,
    typer.Option(
        "--unsafe-fixes/--no-unsafe-fixes",
        help="Also apply fixes that may change behaviour (default: the configuration's unsafe-fixes, else no).",
        show_default=False,
    ),
]
Select = Annotated[
    list[str] | None,
    typer.Option("--select", metavar="CODES", help="Only these rules (codes or prefixes, comma-separated)."),
]
Ignore = Annotated[
    list[str] | None,
    typer.Option("--ignore", metavar="CODES", help="Skip these rules (codes or prefixes, comma-separated)."),
]
Offline = Annotated[bool, typer.Option("--offline", help="Never touch the network; use cached and shipped data only.")]
ContextDir = Annotated[
    Path | None,
    typer.Option("--context", metavar="DIR", help="The build context (default: each Dockerfile's folder)."),
]
NodeVersion = Annotated[
    str | None,
    typer.Option(
        "--node-version",
        metavar="VERSION",
        help="The Node.js major upgrades move to, or lts-oldest / lts-newest (default: lts-oldest).",
    ),
]
RegistryMirror = Annotated[
    str | None,
    typer.Option(
        "--registry-mirror",
        metavar="URL",
        envvar="DOCKFIX_REGISTRY_MIRROR",
        help="Registry mirror to resolve image digests with.",
    ),
]
ListRules = Annotated[bool, typer.Option("--list-rules", help="List the rules and exit.")]
Explain = Annotated[
    str | None, typer.Option("--explain", metavar="CODE", help="Print a rule's documentation and exit.")
]
FromFile = Annotated[
    str | None,
    typer.Option("--from-file", metavar="FILE", help="Read more paths from FILE, one a line ('-': standard input)."),
]
Jobs = Annotated[
    int | None,
    typer.Option(
        "--jobs",
        "-j",
        metavar="N",
        min=1,
        help="Process files in N processes (default: all cores).",
        show_default=False,
    ),
]
OutputFormat = Annotated[
    str,
    typer.Option(
        "--output-format",
        metavar="FORMAT",
        help="text, json (one record per file), sarif or github (workflow annotations).",
    ),
]
Statistics = Annotated[bool, typer.Option("--statistics", help="Count the findings by rule instead of listing them.")]
PatchDir = Annotated[
    Path | None, typer.Option("--patch-dir", metavar="DIR", help="Write one patch per repository into DIR.")
]
Quiet = Annotated[
    bool, typer.Option("--quiet", "-q", help="Print findings and errors only: no progress, warnings or summary.")
]
Verbose = Annotated[
    bool,
    typer.Option(
        "--verbose", "-v", help="Also say which build context each Dockerfile is fixed in, and where it came from."
    ),
]
Isolated = Annotated[
    bool,
    typer.Option(
        "--isolated",
        help="Ignore configuration files (pyproject.toml, .dockfix.toml) and the user's cache (registry digests, "
        "refreshed Node.js data): the output depends only on the files and flags given.",
    ),
]
TrustRepositoryConfig = Annotated[
    bool,
    typer.Option(
        "--trust-repository-config",
        envvar=TRUST_REPOSITORY_CONFIG_VARIABLE,
        help="Let configuration files (pyproject.toml, .dockfix.toml) set where data comes from "
        "(registry-mirror); without it their registry-mirror is ignored with a warning.",
    ),
]
UpdateData = Annotated[
    bool,
    typer.Option(
        "--update-data", help="Refresh the Node.js release and vulnerability data into the user's cache, then exit."
    ),
]
Today = Annotated[str | None, typer.Option("--today", hidden=True)]
Version = Annotated[
    bool, typer.Option("--version", callback=_version_callback, is_eager=True, help="Print the version and exit.")
]


# -- the commands ---------------------------------------------------------------------------------

fixer = typer.Typer(add_completion=False, pretty_exceptions_enable=False, rich_markup_mode=None)


@fixer.command(help=HELP, epilog=EPILOG, context_settings=SETTINGS)
def fix(
    ctx: typer.Context,
    paths: Paths = None,
    diff: Diff = False,
    write: Write = False,
    check: Check = False,
    unsafe_fixes: UnsafeFixes = None,
    select: Select = None,
    ignore: Ignore = None,
    offline: Offline = False,
    context: ContextDir = None,
    node_version: NodeVersion = None,
    registry_mirror: RegistryMirror = None,
    list_rules: ListRules = False,
    explain: Explain = None,
    from_file: FromFile = None,
    jobs: Jobs = None,
    output_format: OutputFormat = "text",
    statistics: Statistics = False,
    patch_dir: PatchDir = None,
    quiet: Quiet = False,
    verbose: Verbose = False,
    isolated: Isolated = False,
    trust_repository_config: TrustRepositoryConfig = False,
    update_data: UpdateData = False,
    today: Today = None,
    version: Version = False,
) -> None:
    """The command behind the flags; its parameters reach `_answer` as typer read them (`ctx.params`)."""
    console = Console()
    raise typer.Exit(guarded(console, lambda: _answer(console, ctx.params)))


def request_from_arguments(arguments: Sequence[str]) -> Request:
    """The run `dockfix ARGUMENTS` asks for, read by `fix`'s own parser; raises UsageProblem."""
    command = typer.main.get_command(fixer)
    try:
        with command.make_context("dockfix", list(arguments)) as ctx:
            return request_from_flags(ctx.params)
    except typer.BadParameter as error:
        raise UsageProblem(error.format_message()) from None
    except typer.TyperException as error:
        raise UsageProblem(str(error)) from None


class _Commands(TyperGroup):
    """`dockfix server ...` and `dockfix fleet ...` are subcommands; anything else is `fix`'s.

    `fix` keeps the whole command line to itself (`dockfix [OPTIONS] [PATH...]`, its help and its
    usage errors), so a path is never taken for a subcommand's name, except the two names.
    """

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        arguments = list(sys.argv[1:] if args is None else args)
        if arguments and arguments[0] in self.commands:
            return super().main(arguments, prog_name, complete_var, standalone_mode, windows_expand_args, **extra)
        command = typer.main.get_command(fixer)
        return command.main(arguments, prog_name, complete_var, standalone_mode, windows_expand_args, **extra)


app = typer.Typer(
    cls=_Commands,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings=SETTINGS,
)


@app.command("server", help="Run the dockfix language server on standard input and output (LSP).")
def server_command(
    network: Annotated[
        bool,
        typer.Option(
            "--network",
            help="Let the server ask the registry for image digests (default: offline, cached digests only).",
        ),
    ] = False,
    today: Annotated[str | None, typer.Option("--today", hidden=True)] = None,
) -> None:
    """`dockfix server`: see server/."""
    try:
        day = date.fromisoformat(today) if today is not None else None
    except ValueError:
        raise typer.BadParameter(f"not a date in the form YYYY-MM-DD: {today}", param_hint="--today") from None
    raise typer.Exit(serve(network=network, today=day))


@app.command(
    "fleet",
    help="Fix one repository for a fleet tool, and write what changed as the body of a pull request. "
    "Runs `dockfix --write` on the repository (the current folder), or on the paths and with the dockfix "
    "flags given after its own options; prints the body, and commits the files written with --commit.",
    epilog="Exit codes: 0 fixes written (and committed with --commit), or nothing to do; "
    "2 a Dockerfile could not be processed (without --allow-errors), a bad --config, or git failed.",
    context_settings={**SETTINGS, "allow_extra_args": True, "ignore_unknown_options": True},
)
def fleet_command(
    ctx: typer.Context,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            metavar="ORG.toml",
            help="The organisation's settings (a .dockfix.toml): each key it sets wins over the repository's own "
            "configuration; exclude is refused.",
        ),
    ] = None,
    commit: Annotated[
        bool, typer.Option("--commit", help="Commit the files written, with the title and the body as the message.")
    ] = False,
    title: Annotated[
        str, typer.Option("--title", metavar="TITLE", help="The commit's first line.")
    ] = fleet.DEFAULT_TITLE,
    body_file: Annotated[
        Path | None, typer.Option("--body-file", metavar="FILE", help="Write the body there too.")
    ] = None,
    allow_errors: Annotated[
        bool,
        typer.Option(
            "--allow-errors",
            help="Keep the other files' fixes when a Dockerfile cannot be processed (without it, the repository "
            "is skipped).",
        ),
    ] = False,
) -> None:
    """`dockfix fleet`: see fleet/."""
    wanted = fleet.FleetOptions(
        config=config, commit=commit, title=title, body_file=body_file, allow_errors=allow_errors
    )
    raise typer.Exit(fleet.fix_repository(ctx.args, wanted, request_from_arguments, Console()))


def main() -> None:
    """Entry point of the `dockfix` script."""
    app(prog_name="dockfix")
