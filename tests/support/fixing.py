"""Running the pipeline in tests the way the CLI does, on real folders."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date
from pathlib import Path

from dockfix import guard
from dockfix.context import Options, RuleContext, Services
from dockfix.dockerfile.document import Document
from dockfix.pipeline import FileResult, fix_document
from dockfix.project.build_context import Project
from dockfix.project.discover import discover
from dockfix.rules import RULES, select_rules
from dockfix.rules.package_cache_mounts import installs_of
from dockfix.sources.images import NodeImages
from support.oracle import oracle_view

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


def fix_online(
    tmp_path: Path,
    source: str,
    mirror: str,
    select: list[str] | None = None,
    files: dict[str, str] | None = None,
) -> FileResult:
    """Fix `source` online against the registry at `mirror` (a test's own loopback registry), with
    unsafe fixes and a cache of its own; the output is a fixpoint BuildKit's parser accepts."""
    folder = make_project(tmp_path, source, files=files)
    (tmp_path / "config.json").write_text(json.dumps({}))
    options = Options(unsafe_fixes=True, offline=False, today=TODAY, registry_mirror=mirror)
    services = Services(options, cache_dir=tmp_path / "cache", docker_config=tmp_path / "config.json")
    ctx = RuleContext(folder / "Dockerfile", Project(folder), options, services=services)
    rules = select_rules(select, None) if select else list(RULES)
    result = fix_document(folder / "Dockerfile", source.encode(), ctx, rules)
    assert result.error is None, result.error
    assert fix_document(folder / "Dockerfile", result.fixed, ctx, rules).fixed == result.fixed, "not a fixpoint"
    assert oracle_view(result.fixed)[0] == "ok"
    return result


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


def comment_lines(source: bytes) -> Counter[bytes]:
    """Each line that is a comment (heredoc bodies' included), without its line ending."""
    lines = (line.rstrip(b"\r") for line in source.split(b"\n"))
    return Counter(line for line in lines if line.lstrip().startswith(b"#"))


def check_fix_is_sound(folder: Path, name: str = "Dockerfile") -> FileResult:
    """Fix `folder` with unsafe fixes, offline, and check what every output must be.

    Every fix has an applicability its rule declares. A file the tool cannot fix is an error
    that is not an internal one. Otherwise the output is accepted by BuildKit's parser, names
    nothing the real node images lack, keeps every comment line, and is a fixpoint: written out
    with the other files, a second run changes nothing.
    """
    result = fix_folder(folder, name=name)
    assert undeclared_fixes(result) == [], folder.name
    source = (folder / name).read_bytes()
    if result.error is not None:
        assert "internal error" not in result.error
        return result
    assert result.fixed is not None
    assert oracle_view(result.fixed)[0] == "ok", "BuildKit's parser must accept every output"
    images = NodeImages.packaged()
    before = guard.check(Document.parse(source), Project(folder), images, TODAY)
    after = guard.check(Document.parse(result.fixed), Project(folder), images, TODAY)
    assert guard.introduced(before, after) == [], "no output may name what the real node images lack"
    assert comment_lines(source) - comment_lines(result.fixed) == Counter(), "no comment line may be lost"
    assert _new_cache_mounts_install(source, result.fixed, Project(folder)), "a cache mount only where packages install"
    (folder / name).write_bytes(result.fixed)
    for path, (_, content) in result.other_files.items():
        path.write_bytes(content)
    again = fix_folder(folder, name=name)
    assert again.error is None and again.fixed == result.fixed and not again.other_files
    if result.fixed == source and not result.other_files:
        assert not result.applied
    return result


def _new_cache_mounts_install(source: bytes, fixed: bytes, project: Project) -> bool:
    """Every RUN of `fixed` that mounts a cache it did not mount in `source` installs packages."""
    before = {inst.logical for inst in Document.parse(source).instructions}
    return all(
        installs_of(inst, project)
        for inst in Document.parse(fixed).instructions
        if inst.name == "RUN"
        and inst.logical not in before
        and any(flag.name == "mount" and "type=cache" in (flag.value or "") for flag in inst.flags)
    )


def fix_repository(root: Path, dockerfile: Path, *, select: list[str] | None = None) -> FileResult:
    """Fix one Dockerfile of a whole repository laid out at `root`, as the command line does:
    from the build context its build graph chooses, with how the repository builds and runs it."""
    found = discover([root])
    builds = found.graphs[0].dockerfiles[dockerfile]
    options = Options(unsafe_fixes=True, offline=True, today=TODAY)
    ctx = RuleContext(dockerfile, Project(builds.choice.context), options, builds=builds)
    rules = select_rules(select, None) if select else list(RULES)
    return fix_document(dockerfile, dockerfile.read_bytes(), ctx, rules)
