"""A real OCI registry for tests: Debian's ``docker-registry`` (CNCF distribution) on loopback.

Stable API for every test module (unit, CLI and end-to-end build tests):

``start_registry(workdir, *, auth="none"|"token"|"basic", users=None, private_prefix="private/")``
    Start ``docker-registry serve`` on a free 127.0.0.1 port with its storage in ``workdir`` and
    return a :class:`RunningRegistry` once ``GET /v2/`` answers. ``auth="token"`` puts
    Docker-Hub-style token auth in front of it: a stdlib token server (thread) issues RS256 JWTs
    signed with ``openssl``; anonymous pull is granted for every repository except those under
    ``private_prefix``; push, and pull of private repositories, need a user from ``users``
    (default: one random push user). ``auth="basic"`` uses an htpasswd file (bcrypt).

``RunningRegistry``
    ``url`` (``http://127.0.0.1:PORT``), ``host`` (``127.0.0.1:PORT``), ``auth``, ``username`` /
    ``password`` (the push user), ``users``, ``requests()`` (the registry's own access log:
    :class:`LoggedRequest` tuples), ``request_count()``, ``token_requests`` (what the token server
    was asked), ``issued_tokens``, ``token_server.refresh_tokens`` (identity tokens it accepts on
    ``POST /token``), ``stop()`` (terminates the PID it started); usable as a context manager.

``push_image(registry, repository, tag, *, platforms=(("linux","amd64"),("linux","arm64")),
index_type="oci"|"docker", layers=None, index=None, image_config=None, annotations=None) -> PushedImage``
    Push a config blob and a gzip'd tar layer per platform, one manifest per platform, then an
    OCI image index or Docker manifest list under ``tag`` (each platform's entry in it carrying
    ``annotations``, as the official images' indexes do). One platform (or ``index=False``)
    pushes a single manifest under the tag. ``layers`` replaces the generated layer with real
    tarballs (bytes or paths; gzip'd or plain tar). ``PushedImage.digest`` is what the tag
    resolves to; ``child_digests`` maps ``"linux/amd64"`` to each platform's manifest digest.

``push_blob``, ``push_manifest``, ``head_manifest`` (what a client sending a given Accept gets),
``registry_available()`` / ``require_registry()`` (skip with a reason when the binary is
missing), ``registry_fixture(auth=..., scope=...)`` (build a pytest fixture for a conftest).

Everything here is stdlib plus the ``docker-registry`` and ``openssl`` programs; nothing reaches
beyond loopback.
"""

from __future__ import annotations

import base64
import ctypes
import ctypes.util
import gzip
import hashlib
import io
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import tarfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import NamedTuple

REGISTRY_PROGRAM = "docker-registry"
INSTALL_HINT = "apt-get update && apt-get install -y --no-install-recommends docker-registry"
TOKEN_SERVICE = "test-registry"
TOKEN_ISSUER = "test-issuer"

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"

_MEDIA_TYPES = {
    "oci": {"index": OCI_INDEX, "manifest": OCI_MANIFEST, "config": OCI_CONFIG, "layer": OCI_LAYER},
    "docker": {
        "index": DOCKER_MANIFEST_LIST,
        "manifest": DOCKER_MANIFEST,
        "config": DOCKER_CONFIG,
        "layer": DOCKER_LAYER,
    },
}
DEFAULT_PLATFORMS = (("linux", "amd64"), ("linux", "arm64"))
_ACCESS_LOG_RE = re.compile(r'"([A-Z]+) (\S+) HTTP/[\d.]+" (\d{3})')
_STARTUP_TIMEOUT = 15.0
_HTTP_TIMEOUT = 10.0


# Availability ------------------------------------------------------------------------------


def registry_available() -> str | None:
    """None when a registry can be started here, else the reason it cannot (for a skip)."""
    if shutil.which(REGISTRY_PROGRAM) is None:
        return f"{REGISTRY_PROGRAM} is not installed (install it with: {INSTALL_HINT})"
    if shutil.which("openssl") is None:
        return "openssl is not installed (needed to sign registry tokens)"
    return None


def require_registry() -> None:
    """Skip the calling test when the registry cannot run on this machine."""
    import pytest

    reason = registry_available()
    if reason:
        pytest.skip(reason)


