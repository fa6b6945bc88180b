"""Reading Dockerfiles carefully and writing files atomically, without losing anyone's update.

Writing follows one recipe for every file a fix touches (the Dockerfile, `.dockerignore`, app
sources): the new bytes go to a temporary file in the same folder, which then replaces the
original with `os.replace`, so a reader sees either the old file or the new one, never half of
each. The original's permission bits (and, when allowed, its owner) are kept. A symbolic link is
written through: its target gets the new bytes and the link stays a link. A new file gets mode
0644 as reduced by the umask, like any file an editor creates. Which links may be written through
is the runner's call (`leads_outside`): only those whose target stays in the folders it was given.

Before replacing, the file on disk is compared with the bytes the fixes were computed from; if
someone changed it in the meantime the write is refused rather than losing that change.
"""

from __future__ import annotations

import os
import signal
import stat
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

# Real Dockerfiles are a few kilobytes; anything this big is not one, and refusing it before
# reading keeps a stray `dockfix big.iso` fast.
MAX_DOCKERFILE_SIZE = 1024 * 1024
TEMP_SUFFIX = ".dockfix-tmp"
NEW_FILE_MODE = 0o644


class FileProblem(Exception):
    """A file cannot be read or written; `message` is one line for the user."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def describe_os_error(error: OSError) -> str:
    """`Permission denied` rather than `[Errno 13] Permission denied: '/x'` (the path is shown anyway)."""
    return error.strerror or type(error).__name__


class FileMissing(FileProblem):
    """The file does not exist (for readers that treat that as "absent", not as a problem)."""


@contextmanager
def _opened_regular(path: Path) -> Iterator[tuple[BinaryIO, os.stat_result]]:
    """The file opened for reading, refused (FileProblem) unless it is a regular file.

    Opening a FIFO blocks until a writer comes (forever, and with Ctrl-C held while a write is
    staged) and a device may never end, so the file is opened without blocking and fstat decides.
    """
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    except FileNotFoundError:
        raise FileMissing("no such file or directory") from None
    except OSError as error:
        raise FileProblem(f"cannot read: {describe_os_error(error)}") from None
    info = os.fstat(descriptor)
    if not stat.S_ISREG(info.st_mode):
        os.close(descriptor)
        raise FileProblem(
            "is a directory" if stat.S_ISDIR(info.st_mode) else "not a regular file (a FIFO, socket or device)"
        )
    with os.fdopen(descriptor, "rb") as handle:
        try:
            yield handle, info
        except OSError as error:
            raise FileProblem(f"cannot read: {describe_os_error(error)}") from None


def read_regular_file(path: Path, limit: int, what: str = "") -> bytes:
    """The bytes of a regular file of at most `limit` bytes; raises FileProblem with one line.

    Every file dockfix reads in a project, or checks before writing it, is read through here or
    `read_regular_head`. `what` ends the size message (" for a Dockerfile").
    """
    with _opened_regular(path) as (handle, info):
        if info.st_size > limit:
            raise FileProblem(too_large(info.st_size, limit, what))
        # Read one byte past the limit: a file that grew after fstat() is still refused.
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise FileProblem(f"too large{what} (over {limit} bytes)")
    return data


def too_large(size: int, limit: int, what: str = "") -> str:
    """The one line for a file over its limit (`what` as in `read_regular_file`)."""
    return f"too large{what} ({size} bytes, the limit is {limit})"


def dockerfile_too_large(size: int) -> str | None:
    """The line refusing a Dockerfile of `size` bytes (None: within MAX_DOCKERFILE_SIZE): what the
    command line says of a file, the language server says of an open document."""
    return too_large(size, MAX_DOCKERFILE_SIZE, " for a Dockerfile") if size > MAX_DOCKERFILE_SIZE else None


def read_regular_head(path: Path, size: int) -> bytes:
    """At most the first `size` bytes of a regular file; raises FileProblem as `read_regular_file`."""
    with _opened_regular(path) as (handle, _info):
        return handle.read(size)


def read_dockerfile(path: Path) -> bytes:
    """The bytes of a Dockerfile, refusing non-regular files and files over 1 MiB before reading."""
    return read_regular_file(path, MAX_DOCKERFILE_SIZE, " for a Dockerfile")


def leads_outside(path: Path, roots: list[Path]) -> Path | None:
    """Where `path` really is (every link followed) when that is in none of `roots`, else None.

    The roots are resolved too, so a folder given through a link still holds its own files.
    """
    real = Path(os.path.realpath(path))
    if any(real.is_relative_to(os.path.realpath(root)) for root in roots):
        return None
    return real


def current_umask() -> int:
    """The process umask (reading it means setting it, so it is put back at once)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@dataclass
