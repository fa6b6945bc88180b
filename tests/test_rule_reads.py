"""What each rule declares it reads besides the Dockerfile (Rule.reads) is what it reads, and a
later pass that left the Dockerfile as it was runs again only the rules that read what changed.

Every read of a build-context file through the Project (its bytes, or whether it exists, with
the fixes' overlay) made while a rule checks a document is recorded, over the shape fixtures and
the repository fixtures, on every pass, with and without unsafe fixes; each rule runs on a Project
and pass facts of its own, so no file another rule read first hides a read behind a cache.
"""

from __future__ import annotations

import shutil
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from dockfix.context import Options, RuleContext
from dockfix.dockerfile.document import Document
from dockfix.edits import Finding
from dockfix.pipeline import fix_document
from dockfix.project.build_context import Project
from dockfix.project.discover import discover
from dockfix.project.inputs import EVERY_INPUT, ProjectInput, input_of
from dockfix.rules import RULES
from dockfix.rules.rule import Rule
from dockfix.run import Request, process_paths, settings_for
from support.fixing import TODAY as FIXING_TODAY
from support.paths import FIXTURES, SHAPES

TODAY = date(2026, 12, 6)


class ReadLog:
    """The project files read while each rule checks, by rule code."""

    def __init__(self) -> None:
        self.reading: list[str] = []
        self.reads: dict[str, set[Path]] = defaultdict(set)
        self.writes: dict[str, set[Path]] = defaultdict(set)
        self.checks: dict[str, int] = defaultdict(int)

    def record(self, path: Path | None) -> None:
        if path is not None and self.reading:
            self.reads[self.reading[-1]].add(path)

    def watched(self, rule: Rule) -> Rule:
        """`rule` with its check recorded, on a Project and pass facts of its own."""
        original = rule.check

        def check(doc: Document, ctx: RuleContext) -> Iterable[Finding]:
            shared = ctx.project
            ctx.project = Project(shared.root, shared.overlay, shared.too_large)
            ctx.start_pass(doc)
            self.reading.append(rule.code)
            self.checks[rule.code] += 1
            try:
                findings = list(original(doc, ctx))
            finally:
                self.reading.pop()
                ctx.project = shared
            for finding in findings:
                if finding.fix is not None:
                    self.writes[rule.code].update(e.path for e in finding.fix.edits if e.path is not None)
            return findings

        return replace(rule, check=check)

    def undeclared(self) -> list[str]:
        lines = []
        for rule in RULES:
            for kind, paths in (("reads", self.reads[rule.code]), ("writes", self.writes[rule.code])):
                lines += [
                    f"{rule.code} {kind} {path} ({input_of(path).value}), which it does not declare"
                    for path in sorted(paths)
                    if input_of(path) not in rule.reads
                ]
        return lines


@pytest.fixture
def log(monkeypatch: pytest.MonkeyPatch) -> Iterator[ReadLog]:
    log = ReadLog()
    read_absolute, exists = Project.read_absolute, Project.exists

    def watched_read(project: Project, path: Path) -> bytes | None:
        log.record(path)
        return read_absolute(project, path)

    def watched_exists(project: Project, relative: str) -> bool:
        log.record(project.path(relative))
        return exists(project, relative)

    monkeypatch.setattr(Project, "read_absolute", watched_read)
    monkeypatch.setattr(Project, "exists", watched_exists)
    yield log


def _context(folder: Path) -> RuleContext:
    return RuleContext(
        folder / "Dockerfile", Project(folder), Options(unsafe_fixes=True, offline=True, today=FIXING_TODAY)
    )


def _fix_tree(folder: Path, log: ReadLog, unsafe: bool) -> None:
    request = Request(paths=[folder], unsafe_fixes=unsafe, offline=True, isolated=True, today=TODAY)
    settings = settings_for(request)
    settings.rules = [log.watched(rule) for rule in settings.rules]
    found = discover([folder])
    process_paths(found.files, settings, contexts=found.contexts, builds=found.builds)


@pytest.mark.parametrize("unsafe", [True, False], ids=["unsafe", "safe"])
def test_every_project_file_a_rule_reads_or_writes_is_of_a_kind_it_declares(log, tmp_path, unsafe):
    for fixtures in (SHAPES, FIXTURES / "repos"):
        _fix_tree(shutil.copytree(fixtures, tmp_path / fixtures.name), log, unsafe)
    assert log.undeclared() == []
    # Not vacuous: the reads the pipeline's later passes depend on were seen.
    read_kinds = {code: {input_of(path) for path in paths} for code, paths in log.reads.items()}
    assert ProjectInput.DOCKERIGNORE in read_kinds["DF002"] and ProjectInput.DOCKERIGNORE in read_kinds["DF009"]
    assert ProjectInput.APP_CODE in read_kinds["DF006"]
    assert {input_of(path) for path in log.writes["DF009"]} == {ProjectInput.DOCKERIGNORE}
    assert {input_of(path) for path in log.writes["DF006"]} == {ProjectInput.APP_CODE}


def test_a_pass_that_wrote_only_a_dockerignore_runs_only_the_rules_that_read_one(log, tmp_path):
    folder = shutil.copytree(SHAPES / "already-production", tmp_path / "app")
    (folder / ".dockerignore").unlink()
    rules = [log.watched(rule) for rule in RULES]
    result = fix_document(folder / "Dockerfile", (folder / "Dockerfile").read_bytes(), _context(folder), rules)
    assert [f.code for f in result.applied] == ["DF009"] and result.fixed == result.original
    assert set(result.other_files) == {folder / ".dockerignore"}
    again = {rule.code for rule in RULES if ProjectInput.DOCKERIGNORE in rule.reads}
    assert again == {"DF002", "DF004", "DF009", "DF010"}
    assert dict(log.checks) == {rule.code: 2 if rule.code in again else 1 for rule in RULES}
    # The same as when every rule runs on every pass (each one declaring it reads every kind of file).
    everything = [replace(rule, reads=EVERY_INPUT) for rule in RULES]
    whole = fix_document(folder / "Dockerfile", (folder / "Dockerfile").read_bytes(), _context(folder), everything)
    assert (whole.fixed, whole.other_files) == (result.fixed, result.other_files)
    assert (whole.applied, whole.remaining) == (result.applied, result.remaining)


def test_a_pass_that_changed_the_dockerfile_runs_every_rule(log, tmp_path):
    folder = shutil.copytree(SHAPES / "already-production", tmp_path / "app")
    dockerfile = folder / "Dockerfile"
    dockerfile.write_bytes(dockerfile.read_bytes().replace(b"ENV NODE_ENV=production", b"ENV NODE_ENV production"))
    rules = [log.watched(rule) for rule in RULES]
    result = fix_document(dockerfile, dockerfile.read_bytes(), _context(folder), rules)
    assert [f.code for f in result.applied] == ["DF003"]
    assert dict(log.checks) == {rule.code: 2 for rule in RULES}
