"""OCI distribution client: which digest does a registry serve for ``image:tag``?

The answer must be the digest ``docker pull image:tag`` would record, which for a multi-platform
tag is the digest of the image index (or Docker manifest list), never one platform's manifest.
Registries fall back to a single platform's manifest when the Accept header lacks the list types,
so every manifest request names all four manifest media types.

The protocol is the one Docker Hub speaks: ``GET /v2/`` learns the auth challenge, a Bearer
challenge is answered with a token from the realm (anonymous, Basic credentials, or an identity
token), a Basic challenge with Basic credentials; then ``GET /v2/<repository>/manifests/<tag>``.
The digest pinned is the sha256 of the manifest received, which must be a JSON manifest or index
of a known media type; a ``Docker-Content-Digest`` header that is not the digest of that body is
refused. Answers are bounded: ``MANIFEST_SIZE_LIMIT`` bytes, a per-read timeout and a deadline per
request, and redirects only to https or loopback http. Credentials come from the user's Docker config
(``auths`` and credential helpers run the way the docker CLI runs them).

Results are cached in process and on disk (one JSON file in the user's cache folder), so a bulk
run over many repositories asks once per image. Whether a pin is still current (``check_pin``) is
asked of the registry, never of the disk cache. With ``offline=True`` no socket is opened at all.
Only the standard library is used.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import ipaddress
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict, TypeVar

from dockfix.dockerfile.imageref import ImageReference

from .cache import user_cache_dir

if TYPE_CHECKING:
    from ssl import SSLContext

    from .network import Response, Transport

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
MANIFEST_MEDIA_TYPES = (OCI_INDEX, DOCKER_MANIFEST_LIST, OCI_MANIFEST, DOCKER_MANIFEST)
"""Every type a manifest request accepts; lists first, so a multi-platform tag answers with its index."""

DOCKER_HUB_ENDPOINT = "https://registry-1.docker.io"
DOCKER_HUB_CREDENTIAL_KEY = "https://index.docker.io/v1/"
"""The server address under which the docker CLI stores Docker Hub credentials."""

_DOCKER_HUB_CONFIG_KEYS = (
    DOCKER_HUB_CREDENTIAL_KEY,
    "index.docker.io",
    "docker.io",
    "registry-1.docker.io",
    "https://index.docker.io/v1",
    "https://registry-1.docker.io",
)
_DIGEST = re.compile(r"sha256:[0-9a-f]{64}|sha512:[0-9a-f]{128}")
_CHALLENGE_PARAM = re.compile(r'([A-Za-z_][\w-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))')
_ESCAPED_CHARACTER = re.compile(r"\\(.)")
_CACHE_FILE_NAME = "registry-digests.json"
_CACHE_FORMAT_VERSION = 2
"""2: a digest a mirror served is keyed by the mirror too (version 1 filed it as Docker Hub's)."""
_DEFAULT_TOKEN_LIFETIME = 60.0
_CREDENTIAL_HELPER_TIMEOUT = 30.0
USER_AGENT = "dockfix"
MANIFEST_SIZE_LIMIT = 4 * 1024 * 1024
"""The largest answer read (OCI lets registries refuse manifests over 4 MiB); never more than one byte over it is read."""
READ_TIMEOUT = 10.0
"""Seconds one read from a registry may wait."""
REQUEST_DEADLINE = 30.0
"""Seconds one request (its redirects included) may take, however the server paces its bytes."""


_Answer = TypeVar("_Answer")
PIN_CHECK_LIFETIME = 3600.0
"""Seconds a client trusts what it learnt of a tag for a pin check: a run asks once per tag, a
language server that runs for days asks again each hour."""
_CREATED_ANNOTATION = "org.opencontainers.image.created"
_LIST_TYPES = frozenset({OCI_INDEX, DOCKER_MANIFEST_LIST})


@dataclass(frozen=True, slots=True)
class ServedManifest:
    """What a registry serves for a tag now: its digest, and what the manifest itself says."""

    digest: str
    media_type: str
    platform_digests: frozenset[str]
    """The manifests an index lists (one per platform, attestations too); empty for a single manifest."""
    created: date | None
    """The newest `org.opencontainers.image.created` the manifest states, for itself or for the
    images an index lists (the official images state it for each platform); None when it states none."""

    @property
    def is_index(self) -> bool:
        return self.media_type in _LIST_TYPES


@dataclass(frozen=True, slots=True)
class PinCheck:
    """A `tag@digest` pin held against what the registry serves for the tag now."""

    pinned: str
    served: ServedManifest | None
    """None when the registry's digest header already named the pin, and no manifest was read."""
    pinned_media_type: str | None = None
    """Asked only of a pin that is no longer served: the media type of the pinned manifest, or None
    when the registry no longer has it."""

    @property
    def current(self) -> bool:
        """The tag still serves the pin: its digest, or one platform's manifest in its index."""
        return self.served is None or self.pinned == self.served.digest or self.pinned in self.served.platform_digests

    @property
    def pins_one_platform(self) -> bool | None:
        """True when the pin names one platform's manifest and the tag now serves an index; None when
        the registry no longer has the pinned manifest, so nobody can tell."""
        if self.served is None or not self.served.is_index:
            return False
        if self.pinned_media_type is None:
            return None
        return self.pinned_media_type not in _LIST_TYPES


class _CacheEntry(TypedDict):
    digest: str
    resolved_at: float  # seconds since the epoch


class RegistryError(Exception):
    """A registry look-up failed; ``str(error)`` is one line, safe to show (never holds a secret)."""

    def __init__(self, message: str, *, reference: ImageReference | None = None) -> None:
        super().__init__(" ".join(message.split()))
        self.reference = reference

    @property
    def message(self) -> str:
        """The one-line message for the user."""
        return str(self)


class RegistryUnavailable(RegistryError):
    """The registry could not be reached, timed out, rate-limited us, or kept failing (5xx)."""


class TagNotFound(RegistryError):
    """The registry does not serve this repository or tag."""


class RegistryAuthError(RegistryError):
    """The registry wants credentials we do not have, or refused the ones we sent."""


class OfflineCacheMiss(RegistryError):
    """Offline mode, and no cached answer for this image."""


class NetworkProblem(Exception):
    """An HTTP exchange that brought no answer: ``str(problem)`` says why, in a few words."""


class AnswerRefused(NetworkProblem):
    """An answer dockfix will not use (too slow, too large, redirected where it may not go); not retried."""


@dataclass(frozen=True)
class Credentials:
    """A username and secret for one registry; ``repr`` never shows the secret."""

    username: str
    secret: str

    @property
    def is_identity_token(self) -> bool:
        """The docker CLI stores OAuth2 refresh tokens with the username ``<token>``."""
        return self.username == "<token>"

    def basic_header(self) -> str:
        """The value of an ``Authorization: Basic`` header."""
        raw = f"{self.username}:{self.secret}".encode()
        return "Basic " + base64.b64encode(raw).decode("ascii")

    def __repr__(self) -> str:
        return f"Credentials(username={self.username!r}, secret=<hidden>)"


@dataclass(frozen=True)
class _Challenge:
    scheme: str  # lower case: "bearer" or "basic"
    params: Mapping[str, str]


@dataclass(frozen=True)
class _Endpoint:
    base_url: str  # scheme://host[:port], no trailing slash
    display_name: str  # what the user knows this registry as
    credential_key: str  # key of the Docker config / credential helper


def is_loopback_host(host: str) -> bool:
    """True for ``localhost`` and loopback addresses, with or without a port."""
    hostname = urllib.parse.urlsplit(f"//{host}").hostname or ""
    if hostname == "localhost":
        return True
    try:
        return ipaddress.ip_address(hostname).is_loopback
    except ValueError:
        return False


def http_transport(
    *,
    timeout: float,
    deadline: float = REQUEST_DEADLINE,
    plain_http_allowed: Callable[[str], bool] = is_loopback_host,
    ssl_context: SSLContext | None = None,
) -> Transport:
    """The HTTP layer (urllib, http.client, TLS), imported here, at the first request.

    The one door of the network client: an offline run never makes a request, and these modules
    take longer to import than a small Dockerfile takes to check.
    """
    from .network import Transport

    return Transport(
        timeout=timeout,
        deadline=deadline,
        size_limit=MANIFEST_SIZE_LIMIT,
        plain_http_allowed=plain_http_allowed,
        ssl_context=ssl_context,
    )


def default_docker_config() -> Path:
    """The Docker CLI's config file: ``$DOCKER_CONFIG/config.json`` or ``~/.docker/config.json``."""
    folder = os.environ.get("DOCKER_CONFIG")
    return (Path(folder) if folder else Path.home() / ".docker") / "config.json"


class DockerCredentialStore:
    """Reads credentials the way the docker CLI does: ``credHelpers``, ``credsStore``, then ``auths``."""

    def __init__(self, config_path: Path | None = None) -> None:
        if config_path is not None and config_path.is_dir():
            config_path = config_path / "config.json"
        self._config_path = config_path if config_path is not None else default_docker_config()
        self._config: dict[str, Any] | None = None  # the Docker config, as the user wrote it
        self.notes: dict[str, str] = {}
        """Why a look-up found nothing (a missing helper, say), by server key; never a secret."""

    def lookup(self, server: str) -> Credentials | None:
        """Credentials for ``server`` (a host like ``ghcr.io`` or Docker Hub's key), or None."""
        config = self._load()
        helper = _match_key(config.get("credHelpers") or {}, server) or config.get("credsStore")
        if isinstance(helper, str) and helper:
            credentials = self._run_helper(helper, server)
            if credentials is not None:
                return credentials
        entry = _match_key(config.get("auths") or {}, server)
        if isinstance(entry, dict):
            return _credentials_from_auth_entry(entry)
        return None

    def _load(self) -> dict[str, Any]:
        if self._config is None:
            try:
                loaded = json.loads(self._config_path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                loaded = {}
            self._config = loaded if isinstance(loaded, dict) else {}
        return self._config

    def _run_helper(self, helper: str, server: str) -> Credentials | None:
        # The docker CLI runs `docker-credential-<helper> get` with the server URL on stdin and
        # reads {"ServerURL", "Username", "Secret"} from stdout; "not found" is a non-zero exit.
        program = shutil.which(f"docker-credential-{helper}")
        if program is None:
            self.notes[server] = f"credential helper docker-credential-{helper} is not on PATH"
            return None
        try:
            completed = subprocess.run(
                [program, "get"],
                input=server.encode(),
                capture_output=True,
                timeout=_CREDENTIAL_HELPER_TIMEOUT,
                check=False,
            )
        except (OSError, subprocess.SubprocessError):
            self.notes[server] = f"credential helper docker-credential-{helper} could not be run"
            return None
        if completed.returncode != 0:
            self.notes[server] = f"credential helper docker-credential-{helper} has no entry"
            return None
        try:
            answer = json.loads(completed.stdout)
            username, secret = answer["Username"], answer["Secret"]
        except (ValueError, KeyError, TypeError):
            self.notes[server] = f"credential helper docker-credential-{helper} gave an unreadable answer"
            return None
        if not isinstance(username, str) or not isinstance(secret, str) or not secret:
            return None
        return Credentials(username, secret)


def _hostname_of_key(key: str) -> str:
    """Docker's ConvertToHostname: drop the scheme and any path."""
    for prefix in ("http://", "https://"):
        if key.startswith(prefix):
            key = key[len(prefix) :]
            break
    return key.split("/", 1)[0]


def _match_key(table: Mapping[str, object], server: str) -> object:
    if server in table:
        return table[server]
    aliases = _DOCKER_HUB_CONFIG_KEYS if server == DOCKER_HUB_CREDENTIAL_KEY else (server,)
    wanted = {_hostname_of_key(alias) for alias in aliases}
    for key, value in table.items():
        if isinstance(key, str) and _hostname_of_key(key) in wanted:
            return value
    return None


def _credentials_from_auth_entry(entry: Mapping[str, object]) -> Credentials | None:
    identity_token = entry.get("identitytoken")
    if isinstance(identity_token, str) and identity_token:
        return Credentials("<token>", identity_token)
    encoded = entry.get("auth")
    if isinstance(encoded, str) and encoded:
        try:
            decoded = base64.b64decode(encoded, validate=False).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            return None
        username, colon, password = decoded.partition(":")
        return Credentials(username, password) if colon else None
    plain_username, plain_password = entry.get("username"), entry.get("password")
    if isinstance(plain_username, str) and isinstance(plain_password, str) and plain_password:
        return Credentials(plain_username, plain_password)
    return None


class DigestCache:
    """A JSON file of ``registry/repository:tag`` -> digest, rewritten atomically, merged on write.

    Several dockfix processes may share the file; each write re-reads it and merges, so entries
    written by another process are kept. A file that cannot be read or written is ignored: the
    cache only saves requests, it never decides an answer.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._entries: dict[str, _CacheEntry] | None = None
        self._lock = threading.Lock()

    def get(self, key: str, *, max_age: float | None) -> str | None:
        """The cached digest for ``key`` if present and younger than ``max_age`` seconds (None: any age)."""
        with self._lock:
            if self._entries is None:
                self._entries = self._read()
            entry = self._entries.get(key)
        if not entry:
            return None
        if max_age is not None and time.time() - entry.get("resolved_at", 0) > max_age:
            return None
        return entry["digest"]

    def put(self, key: str, digest: str) -> None:
        """Record ``digest`` for ``key`` now, in memory and on disk."""
        entry: _CacheEntry = {"digest": digest, "resolved_at": time.time()}
        with self._lock:
            merged = self._read()
            merged[key] = entry
            self._entries = merged
            self._write(merged)

    def _read(self) -> dict[str, _CacheEntry]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        if not isinstance(data, dict) or data.get("version") != _CACHE_FORMAT_VERSION:
            return {}
        entries = data.get("entries")
        if not isinstance(entries, dict):
            return {}
        return {
            key: _CacheEntry(digest=value["digest"], resolved_at=value["resolved_at"])
            for key, value in entries.items()
            if isinstance(value, dict)
            and isinstance(value.get("digest"), str)
            and _DIGEST.fullmatch(value["digest"])
            and isinstance(value.get("resolved_at"), (int, float))
        }

    def _write(self, entries: dict[str, _CacheEntry]) -> None:
        payload = json.dumps({"version": _CACHE_FORMAT_VERSION, "entries": entries}, indent=1, sort_keys=True)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            handle, temp_name = tempfile.mkstemp(prefix=".digests-", suffix=".tmp", dir=self.path.parent)
            try:
                with os.fdopen(handle, "w", encoding="utf-8") as temp_file:
                    temp_file.write(payload)
                os.replace(temp_name, self.path)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(temp_name)
                raise
        except OSError:
            pass


def checked_mirror(mirror: str, insecure_registries: frozenset[str] = frozenset()) -> str:
    """The registry mirror URL in its normal form; ValueError says what is wrong with it.

    The run checks a mirror from the command line or a configuration file with this before any
    rule runs, so a bad one is a usage or configuration error, not a failure inside a rule.
    """
    parts = urllib.parse.urlsplit(mirror.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"registry mirror {mirror!r} must be an http(s) URL like https://mirror.example")
    if "@" in parts.netloc:
        # A password in the URL would end up in messages; the Docker config is the place for it.
        raise ValueError("registry mirror URL must not contain credentials; put them in the Docker config")
    if parts.scheme == "http" and not (is_loopback_host(parts.netloc) or parts.netloc in insecure_registries):
        raise ValueError(f"registry mirror {mirror!r}: plain http is only allowed for loopback hosts")
    path = parts.path.rstrip("/")
    if path.endswith("/v2"):
        path = path[: -len("/v2")]
    return f"{parts.scheme}://{parts.netloc}{path}"


class RegistryClient:
    """Resolves image tags to the digest the registry serves, with caching, mirror and credentials.

    ``mirror`` is a base URL (``https://mirror.example`` or ``http://127.0.0.1:5000``) that
    receives every Docker Hub look-up instead of Docker Hub; there is no fall-back to Docker Hub
    when the mirror fails. Other registries are reached at ``https://<host>``, or ``http://`` for
    loopback hosts and hosts listed in ``insecure_registries``.

    After a registry was found unavailable, later look-ups on it fail at once with the same
    error, so a bulk run does not wait out the timeouts once per file.
    """

    def __init__(
        self,
        *,
        mirror: str | None = None,
        offline: bool = False,
        cache_dir: Path | None = None,
        docker_config: Path | None = None,
        timeout: float = READ_TIMEOUT,
        deadline: float = REQUEST_DEADLINE,
        retries: int = 2,
        retry_backoff: float = 0.5,
        insecure_registries: Iterable[str] = (),
        cache_max_age: float | None = 24 * 3600.0,
        ssl_context: SSLContext | None = None,
        disk_cache: bool = True,
    ) -> None:
        self.offline = offline
        self.timeout = timeout
        self.deadline = deadline
        self.retries = max(0, retries)
        self.retry_backoff = retry_backoff
        self.cache_max_age = cache_max_age
        self.insecure_registries = frozenset(insecure_registries)
        self.mirror = self._validate_mirror(mirror) if mirror else None
        # Without one (--isolated), digests are looked up anew: offline, none is known.
        self.disk_cache = DigestCache((cache_dir or user_cache_dir()) / _CACHE_FILE_NAME) if disk_cache else None
        self.credential_store = DockerCredentialStore(docker_config)
        self.request_count = 0
        """HTTP requests attempted by this client (retries included); tests read it."""

        self._ssl_context = ssl_context
        self._transport: Transport | None = None
        self._lock = threading.Lock()
        self._digests: dict[str, str] = {}
        self._missing: dict[str, TagNotFound] = {}
        # What a pin check learnt, by key, with the monotonic time it was asked: the manifest
        # served, and the digest a HEAD on the tag named ("" for none).
        self._served: dict[str, tuple[float, ServedManifest]] = {}
        self._headed: dict[str, tuple[float, str]] = {}
        self._unavailable: dict[str, RegistryUnavailable] = {}
        self._challenges: dict[str, _Challenge | None] = {}
        self._tokens: dict[tuple[str, str], tuple[str, float]] = {}
        self._credentials: dict[str, Credentials | None] = {}
        self._secrets: set[str] = set()

    # Public API -----------------------------------------------------------------------------

    def resolve_digest(self, ref: ImageReference) -> str:
        """The ``sha256:...`` digest the registry serves for ``ref``'s tag (``latest`` if absent).

        For a multi-platform tag this is the index / manifest list digest. A reference with a
        digest and no tag is already pinned: its digest is returned without a look-up.
        Raises a :class:`RegistryError` subclass; never another exception for network trouble.
        """
        if ref.is_scratch:
            raise TagNotFound("scratch is not an image a registry serves", reference=ref)
        if ref.tag is None and ref.digest is not None:
            return ref.digest
        key = self._served_key(ref)
        with self._lock:
            if key in self._digests:
                return self._digests[key]
            if key in self._missing:
                raise self._missing[key]
        cached = None
        if self.disk_cache is not None:
            cached = self.disk_cache.get(key, max_age=None if self.offline else self.cache_max_age)
        if cached is not None:
            with self._lock:
                self._digests[key] = cached
            return cached
        if self.offline:
            raise OfflineCacheMiss(f"offline and no cached digest for {ref.cache_key}", reference=ref)

        try:
            digest = self._fetch_digest(ref)
        except TagNotFound as missing:
            with self._lock:
                self._missing[key] = missing
            raise
        with self._lock:
            self._digests[key] = digest
        if self.disk_cache is not None:
            self.disk_cache.put(key, digest)
        return digest

    def tag_exists(self, ref: ImageReference) -> bool:
        """True if the registry serves ``ref``'s tag; False if it does not; other failures raise."""
        try:
            self.resolve_digest(ref)
        except TagNotFound:
            return False
        return True

    def check_pin(self, ref: ImageReference) -> PinCheck:
        """Whether the digest `ref` pins is what the registry serves for its tag (``latest`` if absent) now.

        Asked of the registry, never of the disk cache, whose answers may be a day old: once per
        tag per client (one run; a long-lived client asks again after PIN_CHECK_LIFETIME). A HEAD comes first: when its ``Docker-Content-Digest`` names the
        pin, the pin is current and nothing more is asked (a HEAD is not a pull in Docker Hub's
        rate limit). Otherwise the manifest is read and checked like any digest dockfix pins, and
        the fresh digest replaces the cached one, so the rest of the run and later offline runs pin
        it too. Raises a :class:`RegistryError` subclass (:class:`OfflineCacheMiss` offline).
        """
        if ref.digest is None:
            raise ValueError(f"{ref} is not pinned by digest")
        if self.offline:
            raise OfflineCacheMiss(f"offline: whether {ref} is current needs the registry", reference=ref)
        unpinned = ref.with_digest(None)
        key = self._served_key(unpinned)
        with self._lock:
            served, headed = _recent(self._served.get(key)), _recent(self._headed.get(key))
            if key in self._missing:
                raise self._missing[key]
        try:
            if served is None and headed is None:
                headed = self._head_digest(unpinned) or ""
                with self._lock:
                    self._headed[key] = (time.monotonic(), headed)
            if served is None and headed == ref.digest:
                return PinCheck(ref.digest, None)
            if served is None:
                served = self._served_now(unpinned, key)
        except TagNotFound as missing:
            with self._lock:
                self._missing[key] = missing
            raise
        check = PinCheck(ref.digest, served)
        if check.current:
            return check
        return PinCheck(ref.digest, served, self._media_type_of(unpinned, ref.digest))

    def _head_digest(self, ref: ImageReference) -> str | None:
        """The digest header of a HEAD on the tag: taken at its word only to say a pin is current."""
        try:
            answer = self._asking(
                ref, lambda endpoint: self._manifest_answer(endpoint, ref, "HEAD", ref.tag or "latest")
            )
        except RegistryError as error:
            if type(error) is not RegistryError:  # unavailable, refused, no such tag: a GET would be too
                raise
            return None  # a registry that answers HEAD oddly (405, say) may still answer GET
        return answer.headers.get("docker-content-digest", "").strip() or None

    def _served_now(self, ref: ImageReference, key: str) -> ServedManifest:
        def read(endpoint: _Endpoint) -> ServedManifest:
            answer = self._manifest_answer(endpoint, ref, "GET", ref.tag or "latest")
            digest = self._verified_digest(answer, endpoint, ref)
            return _served_manifest(digest, answer)

        served = self._asking(ref, read)
        with self._lock:
            self._served[key] = (time.monotonic(), served)
            self._digests[key] = served.digest
        if self.disk_cache is not None:
            self.disk_cache.put(key, served.digest)
        return served

    def _media_type_of(self, ref: ImageReference, digest: str) -> str | None:
        """The media type of the manifest `digest` in `ref`'s repository; None if it is not served."""
        try:
            answer = self._asking(ref, lambda endpoint: self._manifest_answer(endpoint, ref, "HEAD", digest))
        except TagNotFound:
            return None
        return answer.headers.get("content-type", "").split(";")[0].strip() or None

    def _served_key(self, ref: ImageReference) -> str:
        """The cache key of ``ref`` as the registry that answers it: a mirror's answer is the
        mirror's, never read back as Docker Hub's by a run without that mirror."""
        if ref.is_docker_hub and self.mirror:
            return f"{ref.cache_key} via {self.mirror}"
        return ref.cache_key

    # Endpoints ------------------------------------------------------------------------------

    def _validate_mirror(self, mirror: str) -> str:
        return checked_mirror(mirror, self.insecure_registries)

    def _plain_http_allowed(self, host: str) -> bool:
        return is_loopback_host(host) or host in self.insecure_registries

    def _endpoint(self, ref: ImageReference) -> _Endpoint:
        if ref.is_docker_hub:
            if self.mirror:
                netloc = urllib.parse.urlsplit(self.mirror).netloc
                return _Endpoint(self.mirror, f"mirror {netloc}", netloc)
            return _Endpoint(DOCKER_HUB_ENDPOINT, "docker.io", DOCKER_HUB_CREDENTIAL_KEY)
        scheme = "http" if self._plain_http_allowed(ref.registry) else "https"
        return _Endpoint(f"{scheme}://{ref.registry}", ref.registry, ref.registry)

    # The protocol ---------------------------------------------------------------------------

    def _asking(self, ref: ImageReference, ask: Callable[[_Endpoint], _Answer]) -> _Answer:
        """`ask(endpoint)` of the registry serving `ref`, unless it was found unavailable this run."""
        endpoint = self._endpoint(ref)
        with self._lock:
            if endpoint.base_url in self._unavailable:
                raise self._unavailable[endpoint.base_url]
        try:
            return ask(endpoint)
        except RegistryError as error:
            # Messages are built from our own words, but make sure no secret we hold slips through.
            error.args = (self._scrub(str(error)),)
            if isinstance(error, RegistryUnavailable):
                with self._lock:
                    self._unavailable[endpoint.base_url] = error
            raise

    def _fetch_digest(self, ref: ImageReference) -> str:
        # GET, not HEAD: the digest pinned must be checked against the manifest it names.
        return self._asking(
            ref,
            lambda endpoint: self._verified_digest(
                self._manifest_answer(endpoint, ref, "GET", ref.tag or "latest"), endpoint, ref
            ),
        )

    def _manifest_answer(self, endpoint: _Endpoint, ref: ImageReference, method: str, reference: str) -> Response:
        """The registry's answer to `method` on the manifest `reference` (a tag or a digest) of `ref`'s
        repository; a status other than 2xx raises."""
        manifest_url = f"{endpoint.base_url}/v2/{ref.repository}/manifests/{urllib.parse.quote(reference)}"
        scope = f"repository:{ref.repository}:pull"
        accept = ", ".join(MANIFEST_MEDIA_TYPES)

        challenge = self._challenge_for(endpoint, ref)
        authorization = self._authorization(endpoint, challenge, scope, ref) if challenge else None
        response = self._request(method, manifest_url, {"Accept": accept}, authorization, endpoint, ref)
        if response.status == 401:
            # A registry may ask for a different scope than we guessed (Docker Hub adds the scope
            # to the manifest challenge): answer that challenge once, then give up.
            retry_challenge = _parse_challenge(response.headers.get("www-authenticate", ""))
            if retry_challenge is not None:
                wanted_scope = retry_challenge.params.get("scope", scope)
                authorization = self._authorization(endpoint, retry_challenge, wanted_scope, ref, fresh=True)
                response = self._request(method, manifest_url, {"Accept": accept}, authorization, endpoint, ref)

        self._raise_for_status(response, endpoint, ref)
        return response

    def _verified_digest(self, response: Response, endpoint: _Endpoint, ref: ImageReference) -> str:
        """The digest of the manifest received, once it is known to be one and its header agrees."""
        content_type = response.headers.get("content-type", "").split(";")[0].strip()
        problem = _manifest_problem(response.body, content_type)
        if problem:
            raise RegistryError(f"{endpoint.display_name} answered {ref.cache_key} with {problem}", reference=ref)
        # Some registries send no digest header: the digest is the hash of the exact bytes served.
        header_digest = response.headers.get("docker-content-digest", "").strip()
        if not header_digest:
            return "sha256:" + hashlib.sha256(response.body).hexdigest()
        if not _DIGEST.fullmatch(header_digest):
            raise RegistryError(
                f"{endpoint.display_name} answered {ref.cache_key} with a malformed digest", reference=ref
            )
        algorithm = header_digest.partition(":")[0]
        if header_digest != f"{algorithm}:{hashlib.new(algorithm, response.body).hexdigest()}":
            raise RegistryError(
                f"{endpoint.display_name} answered {ref.cache_key} with a Docker-Content-Digest "
                "that is not the digest of the manifest it sent",
                reference=ref,
            )
        return header_digest

    def _raise_for_status(self, response: Response, endpoint: _Endpoint, ref: ImageReference) -> None:
        status = response.status
        if 200 <= status < 300:
            return
        if status == 404:
            raise TagNotFound(f"{endpoint.display_name} does not serve {ref.cache_key}", reference=ref)
        if status in (401, 403):
            raise RegistryAuthError(
                f"{endpoint.display_name} denied access to {ref.cache_key} (HTTP {status}): "
                f"{self._credential_hint(endpoint)}",
                reference=ref,
            )
        if status == 429:
            raise RegistryUnavailable(f"{endpoint.display_name} is rate-limiting requests (HTTP 429)", reference=ref)
        if status >= 500:
            raise RegistryUnavailable(f"{endpoint.display_name} keeps failing (HTTP {status})", reference=ref)
        raise RegistryError(f"{endpoint.display_name} answered {ref.cache_key} with HTTP {status}", reference=ref)

    def _credential_hint(self, endpoint: _Endpoint) -> str:
        credentials = self._credentials_for(endpoint)
        if credentials is not None:
            return "the credentials from the Docker config were refused"
        note = self.credential_store.notes.get(endpoint.credential_key)
        if note:
            return f"no credentials ({note})"
        return "the repository does not exist or needs credentials, and none are in the Docker config"

    def _challenge_for(self, endpoint: _Endpoint, ref: ImageReference) -> _Challenge | None:
        with self._lock:
            if endpoint.base_url in self._challenges:
                return self._challenges[endpoint.base_url]
        response = self._request("GET", f"{endpoint.base_url}/v2/", {}, None, endpoint, ref)
        if response.status == 401:
            challenge = _parse_challenge(response.headers.get("www-authenticate", ""))
            if challenge is None:
                raise RegistryAuthError(
                    f"{endpoint.display_name} requires an authentication scheme dockfix does not support",
                    reference=ref,
                )
        elif 200 <= response.status < 300:
            challenge = None
        elif response.status == 404:
            raise RegistryUnavailable(
                f"{endpoint.base_url} does not speak the registry API (GET /v2/ gave HTTP 404)", reference=ref
            )
        else:
            self._raise_for_status(response, endpoint, ref)
            challenge = None
        with self._lock:
            self._challenges[endpoint.base_url] = challenge
        return challenge

    def _credentials_for(self, endpoint: _Endpoint) -> Credentials | None:
        with self._lock:
            if endpoint.credential_key in self._credentials:
                return self._credentials[endpoint.credential_key]
        credentials = self.credential_store.lookup(endpoint.credential_key)
        with self._lock:
            self._credentials[endpoint.credential_key] = credentials
            if credentials is not None:
                self._secrets.add(credentials.secret)
                self._secrets.add(credentials.basic_header().split(" ", 1)[1])
        return credentials

    def _authorization(
        self,
        endpoint: _Endpoint,
        challenge: _Challenge,
        scope: str,
        ref: ImageReference,
        *,
        fresh: bool = False,
    ) -> str:
        credentials = self._credentials_for(endpoint)
        if challenge.scheme == "basic":
            if credentials is None or credentials.is_identity_token:
                raise RegistryAuthError(
                    f"{endpoint.display_name} requires a username and password: {self._credential_hint(endpoint)}",
                    reference=ref,
                )
            return credentials.basic_header()
        token = self._bearer_token(endpoint, challenge, scope, credentials, ref, fresh=fresh)
        return f"Bearer {token}"

    def _bearer_token(
        self,
        endpoint: _Endpoint,
        challenge: _Challenge,
        scope: str,
        credentials: Credentials | None,
        ref: ImageReference,
        *,
        fresh: bool,
    ) -> str:
        token_key = (endpoint.base_url, scope)
        with self._lock:
            cached = self._tokens.get(token_key)
        if cached and not fresh and cached[1] > time.monotonic():
            return cached[0]

        realm = challenge.params.get("realm", "")
        realm_parts = urllib.parse.urlsplit(realm)
        realm_host = _host_of(realm)
        if realm_parts.scheme not in ("http", "https") or not realm_parts.netloc:
            raise RegistryAuthError(f"{endpoint.display_name} named an unusable token realm", reference=ref)
        plain_http_realm = realm_parts.scheme == "http" and not self._plain_http_allowed(realm_host)
        if credentials is not None and plain_http_realm:
            # Never send a password in clear text to a non-loopback host.
            raise RegistryAuthError(
                f"{endpoint.display_name} asks for credentials over plain http at {realm_host}", reference=ref
            )
        service = challenge.params.get("service")
        query = {"scope": scope}
        if service:
            query["service"] = service

        if credentials is not None and credentials.is_identity_token:
            form = dict(query, grant_type="refresh_token", refresh_token=credentials.secret, client_id=USER_AGENT)
            body = urllib.parse.urlencode(form).encode()
            headers = {"Content-Type": "application/x-www-form-urlencoded"}
            response = self._request("POST", realm, headers, None, endpoint, ref, data=body)
        else:
            separator = "&" if realm_parts.query else "?"
            url = realm + separator + urllib.parse.urlencode(query)
            authorization = credentials.basic_header() if credentials is not None else None
            response = self._request("GET", url, {}, authorization, endpoint, ref)

        if response.status in (401, 403):
            refused = "were refused" if credentials is not None else "are required"
            raise RegistryAuthError(
                f"{endpoint.display_name}: credentials {refused} by the token service {realm_host} "
                f"(HTTP {response.status})",
                reference=ref,
            )
        if not 200 <= response.status < 300:
            if response.status >= 500 or response.status == 429:
                raise RegistryUnavailable(
                    f"token service {realm_host} for {endpoint.display_name} failed (HTTP {response.status})",
                    reference=ref,
                )
            raise RegistryAuthError(
                f"token service {realm_host} for {endpoint.display_name} answered HTTP {response.status}",
                reference=ref,
            )
        try:
            answer = json.loads(response.body)
            token = answer.get("token") or answer.get("access_token")
            lifetime = float(answer.get("expires_in") or _DEFAULT_TOKEN_LIFETIME)
        except (ValueError, AttributeError, TypeError):
            token, lifetime = None, 0.0
        if not isinstance(token, str) or not token:
            raise RegistryAuthError(
                f"token service {realm_host} for {endpoint.display_name} sent no token", reference=ref
            )
        with self._lock:
            self._secrets.add(token)
            # Renew a little early so a token never expires between two requests.
            self._tokens[token_key] = (token, time.monotonic() + max(0.0, lifetime - 10.0))
        return token

    # HTTP -----------------------------------------------------------------------------------

    def _request(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        authorization: str | None,
        endpoint: _Endpoint,
        ref: ImageReference,
        *,
        data: bytes | None = None,
    ) -> Response:
        """One HTTP exchange with bounded retries on connection errors and 5xx; 4xx is returned."""
        if self.offline:  # the public methods never get here offline; this keeps the promise anyway
            raise OfflineCacheMiss(f"offline and no cached digest for {ref.cache_key}", reference=ref)
        if self._transport is None:
            self._transport = http_transport(
                timeout=self.timeout,
                deadline=self.deadline,
                plain_http_allowed=self._plain_http_allowed,
                ssl_context=self._ssl_context,
            )
        host = _host_of(url)
        attempts = self.retries + 1
        problem = ""
        for attempt in range(attempts):
            if attempt:
                time.sleep(self.retry_backoff * (2 ** (attempt - 1)))
            with self._lock:
                self.request_count += 1
            try:
                return self._transport.exchange(method, url, headers, authorization, data)
            except AnswerRefused as refusal:
                # Asking again would wait out the same deadline or read the same oversized answer.
                message = f"{endpoint.display_name} was refused: {host} {refusal}"
                raise RegistryUnavailable(message, reference=ref) from refusal
            except NetworkProblem as trouble:
                problem = str(trouble)
        message = f"{endpoint.display_name} is unavailable: {host} {problem} after {attempts} attempts"
        raise RegistryUnavailable(message, reference=ref)

    def _scrub(self, message: str) -> str:
        with self._lock:
            secrets = sorted(self._secrets, key=len, reverse=True)
        for secret in secrets:
            if secret:
                message = message.replace(secret, "<hidden>")
        return message


def _parse_challenge(header: str) -> _Challenge | None:
    """Parse ``Bearer realm="...",service="...",scope="..."`` (or ``Basic realm="..."``)."""
    scheme, _, rest = header.strip().partition(" ")
    scheme = scheme.lower()
    if scheme not in ("bearer", "basic"):
        return None
    params = {}
    for match in _CHALLENGE_PARAM.finditer(rest):
        value = match.group(2) if match.group(2) is not None else match.group(3)
        params[match.group(1).lower()] = _ESCAPED_CHARACTER.sub(r"\1", value)
    if scheme == "bearer" and not params.get("realm"):
        return None
    return _Challenge(scheme, params)


def _manifest_problem(body: bytes, content_type: str) -> str | None:
    """Why ``body`` is not a manifest or index of a known media type, or None if it is one."""
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        return "a body that is not JSON"
    if not isinstance(document, dict) or document.get("schemaVersion") != 2:
        return "a body that is not a version 2 manifest"
    media_type = document.get("mediaType") or content_type
    if media_type not in MANIFEST_MEDIA_TYPES:
        return "a manifest of an unknown media type"
    if media_type in (OCI_INDEX, DOCKER_MANIFEST_LIST):
        well_formed = isinstance(document.get("manifests"), list)
    else:
        well_formed = isinstance(document.get("config"), dict) and isinstance(document.get("layers"), list)
    return None if well_formed else f"a {media_type} body that lacks its required fields"


def _recent(entry: tuple[float, _Answer] | None) -> _Answer | None:
    """An answer a pin check learnt less than PIN_CHECK_LIFETIME seconds ago, else None."""
    if entry is None or time.monotonic() - entry[0] > PIN_CHECK_LIFETIME:
        return None
    return entry[1]


def _served_manifest(digest: str, answer: Response) -> ServedManifest:
    """What the verified manifest `answer` says: its kind, the manifests it lists, when it was made."""
    document = json.loads(answer.body)  # _verified_digest has checked it is a JSON manifest
    media_type = document.get("mediaType") or answer.headers.get("content-type", "").split(";")[0].strip()
    listed = document.get("manifests") if media_type in _LIST_TYPES else []
    descriptors = [entry for entry in listed if isinstance(entry, dict)]
    annotated = [document, *descriptors]
    dates = [_annotated_date(entry.get("annotations")) for entry in annotated]
    known = [day for day in dates if day is not None]
    return ServedManifest(
        digest=digest,
        media_type=media_type,
        platform_digests=frozenset(entry["digest"] for entry in descriptors if isinstance(entry.get("digest"), str)),
        created=max(known) if known else None,
    )


def _annotated_date(annotations: object) -> date | None:
    """The day of an `org.opencontainers.image.created` annotation (RFC 3339), if there is a readable one."""
    if not isinstance(annotations, dict) or not isinstance(annotations.get(_CREATED_ANNOTATION), str):
        return None
    try:
        moment = datetime.fromisoformat(annotations[_CREATED_ANNOTATION].replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.astimezone(timezone.utc).date() if moment.tzinfo is not None else moment.date()


def _host_of(url: str) -> str:
    """``host[:port]`` of a URL, without any user information."""
    return urllib.parse.urlsplit(url).netloc.rpartition("@")[2]
