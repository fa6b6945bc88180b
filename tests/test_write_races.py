"""Writes that something changes underneath: a link swapped in, an edit made while the new bytes
are written, a run killed or stopped half-way, a patch folder that is not what it seems.

Each race is made deterministic: the test steps in at the exact point (after the check, after the
sync) through the function the write passes there, never by timing.
"""

from __future__ import annotations

import os
import resource
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dockfix.cli import app
from dockfix.project import fsutil
from dockfix.project.discover import discover, is_dockerfile_name
from dockfix.project.fsutil import SWAPPED_LINK, TEMP_SUFFIX, FileChange, WriteFailed, write_together
from dockfix.run import EXIT_ERROR
from support.paths import FIXTURES
from support.signals import default_sigint
from support.trees import snapshot, write_tree

APP = FIXTURES / "shapes" / "npm-lockfile-copy-all"
TODAY = "2026-11-29"


def temp_files(folder: Path) -> list[Path]:
    return [path for path in folder.rglob("*") if path.name.endswith(TEMP_SUFFIX)]


def swap_for_link(folder: Path, target: Path) -> None:
    """Move `folder` aside and put a symbolic link to `target` in its place."""
    folder.rename(folder.with_name(folder.name + "-moved"))
    folder.symlink_to(target, target_is_directory=target.is_dir())


@pytest.fixture
def tree(tmp_path):
    """`given/web` is the app written; `outside/web` a copy of it that nothing may write."""
    shutil.copytree(APP, tmp_path / "given" / "web")
    shutil.copytree(APP, tmp_path / "outside" / "web")
    return tmp_path


# -- a link swapped in between the check and the write --------------------------------------------


def test_a_folder_swapped_for_a_link_after_the_run_checked_it_is_not_written_through(tree, monkeypatch):
    """The run checks the build context when it reads the files; the folder is swapped for a link
    to a copy outside just before the write: the write is refused, the copy left as it was."""
    import dockfix.run

    before = snapshot(tree / "outside")
    write_result = dockfix.run.write_result

    def swap_then_write(*args):
        swap_for_link(tree / "given" / "web", tree / "outside" / "web")
        return write_result(*args)

    monkeypatch.setattr(dockfix.run, "write_result", swap_then_write)
    result = write_tree(tree / "given", jobs=1, cache=tree / "cache")
    assert snapshot(tree / "outside") == before
    assert result.exit_code == EXIT_ERROR
    [line] = [line for line in result.output.splitlines() if ": error:" in line]
    assert line.startswith(f"{tree / 'given' / 'web' / 'Dockerfile'}: error: now leads to {tree / 'outside'}")
    assert line.endswith("outside the folders checked (a symbolic link was swapped in); not written")
    assert temp_files(tree) == []


@pytest.mark.parametrize("swapped", ["folder", "file"])
def test_a_link_swapped_in_after_the_path_was_resolved_is_not_followed(tmp_path, monkeypatch, swapped):
    """The last moment: the path is resolved and confined, then a folder on it (or the file
    itself) becomes a link to the outside. The write opens each folder and the file without
    following links, so it stops there."""
    root, outside = tmp_path / "root", tmp_path / "outside"
    (root / "app").mkdir(parents=True)
    (outside / "app").mkdir(parents=True)
    for folder in (root / "app", outside / "app"):
        (folder / ".dockerignore").write_bytes(b"old\n")
    confined, pinned_folder = fsutil._confined, fsutil._pinned_folder

    def confined_then_swap_folder(change):
        real = confined(change)
        swap_for_link(root / "app", outside / "app")
        return real

    def pinned_then_swap_file(folder):
        descriptor = pinned_folder(folder)
        (root / "app" / ".dockerignore").unlink()
        (root / "app" / ".dockerignore").symlink_to(outside / "app" / ".dockerignore")
        return descriptor

    if swapped == "folder":
        monkeypatch.setattr(fsutil, "_confined", confined_then_swap_folder)
    else:
        monkeypatch.setattr(fsutil, "_pinned_folder", pinned_then_swap_file)
    change = FileChange(root / "app" / ".dockerignore", b"old\n", b"new\n", (root.resolve(),))
    with pytest.raises(WriteFailed) as failure:
        write_together([change])
    assert failure.value.message == SWAPPED_LINK
    assert (outside / "app" / ".dockerignore").read_bytes() == b"old\n"
    assert temp_files(tmp_path) == []


def test_a_dockerfile_linked_inside_its_folder_is_still_written_through(tmp_path):
    (tmp_path / "Dockerfile.real").write_bytes(b"old\n")
    (tmp_path / "Dockerfile").symlink_to("Dockerfile.real")
    write_together([FileChange(tmp_path / "Dockerfile", b"old\n", b"new\n", (tmp_path.resolve(),))])
    assert (tmp_path / "Dockerfile").is_symlink()
    assert (tmp_path / "Dockerfile.real").read_bytes() == b"new\n"


