"""What the language server asks of dockfix: the check of one open Dockerfile, as the CLI does it.

A check is the run `dockfix PATH` makes for one file (run.prepare_file and the pipeline), on
the editor's text of the Dockerfile instead of the file on disk; everything else (the build
context, the configuration files) is read from disk. Nothing here speaks LSP: lsp.py turns
checks into diagnostics and code actions.

The server lives long, so each check reads the configuration afresh (a `.dockfix.toml` edited
since is taken into account), while the services (the Node.js data, the registry client and
its cache) are made once and shared by every check, as a run shares them between files.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from ..context import RuleContext, Services
from ..edits import Finding
from ..pipeline import FileResult, fix_document, parse_for_fixing, withheld_alone
from ..project.compose import ComposeProblem, read_compose_builds
from ..project.config import ConfigFinder, ConfigProblem
from ..project.discover import COMPOSE_NAMES
from ..rules.rule import Rule
from ..run import (
    TRUST_REPOSITORY_CONFIG_VARIABLE,
    Request,
    ServicesKey,
    Settings,
    Worker,
    prepare_file,
    settings_for,
)

REGISTRY_MIRROR_VARIABLE = "DOCKFIX_REGISTRY_MIRROR"
_TRUE_WORDS = frozenset({"1", "true", "t", "yes", "y", "on"})  # as the command line reads the variable


@dataclass
class Check:
    """One check of a document: the bytes checked and what the pipeline made of them."""

    path: Path
    version: int | None
    source: bytes
    result: FileResult
    unsafe_fixes: bool = False  # the configuration turns them on: `dockfix --write` applies them

    @property
    def findings(self) -> list[Finding]:
        """The findings on the text as it is (not after the fixes), and the notes on why rules left it alone."""
        return [*self.result.initial, *self.result.notes] if self.result.error is None else []


class Checker:
    """Checks documents with the CLI's machinery, offline unless `network` is set."""

    def __init__(self, *, network: bool = False, today: date | None = None):
        self.network = network
        self.today = today
        self._services: dict[ServicesKey, Services] = {}

    def settings(self) -> Settings:
        """The settings of `dockfix PATH`: every rule, then the configuration file's choices.

        As on the command line, the environment's registry mirror wins over the configuration's, and
        a configuration's mirror is used only when the environment trusts repository configuration.
        """
        mirror = os.environ.get(REGISTRY_MIRROR_VARIABLE) or None
        trusted = os.environ.get(TRUST_REPOSITORY_CONFIG_VARIABLE, "").strip().lower() in _TRUE_WORDS
        return settings_for(
            Request(offline=not self.network, registry_mirror=mirror, trust_repository_config=trusted, today=self.today)
        )

    def _prepare(
        self, path: Path, source: bytes, roots: list[Path]
    ) -> tuple[bytes, list[Rule], RuleContext] | FileResult:
        settings = self.settings()
        worker = Worker(settings, self._services)
        try:
            return prepare_file(path, worker, context=compose_context(path, roots), source=source)
        except Exception as error:  # a bug must cost a diagnostic, never the server
            return FileResult(path=path, original=source, error=f"internal error: {type(error).__name__}: {error}")

    def check(self, path: Path, source: bytes, version: int | None = None, roots: list[Path] | None = None) -> Check:
        """Check the text `source` of the Dockerfile at `path`; never raises."""
        prepared = self._prepare(path, source, roots or [])
        if isinstance(prepared, FileResult):
            return Check(path, version, source, prepared)
        source, rules, ctx = prepared
        try:
            result = fix_document(path, source, ctx, rules)
        except Exception as error:
            result = FileResult(path=path, original=source, error=f"internal error: {type(error).__name__}: {error}")
        return Check(path, version, source, result, unsafe_fixes=ctx.options.unsafe_fixes)

    def withheld_reason(self, check: Check, finding: Finding, roots: list[Path] | None = None) -> str | None:
        """Why `finding`'s fix must not be applied on its own to the checked text; None when it may be."""
        prepared = self._prepare(check.path, check.source, roots or [])
        if isinstance(prepared, FileResult):
            return prepared.error
        source, _rules, ctx = prepared
        try:
            return withheld_alone(parse_for_fixing(source), ctx, finding)
        except Exception as error:
            return f"internal error: {type(error).__name__}: {error}"

    def excluded(self, path: Path) -> bool:
        """Whether the configuration's `exclude` leaves the file out (as a folder run would)."""
        try:
            config = ConfigFinder().for_file(path)
        except ConfigProblem:
            return False  # the check itself reports the problem
        return config is not None and config.excludes(path)


def compose_context(dockerfile: Path, roots: list[Path]) -> Path | None:
    """The build context a compose file gives the Dockerfile, as a run from the workspace finds it.

    The compose files looked at are those of the Dockerfile's folder and of the folders above it,
    up to the workspace folder that holds it (only its own folder outside any workspace).
    """
    target = os.path.realpath(dockerfile)
    folder = Path(os.path.abspath(dockerfile)).parent
    top = next((root for root in roots if folder.is_relative_to(root)), folder)
    for current in [folder, *folder.parents]:
        for name in COMPOSE_NAMES:
            compose = current / name
            if not compose.is_file():
                continue
            try:
                builds = read_compose_builds(compose)
            except ComposeProblem:
                continue  # a folder run only warns about it too, and checks as usual
            for build in builds:
                if os.path.realpath(build.dockerfile) == target:
                    return build.context
        if current == top:
            break
    return None
