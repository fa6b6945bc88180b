"""Running the pipeline in tests the way the CLI does, on real folders."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from dockfix.context import Options, RuleContext
from dockfix.pipeline import FileResult, fix_document
from dockfix.project.build_context import Project
from dockfix.rules import RULES, select_rules

TODAY = date(2026, 11, 29)


def fix_folder(
    folder: Path,
    *,
    unsafe: bool = True,
    select: list[str] | None = None,
    name: str = "Dockerfile",
    source: bytes | None = None,
) -> FileResult:
    dockerfile = folder / name
    data = dockerfile.read_bytes() if source is None else source
    options = Options(unsafe_fixes=unsafe, offline=True, today=TODAY)
    ctx = RuleContext(dockerfile, Project(folder), options)
    rules = select_rules(select, None) if select else list(RULES)
    return fix_document(dockerfile, data, ctx, rules)


def undeclared_fixes(result: FileResult) -> list[str]:
    """Findings of `result` whose fix has an applicability its rule does not declare, one line each."""
    declared = {rule.code: rule.applicabilities for rule in RULES}
    lines = [
        f"{finding.code} emits a {finding.fix.applicability.value} fix it does not declare: {finding.message}"
        for finding in [*result.initial, *result.applied, *result.remaining]
        if finding.fix is not None and finding.fix.applicability not in declared.get(finding.code, frozenset())
    ]
    return list(dict.fromkeys(lines))  # a finding left as it was is both initial and remaining


def make_project(
    tmp_path: Path,
    dockerfile: bytes | str,
    *,
    package_json: str | None = None,
    files: dict[str, str] | None = None,
    name: str = "Dockerfile",
) -> Path:
    folder = tmp_path / "project"
    folder.mkdir(exist_ok=True)
    (folder / name).write_bytes(dockerfile.encode() if isinstance(dockerfile, str) else dockerfile)
    if package_json is not None:
        (folder / "package.json").write_text(package_json)
    for relative, content in (files or {}).items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
    return folder