# -- an edit made while the temporary file is written ----------------------------------------------


@pytest.mark.parametrize("edit", ["in place", "same bytes, new file"])
def test_an_edit_made_after_the_temporary_file_is_synced_is_not_overwritten(tmp_path, monkeypatch, edit):
    """The user saves the file just after dockfix checked it, while the new bytes are written and
    synced: the check before the rename sees it, and the user's file stays."""
    target = tmp_path / "Dockerfile"
    target.write_bytes(b"FROM node\n")
    real_fsync = os.fsync

    def fsync_then_edit(descriptor):
        real_fsync(descriptor)
        if edit == "in place":
            target.write_bytes(b"FROM node:24\n")
        else:  # an editor that saves by rename, with the bytes dockfix read: still not dockfix's to replace
            (tmp_path / "saved").write_bytes(b"FROM node\n")
            (tmp_path / "saved").replace(target)

    monkeypatch.setattr(os, "fsync", fsync_then_edit)
    with pytest.raises(WriteFailed, match="changed on disk since it was read; not written"):
        write_together([FileChange(target, b"FROM node\n", b"FROM node:24-slim\n")])
    monkeypatch.undo()
    assert target.read_bytes() == (b"FROM node:24\n" if edit == "in place" else b"FROM node\n")
    assert temp_files(tmp_path) == []


# -- read-only files, even for root ----------------------------------------------------------------


def test_a_file_with_no_write_permission_is_not_written_even_by_root(tmp_path):
    target = tmp_path / "Dockerfile"
    target.write_bytes(b"old\n")
    target.chmod(0o444)
    with pytest.raises(WriteFailed, match="cannot write: file is read-only"):
        write_together([FileChange(target, b"old\n", b"new\n")])
    assert target.read_bytes() == b"old\n"
    assert temp_files(tmp_path) == []


def test_the_summary_says_what_failed_when_nothing_could_be_written(tmp_path):
    app_folder = tmp_path / "web"
    shutil.copytree(APP, app_folder)
    (app_folder / "Dockerfile").chmod(0o444)
    result = write_tree(app_folder, jobs=1, cache=tmp_path / "cache")
    assert result.exit_code == EXIT_ERROR
    assert f"{app_folder / 'Dockerfile'}: error: cannot write: file is read-only" in result.output
    summary = result.output.splitlines()[-1]
    assert "No changes needed" not in summary
    assert summary.startswith("Nothing written. Writing failed for 1 Dockerfile (see the errors above).")
    assert (app_folder / "Dockerfile").read_bytes() == (APP / "Dockerfile").read_bytes()
    assert not (app_folder / ".dockerignore").exists()


# -- a run killed, interrupted or stopped -----------------------------------------------------------

# Stages the given folder's write, then dies as SIGKILL makes a process die: between writing the
# temporary file and renaming it.
_KILLED_MID_WRITE = """
import os, signal, sys
from pathlib import Path
from dockfix.project.fsutil import FileChange, write_together
os.replace = lambda *args, **kwargs: os.kill(os.getpid(), signal.SIGKILL)
target = Path(sys.argv[1]) / "Dockerfile"
write_together([FileChange(target, target.read_bytes(), b"FROM node:24\\n")])
"""


def test_a_temporary_file_left_by_a_killed_run_is_reported_and_removed_by_the_next(tmp_path):
    folder = tmp_path / "web"
    shutil.copytree(APP, folder)
    killed = subprocess.run([sys.executable, "-c", _KILLED_MID_WRITE, str(folder)], capture_output=True)
    assert killed.returncode == -signal.SIGKILL
    [leftover] = temp_files(folder)
    # Files the next run must not touch: another program's, one of a process still running (this
    # one), a link, and one newer than the run.
    others = {
        "other": folder / ".Dockerfile.abc123.dockfix-tmp",
        "running": folder / f".Dockerfile.{os.getpid()}-0123abcd{TEMP_SUFFIX}",
        "newer": folder / f".Dockerfile.999999-0123abcd{TEMP_SUFFIX}",
    }
    for path in others.values():
        path.write_bytes(b"keep me\n")
    os.utime(others["newer"], (time.time() + 3600, time.time() + 3600))
    link = folder / f".package.json.999998-0123abcd{TEMP_SUFFIX}"
    link.symlink_to(folder / "package.json")

    result = write_tree(folder, jobs=1, cache=tmp_path / "cache")
    assert result.exit_code != EXIT_ERROR, result.output
    assert f"dockfix: warning: {leftover}: removed, a temporary file left by a killed run" in result.output
    assert not leftover.exists()
    assert all(path.read_bytes() == b"keep me\n" for path in others.values())
    assert link.is_symlink()
    assert (folder / "Dockerfile").read_bytes() != (APP / "Dockerfile").read_bytes()


