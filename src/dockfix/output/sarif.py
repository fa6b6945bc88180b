"""`--output-format sarif`: a SARIF 2.1.0 log, for GitHub code scanning and other SARIF viewers.

One run of the tool `dockfix`: its rules (the rules of the run, as they declare themselves: summary,
fix safety, and their documentation as help text), one result per finding (`warning` for a finding
with a fix, `note` for one without, and an `informational` result of level `none` for a note: why a
rule left the file alone), and the files that could not be processed as error-level
tool execution notifications. Locations are relative to the current folder, with
`uriBaseId` `%SRCROOT%`, as code scanning expects for a checkout.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .. import __version__
from ..edits import Applicability, Finding
from ..pipeline import FileResult
from ..rules.rule import Rule
from ..shown_text import json_safe, mask_secrets
from .diff import display_path

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SARIF_VERSION = "2.1.0"


def _artifact(path: Path) -> dict[str, Any]:
    shown = display_path(path)
    if os.path.isabs(shown):
        return {"uri": Path(shown).as_uri()}
    return {"uri": shown.replace(os.sep, "/"), "uriBaseId": "%SRCROOT%"}


def _location(path: Path, line: int | None) -> dict[str, Any]:
    physical: dict[str, Any] = {"artifactLocation": _artifact(path)}
    if line:
        physical["region"] = {"startLine": line}
    return {"physicalLocation": physical}


def _level(finding: Finding) -> str:
    if finding.note:
        return "none"
    if finding.fix is None or finding.fix.applicability is Applicability.DISPLAY_ONLY:
        return "note"
    return "warning"


def rule_descriptors(rules: list[Rule]) -> list[dict[str, Any]]:
    """The reportingDescriptor of each rule of the run, from its declaration."""
    descriptors = []
    for rule in rules:
        descriptor: dict[str, Any] = {
            "id": rule.code,
            "name": rule.name,
            "shortDescription": {"text": rule.summary},
            "properties": {
                "fixSafety": rule.fix_safety_text,
                "fixApplicabilities": [kind.value for kind in Applicability if kind in rule.applicabilities],
            },
        }
        if rule.documentation:
            descriptor["fullDescription"] = {"text": rule.title}
            descriptor["help"] = {"text": rule.documentation, "markdown": rule.documentation}
        descriptors.append(descriptor)
    return descriptors


def sarif_log(
    results: list[FileResult], rules: list[Rule], findings_of: Callable[[FileResult], list[Finding]]
) -> dict[str, Any]:
    """The SARIF log for a run; `findings_of(result)` picks the findings to show for a file."""
    descriptors = rule_descriptors(rules)
    index = {descriptor["id"]: number for number, descriptor in enumerate(descriptors)}
    sarif_results = []
    notifications = []
    for result in results:
        if result.error is not None:
            notifications.append(
                {
                    "level": "error",
                    "message": {"text": f"{display_path(result.path)}: {mask_secrets(result.error)}"},
                    "locations": [_location(result.path, result.error_line)],
                }
            )
            continue
        for finding in [*findings_of(result), *result.notes]:
            item: dict[str, Any] = {
                "ruleId": finding.code,
                "level": _level(finding),
                "message": {"text": mask_secrets(finding.message)},
                "locations": [_location(finding.path or result.path, finding.line)],
            }
            if finding.note:
                item["kind"] = "informational"  # SARIF: a result of another kind than "fail" has level "none"
            if finding.code in index:
                item["ruleIndex"] = index[finding.code]
            sarif_results.append(item)
    return {
        "$schema": SARIF_SCHEMA,
        "version": SARIF_VERSION,
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "dockfix",
                        "version": __version__,
                        "semanticVersion": __version__,
                        "rules": descriptors,
                    }
                },
                "invocations": [
                    {
                        "executionSuccessful": not notifications,
                        "toolExecutionNotifications": notifications,
                    }
                ],
                "results": sarif_results,
            }
        ],
    }


def render(log: dict[str, Any]) -> str:
    """The log as indented JSON text (control characters escaped, as shown_text says)."""
    return json_safe(json.dumps(log, indent=2, ensure_ascii=False)) + "\n"