def registry_fixture(auth: str = "token", *, scope: str = "function", **options):
    """Build a pytest fixture yielding a :class:`RunningRegistry`; assign it in a conftest.

    Example: ``token_registry = registry_fixture(auth="token", scope="session")``.
    """
    import pytest

    @pytest.fixture(scope=scope)
    def _registry(tmp_path_factory):
        require_registry()
        with start_registry(tmp_path_factory.mktemp(f"registry-{auth}"), auth=auth, **options) as registry:
            yield registry

    return _registry


# The running registry ----------------------------------------------------------------------


class LoggedRequest(NamedTuple):
    """One line of the registry's access log."""

    method: str
    path: str
    status: int


@dataclass
class RunningRegistry:
    """A started registry; see the module docstring for the stable API."""

    url: str
    host: str
    auth: str
    workdir: Path
    process: subprocess.Popen
    log_path: Path
    users: dict[str, str]
    username: str | None = None
    password: str | None = None
    token_server: _TokenServer | None = None
    private_prefix: str = "private/"
    _sessions: dict = field(default_factory=dict, repr=False)

    @property
    def token_requests(self) -> list[dict]:
        """Requests the token server answered: ``{"method", "username", "scopes", "status"}`` dicts."""
        return list(self.token_server.log) if self.token_server else []

    @property
    def issued_tokens(self) -> list[str]:
        """Every token the token server handed out (to prove none leaks into a message)."""
        return list(self.token_server.issued_tokens) if self.token_server else []

    def requests(self, *, settle: float = 0.05) -> list[LoggedRequest]:
        """Every request the registry logged, once the log has stopped growing for ``settle`` s.

        The registry writes an access-log line after it answered, so a client can see the answer
        a moment before the line appears: waiting for the log to settle keeps counts exact.
        """
        previous = -1
        deadline = time.monotonic() + 2.0
        while True:
            size = self.log_path.stat().st_size if self.log_path.exists() else 0
            if size == previous or time.monotonic() > deadline:
                break
            previous = size
            time.sleep(settle)
        text = self.log_path.read_text(encoding="utf-8", errors="replace")
        return [
            LoggedRequest(match.group(1), match.group(2), int(match.group(3)))
            for match in _ACCESS_LOG_RE.finditer(text)
        ]

    def request_count(self) -> int:
        """How many HTTP requests the registry has answered so far."""
        return len(self.requests())

    def session(self, username: str | None = None, password: str | None = None) -> RegistrySession:
        """An HTTP session that answers this registry's auth challenges with the given user."""
        key = (username, password)
        if key not in self._sessions:
            self._sessions[key] = RegistrySession(self, username, password)
        return self._sessions[key]

    def push_session(self) -> RegistrySession:
        """A session with the push user's credentials (anonymous when auth is "none")."""
        return self.session(self.username, self.password)

    def stop(self) -> None:
        """Stop the registry process this object started (by its PID) and the token server."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        if self.token_server is not None:
            self.token_server.stop()

    def __enter__(self) -> RunningRegistry:
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()


def free_port() -> int:
    """A loopback TCP port that was free a moment ago (bind port 0, read it, release it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_registry(
    workdir: Path,
    *,
    auth: str = "none",
    users: Mapping[str, str] | None = None,
    private_prefix: str = "private/",
) -> RunningRegistry:
    """Start ``docker-registry`` on a free loopback port with storage in ``workdir``; see module doc."""
    if auth not in ("none", "token", "basic"):
        raise ValueError(f"auth must be 'none', 'token' or 'basic', not {auth!r}")
    reason = registry_available()
    if reason:
        raise RuntimeError(reason)
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    user_table = dict(users) if users is not None else {"pusher": secrets.token_urlsafe(12)}
    push_user = next(iter(user_table), None) if auth != "none" else None

    token_server = None
    auth_config = ""
    if auth == "token":
        key_path, cert_path = _make_signing_key(workdir)
        token_server = _TokenServer(key_path, cert_path, user_table, private_prefix)
        auth_config = (
            "auth:\n  token:\n"
            f"    realm: {token_server.url}/token\n"
            f"    service: {TOKEN_SERVICE}\n"
            f"    issuer: {TOKEN_ISSUER}\n"
            f"    rootcertbundle: {cert_path}\n"
        )
    elif auth == "basic":
        htpasswd = workdir / "htpasswd"
        htpasswd.write_text("".join(f"{name}:{_bcrypt(password)}\n" for name, password in user_table.items()))
        auth_config = f"auth:\n  htpasswd:\n    realm: basic-realm\n    path: {htpasswd}\n"

    try:
        return _start_process(
            workdir,
            auth=auth,
            auth_config=auth_config,
            users=user_table,
            push_user=push_user,
            token_server=token_server,
            private_prefix=private_prefix,
        )
    except BaseException:
        if token_server is not None:
            token_server.stop()
        raise


def _start_process(workdir: Path, *, auth, auth_config, users, push_user, token_server, private_prefix):
    storage = workdir / "storage"
    storage.mkdir(exist_ok=True)
    log_path = workdir / "registry.log"
    environment = {name: value for name, value in os.environ.items() if not name.startswith("REGISTRY_")}
    last_log = ""
    # Another process may take the port between our probe and the registry's bind: try again.
    for _attempt in range(3):
        port = free_port()
        config_path = workdir / "config.yml"
        config_path.write_text(
            "version: 0.1\n"
            "log:\n  level: warn\n  accesslog:\n    disabled: false\n"
            "storage:\n"
            f"  filesystem:\n    rootdirectory: {storage}\n"
            "  delete:\n    enabled: true\n"
            "  maintenance:\n    uploadpurging:\n      enabled: false\n"
            f"http:\n  addr: 127.0.0.1:{port}\n  secret: test-only-secret\n" + auth_config
        )
        with open(log_path, "wb") as log_file:
            process = subprocess.Popen(
                [shutil.which(REGISTRY_PROGRAM), "serve", str(config_path)],
                stdout=log_file,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=environment,
            )
        url = f"http://127.0.0.1:{port}"
        if _wait_until_answering(url, process):
            return RunningRegistry(
                url=url,
                host=f"127.0.0.1:{port}",
                auth=auth,
                workdir=workdir,
                process=process,
                log_path=log_path,
                users=dict(users),
                username=push_user,
                password=users.get(push_user) if push_user else None,
                token_server=token_server,
                private_prefix=private_prefix,
            )
        if process.poll() is None:
            process.kill()
        process.wait(timeout=5)
        last_log = log_path.read_text(errors="replace")[-2000:]
    raise RuntimeError(f"{REGISTRY_PROGRAM} did not start; its log ends with:\n{last_log}")


def _wait_until_answering(url: str, process: subprocess.Popen) -> bool:
    deadline = time.monotonic() + _STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(f"{url}/v2/", timeout=1.0):
                return True
        except urllib.error.HTTPError:
            return True  # 401 is an answer: the registry is up and wants auth
        except (urllib.error.URLError, OSError):
            time.sleep(0.05)
    return False


def _bcrypt(password: str) -> str:
    """A bcrypt hash (the only kind the registry's htpasswd accepts), from the system's libcrypt."""
    library = ctypes.CDLL(ctypes.util.find_library("crypt") or "libcrypt.so.1")
    library.crypt_gensalt.restype = ctypes.c_char_p
    library.crypt_gensalt.argtypes = [ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p, ctypes.c_int]
    library.crypt.restype = ctypes.c_char_p
    library.crypt.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
    salt = library.crypt_gensalt(b"$2y$", 5, None, 0)
    hashed = library.crypt(password.encode(), salt)
    if not hashed or not hashed.startswith(b"$2"):
        raise RuntimeError("libcrypt cannot make bcrypt hashes here")
    return hashed.decode()


# Token server ------------------------------------------------------------------------------


def _make_signing_key(workdir: Path) -> tuple[Path, Path]:
    key_path, cert_path = workdir / "token-key.pem", workdir / "token-cert.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
            "-keyout", str(key_path), "-out", str(cert_path),
            "-subj", "/CN=dockfix test token issuer", "-days", "2",
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return key_path, cert_path


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


class _TokenServer:
    """Docker-Hub-style token realm: ``GET /token?service=...&scope=...`` -> ``{"token": JWT}``."""

    def __init__(self, key_path: Path, cert_path: Path, users: Mapping[str, str], private_prefix: str) -> None:
        self.key_path = key_path
        # Resolved now: a test may empty PATH (to hide credential helpers) while tokens are signed.
        self._openssl = shutil.which("openssl") or "openssl"
        pem = cert_path.read_text()
        der_base64 = "".join(line for line in pem.splitlines() if line and not line.startswith("-----"))
        self._jwt_header = {"typ": "JWT", "alg": "RS256", "x5c": [der_base64]}
        self.users = dict(users)
        self.private_prefix = private_prefix
        self.refresh_tokens: dict[str, str] = {}
        """Identity (refresh) token -> user name, accepted by ``POST /token``; tests fill it."""
        self.issued_tokens: list[str] = []
        self.log: list[dict] = []
        self._log_lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="token-server", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def _handler_class(self):
        token_server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                token_server._answer(self)

            def do_POST(self):
                token_server._answer(self)

            def log_message(self, *args):  # keep test output clean
                pass

        return Handler

    def _answer(self, handler: BaseHTTPRequestHandler) -> None:
        parsed = urllib.parse.urlsplit(handler.path)
        query = urllib.parse.parse_qs(parsed.query)
        if handler.command == "POST":
            length = int(handler.headers.get("Content-Length") or 0)
            query = urllib.parse.parse_qs(handler.rfile.read(length).decode())
            refresh_token = query.get("refresh_token", [""])[0]
            grant_ok = query.get("grant_type", [""])[0] == "refresh_token"
            username = self.refresh_tokens.get(refresh_token, False) if grant_ok else False
        else:
            username = self._authenticate(handler.headers.get("Authorization"))
        scopes = [scope for value in query.get("scope", []) for scope in value.split(" ") if scope]
        if parsed.path != "/token":
            status, body = 404, {"details": "not found"}
        elif username is False:
            status, body = 401, {"details": "invalid credentials"}
        else:
            access = [entry for entry in map(lambda s: self._grant(s, username), scopes) if entry]
            status, body = 200, {"token": self._sign(username or "", query, access), "expires_in": 300}
            body["access_token"] = body["token"]
        with self._log_lock:
            self.log.append(
                {"method": handler.command, "username": username or None, "scopes": scopes, "status": status}
            )
            if status == 200:
                self.issued_tokens.append(body["token"])
        payload = json.dumps(body).encode()
        handler.send_response(status)
        if status == 401:
            handler.send_header("WWW-Authenticate", 'Basic realm="token"')
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(payload)))
        handler.end_headers()
        handler.wfile.write(payload)

    def _authenticate(self, header: str | None):
        """The user name, None for anonymous, False for wrong credentials."""
        if not header:
            return None
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            username, _, password = base64.b64decode(encoded).decode().partition(":")
        except ValueError:
            return False
        if username in self.users and secrets.compare_digest(self.users[username], password):
            return username
        return False

    def _grant(self, scope: str, username: str | None) -> dict | None:
        kind, _, rest = scope.partition(":")
        name, _, actions = rest.rpartition(":")
        if kind != "repository" or not name:
            return None
        requested = set(actions.split(","))
        allowed = {"pull", "push"} if username else set()
        if not username and not name.startswith(self.private_prefix):
            allowed = {"pull"}
        granted = sorted(requested & allowed)
        return {"type": "repository", "name": name, "actions": granted} if granted else None

    def _sign(self, subject: str, query: Mapping[str, list[str]], access: list[dict]) -> str:
        now = int(time.time())
        claims = {
            "iss": TOKEN_ISSUER,
            "sub": subject,
            "aud": query.get("service", [TOKEN_SERVICE])[0],
            "exp": now + 300,
            "nbf": now - 10,
            "iat": now,
            "jti": uuid.uuid4().hex,
            "access": access,
        }
        signing_input = f"{_b64url(json.dumps(self._jwt_header).encode())}.{_b64url(json.dumps(claims).encode())}"
        signature = subprocess.run(
            [self._openssl, "dgst", "-sha256", "-sign", str(self.key_path)],
            input=signing_input.encode(),
            capture_output=True,
            check=True,
        ).stdout
        return f"{signing_input}.{_b64url(signature)}"


