"""`dockfix server`, end to end over LSP on stdio (pytest-lsp): a real editor client's capabilities,
the server as a subprocess, the findings of the same pipeline as the command line.

Each test opens a Dockerfile, waits for its diagnostics, asks for code actions and applies their
edits to the text (tests/support's own LSP edit applier, independent of the server's code), then
compares with what `dockfix --write` makes of the same files.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("pygls")
pytest_lsp = pytest.importorskip("pytest_lsp")
pytest_asyncio = pytest.importorskip("pytest_asyncio")

from lsprotocol import types  # noqa: E402
from pygls.protocol import default_converter  # noqa: E402
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities  # noqa: E402
from pytest_lsp.client import DEFAULT_CLIENT_FEATURES  # noqa: E402

from support.lsp_edits import apply_workspace_edit  # noqa: E402
from support.paths import FIXTURES  # noqa: E402
from support.registry import push_image, registry_fixture  # noqa: E402

TODAY = "2026-11-29"
TIMEOUT = 60.0
ARTICLE = FIXTURES / "article"
VS_CODE = "visual-studio-code"
NEOVIM = "neovim@v0.10.0"

pytestmark = pytest.mark.asyncio


def recording_client() -> LanguageClient:
    """pytest-lsp's test client, keeping every diagnostics notification (not only the last)."""
    client = LanguageClient(converter_factory=default_converter)
    client.published = []  # type: ignore[attr-defined]
    for method, handler in DEFAULT_CLIENT_FEATURES.items():
        if method != types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS:
            client.feature(method)(handler)

    client.registrations = []  # type: ignore[attr-defined]

    @client.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    def published(params: types.PublishDiagnosticsParams) -> None:
        client.published.append(params)  # type: ignore[attr-defined]
        client.diagnostics[params.uri] = params.diagnostics

    @client.feature(types.CLIENT_REGISTER_CAPABILITY)
    def register(params: types.RegistrationParams) -> None:
        client.registrations.extend(params.registrations)  # type: ignore[attr-defined]

    return client


@pytest_asyncio.fixture
async def start(tmp_path):
    """Start `dockfix server` (with extra arguments) and initialize it for a workspace folder."""
    clients: list[LanguageClient] = []

    async def starter(
        workspace: Path, *arguments: str, editor: str = VS_CODE, initialization_options=None
    ) -> LanguageClient:
        environment = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}
        config = ClientServerConfig(
            server_command=[sys.executable, "-m", "dockfix", "server", "--today", TODAY, *arguments],
            client_factory=recording_client,
            server_env=environment,
        )
        client = await config.start()
        clients.append(client)
        await client.initialize_session(
            types.InitializeParams(
                capabilities=client_capabilities(editor),
                root_uri=workspace.as_uri(),
                workspace_folders=[types.WorkspaceFolder(uri=workspace.as_uri(), name=workspace.name)],
                initialization_options=initialization_options,
            )
        )
        return client

    yield starter
    for client in clients:
        await client.shutdown_session()
        await client.stop()


def article(tmp_path: Path) -> Path:
    folder = tmp_path / "app"
    shutil.copytree(ARTICLE, folder)
    return folder


def dockfix_write(folder: Path, *flags: str) -> None:
    """The command line's --write on a folder, offline, as the reference the editor must match."""
    run = subprocess.run(
        [sys.executable, "-m", "dockfix", "--write", "--offline", "--today", TODAY, "--quiet", *flags, str(folder)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode in (0, 1), run.stderr


def open_document(client: LanguageClient, path: Path, text: str | None = None, version: int = 1) -> str:
    uri = path.as_uri()
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(
                uri=uri,
                language_id="dockerfile",
                version=version,
                text=path.read_text() if text is None else text,
            )
        )
    )
    return uri


def change_document(client: LanguageClient, uri: str, text: str, version: int) -> None:
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)],
        )
    )


async def until(condition, timeout: float = TIMEOUT) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        assert loop.time() < deadline, "timed out"
        await asyncio.sleep(0.02)


