"""DF001 online: a `tag@sha256:` pin held against what the registry serves for the tag now.

Each tag is pushed twice to a real registry on loopback (the second push is the rebuilt image the
tag moves to), and Docker Hub names reach it as a mirror, like the other DF001 registry tests.
"""

from __future__ import annotations

import json
import socket
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dockfix.cli import app
from dockfix.context import Options, RuleContext, Services
from dockfix.dockerfile.imageref import ImageReference
from dockfix.edits import Applicability
from dockfix.pipeline import FileResult, fix_document
from dockfix.project.build_context import Project
from dockfix.rules import select_rules
from dockfix.sources import registry as registry_module
from dockfix.sources.registry import RegistryClient
from support.fixing import TODAY, make_project
from support.oracle import oracle_view
from support.registry import PushedImage, free_port, push_image, registry_fixture

pytestmark = pytest.mark.registry

registry = registry_fixture(auth="none", scope="module")
token_registry = registry_fixture(auth="token", scope="module")

REBUILT = {"Cmd": ["/bin/sh"], "Env": ["REBUILT=1"]}
BUILT_BEFORE = {"org.opencontainers.image.created": "2026-10-01T12:00:00Z"}
BUILT_AGAIN = {"org.opencontainers.image.created": "2026-11-20T23:30:00-02:00"}  # 2026-11-21 in UTC
A_DIGEST = "sha256:" + "a" * 64


@dataclass(frozen=True)
class Moved:
    """A tag as it was pinned (`old`), then as the registry serves it after the rebuild (`new`)."""

    old: PushedImage
    new: PushedImage


def rebuild(registry, repository: str, tag: str, *, dated: bool = False, **options) -> Moved:
    """Push `tag`, then its rebuild; `dated`: each index says when its images were built."""
    old = push_image(registry, repository, tag, annotations=BUILT_BEFORE if dated else None, **options)
    new = push_image(
        registry, repository, tag, image_config=REBUILT, annotations=BUILT_AGAIN if dated else None, **options
    )
    assert old.digest != new.digest
    return Moved(old, new)


@pytest.fixture(scope="module")
def images(registry) -> dict[str, Moved | PushedImage]:
    pushed: dict[str, Moved | PushedImage] = {
        "moved": rebuild(registry, "library/node", "24-alpine", dated=True),
        "undated": rebuild(registry, "library/node", "24-slim"),
        "current": push_image(registry, "library/node", "24-bookworm"),
        "single": rebuild(registry, "library/node", "24-single", platforms=[("linux", "amd64")]),
        "gone": rebuild(registry, "library/node", "22-alpine"),
        "team": rebuild(registry, "team/app", "1"),
    }
    # The registry no longer has the image the pin of 22-alpine names.
    deleted = registry.push_session().request("DELETE", f"/v2/library/node/manifests/{pushed['gone'].old.digest}")
    assert deleted.status == 202
    return pushed


def run_df001(tmp_path: Path, source: str, *, mirror: str | None, offline: bool = False) -> FileResult:
    folder = make_project(tmp_path, source)
    options = Options(unsafe_fixes=True, offline=offline, today=TODAY, registry_mirror=mirror)
    services = Services(options, cache_dir=tmp_path / "cache", docker_config=tmp_path / "no-docker-config.json")
    ctx = RuleContext(folder / "Dockerfile", Project(folder), options, services=services)
    return fix_document(folder / "Dockerfile", source.encode(), ctx, select_rules(["DF001"], None))


def df001(result: FileResult):
    return [finding for finding in result.initial if finding.code == "DF001"]


def manifest_requests(registry, since: int) -> list[tuple[str, str]]:
    return [(r.method, r.path) for r in registry.requests()[since:] if "/manifests/" in r.path]


# What each pin becomes ---------------------------------------------------------------------

