"""Apply fixes to a fixpoint and prove the result is still a Dockerfile BuildKit accepts.

One pass: run every selected rule on the current document, take the allowed fixes in rule
order, skip any that collide with one already taken (it gets its turn in the next pass), apply
them, re-parse. Repeat until no rule has an allowed fix left. A pass whose result does not
parse, or a loop that does not settle, leaves the file untouched and names the rule.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .context import Options, RuleContext
from .dockerfile.document import KNOWN_INSTRUCTIONS, DockerfileSyntaxError, Document
from .dockerfile.suppression import filter_findings
from .edits import Applicability, Edit, Finding, Fix, apply_edits, overlaps
from .project.build_context import Project
from .rules.rule import Rule

MAX_PASSES = 10


@dataclass
class FileResult:
    """The outcome for one Dockerfile: small and picklable, so it can cross processes."""

    path: Path
    original: bytes
    fixed: bytes | None = None
    other_files: dict[Path, tuple[bytes | None, bytes]] = field(default_factory=dict)
    initial: list[Finding] = field(default_factory=list)
    applied: list[Finding] = field(default_factory=list)
    remaining: list[Finding] = field(default_factory=list)
    error: str | None = None
    error_line: int | None = None

    @property
    def changed(self) -> bool:
        return self.error is None and (self.fixed != self.original or bool(self.other_files))

    @property
    def withheld(self) -> list[Finding]:
        """Findings on the output whose fix exists but was not allowed (unsafe without opt-in)."""
        return [f for f in self.remaining if f.fixable]


class PipelineError(Exception):
    def __init__(self, message: str, line: int | None = None):
        super().__init__(message)
        self.message = message
        self.line = line


def builder_errors(doc: Document) -> list[tuple[int, str]]:
    """What Docker's builder rejects even though the parser accepts it."""
    errors = []
    instructions = doc.instructions
    if not instructions:
        return [(0, "file with no instructions")]
    previous = None
    for inst in instructions:
        if inst.name not in KNOWN_INSTRUCTIONS:
            hint = ""
            if (
                previous is not None
                and previous.end_line == inst.line - 1
                and inst.keyword.startswith(("&&", "||", "|", "-"))
            ):
                hint = f" (line {inst.line - 1} probably lacks a trailing backslash)"
            errors.append((inst.line, f"unknown instruction: {inst.keyword}{hint}"))
        previous = inst
    first = next((i for i in instructions if i.name != "ARG"), None)
    if first is not None and first.name != "FROM" and not errors:
        errors.append((first.line, f"{first.name} before the first FROM: no build stage in current context"))
    return errors


def parse_for_fixing(source: bytes) -> Document:
    """Parse and apply the builder's own checks; raises PipelineError with a line."""
    try:
        doc = Document.parse(source)
    except DockerfileSyntaxError as error:
        raise PipelineError(error.message, error.line or None) from None
    if doc.errors:
        raise PipelineError(doc.errors[0].message, doc.errors[0].line or None)
    problems = builder_errors(doc)
    if problems:
        line, message = problems[0]
        raise PipelineError(message, line or None)
    return doc


def allowed(fix: Fix | None, options: Options) -> bool:
    if fix is None:
        return False
    if fix.applicability is Applicability.SAFE:
        return True
    return fix.applicability is Applicability.UNSAFE and options.unsafe_fixes


def run_rules(doc: Document, ctx: RuleContext, rules: list[Rule]) -> list[Finding]:
    findings: list[Finding] = []
    for rule in rules:
        try:
            findings.extend(rule.check(doc, ctx))
        except Exception as error:  # a rule bug must not take the whole run down
            raise PipelineError(
                f"internal error in rule {rule.code} ({rule.name}): {type(error).__name__}: {error}"
            ) from error
    # `# dockfix: ignore=CODE`, `# dockfix: ignore-file` and `# hadolint ignore=DLxxxx` comments.
    return filter_findings(doc, findings, rules)


def _choose(findings: list[Finding], options: Options) -> list[Finding]:
    chosen: list[Finding] = []
    taken: list[Edit] = []
    for finding in findings:
        fix = finding.fix
        if fix is None or not allowed(fix, options):
            continue
        if fix.isolated:
            if not chosen:
                return [finding]  # alone: the others are planned again on its result
            continue
        edits = fix.edits
        if any(overlaps(a, b) for a in edits for b in taken):
            continue
        chosen.append(finding)
        taken.extend(edits)
    return chosen


