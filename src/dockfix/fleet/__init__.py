"""`dockfix fleet`: fix one repository for a fleet tool, and say what changed for a pull request.

Run in a clone of a repository (multi-gitter runs it in each one it clones; a CI matrix job or
the GitHub Action in its checkout):

    dockfix fleet [--config ORG.toml] [--commit] [--title TITLE] [--body-file FILE]
                  [--allow-errors] [DOCKFIX ARGUMENTS...]

(`python -m dockfix.fleet ...` is the same command.) It runs `dockfix --write --output-format json`
on the repository (or on the paths and with the flags given: every argument that is not one of
the above is read as dockfix reads it), then builds the pull request's body from the JSON report:
the fixes applied, file by file; the unsafe fixes held back; the findings left for a person; the
files that could not be processed.

--config ORG.toml   the organisation's settings (a `.dockfix.toml`): each key it sets is passed
                    as the matching flag, so it wins over a repository's own configuration, and
                    the keys it leaves out are the repository's. `exclude` is refused (its globs
                    are relative to the repository, so it belongs in the repository's file).
--commit            commit the files dockfix wrote, with the title as the commit's first line
                    and the body below it: multi-gitter's `--manual-commit` then takes them as
                    the pull request's title and body.
--body-file FILE    write the body there too (for `gh pr create --body-file`, turbolift, and
                    the pull-request action of a CI job).
--allow-errors      keep the fixes of the other files when a Dockerfile cannot be processed
                    (the body lists it); without it, such a repository is skipped.

Exit codes, as multi-gitter reads them (zero: commit what changed and open a pull request, if
anything changed; anything else: skip the repository and log why):
  0  fixes written (and committed with --commit), or nothing to do; unsafe fixes held back do
     not count as a failure: the body lists them
  2  a Dockerfile could not be processed (without --allow-errors), a bad --config, or git failed
The body goes to standard output as well, so a fleet tool's log (and a dry run) shows it.
The command's flags are read by cli.py; the run is run.py's.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..output import Console
from ..project.config import ConfigProblem, load_config_file, load_toml, parse_config
from ..run import EXIT_CHANGES_NEEDED, EXIT_CLEAN, EXIT_ERROR, Request, UsageProblem, guarded, run

DEFAULT_TITLE = "Production-grade Dockerfiles (dockfix)"
# What a fleet run is: it writes, and reads the JSON report for the body.
RUN_FLAGS = ("--write", "--output-format", "json", "--quiet")

Record = dict[str, Any]  # one Dockerfile's record of the JSON report (output/json.py)


class FleetProblem(Exception):
    """A usage or configuration problem: one line, exit code 2."""


@dataclass(frozen=True)
class FleetOptions:
    """The fleet command's own options (see the module's docstring)."""

    config: Path | None = None
    commit: bool = False
    title: str = DEFAULT_TITLE
    body_file: Path | None = None
    allow_errors: bool = False


def organisation_flags(path: Path) -> list[str]:
    """The dockfix flags that carry the settings of the organisation's configuration file."""
    if not path.is_file():
        raise FleetProblem(f"--config: no such file: {path}")
    try:
        # Whatever its name, the file is read as a .dockfix.toml: its keys at the top level, or
        # under [tool.dockfix].
        config = load_config_file(path) or parse_config(load_toml(path), path)
    except ConfigProblem as problem:
        raise FleetProblem(f"--config: {problem}") from None
    if config.exclude:
        raise FleetProblem(
            f"--config: {path}: exclude is relative to a repository: set it in the repository's own .dockfix.toml"
        )
    flags: list[str] = []
    if config.select is not None:
        flags += ["--select", ",".join(config.select)]
    if config.ignore is not None:
        flags += ["--ignore", ",".join(config.ignore)]
    if config.unsafe_fixes is not None:
        flags.append("--unsafe-fixes" if config.unsafe_fixes else "--no-unsafe-fixes")
    if config.node_version is not None:
        flags += ["--node-version", config.node_version]
    if config.registry_mirror:
        flags += ["--registry-mirror", config.registry_mirror]
    return flags


def run_dockfix(request: Request) -> tuple[int, list[Record], str]:
    """Run dockfix here as `request` asks: its exit code, the records of its JSON report, what it said on stderr."""
    stdout, stderr = io.BytesIO(), io.BytesIO()
    console = Console(stdout, stderr)
    code = guarded(console, lambda: run(request, console))
    report = stdout.getvalue().decode("utf-8", "surrogateescape")
    records = [json.loads(line) for line in report.splitlines() if line.strip()]
    return code, records, stderr.getvalue().decode("utf-8", "surrogateescape")


