"""The command line: modes, flags, exit codes, bad input, and `--diff` being exactly `--write`.

Most tests run the real command in-process (typer's CliRunner) with the sample rules of
support/sample_rules.py in place of the real rule table, so the expected output does not depend
on how the real rules evolve; a few run `python -m dockfix` with the real rules end to end.
"""

from __future__ import annotations

import os
import pickle
import shutil
import stat
import subprocess
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dockfix import __version__
from dockfix.cli import app
from dockfix.context import Options
from dockfix.project.fsutil import TEMP_SUFFIX
from dockfix.run import Settings, process_paths
from dockfix.sources import PACKAGED_DATA
from support import sample_rules

NAIVE = b'FROM node\nMAINTAINER me\nRUN npm install\nCMD ["node", "server.js"]\n'
CLEAN = b'FROM node\nRUN npm ci\nUSER node\nCMD ["node", "server.js"]\n'
PATCH = shutil.which("patch")
GIT = shutil.which("git")


@pytest.fixture(autouse=True)
def sample_rule_table(monkeypatch):
    sample_rules.install(monkeypatch)


@pytest.fixture
def project(tmp_path, monkeypatch):
    """An empty project folder that is also the current folder."""
    folder = tmp_path / "project"
    folder.mkdir()
    monkeypatch.chdir(folder)
    return folder


def dockfix(*args: str, env: dict[str, str] | None = None):
    result = CliRunner().invoke(app, list(args), env=env)
    # A traceback must never be what ends a run: every exit is a deliberate exit code.
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def tree(folder: Path) -> dict[str, bytes]:
    """Every regular file below `folder` (relative path -> bytes)."""
    return {
        str(path.relative_to(folder)): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file() and not path.is_symlink()
    }


def leftovers(folder: Path) -> list[Path]:
    return [path for path in folder.rglob("*") if path.name.endswith(TEMP_SUFFIX)]


# -- information flags --------------------------------------------------------------------------


def test_version():
    result = dockfix("--version")
    assert result.exit_code == 0
    assert result.stdout == f"dockfix {__version__}\n"


def test_list_rules_names_every_rule_with_summary_and_safety():
    result = dockfix("--list-rules")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert [line.split()[0] for line in lines] == ["DF901", "DF902", "DF903", "DF904", "DF905", "DF906"]
    assert lines[0].split()[1] == "sample-npm-ci"
    assert "Use npm ci" in lines[0] and "[fix: safe]" in lines[0]


@pytest.mark.parametrize("code", ["DF901", "df901", "sample-npm-ci"])
def test_explain_prints_the_rule_docstring_and_the_file_that_declares_it(code):
    result = dockfix("--explain", code)
    assert result.exit_code == 0
    assert result.stdout == (
        "DF901 sample-npm-ci: `npm install` -> `npm ci`, and `node_modules` into `.dockerignore` (safe).\n"
        f"\nSource: {sample_rules.__file__}\n"
    )


def test_explain_unknown_code_is_a_usage_error():
    result = dockfix("--explain", "DF999")
    assert result.exit_code == 2
    assert result.stderr == "dockfix: error: --explain: unknown rule code or name: DF999\n"


def test_help_lists_the_flags_but_not_the_hidden_one():
    result = dockfix("--help")
    assert result.exit_code == 0
    for flag in (
        "--diff",
        "--write",
        "--check",
        "--unsafe-fixes",
        "--select",
        "--ignore",
        "--offline",
        "--context",
        "--list-rules",
        "--explain",
        "--version",
        "--node-version",
        "--registry-mirror",
    ):
        assert flag in result.stdout
    assert "--today" not in result.stdout


# -- the default mode: findings -----------------------------------------------------------------