class FileChange:
    """New bytes for one file; `expected` is what must be on disk now (None: must not exist)."""

    path: Path
    expected: bytes | None
    new: bytes


@dataclass
class _Staged:
    target: Path
    temp: Path


def write_target(path: Path) -> Path:
    """The file that actually receives the bytes: a symbolic link's final target."""
    return Path(os.path.realpath(path)) if path.is_symlink() else path


def _read_current(target: Path, expected: bytes | None) -> bytes | None:
    """The file's bytes now (None: absent); a file larger than `expected` has changed anyway."""
    limit = len(expected) if expected is not None else 0
    try:
        return read_regular_file(target, limit)
    except FileMissing:
        return None
    except FileProblem as problem:
        if problem.message.startswith("too large"):
            return b"\0" * (limit + 1)  # not what was read: reported as changed on disk
        raise FileProblem(f"cannot read before writing: {problem.message.removeprefix('cannot read: ')}") from None


def _stage(change: FileChange) -> _Staged:
    """Check the file is as expected and write its new bytes to a temporary file beside it."""
    target = write_target(change.path)
    current = _read_current(target, change.expected)
    if current != change.expected:
        what = "was created" if change.expected is None else "changed on disk" if current is not None else "was deleted"
        raise FileProblem(f"{what} since it was read; not written (run dockfix again)")
    info = None
    if current is not None:
        info = target.stat()
        # Replacing by rename would bypass a read-only mode, so honour it as an editor would.
        if not os.access(target, os.W_OK, effective_ids=os.access in os.supports_effective_ids):
            raise FileProblem("cannot write: file is read-only")
    try:
        descriptor, temp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=TEMP_SUFFIX, dir=target.parent)
    except OSError as error:
        raise FileProblem(f"cannot write: {describe_os_error(error)}") from None
    temp = Path(temp_name)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(change.new)
            handle.flush()
            os.fsync(handle.fileno())
            if info is not None:
                # Owner first: changing it would clear set-id bits the mode puts back.
                if (info.st_uid, info.st_gid) != (os.geteuid(), os.getegid()):
                    # Only root may give a file away; the content matters more.
                    with suppress(PermissionError):
                        os.fchown(handle.fileno(), info.st_uid, info.st_gid)
                os.fchmod(handle.fileno(), stat.S_IMODE(info.st_mode))
            else:
                os.fchmod(handle.fileno(), NEW_FILE_MODE & ~current_umask())
    except OSError as error:
        temp.unlink(missing_ok=True)
        raise FileProblem(f"cannot write: {describe_os_error(error)}") from None
    except BaseException:
        temp.unlink(missing_ok=True)  # Ctrl-C while staging must not leave the temporary file
        raise
    return _Staged(target, temp)


class WriteFailed(FileProblem):
    """Writing `path` failed; nothing of its group was written (unless a rename itself failed)."""

    def __init__(self, path: Path, message: str):
        super().__init__(message)
        self.path = path


@contextmanager
def _interrupts_deferred() -> Iterator[None]:
    """Hold Ctrl-C and SIGTERM until the group is written or cleaned up.

    A signal landing between creating a temporary file and recording it (or between two
    renames of one group) would leave a temporary file behind or half a group written; blocked,
    it is delivered as soon as the group is done.
    """
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "pthread_sigmask"):
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def write_together(changes: list[FileChange]) -> None:
    """Write several files so that either all are replaced or none is touched.

    Every file is checked and staged first (this is where a full disk, a read-only folder or a
    concurrent edit shows up); only then are the temporary files renamed over the originals.
    Raises WriteFailed naming the file that failed; no temporary file is left behind, also when
    the run is interrupted.
    """
    with _interrupts_deferred():
        _write_together(changes)


def _write_together(changes: list[FileChange]) -> None:
    staged: list[_Staged] = []
    renamed = 0
    try:
        for change in changes:
            try:
                staged.append(_stage(change))
            except FileProblem as problem:
                raise WriteFailed(change.path, problem.message) from None
        for item in staged:
            try:
                os.replace(item.temp, item.target)
            except OSError as error:
                raise WriteFailed(item.target, f"cannot write: {describe_os_error(error)}") from None
            renamed += 1
    finally:
        for item in staged[renamed:]:
            item.temp.unlink(missing_ok=True)
