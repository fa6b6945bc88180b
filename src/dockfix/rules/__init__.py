"""The rules: one module per practice, and the explicit table of them.

A rule looks at the document and the build context and returns findings, some with fixes. It
never edits text. Codes follow the practice numbers of docs/practices.md: DF001 is practice 1; DF000 says which
images the practices are for.
Each rule module declares itself once, as `RULE = Rule(...)` (rule.py), and defines
`check(doc, ctx)`; its docstring is its documentation, which `dockfix --explain CODE` prints.
"""

from __future__ import annotations

from collections.abc import Iterable

from . import (
    dockerignore,
    exec_form_init,
    explicit_base_image,
    graceful_shutdown,
    image_purpose,
    mounted_secrets,
    multi_stage_build,
    node_env_production,
    non_root_user,
    package_cache_mounts,
    production_dependencies,
    supported_node_version,
)
from .rule import Rule

# The order is the order fixes are applied in when they would touch the same bytes.
RULES: tuple[Rule, ...] = (
    image_purpose.RULE,
    explicit_base_image.RULE,
    supported_node_version.RULE,
    exec_form_init.RULE,
    production_dependencies.RULE,
    node_env_production.RULE,
    non_root_user.RULE,
    graceful_shutdown.RULE,
    mounted_secrets.RULE,
    multi_stage_build.RULE,
    package_cache_mounts.RULE,
    dockerignore.RULE,
)


class UnknownSelector(ValueError):
    """A `--select`/`--ignore` value, or a `select`/`ignore` entry of a configuration, that names no rule."""

    def __init__(self, selector: str):
        super().__init__(f"unknown rule code or name: {selector}")
        self.selector = selector


def check_selectors(selectors: Iterable[str]) -> list[str]:
    """Rule codes or code prefixes (upper-cased) and rule names (lower-cased), as select_rules wants them.

    Raises UnknownSelector for the first one that matches no rule.
    """
    checked = []
    for selector in selectors:
        cleaned = selector.strip()
        if cleaned and any(rule.code.startswith(cleaned.upper()) for rule in RULES):
            checked.append(cleaned.upper())
        elif any(rule.name == cleaned.lower() for rule in RULES):
            checked.append(cleaned.lower())
        else:
            raise UnknownSelector(selector)
    return checked


def select_rules(select: list[str] | None, ignore: list[str] | None) -> list[Rule]:
    """Rules chosen by code prefix (`DF00` selects DF001..DF009) or name, as ruff does."""
    chosen = []
    for rule in RULES:
        if select and not any(rule.code.startswith(s) or rule.name == s for s in select):
            continue
        if ignore and any(rule.code.startswith(s) or rule.name == s for s in ignore):
            continue
        chosen.append(rule)
    return chosen


def rule_by_code(code: str) -> Rule | None:
    """The rule with this code or name (any case), or None."""
    code = code.upper()
    for rule in RULES:
        if rule.code == code or rule.name == code.lower():
            return rule
    return None
