"""`python -m dockfix.fleet`: fix one repository for a fleet tool, and say what changed for a pull request.

Run in a clone of a repository (multi-gitter runs it in each one it clones; a CI matrix job or
the GitHub Action in its checkout):

    python -m dockfix.fleet [--config ORG.toml] [--commit] [--title TITLE] [--body-file FILE]
                            [--allow-errors] [DOCKFIX ARGUMENTS...]

It runs `dockfix --write --output-format json` on the repository (or on the paths and with the
flags given: every argument that is not one of the above goes to dockfix as it is), then builds
the pull request's body from the JSON report: the fixes applied, file by file; the unsafe fixes
held back; the findings left for a person; the files that could not be processed.

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
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

EXIT_OK = 0
EXIT_ERROR = 2
DEFAULT_TITLE = "Production-grade Dockerfiles (dockfix)"
# Flags of this script that take a value; the others are switches.
_VALUED = ("--config", "--title", "--body-file")
_SWITCHES = ("--commit", "--allow-errors")


class FleetProblem(Exception):
    """A usage or configuration problem: one line, exit code 2."""


def parse_arguments(args: list[str]) -> tuple[dict[str, object], list[str]]:
    """This script's own options, and the arguments left for dockfix."""
    options: dict[str, object] = {"title": DEFAULT_TITLE}
    rest: list[str] = []
    remaining = iter(args)
    for arg in remaining:
        flag, equals, value = arg.partition("=")
        if flag in _VALUED:
            if not equals:
                value = next(remaining, "")
            if not value:
                raise FleetProblem(f"{flag} needs a value")
            options[flag[2:].replace("-", "_")] = value
        elif arg in _SWITCHES:
            options[arg[2:].replace("-", "_")] = True
        elif arg in ("-h", "--help"):
            options["help"] = True
        else:
            rest.append(arg)
    return options, rest


def organisation_flags(path: Path) -> list[str]:
    """The dockfix flags that carry the settings of the organisation's configuration file."""
    from .project.config import ConfigProblem, _load_toml, load_config_file, parse_config

    if not path.is_file():
        raise FleetProblem(f"--config: no such file: {path}")
    try:
        # Whatever its name, the file is read as a .dockfix.toml: its keys at the top level, or
        # under [tool.dockfix].
        config = load_config_file(path) or parse_config(_load_toml(path), path)
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


def run_dockfix(arguments: list[str]) -> tuple[int, list[dict], str]:
    """`dockfix --write --output-format json ARGUMENTS` here: exit code, JSON records, stderr."""
    # Without a path among the arguments dockfix works on the current folder: the repository.
    command = [sys.executable, "-m", "dockfix", "--write", "--output-format", "json", "--quiet", *arguments]
    done = subprocess.run(command, capture_output=True, text=True, errors="surrogateescape", stdin=subprocess.DEVNULL)
    records = []
    for line in done.stdout.splitlines():
        if line.strip():
            records.append(json.loads(line))
    return done.returncode, records, done.stderr


def _finding_text(finding: dict, dockerfile: str) -> str:
    """`**DF005** exec-form-init (line 5): message`; the file is named when it is not the Dockerfile."""
    path = finding.get("path")
    where = f"line {finding['line']}" if finding.get("line") else "the whole file"
    if path and path != dockerfile:
        where = f"`{path}`, {where}"
    rule = f"**{finding['code']}** {finding.get('rule') or ''}".rstrip()
    return f"{rule} ({where}): {_one_line(finding['message'])}"


def _one_line(text: str) -> str:
    return " ".join(text.split())


def pull_request_body(records: list[dict]) -> str:
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


def main(args: list[str] | None = None) -> int:
    from .output import Console

    console = Console()
    repository = os.environ.get("REPOSITORY") or os.path.basename(os.getcwd())
    try:
        options, rest = parse_arguments(sys.argv[1:] if args is None else args)
        if options.get("help"):
            console.out((__doc__ or "").strip())
            return EXIT_OK
        flags = organisation_flags(Path(str(options["config"]))) if "config" in options else []
        code, records, errors = run_dockfix([*flags, *rest])
        if code not in (0, 1, 2) or (code == 2 and not records):
            # A usage error, or a crash: nothing was processed.
            raise FleetProblem(f"dockfix failed (exit {code}): {_one_line(errors) or 'no output'}")
        failed = [r for r in records if r["status"] == "failed"]
        if (code == 2 or failed) and not options.get("allow_errors"):
            for record in failed:
                console.err(f"{repository}: {record['path']}: {_one_line(record['error']['message'])}")
            raise FleetProblem("some Dockerfiles could not be processed: repository skipped (see --allow-errors)")
        body = pull_request_body(records)
        files = sorted({path for r in records if r["written"] for path in r["changed_files"]})
        if "body_file" in options:
            Path(str(options["body_file"])).write_text(body, encoding="utf-8")
        if files and options.get("commit"):
            commit(files, str(options["title"]), body)
        console.out(body)
        console.err(f"{repository}: {len(files)} file{'s' if len(files) != 1 else ''} changed")
        return EXIT_OK
    except FleetProblem as problem:
        console.err(f"dockfix.fleet: error: {repository}: {problem}")
        return EXIT_ERROR


if __name__ == "__main__":
    raise SystemExit(main())