async def diagnostics(client: LanguageClient, uri: str, version: int) -> list[types.Diagnostic]:
    """The diagnostics published for that version of the document (waiting for them)."""

    def published() -> list[types.PublishDiagnosticsParams]:
        return [p for p in client.published if p.uri == uri and p.version == version]  # type: ignore[attr-defined]

    await until(published)
    return list(published()[0].diagnostics)


async def code_actions(
    client: LanguageClient, uri: str, line: int, only: list[str] | None = None
) -> list[types.CodeAction]:
    answer = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            range=types.Range(types.Position(line, 0), types.Position(line, 0)),
            context=types.CodeActionContext(diagnostics=[], only=only),
        )
    )
    return [action for action in answer or [] if isinstance(action, types.CodeAction)]


def by_code(found: list[types.Diagnostic]) -> dict[str, list[types.Diagnostic]]:
    grouped: dict[str, list[types.Diagnostic]] = {}
    for diagnostic in found:
        grouped.setdefault(str(diagnostic.code), []).append(diagnostic)
    return grouped


async def test_diagnostics_are_the_command_lines_findings(start, tmp_path):
    folder = article(tmp_path)
    client = await start(folder)
    uri = open_document(client, folder / "Dockerfile")
    found = await diagnostics(client, uri, 1)
    codes = by_code(found)
    assert sorted(codes) == ["DF001", "DF002", "DF003", "DF004", "DF005", "DF006", "DF008", "DF009", "DF011"]
    assert {d.source for d in found} == {"dockfix"}
    # DF005 has a safe fix on line 5 (0-based 4), the CMD, which starts at column 0.
    [shell_form] = [d for d in codes["DF005"] if "shell-form" in d.message]
    assert shell_form.range.start == types.Position(4, 0)
    assert shell_form.range.end == types.Position(4, len('CMD "npm" "start"'))
    assert shell_form.severity == types.DiagnosticSeverity.Warning
    # The .dockerignore does not exist yet: the finding is on the COPY that sends the context (line 3).
    [ignore] = codes["DF009"]
    assert ignore.message.startswith("no .dockerignore: ")
    assert ignore.range.start == types.Position(2, 0)
    assert ignore.related_information is None


async def test_a_finding_on_an_existing_dockerignore_links_to_it(start, tmp_path):
    folder = article(tmp_path)
    (folder / ".dockerignore").write_text("node_modules\n")
    client = await start(folder)
    uri = open_document(client, folder / "Dockerfile")
    [ignore] = by_code(await diagnostics(client, uri, 1))["DF009"]
    # About another file: on the Dockerfile's first line, linked to the place in that file.
    assert ignore.message.startswith(".dockerignore: .dockerignore does not leave out .git, .npmrc, .env")
    assert ignore.range.start == types.Position(0, 0)
    assert ignore.related_information[0].location.uri == (folder / ".dockerignore").as_uri()


async def test_the_unsaved_text_is_checked_not_the_file_on_disk(start, tmp_path):
    folder = article(tmp_path)
    client = await start(folder)
    text = (folder / "Dockerfile").read_text().replace('CMD "npm" "start"', 'CMD ["node", "server.js"]')
    uri = open_document(client, folder / "Dockerfile", text)
    found = await diagnostics(client, uri, 1)
    assert not any("shell-form" in d.message for d in found)
    # An edit in the editor is checked too, once the typing stops.
    change_document(client, uri, text.replace("RUN npm install", "RUN npm ci --omit=dev"), 2)
    found = await diagnostics(client, uri, 2)
    assert "DF002" not in by_code(found)
    assert (folder / "Dockerfile").read_text() == (ARTICLE / "Dockerfile").read_text()  # nothing written


