"""The registry client against a real registry (Debian's docker-registry) on loopback.

Images are pushed with the stdlib pushers of ``tests/support/registry.py``; Docker Hub look-ups
go to the loopback registry as a mirror, other references name it directly. Nothing here
reaches beyond 127.0.0.1.
"""

from __future__ import annotations

import base64
import contextlib
import gzip
import hashlib
import io
import json
import os
import socket
import stat
import tarfile
import threading
import time
import urllib.error
import urllib.request
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dockfix.cli import app
from dockfix.dockerfile.imageref import ImageReference
from dockfix.sources.registry import (
    DOCKER_MANIFEST,
    MANIFEST_MEDIA_TYPES,
    MANIFEST_SIZE_LIMIT,
    OCI_INDEX,
    OCI_MANIFEST,
    AnswerRefused,
    OfflineCacheMiss,
    RegistryAuthError,
    RegistryClient,
    RegistryError,
    RegistryUnavailable,
    TagNotFound,
    http_transport,
)
from support.registry import (
    PushedImage,
    free_port,
    head_manifest,
    push_image,
    registry_fixture,
    require_registry,
    start_registry,
)

pytestmark = pytest.mark.registry

SINGLE_PLATFORM = [("linux", "amd64")]


# Fixtures ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def token_registry(tmp_path_factory):
    """A registry behind Docker-Hub-style token auth, shared by this module's tests."""
    require_registry()
    with start_registry(tmp_path_factory.mktemp("token-registry"), auth="token") as registry:
        yield registry


basic_registry = registry_fixture(auth="basic", scope="module")
"""A registry behind htpasswd (Basic) auth, built with the helper a conftest would use."""


@pytest.fixture(scope="module")
def images(token_registry) -> dict[str, PushedImage]:
    """The images every test reads; pushed once."""
    return {
        "oci-index": push_image(token_registry, "library/node", "26-alpine", index_type="oci"),
        "docker-list": push_image(token_registry, "library/node", "26-slim", index_type="docker"),
        "oci-single": push_image(token_registry, "library/node", "26-single", platforms=SINGLE_PLATFORM),
        "docker-single": push_image(
            token_registry, "library/node", "26-single-docker", platforms=SINGLE_PLATFORM, index_type="docker"
        ),
        "team-app": push_image(token_registry, "team/app", "1.0"),
        "private": push_image(token_registry, "private/app", "1", platforms=SINGLE_PLATFORM),
    }


@pytest.fixture(scope="module")
def basic_image(basic_registry) -> PushedImage:
    return push_image(basic_registry, "team/app", "1", platforms=SINGLE_PLATFORM)


def make_client(tmp_path: Path, *, mirror=None, docker_config: Path | None = None, **options) -> RegistryClient:
    """A client that can only see this test's cache and Docker config, never the user's."""
    settings = {"timeout": 5.0, "retries": 1, "retry_backoff": 0.01}
    settings.update(options)
    return RegistryClient(
        mirror=mirror.url if hasattr(mirror, "url") else mirror,
        cache_dir=tmp_path / "cache",
        docker_config=docker_config or (tmp_path / "absent-docker-config.json"),
        **settings,
    )


def write_docker_config(tmp_path: Path, config: dict) -> Path:
    path = tmp_path / "docker" / "config.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(config))
    return path


def auth_entry(username: str, password: str) -> dict:
    return {"auth": base64.b64encode(f"{username}:{password}".encode()).decode()}


def assert_message_is_safe(error: RegistryError, registry, *extra_secrets: str) -> None:
    """One line, and none of the secrets that were in play."""
    message = str(error)
    assert message and "\n" not in message
    secrets = [*extra_secrets, *registry.issued_tokens]
    for username, password in registry.users.items():
        secrets += [password, base64.b64encode(f"{username}:{password}".encode()).decode()]
    for secret in secrets:
        assert secret not in message
    for marker in ("Bearer ", "Basic ", "Authorization", "eyJ"):
        assert marker not in message


def manifest_gets(registry, repository: str, tag: str) -> int:
    path = f"/v2/{repository}/manifests/{tag}"
    return sum(1 for request in registry.requests() if request.method == "GET" and request.path == path)


# Digests -----------------------------------------------------------------------------------


def test_multi_platform_oci_tag_resolves_to_the_index_digest(tmp_path, token_registry, images):
    pushed = images["oci-index"]
    digest = make_client(tmp_path, mirror=token_registry).resolve_digest(ImageReference.parse("node:26-alpine"))
    assert digest == pushed.digest
    assert digest not in pushed.child_digests.values()
    assert set(pushed.child_digests) == {"linux/amd64", "linux/arm64"}