def _chosen_edits(finding: Finding) -> tuple[Edit, ...]:
    """The edits of a finding _choose chose: it has a fix."""
    assert finding.fix is not None
    return finding.fix.edits


def _apply(files: dict[Path | None, bytes], project: Project, chosen: list[Finding]) -> dict[Path | None, bytes]:
    result = dict(files)
    by_path: dict[Path | None, list[Edit]] = {}
    for finding in chosen:
        for edit in _chosen_edits(finding):
            if edit.path is not None and not _inside(edit.path, project.root):
                # A symbolic link (or `..`) leading out of the build context: never written.
                raise PipelineError(
                    f"fix by {finding.code} would write {edit.path.name}, which leads outside the build "
                    f"context (a symbolic link or `..`); file left untouched"
                )
            if edit.path is not None and edit.path not in result:  # the Dockerfile (None) always is
                current = project.read_absolute(edit.path)
                result[edit.path] = current if current is not None else b""
            if edit.end > len(result[edit.path]):
                raise PipelineError(
                    f"internal error in rule {finding.code}: edit {edit.start}..{edit.end} "
                    f"beyond the end of the file ({len(result[edit.path])} bytes)"
                )
            by_path.setdefault(edit.path, []).append(edit)
    for path, edits in by_path.items():
        result[path] = apply_edits(result[path], edits)
    return result


def _inside(path: Path, root: Path) -> bool:
    """Whether `path`, with every symbolic link followed, is inside `root`."""
    try:
        return path.resolve().is_relative_to(root.resolve())
    except (OSError, RuntimeError):
        return False


def fix_document(path: Path, source: bytes, ctx: RuleContext, rules: list[Rule]) -> FileResult:
    """Run the rules to a fixpoint on one Dockerfile. Never raises for bad input."""
    result = FileResult(path=path, original=source)
    try:
        doc = parse_for_fixing(source)
        _fix(doc, ctx, rules, result)
    except PipelineError as error:
        result.error, result.error_line = error.message, error.line
        result.fixed = None
        result.other_files = {}
    return result


def _fix(doc: Document, ctx: RuleContext, rules: list[Rule], result: FileResult) -> None:
    options = ctx.options
    project = ctx.project
    bom = b"\xef\xbb\xbf" if doc.bom else b""
    files: dict[Path | None, bytes] = {None: doc.source}
    originals: dict[Path, bytes | None] = {}
    for number in range(MAX_PASSES + 1):
        findings = run_rules(doc, ctx, rules)
        if number == 0:
            result.initial = findings
        chosen = _choose(findings, options)
        if not chosen:
            result.remaining = findings
            break
        if number == MAX_PASSES:
            codes = sorted({f.code for f in chosen})
            raise PipelineError(
                f"fixes did not settle after {MAX_PASSES} passes (rules {', '.join(codes)}); file left untouched"
            )
        for finding in chosen:
            for edit in _chosen_edits(finding):
                if edit.path is not None and edit.path not in originals:
                    originals[edit.path] = project.read_absolute(edit.path)
        new_files = _apply(files, project, chosen)
        try:
            new_doc = parse_for_fixing(new_files[None])
        except PipelineError as error:
            culprits = _culprits(files[None], chosen)
            raise PipelineError(
                f"fix by {', '.join(culprits) or 'several rules'} would give a Dockerfile Docker rejects "
                f"({error.message}); file left untouched"
            ) from None
        if new_files == files:
            codes = sorted({f.code for f in chosen})
            raise PipelineError(f"rule {', '.join(codes)} proposes a fix that changes nothing; file left untouched")
        result.applied.extend(chosen)
        files = new_files
        doc = new_doc
        for other, content in files.items():
            if other is not None:
                project.overlay[other] = content
    result.fixed = bom + files[None]
    result.other_files = {
        p: (originals.get(p), content) for p, content in files.items() if p is not None and originals.get(p) != content
    }


def _culprits(source: bytes, chosen: list[Finding]) -> list[str]:
    names = []
    for finding in chosen:
        edits = [e for e in _chosen_edits(finding) if e.path is None]
        try:
            parse_for_fixing(apply_edits(source, edits))
        except PipelineError:
            names.append(finding.code)
    return sorted(set(names))
