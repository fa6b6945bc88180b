"""Bulk runs over several repositories: discovery (compose, .gitignore, skipped folders,
--from-file), parallel processing that gives the same results as one process, and the issue's
end-to-end case: fix a fleet with -j 2, report the broken file, write the rest, and produce
patches that `git apply` accepts on fresh copies.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from dockfix.context import Options
from dockfix.project.compose import parse_builds
from dockfix.project.discover import discover, read_path_list
from dockfix.rules import RULES
from dockfix.run import Settings, group_by_context, process_paths
from support.paths import REPO, shapes

GIT = shutil.which("git")
TODAY = "2026-11-29"


def write(root: Path, files: dict[str, str]) -> None:
    for relative, content in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)


def git_init(folder: Path) -> None:
    subprocess.run([GIT, "init", "-q", str(folder)], check=True)


def make_fleet(root: Path) -> None:
    """Three repositories: compose-built api, web with Dockerfiles in node_modules, a broken one."""
    write(
        root / "api",
        {
            "package.json": '{"name": "api", "scripts": {"start": "node server.js"}, "dependencies": {"express": "4"}}',
            "package-lock.json": "",
            "server.js": "require('express')().listen(3000)\n",
            "docker/Dockerfile": "FROM node\nWORKDIR /app\nCOPY . .\nRUN npm install\nCMD npm start\n",
            "compose.yaml": "services:\n  api:\n    build:\n      context: .\n      dockerfile: docker/Dockerfile\n",
        },
    )
    write(
        root / "web",
        {
            "package.json": '{"name": "web", "scripts": {"start": "node index.js"}}',
            "Dockerfile": 'FROM node:20\nCOPY . .\nRUN npm install\nCMD ["node", "index.js"]\n',
            "node_modules/some-package/Dockerfile": "FROM busybox\nRUN npm install\n",
            "node_modules/other/docker/Dockerfile.dev": "FROM node\n",
        },
    )
    write(root / "broken", {"Dockerfile": "FROM node\nRUN npm ci\n&& echo done\n"})
    for name in ("api", "web", "broken"):
        git_init(root / name)


def run_dockfix(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "dockfix", "--offline", "--today", TODAY, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )


def snapshot(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and ".git" not in p.relative_to(folder).parts
    }


# -- the end-to-end case ------------------------------------------------------------------


@pytest.mark.skipif(GIT is None, reason="git is not installed")
def test_a_fleet_is_fixed_in_one_parallel_run_and_its_patches_apply_to_fresh_copies(tmp_path):
    fleet = tmp_path / "fleet"
    make_fleet(fleet)
    pristine = tmp_path / "pristine"
    shutil.copytree(fleet, pristine, symlinks=True)
    patches = tmp_path / "patches"

    run = run_dockfix(
        "--write", "--unsafe-fixes", "-j", "2", "--patch-dir", str(patches), "api", "web", "broken", cwd=fleet
    )

    assert run.returncode == 2, run.stderr  # the broken file is an error; the others are written
    assert "Traceback" not in run.stderr
    assert "broken/Dockerfile:3: error: unknown instruction: &&" in run.stderr
    assert "Scanned 3 Dockerfiles: 2 changed, 0 unchanged, 1 failed." in run.stderr
    # The compose file's context is the repository root: .dockerignore goes there, not in docker/.
    assert (fleet / "api" / ".dockerignore").is_file()
    assert not (fleet / "api" / "docker" / ".dockerignore").exists()
    assert (fleet / "api" / "docker" / "Dockerfile").read_bytes() != (
        pristine / "api" / "docker" / "Dockerfile"
    ).read_bytes()
    assert (fleet / "web" / "Dockerfile").read_bytes() != (pristine / "web" / "Dockerfile").read_bytes()
    # Nothing in node_modules is touched, and the broken file stays as it was.
    assert snapshot(fleet / "web" / "node_modules") == snapshot(pristine / "web" / "node_modules")
    assert (fleet / "broken" / "Dockerfile").read_bytes() == (pristine / "broken" / "Dockerfile").read_bytes()

    assert sorted(p.name for p in patches.iterdir()) == ["api.patch", "web.patch"]
    for name in ("api", "web"):
        fresh = tmp_path / "fresh" / name
        shutil.copytree(pristine / name, fresh, symlinks=True)
        applied = subprocess.run(
            [GIT, "apply", "--whitespace=nowarn", str(patches / f"{name}.patch")],
            cwd=fresh,
            capture_output=True,
            text=True,
        )
        assert applied.returncode == 0, applied.stderr
        assert snapshot(fresh) == snapshot(fleet / name)


@pytest.mark.skipif(GIT is None, reason="git is not installed")
def test_the_fleet_json_report_has_one_valid_record_per_dockerfile(tmp_path):
    jsonschema = pytest.importorskip("jsonschema")
    fleet = tmp_path / "fleet"
    make_fleet(fleet)
    run = run_dockfix("--check", "-j", "2", "--output-format", "json", ".", cwd=fleet)
    assert run.returncode == 2, run.stderr
    records = [json.loads(line) for line in run.stdout.splitlines()]
    schema = json.loads((REPO / "docs" / "json-report.schema.json").read_text())
    for record in records:
        jsonschema.validate(record, schema)
    by_path = {record["path"]: record for record in records}
    assert sorted(by_path) == ["api/docker/Dockerfile", "broken/Dockerfile", "web/Dockerfile"]
    assert by_path["api/docker/Dockerfile"]["context"] == "api"
    assert by_path["api/docker/Dockerfile"]["repo_root"] == "api"
    assert by_path["broken/Dockerfile"]["status"] == "failed"
    assert by_path["broken/Dockerfile"]["error"]["line"] == 3
    assert by_path["web/Dockerfile"]["status"] == "changed"
    assert by_path["web/Dockerfile"]["written"] is False
    assert any(finding["code"] == "DF007" for finding in by_path["web/Dockerfile"]["withheld"])


# -- discovery ------------------------------------------------------------------------------------


def test_compose_builds_are_read_from_block_and_flow_mappings_and_scalars(tmp_path):
    text = (
        "# a comment\n"
        "services:\n"
        "  api:\n"
        "    image: api  # not a build\n"
        "    build:\n"
        "      context: ./backend\n"
        '      dockerfile: "docker/Dockerfile.prod"  # quoted\n'
        "  worker:\n"
        "    build: ./worker\n"
        "  flow:\n"
        "    build: {context: '.', dockerfile: flow.Dockerfile}\n"
        "  remote:\n"
        "    build: https://github.com/example/repo.git\n"
        "  env:\n"
        "    build:\n"
        "      context: ${APP_DIR}\n"
        "volumes:\n"
        "  build:\n"
        "    context: not-a-service\n"
    )
    builds = {b.service: (b.context, b.dockerfile) for b in parse_builds(text, tmp_path)}
    assert builds == {
        "api": (tmp_path / "backend", tmp_path / "backend" / "docker" / "Dockerfile.prod"),
        "worker": (tmp_path / "worker", tmp_path / "worker" / "Dockerfile"),
        "flow": (tmp_path, tmp_path / "flow.Dockerfile"),
    }


def test_a_compose_file_gives_its_dockerfile_the_build_context_and_names_odd_files(tmp_path):
    write(
        tmp_path,
        {
            "docker-compose.yml": "services:\n  app:\n    build:\n      context: .\n      dockerfile: build/app.docker\n",
            "build/app.docker": "FROM node\n",
            "Dockerfile": "FROM node\n",
        },
    )
    found = discover([tmp_path])
    assert found.files == [tmp_path / "Dockerfile", tmp_path / "build" / "app.docker"]
    assert found.contexts == {tmp_path / "build" / "app.docker": tmp_path}


def test_gitignored_and_vendored_dockerfiles_are_skipped(tmp_path):
    write(
        tmp_path,
        {
            ".gitignore": "generated/\n*.tmp.Dockerfile\n/only-top/\n",
            "Dockerfile": "FROM node\n",
            "generated/Dockerfile": "FROM node\n",
            "x.tmp.Dockerfile": "FROM node\n",
            "sub/y.tmp.Dockerfile": "FROM node\n",
            "only-top/Dockerfile": "FROM node\n",
            "sub/only-top/Dockerfile": "FROM node\n",
            "sub/.gitignore": "*\n!keep/\n!keep/Dockerfile\n",
            "sub/keep/Dockerfile": "FROM node\n",
            "sub/drop/Dockerfile": "FROM node\n",
            "vendor/lib/Dockerfile": "FROM node\n",
            "bower_components/x/Dockerfile": "FROM node\n",
        },
    )
    (tmp_path / ".git").mkdir()
    found = [str(p.relative_to(tmp_path)) for p in discover([tmp_path]).files]
    assert found == ["Dockerfile", "sub/keep/Dockerfile"]


def test_a_gitignore_above_the_searched_folder_counts_up_to_the_repository_root(tmp_path):
    write(
        tmp_path,
        {
            ".gitignore": "legacy/\n",
            "services/legacy/Dockerfile": "FROM node\n",
            "services/app/Dockerfile": "FROM node\n",
        },
    )
    (tmp_path / ".git").mkdir()
    found = discover([tmp_path / "services"]).files
    assert found == [tmp_path / "services" / "app" / "Dockerfile"]


def test_from_file_lists_paths_skipping_blanks_and_comments(tmp_path, monkeypatch):
    app = 'FROM node\nCMD ["node", "server.js"]\n'  # an app image: DF003 has something to say
    write(tmp_path, {"a/Dockerfile": app, "b/Dockerfile": app})
    monkeypatch.chdir(tmp_path)
    assert read_path_list("# repos\na\n\n  b  \n", Path(".")) == [Path("a"), Path("b")]
    (tmp_path / "list.txt").write_text("a\nb/Dockerfile\n")
    run = subprocess.run(
        [sys.executable, "-m", "dockfix", "--offline", "--select", "DF003", "--from-file", "list.txt"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert run.returncode == 1, run.stderr  # DF003's fix is unsafe: held back
    assert "Scanned 2 Dockerfiles" in run.stderr
    assert sorted(line.split(":")[0] for line in run.stdout.splitlines()) == ["a/Dockerfile", "b/Dockerfile"]


# -- parallel processing ----------------------------------------------------------------------------


def test_dockerfiles_sharing_or_nesting_a_context_share_a_group(tmp_path):
    paths = [
        tmp_path / "a" / "Dockerfile",
        tmp_path / "b" / "Dockerfile",
        tmp_path / "a" / "Dockerfile.dev",
        tmp_path / "a" / "sub" / "Dockerfile",
    ]
    settings = Settings(rules=[], options=Options())
    groups = group_by_context(paths, settings, {})
    assert [[index for index, *_ in group] for group in groups] == [[0, 2, 3], [1]]


def test_two_processes_give_exactly_the_results_of_one(tmp_path):
    # The shape fixtures: one Dockerfile each, of every shape the rules know, some with app code.
    for shape in shapes():
        shutil.copytree(shape, tmp_path / shape.name)
    files = discover([tmp_path]).files
    assert len(files) == len(shapes())
    options = Options(unsafe_fixes=True, offline=True)
    serial = process_paths(files, Settings(rules=list(RULES), options=options), jobs=1)
    parallel = process_paths(files, Settings(rules=list(RULES), options=options), jobs=2)
    assert [r.path for r in parallel] == files
    assert [(r.fixed, r.other_files, r.error, [f.code for f in r.applied]) for r in serial] == [
        (r.fixed, r.other_files, r.error, [f.code for f in r.applied]) for r in parallel
    ]