def test_docker_manifest_list_resolves_to_the_list_digest_not_the_amd64_child(tmp_path, token_registry, images):
    pushed = images["docker-list"]
    # The trap is real: a client that accepts only manifest types silently gets one platform.
    naive = head_manifest(token_registry, "library/node", "26-slim", [OCI_MANIFEST, DOCKER_MANIFEST])
    assert naive.status == 200
    assert naive.digest == pushed.child_digests["linux/amd64"]
    assert naive.digest != pushed.digest

    digest = make_client(tmp_path, mirror=token_registry).resolve_digest(ImageReference.parse("node:26-slim"))
    assert digest == pushed.digest


def test_the_index_is_what_a_full_accept_header_gets(token_registry, images):
    answer = head_manifest(token_registry, "library/node", "26-alpine", MANIFEST_MEDIA_TYPES)
    assert (answer.status, answer.digest) == (200, images["oci-index"].digest)
    # Without the index type the registry refuses an OCI index outright.
    refused = head_manifest(token_registry, "library/node", "26-alpine", [OCI_MANIFEST, DOCKER_MANIFEST])
    assert refused.status == 404


@pytest.mark.parametrize("name", ["oci-single", "docker-single"])
def test_single_platform_manifest(tmp_path, token_registry, images, name):
    pushed = images[name]
    digest = make_client(tmp_path, mirror=token_registry).resolve_digest(ImageReference.parse(f"node:{pushed.tag}"))
    assert digest == pushed.digest == pushed.child_digests["linux/amd64"]


def test_reference_naming_the_registry_is_resolved_there_without_a_mirror(tmp_path, token_registry, images):
    ref = ImageReference.parse(f"{token_registry.host}/team/app:1.0")
    assert make_client(tmp_path).resolve_digest(ref) == images["team-app"].digest


def test_digest_only_reference_needs_no_look_up(tmp_path):
    digest = "sha256:" + "c" * 64
    client = make_client(tmp_path, mirror="http://127.0.0.1:9")
    assert client.resolve_digest(ImageReference.parse(f"node@{digest}")) == digest
    assert client.request_count == 0


def test_head_without_digest_header_falls_back_to_hashing_the_manifest(tmp_path, token_registry, images):
    with _DigestStrippingProxy(token_registry.url) as proxy:
        digest = make_client(tmp_path, mirror=proxy.url).resolve_digest(ImageReference.parse("node:26-alpine"))
    assert digest == images["oci-index"].digest
    assert ("GET", "/v2/library/node/manifests/26-alpine") in proxy.seen


# Missing tags ------------------------------------------------------------------------------


def test_unknown_tag_raises_tag_not_found(tmp_path, token_registry, images):
    client = make_client(tmp_path, mirror=token_registry)
    with pytest.raises(TagNotFound) as caught:
        client.resolve_digest(ImageReference.parse("node:99-nope"))
    assert "docker.io/library/node:99-nope" in str(caught.value)
    assert_message_is_safe(caught.value, token_registry)


def test_unknown_repository_raises_tag_not_found(tmp_path, token_registry, images):
    with pytest.raises(TagNotFound):
        make_client(tmp_path, mirror=token_registry).resolve_digest(ImageReference.parse("nosuchimage:1"))


def test_tag_exists(tmp_path, token_registry, images):
    client = make_client(tmp_path, mirror=token_registry)
    assert client.tag_exists(ImageReference.parse("node:26-alpine")) is True
    assert client.tag_exists(ImageReference.parse("node:25-nope")) is False


def test_a_missing_tag_is_asked_once_per_run(tmp_path, token_registry, images):
    client = make_client(tmp_path, mirror=token_registry)
    ref = ImageReference.parse("node:24-missing")
    for _ in range(3):
        assert client.tag_exists(ref) is False
    assert manifest_gets(token_registry, "library/node", "24-missing") == 1


# Unavailable registries --------------------------------------------------------------------


def test_closed_port_is_unavailable_after_bounded_retries(tmp_path):
    port = free_port()  # nothing listens there
    client = make_client(tmp_path, retries=2, timeout=0.5)
    started = time.monotonic()
    with pytest.raises(RegistryUnavailable) as caught:
        client.resolve_digest(ImageReference.parse(f"127.0.0.1:{port}/library/node:26"))
    assert time.monotonic() - started < 3
    assert client.request_count == 3
    assert "3 attempts" in str(caught.value) and "refused" in str(caught.value)


