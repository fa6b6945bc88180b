"""DF009 for the whole build context: a `.dockerignore` edit is safe for every Dockerfile built from it.

A `.dockerignore` belongs to the build context: the other Dockerfiles the repository builds from
that context (compose `context: .`) read it too. These tests run the fixture repositories of
tests/fixtures/repos/ as a folder run does (discovery, then the run) and as the command line
does, and judge what was written with Docker's own pattern rules. They also check where a
finding about a `.dockerignore` that does not exist yet is reported, in every output format.
"""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dockfix.cli import app
from dockfix.context import Options
from dockfix.dockerfile.document import Document
from dockfix.pipeline import FileResult
from dockfix.project.discover import Discovery, discover
from dockfix.project.dockerignore_patterns import DockerIgnore
from dockfix.rules import select_rules
from dockfix.rules.dockerignore import context_sources
from dockfix.run import Settings, process_paths
from support.paths import REPO

FIXTURES = REPO / "tests" / "fixtures" / "repos"
OFFLINE = ["--offline", "--isolated", "--today", "2026-11-29"]
PACKAGE = '{"name": "shop", "private": true, "workspaces": ["packages/*"]}'
COMPOSE = """services:
  api:
    build:
      context: .
      dockerfile: api/Dockerfile
  web:
    build:
      context: .
      dockerfile: web/Dockerfile
"""
# Builds its own output (tsconfig's outDir): DF009 alone would leave `dist` out.
API = """FROM node:22-alpine
WORKDIR /app
COPY package.json tsconfig.json ./
RUN npm install
COPY api ./api
RUN npm run build
CMD ["node", "dist/index.js"]
"""


@pytest.fixture
def shared_context(tmp_path: Path) -> Path:
    """The siblings-shared-context fixture: backend and frontend built from the root, the backend copies `.env`."""
    root = tmp_path / "siblings-shared-context"
    shutil.copytree(FIXTURES / "siblings-shared-context", root)
    return root


def write_tree(root: Path, files: dict[str, str]) -> Path:
    for relative, content in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
    return root


def folder_run(root: Path, *, unsafe: bool = False, reverse: bool = False) -> tuple[Discovery, list[FileResult]]:
    """Discovery and the run over `root`, DF009 only; `reverse` fixes the Dockerfiles in the other order."""
    found = discover([root])
    files = list(reversed(found.files)) if reverse else found.files
    settings = Settings(
        rules=select_rules(["DF009"], None),
        options=Options(unsafe_fixes=unsafe, offline=True, today=date(2026, 11, 29)),
    )
    return found, process_paths(files, settings, contexts=found.contexts, builds=found.builds)


def final_ignore(results: list[FileResult], path: Path) -> bytes | None:
    """The ignore file as the run leaves it: the last result that writes it."""
    written = [result.other_files[path][1] for result in results if path in result.other_files]
    return written[-1] if written else None


def left_out_sources(root: Path, dockerfiles: list[Path], ignore: bytes) -> list[str]:
    """The COPY/ADD sources of the Dockerfiles that the ignore file leaves out of the context."""
    rules = DockerIgnore.parse(ignore)
    return [
        f"{dockerfile.relative_to(root)}: {source}"
        for dockerfile in dockerfiles
        for source in context_sources(Document.parse(dockerfile.read_bytes()))
        if rules.excludes(source)
    ]


def result_of(results: list[FileResult], dockerfile: Path) -> FileResult:
    [result] = [result for result in results if result.path == dockerfile]
    return result


def messages(results: list[FileResult]) -> list[str]:
    return [finding.message for result in results for finding in [*result.initial, *result.applied]]


def dockfix(*args: str) -> str:
    done = CliRunner().invoke(app, [*OFFLINE, *args])
    assert done.exception is None or isinstance(done.exception, SystemExit), done.exception
    return done.stdout


# -- siblings sharing a context --------------------------------------------------------------------


@pytest.mark.parametrize("reverse", [False, True], ids=["backend-first", "frontend-first"])
@pytest.mark.parametrize("local_only", [False, True], ids=["env-present", "env-local-only"])
def test_a_sibling_copying_a_local_only_env_keeps_it_in_the_context(shared_context, reverse, local_only):
    if local_only:
        (shared_context / ".env").unlink()  # gitignored: a fresh clone has none, a developer's machine has one
    found, results = folder_run(shared_context, reverse=reverse)
    ignore = final_ignore(results, shared_context / ".dockerignore")
    assert ignore is not None
    assert left_out_sources(shared_context, found.files, ignore) == []
    rules = DockerIgnore.parse(ignore)
    assert not rules.excludes(".env")
    assert rules.excludes("node_modules") and rules.excludes(".git") and rules.excludes(".npmrc")
    assert not any(".dockerignore does not leave out .env" in message for message in messages(results))


