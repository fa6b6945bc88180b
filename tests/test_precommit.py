"""The pre-commit hooks: the manifest is valid, and `pre-commit try-repo` runs `dockfix --write`;
the repository's own configuration runs ruff and mypy from the project's environment.

pre-commit installs a `language: python` hook with pip into a fresh environment, which needs the
package index for dockfix's dependencies; that run is opt-in (DOCKFIX_NETWORK_TESTS=1) because
tests do not reach the network by default.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

import pytest

from support.paths import REPO

GIT = shutil.which("git")
MANIFEST = REPO / ".pre-commit-hooks.yaml"
CONFIG = REPO / ".pre-commit-config.yaml"


def test_the_manifest_is_valid_for_pre_commit():
    clientlib = pytest.importorskip("pre_commit.clientlib")
    hooks = clientlib.load_manifest(str(MANIFEST))
    assert [hook["id"] for hook in hooks] == ["dockfix", "dockfix-check"]
    pattern = re.compile(hooks[0]["files"])
    for name in ("Dockerfile", "api/Dockerfile.prod", "Containerfile", "app.Dockerfile", "x/app.dockerfile"):
        assert pattern.search(name), name
    for name in ("README.md", "Dockerfiles/notes.txt", "dockerfile-lint.sh"):
        assert not pattern.search(name), name


def test_the_repository_hooks_are_local_and_need_no_network():
    clientlib = pytest.importorskip("pre_commit.clientlib")
    config = clientlib.load_config(str(CONFIG))
    assert [repo["repo"] for repo in config["repos"]] == ["local"]
    hooks = {hook["id"]: hook for hook in config["repos"][0]["hooks"]}
    assert sorted(hooks) == ["mypy", "ruff-check", "ruff-format"]
    # language: system runs the tools of the active environment: nothing is installed
    # (pre-commit 4.4 and later read it under its new name, `unsupported`).
    assert {hook["language"] for hook in hooks.values()} <= {"system", "unsupported"}
    assert hooks["ruff-check"]["entry"].split()[:2] == ["ruff", "check"]
    assert hooks["ruff-format"]["entry"].split()[:2] == ["ruff", "format"]
    # mypy checks the files pyproject.toml names, not only the staged ones.
    assert hooks["mypy"]["entry"] == "mypy" and hooks["mypy"]["pass_filenames"] is False


@pytest.mark.skipif(
    os.environ.get("DOCKFIX_NETWORK_TESTS") != "1",
    reason="pre-commit installs the hook from the package index: set DOCKFIX_NETWORK_TESTS=1",
)
@pytest.mark.skipif(GIT is None, reason="git is not installed")
def test_try_repo_fixes_a_staged_dockerfile(tmp_path):
    pytest.importorskip("pre_commit")
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@e",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@e",
        "PRE_COMMIT_HOME": str(tmp_path / "cache"),
    }
    hook_repo = tmp_path / "hook-repo"
    shutil.copytree(
        REPO,
        hook_repo,
        ignore=shutil.ignore_patterns(".venv", ".git", "tests", "*.egg-info", "__pycache__", "benchmarks"),
    )
    for command in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "hooks"]):
        subprocess.run([GIT, *command], cwd=hook_repo, check=True, env=env)
    project = tmp_path / "project"
    project.mkdir()
    (project / "Dockerfile").write_text('FROM node:22\nWORKDIR /app\nCOPY . .\nRUN npm ci\nCMD ["node", "server.js"]\n')
    (project / "package.json").write_text('{"name": "app"}')
    for command in (["init", "-q"], ["add", "-A"]):
        subprocess.run([GIT, *command], cwd=project, check=True, env=env)
    run = subprocess.run(
        [sys.executable, "-m", "pre_commit", "try-repo", str(hook_repo), "dockfix", "--files", "Dockerfile"],
        cwd=project,
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    # The hook writes the safe fixes (a .dockerignore), so pre-commit reports files modified.
    assert "dockfix" in run.stdout, run.stdout + run.stderr
    assert (project / ".dockerignore").is_file(), run.stdout + run.stderr
