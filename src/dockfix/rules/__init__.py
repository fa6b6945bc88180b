"""The rules: one module per practice, and the explicit table of their codes.

A rule looks at the document and the build context and returns findings, some with fixes. It
never edits text. Codes follow the practice numbers of docs/practices.md: DF001 is practice 1.
Each rule module's docstring is its documentation, with the headings What it does / Why /
Example / Fix safety / Related hadolint rule; `dockfix --explain CODE` prints it.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass


@dataclass(frozen=True)
class RuleEntry:
    code: str
    name: str
    module: str  # module in dockfix.rules: SUMMARY, FIX_SAFETY and `check(doc, ctx)`

    def load(self):
        return importlib.import_module(f"{__name__}.{self.module}")

    @property
    def summary(self) -> str:
        return self.load().SUMMARY

    @property
    def docs(self) -> str:
        return (self.load().__doc__ or "").strip()


# The order is the order fixes are applied in when they would touch the same bytes.
RULES: tuple[RuleEntry, ...] = (
    RuleEntry("DF001", "explicit-base-image", "base_image"),
    RuleEntry("DF007", "supported-node-version", "node_version"),
    RuleEntry("DF005", "exec-form-init", "signals"),
    RuleEntry("DF002", "production-dependencies", "production_dependencies"),
    RuleEntry("DF003", "node-env-production", "node_env"),
    RuleEntry("DF004", "non-root-user", "non_root_user"),
    RuleEntry("DF006", "graceful-shutdown", "graceful_shutdown"),
    RuleEntry("DF010", "mounted-secrets", "secrets"),
    RuleEntry("DF008", "multi-stage-build", "multi_stage"),
    RuleEntry("DF009", "dockerignore", "dockerignore"),
)


def select_rules(select: list[str] | None, ignore: list[str] | None) -> list[RuleEntry]:
    """Rules chosen by code prefix (`DF00` selects DF001..DF009), as ruff does."""
    chosen = []
    for entry in RULES:
        if select and not any(entry.code.startswith(s) or entry.name == s for s in select):
            continue
        if ignore and any(entry.code.startswith(s) or entry.name == s for s in ignore):
            continue
        chosen.append(entry)
    return chosen


def rule_by_code(code: str) -> RuleEntry | None:
    code = code.upper()
    for entry in RULES:
        if entry.code == code or entry.name == code.lower():
            return entry
    return None