def test_server_errors_are_retried_a_bounded_number_of_times(tmp_path):
    with _FailingServer(status=503) as server:
        client = make_client(tmp_path, retries=2)
        ref = ImageReference.parse(f"{server.host}/library/node:26")
        with pytest.raises(RegistryUnavailable) as caught:
            client.resolve_digest(ref)
        assert server.count == 3
        assert "503" in str(caught.value)
        # Once known to be down, the registry is not asked again for every other file.
        with pytest.raises(RegistryUnavailable):
            client.resolve_digest(ref.with_tag("24"))
        assert server.count == 3


def test_client_errors_are_not_retried(tmp_path):
    with _FailingServer(status=400) as server:
        client = make_client(tmp_path, retries=3)
        with pytest.raises(RegistryError):
            client.resolve_digest(ImageReference.parse(f"{server.host}/library/node:26"))
        assert server.count == 1


def test_a_silent_registry_times_out(tmp_path):
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)  # accepts connections in the kernel, never answers
        host = f"127.0.0.1:{listener.getsockname()[1]}"
        client = make_client(tmp_path, retries=1, timeout=0.2)
        started = time.monotonic()
        with pytest.raises(RegistryUnavailable, match="timed out"):
            client.resolve_digest(ImageReference.parse(f"{host}/library/node:26"))
        assert time.monotonic() - started < 2
        assert client.request_count == 2


# Misbehaving registries: nothing they send is pinned unless it is a verified manifest --------

_INDEX_BODY = json.dumps(
    {
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [
            {
                "mediaType": OCI_MANIFEST,
                "digest": "sha256:" + "ab" * 32,
                "size": 500,
                "platform": {"architecture": "amd64", "os": "linux"},
            }
        ],
    }
).encode()


def _sha256(body: bytes) -> str:
    return "sha256:" + hashlib.sha256(body).hexdigest()


def assert_nothing_pinned(tmp_path: Path, server: _ScriptedServer, ref: ImageReference) -> None:
    assert not (tmp_path / "cache" / "registry-digests.json").exists()
    with pytest.raises(OfflineCacheMiss):
        make_client(tmp_path, mirror=server.url, offline=True).resolve_digest(ref)


@pytest.mark.parametrize("honest", [True, False], ids=["matching", "mismatched"])
def test_a_digest_header_is_pinned_only_when_it_is_the_bodys_sha256(tmp_path, honest):
    header = _sha256(_INDEX_BODY) if honest else _sha256(b"another manifest")

    def answer(handler):
        handler.send_answer(_INDEX_BODY, {"Content-Type": OCI_INDEX, "Docker-Content-Digest": header})

    ref = ImageReference.parse("node:26-alpine")
    with _ScriptedServer(answer) as server:
        client = make_client(tmp_path, mirror=server.url)
        if honest:
            assert client.resolve_digest(ref) == _sha256(_INDEX_BODY)
            return
        with pytest.raises(RegistryError, match="Docker-Content-Digest that is not the digest"):
            client.resolve_digest(ref)
        assert_nothing_pinned(tmp_path, server, ref)


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"<html>not a manifest</html>", OCI_INDEX),
        (b"\xff\xfe binary", OCI_INDEX),
        (b"[1, 2, 3]", OCI_INDEX),
        (json.dumps({"schemaVersion": 2, "mediaType": "text/plain", "manifests": []}).encode(), "text/plain"),
        (json.dumps({"schemaVersion": 2, "manifests": []}).encode(), "application/json"),
        (json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX}).encode(), OCI_INDEX),
        (json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "layers": []}).encode(), OCI_MANIFEST),
        (json.dumps({"schemaVersion": 1, "mediaType": OCI_INDEX, "manifests": []}).encode(), OCI_INDEX),
    ],
    ids=["html", "binary", "json-list", "unknown-type", "no-type", "index-no-manifests", "manifest-no-config", "v1"],
)
def test_a_malformed_manifest_is_refused_not_hashed(tmp_path, body, content_type):
    def answer(handler):
        handler.send_answer(body, {"Content-Type": content_type})

    ref = ImageReference.parse("node:26-alpine")
    with _ScriptedServer(answer) as server:
        with pytest.raises(RegistryError, match=r"answered docker\.io/library/node:26-alpine with a"):
            make_client(tmp_path, mirror=server.url).resolve_digest(ref)
        assert_nothing_pinned(tmp_path, server, ref)


