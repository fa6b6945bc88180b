"""The output formats of a run: one emitter per `--output-format`, each with one method, `emit`.

An emitter writes a finished run's findings (and, except for text, its errors) to stdout, in
its format. What a mode prints besides (the diff, `would fix` lines, the summary on stderr) is
the business of the run (run.py).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Protocol

from .. import rules as rule_table
from ..changes import changes_of
from ..edits import Finding
from ..pipeline import FileResult
from ..rules.rule import Rule
from . import Console, github, sarif
from . import json as json_output
from .text import finding_line, statistics_lines


@dataclass
class Presentation:
    """How results are shown: format, colour, quietness, statistics, patches."""

    output_format: str = "text"
    quiet: bool = False
    verbose: bool = False  # also say which build context each file is fixed in, and why
    statistics: bool = False
    color: bool = False
    patch_dir: Path | None = None


@dataclass
class RunResults:
    """A run whose mode is done, as the emitters see it."""

    mode: str  # "report", "diff", "check" or "write"
    results: list[FileResult]
    rules: list[Rule]  # the rules that ran
    unsafe_fixes: bool
    context: Path | None = None  # `--context`, the build context of every file
    contexts: dict[Path, Path] = field(default_factory=dict)  # build contexts the build graph gives
    context_sources: dict[Path, str] = field(default_factory=dict)  # where each file's context came from
    failed_writes: set[int] = field(default_factory=set)  # indexes of the results --write could not write

    @cached_property
    def names(self) -> dict[str, str]:
        """Rule names by code."""
        return {rule.code: rule.name for rule in rule_table.RULES}

    def findings_of(self, result: FileResult) -> list[Finding]:
        """The findings shown for a file: as found, or after --write, those left."""
        return result.remaining if self.mode == "write" else result.initial

    def settled(self) -> Iterator[FileResult]:
        """The files that were processed and, under --write, written: their findings and next steps are shown."""
        for number, result in enumerate(self.results):
            if result.error is None and number not in self.failed_writes:
                yield result

    def context_of(self, result: FileResult) -> Path:
        """The build context a file was fixed in."""
        return self.context or self.contexts.get(result.path) or Path(os.path.abspath(result.path)).parent

    def context_source_of(self, result: FileResult) -> str:
        """Where the build context a file was fixed in came from."""
        if self.context is not None:
            return "--context"
        return self.context_sources.get(result.path, "the Dockerfile's folder")


class Emitter(Protocol):
    def emit(self, console: Console, run: RunResults, shown: Presentation) -> None:
        """Write the run's results to stdout."""


class TextEmitter:
    """`path:line: CODE [*] message` per finding (by file and line), or with --statistics the count
    per rule. The errors went to stderr as the files were done; --diff and --check list no findings."""

    def emit(self, console: Console, run: RunResults, shown: Presentation) -> None:
        if shown.statistics:
            pairs = [
                (finding, run.names.get(finding.code, ""))
                for result in run.results
                if result.error is None
                for finding in run.findings_of(result)
            ]
            for line in statistics_lines(pairs, run.unsafe_fixes):
                console.out(line)
        elif run.mode in ("report", "write"):
            for result in run.settled():
                # Rules report in their own order.
                ordered = sorted(
                    [*run.findings_of(result), *result.notes],
                    key=lambda f: (f.path is not None, str(f.path or ""), f.line, f.code),
                )
                for finding in ordered:
                    console.out_styled(finding_line(result, finding, run.unsafe_fixes, shown.color))


class JsonEmitter:
    """JSON Lines: one record per Dockerfile (output/json.py)."""

    def emit(self, console: Console, run: RunResults, shown: Presentation) -> None:
        records = []
        for number, result in enumerate(run.results):
            failed = number in run.failed_writes
            records.append(
                json_output.file_record(
                    result,
                    context=run.context_of(result),
                    context_source=run.context_source_of(result),
                    changed_files=[] if failed else [change.path for change in changes_of(result)],
                    written=run.mode == "write" and not failed,
                    names=run.names,
                )
            )
        console.out(json_output.render(records).encode("utf-8", "surrogateescape"))


class SarifEmitter:
    """One SARIF 2.1.0 log (output/sarif.py)."""

    def emit(self, console: Console, run: RunResults, shown: Presentation) -> None:
        log = sarif.sarif_log(run.results, run.rules, run.findings_of)
        console.out(sarif.render(log).encode("utf-8", "surrogateescape"))


class GithubEmitter:
    """GitHub Actions workflow commands: one annotation per finding or error (output/github.py)."""

    def emit(self, console: Console, run: RunResults, shown: Presentation) -> None:
        for result in run.results:
            if result.error is not None:
                console.out(github.error_annotation(result.path, result.error, result.error_line))
                continue
            for finding in [*run.findings_of(result), *result.notes]:
                console.out(github.finding_annotation(finding, result.path, run.names.get(finding.code)))


EMITTERS: dict[str, Emitter] = {
    "text": TextEmitter(),
    "json": JsonEmitter(),
    "sarif": SarifEmitter(),
    "github": GithubEmitter(),
}
