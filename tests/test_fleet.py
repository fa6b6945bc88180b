"""The fleet script, `python -m dockfix.fleet`, run as multi-gitter runs a script: in each cloned
repository (the current folder, on multi-gitter's branch), with REPOSITORY set, judged by its exit
code (zero: commit and open a pull request if anything changed; anything else: skip the repository).
With --commit the script commits itself, as `multi-gitter run --manual-commit` expects, and the
commit's message is the pull request's title and body."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from dockfix.fleet import DEFAULT_TITLE, pull_request_body
from support.gitrepos import GIT, TODAY, environment, files_of, git, make_repository
from support.paths import FIXTURES

pytestmark = pytest.mark.skipif(GIT is None, reason="git is not installed")

ARTICLE = files_of(FIXTURES / "article")
BRANCH = "dockfix/production-dockerfiles"
OFFLINE = ("--offline", "--today", TODAY)


def fleet(repository: Path, *args: str, name: str = "acme/app") -> subprocess.CompletedProcess:
    """The script as multi-gitter runs it: in the clone, with REPOSITORY set."""
    return subprocess.run(
        [sys.executable, "-m", "dockfix.fleet", *args],
        cwd=repository,
        env=environment(repository.parent, REPOSITORY=name),
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=300,
    )


def commits(repository: Path) -> list[str]:
    return git(repository, "log", "--format=%H").split()


def write(repository: Path, *args: str) -> None:
    """`dockfix --write` itself, the reference the script's changes must match."""
    subprocess.run(
        [sys.executable, "-m", "dockfix", "--write", "--quiet", *args],
        cwd=repository,
        env=environment(repository.parent),
        capture_output=True,
        timeout=300,
    )


def test_a_repository_with_fixes_due_gets_one_commit_whose_message_is_the_pull_request(tmp_path):
    repository = make_repository(tmp_path / "app", ARTICLE, branch=BRANCH)
    before = commits(repository)
    done = fleet(repository, "--commit", *OFFLINE)
    assert done.returncode == 0, done.stderr
    after = commits(repository)
    assert after[1:] == before and len(after) == 2
    assert git(repository, "status", "--porcelain") == ""  # everything it wrote is committed
    changed = git(repository, "show", "--name-only", "--format=", "HEAD").split()
    assert sorted(changed) == [".dockerignore", "Dockerfile"]
    title, _, body = git(repository, "log", "-1", "--format=%B").partition("\n\n")
    assert title == DEFAULT_TITLE
    assert "**DF005** exec-form-init (line 5)" in body
    assert "### Held back: unsafe fixes" in body and "**DF004** non-root-user" in body
    assert body.strip() in done.stdout  # the log (and a dry run) shows the body
    assert "acme/app: 2 files changed" in done.stderr
    # The commit holds exactly what `dockfix --write` writes.
    reference = make_repository(tmp_path / "reference", ARTICLE)
    write(reference, *OFFLINE)
    for name in changed:
        assert (repository / name).read_bytes() == (reference / name).read_bytes()


def test_a_repository_with_nothing_to_fix_is_left_alone(tmp_path):
    fixed = make_repository(tmp_path / "first", ARTICLE)
    write(fixed, *OFFLINE)
    repository = make_repository(tmp_path / "app", files_of(fixed), branch=BRANCH)
    before = commits(repository)
    done = fleet(repository, "--commit", *OFFLINE)
    assert done.returncode == 0, done.stderr
    assert commits(repository) == before  # no commit: multi-gitter then opens no pull request
    assert git(repository, "status", "--porcelain") == ""
    assert "acme/app: 0 files changed" in done.stderr


def test_a_dockerfile_that_cannot_be_processed_skips_the_repository(tmp_path):
    files = {**ARTICLE, "worker/Dockerfile": "FROM node:22\nFORM node\n"}
    repository = make_repository(tmp_path / "app", files, branch=BRANCH)
    before = commits(repository)
    done = fleet(repository, "--commit", *OFFLINE)
    assert done.returncode == 2
    assert commits(repository) == before
    assert "acme/app: worker/Dockerfile: unknown instruction: FORM" in done.stderr
    assert "repository skipped" in done.stderr
    assert "Traceback" not in done.stderr


def test_allow_errors_keeps_the_other_fixes_and_names_the_failure(tmp_path):
    files = {**ARTICLE, "worker/Dockerfile": "FROM node:22\nFORM node\n"}
    repository = make_repository(tmp_path / "app", files, branch=BRANCH)
    done = fleet(repository, "--commit", "--allow-errors", *OFFLINE)
    assert done.returncode == 0, done.stderr
    body = git(repository, "log", "-1", "--format=%b")
    assert "### Not processed" in body
    assert "- `worker/Dockerfile` (line 2): unknown instruction: FORM" in body
    assert (repository / "worker/Dockerfile").read_text() == "FROM node:22\nFORM node\n"


