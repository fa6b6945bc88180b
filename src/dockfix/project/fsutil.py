"""Reading Dockerfiles carefully and writing files atomically, without losing anyone's update.

Writing follows one recipe for every file a fix touches (the Dockerfile, `.dockerignore`, app
sources): the new bytes go to a temporary file in the same folder, which then replaces the
original with `os.replace`, so a reader sees either the old file or the new one, never half of
each. The original's permission bits (and, when allowed, its owner) are kept. A symbolic link is
written through: its target gets the new bytes and the link stays a link. A new file gets mode
0644 as reduced by the umask, like any file an editor creates. Which links may be written through
is the runner's call (`leads_outside`): only those whose target stays in the folders it was given.

The write happens where the check happened: the file's folder is opened one folder at a time
without following a link, and the file, its temporary file and the rename are all named relative
to that folder, so a link swapped in for the file or a folder on its path cannot redirect it.

The file on disk is compared with the bytes the fixes were computed from before the temporary
file is made, and again (bytes and identity) once it is synced, just before the rename; if
someone changed it in the meantime the write is refused rather than losing that change.
"""

from __future__ import annotations

import errno
import os
import re
import secrets
import signal
import stat
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

# Real Dockerfiles are a few kilobytes; anything this big is not one, and refusing it before
# reading keeps a stray `dockfix big.iso` fast.
MAX_DOCKERFILE_SIZE = 1024 * 1024
TEMP_SUFFIX = ".dockfix-tmp"
NEW_FILE_MODE = 0o644
SWAPPED_LINK = "a symbolic link was swapped in on its path since it was checked; not written"


class FileProblem(Exception):
    """A file cannot be read or written; `message` is one line for the user."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class FileTooLarge(FileProblem):
    """The file is larger than the reader's limit."""


def describe_os_error(error: OSError) -> str:
    """`Permission denied` rather than `[Errno 13] Permission denied: '/x'` (the path is shown anyway)."""
    return error.strerror or type(error).__name__


class FileMissing(FileProblem):
    """The file does not exist (for readers that treat that as "absent", not as a problem)."""


@contextmanager
def _opened_regular(path: Path, dir_fd: int | None = None) -> Iterator[tuple[BinaryIO, os.stat_result]]:
    """The file opened for reading, refused (FileProblem) unless it is a regular file.

    Opening a FIFO blocks until a writer comes (forever, and with Ctrl-C held while a write is
    staged) and a device may never end, so the file is opened without blocking and fstat decides.
    With `dir_fd` (a file about to be written, by its name in that folder) a symbolic link is
    not followed but refused.
    """
    flags = os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
    try:
        descriptor = os.open(path, flags if dir_fd is None else flags | os.O_NOFOLLOW, dir_fd=dir_fd)
    except FileNotFoundError:
        raise FileMissing("no such file or directory") from None
    except OSError as error:
        if dir_fd is not None and error.errno == errno.ELOOP:
            raise FileProblem(SWAPPED_LINK) from None
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
            raise FileTooLarge(too_large(info.st_size, limit, what))
        # Read one byte past the limit: a file that grew after fstat() is still refused.
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise FileTooLarge(f"too large{what} (over {limit} bytes)")
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
    """New bytes for one file; `expected` is what must be on disk now (None: must not exist).

    `within` holds the folders, their links resolved when the file was read and checked, that the
    file must still be in when it is written (the build context); empty: wherever it is then.
    """

    path: Path
    expected: bytes | None
    new: bytes
    within: tuple[Path, ...] = ()


class WriteFailed(FileProblem):
    """Writing `path` failed; nothing of its group was written (unless a rename itself failed)."""

    def __init__(self, path: Path, message: str):
        super().__init__(message)
        self.path = path


@dataclass
class Leftovers:
    """Temporary files that killed runs left in the folders a run writes in, removed as it meets them.

    Only dockfix's own are touched: named as `_TEMP_NAME` says, regular files of this user, last
    modified before `older_than`, made by a process that no longer runs.
    """

    older_than: float
    removed: list[Path] = field(default_factory=list, init=False)  # the caller reports and clears them
    _swept: set[tuple[int, int]] = field(default_factory=set, init=False, repr=False)

    def sweep(self, folder: int, path: Path) -> None:
        """Remove the leftovers in `folder` (a descriptor of `path`), once per folder."""
        info = os.fstat(folder)
        if (info.st_dev, info.st_ino) in self._swept:
            return
        self._swept.add((info.st_dev, info.st_ino))
        self.removed.extend(path / name for name in _remove_leftovers(folder, self.older_than))


# `.Dockerfile.4242-1a2b3c4d.dockfix-tmp`: the file it stands in for, the process that made it and a
# random part, so that a later run knows its own leftovers from anything else.
_TEMP_NAME = re.compile(r"\.(?P<name>.+)\.(?P<pid>[0-9]{1,10})-[0-9a-f]{8}" + re.escape(TEMP_SUFFIX), re.DOTALL)
# A folder on the way to a file is opened to be searched (only searched, with O_PATH: no read
# permission needed) and never through a symbolic link.
_SEARCH = getattr(os, "O_PATH", os.O_RDONLY) | os.O_DIRECTORY | os.O_CLOEXEC
_NEW_TEMPORARY = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


