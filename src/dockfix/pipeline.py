"""Apply fixes to a fixpoint and prove the result is still a Dockerfile BuildKit accepts.

One pass: run every selected rule on the current document, take the allowed fixes in rule
order, skip any that collide with one already taken (it gets its turn in the next pass), apply
them, re-parse. Repeat until no rule has an allowed fix left. A pass whose result does not
parse, or a loop that does not settle, leaves the file untouched and names the rule.

After each pass the real-image guard (guard.py) compares the new Dockerfile with the original:
a fix that makes it name something the official node images lack (a tag, a package manager, a
command of the other distribution...) is withheld, and reported with the reason; the other fixes
are still applied.

App code (JavaScript, TypeScript) that fixes edit is re-parsed too: a fix that would leave a
file that parsed no longer parsing is withheld, the other fixes are still applied, and its
finding stays, saying why its fix was not applied.

App code is written for the Node.js of the image that runs it (DF006's handler uses no syntax
that major cannot parse). A pass whose Dockerfile fixes change what that major parses (DF007
moving 12 to 24: optional chaining) applies them first: the app-code fixes wait for the next pass
and are planned again on the new image. When the move is withheld, they are applied in the same
pass, for the image as it stays.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path

from .appcode.node_syntax import SyntaxFeature, parsed_features
from .appcode.syntax import language_of, parses
from .context import Options, RuleContext
from .dockerfile.document import BOM, KNOWN_INSTRUCTIONS, DockerfileSyntaxError, Document
from .dockerfile.stages import image_node_major, runtime_stage
from .dockerfile.suppression import filter_findings
from .edits import Applicability, Edit, Finding, Fix, apply_edits, overlaps
from .guard import Problem, introduced
from .project.build_context import Project, UnreadableProjectFile
from .project.inputs import input_of
from .rules.own_word import generated_note
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
    notes: list[Finding] = field(default_factory=list)  # why rules left parts of the output alone
    error: str | None = None
    error_line: int | None = None
    too_large: list[Path] = field(default_factory=list)  # project files over the size limit, read as absent
    # The Dockerfile's folder and its build context, their links resolved when it was read: every
    # file its fixes write must still be in them (the Dockerfile in either, other files in the context).
    real_folder: Path | None = None
    real_context: Path | None = None

    @property
    def changed(self) -> bool:
        return self.error is None and (self.fixed != self.original or bool(self.other_files))

    @property
    def withheld(self) -> list[Finding]:
        """Findings on the output whose fix exists but was not allowed (unsafe without opt-in)."""
        return [f for f in self.remaining if f.fixable]


# An unknown first keyword in capitals is a Dockerfile with a mistyped instruction (`FORM node`),
# which BuildKit's error names; any other first line means the file is something else.
_MISTYPED_KEYWORD = re.compile(r"[A-Z]+")


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


def not_an_instruction(doc: Document) -> int | None:
    """The line of the first instruction when the file is not a Dockerfile: it starts otherwise."""
    first = doc.instructions[0] if doc.instructions else None
    if first is None or first.name in KNOWN_INSTRUCTIONS or _MISTYPED_KEYWORD.fullmatch(first.keyword):
        return None
    return first.line


def parse_for_fixing(source: bytes, parsed: Document | None = None) -> Document:
    """Parse and apply the builder's own checks; raises PipelineError with a line.

    `parsed` is the document of these bytes when one was already parsed (discovery's, to choose
    the build context): it is taken when its bytes are `source`'s.

    A file that is not a Dockerfile at all gets an error that names the line, not its text: it
    may be a `.npmrc` or an `.env` file, whose first line is a credential.
    """
    try:
        doc = parsed if parsed is not None and _text_of(parsed) == source else Document.parse(source)
    except DockerfileSyntaxError as error:
        raise PipelineError(error.message, error.line or None) from None
    line = not_an_instruction(doc)
    if line is not None:
        raise PipelineError(f"not a Dockerfile: line {line} is not an instruction", line)
    if doc.errors:
        raise PipelineError(doc.errors[0].message, doc.errors[0].line or None)
    problems = builder_errors(doc)
    if problems:
        line, message = problems[0]
        raise PipelineError(message, line or None)
    return doc


def _text_of(doc: Document) -> bytes:
    """The bytes `doc` was parsed from."""
    return BOM + doc.source if doc.bom else doc.source


def allowed(fix: Fix | None, options: Options) -> bool:
    if fix is None:
        return False
    if fix.applicability is Applicability.SAFE:
        return True
    return fix.applicability is Applicability.UNSAFE and options.unsafe_fixes


def _check_rules(
    doc: Document, ctx: RuleContext, rules: list[Rule], kept: Mapping[str, list[Finding]]
) -> dict[str, list[Finding]]:
    """Each rule's findings on `doc` (suppression comments not yet applied), by rule code in rule
    order; a rule in `kept` is not run again, its findings there are taken as they are."""
    found: dict[str, list[Finding]] = {}
    ctx.start_pass(doc)
    for rule in rules:
        if rule.code in kept:
            found[rule.code] = kept[rule.code]
            continue
        try:
            found[rule.code] = list(rule.check(doc, ctx))
        except UnreadableProjectFile as problem:
            raise PipelineError(f"{_shown(problem.path, ctx.project)}: {problem.reason}") from None
        except Exception as error:  # a rule bug must not take the whole run down
            raise PipelineError(
                f"internal error in rule {rule.code} ({rule.name}): {type(error).__name__}: {error}"
            ) from error
    return found


def _unsuppressed(doc: Document, rules: list[Rule], found: dict[str, list[Finding]]) -> list[Finding]:
    # `# dockfix: ignore=CODE`, `# dockfix: ignore-file` and `# hadolint ignore=DLxxxx` comments.
    return filter_findings(doc, [finding for findings in found.values() for finding in findings], rules)


def _unaffected(
    rules: list[Rule], found: dict[str, list[Finding]], chosen: list[Finding], dockerfile_changed: bool
) -> dict[str, list[Finding]]:
    """The findings of a pass that the next one keeps, by rule code: those of every rule that
    neither had a fix applied nor reads (Rule.reads) a kind of file the pass's fixes wrote. When
    the fixes changed the Dockerfile, none: every rule runs again on the new one."""
    if dockerfile_changed:
        return {}
    written = {input_of(edit.path) for finding in chosen for edit in _edits(finding) if edit.path is not None}
    fixed = {finding.code for finding in chosen}
    return {rule.code: found[rule.code] for rule in rules if rule.code not in fixed and not rule.reads & written}


def _edits(finding: Finding) -> tuple[Edit, ...]:
    """The edits of a finding's fix (none for a finding without one)."""
    return finding.fix.edits if finding.fix is not None else ()


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