@pytest.mark.parametrize("announced", [True, False], ids=["content-length", "until-close"])
def test_an_oversized_manifest_is_refused_without_reading_it_whole(tmp_path, announced):
    size = 64 * MANIFEST_SIZE_LIMIT
    written = [0]

    def answer(handler):
        handler.send_response(200)
        handler.send_header("Content-Type", OCI_INDEX)
        if announced:
            handler.send_header("Content-Length", str(size))
        handler.send_header("Connection", "close")
        handler.end_headers()
        chunk = b" " * 65536
        with contextlib.suppress(OSError):
            while written[0] < size:
                handler.wfile.write(chunk)
                written[0] += len(chunk)

    ref = ImageReference.parse("node:26-alpine")
    with _ScriptedServer(answer, http_version="HTTP/1.0") as server:
        started = time.monotonic()
        with pytest.raises(RegistryUnavailable, match="limit of 4194304"):
            make_client(tmp_path, mirror=server.url, retries=2).resolve_digest(ref)
        assert time.monotonic() - started < 5
        assert server.manifest_requests == 1  # refused, not asked again
        assert written[0] < size  # the client stopped reading; the server could not send it all
        assert_nothing_pinned(tmp_path, server, ref)


def test_a_drip_feeding_registry_ends_within_the_total_deadline(tmp_path):
    # The limits scaled down (read 2 s, total 3 s, a byte each second) so the test runs in seconds:
    # each byte arrives before a read times out, so only the total deadline ends the request.
    def answer(handler):
        handler.send_response(200)
        handler.send_header("Content-Type", OCI_INDEX)
        handler.send_header("Content-Length", str(len(_INDEX_BODY)))
        handler.end_headers()
        with contextlib.suppress(OSError):
            for byte in _INDEX_BODY[:20]:  # bounded: the server stops by itself
                handler.wfile.write(bytes([byte]))
                handler.wfile.flush()
                time.sleep(1.0)

    ref = ImageReference.parse("node:26-alpine")
    with _ScriptedServer(answer) as server:
        client = make_client(tmp_path, mirror=server.url, timeout=2.0, deadline=3.0, retries=2)
        started = time.monotonic()
        with pytest.raises(RegistryUnavailable, match="no complete answer within 3 s") as caught:
            client.resolve_digest(ref)
        elapsed = time.monotonic() - started
        assert 2.5 < elapsed < 4.5
        assert server.manifest_requests == 1
        # Later look-ups on that registry fail at once: one warning's worth of waiting per run.
        with pytest.raises(RegistryUnavailable) as again:
            client.resolve_digest(ref.with_tag("24"))
        assert str(again.value) == str(caught.value)
        assert_nothing_pinned(tmp_path, server, ref)


def test_a_drip_fed_download_ends_within_the_total_deadline(tmp_path):
    # The Node.js data downloads go through the same transport: a read timeout alone would let a
    # server that sends a byte a second keep `--update-data` waiting for days.
    def answer(handler):
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", "1000")
        handler.end_headers()
        with contextlib.suppress(OSError):
            for _ in range(20):  # bounded: the server stops by itself
                handler.wfile.write(b" ")
                handler.wfile.flush()
                time.sleep(1.0)

    with _ScriptedServer(answer) as server:
        transport = http_transport(timeout=2.0, deadline=3.0)
        started = time.monotonic()
        with pytest.raises(AnswerRefused, match="no complete answer within 3 s"):
            transport.download(f"{server.url}/index.json", limit=MANIFEST_SIZE_LIMIT)
        assert 2.5 < time.monotonic() - started < 4.5
        assert server.manifest_requests == 1


def test_a_download_within_the_deadline_is_whole(tmp_path):
    def answer(handler):
        handler.send_answer(b'{"ok": true}', {"Content-Type": "application/json"})

    with _ScriptedServer(answer) as server:
        body, served = http_transport(timeout=2.0, deadline=3.0).download(f"{server.url}/index.json", limit=100)
    assert body == b'{"ok": true}'
    assert isinstance(served, date)  # the date of the server's answer (its Date header)


@pytest.mark.parametrize("target", ["ftp", "file", "http-remote"])
def test_redirects_are_held_to_the_mirror_urls_rules(tmp_path, target):
    with socket.socket() as bystander:
        bystander.bind(("127.0.0.1", 0))
        bystander.listen(8)
        bystander.setblocking(False)
        location = {
            "ftp": f"ftp://127.0.0.1:{bystander.getsockname()[1]}/manifest",
            "file": "file:///etc/hostname",
            "http-remote": "http://192.0.2.7/v2/library/node/manifests/26-alpine",  # TEST-NET: never routed
        }[target]

        def answer(handler):
            handler.send_response(302)
            handler.send_header("Location", location)
            handler.send_header("Content-Length", "0")
            handler.end_headers()

        ref = ImageReference.parse("node:26-alpine")
        with _ScriptedServer(answer) as server:
            with pytest.raises(RegistryError):
                make_client(tmp_path, mirror=server.url, deadline=2.0).resolve_digest(ref)
            assert_nothing_pinned(tmp_path, server, ref)
        with pytest.raises(BlockingIOError):
            bystander.accept()  # nobody was asked to log in to the FTP server