# Runs dockfix --write (safe fixes: each app gets its new .dockerignore) over a folder of apps,
# sending itself the signal as the third app's file is staged: it waits until that app is written.
_SIGNAL_MID_WRITE = """
import os, signal, sys
from dockfix.project import fsutil
from dockfix.cli import main
stage, staged, signal_name = fsutil._stage, [], sys.argv[2]
def counting_stage(change, *rest):
    staged.append(change)
    if len(staged) == 3:
        os.kill(os.getpid(), getattr(signal, signal_name))
    return stage(change, *rest)
fsutil._stage = counting_stage
sys.argv = ["dockfix", sys.argv[1], "--write", "--offline", "--isolated", "-j", "1", "--today", "2026-11-29"]
main()
"""


@pytest.mark.parametrize(("name", "code"), [("SIGTERM", 143), ("SIGINT", 130)])
def test_sigterm_and_sigint_end_a_write_cleanly(tmp_path, name, code):
    for number in range(4):
        shutil.copytree(APP, tmp_path / "apps" / f"app{number}")
    run = subprocess.run(
        [sys.executable, "-c", _SIGNAL_MID_WRITE, str(tmp_path / "apps"), name],
        capture_output=True,
        env={**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")},
        timeout=300,
        preexec_fn=default_sigint,
    )
    assert run.returncode == code, run.stderr
    assert run.stderr.decode().splitlines()[-1] == (
        "dockfix: interrupted: every file is either as it was or completely written"
    )
    assert b"Traceback" not in run.stderr
    written = [(tmp_path / "apps" / f"app{n}" / ".dockerignore").exists() for n in range(4)]
    assert written == [True, True, True, False]
    assert temp_files(tmp_path) == []


# -- --patch-dir ------------------------------------------------------------------------------------


def patch_run(*args: str):
    result = CliRunner().invoke(app, ["--offline", "--isolated", "--today", TODAY, *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def test_a_patch_link_is_replaced_not_written_through(tmp_path):
    shutil.copytree(APP, tmp_path / "web")
    patches, victim = tmp_path / "patches", tmp_path / "victim"
    patches.mkdir()
    victim.write_bytes(b"precious\n")
    (patches / "web.patch").symlink_to(victim)
    result = patch_run("--patch-dir", str(patches), str(tmp_path / "web"))
    assert result.exit_code != EXIT_ERROR, result.output
    assert victim.read_bytes() == b"precious\n"
    assert not (patches / "web.patch").is_symlink()
    assert b"+++ b/.dockerignore\n" in (patches / "web.patch").read_bytes()


def _limit_file_size() -> None:
    resource.setrlimit(resource.RLIMIT_FSIZE, (200, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))


def test_a_patch_that_does_not_fit_leaves_no_file(tmp_path):
    """A full disk, made by limiting the size of files the process may write (Python ignores SIGXFSZ)."""
    shutil.copytree(APP, tmp_path / "web")
    patches = tmp_path / "patches"
    patches.mkdir()
    command = [sys.executable, "-m", "dockfix", "--offline", "--isolated", "--today", TODAY]
    run = subprocess.run(
        [*command, "--patch-dir", str(patches), str(tmp_path / "web")],
        capture_output=True,
        preexec_fn=_limit_file_size,
        env={**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")},
    )
    assert run.returncode == EXIT_ERROR
    assert f"dockfix: error: --patch-dir: cannot write {patches}: File too large".encode() in run.stderr
    assert list(patches.iterdir()) == []


def test_a_repository_folder_named_dockerfile_gives_a_patch_no_later_run_reads(tmp_path):
    tree = tmp_path / "tree"
    shutil.copytree(APP, tree / "Dockerfile")  # a repository folder named like the file
    (tree / "Dockerfile" / ".git").mkdir()
    result = patch_run("--patch-dir", str(tree / "patches"), str(tree))
    assert result.exit_code != EXIT_ERROR, result.output
    assert (tree / "patches" / "Dockerfile.patch").is_file()
    assert discover([tree]).files == [tree / "Dockerfile" / "Dockerfile"]
    assert "Dockerfile.patch" not in patch_run(str(tree)).output
    assert not any(is_dockerfile_name(f"{name}.patch") for name in ("Dockerfile", "Dockerfile.prod", "Containerfile"))
    assert not is_dockerfile_name("Dockerfile.diff")


def test_no_temporary_file_of_a_patch_is_left(tmp_path):
    shutil.copytree(APP, tmp_path / "web")
    patch_run("--patch-dir", str(tmp_path / "patches"), str(tmp_path / "web"))
    assert [path.name for path in (tmp_path / "patches").iterdir()] == ["web.patch"]