async def test_changes_are_debounced_into_one_check(start, tmp_path):
    folder = article(tmp_path)
    client = await start(folder)
    uri = open_document(client, folder / "Dockerfile")
    await diagnostics(client, uri, 1)
    text = (folder / "Dockerfile").read_text()
    for version in range(2, 7):  # typing: five changes in quick succession
        change_document(client, uri, text + "#" * version + "\n", version)
    await diagnostics(client, uri, 6)
    await asyncio.sleep(0.5)
    versions = [p.version for p in client.published if p.uri == uri]  # type: ignore[attr-defined]
    assert versions == [1, 6]


async def test_a_safe_quick_fix_gives_the_command_lines_text(start, tmp_path):
    folder = article(tmp_path)
    client = await start(folder)
    text = (folder / "Dockerfile").read_text()
    uri = open_document(client, folder / "Dockerfile")
    await diagnostics(client, uri, 1)
    actions = await code_actions(client, uri, 4)
    [safe] = [a for a in actions if a.is_preferred]
    assert safe.title.startswith("dockfix DF005:") and "unsafe" not in safe.title
    assert safe.kind == types.CodeActionKind.QuickFix
    fixed = apply_workspace_edit(safe.edit, {uri: text})
    assert set(fixed) == {uri}
    # The reference: the command line with only that rule's safe fix.
    reference = tmp_path / "reference"
    shutil.copytree(ARTICLE, reference)
    dockfix_write(reference, "--select", "DF005")
    assert fixed[uri] == (reference / "Dockerfile").read_text()
    assert 'CMD ["npm", "start"]' in fixed[uri]


async def test_unsafe_fixes_are_offered_labelled_and_never_preferred(start, tmp_path):
    folder = article(tmp_path)
    client = await start(folder)
    uri = open_document(client, folder / "Dockerfile")
    await diagnostics(client, uri, 1)
    actions = await code_actions(client, uri, 3)  # RUN npm install: DF002, DF003, DF004
    titles = {a.title.split(":")[0]: a for a in actions}
    assert {"dockfix DF002", "dockfix DF003", "dockfix DF004"} <= set(titles)
    for code in ("DF002", "DF003", "DF004"):
        action = titles[f"dockfix {code}"]
        assert "unsafe fix" in action.title
        assert not action.is_preferred
        assert action.edit is not None and action.disabled is None


async def test_fix_all_safe_is_what_the_command_line_writes(start, tmp_path):
    folder = article(tmp_path)
    client = await start(folder)
    text = (folder / "Dockerfile").read_text()
    uri = open_document(client, folder / "Dockerfile")
    await diagnostics(client, uri, 1)
    [fix_all] = await code_actions(client, uri, 0, only=[types.CodeActionKind.SourceFixAll])
    assert fix_all.title == "dockfix: fix all safe"
    assert fix_all.kind == "source.fixAll.dockfix"
    ignore_uri = (folder / ".dockerignore").as_uri()
    # The .dockerignore does not exist: the edit creates it, then fills it.
    assert any(
        isinstance(change, types.CreateFile) and change.uri == ignore_uri for change in fix_all.edit.document_changes
    )
    fixed = apply_workspace_edit(fix_all.edit, {uri: text})
    reference = tmp_path / "reference"
    shutil.copytree(ARTICLE, reference)
    dockfix_write(reference)
    assert fixed[uri] == (reference / "Dockerfile").read_text()
    assert fixed[ignore_uri] == (reference / ".dockerignore").read_text()
    assert set(fixed) == {uri, ignore_uri}


async def test_the_app_code_fix_is_a_workspace_edit_of_the_entry_file(start, tmp_path):
    folder = article(tmp_path)
    client = await start(folder)
    uri = open_document(client, folder / "Dockerfile")
    found = await diagnostics(client, uri, 1)
    [shutdown] = by_code(found)["DF006"]
    actions = await code_actions(client, uri, shutdown.range.start.line)
    [action] = [a for a in actions if a.title.startswith("dockfix DF006")]
    assert "unsafe fix" in action.title
    server_js = (folder / "server.js").as_uri()
    assert [change.text_document.uri for change in action.edit.document_changes] == [server_js]
    fixed = apply_workspace_edit(action.edit, {server_js: (folder / "server.js").read_text()})
    reference = tmp_path / "reference"
    shutil.copytree(ARTICLE, reference)
    dockfix_write(reference, "--select", "DF006", "--unsafe-fixes")
    assert fixed[server_js] == (reference / "server.js").read_text()
    assert "SIGTERM" in fixed[server_js]