def _finding_text(finding: Record, dockerfile: str) -> str:
    """`**DF005** exec-form-init (line 5): message`; the file is named when it is not the Dockerfile."""
    path = finding.get("path")
    where = f"line {finding['line']}" if finding.get("line") else "the whole file"
    if path and path != dockerfile:
        where = f"`{path}`, {where}"
    rule = f"**{finding['code']}** {finding.get('rule') or ''}".rstrip()
    return f"{rule} ({where}): {_one_line(finding['message'])}"


def _one_line(text: str) -> str:
    return " ".join(text.split())


def pull_request_body(records: list[Record]) -> str:
    """The Markdown body of the pull request, from the JSON records of `dockfix --write`."""
    changed = [r for r in records if r["status"] == "changed" and r["written"]]
    applied = sum(len(r["applied"]) for r in changed)
    files = sorted({path for r in changed for path in r["changed_files"]})
    lines = [
        f"dockfix applied {applied} fix{'es' if applied != 1 else ''} to {len(files)} "
        f"file{'s' if len(files) != 1 else ''}; each is listed below with the rule it follows "
        "(`dockfix --explain CODE` gives a rule's reasons).",
    ]
    for record in changed:
        lines += ["", f"### `{record['path']}`", ""]
        lines += [f"- {_finding_text(finding, record['path'])}" for finding in record["applied"]]
        others = [path for path in record["changed_files"] if path != record["path"]]
        if others:
            lines += ["", "Also changed: " + ", ".join(f"`{path}`" for path in others)]
    withheld = [(r, f) for r in records for f in r["withheld"]]
    if withheld:
        lines += [
            "",
            "### Held back: unsafe fixes",
            "",
            "These fixes may change how the image builds or behaves, so they were not applied; "
            "apply them with `dockfix --write --unsafe-fixes` and test the image.",
            "",
        ]
        lines += [f"- `{record['path']}`: {_finding_text(finding, record['path'])}" for record, finding in withheld]
    remaining = [(r, f) for r in records for f in r["remaining"]]
    if remaining:
        lines += ["", "### Left for a person (no automatic fix)", ""]
        lines += [f"- `{record['path']}`: {_finding_text(finding, record['path'])}" for record, finding in remaining]
    failed = [r for r in records if r["status"] == "failed"]
    if failed:
        lines += ["", "### Not processed", ""]
        for record in failed:
            error = record["error"] or {}
            line = f" (line {error['line']})" if error.get("line") else ""
            lines.append(f"- `{record['path']}`{line}: {_one_line(error.get('message', ''))}")
    return "\n".join(lines) + "\n"


def _git(*args: str) -> None:
    done = subprocess.run(["git", *args], capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if done.returncode != 0:
        raise FleetProblem(f"git {args[0]} failed: {_one_line(done.stderr or done.stdout)}")


def commit(files: list[str], title: str, body: str) -> None:
    """Commit the files dockfix wrote (and only those), the title and body as the message."""
    _git("add", "--", *files)
    _git("commit", "--quiet", "--message", title, "--message", body.rstrip("\n"), "--", *files)


def fix_repository(
    arguments: Sequence[str],
    options: FleetOptions,
    request_for: Callable[[Sequence[str]], Request],
    console: Console,
) -> int:
    """Fix the repository in the current folder and say what changed; the exit code.

    `arguments` are dockfix's (paths and flags), read by `request_for` as the command line reads
    them, after the flags a fleet run always has and those of the organisation's configuration.
    """
    repository = os.environ.get("REPOSITORY") or os.path.basename(os.getcwd())
    try:
        flags = organisation_flags(options.config) if options.config is not None else []
        try:
            request = request_for([*RUN_FLAGS, *flags, *arguments])
        except UsageProblem as problem:
            raise FleetProblem(f"dockfix: {problem}") from None
        code, records, errors = run_dockfix(request)
        if code not in (EXIT_CLEAN, EXIT_CHANGES_NEEDED, EXIT_ERROR) or (code == EXIT_ERROR and not records):
            # A usage error, or a crash: nothing was processed.
            raise FleetProblem(f"dockfix failed (exit {code}): {_one_line(errors) or 'no output'}")
        failed = [r for r in records if r["status"] == "failed"]
        if (code == EXIT_ERROR or failed) and not options.allow_errors:
            for record in failed:
                console.err(f"{repository}: {record['path']}: {_one_line(record['error']['message'])}")
            raise FleetProblem("some Dockerfiles could not be processed: repository skipped (see --allow-errors)")
        body = pull_request_body(records)
        files = sorted({path for r in records if r["written"] for path in r["changed_files"]})
        if options.body_file is not None:
            options.body_file.write_text(body, encoding="utf-8")
        if files and options.commit:
            commit(files, options.title, body)
        console.out(body)
        console.err(f"{repository}: {len(files)} file{'s' if len(files) != 1 else ''} changed")
        return EXIT_CLEAN
    except FleetProblem as problem:
        console.err(f"dockfix.fleet: error: {repository}: {problem}")
        return EXIT_ERROR
