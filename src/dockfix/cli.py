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
"""

from __future__ import annotations

import os
import re
from datetime import date
from pathlib import Path
from typing import Annotated, Optional

import typer

from . import __version__
from .context import Options
from .discover import discover
from .edits import Finding
from .fsutil import WriteFailed
from .output import Console
from .pipeline import FileResult
from .output.diff import display_path, unified_diff
from .output.text import (
    Tally,
    check_summary,
    error_line,
    finding_line,
    report_summary,
    write_summary,
)
from . import rules as rule_table
from .runner import Settings, changes_of, planned_changes, process_paths, write_result

EXIT_CLEAN = 0
EXIT_CHANGES_NEEDED = 1
EXIT_ERROR = 2

_NODE_VERSION = re.compile(r"^v?(\d+)(\.\d+){0,2}$")

app = typer.Typer(
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


class UsageProblem(Exception):
    """A flag value that makes no sense; reported as one line, exit code 2."""


def _split_codes(values: list[str] | None) -> list[str]:
    """`--select DF002,DF003 --select DF004` -> ["DF002", "DF003", "DF004"]."""
    codes = []
    for value in values or []:
        codes.extend(part.strip() for part in value.split(",") if part.strip())
    return codes


def _check_selectors(selectors: list[str], flag: str) -> list[str]:
    """Upper-cased code prefixes; rule names pass as they are. Unknown ones are a usage error."""
    checked = []
    for selector in selectors:
        upper = selector.upper()
        if any(entry.code.startswith(upper) for entry in rule_table.RULES):
            checked.append(upper)
        elif any(entry.name == selector.lower() for entry in rule_table.RULES):
            checked.append(selector.lower())
        else:
            raise UsageProblem(f"{flag}: unknown rule code or name: {selector}")
    return checked


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
    if not _NODE_VERSION.match(value.strip()):
        raise UsageProblem(f"--node-version: not a Node.js version like 22 or 22.11.0: {value}")
    return value.strip().lstrip("v")


def _list_rules(console: Console) -> int:
    status = EXIT_CLEAN
    for entry in rule_table.RULES:
        try:
            module = entry.load()
            summary = str(getattr(module, "SUMMARY", ""))
            safety = str(getattr(module, "FIX_SAFETY", ""))
        except Exception as error:  # a rule module that cannot load must not hide the others
            summary, safety = f"(cannot load the rule: {type(error).__name__}: {error})", "-"
            status = EXIT_ERROR
        console.out(f"{entry.code}  {entry.name:<24} {summary}  [fix: {safety}]")
    return status


def _explain(console: Console, code: str) -> int:
    entry = rule_table.rule_by_code(code.strip())
    if entry is None:
        console.err(f"dockfix: error: --explain: unknown rule code or name: {code}")
        return EXIT_ERROR
    try:
        docs = entry.docs
    except Exception as error:
        console.err(f"dockfix: error: --explain: cannot load rule {entry.code}: {type(error).__name__}: {error}")
        return EXIT_ERROR
    console.out(docs or f"{entry.code} ({entry.name}): no documentation")
    return EXIT_CLEAN


def _print_findings(console: Console, result: FileResult, findings: list[Finding], unsafe_fixes: bool) -> None:
    """One line per finding, by file and line (rules report in their own order)."""
    ordered = sorted(findings, key=lambda f: (f.path is not None, str(f.path or ""), f.line, f.code))
    for finding in ordered:
        console.out(finding_line(result, finding, unsafe_fixes))


def run(
    paths: list[Path],
    *,
    mode: str,
    settings: Settings,
    console: Console,
) -> int:
    """Process `paths` in one mode ("report", "diff", "check", "write"); returns the exit code."""
    unsafe = settings.options.unsafe_fixes
    errors = 0
    discovery = discover(paths)
    for missing in discovery.missing:
        console.err(f"dockfix: error: {display_path(missing)}: no such file or directory")
        errors += 1
    for folder, reason in discovery.unreadable_folders:
        console.err(f"dockfix: error: {display_path(folder)}: cannot read folder: {reason}")
        errors += 1
    for folder in discovery.empty_folders:
        console.err(f"dockfix: warning: {display_path(folder)}: no Dockerfile found")

    results = process_paths(discovery.files, settings)
    tally = Tally()
    for result in results:
        tally.add(result, unsafe)
        if result.error is not None:
            console.err(error_line(result.path, result.error, result.error_line))
            errors += 1
    withheld = sum(len(result.withheld) for result in results)
    needs_changes = bool(withheld)

    if mode == "report":
        for result in results:
            if result.error is None:
                _print_findings(console, result, result.initial, unsafe)
        needs_changes = needs_changes or any(result.changed for result in results)
        console.err(report_summary(tally))
    elif mode in ("diff", "check"):
        plan = planned_changes(results)
        tally.changed_files = len(plan)
        tally.hidden = withheld
        for change in plan:
            if mode == "diff":
                console.out(unified_diff(change.expected, change.new, change.path))
            else:
                console.err(f"would fix {display_path(change.path)}")
        needs_changes = needs_changes or bool(plan)
        console.err(check_summary(tally))
    else:
        written: set[str] = set()  # real paths: a shared .dockerignore counts once
        remaining = 0
        for result in results:
            if result.error is not None:
                continue
            try:
                write_result(result)
            except WriteFailed as failure:
                console.err(error_line(failure.path, failure.message))
                errors += 1
                tally.fixed -= len(result.applied)
                continue
            written.update(os.path.realpath(change.path) for change in changes_of(result))
            _print_findings(console, result, result.remaining, unsafe)
            remaining += sum(1 for finding in result.remaining if not finding.fixable)
        tally.changed_files = len(written)
        tally.hidden = withheld
        console.err(write_summary(tally, remaining))

    if errors:
        return EXIT_ERROR
    return EXIT_CHANGES_NEEDED if needs_changes else EXIT_CLEAN


def _version_callback(value: bool) -> None:
    if value:
        Console().out(f"dockfix {__version__}")
        raise typer.Exit(EXIT_CLEAN)


@app.command(
    help="Rewrite Node.js Dockerfiles into production-grade ones, one reviewable fix per best practice.",
    epilog="Exit codes: 0 nothing to change (or everything written); 1 changes needed and not written, "
    "unsafe fixes held back included; 2 an error in any file, or a usage error.",
)
def command(
    paths: Annotated[Optional[list[Path]], typer.Argument(metavar="PATH", help="Dockerfiles or folders to search (default: .)", show_default=False)] = None,
    diff: Annotated[bool, typer.Option("--diff", help="Print a unified diff of the changes instead of writing them.")] = False,
    write: Annotated[bool, typer.Option("--write", help="Write the fixes in place.")] = False,
    check: Annotated[bool, typer.Option("--check", help="Print a summary only; exit 1 if anything would change.")] = False,
    unsafe_fixes: Annotated[bool, typer.Option("--unsafe-fixes", help="Also apply fixes that may change behaviour.")] = False,
    select: Annotated[Optional[list[str]], typer.Option("--select", metavar="CODES", help="Only these rules (codes or prefixes, comma-separated).")] = None,
    ignore: Annotated[Optional[list[str]], typer.Option("--ignore", metavar="CODES", help="Skip these rules (codes or prefixes, comma-separated).")] = None,
    offline: Annotated[bool, typer.Option("--offline", help="Never touch the network; use cached and shipped data only.")] = False,
    context: Annotated[Optional[Path], typer.Option("--context", metavar="DIR", help="The build context (default: each Dockerfile's folder).")] = None,
    node_version: Annotated[Optional[str], typer.Option("--node-version", metavar="VERSION", help="The Node.js version to target (default: the current LTS).")] = None,
    registry_mirror: Annotated[Optional[str], typer.Option("--registry-mirror", metavar="URL", envvar="DOCKFIX_REGISTRY_MIRROR", help="Registry mirror to resolve image digests with.")] = None,
    list_rules: Annotated[bool, typer.Option("--list-rules", help="List the rules and exit.")] = False,
    explain: Annotated[Optional[str], typer.Option("--explain", metavar="CODE", help="Print a rule's documentation and exit.")] = None,
    today: Annotated[Optional[str], typer.Option("--today", hidden=True)] = None,
    version: Annotated[bool, typer.Option("--version", callback=_version_callback, is_eager=True, help="Print the version and exit.")] = False,
) -> None:
    console = Console()
    try:
        if list_rules:
            raise typer.Exit(_list_rules(console))
        if explain is not None:
            raise typer.Exit(_explain(console, explain))
        if write and (diff or check):
            raise UsageProblem("--write cannot be combined with --diff or --check")
        mode = "diff" if diff else "check" if check else "write" if write else "report"
        selected = _check_selectors(_split_codes(select), "--select")
        ignored = _check_selectors(_split_codes(ignore), "--ignore")
        if context is not None and not context.is_dir():
            raise UsageProblem(f"--context: not a folder: {display_path(context)}")
        options = Options(
            unsafe_fixes=unsafe_fixes,
            offline=offline,
            node_version=_parse_node_version(node_version),
            registry_mirror=registry_mirror or None,
            today=_parse_today(today),
        )
        settings = Settings(rules=rule_table.select_rules(selected or None, ignored or None), options=options, context=context)
        code = run(paths or [Path(".")], mode=mode, settings=settings, console=console)
    except UsageProblem as problem:
        console.err(f"dockfix: error: {problem}")
        code = EXIT_ERROR
    except (typer.Exit, BrokenPipeError, KeyboardInterrupt):
        raise
    except Exception as error:  # the last line of defence: one line, never a traceback
        console.err(f"dockfix: error: internal error: {type(error).__name__}: {error}")
        code = EXIT_ERROR
    raise typer.Exit(code)


def main() -> None:
    """Entry point of the `dockfix` script."""
    app(prog_name="dockfix")