async def test_a_note_is_a_hint_without_a_code_action(start, tmp_path):
    """A development image is left alone: DF000's note says why, as a hint, not a problem."""
    folder = article(tmp_path)
    client = await start(folder)
    dev_image = 'FROM node:24 AS dev\nWORKDIR /app\nCOPY . .\nRUN npm install\nCMD ["node", "server.js"]\n'
    uri = open_document(client, folder / "Dockerfile", dev_image)
    [note] = by_code(await diagnostics(client, uri, 1))["DF000"]
    assert note.severity == types.DiagnosticSeverity.Hint
    assert note.message.startswith("left alone:") and note.range.start.line == 0
    assert not [a for a in await code_actions(client, uri, 0) if "DF000" in a.title]


async def test_a_broken_dockerfile_gets_one_diagnostic_and_the_server_goes_on(start, tmp_path):
    folder = article(tmp_path)
    client = await start(folder)
    broken = "FROM node:22\nRUN npm ci \\\n&& npm run build\nFORM node\n"
    uri = open_document(client, folder / "Dockerfile", broken)
    [problem] = await diagnostics(client, uri, 1)
    assert problem.severity == types.DiagnosticSeverity.Error
    assert problem.range.start.line == 3  # FORM, 0-based
    assert "FORM" in problem.message
    assert await code_actions(client, uri, 3) == []
    change_document(client, uri, (folder / "Dockerfile").read_text(), 2)
    assert "DF005" in by_code(await diagnostics(client, uri, 2))


async def test_a_document_over_the_command_lines_limit_is_refused_as_it_refuses_the_file(start, tmp_path):
    folder = article(tmp_path)
    client = await start(folder)
    huge = "FROM node:22\n" + "RUN echo hello\n" * 80_000
    uri = open_document(client, folder / "Dockerfile", huge)
    [problem] = await diagnostics(client, uri, 1)
    assert problem.severity == types.DiagnosticSeverity.Error
    assert problem.message == f"too large for a Dockerfile ({len(huge)} bytes, the limit is 1048576)"
    assert problem.range.start.line == 0
    assert await code_actions(client, uri, 0) == []
    change_document(client, uri, (folder / "Dockerfile").read_text(), 2)
    assert "DF005" in by_code(await diagnostics(client, uri, 2))


async def test_the_configuration_files_of_the_command_line_apply(start, tmp_path):
    folder = article(tmp_path)
    (folder / ".dockfix.toml").write_text('ignore = ["DF008", "DF009"]\nunsafe-fixes = true\n')
    client = await start(folder)
    uri = open_document(client, folder / "Dockerfile")
    codes = by_code(await diagnostics(client, uri, 1))
    assert "DF008" not in codes and "DF009" not in codes and "DF005" in codes
    [fix_all] = await code_actions(client, uri, 0, only=[types.CodeActionKind.SourceFixAll])
    assert fix_all.title == "dockfix: fix all (unsafe fixes included, as configured)"
    before = {path.as_uri(): path.read_text() for path in folder.iterdir() if path.is_file()}
    fixed = apply_workspace_edit(fix_all.edit, before)
    assert {(folder / name).as_uri() for name in ("Dockerfile", "server.js")} <= set(fixed)
    reference = tmp_path / "reference"
    shutil.copytree(folder, reference)
    dockfix_write(reference)  # reads the same .dockfix.toml
    for changed_uri, content in fixed.items():
        relative = Path(changed_uri.removeprefix(folder.as_uri() + "/"))
        assert content == (reference / relative).read_text(), relative