def _apply(files: dict[Path | None, bytes], project: Project, chosen: list[Finding]) -> dict[Path | None, bytes]:
    result = dict(files)
    by_path: dict[Path | None, list[Edit]] = {}
    for finding in chosen:
        for edit in _edits(finding):
            if edit.path is not None and not _inside(edit.path, project):
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


def _inside(path: Path, project: Project) -> bool:
    """Whether `path`, with every symbolic link followed, is inside the build context."""
    root = project.resolved_root
    try:
        return root is not None and path.resolve().is_relative_to(root)
    except (OSError, RuntimeError):
        return False


def fix_document(path: Path, source: bytes, ctx: RuleContext, rules: list[Rule]) -> FileResult:
    """Run the rules to a fixpoint on one Dockerfile. Never raises for bad input."""
    result = FileResult(
        path=path,
        original=source,
        real_folder=Path(os.path.realpath(ctx.dockerfile.parent)),
        real_context=Path(os.path.realpath(ctx.project.root)),
    )
    ctx.rule_codes = frozenset(rule.code for rule in rules)
    try:
        doc = parse_for_fixing(source, ctx.builds.document if ctx.builds is not None else None)
        generated = generated_note(doc)
        if generated is not None:  # an edit would be lost at the next generation: no rule runs
            result.fixed, result.notes = source, [generated]
            return result
        _fix(doc, ctx, rules, result)
    except PipelineError as error:
        result.error, result.error_line = error.message, error.line
        result.fixed = None
        result.other_files = {}
    result.too_large = sorted(ctx.project.too_large)
    return result


def withheld_alone(doc: Document, ctx: RuleContext, finding: Finding) -> str | None:
    """Why a pass would withhold `finding`'s fix applied on its own to `doc`; None when it would apply it.

    For a fix applied by itself (an editor's quick fix), which no pass may have judged: the fixes
    a pass did not choose (unsafe ones without --unsafe-fixes, ones that collided with another)
    get the same checks here: the Dockerfile still parses, app code that parsed still does, and
    the Dockerfile still fits the real node images. `ctx` must be fresh: its project's overlay
    holds no fixes of an earlier pass.
    """
    files: dict[Path | None, bytes] = {None: doc.source}
    try:
        new_files = _apply(files, ctx.project, [finding])
        parse_for_fixing(new_files[None])
    except PipelineError as error:
        return error.message
    breaking, _ = _breaking_app_code(files, new_files, ctx.project, [finding])
    for path in breaking.values():
        return f"it would leave {_shown(path, ctx.project)} failing to parse"
    refused = _RealImageGuard(doc, ctx).refused(files, ctx.project, [finding])
    return next(iter(refused.values()), None)