def test_report_lists_findings_with_fix_markers_and_a_summary(project):
    (project / "Dockerfile").write_bytes(NAIVE)
    result = dockfix()
    assert result.stdout == (
        "Dockerfile:2: DF903 MAINTAINER is deprecated\n"
        "Dockerfile:3: DF901 [*] use npm ci\n"
        "Dockerfile:4: DF902 [unsafe fix] runs as root\n"
    )
    assert result.stderr == (
        "Found 3 problems in 1 file (1 fixable with --write). 1 hidden fix can be enabled with --unsafe-fixes.\n"
    )
    assert result.exit_code == 1
    assert (project / "Dockerfile").read_bytes() == NAIVE
    assert not (project / ".dockerignore").exists()


def test_report_with_unsafe_fixes_marks_the_unsafe_fix_as_applicable(project):
    (project / "Dockerfile").write_bytes(NAIVE)
    result = dockfix("--unsafe-fixes")
    assert "Dockerfile:4: DF902 [*] runs as root\n" in result.stdout
    assert "hidden" not in result.stderr
    assert result.exit_code == 1


def test_findings_without_a_fix_do_not_make_exit_code_1(project):
    (project / "Dockerfile").write_bytes(b'FROM node\nMAINTAINER me\nUSER node\nCMD ["node", "s.js"]\n')
    (project / ".dockerignore").write_bytes(b"node_modules\n")
    result = dockfix()
    assert result.stdout == "Dockerfile:2: DF903 MAINTAINER is deprecated\n"
    assert result.exit_code == 0


def test_clean_file_exits_0(project):
    (project / "Dockerfile").write_bytes(CLEAN)
    result = dockfix()
    assert (result.exit_code, result.stdout) == (0, "")
    assert result.stderr == "No problems found in 1 file.\n"


def test_only_an_unsafe_fix_still_means_changes_needed(project):
    (project / "Dockerfile").write_bytes(b'FROM node\nCMD ["node", "s.js"]\n')
    assert dockfix().exit_code == 1
    assert dockfix("--check").exit_code == 1


# -- --select / --ignore ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "codes"),
    [
        (["--select", "DF901"], ["DF901"]),
        (["--select", "DF901,DF903"], ["DF901", "DF903"]),
        (["--select", "DF901", "--select", "df903"], ["DF901", "DF903"]),
        (["--select", "sample-user"], ["DF902"]),
        (["--ignore", "DF901,DF902"], ["DF903"]),
        (["--select", "DF90", "--ignore", "DF903"], ["DF901", "DF902"]),
    ],
)
def test_select_and_ignore(project, args, codes):
    (project / "Dockerfile").write_bytes(NAIVE)
    result = dockfix(*args)
    assert sorted(line.split()[1] for line in result.stdout.splitlines()) == codes


@pytest.mark.parametrize("flag", ["--select", "--ignore"])
def test_unknown_rule_code_is_a_usage_error(project, flag):
    (project / "Dockerfile").write_bytes(NAIVE)
    result = dockfix(flag, "DF901,XY1")
    assert result.exit_code == 2
    assert result.stderr == f"dockfix: error: {flag}: unknown rule code or name: XY1\n"


# -- --write --------------------------------------------------------------------------------------


def test_write_applies_safe_fixes_and_creates_new_files(project):
    (project / "Dockerfile").write_bytes(NAIVE)
    result = dockfix("--write")
    assert (project / "Dockerfile").read_bytes() == NAIVE.replace(b"npm install", b"npm ci")
    assert (project / ".dockerignore").read_bytes() == b"node_modules\n"
    # The unsafe fix is held back, so the file is not finished: exit 1, and it says why.
    assert result.exit_code == 1
    assert "Dockerfile:4: DF902 [unsafe fix] runs as root\n" in result.stdout
    assert "1 hidden fix can be enabled with --unsafe-fixes" in result.stderr


def test_write_with_unsafe_fixes_finishes_the_file_and_a_second_run_changes_nothing(project):
    (project / "Dockerfile").write_bytes(NAIVE)
    first = dockfix("--write", "--unsafe-fixes")
    assert first.exit_code == 0
    assert first.stdout == "Dockerfile:2: DF903 MAINTAINER is deprecated\n"
    assert first.stderr == "Fixed 2 problems, 2 files written. 1 remaining (no automatic fix).\n"
    after = tree(project)
    second = dockfix("--write", "--unsafe-fixes")
    assert second.exit_code == 0
    assert tree(project) == after
    assert dockfix("--check", "--unsafe-fixes").exit_code == 0


