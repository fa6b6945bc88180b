"""dockfix never writes outside what it was given.

Each test lays out a tree with something in it that leads out of it (a link to a Dockerfile,
to a `.dockerignore`, to the app's entry file, to a folder), plus an ordinary app beside it, and
runs `--write` on the tree: nothing outside changes, the run says why in one line, the ordinary
app is still fixed, and the exit code says whether a write was refused (2) or not.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dockfix.cli import app
from dockfix.project.discover import discover
from dockfix.run import EXIT_ERROR
from support.paths import FIXTURES
from support.trees import snapshot, write_tree

APP = FIXTURES / "shapes" / "npm-lockfile-copy-all"


@pytest.fixture
def tree(tmp_path):
    """`outside/` holds a whole app; `given/web` is an ordinary app the run must still fix."""
    shutil.copytree(APP, tmp_path / "outside")
    shutil.copytree(APP, tmp_path / "given" / "web")
    return tmp_path


def write(tree: Path):
    return write_tree(tree / "given", jobs=1, cache=tree / "cache")


def assert_web_app_fixed(tree: Path) -> None:
    assert (tree / "given" / "web" / "Dockerfile").read_bytes() != (APP / "Dockerfile").read_bytes()
    assert (tree / "given" / "web" / ".dockerignore").is_file()


def lines_naming(output: str, text: str) -> list[str]:
    return [line for line in output.splitlines() if text in line]


def test_a_dockerfile_linked_from_outside_is_not_written(tree):
    before = snapshot(tree / "outside")
    api = tree / "given" / "api"
    api.mkdir()
    (api / "Dockerfile").symlink_to(Path("..") / ".." / "outside" / "Dockerfile")
    result = write(tree)
    assert snapshot(tree / "outside") == before
    [reason] = lines_naming(result.output, "outside the folder and build context given")
    assert reason.startswith(f"{api / 'Dockerfile'}: error: a link to {(tree / 'outside' / 'Dockerfile').resolve()}")
    assert_web_app_fixed(tree)
    assert result.exit_code == EXIT_ERROR


def test_a_dockerfile_linked_inside_its_folder_is_written_through(tree):
    api = tree / "given" / "api"
    shutil.copytree(APP, api)
    (api / "Dockerfile").rename(api / "Dockerfile.real")
    (api / "Dockerfile").symlink_to("Dockerfile.real")
    result = write(tree)
    assert (api / "Dockerfile").is_symlink()
    assert (api / "Dockerfile.real").read_bytes() != (APP / "Dockerfile").read_bytes()
    assert result.exit_code != EXIT_ERROR, result.output


def test_a_dockerignore_linked_from_outside_is_not_written(tree):
    (tree / "outside" / ".dockerignore").write_bytes(b"*.log\n")
    before = snapshot(tree / "outside")
    api = tree / "given" / "api"
    shutil.copytree(APP, api)
    (api / ".dockerignore").symlink_to(Path("..") / ".." / "outside" / ".dockerignore")
    result = write(tree)
    assert snapshot(tree / "outside") == before
    [reason] = lines_naming(result.output, "outside the build context")
    assert reason.startswith(f"{api / 'Dockerfile'}: error:") and ".dockerignore" in reason
    assert (api / "Dockerfile").read_bytes() == (APP / "Dockerfile").read_bytes(), "all of the file or none"
    assert_web_app_fixed(tree)
    assert result.exit_code == EXIT_ERROR


def test_an_app_entry_linked_from_outside_is_not_written(tree):
    before = snapshot(tree / "outside")
    api = tree / "given" / "api"
    shutil.copytree(APP, api)
    (api / "server.js").unlink()
    (api / "server.js").symlink_to(Path("..") / ".." / "outside" / "server.js")
    result = write(tree)
    assert snapshot(tree / "outside") == before
    # An entry file outside the build context is not the app's to edit: the graceful-shutdown
    # fix is not offered at all, so no write is refused and the Dockerfile itself is still fixed.
    assert (api / "Dockerfile").read_bytes() != (APP / "Dockerfile").read_bytes()
    assert_web_app_fixed(tree)
    assert result.exit_code != EXIT_ERROR, result.output
    # ... and the run says so, once: the file was not forgotten.
    [said] = lines_naming(result.output, "server.js is a link out of the build context")
    assert said.startswith(f"{api / 'Dockerfile'}:") and "DF006" in said, result.output


def test_a_folder_linked_from_outside_is_not_searched(tree):
    before = snapshot(tree / "outside")
    (tree / "given" / "shared").symlink_to(tree / "outside", target_is_directory=True)
    result = write(tree)
    assert snapshot(tree / "outside") == before
    [reason] = lines_naming(result.output, "not searched")
    given = tree / "given"
    assert reason == f"dockfix: warning: {given / 'shared'}: a link to a folder outside {given}; not searched"
    assert_web_app_fixed(tree)
    assert result.exit_code == 0, result.output


def test_a_folder_link_inside_the_tree_is_skipped_silently(tmp_path):
    shutil.copytree(APP, tmp_path / "app")
    (tmp_path / "app" / "again").symlink_to(tmp_path / "app", target_is_directory=True)
    discovery = discover([tmp_path])
    assert discovery.files == [tmp_path / "app" / "Dockerfile"]
    assert discovery.warnings == []


def test_a_compose_file_naming_a_dockerfile_outside_the_tree_is_not_followed(tree):
    before = snapshot(tree / "outside")
    (tree / "given" / "web" / "compose.yaml").write_text(
        "services:\n  web:\n    build: .\n  other:\n    build: ../../outside\n"
    )
    result = write(tree)
    assert snapshot(tree / "outside") == before
    [reason] = lines_naming(result.output, "service other")
    assert f"its Dockerfile {(tree / 'outside' / 'Dockerfile').resolve()} is outside {tree / 'given'}" in reason
    assert_web_app_fixed(tree)


def test_diff_and_check_refuse_the_same_link_as_write(tree):
    api = tree / "given" / "api"
    api.mkdir()
    (api / "Dockerfile").symlink_to(Path("..") / ".." / "outside" / "Dockerfile")
    for mode in ("--diff", "--check"):
        result = CliRunner().invoke(app, [mode, "--unsafe-fixes", "--offline", "--isolated", str(tree / "given")])
        assert result.exit_code == EXIT_ERROR
        assert len(lines_naming(result.output, "outside the folder and build context given")) == 1
        if mode == "--diff":
            assert f"--- {tree / 'given' / 'web' / 'Dockerfile'}" in result.stdout
            assert f"--- {api / 'Dockerfile'}" not in result.stdout, "no diff of the file outside"


@pytest.mark.parametrize("context", ["..", "{parent}", "~"])
def test_a_compose_context_leaving_the_tree_writes_nothing_outside(tmp_path, context):
    """`build: {context: .., dockerfile: repo/Dockerfile}` in `repo/compose.yaml`, or the same
    folder as an absolute path or as `~`: the app's files there (its entry file, no `.dockerignore`)
    are the parent's, outside the `repo` the run was given, and stay as they were."""
    parent = tmp_path / "parent"
    shutil.copytree(APP, parent)
    repo = parent / "repo"
    repo.mkdir()
    (parent / "Dockerfile").rename(repo / "Dockerfile")
    (repo / "compose.yaml").write_text(
        f'services:\n  app:\n    build:\n      context: "{context.format(parent=parent)}"\n'
        "      dockerfile: repo/Dockerfile\n"
    )
    cache = tmp_path / "cache"
    before = snapshot(tmp_path)
    result = CliRunner().invoke(
        app,
        ["--write", "--unsafe-fixes", "--offline", "--verbose", "--today", "2026-11-29", "-j", "1", str(repo)],
        env={"HOME": str(parent), "XDG_CACHE_HOME": str(cache)},
    )
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output and "internal error" not in result.output, result.output
    after = snapshot(tmp_path)
    outside = {name for name in set(before) | set(after) if not name.startswith("parent/repo/")}
    changed = {name for name in outside if before.get(name) != after.get(name)}
    assert {name for name in changed if not name.startswith("cache/")} == set()
    assert not (parent / ".dockerignore").exists()
    assert len(lines_naming(result.output, "is outside repo, not used")) == 1
    assert after["parent/repo/Dockerfile"] != before["parent/repo/Dockerfile"], "the Dockerfile itself is fixed"
