"""The language server: diagnostics and code actions for open Dockerfiles, over LSP (pygls).

- Diagnostics: each open Dockerfile is checked when it is opened or saved, and again a moment
  after the last change (DEBOUNCE_SECONDS), on its unsaved text. A finding is a warning when it
  has a fix and information when it has none; a Dockerfile that cannot be processed gets one
  error diagnostic at the line that is wrong.
- Quick fixes: one per fixable finding, the fix as the pipeline proposes it, checked as a pass
  checks it (checks.Checker.withheld_reason). Safe fixes are marked preferred; unsafe ones say
  so in their title. A fix that edits another file (the app's entry file for DF006, the
  `.dockerignore` for DF009) is a workspace edit of that file, created if need be.
- `source.fixAll.dockfix`: what `dockfix --write` would write for the file, every file it
  touches included: the safe fixes, and the unsafe ones only when the configuration turns
  them on.

Checks run one at a time on a thread of their own, so the server keeps reading messages (a
change that comes in makes the check under way stale: its result is dropped). A check's
findings are kept for the code actions on the same version of the document.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.uris import from_fs_path, to_fs_path

from .. import __version__
from .. import rules as rule_table
from ..dockerfile.document import BOM
from ..edits import Applicability, Finding
from ..pipeline import FileResult
from ..project.build_context import MAX_PROJECT_FILE
from ..project.discover import COMPOSE_NAMES, is_dockerfile_name
from ..project.fsutil import FileProblem, dockerfile_too_large, read_regular_file
from ..project.node_tooling import LOCKFILES
from .checks import Check, Checker
from .positions import LineIndex, encode, replacement

DEBOUNCE_SECONDS = 0.3
FIX_ALL_KIND = f"{types.CodeActionKind.SourceFixAll.value}.dockfix"
SOURCE = "dockfix"
# Files whose change can change a check's outcome: rechecking the open Dockerfiles then.
WATCHED_FILES = (
    "**/{"
    + ",".join((".dockfix.toml", "pyproject.toml", "package.json", ".dockerignore", *LOCKFILES, *COMPOSE_NAMES))
    + "}"
)


@dataclass
class FileEdit:
    """The edits of one file of a workspace edit: `old` None creates the file."""

    path: Path
    old: bytes | None
    edits: list[types.TextEdit]
    version: int | None = None  # the editor's version the edits were made for (the Dockerfile's)


class DockfixServer(LanguageServer):
    def __init__(self, checker: Checker, debounce: float = DEBOUNCE_SECONDS):
        super().__init__("dockfix", __version__, text_document_sync_kind=types.TextDocumentSyncKind.Full)
        self.checker = checker
        self.debounce = debounce
        self.checks: dict[str, Check] = {}
        self.pending: dict[str, asyncio.Task] = {}
        # One check at a time: the pipeline's caches are shared, and a check is a burst of CPU.
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="dockfix-check")

    # -- which documents, and where they are ---------------------------------------------------

    def is_dockerfile(self, uri: str) -> bool:
        """A Dockerfile on disk (an untitled buffer has no build context to read)."""
        if not uri.startswith("file:"):
            return False
        document = self.workspace.text_documents.get(uri)
        if document is not None and document.language_id == "dockerfile":
            return True
        path = to_fs_path(uri)
        return path is not None and is_dockerfile_name(os.path.basename(path))

    def roots(self) -> list[Path]:
        """The workspace folders, where a search for compose files stops."""
        uris = [folder.uri for folder in self.workspace.folders.values()]
        if self.workspace.root_uri:
            uris.append(self.workspace.root_uri)
        return [Path(path) for path in (to_fs_path(uri) for uri in uris) if path]

    @property
    def encoding(self) -> str:
        return self.workspace.position_encoding or types.PositionEncodingKind.Utf16

    # -- checking ------------------------------------------------------------------------------

    def schedule(self, uri: str, delay: float, *, fresh: bool = False) -> None:
        """Check the document after `delay` seconds, instead of any check scheduled before.

        `fresh`: the files around it may have changed, so a check kept for its version is stale.
        """
        if fresh:
            self.checks.pop(uri, None)
        previous = self.pending.pop(uri, None)
        if previous is not None:
            previous.cancel()
        self.pending[uri] = asyncio.ensure_future(self._check_later(uri, delay))

    def schedule_all(self, delay: float) -> None:
        for uri in list(self.workspace.text_documents):
            if self.is_dockerfile(uri):
                self.schedule(uri, delay, fresh=True)

    async def _check_later(self, uri: str, delay: float) -> None:
        try:
            if delay:
                await asyncio.sleep(delay)
            check = await self.check(uri)
            if check is not None:
                self.publish(uri, check)
        finally:
            if self.pending.get(uri) is asyncio.current_task():
                del self.pending[uri]

    async def check(self, uri: str) -> Check | None:
        """The check of the document as it is now (kept, so code actions reuse it); None if it is gone."""
        document = self.workspace.text_documents.get(uri)
        if document is None:
            return None
        kept = self.checks.get(uri)
        if kept is not None and kept.version == document.version:
            return kept
        version = document.version
        path = Path(document.path)
        source = encode(document.source)
        loop = asyncio.get_running_loop()
        check = await loop.run_in_executor(self.executor, self._check, path, source, version)
        current = self.workspace.text_documents.get(uri)
        if current is None or current.version != version:
            return None  # changed (or closed) meanwhile: the check scheduled since will tell
        self.checks[uri] = check
        return check

    def _check(self, path: Path, source: bytes, version: int | None) -> Check:
        refused = dockerfile_too_large(len(source))
        if refused is not None:
            # As the command line refuses the file: one error, nothing parsed, no line index of it.
            return Check(path, version, b"", FileResult(path=path, original=b"", error=refused, error_line=1))
        if self.checker.excluded(path):
            return Check(path, version, source, _nothing(path, source))
        return self.checker.check(path, source, version, self.roots())

    def publish(self, uri: str, check: Check) -> None:
        index = LineIndex(check.source, self.encoding)
        self.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(uri=uri, diagnostics=self.diagnostics(check, index), version=check.version)
        )

    def diagnostics(self, check: Check, index: LineIndex) -> list[types.Diagnostic]:
        result = check.result
        if result.error is not None:
            return [
                types.Diagnostic(
                    range=index.line_range(result.error_line or 1),
                    message=result.error,
                    severity=types.DiagnosticSeverity.Error,
                    source=SOURCE,
                )
            ]
        return [self.diagnostic(finding, check, index) for finding in check.findings]

    def diagnostic(self, finding: Finding, check: Check, index: LineIndex) -> types.Diagnostic:
        related = None
        if finding.path is None:
            where = index.line_range(finding.line)
            message = finding.message
        else:
            # About another file (the .dockerignore): shown on the Dockerfile's first line, with
            # a link to the place in that file.
            where = index.line_range(1)
            message = f"{_relative(finding.path, check.path)}: {finding.message}"
            line = max(finding.line - 1, 0)
            spot = types.Range(types.Position(line, 0), types.Position(line, 0))
            related = [
                types.DiagnosticRelatedInformation(
                    location=types.Location(uri=from_fs_path(str(finding.path)) or "", range=spot),
                    message=finding.message,
                )
            ]
        return types.Diagnostic(
            range=where,
            message=message,
            severity=_severity(finding),
            code=finding.code,
            source=SOURCE,
            related_information=related,
        )

    # -- code actions --------------------------------------------------------------------------

    async def code_actions(self, params: types.CodeActionParams) -> list[types.CodeAction] | None:
        uri = params.text_document.uri
        if not self.is_dockerfile(uri):
            return None
        check = await self.check(uri)
        if check is None or check.result.error is not None:
            return None
        only = params.context.only
        index = LineIndex(check.source, self.encoding)
        actions: list[types.CodeAction] = []
        if _wanted(only, types.CodeActionKind.QuickFix.value):
            for finding in check.findings:
                if not finding.fixable:
                    continue
                diagnostic = self.diagnostic(finding, check, index)
                if _overlap(diagnostic.range, params.range):
                    action = await self.quick_fix(uri, check, finding, diagnostic, index)
                    if action is not None:
                        actions.append(action)
        if _wanted(only, FIX_ALL_KIND):
            action = self.fix_all(uri, check)
            if action is not None:
                actions.append(action)
        return actions

    async def quick_fix(
        self, uri: str, check: Check, finding: Finding, diagnostic: types.Diagnostic, index: LineIndex
    ) -> types.CodeAction | None:
        assert finding.fix is not None
        unsafe = finding.fix.applicability is Applicability.UNSAFE
        rule = rule_table.rule_by_code(finding.code)
        summary = rule.summary if rule is not None else finding.message
        title = f"dockfix {finding.code}: {summary}" + (" (unsafe fix: may change behaviour)" if unsafe else "")
        loop = asyncio.get_running_loop()
        reason = await loop.run_in_executor(self.executor, self.checker.withheld_reason, check, finding, self.roots())
        edit, problem = None, reason
        if reason is None:
            edit, problem = self.workspace_edit(self._fix_edits(check, finding, index))
        if problem is not None and not self._supports_disabled():
            return None
        return types.CodeAction(
            title=title,
            kind=types.CodeActionKind.QuickFix,
            diagnostics=[diagnostic],
            is_preferred=not unsafe,
            edit=edit,
            disabled=types.CodeActionDisabled(reason=problem) if problem is not None else None,
        )

    def _fix_edits(self, check: Check, finding: Finding, index: LineIndex) -> list[FileEdit]:
        """The fix's edits as text edits, file by file (the Dockerfile's on the checked text)."""
        assert finding.fix is not None
        # The pipeline's offsets count from after a byte order mark.
        shift = len(BOM) if check.source.startswith(BOM) else 0
        by_path: dict[Path | None, list] = {}
        for edit in finding.fix.edits:
            by_path.setdefault(edit.path, []).append(edit)
        files = []
        for path, edits in by_path.items():
            if path is None:
                text_edits = [
                    types.TextEdit(
                        index.range(e.start + shift, e.end + shift), e.content.decode("utf-8", "surrogateescape")
                    )
                    for e in edits
                ]
                files.append(FileEdit(check.path, check.source, text_edits, check.version))
                continue
            old = _read(path)
            other = LineIndex(old or b"", self.encoding)
            text_edits = [
                types.TextEdit(other.range(e.start, e.end), e.content.decode("utf-8", "surrogateescape")) for e in edits
            ]
            files.append(FileEdit(path, old, text_edits))
        return files

    def fix_all(self, uri: str, check: Check) -> types.CodeAction | None:
        """`dockfix --write` for this file, as one workspace edit; None when it would change nothing."""
        result = check.result
        if not result.changed or result.fixed is None:
            return None
        files = []
        if result.fixed != check.source:
            files.append(
                FileEdit(
                    check.path, check.source, [replacement(check.source, result.fixed, self.encoding)], check.version
                )
            )
        for path, (old, new) in sorted(result.other_files.items()):
            files.append(FileEdit(path, old, [replacement(old or b"", new, self.encoding)]))
        edit, problem = self.workspace_edit(files)
        if problem is not None and not self._supports_disabled():
            return None
        title = (
            "dockfix: fix all (unsafe fixes included, as configured)" if check.unsafe_fixes else "dockfix: fix all safe"
        )
        return types.CodeAction(
            title=title,
            kind=FIX_ALL_KIND,
            edit=edit,
            disabled=types.CodeActionDisabled(reason=problem) if problem is not None else None,
        )

    def workspace_edit(self, files: list[FileEdit]) -> tuple[types.WorkspaceEdit | None, str | None]:
        """The edits as a workspace edit the client can apply, or None and why it cannot be made."""
        document_changes = self._supports_document_changes()
        creates = self._supports_create()
        operations: list = []
        changes: dict[str, list[types.TextEdit]] = {}
        for file in files:
            uri = from_fs_path(str(file.path)) or ""
            if file.version is None:
                open_document = self.workspace.text_documents.get(uri)
                if open_document is not None and encode(open_document.source) != (file.old or b""):
                    return None, f"{file.path.name} has unsaved changes: save it first"
            if file.old is None:
                if not (document_changes and creates):
                    return None, f"the editor cannot create {file.path.name}"
                operations.append(types.CreateFile(uri=uri, options=types.CreateFileOptions(ignore_if_exists=True)))
            if document_changes:
                operations.append(
                    types.TextDocumentEdit(
                        text_document=types.OptionalVersionedTextDocumentIdentifier(uri=uri, version=file.version),
                        edits=list(file.edits),
                    )
                )
            else:
                changes.setdefault(uri, []).extend(file.edits)
        if document_changes:
            return types.WorkspaceEdit(document_changes=operations), None
        return types.WorkspaceEdit(changes=changes), None

    # -- what the client can do ------------------------------------------------------------------

    def _workspace_edit_capabilities(self) -> types.WorkspaceEditClientCapabilities | None:
        workspace = self.client_capabilities.workspace
        return workspace.workspace_edit if workspace is not None else None

    def _supports_document_changes(self) -> bool:
        capabilities = self._workspace_edit_capabilities()
        return bool(capabilities and capabilities.document_changes)

    def _supports_create(self) -> bool:
        capabilities = self._workspace_edit_capabilities()
        operations = (capabilities.resource_operations if capabilities else None) or []
        return types.ResourceOperationKind.Create in operations

    def _supports_disabled(self) -> bool:
        document = self.client_capabilities.text_document
        code_action = document.code_action if document is not None else None
        return bool(code_action and code_action.disabled_support)

    def _supports_watching(self) -> bool:
        workspace = self.client_capabilities.workspace
        watched = workspace.did_change_watched_files if workspace is not None else None
        return bool(watched and watched.dynamic_registration)


def _nothing(path: Path, source: bytes) -> FileResult:
    """The result of a file the configuration excludes: no findings."""
    return FileResult(path=path, original=source, fixed=source)


def _read(path: Path) -> bytes | None:
    """A file a fix edits, as on disk; None when absent or not a regular file (a FIFO would hang the server)."""
    try:
        return read_regular_file(path, MAX_PROJECT_FILE)
    except FileProblem:
        return None


def _relative(path: Path, dockerfile: Path) -> str:
    try:
        return os.path.relpath(path, dockerfile.parent).replace(os.sep, "/")
    except ValueError:  # another drive
        return str(path)


def _wanted(only: Sequence[str] | None, kind: str) -> bool:
    """Whether a code action of `kind` is asked for (`only` lists kinds and their parents)."""
    return only is None or any(kind == wanted or kind.startswith(f"{wanted}.") for wanted in only)


def _overlap(a: types.Range, b: types.Range) -> bool:
    def key(position: types.Position) -> tuple[int, int]:
        return position.line, position.character

    return key(a.start) <= key(b.end) and key(b.start) <= key(a.end)


def create_server(checker: Checker, debounce: float = DEBOUNCE_SECONDS) -> DockfixServer:
    """The server with its handlers registered."""
    server = DockfixServer(checker, debounce)

    @server.feature(types.INITIALIZE)
    def initialize(params: types.InitializeParams) -> None:
        options = params.initialization_options
        if isinstance(options, dict) and options.get("network") is True:
            server.checker.network = True

    @server.feature(types.INITIALIZED)
    async def initialized(params: types.InitializedParams) -> None:
        if not server._supports_watching():
            return
        # Best effort: a client that refuses still gets checks on open, change and save.
        with contextlib.suppress(Exception):
            await server.client_register_capability_async(
                types.RegistrationParams(
                    registrations=[
                        types.Registration(
                            id="dockfix-watched-files",
                            method=types.WORKSPACE_DID_CHANGE_WATCHED_FILES,
                            register_options=types.DidChangeWatchedFilesRegistrationOptions(
                                watchers=[types.FileSystemWatcher(glob_pattern=WATCHED_FILES)]
                            ),
                        )
                    ]
                )
            )

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(params: types.DidOpenTextDocumentParams) -> None:
        if server.is_dockerfile(params.text_document.uri):
            server.schedule(params.text_document.uri, 0)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(params: types.DidChangeTextDocumentParams) -> None:
        if server.is_dockerfile(params.text_document.uri):
            server.schedule(params.text_document.uri, server.debounce)

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE)
    def did_save(params: types.DidSaveTextDocumentParams) -> None:
        if server.is_dockerfile(params.text_document.uri):
            server.schedule(params.text_document.uri, 0, fresh=True)
        else:  # a file of a build context (package.json, the app, the configuration)
            server.schedule_all(server.debounce)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(params: types.DidCloseTextDocumentParams) -> None:
        uri = params.text_document.uri
        task = server.pending.pop(uri, None)
        if task is not None:
            task.cancel()
        if server.checks.pop(uri, None) is not None:
            server.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=uri, diagnostics=[]))

    @server.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
    def did_change_watched_files(params: types.DidChangeWatchedFilesParams) -> None:
        server.schedule_all(server.debounce)

    @server.feature(
        types.TEXT_DOCUMENT_CODE_ACTION,
        types.CodeActionOptions(code_action_kinds=[types.CodeActionKind.QuickFix, FIX_ALL_KIND]),
    )
    async def code_action(params: types.CodeActionParams) -> list[types.CodeAction] | None:
        return await server.code_actions(params)

    return server


def _severity(finding: Finding) -> types.DiagnosticSeverity:
    """A fixable finding warns; one without a fix informs; a note (why a rule left the file alone) hints."""
    if finding.note:
        return types.DiagnosticSeverity.Hint
    return types.DiagnosticSeverity.Warning if finding.fixable else types.DiagnosticSeverity.Information