# (case, FROM line written, FROM line after the fix, what the one finding says, its fix)
# `{name}` fields are filled in with the digests of `images`; `{host}` is the registry's host.
TABLE = [
    pytest.param(
        "FROM node:24-alpine@{moved.old}",
        "FROM node:24-alpine@{moved.new}",
        "node:24-alpine has moved to sha256:{moved.new:.12}… (its images were built on 2026-11-21, as its manifest says)",
        Applicability.SAFE,
        id="tag-moved",
    ),
    pytest.param(
        "FROM node:24-slim@{undated.old} AS build",
        "FROM node:24-slim@{undated.new} AS build",
        "(the registry does not say when the tag moved): pin the image the tag serves today",
        Applicability.SAFE,
        id="tag-moved-no-date",
    ),
    pytest.param(
        "FROM node:24-single@{single.old}",
        "FROM node:24-single@{single.new}",
        "pin the image the tag serves today",
        Applicability.SAFE,
        id="single-platform-tag-moved",
    ),
    pytest.param(
        "ARG BASE=node:24-alpine@{moved.old}\nFROM $BASE",
        "ARG BASE=node:24-alpine@{moved.new}",
        "(default of ARG BASE) is a stale pin",
        Applicability.SAFE,
        id="pin-in-an-arg-default",
    ),
    pytest.param(
        "FROM {host}/team/app:1@{team.old}",
        "FROM {host}/team/app:1@{team.new}",
        "is a stale pin",
        Applicability.SAFE,
        id="named-registry",
    ),
    pytest.param("FROM node:24-bookworm@{current}", "FROM node:24-bookworm@{current}", None, None, id="tag-current"),
    pytest.param(
        "FROM node:24-bookworm@{current_amd64}",
        "FROM node:24-bookworm@{current_amd64}",
        None,
        None,
        id="platform-current",
    ),
    pytest.param(
        "FROM node:24-alpine@{moved_old_amd64}",
        "FROM node:24-alpine@{moved_old_amd64}",
        "the pin names one platform's image, and the tag now serves an index of platforms",
        None,
        id="platform-pin-moved",
    ),
    pytest.param(
        "FROM node:22-alpine@{gone.old}",
        "FROM node:22-alpine@{gone.new}",
        "the registry no longer has the pinned image, so whether it named one platform is not known",
        Applicability.UNSAFE,
        id="pinned-image-gone",
    ),
    pytest.param(
        "FROM node:21-alpine@" + A_DIGEST,
        "FROM node:21-alpine@" + A_DIGEST,
        "the registry no longer serves node:21-alpine, so whether the pin is current is not known",
        None,
        id="tag-gone",
    ),
    pytest.param("FROM node@" + A_DIGEST, "FROM node@" + A_DIGEST, None, None, id="digest-without-tag"),
    pytest.param(
        "# do not update: tested against this exact image\nFROM node:24-alpine@{moved.old}",
        "FROM node:24-alpine@{moved.old}",
        None,
        None,
        id="held-by-a-comment",
    ),
]


def fill(text: str, images: dict, host: str) -> str:
    return text.format(
        host=host,
        moved=Digests(images["moved"]),
        undated=Digests(images["undated"]),
        single=Digests(images["single"]),
        gone=Digests(images["gone"]),
        team=Digests(images["team"]),
        current=images["current"].digest,
        current_amd64=images["current"].child_digests["linux/amd64"],
        moved_old_amd64=images["moved"].old.child_digests["linux/amd64"],
    )


class Digests:
    """`{moved.old}` / `{moved.new}` in a table row; `{moved.new:.12}` keeps the first hex digits."""

    def __init__(self, moved: Moved) -> None:
        self.old, self.new = moved.old.digest, _Hex(moved.new.digest)


class _Hex(str):
    def __format__(self, spec: str) -> str:
        return self.removeprefix("sha256:").__format__(spec) if spec else str(self)


@pytest.mark.parametrize(("written", "fixed", "says", "fix"), TABLE)
def test_a_pin_against_the_tag_served_now(tmp_path, registry, images, written, fixed, says, fix):
    source = fill(written, images, registry.host) + '\nCMD ["node", "a.js"]\n'
    result = run_df001(tmp_path, source, mirror=registry.url)
    assert result.error is None
    assert fill(fixed, images, registry.host) in result.fixed.decode().splitlines()
    findings = df001(result)
    if says is None:
        assert findings == []
        assert result.fixed == source.encode()
        return
    (finding,) = findings
    assert fill(says, images, registry.host) in finding.message
    assert "\n" not in finding.message
    if fix is None:
        assert finding.fix is None and result.fixed == source.encode()
    else:
        assert finding.fix.applicability is fix
        assert oracle_view(result.fixed)[0] == "ok"
        assert df001(run_df001(tmp_path, result.fixed.decode(), mirror=registry.url)) == []  # settled


def test_a_current_pin_costs_one_head_and_no_pull(tmp_path, registry, images):
    since = len(registry.requests())
    source = f"FROM node:24-bookworm@{images['current'].digest}\nFROM node:24-bookworm@{images['current'].digest}\n"
    assert df001(run_df001(tmp_path, source, mirror=registry.url)) == []
    assert manifest_requests(registry, since) == [("HEAD", "/v2/library/node/manifests/24-bookworm")]


def test_a_long_lived_client_asks_again_once_its_answers_are_old(tmp_path, registry, images, monkeypatch):
    client = RegistryClient(mirror=registry.url, cache_dir=tmp_path, docker_config=tmp_path / "none.json")
    pin = ImageReference.parse(f"node:24-bookworm@{images['current'].digest}")
    since = len(registry.requests())
    assert client.check_pin(pin).current and client.check_pin(pin).current
    assert len(manifest_requests(registry, since)) == 1
    monkeypatch.setattr(registry_module, "PIN_CHECK_LIFETIME", -1.0)  # the language server, an hour later
    assert client.check_pin(pin).current
    assert len(manifest_requests(registry, since)) == 2