async def test_a_changed_configuration_file_is_read_again(start, tmp_path):
    folder = article(tmp_path)
    client = await start(folder)
    await until(lambda: client.registrations)  # the server asks to hear of the files checks read
    [registration] = client.registrations
    assert registration.method == types.WORKSPACE_DID_CHANGE_WATCHED_FILES
    uri = open_document(client, folder / "Dockerfile")
    assert "DF008" in by_code(await diagnostics(client, uri, 1))
    client.published.clear()
    config = folder / ".dockfix.toml"
    config.write_text('ignore = ["DF008"]\n')
    client.workspace_did_change_watched_files(
        types.DidChangeWatchedFilesParams(
            changes=[types.FileEvent(uri=config.as_uri(), type=types.FileChangeType.Created)]
        )
    )
    codes = by_code(await diagnostics(client, uri, 1))
    assert "DF008" not in codes and "DF005" in codes


async def test_a_configuration_that_excludes_the_file_silences_it(start, tmp_path):
    folder = article(tmp_path)
    (folder / ".dockfix.toml").write_text('exclude = ["Dockerfile"]\n')
    client = await start(folder)
    uri = open_document(client, folder / "Dockerfile")
    assert await diagnostics(client, uri, 1) == []


async def test_neovim_without_disabled_support_gets_only_actions_it_can_apply(start, tmp_path):
    folder = article(tmp_path)
    client = await start(folder, editor=NEOVIM)
    uri = open_document(client, folder / "Dockerfile")
    await diagnostics(client, uri, 1)
    actions = await code_actions(client, uri, 4)
    assert actions and all(a.disabled is None and a.edit is not None for a in actions)
    fixed = apply_workspace_edit(
        next(a for a in actions if a.is_preferred).edit, {uri: (folder / "Dockerfile").read_text()}
    )
    assert 'CMD ["npm", "start"]' in fixed[uri]


async def test_a_quick_fix_for_a_file_with_unsaved_changes_is_disabled(start, tmp_path):
    folder = article(tmp_path)
    client = await start(folder)
    uri = open_document(client, folder / "Dockerfile")
    found = await diagnostics(client, uri, 1)
    server_js = folder / "server.js"
    # server.js is open in the editor with edits not yet saved: offsets on disk would be wrong there.
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(
                uri=server_js.as_uri(), language_id="javascript", version=1, text="// editing\n" + server_js.read_text()
            )
        )
    )
    [shutdown] = by_code(found)["DF006"]
    actions = await code_actions(client, uri, shutdown.range.start.line)
    [action] = [a for a in actions if a.title.startswith("dockfix DF006")]
    assert action.edit is None
    assert action.disabled is not None and "server.js has unsaved changes" in action.disabled.reason


# The network: only when the user allows it --------------------------------------------------

plain_registry = registry_fixture(auth="none")


async def test_offline_unless_allowed(start, tmp_path, plain_registry, monkeypatch):
    monkeypatch.setenv("DOCKFIX_TRUST_REPOSITORY_CONFIG", "1")  # the repository's mirror may be used
    pushed = push_image(plain_registry, "library/node", "26-alpine")
    folder = tmp_path / "app"
    folder.mkdir()
    (folder / "Dockerfile").write_text('FROM node:26-alpine\nCMD ["node", "server.js"]\n')
    (folder / ".dockfix.toml").write_text(f'registry-mirror = "{plain_registry.url}"\n')
    pushing = plain_registry.request_count()
    client = await start(folder)
    uri = open_document(client, folder / "Dockerfile")
    [digest] = by_code(await diagnostics(client, uri, 1))["DF001"]
    assert "offline" in digest.message
    assert plain_registry.request_count() == pushing

    online = await start(folder, initialization_options={"network": True})
    uri = open_document(online, folder / "Dockerfile")
    await diagnostics(online, uri, 1)
    [fix_all] = await code_actions(online, uri, 0, only=[types.CodeActionKind.SourceFixAll])
    fixed = apply_workspace_edit(fix_all.edit, {uri: (folder / "Dockerfile").read_text()})
    assert fixed[uri].startswith(f"FROM node:26-alpine@{pushed.digest}\n")
    assert plain_registry.request_count() > pushing