# HTTP session with the registry's auth -----------------------------------------------------


class HttpAnswer(NamedTuple):
    status: int
    headers: dict[str, str]
    body: bytes


class RegistrySession:
    """Minimal registry HTTP client for pushing: answers Bearer and Basic challenges."""

    def __init__(self, registry: RunningRegistry, username: str | None, password: str | None) -> None:
        self.registry = registry
        self.username = username
        self.password = password
        self._tokens: dict[str, str] = {}

    def _basic(self) -> str | None:
        if self.username is None or self.password is None:
            return None
        return "Basic " + base64.b64encode(f"{self.username}:{self.password}".encode()).decode()

    def request(
        self, method: str, url: str, *, headers: Mapping[str, str] | None = None, data: bytes | None = None
    ) -> HttpAnswer:
        """Send one request, answering a 401 challenge once; never raises for HTTP statuses."""
        if url.startswith("/"):
            url = self.registry.url + url
        scope_key = urllib.parse.urlsplit(url).path
        authorization = self._tokens.get(scope_key) or (self._basic() if self.registry.auth == "basic" else None)
        answer = _http(method, url, headers or {}, data, authorization)
        if answer.status == 401:
            challenge = answer.headers.get("www-authenticate", "")
            if challenge.lower().startswith("bearer"):
                authorization = "Bearer " + self._token(challenge)
            else:
                authorization = self._basic()
            self._tokens[scope_key] = authorization
            answer = _http(method, url, headers or {}, data, authorization)
        return answer

    def _token(self, challenge: str) -> str:
        params = dict(re.findall(r'(\w+)="([^"]*)"', challenge))
        query = {"service": params.get("service", "")}
        if params.get("scope"):
            query["scope"] = params["scope"]
        url = params["realm"] + "?" + urllib.parse.urlencode(query)
        answer = _http("GET", url, {}, None, self._basic())
        if answer.status != 200:
            raise RuntimeError(f"token server refused ({answer.status})")
        return json.loads(answer.body)["token"]


