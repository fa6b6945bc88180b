"""Small rules with known behaviour, so the command line can be tested apart from the real rules.

Each exercises one thing the CLI must handle: a safe fix that also edits `.dockerignore` (a file
that may not exist yet), an unsafe fix, a finding without a fix, a rule that crashes, one whose
edit is out of range, and one that reports the options it was given. APP_CODE_RULES edit a
project's JavaScript, some so that it no longer parses, for the pipeline's guard of app code.
`install(monkeypatch)` puts them in place of the real rule table for in-process tests;
`python -c "from support.sample_rules import main; main()" ARGS` runs the real command line with
them in a subprocess (with `tests` on PYTHONPATH).
"""

from __future__ import annotations

from dockfix import rules as rule_table
from dockfix.context import RuleContext
from dockfix.dockerfile.document import Document
from dockfix.edits import Applicability, Edit, Finding, Fix
from dockfix.rules.rule import Check, Rule

CRASH_MARKER = b"CRASH-ME"


def _npm_ci(doc: Document, ctx: RuleContext):
    """`npm install` -> `npm ci`, and `node_modules` into `.dockerignore` (safe)."""
    for inst in doc.instructions:
        if inst.name != "RUN":
            continue
        at = inst.logical.find(b"npm install")
        if at < 0:
            continue
        start, end = inst.source_span(at, at + len(b"npm install"))
        edits = [Edit(start, end, b"npm ci")]
        ignore_path = ctx.project.path(".dockerignore")
        current = ctx.project.read(".dockerignore")
        if current is None:
            edits.append(Edit(0, 0, b"node_modules\n", ignore_path))
        elif b"node_modules" not in current.split(b"\n"):
            separator = b"" if current.endswith(b"\n") or not current else b"\n"
            edits.append(Edit.insert(len(current), separator + b"node_modules\n", ignore_path))
        yield Finding("DF901", "use npm ci", inst.line, Fix.safe(*edits))


def _user(doc: Document, ctx: RuleContext):
    """`USER node` before the CMD when the file has no USER (unsafe)."""
    instructions = doc.instructions
    if any(inst.name == "USER" for inst in instructions):
        return
    commands = [inst for inst in instructions if inst.name == "CMD"]
    if commands:
        cmd = commands[-1]
        yield Finding("DF902", "runs as root", cmd.line, Fix.unsafe(Edit.insert(cmd.start, b"USER node" + doc.newline)))


def _maintainer(doc: Document, ctx: RuleContext):
    """MAINTAINER is deprecated (reported, no fix)."""
    for inst in doc.instructions:
        if inst.name == "MAINTAINER":
            yield Finding("DF903", "MAINTAINER is deprecated", inst.line)


def _crash(doc: Document, ctx: RuleContext):
    """Fails with an exception on files that contain CRASH-ME."""
    if CRASH_MARKER in doc.source:
        raise RuntimeError("sample rule crashed on purpose")
    return []


def _show_options(doc: Document, ctx: RuleContext):
    """On files containing `# show-options`, reports the options and context it was given."""
    if b"# show-options" in doc.source:
        o = ctx.options
        yield Finding(
            "DF905",
            f"unsafe_fixes={o.unsafe_fixes} offline={o.offline} node_version={o.node_version} "
            f"registry_mirror={o.registry_mirror} today={o.today.isoformat()} context={ctx.project.root.name}",
            1,
        )


def _bad_edit(doc: Document, ctx: RuleContext):
    """On files containing `# BAD-EDIT`, proposes an edit past the end of the file."""
    if b"# BAD-EDIT" in doc.source:
        end = len(doc.source) + 10
        yield Finding("DF906", "edits past the end", 1, Fix.safe(Edit(end, end, b"x")))


BROKEN_OPENING = b"const broken = (\n"
CHECKED = b"// checked\n"


def _break_server(doc: Document, ctx: RuleContext):
    """DF907: opens a parenthesis it never closes at the top of server.js (unsafe)."""
    path = ctx.project.path("server.js")
    source = ctx.project.read("server.js")
    if path is not None and source is not None and not source.startswith(BROKEN_OPENING):
        yield Finding("DF907", "server.js needs a wrapper", 1, Fix.unsafe(Edit.insert(0, BROKEN_OPENING, path)))


def _mark_server(doc: Document, ctx: RuleContext):
    """DF908: appends a comment to server.js, a harmless edit of the same file (safe)."""
    path = ctx.project.path("server.js")
    source = ctx.project.read("server.js")
    if path is not None and source is not None and not source.endswith(CHECKED):
        yield Finding("DF908", "server.js is unchecked", 1, Fix.safe(Edit.insert(len(source), CHECKED, path)))


def _multiply_at_line_end(doc: Document, ctx: RuleContext):
    """DF909: ends the first line of calc.js with ` *` (`a *` then `b` still parses: a * b)."""
    path = ctx.project.path("calc.js")
    source = ctx.project.read("calc.js")
    if path is not None and source is not None:
        end = source.index(b"\n")
        if not source[:end].endswith(b" *"):
            yield Finding("DF909", "multiply at the end of line 1", 1, Fix.safe(Edit.insert(end, b" *", path)))


def _multiply_at_line_start(doc: Document, ctx: RuleContext):
    """DF910: starts the second line of calc.js with `*` (`a` then `*b` still parses: a * b)."""
    path = ctx.project.path("calc.js")
    source = ctx.project.read("calc.js")
    if path is not None and source is not None:
        start = source.index(b"\n") + 1
        if not source[start:].startswith(b"*"):
            yield Finding("DF910", "multiply at the start of line 2", 2, Fix.safe(Edit.insert(start, b"*", path)))


def _sample(code: str, name: str, run: Check, summary: str, fix_safety: dict[Applicability, str]) -> Rule:
    """A rule declared here, whose check is one of the functions above."""
    return Rule(code, name, summary, fix_safety, run.__doc__, run)


SAMPLE_RULES = (
    _sample("DF901", "sample-npm-ci", _npm_ci, "Use npm ci", {Applicability.SAFE: ""}),
    _sample("DF902", "sample-user", _user, "Run as node", {Applicability.UNSAFE: ""}),
    _sample("DF903", "sample-maintainer", _maintainer, "No MAINTAINER", {}),
    _sample("DF904", "sample-crash", _crash, "Crashes on CRASH-ME", {}),
    _sample("DF905", "sample-show-options", _show_options, "Shows the options", {}),
    _sample("DF906", "sample-bad-edit", _bad_edit, "Edits past the end", {Applicability.SAFE: ""}),
)


# Kept out of SAMPLE_RULES: the command line's tests need not know about them.
APP_CODE_RULES = (
    _sample("DF907", "sample-break-server", _break_server, "Breaks server.js", {Applicability.UNSAFE: ""}),
    _sample("DF908", "sample-mark-server", _mark_server, "Marks server.js checked", {Applicability.SAFE: ""}),
    _sample(
        "DF909",
        "sample-multiply-at-line-end",
        _multiply_at_line_end,
        "Multiply at a line end",
        {Applicability.SAFE: ""},
    ),
    _sample(
        "DF910",
        "sample-multiply-at-line-start",
        _multiply_at_line_start,
        "Multiply at a line start",
        {Applicability.SAFE: ""},
    ),
)


def install(monkeypatch) -> None:
    """Replace the real rule table with the sample rules for one test."""
    monkeypatch.setattr(rule_table, "RULES", SAMPLE_RULES)


def main() -> None:
    """The real `dockfix` entry point, with the sample rules in place."""
    rule_table.RULES = SAMPLE_RULES
    from dockfix.cli import main as dockfix_main

    dockfix_main()
