"""What a rule declares about itself, once, right after its check.

    def check(doc: Document, ctx: RuleContext) -> Iterator[Finding]:
        ...

    RULE = Rule(
        code="DF003",
        name="node-env-production",
        summary="Set ENV NODE_ENV=production in the stage that runs the app",
        fix_safety={Applicability.SAFE: "rewriting the legacy form", Applicability.UNSAFE: "adding it"},
        docs=__doc__,
        check=check,
        reads=frozenset({ProjectInput.PACKAGE, ProjectInput.APP_CODE}),
    )

Everything the user reads about a rule (`--list-rules`, `--explain`, the SARIF rule descriptors,
docs/rules/) is made from this declaration, and the pipeline calls the `check` it holds. A Rule
is plain data whose check is a module-level function (pickled by reference), so the rules chosen
for a run can be sent to worker processes.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ..edits import Applicability, Finding
from ..project.inputs import EVERY_INPUT, ProjectInput

if TYPE_CHECKING:
    from ..context import RuleContext
    from ..dockerfile.document import Document

Check = Callable[["Document", "RuleContext"], Iterable[Finding]]
"""What a rule runs on one document: `check(doc, ctx)`, yielding its findings."""

_CODE = re.compile(r"DF\d{3}")
_NAME = re.compile(r"[a-z][a-z0-9]*(-[a-z0-9]+)*")


@dataclass(frozen=True)
class Rule:
    """A rule's code, name, one-line summary, the kinds of fix it proposes, its documentation and its check.

    `fix_safety` maps each applicability the rule's fixes may have to when it has it; a rule
    whose findings never carry a fix declares none. `docs` is the module's docstring, with the
    headings What it does / Why / Example / Fix safety / Related hadolint rules. `check` is the
    module-level function that finds the rule's problems in one document.
    """

    code: str
    name: str
    summary: str
    fix_safety: Mapping[Applicability, str] = field(hash=False)
    docs: str | None
    check: Check
    # The kinds of build-context file the check reads besides the Dockerfile (project/inputs.py):
    # a later pass that left the Dockerfile as it was and wrote none of them keeps its findings.
    # Undeclared, every kind: such a rule runs again whenever a fix wrote any file.
    reads: frozenset[ProjectInput] = EVERY_INPUT
    # The rule judges Node.js versions by the shipped release data: a run with it warns once
    # when that data is old.
    needs_fresh_node_data: bool = False

    def __post_init__(self) -> None:
        if not _CODE.fullmatch(self.code):
            raise ValueError(f"rule code {self.code!r} is not of the form DF123")
        if not _NAME.fullmatch(self.name):
            raise ValueError(f"rule name {self.name!r} of {self.code} is not lower-case words joined by hyphens")
        if not all(isinstance(kind, Applicability) for kind in self.fix_safety):
            raise ValueError(f"fix_safety of {self.code} must map Applicability members to text")
        if not all(isinstance(kind, ProjectInput) for kind in self.reads):
            raise ValueError(f"reads of {self.code} must hold ProjectInput members")

    @property
    def applicabilities(self) -> frozenset[Applicability]:
        """The applicabilities the rule's fixes may have."""
        return frozenset(self.fix_safety)

    @property
    def fix_safety_text(self) -> str:
        """`safe (when); unsafe (when)`, in the order of Applicability; `none` without fixes."""
        parts = [
            f"{kind.value} ({self.fix_safety[kind]})" if self.fix_safety[kind] else kind.value
            for kind in Applicability
            if kind in self.fix_safety
        ]
        return "; ".join(parts) or "none"

    @property
    def documentation(self) -> str:
        """The docstring, without its surrounding blank lines."""
        return (self.docs or "").strip()

    @property
    def title(self) -> str:
        """The first line of the documentation: what the rule wants, in a phrase."""
        return self.documentation.partition("\n")[0]

    @property
    def module(self) -> str:
        """The name of the module that holds the rule's check (and declares the rule)."""
        return self.check.__module__

    @property
    def source_path(self) -> Path:
        """The file of the module that declares the rule."""
        return Path(str(sys.modules[self.module].__file__))

    @property
    def explanation(self) -> str:
        """What `dockfix --explain CODE` prints: the documentation, titled, and the file of its module."""
        lines = [f"{self.code} {self.name}: {self.title or self.summary}"]
        body = self.documentation.partition("\n")[2].strip("\n")
        if body:
            lines += ["", body]
        lines += ["", f"Source: {self.source_path}"]
        return "\n".join(lines)
