"""Inline suppression comments, read from the Dockerfile itself.

    # dockfix: ignore=DF004            on the line(s) just before an instruction: no DF004 there
    # dockfix: ignore=DF002,DF005      several codes (a prefix such as DF00 covers all of them)
    # dockfix: ignore                  every rule, for that instruction
    # dockfix: ignore-file             anywhere in the file: no findings at all in it
    # hadolint ignore=DL3002           honoured for the dockfix rules that map to DL3002

A suppression comment belongs to the instruction right after the run of comment lines it is in
(no blank line between), as hadolint's does. It covers the findings reported on that
instruction's lines: the finding is dropped, so neither reported nor fixed. Findings about other
files (`.dockerignore`, the app's code) are only silenced by `ignore-file`.

A rule maps to the hadolint rules its documentation lists under "Related hadolint rules".
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from functools import cache
from typing import Protocol

from ..edits import Finding
from .document import Document, Instruction

_DOCKFIX = re.compile(rb"(?i)^\s*#\s*dockfix\s*:\s*(?P<what>ignore-file|ignore)\b\s*(?:=\s*(?P<codes>[\w\s,-]*))?")
_HADOLINT = re.compile(rb"(?i)^\s*#\s*hadolint\s+ignore\s*=\s*(?P<codes>[\w\s,]*)")
_HADOLINT_CODE = re.compile(r"\bDL\d{4}\b")
EVERY_RULE = "*"


class DocumentedRule(Protocol):
    """What suppression needs of a rule (rules.rule.Rule): its code and its documentation."""

    @property
    def code(self) -> str: ...

    @property
    def docs(self) -> str | None: ...


def _codes(text: bytes | None) -> set[str]:
    if not text:
        return set()
    return {part.strip().upper() for part in text.decode("ascii", "replace").split(",") if part.strip()}


@cache
def hadolint_codes(docs: str) -> frozenset[str]:
    """The hadolint codes a rule's documentation lists under `## Related hadolint rules`."""
    _, found, section = docs.partition("## Related hadolint rule")
    if not found:
        return frozenset()
    section = section.split("\n## ", 1)[0]
    return frozenset(_HADOLINT_CODE.findall(section))


def _comment_codes(doc: Document, inst: Instruction) -> set[str]:
    """Codes suppressed by the comment lines right above `inst` (with `hadolint:` prefixes)."""
    codes: set[str] = set()
    number = inst.line - 1
    while number >= 1:
        text = doc.line_text(number)
        if not text.lstrip().startswith(b"#"):
            break
        match = _DOCKFIX.match(text)
        if match and match["what"].lower() == b"ignore":
            codes |= _codes(match["codes"]) or {EVERY_RULE}
        match = _HADOLINT.match(text)
        if match:
            codes |= {"hadolint:" + code for code in _codes(match["codes"])}
        number -= 1
    return codes


def ignores_file(doc: Document) -> bool:
    """Whether a `# dockfix: ignore-file` comment is in the file."""
    for line in doc.lines:
        text = doc.source[line.start : line.end]
        if text.lstrip().startswith(b"#"):
            match = _DOCKFIX.match(text)
            if match and match["what"].lower() == b"ignore-file":
                return True
    return False


def _suppressed(finding: Finding, codes: set[str], hadolint_of: Callable[[str], frozenset[str]]) -> bool:
    if EVERY_RULE in codes or any(finding.code.startswith(code) for code in codes if not code.startswith("hadolint:")):
        return True
    mapped = hadolint_of(finding.code)
    return any(("hadolint:" + code) in codes for code in mapped)


def filter_findings(doc: Document, findings: list[Finding], rules: Iterable[DocumentedRule]) -> list[Finding]:
    """The findings that no suppression comment in `doc` silences.

    `rules` are the rules (rules.rule.Rule) that ran: their documentation says which hadolint
    codes each maps to.
    """
    if not findings or b"#" not in doc.source:
        return findings
    if ignores_file(doc):
        return []
    by_line: dict[int, set[str]] = {}
    for inst in doc.instructions:
        codes = _comment_codes(doc, inst)
        if codes:
            for number in range(inst.line, (inst.end_line or inst.line) + 1):
                by_line[number] = codes
    if not by_line:
        return findings
    docs_by_code = {rule.code: rule.docs or "" for rule in rules}

    def hadolint_of(code: str) -> frozenset[str]:
        return hadolint_codes(docs_by_code.get(code, ""))

    return [
        finding
        for finding in findings
        if finding.path is not None or not _suppressed(finding, by_line.get(finding.line, set()), hadolint_of)
    ]
