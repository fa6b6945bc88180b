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

import types
from dataclasses import dataclass

from dockfix import rules as rule_table
from dockfix.context import RuleContext
from dockfix.dockerfile.document import Document
from dockfix.edits import Edit, Finding, Fix

CRASH_MARKER = b"CRASH-ME"


def _npm_ci(doc: Document, ctx: RuleContext):
    """DF901: `npm install` -> `npm ci`, and `node_modules` into `.dockerignore` (safe)."""
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
    """DF902: `USER node` before the CMD when the file has no USER (unsafe)."""
    instructions = doc.instructions
    if any(inst.name == "USER" for inst in instructions):
        return
    commands = [inst for inst in instructions if inst.name == "CMD"]
    if commands:
        cmd = commands[-1]
        yield Finding("DF902", "runs as root", cmd.line, Fix.unsafe(Edit.insert(cmd.start, b"USER node" + doc.newline)))


def _maintainer(doc: Document, ctx: RuleContext):
    """DF903: MAINTAINER is deprecated (reported, no fix)."""
    for inst in doc.instructions:
        if inst.name == "MAINTAINER":
            yield Finding("DF903", "MAINTAINER is deprecated", inst.line)


def _crash(doc: Document, ctx: RuleContext):
    """DF904: fails with an exception on files that contain CRASH-ME."""
    if CRASH_MARKER in doc.source:
        raise RuntimeError("sample rule crashed on purpose")
    return []


def _show_options(doc: Document, ctx: RuleContext):
    """DF905: on files containing `# show-options`, reports the options and context it was given."""
    if b"# show-options" in doc.source:
        o = ctx.options
        yield Finding(
            "DF905",
            f"unsafe_fixes={o.unsafe_fixes} offline={o.offline} node_version={o.node_version} "
            f"registry_mirror={o.registry_mirror} today={o.today.isoformat()} context={ctx.project.root.name}",
            1,
        )


def _bad_edit(doc: Document, ctx: RuleContext):
    """DF906: on files containing `# BAD-EDIT`, proposes an edit past the end of the file."""
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


def _module(name: str, check, summary: str, safety: str) -> types.ModuleType:
    module = types.ModuleType(f"sample_rules.{name}", check.__doc__)
    module.check = check
    module.SUMMARY = summary
    module.FIX_SAFETY = safety
    return module


_MODULES = {
    "npm_ci": _module("npm_ci", _npm_ci, "Use npm ci", "safe"),
    "user": _module("user", _user, "Run as node", "unsafe"),
    "maintainer": _module("maintainer", _maintainer, "No MAINTAINER", "none"),
    "crash": _module("crash", _crash, "Crashes on CRASH-ME", "none"),
    "show_options": _module("show_options", _show_options, "Shows the options", "none"),
    "bad_edit": _module("bad_edit", _bad_edit, "Edits past the end", "safe"),
    "break_server": _module("break_server", _break_server, "Breaks server.js", "unsafe"),
    "mark_server": _module("mark_server", _mark_server, "Marks server.js checked", "safe"),
    "multiply_at_line_end": _module("multiply_at_line_end", _multiply_at_line_end, "Multiply at a line end", "safe"),
    "multiply_at_line_start": _module(
        "multiply_at_line_start", _multiply_at_line_start, "Multiply at a line start", "safe"
    ),
}


@dataclass(frozen=True)
class SampleRuleEntry(rule_table.RuleEntry):
    """A rule table entry whose module lives here instead of in dockfix.rules."""

    def load(self):
        return _MODULES[self.module]


SAMPLE_RULES = (
    SampleRuleEntry("DF901", "sample-npm-ci", "npm_ci"),
    SampleRuleEntry("DF902", "sample-user", "user"),
    SampleRuleEntry("DF903", "sample-maintainer", "maintainer"),
    SampleRuleEntry("DF904", "sample-crash", "crash"),
    SampleRuleEntry("DF905", "sample-show-options", "show_options"),
    SampleRuleEntry("DF906", "sample-bad-edit", "bad_edit"),
)


# Kept out of SAMPLE_RULES: the command line's tests need not know about them.
APP_CODE_RULES = (
    SampleRuleEntry("DF907", "sample-break-server", "break_server"),
    SampleRuleEntry("DF908", "sample-mark-server", "mark_server"),
    SampleRuleEntry("DF909", "sample-multiply-at-line-end", "multiply_at_line_end"),
    SampleRuleEntry("DF910", "sample-multiply-at-line-start", "multiply_at_line_start"),
)


def install(monkeypatch) -> None:
    """Replace the real rule table with the sample rules for one test."""
    monkeypatch.setattr(rule_table, "RULES", SAMPLE_RULES)


def main() -> None:
    """The real `dockfix` entry point, with the sample rules in place."""
    rule_table.RULES = SAMPLE_RULES
    from dockfix.cli import main as dockfix_main

    dockfix_main()
