"""The GitHub Action: action.yml is a well-formed composite action whose steps run
scripts/github-action.sh, and that script, run here on temporary git repositories as the action
runs it in a checkout, checks (SARIF) or fixes (leaving the changes for the next step)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from support.gitrepos import GIT, TODAY, environment, files_of, git, make_repository
from support.paths import FIXTURES, REPO

ACTION = REPO / "action.yml"
SCRIPT = REPO / "scripts" / "github-action.sh"
SARIF_SCHEMA = FIXTURES / "sarif-schema-2.1.0.json"
ARTICLE = files_of(FIXTURES / "article")
OFFLINE = f"--offline --today {TODAY}"
needs_git = pytest.mark.skipif(GIT is None, reason="git is not installed")


def action() -> dict:
    return yaml.safe_load(ACTION.read_text())


def test_the_action_is_a_composite_action_with_its_required_keys():
    manifest = action()
    assert manifest["name"] == "dockfix"
    assert manifest["description"]
    assert manifest["runs"]["using"] == "composite"
    for name, spec in manifest["inputs"].items():
        assert spec["description"], name
        assert "default" in spec or spec.get("required"), name
    for step in manifest["runs"]["steps"]:
        assert ("run" in step) != ("uses" in step), step
        if "run" in step:
            assert step["shell"] == "bash", step  # composite run steps must name their shell


def test_every_expression_names_a_declared_input_or_output_the_script_writes():
    manifest = action()
    text = ACTION.read_text()
    inputs = set(re.findall(r"inputs\.([a-z-]+)", text))
    assert inputs <= set(manifest["inputs"])
    assert set(manifest["inputs"]) <= inputs  # and every input is used
    written = set(re.findall(r'echo "([a-z-]+)=', SCRIPT.read_text()))
    read = set(re.findall(r"steps\.dockfix\.outputs\.([a-z-]+)", text))
    assert read <= written
    assert {output["value"] for output in manifest["outputs"].values()} == {
        f"${{{{ steps.dockfix.outputs.{name} }}}}" for name in manifest["outputs"]
    }
    assert set(manifest["outputs"]) <= written
    # The steps run the script of this repository, through the action's own path.
    for step in manifest["runs"]["steps"]:
        if "github-action.sh" in step.get("run", ""):
            assert '"$GITHUB_ACTION_PATH/scripts/github-action.sh"' in step["run"]


def run_action(repository: Path, tmp_path: Path, **inputs: str) -> tuple[subprocess.CompletedProcess, dict[str, str]]:
    """The action's `run` step in a checkout: its environment as action.yml sets it."""
    outputs = tmp_path / "github-output"
    outputs.write_text("")
    env = environment(
        tmp_path,
        DOCKFIX_PYTHON=sys.executable,
        GITHUB_OUTPUT=str(outputs),
        RUNNER_TEMP=str(tmp_path),
        **{f"DOCKFIX_{name.upper()}": value for name, value in inputs.items()},
    )
    done = subprocess.run(
        ["bash", str(SCRIPT), "run"], cwd=repository, env=env, capture_output=True, text=True, timeout=300
    )
    written = dict(line.split("=", 1) for line in outputs.read_text().splitlines())
    return done, written


@needs_git
def test_check_writes_a_valid_sarif_log_and_changes_nothing(tmp_path):
    jsonschema = pytest.importorskip("jsonschema")
    repository = make_repository(tmp_path / "checkout", ARTICLE)
    done, outputs = run_action(repository, tmp_path, mode="check", args=OFFLINE)
    assert done.returncode == 0, done.stderr
    assert outputs == {"exit-code": "1", "sarif-file": "dockfix.sarif", "changed": "false"}
    log = json.loads((repository / "dockfix.sarif").read_text())
    jsonschema.validate(log, json.loads(SARIF_SCHEMA.read_text()))
    rules = {result["ruleId"] for result in log["runs"][0]["results"]}
    assert {"DF005", "DF009"} <= rules
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in log["runs"][0]["results"]}
    # Relative to the checkout, as code scanning wants; the .dockerignore to create is not there
    # yet, so its finding is on the Dockerfile.
    assert uris == {"Dockerfile"}
    assert git(repository, "status", "--porcelain") == "?? dockfix.sarif\n"