def test_a_redirect_to_loopback_http_is_followed(tmp_path):
    def answer(handler):
        if handler.path.endswith("/26-alpine"):
            handler.send_response(307)
            handler.send_header("Location", "/v2/library/node/manifests/elsewhere")
            handler.send_header("Content-Length", "0")
            handler.end_headers()
        else:
            handler.send_answer(_INDEX_BODY, {"Content-Type": OCI_INDEX})

    with _ScriptedServer(answer) as server:
        ref = ImageReference.parse("node:26-alpine")
        assert make_client(tmp_path, mirror=server.url).resolve_digest(ref) == _sha256(_INDEX_BODY)


# Credentials -------------------------------------------------------------------------------


def test_basic_auth_without_credentials_is_an_auth_error(tmp_path, basic_registry, basic_image):
    with pytest.raises(RegistryAuthError) as caught:
        make_client(tmp_path).resolve_digest(ImageReference.parse(f"{basic_registry.host}/team/app:1"))
    assert_message_is_safe(caught.value, basic_registry)


def test_basic_auth_with_bad_credentials_is_an_auth_error(tmp_path, basic_registry, basic_image):
    wrong = "wrong-password-1234"
    config = write_docker_config(tmp_path, {"auths": {basic_registry.host: auth_entry(basic_registry.username, wrong)}})
    with pytest.raises(RegistryAuthError) as caught:
        make_client(tmp_path, docker_config=config).resolve_digest(
            ImageReference.parse(f"{basic_registry.host}/team/app:1")
        )
    assert "refused" in str(caught.value)
    sent = base64.b64encode(f"{basic_registry.username}:{wrong}".encode()).decode()
    assert_message_is_safe(caught.value, basic_registry, wrong, sent)


def test_basic_auth_with_credentials_from_docker_config(tmp_path, basic_registry, basic_image):
    config = write_docker_config(
        tmp_path,
        {"auths": {f"http://{basic_registry.host}": auth_entry(basic_registry.username, basic_registry.password)}},
    )
    client = make_client(tmp_path, docker_config=config)
    assert client.resolve_digest(ImageReference.parse(f"{basic_registry.host}/team/app:1")) == basic_image.digest


def test_private_repository_needs_credentials(tmp_path, token_registry, images):
    with pytest.raises(RegistryAuthError) as caught:
        make_client(tmp_path).resolve_digest(ImageReference.parse(f"{token_registry.host}/private/app:1"))
    assert "needs credentials" in str(caught.value)
    assert_message_is_safe(caught.value, token_registry)


def test_token_auth_with_credentials_from_docker_config_auths(tmp_path, token_registry, images):
    config = write_docker_config(
        tmp_path, {"auths": {token_registry.host: auth_entry(token_registry.username, token_registry.password)}}
    )
    asked_before = len(token_registry.token_requests)
    digest = make_client(tmp_path, docker_config=config).resolve_digest(
        ImageReference.parse(f"{token_registry.host}/private/app:1")
    )
    assert digest == images["private"].digest
    new_requests = token_registry.token_requests[asked_before:]
    assert [entry["username"] for entry in new_requests] == [token_registry.username]
    assert new_requests[0]["scopes"] == ["repository:private/app:pull"]


def test_token_auth_with_wrong_password_is_an_auth_error(tmp_path, token_registry, images):
    wrong = "not-the-password-987"
    config = write_docker_config(tmp_path, {"auths": {token_registry.host: auth_entry(token_registry.username, wrong)}})
    with pytest.raises(RegistryAuthError) as caught:
        make_client(tmp_path, docker_config=config).resolve_digest(
            ImageReference.parse(f"{token_registry.host}/private/app:1")
        )
    assert "refused" in str(caught.value)
    assert_message_is_safe(caught.value, token_registry, wrong)


