"""What a rule declares about itself, once, near the top of its module.

    RULE = Rule(
        code="DF003",
        name="node-env-production",
        summary="Set ENV NODE_ENV=production in the stage that runs the app",
        fix_safety={Applicability.SAFE: "rewriting the legacy form", Applicability.UNSAFE: "adding it"},
        docs=__doc__,
        module=__name__,
    )

Everything the user reads about a rule (`--list-rules`, `--explain`, the SARIF rule descriptors,
docs/rules/) is made from this declaration, and the pipeline runs `check(doc, ctx)` of the module
it names. A Rule is plain data, so the rules chosen for a run can be sent to worker processes.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

from ..edits import Applicability, Finding
from ..records import dataclass, field

# typing.TYPE_CHECKING without importing typing, which takes a one-file run 5% of its start-up.
TYPE_CHECKING = False

if TYPE_CHECKING:
    from ..context import RuleContext
    from ..dockerfile.document import Document

_CODE = re.compile(r"DF\d{3}")
_NAME = re.compile(r"[a-z][a-z0-9]*(-[a-z0-9]+)*")


@dataclass(frozen=True)
class Rule:
    """A rule's code, name, one-line summary, the kinds of fix it proposes, and its documentation.

    `fix_safety` maps each applicability the rule's fixes may have to when it has it; a rule
    whose findings never carry a fix declares none. `docs` is the module's docstring, with the
    headings What it does / Why / Example / Fix safety / Related hadolint rules. `module` is the
    module that holds `check(doc, ctx)`.
    """

    code: str
    name: str
    summary: str
    fix_safety: Mapping[Applicability, str] = field(hash=False)
    docs: str | None
    module: str
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
    def source_path(self) -> Path:
        """The file of the module that declares the rule."""
        return Path(str(importlib.import_module(self.module).__file__))

    def check(self, doc: Document, ctx: RuleContext) -> Iterable[Finding]:
        """The findings of the rule on one document: its module's `check(doc, ctx)`."""
        return importlib.import_module(self.module).check(doc, ctx)