def _fix(doc: Document, ctx: RuleContext, rules: list[Rule], result: FileResult) -> None:
    options = ctx.options
    project = ctx.project
    bom = b"\xef\xbb\xbf" if doc.bom else b""
    files: dict[Path | None, bytes] = {None: doc.source}
    originals: dict[Path, bytes | None] = {}
    real_images = _RealImageGuard(doc, ctx)
    kept: dict[str, list[Finding]] = {}
    for number in range(MAX_PASSES + 1):
        found = _check_rules(doc, ctx, rules, kept)
        findings = _unsuppressed(doc, rules, found)
        notes = [f for f in findings if f.note]
        findings = [f for f in findings if not f.note]
        chosen, new_files, withheld = _plan_pass(findings, files, project, options, real_images)
        if withheld:
            findings = [_without_fix(f, withheld[id(f)]) if id(f) in withheld else f for f in findings]
        if number == 0:
            result.initial = findings
        if not chosen:
            result.remaining = findings
            result.notes = notes
            break
        if number == MAX_PASSES:
            codes = sorted({f.code for f in chosen})
            raise PipelineError(
                f"fixes did not settle after {MAX_PASSES} passes (rules {', '.join(codes)}); file left untouched"
            )
        for finding in chosen:
            for edit in _edits(finding):
                if edit.path is not None and edit.path not in originals:
                    originals[edit.path] = project.read_absolute(edit.path)
        try:
            new_doc = real_images.document(new_files[None], doc)
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
        kept = _unaffected(rules, found, chosen, dockerfile_changed=new_doc is not doc)
        files = new_files
        doc = new_doc
        for other, content in files.items():
            if other is not None:
                project.overlay[other] = content
    result.fixed = bom + files[None]
    result.other_files = {
        p: (originals.get(p), content) for p, content in files.items() if p is not None and originals.get(p) != content
    }


def _plan_pass(
    findings: list[Finding],
    files: dict[Path | None, bytes],
    project: Project,
    options: Options,
    real_images: _RealImageGuard,
) -> tuple[list[Finding], dict[Path | None, bytes], dict[int, str]]:
    """The fixes one pass applies, the files they give, and the fixes withheld, with the reason.

    A fix is withheld when it would leave app code that parsed no longer parsing, or make the
    Dockerfile name something the real node images lack. Withheld fixes are keyed by the id of
    their finding; the choice is made again without them, so a fix they pushed aside still gets
    its turn. Everything is judged anew each pass: a fix refused on one shape of the file (a tag
    upgrade of a stage that installs `python`) may fit once other fixes changed it (a split that
    left that install in the build stage), and a second run must not find more to do.
    """
    withheld: dict[int, str] = {}
    deferred: set[int] = set()
    while True:
        candidates = [f for f in findings if id(f) not in withheld and id(f) not in deferred]
        chosen = _choose(candidates, options)
        waiting = _waiting_for_the_image(files[None], chosen)
        if waiting:
            chosen = _choose([f for f in candidates if id(f) not in waiting], options)
        if not chosen:
            return chosen, files, withheld
        new_files = _apply(files, project, chosen)
        breaking, only_together = _breaking_app_code(files, new_files, project, chosen)
        if breaking or only_together:
            withheld.update(
                (key, f"it would leave {_shown(path, project)} failing to parse") for key, path in breaking.items()
            )
            deferred.update(only_together)
            continue
        refused = real_images.refused(files, project, chosen)
        if not refused:
            return chosen, new_files, withheld
        withheld.update(refused)


def _waiting_for_the_image(dockerfile: bytes, chosen: list[Finding]) -> set[int]:
    """The chosen app-code fixes (by id of their finding) to plan again next pass, because the
    chosen Dockerfile fixes change the syntax the Node.js of the image that runs the app parses:
    the code they write must use what the image will parse, not only what it parsed."""
    app_code = [f for f in chosen if any(e.path is not None and language_of(e.path) for e in _edits(f))]
    moves = [e for f in chosen for e in _edits(f) if e.path is None]
    if not app_code or not moves:
        return set()
    try:
        before, after = parse_for_fixing(dockerfile), parse_for_fixing(apply_edits(dockerfile, moves))
    except PipelineError:
        return set()  # reported by the pass itself, with the rule that caused it
    if _runtime_syntax(before) == _runtime_syntax(after):
        return set()
    return {id(f) for f in app_code}