def test_write_touches_only_changed_files(project):
    (project / "Dockerfile").write_bytes(NAIVE)
    (project / "clean.Dockerfile").write_bytes(CLEAN)
    (project / ".dockerignore").write_bytes(b"node_modules\n")
    before = {name: os.stat(project / name) for name in ("clean.Dockerfile", ".dockerignore")}
    assert dockfix("--write", "--unsafe-fixes").exit_code == 0
    for name, old in before.items():
        new = os.stat(project / name)
        assert (new.st_ino, new.st_mtime_ns) == (old.st_ino, old.st_mtime_ns), name
    assert b"npm ci" in (project / "Dockerfile").read_bytes()


def test_write_keeps_the_file_mode(project):
    dockerfile = project / "Dockerfile"
    dockerfile.write_bytes(NAIVE)
    dockerfile.chmod(0o750)
    assert dockfix("--write").exit_code == 1
    assert stat.S_IMODE(dockerfile.stat().st_mode) == 0o750
    assert b"npm ci" in dockerfile.read_bytes()
    assert leftovers(project) == []


def test_new_file_gets_0644_under_the_umask(project):
    (project / "Dockerfile").write_bytes(NAIVE)
    old_mask = os.umask(0o027)
    try:
        dockfix("--write")
    finally:
        os.umask(old_mask)
    assert stat.S_IMODE((project / ".dockerignore").stat().st_mode) == 0o640


def test_crlf_bom_and_missing_final_newline_survive_write_byte_for_byte(project):
    source = b'\xef\xbb\xbfFROM node\r\n# caf\xe9 in Latin-1\r\nRUN npm install && echo ok\r\nCMD ["node", "s.js"]'
    (project / "Dockerfile").write_bytes(source)
    (project / ".dockerignore").write_bytes(b"*.log")  # no final newline either
    assert dockfix("--write", "--unsafe-fixes").exit_code == 0
    assert (project / "Dockerfile").read_bytes() == (
        b'\xef\xbb\xbfFROM node\r\n# caf\xe9 in Latin-1\r\nRUN npm ci && echo ok\r\nUSER node\r\nCMD ["node", "s.js"]'
    )
    assert (project / ".dockerignore").read_bytes() == b"*.log\nnode_modules\n"


def test_write_goes_through_a_symlink_to_its_target(project):
    real = project / "docker" / "Dockerfile.real"
    real.parent.mkdir()
    real.write_bytes(NAIVE)
    (project / "Dockerfile").symlink_to(real)
    dockfix("--write", "Dockerfile")
    assert (project / "Dockerfile").is_symlink()
    assert b"npm ci" in real.read_bytes()


def test_two_dockerfiles_sharing_a_dockerignore_add_to_it_once(project):
    (project / "Dockerfile").write_bytes(NAIVE)
    (project / "Dockerfile.dev").write_bytes(NAIVE)
    (project / ".dockerignore").write_bytes(b"*.log\n")
    result = dockfix("--write")
    assert result.exit_code == 1
    assert result.stderr.splitlines()[-1].startswith("Fixed 2 problems, 3 files written.")
    assert (project / ".dockerignore").read_bytes() == b"*.log\nnode_modules\n"
    assert b"npm ci" in (project / "Dockerfile.dev").read_bytes()
    assert b"npm ci" in (project / "Dockerfile").read_bytes()


# -- --check and --diff -------------------------------------------------------------------------


def test_check_prints_a_summary_only_and_writes_nothing(project):
    (project / "Dockerfile").write_bytes(NAIVE)
    result = dockfix("--check")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == (
        "would fix Dockerfile\nwould fix .dockerignore\n"
        "2 files would be changed (1 fix). 1 hidden fix can be enabled with --unsafe-fixes.\n"
    )
    assert tree(project) == {"Dockerfile": NAIVE}