def _is_link(name: str, folder: int) -> bool:
    try:
        return stat.S_ISLNK(os.stat(name, dir_fd=folder, follow_symlinks=False).st_mode)
    except OSError:
        return False


def _pinned_folder(folder: Path) -> int:
    """A descriptor of `folder` (a path with no link in it), opened one folder at a time from `/`.

    No component is followed if it is a symbolic link, so a link swapped in for any folder on the
    path after it was resolved and checked cannot lead the write elsewhere. Raises FileProblem.
    """
    descriptor = os.open(folder.anchor, _SEARCH)
    try:
        for part in folder.parts[1:]:
            try:
                inner = os.open(part, _SEARCH | os.O_NOFOLLOW, dir_fd=descriptor)
            except OSError as error:
                if error.errno in (errno.ELOOP, errno.ENOTDIR) and _is_link(part, descriptor):
                    raise FileProblem(SWAPPED_LINK) from None
                raise FileProblem(f"cannot write: {describe_os_error(error)}") from None
            os.close(descriptor)
            descriptor = inner
    except BaseException:
        os.close(descriptor)
        raise
    return descriptor


def _confined(change: FileChange) -> Path:
    """Where the file really is now, every link followed; refused unless that is in `within`.

    A Dockerfile named through a link is written through it: this is its target.
    """
    real = Path(os.path.realpath(change.path))
    if change.within and not any(real.is_relative_to(folder) for folder in change.within):
        raise FileProblem(
            f"now leads to {real}, outside the folders checked (a symbolic link was swapped in); not written"
        )
    return real


def _read_current(folder: int, name: str, expected: bytes | None) -> tuple[bytes | None, os.stat_result | None]:
    """The file's bytes and status now (None, None: absent); a file larger than `expected` has changed anyway."""
    limit = len(expected) if expected is not None else 0
    try:
        with _opened_regular(Path(name), dir_fd=folder) as (handle, info):
            return handle.read(limit + 1), info
    except FileMissing:
        return None, None
    except FileProblem as problem:
        if problem.message == SWAPPED_LINK:
            raise
        raise FileProblem(f"cannot read before writing: {problem.message.removeprefix('cannot read: ')}") from None


def _unchanged(folder: int, name: str, expected: bytes | None) -> os.stat_result | None:
    """The file's status, if it holds exactly `expected` (None: it must not exist); else FileProblem."""
    current, info = _read_current(folder, name, expected)
    if current != expected:
        what = "was created" if expected is None else "changed on disk" if current is not None else "was deleted"
        raise FileProblem(f"{what} since it was read; not written (run dockfix again)")
    return info


def _identity(info: os.stat_result | None) -> tuple[int, ...] | None:
    return None if info is None else (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns)


def _refuse_read_only(folder: int, name: str, info: os.stat_result) -> None:
    """Replacing by rename would bypass a read-only mode, so honour it as an editor would.

    Root may write anything, but a file with no write permission bit at all was made read-only
    on purpose, so it is refused to root too.
    """
    writable = os.access(name, os.W_OK, dir_fd=folder, effective_ids=os.access in os.supports_effective_ids)
    if not writable or not stat.S_IMODE(info.st_mode) & 0o222:
        raise FileProblem("cannot write: file is read-only")


def _remove(folder: int, name: str) -> None:
    with suppress(FileNotFoundError):
        os.unlink(name, dir_fd=folder)


def _write_temporary(folder: int, name: str, data: bytes, original: os.stat_result | None) -> str:
    """A new temporary file beside `name` in `folder` holding `data`, synced; raises OSError, leaving none.

    It gets the original's permission bits (and, when allowed, its owner); a new file 0644 under
    the umask. tempfile.mkstemp cannot create relative to a folder descriptor, so the name is
    made here as it makes its own: O_EXCL, another random part on a clash.
    """
    for _attempt in range(100):
        temp = f".{name}.{os.getpid()}-{secrets.token_hex(4)}{TEMP_SUFFIX}"
        try:
            descriptor = os.open(temp, _NEW_TEMPORARY, 0o600, dir_fd=folder)
            break
        except FileExistsError:
            continue
    else:
        raise FileExistsError(errno.EEXIST, "no free temporary file name")
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            if original is not None:
                # Owner first: changing it would clear set-id bits the mode puts back.
                if (original.st_uid, original.st_gid) != (os.geteuid(), os.getegid()):
                    # Only root may give a file away; the content matters more.
                    with suppress(PermissionError):
                        os.fchown(handle.fileno(), original.st_uid, original.st_gid)
                os.fchmod(handle.fileno(), stat.S_IMODE(original.st_mode))
            else:
                os.fchmod(handle.fileno(), NEW_FILE_MODE & ~current_umask())
            os.fsync(handle.fileno())
    except BaseException:
        _remove(folder, temp)  # a full disk, or Ctrl-C while staging, must not leave it
        raise
    return temp