def _http(method: str, url: str, headers: Mapping[str, str], data: bytes | None, authorization: str | None):
    request = urllib.request.Request(url, data=data, method=method, headers=dict(headers))
    if authorization:
        request.add_header("Authorization", authorization)
    try:
        with urllib.request.urlopen(request, timeout=_HTTP_TIMEOUT) as reply:
            return HttpAnswer(reply.status, {k.lower(): v for k, v in reply.headers.items()}, reply.read())
    except urllib.error.HTTPError as error:
        try:
            body = error.read()
        finally:
            error.close()
        return HttpAnswer(error.code, {k.lower(): v for k, v in error.headers.items()}, body)


# Pushing -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PushedImage:
    """What ``push_image`` stored: ``digest`` is what the tag resolves to."""

    repository: str
    tag: str
    digest: str
    media_type: str
    child_digests: dict[str, str]
    """Platform (``"linux/amd64"``) -> its manifest digest; for a single manifest, the one entry."""

    def reference(self, registry: RunningRegistry) -> str:
        """``127.0.0.1:PORT/repository:tag`` as a Dockerfile would name it."""
        return f"{registry.host}/{self.repository}:{self.tag}"


def _sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def push_blob(registry: RunningRegistry, repository: str, data: bytes) -> str:
    """Upload ``data`` as a blob of ``repository`` (monolithic upload); return its digest."""
    session = registry.push_session()
    digest = _sha256(data)
    if session.request("HEAD", f"/v2/{repository}/blobs/{digest}").status == 200:
        return digest
    started = session.request("POST", f"/v2/{repository}/blobs/uploads/", data=b"")
    if started.status != 202:
        raise RuntimeError(f"blob upload to {repository} refused: HTTP {started.status} {started.body[:200]!r}")
    location = urllib.parse.urljoin(registry.url, started.headers["location"])
    separator = "&" if urllib.parse.urlsplit(location).query else "?"
    finished = session.request(
        "PUT",
        f"{location}{separator}digest={urllib.parse.quote(digest)}",
        headers={"Content-Type": "application/octet-stream"},
        data=data,
    )
    if finished.status != 201:
        raise RuntimeError(f"blob upload to {repository} failed: HTTP {finished.status} {finished.body[:200]!r}")
    return digest