def _install_credential_helper(tmp_path: Path, monkeypatch, name: str, server: str, username: str, secret: str) -> Path:
    """A docker-credential-<name> executable on a temporary PATH; returns the file it logs calls to."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    calls = tmp_path / f"{name}-calls.log"
    answer = json.dumps({"ServerURL": server, "Username": username, "Secret": secret})
    helper = bin_dir / f"docker-credential-{name}"
    helper.write_text(
        "#!/bin/sh\n"
        'server="$(cat)"\n'
        f"printf '%s %s\\n' \"$1\" \"$server\" >> '{calls}'\n"
        f'if [ "$1" = get ] && [ "$server" = \'{server}\' ]; then\n'
        f"  printf '%s' '{answer}'\n"
        "  exit 0\n"
        "fi\n"
        "echo 'credentials not found in native keychain'\n"
        "exit 1\n"
    )
    helper.chmod(helper.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    return calls


@pytest.mark.parametrize("config_key", ["credHelpers", "credsStore"])
def test_credentials_from_a_credential_helper(tmp_path, monkeypatch, token_registry, images, config_key):
    calls = _install_credential_helper(
        tmp_path, monkeypatch, "test", token_registry.host, token_registry.username, token_registry.password
    )
    helper_config = {token_registry.host: "test"} if config_key == "credHelpers" else "test"
    config = write_docker_config(tmp_path, {config_key: helper_config})
    digest = make_client(tmp_path, docker_config=config).resolve_digest(
        ImageReference.parse(f"{token_registry.host}/private/app:1")
    )
    assert digest == images["private"].digest
    # Run the way the docker CLI runs it: `get`, the server address on stdin.
    assert calls.read_text().splitlines() == [f"get {token_registry.host}"]


def test_a_missing_credential_helper_is_named_in_the_error(tmp_path, monkeypatch, token_registry, images):
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    config = write_docker_config(tmp_path, {"credHelpers": {token_registry.host: "nothere"}})
    with pytest.raises(RegistryAuthError, match="docker-credential-nothere"):
        make_client(tmp_path, docker_config=config).resolve_digest(
            ImageReference.parse(f"{token_registry.host}/private/app:1")
        )


def test_identity_token_is_exchanged_at_the_token_realm(tmp_path, token_registry, images):
    identity_token = "identity-token-for-tests-5150"
    token_registry.token_server.refresh_tokens[identity_token] = token_registry.username
    config = write_docker_config(tmp_path, {"auths": {token_registry.host: {"identitytoken": identity_token}}})
    digest = make_client(tmp_path, docker_config=config).resolve_digest(
        ImageReference.parse(f"{token_registry.host}/private/app:1")
    )
    assert digest == images["private"].digest
    assert token_registry.token_requests[-1]["method"] == "POST"
    assert token_registry.token_requests[-1]["username"] == token_registry.username


def test_credentials_are_not_shown_in_repr():
    from dockfix.sources.registry import Credentials

    assert "s3cret" not in repr(Credentials("user", "s3cret"))


# Caching -----------------------------------------------------------------------------------


def test_one_client_asks_once_per_image(tmp_path, token_registry, images):
    client = make_client(tmp_path, mirror=token_registry)
    ref = ImageReference.parse("node:26-single")
    first = client.resolve_digest(ref)
    requests_after_first = client.request_count
    for spelling in ("node:26-single", "docker.io/library/node:26-single", "index.docker.io/node:26-single"):
        assert client.resolve_digest(ImageReference.parse(spelling)) == first
    assert client.request_count == requests_after_first


def test_disk_cache_answers_a_second_client_with_zero_requests(tmp_path, token_registry, images):
    ref = ImageReference.parse("node:26-alpine")
    first_client = make_client(tmp_path, mirror=token_registry)
    assert first_client.resolve_digest(ref) == images["oci-index"].digest
    registry_requests = token_registry.request_count()
    token_requests = len(token_registry.token_requests)

    second_client = make_client(tmp_path, mirror=token_registry)
    assert second_client.resolve_digest(ref) == images["oci-index"].digest
    assert second_client.request_count == 0
    assert token_registry.request_count() == registry_requests
    assert len(token_registry.token_requests) == token_requests


def test_disk_cache_file_is_json_and_written_atomically(tmp_path, token_registry, images):
    make_client(tmp_path, mirror=token_registry).resolve_digest(ImageReference.parse("node:26-alpine"))
    make_client(tmp_path, mirror=token_registry).resolve_digest(ImageReference.parse("node:26-slim"))
    cache_dir = tmp_path / "cache"
    assert [path.name for path in cache_dir.iterdir()] == ["registry-digests.json"], "no temporary file left"
    entries = json.loads((cache_dir / "registry-digests.json").read_text())["entries"]
    assert entries[f"docker.io/library/node:26-alpine via {token_registry.url}"]["digest"] == images["oci-index"].digest
    assert entries[f"docker.io/library/node:26-slim via {token_registry.url}"]["digest"] == images["docker-list"].digest


def test_expired_cache_entries_are_asked_again(tmp_path, token_registry, images):
    ref = ImageReference.parse("node:26-alpine")
    make_client(tmp_path, mirror=token_registry).resolve_digest(ref)
    later_client = make_client(tmp_path, mirror=token_registry, cache_max_age=0)
    assert later_client.resolve_digest(ref) == images["oci-index"].digest
    assert later_client.request_count > 0


def test_a_corrupt_cache_file_is_ignored_and_replaced(tmp_path, token_registry, images):
    cache_file = tmp_path / "cache" / "registry-digests.json"
    cache_file.parent.mkdir()
    cache_file.write_text("{not json")
    client = make_client(tmp_path, mirror=token_registry)
    assert client.resolve_digest(ImageReference.parse("node:26-alpine")) == images["oci-index"].digest
    assert json.loads(cache_file.read_text())["version"] == 2


def test_a_mirrors_digest_is_never_read_back_as_docker_hubs(tmp_path, token_registry, images):
    ref = ImageReference.parse("node:26-alpine")
    assert make_client(tmp_path, mirror=token_registry).resolve_digest(ref) == images["oci-index"].digest
    with pytest.raises(OfflineCacheMiss):
        make_client(tmp_path, offline=True).resolve_digest(ref)
    assert make_client(tmp_path, mirror=token_registry, offline=True).resolve_digest(ref) == images["oci-index"].digest


def test_a_repositorys_mirror_reaches_no_other_repository_and_no_later_run(tmp_path, token_registry, images):
    mirrored, other = tmp_path / "mirrored", tmp_path / "other"
    for folder in (mirrored, other):
        folder.mkdir()
        (folder / "Dockerfile").write_text('FROM node:26-alpine\nCMD ["node", "server.js"]\n')
    config = mirrored / ".dockfix.toml"
    config.write_text(f'registry-mirror = "{token_registry.url}"\n')
    pinned = f"node:26-alpine@{images['oci-index'].digest}"
    env = {"XDG_CACHE_HOME": str(tmp_path / "cache"), "DOCKER_CONFIG": str(tmp_path / "docker")}
    env["DOCKFIX_REGISTRY_MIRROR"] = env["DOCKFIX_TRUST_REPOSITORY_CONFIG"] = ""

    def dockfix(*flags: str):
        arguments = ["--diff", "--unsafe-fixes", "--select", "DF001", "--today", "2026-11-29", *flags]
        return CliRunner().invoke(app, [*arguments, str(mirrored), str(other)], env=env)

    requests = token_registry.request_count()
    untrusted = dockfix("--offline")
    assert [line for line in untrusted.stderr.splitlines() if ".dockfix.toml" in line] == [
        f"dockfix: warning: {config}: registry-mirror ignored: a repository's configuration chooses no data "
        "source unless --trust-repository-config is given"
    ]
    assert token_registry.request_count() == requests

    trusted = CliRunner().invoke(
        app,
        ["--diff", "--unsafe-fixes", "--select", "DF001", "--trust-repository-config", str(mirrored)],
        env=env,
    )
    assert pinned in trusted.stdout
    assert token_registry.request_count() > requests

    same_run = dockfix("--offline", "--trust-repository-config")
    assert same_run.stdout.count(pinned) == 1
    assert f"{other / 'Dockerfile'}:1: digest not resolved" in same_run.stderr
    later_run = dockfix("--offline")
    assert images["oci-index"].digest not in later_run.stdout


# Offline -----------------------------------------------------------------------------------


def install_socket_guard(monkeypatch) -> list:
    """From now on, any attempt to open a connection is recorded and fails."""
    attempts: list[object] = []

    def refuse(*args, **kwargs):
        attempts.append(args)
        raise AssertionError("offline code opened a socket")

    for target, name in (
        (socket.socket, "connect"),
        (socket.socket, "connect_ex"),
        (socket, "create_connection"),
        (socket, "getaddrinfo"),
    ):
        monkeypatch.setattr(target, name, refuse)
    return attempts


@pytest.fixture
def no_sockets(monkeypatch):
    return install_socket_guard(monkeypatch)


def test_offline_answers_from_the_disk_cache_without_a_socket(tmp_path, token_registry, images, monkeypatch):
    ref = ImageReference.parse("node:26-alpine")
    make_client(tmp_path, mirror=token_registry).resolve_digest(ref)

    attempts = install_socket_guard(monkeypatch)
    offline = make_client(tmp_path, mirror=token_registry, offline=True, cache_max_age=0)
    assert offline.resolve_digest(ref) == images["oci-index"].digest, "offline ignores the cache's age"
    assert offline.tag_exists(ref) is True
    with pytest.raises(OfflineCacheMiss) as caught:
        offline.resolve_digest(ImageReference.parse("node:26-slim"))
    assert "docker.io/library/node:26-slim" in str(caught.value)
    assert attempts == []
    assert offline.request_count == 0


def test_offline_cache_miss_opens_no_socket(tmp_path, no_sockets):
    client = make_client(tmp_path, offline=True, mirror="http://127.0.0.1:9")
    for text in ("node:26-alpine", "ghcr.io/owner/app:1", "127.0.0.1:5000/x:1"):
        with pytest.raises(OfflineCacheMiss):
            client.resolve_digest(ImageReference.parse(text))
    assert no_sockets == []


def test_the_socket_guard_would_catch_a_connection(no_sockets):
    with pytest.raises(AssertionError):
        urllib.request.urlopen("http://127.0.0.1:9/v2/", timeout=1)
    assert len(no_sockets) == 1


# Settings ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mirror", "expected"),
    [
        ("https://mirror.example.com", "https://mirror.example.com"),
        ("https://mirror.example.com/v2/", "https://mirror.example.com"),
        ("http://127.0.0.1:5000/", "http://127.0.0.1:5000"),
        ("http://localhost:5000", "http://localhost:5000"),
    ],
)
def test_mirror_urls_are_normalised(tmp_path, mirror, expected):
    assert make_client(tmp_path, mirror=mirror).mirror == expected


@pytest.mark.parametrize(
    "mirror",
    ["http://mirror.example.com", "mirror.example.com", "ftp://127.0.0.1/", "https://user:pw@mirror.example.com"],
)
def test_mirror_must_be_https_unless_loopback(tmp_path, mirror):
    with pytest.raises(ValueError):
        make_client(tmp_path, mirror=mirror)


# The pushers other tests rely on ------------------------------------------------------------


def test_push_image_with_a_real_layer_records_its_diff_id(token_registry):
    layer = _tar_of({"app/hello.txt": b"hello\n"})
    pushed = push_image(token_registry, "team/layered", "1", platforms=SINGLE_PLATFORM, layers=[layer])
    session = token_registry.push_session()
    manifest_answer = session.request(
        "GET", f"/v2/team/layered/manifests/{pushed.digest}", headers={"Accept": OCI_MANIFEST}
    )
    manifest = json.loads(manifest_answer.body)
    config_digest = manifest["config"]["digest"]
    config = json.loads(session.request("GET", f"/v2/team/layered/blobs/{config_digest}").body)
    assert config["rootfs"]["diff_ids"] == ["sha256:" + hashlib.sha256(layer).hexdigest()]
    layer_blob = session.request("GET", f"/v2/team/layered/blobs/{manifest['layers'][0]['digest']}").body
    assert gzip.decompress(layer_blob) == layer
    assert config["architecture"] == "amd64" and config["os"] == "linux"


def _tar_of(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for name, content in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            archive.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


# Test doubles for failure modes a healthy registry cannot show -----------------------------


class _FailingServer:
    """Answers every request with one status and counts the requests."""

    def __init__(self, status: int) -> None:
        self.count = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def _fail(self):
                outer.count += 1
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_GET = do_HEAD = _fail

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.host = f"127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc_info):
        self._server.shutdown()
        self._server.server_close()


class _DigestStrippingProxy(_FailingServer):
    """Forwards to a registry but drops Docker-Content-Digest, as some registries do on HEAD."""

    def __init__(self, upstream: str) -> None:
        self.seen: list[tuple[str, str]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def _forward(self):
                outer.seen.append((self.command, self.path))
                request = urllib.request.Request(upstream + self.path, method=self.command)
                for name in ("Accept", "Authorization"):
                    if self.headers.get(name):
                        request.add_header(name, self.headers[name])
                try:
                    reply = urllib.request.urlopen(request, timeout=5)
                except urllib.error.HTTPError as error:
                    reply = error
                with reply:
                    body = reply.read() if self.command != "HEAD" else b""
                    self.send_response(reply.status if hasattr(reply, "status") else reply.code)
                    for name, value in reply.headers.items():
                        if name.lower() not in ("docker-content-digest", "connection", "transfer-encoding"):
                            self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(body)

            do_GET = do_HEAD = _forward

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.host = f"127.0.0.1:{self._server.server_address[1]}"
        self.url = f"http://{self.host}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)


class _ScriptedServer(_FailingServer):
    """A registry without auth whose manifest answers are written by `answer(handler)`."""

    def __init__(self, answer, *, http_version: str = "HTTP/1.1") -> None:
        self.manifest_requests = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = http_version

            def send_answer(self, body: bytes, headers: dict[str, str]) -> None:
                self.send_response(200)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                if self.path == "/v2/":
                    self.send_answer(b"{}", {"Content-Type": "application/json"})
                    return
                outer.manifest_requests += 1
                answer(self)

            do_HEAD = do_GET

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.host = f"127.0.0.1:{self._server.server_address[1]}"
        self.url = f"http://{self.host}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