def test_check_on_a_clean_tree_exits_0(project):
    (project / "Dockerfile").write_bytes(CLEAN)
    (project / ".dockerignore").write_bytes(b"node_modules\n")
    result = dockfix("--check")
    assert (result.exit_code, result.stderr) == (0, "No changes needed.\n")


def test_diff_output_and_exit_code(project):
    (project / "Dockerfile").write_bytes(NAIVE)
    result = dockfix("--diff")
    assert result.exit_code == 1
    assert result.stdout == (
        "--- a/Dockerfile\n+++ b/Dockerfile\n@@ -1,4 +1,4 @@\n FROM node\n MAINTAINER me\n"
        '-RUN npm install\n+RUN npm ci\n CMD ["node", "server.js"]\n'
        "--- /dev/null\n+++ b/.dockerignore\n@@ -0,0 +1 @@\n+node_modules\n"
    )
    assert tree(project) == {"Dockerfile": NAIVE}


def test_diff_and_write_cannot_be_combined(project):
    (project / "Dockerfile").write_bytes(NAIVE)
    result = dockfix("--diff", "--write")
    assert result.exit_code == 2
    assert result.stderr == "dockfix: error: --write cannot be combined with --diff or --check\n"
    assert tree(project) == {"Dockerfile": NAIVE}


def test_check_with_diff_prints_the_diff(project):
    (project / "Dockerfile").write_bytes(NAIVE)
    result = dockfix("--check", "--diff")
    assert result.exit_code == 1
    assert result.stdout.startswith("--- a/Dockerfile\n")


SCENARIOS = {
    "plain": {"Dockerfile": NAIVE},
    "crlf-bom-no-final-newline": {
        "Dockerfile": b'\xef\xbb\xbfFROM node\r\nRUN npm install\r\nCMD ["node", "s.js"]',
        ".dockerignore": b"dist\r\n*.log",
    },
    "latin1-and-lone-cr": {"Dockerfile": b"FROM node\n# \xe9t\xe9\rx\nRUN echo \xff && npm install\nCMD node s.js\n"},
    "two-dockerfiles-shared-dockerignore": {
        "Dockerfile": NAIVE,
        "sub/app.Dockerfile": NAIVE,
        "Dockerfile.dev": NAIVE,
        ".dockerignore": b"*.log\n",
    },
    "long-file-two-hunks": {
        "Dockerfile": b"FROM node\nRUN npm install\n"
        + b"".join(b"LABEL n%d=x\n" % i for i in range(20))
        + b"CMD node s.js\n",
    },
    "mixed-good-and-bad": {"Dockerfile": NAIVE, "bad/Dockerfile": b"FROM node\nRUN npm install\nFOO bar\n"},
}


def _lay(folder: Path, files: dict[str, bytes]) -> None:
    for name, data in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)


def _apply_patch(tool: str, folder: Path, patch: bytes) -> None:
    if tool == "patch":
        command = [PATCH, "-p1", "--binary", "--silent", "--force"]
    else:
        command = [GIT, "apply", "--whitespace=nowarn", "--unsafe-paths", "-"]
    subprocess.run(command, cwd=folder, input=patch, check=True, capture_output=True)


@pytest.mark.parametrize(
    "tool",
    [
        pytest.param("patch", marks=pytest.mark.skipif(not PATCH, reason="no patch")),
        pytest.param("git", marks=pytest.mark.skipif(not GIT, reason="no git")),
    ],
)
@pytest.mark.parametrize("unsafe", [False, True], ids=["safe", "unsafe"])
@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_diff_is_exactly_what_write_writes(tmp_path, monkeypatch, scenario, unsafe, tool):
    flags = ["--unsafe-fixes"] if unsafe else []
    written, patched = tmp_path / "written", tmp_path / "patched"
    for folder in (written, patched):
        folder.mkdir()
        _lay(folder, SCENARIOS[scenario])

    monkeypatch.chdir(patched)
    diff = dockfix("--diff", *flags)
    assert tree(patched) == SCENARIOS[scenario]  # --diff writes nothing
    monkeypatch.chdir(written)
    write = dockfix("--write", *flags)
    has_error = scenario == "mixed-good-and-bad"
    assert diff.exit_code == (2 if has_error else 1)

    _apply_patch(tool, patched, diff.stdout_bytes)
    assert tree(patched) == tree(written)
    assert tree(written) != SCENARIOS[scenario]
    # Every scenario has a CMD, so without --unsafe-fixes DF902 is held back: not finished, exit 1.
    assert write.exit_code == (2 if has_error else 0 if unsafe else 1)