@needs_git
def test_check_of_a_finished_repository_exits_zero(tmp_path):
    repository = make_repository(tmp_path / "checkout", ARTICLE)
    subprocess.run(
        [sys.executable, "-m", "dockfix", "--write", "--unsafe-fixes", "--quiet", *OFFLINE.split()],
        cwd=repository,
        env=environment(tmp_path),
        timeout=300,
    )
    done, outputs = run_action(repository, tmp_path, mode="check", args=f"{OFFLINE} --unsafe-fixes")
    assert done.returncode == 0, done.stderr
    assert outputs["exit-code"] == "0"


@needs_git
def test_write_leaves_the_fixes_and_a_pull_request_body_for_the_next_step(tmp_path):
    repository = make_repository(tmp_path / "checkout", ARTICLE)
    head = git(repository, "rev-parse", "HEAD")
    done, outputs = run_action(repository, tmp_path, mode="write", args=OFFLINE)
    assert done.returncode == 0, done.stderr
    assert outputs["exit-code"] == "0" and outputs["changed"] == "true"
    assert git(repository, "rev-parse", "HEAD") == head  # nothing committed: that is the next step's
    assert sorted(git(repository, "status", "--porcelain").splitlines()) == [" M Dockerfile", "?? .dockerignore"]
    body = Path(outputs["pr-body-file"]).read_text()
    assert body.startswith("dockfix applied 2 fixes to 2 files")
    assert "**DF005** exec-form-init" in body
    # A second run finds nothing more to do.
    git(repository, "add", "--all")
    git(repository, "commit", "--quiet", "--message", "fixes")
    done, outputs = run_action(repository, tmp_path, mode="write", args=OFFLINE)
    assert done.returncode == 0 and outputs["changed"] == "false"


@needs_git
def test_write_of_the_paths_given_only(tmp_path):
    files = {**{f"api/{name}": content for name, content in ARTICLE.items()}, "web/Dockerfile": 'FROM node\nCMD "x"\n'}
    repository = make_repository(tmp_path / "checkout", files)
    done, _outputs = run_action(repository, tmp_path, mode="write", paths="api", args=OFFLINE)
    assert done.returncode == 0, done.stderr
    assert "web/Dockerfile" not in git(repository, "status", "--porcelain")
    assert " M api/Dockerfile" in git(repository, "status", "--porcelain").splitlines()


@needs_git
@pytest.mark.parametrize("mode", ["check", "write"])
def test_a_dockerfile_that_cannot_be_processed_fails_the_step(tmp_path, mode):
    repository = make_repository(tmp_path / "checkout", {"Dockerfile": "FROM node:22\nFORM node\n"})
    done, outputs = run_action(repository, tmp_path, mode=mode, args=OFFLINE)
    assert done.returncode == 2
    assert outputs["exit-code"] == "2" and outputs["changed"] == "false"
    assert "unknown instruction: FORM" in done.stderr
    assert "Traceback" not in done.stderr


def test_an_unknown_mode_is_refused(tmp_path):
    done, _outputs = run_action(tmp_path, tmp_path, mode="fix")
    assert done.returncode == 2
    assert done.stderr.strip() == "dockfix: error: mode must be check or write, not fix"


@pytest.mark.skipif(
    os.environ.get("DOCKFIX_NETWORK_TESTS") != "1",
    reason="the install step installs dockfix's dependencies from the package index: set DOCKFIX_NETWORK_TESTS=1",
)
def test_install_makes_an_environment_with_dockfix(tmp_path):
    env = {**os.environ, "RUNNER_TEMP": str(tmp_path), "DOCKFIX_INSTALL_PYTHON": sys.executable}
    done = subprocess.run(["bash", str(SCRIPT), "install"], env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().startswith("dockfix ")
    assert (tmp_path / "dockfix-venv" / "bin" / "python").exists()