def test_a_current_pin_behind_token_auth(tmp_path, token_registry):
    pushed = push_image(token_registry, "library/node", "24-alpine")
    assert df001(run_df001(tmp_path, f"FROM node:24-alpine@{pushed.digest}\n", mirror=token_registry.url)) == []
    moved = push_image(token_registry, "library/node", "24-alpine", image_config=REBUILT)
    result = run_df001(tmp_path, f"FROM node:24-alpine@{pushed.digest}\n", mirror=token_registry.url)
    assert result.fixed == f"FROM node:24-alpine@{moved.digest}\n".encode()


def test_the_refresh_asks_the_registry_not_the_digest_cache(tmp_path, registry, images):
    """A digest cached an hour ago still pins new tags for a day; a pin is checked against the registry."""
    moved = images["moved"]
    cache = tmp_path / "cache" / "registry-digests.json"
    cache.parent.mkdir(parents=True)
    key = f"docker.io/library/node:24-alpine via {registry.url}"
    entry = {"digest": moved.old.digest, "resolved_at": time.time() - 3600}
    cache.write_text(json.dumps({"version": 2, "entries": {key: entry}}))
    source = f"FROM node:24-alpine@{moved.old.digest}\nFROM node:24-alpine\n"
    result = run_df001(tmp_path, source, mirror=registry.url)
    # The fresh answer replaced the cached one for the rest of the run: the new pin names it too.
    assert result.fixed.decode().splitlines() == [f"FROM node:24-alpine@{moved.new.digest}"] * 2
    assert json.loads(cache.read_text())["entries"][key]["digest"] == moved.new.digest


def test_registry_down_is_one_line_and_no_edit(tmp_path, images):
    source = f"FROM node:24-alpine@{images['moved'].old.digest}\nFROM node:24-slim@{images['undated'].old.digest}\n"
    result = run_df001(tmp_path, source, mirror=f"http://127.0.0.1:{free_port()}")
    assert result.fixed == source.encode()
    findings = df001(result)
    assert [f.line for f in findings] == [1, 2]
    assert all(f.fix is None and "could not check whether the pin is current" in f.message for f in findings)
    assert all("unavailable" in f.message for f in findings)


def test_offline_says_nothing_and_opens_no_socket(tmp_path, registry, images, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a socket was opened with --offline")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    source = f"FROM node:24-alpine@{images['moved'].old.digest}\nFROM {registry.host}/team/app:1@{images['team'].old.digest}\n"
    result = run_df001(tmp_path, source, mirror=registry.url, offline=True)
    assert df001(result) == [] and result.fixed == source.encode()


def test_the_client_tells_a_platform_pin_from_an_index_pin(tmp_path, registry, images):
    client = RegistryClient(mirror=registry.url, cache_dir=tmp_path, docker_config=tmp_path / "none.json")
    moved = images["moved"]
    index_pin = client.check_pin(ImageReference.parse(f"node:24-alpine@{moved.old.digest}"))
    assert not index_pin.current and index_pin.pins_one_platform is False
    assert index_pin.served is not None and index_pin.served.digest == moved.new.digest
    assert index_pin.served.platform_digests == frozenset(moved.new.child_digests.values())
    platform_pin = client.check_pin(ImageReference.parse(f"node:24-alpine@{moved.old.child_digests['linux/arm64']}"))
    assert not platform_pin.current and platform_pin.pins_one_platform is True
    new_platform = client.check_pin(ImageReference.parse(f"node:24-alpine@{moved.new.child_digests['linux/arm64']}"))
    assert new_platform.current


# End to end: the command line refreshes a pin in the file ----------------------------------


def test_write_refreshes_a_moved_pin_and_a_second_run_has_nothing_to_do(tmp_path, registry, images):
    moved = images["moved"]
    folder = tmp_path / "app"
    folder.mkdir()
    dockerfile = folder / "Dockerfile"
    dockerfile.write_text(f'FROM node:24-alpine@{moved.old.digest}\nUSER node\nCMD ["node", "server.js"]\n')
    env = {"XDG_CACHE_HOME": str(tmp_path / "cache"), "DOCKER_CONFIG": str(tmp_path / "docker")}
    env["DOCKFIX_REGISTRY_MIRROR"] = env["DOCKFIX_TRUST_REPOSITORY_CONFIG"] = ""
    common = ["--select", "DF001", "--today", "2026-11-29", "--registry-mirror", registry.url]

    written = CliRunner().invoke(app, ["--write", *common, str(folder)], env=env)
    assert written.exit_code == 0, written.output
    assert dockerfile.read_text().splitlines()[0] == f"FROM node:24-alpine@{moved.new.digest}"

    checked = CliRunner().invoke(app, ["--check", *common, str(folder)], env=env)
    assert checked.exit_code == 0, checked.output
    offline = CliRunner().invoke(app, ["--check", "--offline", *common, str(folder)], env=env)
    assert offline.exit_code == 0, offline.output