# -- bad input ------------------------------------------------------------------------------------


BAD_FILES = {
    "binary": (b"FROM node\n\x00\x01\x02", "Dockerfile: error: binary file (contains NUL bytes), not a Dockerfile"),
    "heredoc": (b"FROM node\nRUN <<EOF\necho hi\n", "Dockerfile:2: error: unterminated heredoc 'EOF'"),
    "rejected": (b"FROM node\nRUN npm install\n&& echo hi\n", "Dockerfile:3: error: unknown instruction: &&"),
    "no-instructions": (b"# only a comment\n", "Dockerfile: error: file with no instructions"),
    "crashing-rule": (b"FROM node\n# CRASH-ME\nRUN npm install\n", "Dockerfile: error: internal error in rule DF904"),
    "out-of-range-edit": (
        b"FROM node\n# BAD-EDIT\nRUN npm install\n",
        "Dockerfile: error: internal error in rule DF906: edit",
    ),
}


@pytest.mark.parametrize("kind", sorted(BAD_FILES))
def test_bad_file_is_one_line_exit_2_and_the_good_file_is_still_written(project, kind):
    content, expected = BAD_FILES[kind]
    (project / "bad").mkdir()
    (project / "bad" / "Dockerfile").write_bytes(content)
    (project / "good").mkdir()
    (project / "good" / "Dockerfile").write_bytes(NAIVE)
    result = dockfix("--write", "bad", "good")
    assert result.exit_code == 2
    error_lines = [line for line in result.stderr.splitlines() if ": error: " in line]
    assert len(error_lines) == 1
    assert error_lines[0].startswith("bad/" + expected)
    assert "Traceback" not in result.output
    assert (project / "bad" / "Dockerfile").read_bytes() == content
    assert not (project / "bad" / ".dockerignore").exists()
    assert b"npm ci" in (project / "good" / "Dockerfile").read_bytes()
    assert (project / "good" / ".dockerignore").exists()


def test_a_file_over_1_mib_is_refused_without_reading_it(project):
    big = project / "Dockerfile"
    with open(big, "wb") as handle:
        handle.truncate(3 * 1024 * 1024 * 1024)  # sparse: reading it whole would take a while
    result = dockfix("Dockerfile")
    assert result.exit_code == 2
    assert result.stderr.startswith("Dockerfile: error: too large for a Dockerfile (3221225472 bytes")


def test_non_utf8_bytes_are_kept_not_refused(project):
    (project / "Dockerfile").write_bytes(b'FROM node\nLABEL author="Jos\xe9"\nRUN npm install\n')
    assert dockfix("--write").exit_code == 0
    assert (project / "Dockerfile").read_bytes() == b'FROM node\nLABEL author="Jos\xe9"\nRUN npm ci\n'


def test_missing_path_is_reported_and_the_other_paths_processed(project):
    (project / "Dockerfile").write_bytes(NAIVE)
    result = dockfix("--write", "nope", "Dockerfile", "also/missing")
    assert result.exit_code == 2
    assert result.stderr.splitlines()[:2] == [
        "dockfix: error: nope: no such file or directory",
        "dockfix: error: also/missing: no such file or directory",
    ]
    assert b"npm ci" in (project / "Dockerfile").read_bytes()


def test_a_folder_without_dockerfiles_is_a_warning_not_an_error(project):
    (project / "empty").mkdir()
    (project / "app").mkdir()
    (project / "app" / "Dockerfile").write_bytes(CLEAN)
    (project / "app" / ".dockerignore").write_bytes(b"node_modules\n")
    result = dockfix("empty", "app")
    assert result.exit_code == 0
    assert "dockfix: warning: empty: no Dockerfile found\n" in result.stderr