def test_the_finding_names_the_sibling_that_needs_the_pattern(shared_context):
    _found, results = folder_run(shared_context, reverse=True)
    frontend = shared_context / "packages" / "frontend" / "Dockerfile"
    [created] = result_of(results, frontend).applied
    assert "(.env left out: packages/backend/Dockerfile, built from the same context, copies it)" in created.message


def test_the_command_line_on_the_repository_keeps_the_backend_building(shared_context, monkeypatch):
    monkeypatch.chdir(shared_context)
    dockfix("--write", ".")
    ignore = (shared_context / ".dockerignore").read_bytes()
    dockerfiles = [shared_context / "packages" / name / "Dockerfile" for name in ("backend", "frontend")]
    assert left_out_sources(shared_context, dockerfiles, ignore) == []
    assert not DockerIgnore.parse(ignore).excludes(".env")
    # A second run adds nothing: the pattern stays out for the backend's sake.
    dockfix("--write", ".")
    assert (shared_context / ".dockerignore").read_bytes() == ignore


def test_a_gitignored_source_of_a_sibling_is_not_left_out(tmp_path):
    root = write_tree(
        tmp_path / "repo",
        {
            "compose.yaml": COMPOSE,
            "package.json": PACKAGE,
            ".gitignore": ".env.production\nnode_modules/\n",  # the file exists on the machines that build
            "api/Dockerfile": 'FROM node:22-alpine\nWORKDIR /app\nCOPY package.json ./\nRUN npm install\nCOPY api ./api\nCMD ["node", "api/index.js"]\n',
            "api/index.js": "",
            "web/Dockerfile": 'FROM node:22-alpine\nWORKDIR /app\nCOPY package.json .env.production ./\nRUN npm install\nCOPY web ./web\nCMD ["node", "web/index.js"]\n',
            "web/index.js": "",
        },
    )
    found, results = folder_run(root)
    ignore = final_ignore(results, root / ".dockerignore")
    assert ignore is not None
    assert left_out_sources(root, found.files, ignore) == []
    assert ".env.*" not in ignore.decode().splitlines()
    api = result_of(results, root / "api" / "Dockerfile")
    assert ".env.* left out: web/Dockerfile, built from the same context, copies it" in api.applied[0].message


def test_a_sibling_copying_a_folder_the_other_build_makes_keeps_it(tmp_path):
    root = write_tree(
        tmp_path / "repo",
        {
            "compose.yaml": COMPOSE,
            "package.json": '{"name": "shop", "scripts": {"build": "tsc"}, "devDependencies": {"typescript": "^5.4.0"}}',
            "tsconfig.json": '{"compilerOptions": {"outDir": "dist"}}',
            ".gitignore": "dist/\n",  # built on the developer's machine before `docker compose build web`
            "api/Dockerfile": API,
            "api/index.ts": "",
            "web/Dockerfile": 'FROM node:22-alpine\nWORKDIR /app\nCOPY dist ./dist\nCMD ["node", "dist/index.js"]\n',
        },
    )
    found, results = folder_run(root)
    ignore = final_ignore(results, root / ".dockerignore")
    assert ignore is not None
    assert "dist" not in ignore.decode().splitlines()
    assert left_out_sources(root, found.files, ignore) == []
    api = result_of(results, root / "api" / "Dockerfile")
    assert "dist left out: web/Dockerfile, built from the same context, copies it" in api.applied[0].message
    # Without the sibling, the api's Dockerfile leaves its build output out.
    (root / "compose.yaml").unlink()
    (root / "web" / "Dockerfile").unlink()
    _found, results = folder_run(root)
    ignore = final_ignore(results, root / ".dockerignore")
    assert ignore is not None and "dist" in ignore.decode().splitlines()


def test_an_existing_dockerignore_is_not_completed_with_what_a_sibling_reads(tmp_path):
    root = write_tree(
        tmp_path / "repo",
        {
            "compose.yaml": COMPOSE,
            "package.json": PACKAGE,
            ".dockerignore": "node_modules\n",
            ".npmrc": "registry=https://npm.example.com/\n",  # no token: a setting the install needs
            "api/Dockerfile": 'FROM node:22-alpine\nWORKDIR /app\nCOPY . .\nRUN npm ci\nCMD ["node", "api/index.js"]\n',
            "api/index.js": "",
            "web/Dockerfile": 'FROM node:22-alpine\nWORKDIR /app\nCOPY package.json ./\nCOPY web ./web\nCMD ["node", "web/index.js"]\n',
            "web/index.js": "",
        },
    )
    _found, results = folder_run(root, reverse=True)  # the web's Dockerfile first: its finding adds .git and .env
    ignore = final_ignore(results, root / ".dockerignore")
    assert ignore == b"node_modules\n.git\n.env\n"
    web = result_of(results, root / "web" / "Dockerfile")
    assert web.applied[0].message.endswith(
        "(.npmrc not added: api/Dockerfile, built from the same context: `npm ci` reads it after `COPY` brings it in)"
    )