def test_the_organisations_configuration_wins_for_the_keys_it_sets(tmp_path):
    organisation = tmp_path / "org.toml"
    organisation.write_text('ignore = ["DF009"]\n')
    # The repository's own file ignores DF005 and turns unsafe fixes on; the organisation's sets
    # only `ignore`, so DF005 is fixed, DF009 is not, and unsafe fixes are on.
    own = '[tool.dockfix]\nignore = ["DF005"]\nunsafe-fixes = true\n'
    repository = make_repository(tmp_path / "app", {**ARTICLE, "pyproject.toml": own}, branch=BRANCH)
    done = fleet(repository, "--config", str(organisation), "--commit", *OFFLINE)
    assert done.returncode == 0, done.stderr
    changed = git(repository, "show", "--name-only", "--format=", "HEAD").split()
    assert ".dockerignore" not in changed and "Dockerfile" in changed
    body = git(repository, "log", "-1", "--format=%b")
    assert "**DF005**" in body and "**DF009**" not in body
    assert "**DF004** non-root-user" in body and "### Held back" not in body  # unsafe ones applied


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('exclude = ["legacy/**"]\n', "exclude is relative to a repository"),
        ("select = [\n", "not valid TOML"),
        ('ignore = ["DF999"]\n', "unknown rule code or name: DF999"),
    ],
)
def test_a_bad_organisation_configuration_is_one_line_and_skips(tmp_path, content, message):
    organisation = tmp_path / "org.toml"
    organisation.write_text(content)
    repository = make_repository(tmp_path / "app", ARTICLE, branch=BRANCH)
    done = fleet(repository, "--config", str(organisation), "--commit", *OFFLINE)
    assert done.returncode == 2
    assert message in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert git(repository, "status", "--porcelain") == ""


def test_without_commit_the_changes_stay_in_the_working_tree_with_a_body_file(tmp_path):
    """As multi-gitter without --manual-commit, or a CI job that opens the pull request itself."""
    repository = make_repository(tmp_path / "app", ARTICLE, branch=BRANCH)
    before = commits(repository)
    body_file = tmp_path / "body.md"
    done = fleet(repository, "--body-file", str(body_file), *OFFLINE)
    assert done.returncode == 0, done.stderr
    assert commits(repository) == before
    assert sorted(git(repository, "status", "--porcelain").splitlines()) == [" M Dockerfile", "?? .dockerignore"]
    assert "**DF005** exec-form-init" in body_file.read_text()


def test_the_body_is_made_from_the_json_report(tmp_path):
    repository = make_repository(tmp_path / "app", ARTICLE)
    done = subprocess.run(
        [sys.executable, "-m", "dockfix", "--write", "--output-format", "json", *OFFLINE],
        cwd=repository,
        env=environment(tmp_path),
        capture_output=True,
        text=True,
        timeout=300,
    )
    records = [json.loads(line) for line in done.stdout.splitlines()]
    body = pull_request_body(records)
    assert body.startswith("dockfix applied 2 fixes to 2 files;")
    for finding in records[0]["applied"]:
        assert f"**{finding['code']}** {finding['rule']}" in body
    held_back = body.split("### Held back: unsafe fixes", 1)[1]
    assert held_back.count("\n- `Dockerfile`: ") == len(records[0]["withheld"])


def test_dockfix_fleet_is_the_same_command(tmp_path):
    repository = make_repository(tmp_path / "app", ARTICLE, branch=BRANCH)
    done = subprocess.run(
        [sys.executable, "-m", "dockfix", "fleet", "--commit", *OFFLINE],
        cwd=repository,
        env=environment(repository.parent, REPOSITORY="acme/app"),
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "acme/app: 2 files changed" in done.stderr
    assert len(commits(repository)) == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--chek",), "No such option: --chek"),
        (("--diff",), "--write cannot be combined with --diff or --check"),
        (("--select", "DF999"), "--select: unknown rule code or name: DF999"),
    ],
)
def test_dockfix_arguments_it_cannot_use_are_one_line_and_skip(tmp_path, args, message):
    repository = make_repository(tmp_path / "app", ARTICLE, branch=BRANCH)
    done = fleet(repository, *args, *OFFLINE)
    assert done.returncode == 2
    assert done.stderr.startswith("dockfix.fleet: error: acme/app: ") and message in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert git(repository, "status", "--porcelain") == ""


def test_the_fleet_command_has_its_own_help():
    done = subprocess.run(
        [sys.executable, "-m", "dockfix.fleet", "--help"], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0
    assert "Usage: dockfix fleet [OPTIONS]" in done.stdout
    for flag in ("--config", "--commit", "--title", "--body-file", "--allow-errors"):
        assert flag in done.stdout