def test_default_path_is_the_current_folder_searched_recursively(project):
    for name in ("Dockerfile", "services/api/Dockerfile.prod", "node_modules/pkg/Dockerfile", ".git/Dockerfile"):
        _lay(project, {name: NAIVE})
    result = dockfix("--select", "DF901")
    assert sorted({line.split(":")[0] for line in result.stdout.splitlines()}) == [
        "Dockerfile",
        "services/api/Dockerfile.prod",
    ]


def test_paths_outside_the_current_folder_are_shown_absolute(tmp_path, monkeypatch):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "Dockerfile").write_bytes(NAIVE)
    here = tmp_path / "here"
    here.mkdir()
    monkeypatch.chdir(here)
    result = dockfix("--diff", str(elsewhere))
    absolute = str(elsewhere / "Dockerfile")
    assert result.stdout.startswith(f"--- {absolute}\n+++ {absolute}\n")


# -- options reaching the rules -----------------------------------------------------------------


def _shown_options(result) -> str:
    return next(line for line in result.stdout.splitlines() if "DF905" in line).split("DF905 ", 1)[1]


def test_options_reach_the_rules(project):
    (project / "Dockerfile").write_bytes(b"# show-options\nFROM node\n")
    (project / "ctx").mkdir()
    result = dockfix(
        "--offline",
        "--unsafe-fixes",
        "--node-version",
        "v22.11.0",
        "--registry-mirror",
        "https://mirror.example",
        "--today",
        "2025-03-04",
        "--context",
        "ctx",
    )
    assert _shown_options(result) == (
        "unsafe_fixes=True offline=True node_version=22.11.0 registry_mirror=https://mirror.example "
        "today=2025-03-04 context=ctx"
    )


def test_defaults_and_the_registry_mirror_environment_variable(project):
    (project / "Dockerfile").write_bytes(b"# show-options\nFROM node\n")
    result = dockfix(env={"DOCKFIX_REGISTRY_MIRROR": "https://env.example"})
    shown = _shown_options(result)
    assert shown.startswith(
        "unsafe_fixes=False offline=False node_version=None registry_mirror=https://env.example today="
    )
    assert shown.endswith("context=project")


def test_context_decides_where_other_files_go(project):
    (project / "docker").mkdir()
    (project / "docker" / "Dockerfile").write_bytes(NAIVE)
    dockfix("--write", "--context", ".", "docker/Dockerfile")
    assert (project / ".dockerignore").read_bytes() == b"node_modules\n"
    assert not (project / "docker" / ".dockerignore").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--today", "04/03/2025"], "dockfix: error: --today: not a date in the form YYYY-MM-DD: 04/03/2025"),
        (
            ["--node-version", "latest"],
            "dockfix: error: --node-version: not a Node.js version like 22 or 22.11.0, nor lts-oldest or lts-newest: latest",
        ),
        (["--context", "nowhere"], "dockfix: error: --context: not a folder: nowhere"),
    ],
)
def test_bad_option_values_are_usage_errors(project, args, message):
    (project / "Dockerfile").write_bytes(NAIVE)
    result = dockfix(*args)
    assert (result.exit_code, result.stderr) == (2, message + "\n")


def test_unknown_flag_is_a_usage_error(project):
    result = dockfix("--fix-everything")
    assert result.exit_code == 2
    assert "No such option: --fix-everything" in result.stderr


# -- permissions: run as an unprivileged user, since root may write anywhere ---------------------


@pytest.fixture
def open_tmp(monkeypatch):
    """A current folder an unprivileged user can enter (pytest's tmp_path is private to its owner)."""
    folder = Path(tempfile.mkdtemp(prefix="dockfix-cli-"))
    folder.chmod(0o755)
    monkeypatch.chdir(folder)
    yield folder
    for path in [folder, *folder.rglob("*")]:
        if path.is_dir() and not path.is_symlink():
            path.chmod(0o755)
    shutil.rmtree(folder)


