"""Reading Dockerfiles defensively and writing files atomically (fsutil)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from dockfix.project.fsutil import (
    MAX_DOCKERFILE_SIZE,
    TEMP_SUFFIX,
    FileChange,
    FileProblem,
    WriteFailed,
    read_dockerfile,
    write_together,
)


def leftovers(folder: Path) -> list[Path]:
    return [path for path in folder.rglob("*") if path.name.endswith(TEMP_SUFFIX)]


# -- reading --------------------------------------------------------------------------------------


def test_reads_the_bytes_as_they_are(tmp_path):
    data = b"\xef\xbb\xbfFROM node\r\nLABEL a=\xe9"
    (tmp_path / "Dockerfile").write_bytes(data)
    assert read_dockerfile(tmp_path / "Dockerfile") == data


def test_exactly_1_mib_is_accepted_one_byte_more_is_not(tmp_path):
    (tmp_path / "ok").write_bytes(b"#" * MAX_DOCKERFILE_SIZE)
    assert len(read_dockerfile(tmp_path / "ok")) == MAX_DOCKERFILE_SIZE
    (tmp_path / "big").write_bytes(b"#" * (MAX_DOCKERFILE_SIZE + 1))
    with pytest.raises(FileProblem, match=r"too large for a Dockerfile \(1048577 bytes"):
        read_dockerfile(tmp_path / "big")


def test_a_fifo_is_refused_without_blocking(tmp_path):
    os.mkfifo(tmp_path / "Dockerfile")
    with pytest.raises(FileProblem, match="not a regular file"):
        read_dockerfile(tmp_path / "Dockerfile")


@pytest.mark.parametrize(("make", "message"), [("dir", "is a directory"), ("missing", "no such file or directory")])
def test_directories_and_missing_files(tmp_path, make, message):
    if make == "dir":
        (tmp_path / "Dockerfile").mkdir()
    with pytest.raises(FileProblem, match=message):
        read_dockerfile(tmp_path / "Dockerfile")


# -- writing --------------------------------------------------------------------------------------


def test_replaces_the_content_keeps_the_mode_and_leaves_no_temporary_file(tmp_path):
    target = tmp_path / "Dockerfile"
    target.write_bytes(b"old\n")
    target.chmod(0o751)
    write_together([FileChange(target, b"old\n", b"new\r\n")])
    assert target.read_bytes() == b"new\r\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o751
    assert leftovers(tmp_path) == []


def test_the_file_is_replaced_not_rewritten_in_place(tmp_path):
    """A reader holding the old file keeps seeing the old bytes: the new content is a new inode."""
    target = tmp_path / "Dockerfile"
    target.write_bytes(b"old\n")
    with open(target, "rb") as reader:
        write_together([FileChange(target, b"old\n", b"new\n")])
        assert reader.read() == b"old\n"
    assert target.read_bytes() == b"new\n"


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o077, 0o600), (0o002, 0o644)])
def test_a_new_file_gets_0644_under_the_umask(tmp_path, umask, mode):
    old = os.umask(umask)
    try:
        write_together([FileChange(tmp_path / ".dockerignore", None, b"node_modules\n")])
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / ".dockerignore").stat().st_mode) == mode


def test_a_symlink_is_written_through_to_its_target(tmp_path):
    target = tmp_path / "real" / "Dockerfile"
    target.parent.mkdir()
    target.write_bytes(b"old\n")
    link = tmp_path / "Dockerfile"
    link.symlink_to(Path("real") / "Dockerfile")
    write_together([FileChange(link, b"old\n", b"new\n")])
    assert link.is_symlink() and target.read_bytes() == b"new\n"
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize(
    ("on_disk", "expected", "message"),
    [
        (b"edited by someone\n", b"old\n", "changed on disk since it was read"),
        (None, b"old\n", "was deleted since it was read"),
        (b"someone made it\n", None, "was created since it was read"),
    ],
)
def test_a_file_changed_since_it_was_read_is_not_overwritten(tmp_path, on_disk, expected, message):
    target = tmp_path / "file"
    if on_disk is not None:
        target.write_bytes(on_disk)
    with pytest.raises(WriteFailed, match=message) as failure:
        write_together([FileChange(target, expected, b"dockfix's version\n")])
    assert failure.value.path == target
    assert (target.read_bytes() if target.exists() else None) == on_disk
    assert leftovers(tmp_path) == []


def test_a_group_is_all_or_nothing(tmp_path):
    """The Dockerfile is not written when its `.dockerignore` cannot be."""
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_bytes(b"old\n")
    impossible = tmp_path / "no-such-folder" / ".dockerignore"
    with pytest.raises(WriteFailed) as failure:
        write_together([FileChange(dockerfile, b"old\n", b"new\n"), FileChange(impossible, None, b"x\n")])
    assert failure.value.path == impossible
    assert failure.value.message == "cannot write: No such file or directory"
    assert dockerfile.read_bytes() == b"old\n"
    assert leftovers(tmp_path) == []


# A read-only file, refused to root too: tests/test_write_races.py.


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can give a file to another user")
def test_the_owner_is_kept_when_root_writes_someone_elses_file(tmp_path):
    target = tmp_path / "Dockerfile"
    target.write_bytes(b"old\n")
    os.chown(target, 65534, 65534)
    write_together([FileChange(target, b"old\n", b"new\n")])
    assert (target.stat().st_uid, target.stat().st_gid) == (65534, 65534)