def push_manifest(
    registry: RunningRegistry, repository: str, reference: str, body: bytes | dict, media_type: str
) -> str:
    """PUT a manifest (exact bytes, or a dict serialised as JSON) under a tag; return the digest served."""
    payload = body if isinstance(body, bytes) else json.dumps(body, indent=2).encode()
    answer = registry.push_session().request(
        "PUT", f"/v2/{repository}/manifests/{reference}", headers={"Content-Type": media_type}, data=payload
    )
    if answer.status != 201:
        raise RuntimeError(
            f"manifest push to {repository}:{reference} failed: HTTP {answer.status} {answer.body[:300]!r}"
        )
    digest = answer.headers.get("docker-content-digest", "")
    if digest != _sha256(payload):
        raise RuntimeError(f"registry answered digest {digest}, expected the hash of the pushed bytes")
    return digest


class ManifestAnswer(NamedTuple):
    status: int
    digest: str | None
    media_type: str | None


def head_manifest(registry: RunningRegistry, repository: str, reference: str, accept: Sequence[str]) -> ManifestAnswer:
    """HEAD a manifest with exactly ``accept`` as Accept header (anonymous pull, or the push user)."""
    session = registry.session() if registry.auth == "token" else registry.push_session()
    headers = {"Accept": ", ".join(accept)} if accept else {}
    answer = session.request("HEAD", f"/v2/{repository}/manifests/{reference}", headers=headers)
    return ManifestAnswer(
        answer.status,
        answer.headers.get("docker-content-digest"),
        answer.headers.get("content-type"),
    )