def _readable_by_others(path: Path) -> bool:
    """Whether a user who owns none of `path` and its folders may read it (as `nobody` does)."""
    folders_open = all(folder.stat().st_mode & stat.S_IXOTH for folder in path.parents)
    return folders_open and bool(path.stat().st_mode & stat.S_IROTH)


@contextmanager
def unprivileged(folder: Path):
    """Run the body as `nobody` when the tests run as root (root may read and write anything).

    Only the effective ids change, so the test process can take root back afterwards; the files
    below `folder` are given to `nobody` first so that their own modes decide.
    """
    if os.geteuid() != 0:
        yield
        return
    if not _readable_by_others(PACKAGED_DATA / "docker-node" / "versions.json"):
        pytest.skip("dockfix itself lies in a folder only root may enter, so a run as `nobody` cannot read its data")
    for path in [folder, *folder.rglob("*")]:
        os.chown(path, 65534, 65534, follow_symlinks=False)
    # The interpreter may live where `nobody` cannot read, so import now whatever a run imports late.
    with tempfile.TemporaryDirectory() as warm:
        for name in ("a", "b"):  # two repositories: the run takes its process pool, imported late too
            (Path(warm) / name).mkdir()
            (Path(warm) / name / "Dockerfile").write_bytes(NAIVE)
        dockfix("--diff", "--jobs", "2", warm)
    os.setegid(65534)
    os.seteuid(65534)
    try:
        yield
    finally:
        os.seteuid(0)
        os.setegid(0)


def test_read_only_folder_is_reported_cleanly_and_nothing_is_left_behind(open_tmp):
    good, locked = open_tmp / "good", open_tmp / "locked"
    for folder in (good, locked):
        folder.mkdir()
        (folder / "Dockerfile").write_bytes(NAIVE)
    with unprivileged(open_tmp):
        locked.chmod(0o555)
        result = dockfix("--write", "locked", "good")
    assert result.exit_code == 2, result.stderr
    assert "locked/Dockerfile: error: cannot write: Permission denied\n" in result.stderr
    assert "Traceback" not in result.stderr
    assert (locked / "Dockerfile").read_bytes() == NAIVE
    assert b"npm ci" in (good / "Dockerfile").read_bytes()
    assert leftovers(open_tmp) == []


def test_unreadable_file_is_reported_cleanly(open_tmp):
    (open_tmp / "Dockerfile").write_bytes(NAIVE)
    with unprivileged(open_tmp):
        (open_tmp / "Dockerfile").chmod(0o000)
        result = dockfix("Dockerfile")
    assert result.exit_code == 2
    assert result.stderr.splitlines()[0] == "Dockerfile: error: cannot read: Permission denied"


def test_unreadable_folder_is_an_error_and_the_rest_is_searched(open_tmp):
    _lay(open_tmp, {"secret/Dockerfile": NAIVE, "app/Dockerfile": NAIVE})
    with unprivileged(open_tmp):
        (open_tmp / "secret").chmod(0o000)
        result = dockfix("--select", "DF901")
    assert result.exit_code == 2
    assert "dockfix: error: secret: cannot read folder: Permission denied\n" in result.stderr
    assert result.stdout == "app/Dockerfile:3: DF901 [*] use npm ci\n"


def test_read_only_file_is_not_replaced(open_tmp):
    (open_tmp / "Dockerfile").write_bytes(NAIVE)
    with unprivileged(open_tmp):
        (open_tmp / "Dockerfile").chmod(0o444)
        result = dockfix("--write")
    assert result.exit_code == 2
    assert "Dockerfile: error: cannot write: file is read-only" in result.stderr
    assert (open_tmp / "Dockerfile").read_bytes() == NAIVE
    assert not (open_tmp / ".dockerignore").exists()  # nothing written for that file


# -- the run of many files ----------------------------------------------------------------------------