def _runtime_syntax(doc: Document) -> frozenset[SyntaxFeature]:
    """What the Node.js of the image `docker build` produces parses."""
    stage = runtime_stage(doc)
    return parsed_features(None if stage is None else image_node_major(doc, stage))


def _breaking_app_code(
    files: dict[Path | None, bytes], new_files: dict[Path | None, bytes], project: Project, chosen: list[Finding]
) -> tuple[dict[int, Path], set[int]]:
    """Fixes whose edits leave a JS/TS file that parsed no longer parsing.

    Returns the fixes that break a file on their own (by id of their finding, with the file), and
    those that break one only together with others: of those the last in rule order waits for the
    next pass, where it is planned again on the others' result and judged on its own.
    """
    breaking: dict[int, Path] = {}
    only_together: set[int] = set()
    for path, content in new_files.items():
        language = language_of(path) if path is not None else None
        if path is None or language is None:
            continue
        before = files[path] if path in files else project.read_absolute(path)
        # A file that did not parse already is the author's; a new one has nothing to keep.
        if before is None or before == content or parses(content, language) or not parses(before, language):
            continue
        touching = [f for f in chosen if any(e.path == path for e in _edits(f))]
        alone = [
            f for f in touching if not parses(apply_edits(before, [e for e in _edits(f) if e.path == path]), language)
        ]
        if alone:
            breaking.update((id(finding), path) for finding in alone)
        else:
            only_together.add(id(touching[-1]))
    return breaking, only_together


def _shown(path: Path, project: Project) -> str:
    """A file of the project as the user knows it: relative to the build context."""
    for root in (project.root, project.root.resolve()):
        if path.is_relative_to(root):
            return path.relative_to(root).as_posix()
    return path.name


def _without_fix(finding: Finding, reason: str) -> Finding:
    """The finding of a withheld fix: no fix, and a message that says why."""
    return replace(finding, message=f"{finding.message} (fix withheld: {reason})", fix=None)


class _RealImageGuard:
    """Admits only the fixes after which the Dockerfile still fits the real node images."""

    def __init__(self, original: Document, ctx: RuleContext):
        self.original = original
        self.ctx = ctx
        # The documents of the texts judged in this pass: the one the pass ends with is the
        # next pass's document.
        self.judged: dict[bytes, Document] = {}

    # Worked out on the first fix that edits the Dockerfile: most files never need it.
    @cached_property
    def baseline(self) -> list[Problem]:
        return self.ctx.real_images.problems(self.original)

    def new_problems(self, source: bytes) -> list[Problem]:
        try:
            doc = parse_for_fixing(source)
        except PipelineError:
            return []  # reported by the pass itself, with the rule that caused it
        self.judged[source] = doc
        return introduced(self.baseline, self.ctx.real_images.problems(doc))

    def document(self, source: bytes, before: Document) -> Document:
        """The document of the text a pass ends with: `before`, the pass's own, when no fix edited
        the Dockerfile; else the one judged, if it was. The others are let go."""
        doc = before if source == before.source else self.judged.pop(source, None)
        self.judged.clear()
        return doc if doc is not None else parse_for_fixing(source)

    def refused(self, files: dict[Path | None, bytes], project: Project, chosen: list[Finding]) -> dict[int, str]:
        """The chosen fixes to withhold (by id of their finding), with what they would break."""
        if not any(edit.path is None for finding in chosen for edit in _edits(finding)):
            return {}
        if not self.new_problems(_apply(files, project, chosen)[None]):
            return {}
        # Some fix (or pair of fixes) breaks the build: keep fixes one at a time, in rule order,
        # while the file still fits.
        admitted: list[Finding] = []
        refused: dict[int, str] = {}
        for finding in chosen:
            problems = self.new_problems(_apply(files, project, [*admitted, finding])[None])
            if problems:
                refused[id(finding)] = problems[0].message
            else:
                admitted.append(finding)
        return refused


def _culprits(source: bytes, chosen: list[Finding]) -> list[str]:
    names = []
    for finding in chosen:
        edits = [e for e in _edits(finding) if e.path is None]
        try:
            parse_for_fixing(apply_edits(source, edits))
        except PipelineError:
            names.append(finding.code)
    return sorted(set(names))