def _tar_layer(files: Mapping[str, bytes]) -> bytes:
    """A reproducible tar of ``files`` (fixed owners and times)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for name, content in sorted(files.items()):
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(content), 0, 0o644
            archive.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def _as_gzip_layer(layer: bytes | Path) -> tuple[bytes, str]:
    """(gzip'd bytes to push, diff id = digest of the uncompressed tar)."""
    data = Path(layer).read_bytes() if isinstance(layer, (str, Path)) else layer
    if data[:2] == b"\x1f\x8b":
        return data, _sha256(gzip.decompress(data))
    return gzip.compress(data, mtime=0), _sha256(data)


def _platform_fields(platform: Sequence[str]) -> dict[str, str]:
    fields = {"os": platform[0], "architecture": platform[1]}
    if len(platform) > 2 and platform[2]:
        fields["variant"] = platform[2]
    return fields


def push_image(
    registry: RunningRegistry,
    repository: str,
    tag: str,
    *,
    platforms: Sequence[Sequence[str]] = DEFAULT_PLATFORMS,
    index_type: str = "oci",
    layers: Sequence[bytes | Path] | None = None,
    index: bool | None = None,
    image_config: Mapping | None = None,
    annotations: Mapping[str, str] | None = None,
) -> PushedImage:
    """Push an image (see the module docstring) and return what the tag now resolves to."""
    if index_type not in _MEDIA_TYPES:
        raise ValueError(f"index_type must be 'oci' or 'docker', not {index_type!r}")
    if not platforms:
        raise ValueError("push_image needs at least one platform")
    types = _MEDIA_TYPES[index_type]
    make_index = len(platforms) > 1 if index is None else index
    if not make_index and len(platforms) > 1:
        raise ValueError("a single manifest (index=False) has exactly one platform")

    children: list[dict] = []
    child_digests: dict[str, str] = {}
    for platform in platforms:
        fields = _platform_fields(platform)
        platform_name = "/".join(fields[key] for key in ("os", "architecture", "variant") if key in fields)
        if layers is None:
            marker = f"{repository}:{tag} {platform_name}\n".encode()
            layer_sources: list[bytes | Path] = [_tar_layer({"etc/dockfix-test-image": marker})]
        else:
            layer_sources = list(layers)
        layer_descriptors, diff_ids = [], []
        for source in layer_sources:
            compressed, diff_id = _as_gzip_layer(source)
            digest = push_blob(registry, repository, compressed)
            layer_descriptors.append({"mediaType": types["layer"], "digest": digest, "size": len(compressed)})
            diff_ids.append(diff_id)
        config = {
            "created": "2024-01-01T00:00:00Z",
            **fields,
            "config": dict(image_config or {"Cmd": ["/bin/sh"]}),
            "rootfs": {"type": "layers", "diff_ids": diff_ids},
            "history": [{"created": "2024-01-01T00:00:00Z", "created_by": f"dockfix test image {platform_name}"}],
        }
        config_bytes = json.dumps(config, sort_keys=True).encode()
        config_digest = push_blob(registry, repository, config_bytes)
        manifest = {
            "schemaVersion": 2,
            "mediaType": types["manifest"],
            "config": {"mediaType": types["config"], "digest": config_digest, "size": len(config_bytes)},
            "layers": layer_descriptors,
        }
        manifest_bytes = json.dumps(manifest, indent=3).encode()
        if make_index:
            by_digest = _sha256(manifest_bytes)
            child_digest = push_manifest(registry, repository, by_digest, manifest_bytes, types["manifest"])
        else:
            child_digest = push_manifest(registry, repository, tag, manifest_bytes, types["manifest"])
            return PushedImage(repository, tag, child_digest, types["manifest"], {platform_name: child_digest})
        child_digests[platform_name] = child_digest
        descriptor = {"mediaType": types["manifest"], "digest": child_digest, "size": len(manifest_bytes)}
        children.append(
            {**descriptor, "platform": fields, **({"annotations": dict(annotations)} if annotations else {})}
        )

    image_index = {"schemaVersion": 2, "mediaType": types["index"], "manifests": children}
    digest = push_manifest(registry, repository, tag, image_index, types["index"])
    return PushedImage(repository, tag, digest, types["index"], child_digests)