def test_results_are_picklable_records(project):
    """So that a process pool can hand them back; error results included."""
    _lay(project, {"Dockerfile": NAIVE, "bad/Dockerfile": b"FROM node\n\x00"})
    settings = Settings(rules=list(sample_rules.SAMPLE_RULES), options=Options())
    results = process_paths([Path("Dockerfile"), Path("bad/Dockerfile")], settings)
    copies = pickle.loads(pickle.dumps(results))
    assert [(r.path, r.error, r.fixed, r.other_files, r.initial) for r in copies] == [
        (r.path, r.error, r.fixed, r.other_files, r.initial) for r in results
    ]
    assert copies[0].other_files == {project / ".dockerignore": (None, b"node_modules\n")}
    assert copies[1].error.startswith("binary file")


# -- the real program, real rules ---------------------------------------------------------------


def test_python_m_dockfix_on_the_naive_dockerfile_with_the_real_rules(tmp_path):
    """The article's naive Dockerfile, through the installed rules: --diff == --write, then a fixpoint."""
    files = {
        "Dockerfile": b'FROM node\nCOPY . .\nRUN npm install\nCMD "npm" "start"\n',
        "package.json": b'{"name": "app", "scripts": {"start": "node server.js"}}\n',
        "package-lock.json": b"{}\n",
        "server.js": b"require('http').createServer().listen(3000)\n",
    }
    written, patched = tmp_path / "written", tmp_path / "patched"
    for folder in (written, patched):
        folder.mkdir()
        _lay(folder, files)

    def real(*args: str, cwd: Path) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "dockfix", *args], cwd=cwd, capture_output=True)

    flags = ["--unsafe-fixes", "--offline", "--today", "2025-06-01"]
    diff = real("--diff", *flags, cwd=patched)
    assert diff.returncode == 1, diff.stderr
    assert diff.stdout.startswith(b"--- a/Dockerfile\n+++ b/Dockerfile\n")
    write = real("--write", *flags, cwd=written)
    assert write.returncode == 0, write.stderr
    if PATCH:
        _apply_patch("patch", patched, diff.stdout)
        assert tree(patched) == tree(written)
    again = real("--check", *flags, cwd=written)
    assert again.returncode == 0, again.stderr
    assert b"Traceback" not in diff.stderr + write.stderr + again.stderr


CORPUS = Path(__file__).resolve().parents[1] / ".." / "shared" / "corpus" / "cases"


@pytest.mark.shared
@pytest.mark.skipif(not PATCH, reason="needs patch")
def test_corpus_diff_is_what_write_writes_and_a_second_run_changes_nothing(tmp_path):
    """Every corpus case at once, with the real rules: the Done-when property of the command line."""
    import json

    written, patched = tmp_path / "written", tmp_path / "patched"
    shutil.copytree(CORPUS, written)
    for path in written.rglob("*"):  # a read-only copy of the corpus would be refused, root or not
        path.chmod(path.stat().st_mode | stat.S_IWUSR)
    for case in written.iterdir():
        # Lockfiles are not stored in the corpus; lay placeholders so the rules see the real context.
        for lockfile in json.loads((case / "context.json").read_text())["lockfiles_present"]:
            (case / lockfile).write_bytes(b"{}\n" if lockfile.endswith(".json") else b"\n")
    shutil.copytree(written, patched)

    def real(*args: str, cwd: Path) -> subprocess.CompletedProcess:
        flags = ["--unsafe-fixes", "--offline", "--today", "2025-06-01"]
        return subprocess.run([sys.executable, "-m", "dockfix", *args, *flags, "."], cwd=cwd, capture_output=True)

    diff = real("--diff", cwd=patched)
    write = real("--write", cwd=written)
    assert diff.returncode in (1, 2) and write.returncode in (0, 2), write.stderr[-2000:]
    assert b"Traceback" not in diff.stderr + write.stderr
    _apply_patch("patch", patched, diff.stdout)
    assert tree(patched) == tree(written)
    again = real("--diff", cwd=written)
    assert again.stdout == b""
    assert again.returncode == write.returncode
