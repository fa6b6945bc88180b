"""Real image builds and containers for the end-to-end tests, without a Docker engine.

Everything runs through Debian's buildah (build) and podman (run) on a private storage, so a
test never touches images or containers it did not make. podman runs containers with the OCI
runtime that works on this machine (see choose_oci_runtime); buildah builds with chroot
isolation, which needs none. The official ``node`` images are stood in for by standins.py.
"""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import socket
import subprocess
import tarfile
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

#: podman cannot raise these limits on this kind of machine unless they are given explicitly.
CONTAINER_ULIMITS = ("--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024")

#: buildah and podman build and run; the rest build the stand-in node images (standins.py).
REQUIRED_TOOLS = ("buildah", "podman", "mmdebstrap", "npm", "musl-gcc", "busybox")


# What buildah prints when sealing the in-memory copy of its runtime fails with EBUSY.
_RUNTIME_SEAL_RACE = "sealing memfd copy: Device or resource busy"


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


#: The user's cache folder as it was when the tests were collected: the test session points
#: XDG_CACHE_HOME at a fresh folder before any test runs, which would make every run cold.
_USER_CACHE_HOME = os.environ.get("XDG_CACHE_HOME")


def default_cache_dir() -> Path:
    """Where downloads and the stand-ins' layers are kept between test runs.

    ``$DOCKFIX_E2E_CACHE``, else ``dockfix-e2e`` in the user's cache folder (``$XDG_CACHE_HOME``
    or ``~/.cache``).
    """
    override = os.environ.get("DOCKFIX_E2E_CACHE")
    if override:
        return Path(override)
    return Path(_USER_CACHE_HOME or Path.home() / ".cache") / "dockfix-e2e"


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


#: The OCI runtimes podman may run containers with, in the order they are tried.
OCI_RUNTIMES = ("runc", "crun")

#: Where runtimes are installed when they are not on PATH (runc is in /usr/sbin on Debian).
_RUNTIME_FOLDERS = ("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/usr/libexec/podman")


def find_runtime(name: str) -> str | None:
    """The path of the OCI runtime ``name`` (a name or a path), or None when it is not installed."""
    if "/" in name:
        return name if os.access(name, os.X_OK) else None
    for candidate in (shutil.which(name), *(f"{folder}/{name}" for folder in _RUNTIME_FOLDERS)):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


def choose_oci_runtime(engine: ContainerEngine, candidates: Sequence[str] | None = None) -> str:
    """The first OCI runtime (``runc``, then ``crun``) that runs a trivial container here.

    podman's default is not always usable: crun, for one, fails on machines whose cgroups are in
    hybrid mode. A runtime that is not installed is skipped; one that is installed is tried for
    real. DOCKFIX_E2E_OCI_RUNTIME names the one to use (it is still tried).
    """
    forced = os.environ.get("DOCKFIX_E2E_OCI_RUNTIME")
    if candidates is None:
        candidates = (forced,) if forced else OCI_RUNTIMES
    failures = []
    for candidate in candidates:
        path = find_runtime(candidate)
        if path is None:
            failures.append(f"{candidate}: not installed")
            continue
        problem = engine.container_problem(path)
        if problem is None:
            return path
        failures.append(f"{candidate}: {problem}")
    raise HarnessError("no OCI runtime can run a container here (" + "; ".join(failures) + ")")


class ContainerEngine:
    """buildah and podman sharing one private storage under ``workdir``.

    No daemon: overlay or vfs storage (see choose_storage_driver) and chroot isolation for
    builds, which needs no OCI runtime. podman runs containers with ``runtime`` when one is set
    (see choose_oci_runtime): the machine's default may be one that cannot run here, such as
    crun on cgroups in hybrid mode. Every build keeps one layer per instruction (``--layers``),
    as Docker does, so a secret written in one step and deleted in the next is still found in
    its layer.
    """

    def __init__(self, workdir: Path, storage_driver: str = "vfs", runtime: str | None = None) -> None:
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.storage_driver = storage_driver
        self.runtime = runtime
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
        """Run podman on this engine's storage, with this engine's OCI runtime."""
        runtime = ("--runtime", self.runtime) if self.runtime else ()
        return self._run("podman", (*runtime, *args), timeout, check)

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

    def container_problem(self, runtime: str) -> str | None:
        """Why ``runtime`` cannot run a trivial container here, or None when it can."""
        result = self._run(
            "podman",
            (
                "--runtime",
                runtime,
                "run",
                "--rm",
                *CONTAINER_ULIMITS,
                "--network",
                "none",
                self.busybox_image(),
                "true",
            ),
            timeout=120,
            check=False,
        )
        if result.returncode == 0:
            return None
        lines = (result.stderr or result.stdout).strip().splitlines()
        return lines[-1] if lines else f"exit {result.returncode}"

    def busybox_image(self) -> str:
        """A local image holding only Debian's static busybox (made once per engine)."""
        name = "localhost/e2e-busybox:latest"
        if self.buildah("inspect", "--type", "image", name, check=False).returncode != 0:
            busybox = shutil.which("busybox") or "/bin/busybox"
            container = self.buildah("from", "scratch").stdout.strip()
            try:
                self.buildah("copy", "--chmod", "0755", container, busybox, "/bin/busybox")
                self.buildah("config", "--entrypoint", '["/bin/busybox"]', container)
                self.buildah("commit", "--quiet", container, name)
            finally:
                self.buildah("rm", container, check=False)
        return name

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
        log = result.stdout + result.stderr
        if result.returncode != 0 and _RUNTIME_SEAL_RACE in log:
            # The copy of itself that buildah's runtime seals before running a step can meet a
            # writable mapping and fail with EBUSY (seen once in three full runs, on the build of
            # an unchanged Dockerfile too): a fault of the machine, not of the Dockerfile, so the
            # build is tried once more (with --layers, the steps that were built come from cache).
            result = self.buildah(*argv, timeout=timeout, check=False)
            log = result.stdout + result.stderr
        seconds = time.monotonic() - started
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
        """Run ``argv`` in a throw-away container of ``image``; return the finished process.

        ``image`` may be a local one or one on the loopback registry (pulled over plain HTTP).
        """
        user_args = ["--user", user] if user else []
        return self.podman(
            "run", "--rm", "--tls-verify=false", *CONTAINER_ULIMITS, *user_args, *extra_args, image, *argv, check=check
        )

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
# Registry and shutdown checks


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