def test_a_sibling_with_its_own_ignore_file_does_not_hold_anything_back(tmp_path):
    root = write_tree(
        tmp_path / "repo",
        {
            "compose.yaml": COMPOSE,
            "package.json": PACKAGE,
            "api/Dockerfile": 'FROM node:22-alpine\nWORKDIR /app\nCOPY package.json .env ./\nCOPY api ./api\nCMD ["node", "api/index.js"]\n',
            "api/Dockerfile.dockerignore": "node_modules\n.git\n.npmrc\n",
            "api/index.js": "",
            "web/Dockerfile": 'FROM node:22-alpine\nWORKDIR /app\nCOPY package.json ./\nCOPY web ./web\nCMD ["node", "web/index.js"]\n',
            "web/index.js": "",
        },
    )
    _found, results = folder_run(root)
    ignore = final_ignore(results, root / ".dockerignore")
    assert ignore is not None and DockerIgnore.parse(ignore).excludes(".env")  # the api reads its own file


def test_a_context_given_on_the_command_line_is_not_the_shared_one(shared_context, monkeypatch):
    # --context wins over the compose file: the .dockerignore written there is not the one the
    # backend's compose build reads, so nothing is held back for it.
    monkeypatch.chdir(shared_context)
    dockfix("--write", "--context", "packages/frontend", ".")
    written = (shared_context / "packages" / "frontend" / ".dockerignore").read_bytes()
    assert DockerIgnore.parse(written).excludes(".env")
    assert not (shared_context / ".dockerignore").exists()


# -- a file that does not exist yet: the finding sits on the Dockerfile ---------------------------

DOCKERFILE = 'FROM node:22-alpine\nWORKDIR /app\nCOPY --from=node:22 /usr/local/bin/node /tmp/\nCOPY package.json ./\nRUN npm install\nCOPY . .\nCMD ["node", "server.js"]\n'


@pytest.fixture
def app_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = write_tree(tmp_path / "app", {"Dockerfile": DOCKERFILE, "package.json": '{"name": "app"}'})
    monkeypatch.chdir(folder)
    return folder


def test_text_puts_a_missing_dockerignore_on_the_first_copy_from_the_context(app_folder):
    out = dockfix("--select", "DF009", ".")
    assert out.startswith("Dockerfile:4: DF009 [*] no .dockerignore: ")
    assert not any(line.startswith(".dockerignore:") for line in out.splitlines())


def test_json_puts_a_missing_dockerignore_on_the_dockerfile(app_folder):
    [record] = [json.loads(line) for line in dockfix("--select", "DF009", "--output-format", "json", ".").splitlines()]
    [finding] = record["applied"]  # what --write would apply
    assert (finding["path"], finding["line"]) == ("Dockerfile", 4)
    assert record["changed_files"] == [".dockerignore"]  # the file it creates is still named where it belongs
    schema = json.loads((REPO / "docs" / "json-report.schema.json").read_text())
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.validate(record, schema)


def test_sarif_puts_a_missing_dockerignore_on_the_dockerfile(app_folder):
    log = json.loads(dockfix("--select", "DF009", "--output-format", "sarif", "."))
    [result] = log["runs"][0]["results"]
    location = result["locations"][0]["physicalLocation"]
    assert location == {"artifactLocation": {"uri": "Dockerfile", "uriBaseId": "%SRCROOT%"}, "region": {"startLine": 4}}


def test_github_puts_a_missing_dockerignore_on_the_dockerfile(app_folder):
    out = dockfix("--select", "DF009", "--output-format", "github", ".")
    assert out.startswith("::warning file=Dockerfile,line=4,title=DF009 dockerignore::no .dockerignore: ")


def test_a_dockerfile_copying_nothing_from_the_context_gets_it_on_line_1(tmp_path, monkeypatch):
    folder = write_tree(
        tmp_path / "app",
        {"Dockerfile": 'FROM node:22-alpine\nRUN npm install -g serve\nCMD ["serve"]\n', "package.json": "{}"},
    )
    monkeypatch.chdir(folder)
    assert dockfix("--select", "DF009", ".").startswith("Dockerfile:1: DF009 [*] no .dockerignore: ")


def test_a_subfolder_dockerfile_says_which_context_gets_the_file(shared_context, monkeypatch):
    monkeypatch.chdir(shared_context)
    out = dockfix("--select", "DF009", ".")
    assert out.startswith(
        "packages/backend/Dockerfile:3: DF009 [*] no .dockerignore in the build context ../..: the local node_modules"
    )


def test_a_finding_on_an_existing_dockerignore_stays_there(app_folder):
    (app_folder / ".dockerignore").write_text("node_modules\n")
    out = dockfix("--select", "DF009", "--output-format", "github", ".")
    assert out.startswith(
        "::warning file=.dockerignore,line=1,title=DF009 dockerignore::.dockerignore does not leave out "
    )