@dataclass
class _Staged:
    change: FileChange
    folder: int  # descriptor of the folder the file is in, pinned when it was staged
    name: str
    temp: str
    found: os.stat_result | None  # the file as it was checked (None: absent)

    def check_still_unchanged(self) -> None:
        """After the temporary file is synced, just before the rename: an edit made while it was
        written (the same bytes or not) is detected, not overwritten."""
        info = _unchanged(self.folder, self.name, self.change.expected)
        if _identity(info) != _identity(self.found):
            raise FileProblem("changed on disk since it was read; not written (run dockfix again)")


def _stage(change: FileChange, leftovers: Leftovers | None) -> _Staged:
    """Check the file is as expected and write its new bytes to a temporary file beside it."""
    real = _confined(change)
    folder = _pinned_folder(real.parent)
    try:
        if leftovers is not None:
            leftovers.sweep(folder, real.parent)
        found = _unchanged(folder, real.name, change.expected)
        if found is not None:
            _refuse_read_only(folder, real.name, found)
        try:
            temp = _write_temporary(folder, real.name, change.new, found)
        except OSError as error:
            raise FileProblem(f"cannot write: {describe_os_error(error)}") from None
    except BaseException:
        os.close(folder)
        raise
    return _Staged(change, folder, real.name, temp, found)


def _running(pid: int) -> bool:
    """Whether process `pid` exists (its temporary files may be in use: a run writing at the same time)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, OverflowError):
        return False
    except PermissionError:
        return True  # another user's process
    return True


def _remove_leftovers(folder: int, older_than: float) -> list[str]:
    """The names of the leftover temporary files removed from `folder` (see `Leftovers`)."""
    try:
        listing = os.open(".", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC, dir_fd=folder)
    except OSError:
        return []  # a folder that may be searched but not listed: nothing to sweep
    try:
        names = os.listdir(listing)
    except OSError:
        return []
    finally:
        os.close(listing)
    removed = []
    for name in names:
        match = _TEMP_NAME.fullmatch(name)
        if match is None or _running(int(match["pid"])):
            continue
        try:
            info = os.stat(name, dir_fd=folder, follow_symlinks=False)
            if stat.S_ISREG(info.st_mode) and info.st_uid == os.geteuid() and info.st_mtime < older_than:
                os.unlink(name, dir_fd=folder)
                removed.append(name)
        except OSError:
            continue
    return removed


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


def write_together(changes: list[FileChange], leftovers: Leftovers | None = None) -> None:
    """Write several files so that either all are replaced or none is touched.

    Every file is checked and staged first (this is where a full disk, a read-only folder, a
    concurrent edit or a swapped link shows up); each is checked again once every temporary file
    is synced, and only then are they renamed over the originals, through descriptors of their
    folders pinned when they were checked. Raises WriteFailed naming the file that failed; no
    temporary file is left behind, also when the run is interrupted. `leftovers`: sweep the
    folders written in for files earlier runs left.
    """
    with _interrupts_deferred():
        _write_together(changes, leftovers)


def _write_together(changes: list[FileChange], leftovers: Leftovers | None) -> None:
    staged: list[_Staged] = []
    renamed = 0
    try:
        for change in changes:
            try:
                staged.append(_stage(change, leftovers))
            except FileProblem as problem:
                raise WriteFailed(change.path, problem.message) from None
        for item in staged:
            try:
                item.check_still_unchanged()
            except FileProblem as problem:
                raise WriteFailed(item.change.path, problem.message) from None
        for item in staged:
            try:
                os.replace(item.temp, item.name, src_dir_fd=item.folder, dst_dir_fd=item.folder)
            except OSError as error:
                raise WriteFailed(item.change.path, f"cannot write: {describe_os_error(error)}") from None
            renamed += 1
    finally:
        for item in staged[renamed:]:
            _remove(item.folder, item.temp)
        for item in staged:
            os.close(item.folder)


def replace_file(path: Path, data: bytes) -> None:
    """Make `path` hold `data`, by a temporary file renamed over it; raises OSError.

    For files dockfix makes rather than fixes (`--patch-dir`): a symbolic link of that name is
    replaced, never written through, and a failure (a full disk) leaves no file, empty or partial.
    The folder is taken as given, links and all: it is the user's choice.
    """
    folder = os.open(path.parent, _SEARCH)
    try:
        with _interrupts_deferred():
            temp = _write_temporary(folder, path.name, data, None)
            try:
                os.replace(temp, path.name, src_dir_fd=folder, dst_dir_fd=folder)
            except BaseException:
                _remove(folder, temp)
                raise
    finally:
        os.close(folder)
