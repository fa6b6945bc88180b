"""DF001 explicit-base-image: offline table tests, then the real registry with token auth."""

from __future__ import annotations

import base64
import json
import socket
from pathlib import Path

import pytest

from dockfix.context import Options, RuleContext, Services
from dockfix.edits import Applicability
from dockfix.pipeline import fix_document
from dockfix.project.build_context import Project
from dockfix.rules import RULES, select_rules
from support.fixing import TODAY, fix_folder, make_project
from support.oracle import oracle_view
from support.registry import free_port, push_image, registry_fixture

NAIVE = """FROM node
WORKDIR /app
COPY . .
RUN npm install
CMD ["node", "index.js"]
"""


def assert_buildkit_accepts_and_settled(folder: Path, fixed: bytes, select=None) -> None:
    """The output parses with BuildKit's parser and a second offline run changes nothing."""
    assert oracle_view(fixed)[0] == "ok"
    again = fix_folder(folder, source=fixed, select=select)
    assert again.error is None
    assert again.fixed == fixed


def df001(result):
    return [f for f in result.initial if f.code == "DF001"]


# Offline: the tag is made explicit, the missing digest is reported ------------------------


@pytest.mark.parametrize(
    ("dockerfile", "package_json", "expected_from"),
    [
        ('FROM node\nCMD ["node", "a.js"]\n', None, "FROM node:26-alpine"),
        ('FROM node:latest\nCMD ["node", "a.js"]\n', None, "FROM node:26-alpine"),
        ('FROM node:lts\nCMD ["node", "a.js"]\n', None, "FROM node:26-alpine"),
        ('FROM node:current-slim\nCMD ["node", "a.js"]\n', None, "FROM node:26-slim"),
        ('FROM node:lts-alpine3.20\nCMD ["node", "a.js"]\n', None, "FROM node:26-alpine"),
        ('FROM node:bookworm-slim\nCMD ["node", "a.js"]\n', None, "FROM node:26-bookworm-slim"),
        ('FROM docker.io/library/node:latest\nCMD ["node", "a.js"]\n', None, "FROM docker.io/library/node:26-alpine"),
        ("FROM node\nRUN apt-get update && apt-get install -y python3\n", None, "FROM node:26-slim"),
        ("FROM node\nRUN dpkg -i x.deb\n", None, "FROM node:26-slim"),
        ('FROM node\nCMD ["node", "a.js"]\n', '{"dependencies": {"sharp": "^0.33.0"}}', "FROM node:26-slim"),
        ('FROM node\nCMD ["node", "a.js"]\n', '{"dependencies": {"express": "^4"}}', "FROM node:26-alpine"),
    ],
)
def test_floating_tags_become_the_active_lts_major(tmp_path, dockerfile, package_json, expected_from):
    folder = make_project(tmp_path, dockerfile, package_json=package_json)
    result = fix_folder(folder, select=["DF001"])
    assert result.error is None
    assert result.fixed.decode().splitlines()[0] == expected_from
    finding = df001(result)[0]
    assert finding.fix.applicability is Applicability.UNSAFE
    assert "digest" in finding.message and "missing" in finding.message
    assert_buildkit_accepts_and_settled(folder, result.fixed, select=["DF001"])
    everything = fix_folder(folder)
    assert everything.error is None
    assert_buildkit_accepts_and_settled(folder, everything.fixed)


def test_message_says_why_the_debian_variant_was_chosen(tmp_path):
    folder = make_project(tmp_path, "FROM node\n", package_json='{"dependencies": {"bcrypt": "5"}}')
    finding = df001(fix_folder(folder, select=["DF001"]))[0]
    assert "bcrypt" in finding.message and "slim" in finding.message


def test_apt_get_in_a_later_stage_built_on_it_counts(tmp_path):
    source = "FROM node AS base\nWORKDIR /app\nFROM base\nRUN apt-get install -y git\n"
    result = fix_folder(make_project(tmp_path, source), select=["DF001"])
    assert result.fixed.startswith(b"FROM node:26-slim AS base\n")


def test_node_version_option_overrides_the_major(tmp_path):
    folder = make_project(tmp_path, "FROM node:lts-alpine\n")
    options = Options(unsafe_fixes=True, offline=True, today=TODAY, node_version="24")
    ctx = RuleContext(folder / "Dockerfile", Project(folder), options)
    result = fix_document(folder / "Dockerfile", b"FROM node:lts-alpine\n", ctx, select_rules(["DF001"], None))
    assert result.fixed == b"FROM node:24-alpine\n"


def test_floating_tag_change_waits_for_unsafe_fixes(tmp_path):
    folder = make_project(tmp_path, "FROM node\n")
    result = fix_folder(folder, unsafe=False, select=["DF001"])
    assert result.fixed == b"FROM node\n"
    assert [f.code for f in result.withheld] == ["DF001"]


@pytest.mark.parametrize(
    "dockerfile",
    [
        "FROM node:22-alpine@sha256:" + "a" * 64 + "\n",
        "FROM scratch\nCOPY a /a\n",
        "# escape=`\nFROM mcr.microsoft.com/windows/servercore:ltsc2022\n",
        "FROM node:22-alpine@sha256:" + "b" * 64 + ' AS build\nFROM build\nCMD ["node", "a.js"]\n',
    ],
)
def test_left_alone(tmp_path, dockerfile):
    folder = make_project(tmp_path, dockerfile)
    result = fix_folder(folder, select=["DF001"])
    assert df001(result) == []
    assert result.fixed == dockerfile.encode()


def test_build_arg_images(tmp_path):
    source = 'ARG BASE=node:latest\nFROM ${BASE}\nCMD ["node", "a.js"]\n'
    result = fix_folder(make_project(tmp_path, source), select=["DF001"])
    assert result.fixed.startswith(b"ARG BASE=node:26-alpine\nFROM ${BASE}\n")
    composed = "ARG V=22\nFROM node:${V}-alpine\n"
    findings = df001(fix_folder(make_project(tmp_path, composed), select=["DF001"]))
    assert len(findings) == 1 and findings[0].fix is None
    assert "build arguments" in findings[0].message
    no_default = "ARG BASE\nFROM $BASE\n"
    findings = df001(fix_folder(make_project(tmp_path, no_default), select=["DF001"]))
    assert findings[0].fix is None and "no literal default" in findings[0].message


def test_offline_opens_no_socket(tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a socket was opened with --offline")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    folder = make_project(tmp_path, "FROM node\nFROM python:3.12-slim\nFROM ghcr.io/acme/tool:1\n")
    options = Options(unsafe_fixes=True, offline=True, today=TODAY, registry_mirror="http://127.0.0.1:9")
    services = Services(options, cache_dir=tmp_path / "cache", docker_config=tmp_path / "config.json")
    ctx = RuleContext(folder / "Dockerfile", Project(folder), options, services=services)
    result = fix_document(folder / "Dockerfile", (folder / "Dockerfile").read_bytes(), ctx, list(RULES))
    assert result.error is None
    assert result.fixed.startswith(b"FROM node:26-alpine\n")
    missing = [f for f in result.remaining if f.code == "DF001"]
    assert len(missing) == 3 and all("missing" in f.message for f in missing)


# Against a real registry with Docker-Hub-style token auth ----------------------------------

token_registry = registry_fixture(auth="token", scope="module")


@pytest.fixture(scope="module")
def pushed(token_registry):
    """The node tags the tests need, plus a non-node image used by a build stage."""
    images = {}
    for tag in ("26-alpine", "26-slim", "26-bookworm-slim", "22.22.2-alpine"):
        images[tag] = push_image(token_registry, "library/node", tag)
    images["python"] = push_image(token_registry, "library/python", "3.12-slim", platforms=(("linux", "amd64"),))
    images["private"] = push_image(token_registry, "private/app", "1")
    return images


def fix_online(
    tmp_path: Path,
    source: str,
    *,
    mirror: str,
    unsafe: bool = True,
    select=None,
    package_json=None,
    docker_config: dict | None = None,
):
    folder = make_project(tmp_path, source, package_json=package_json)
    config = tmp_path / "config.json"
    config.write_text(json.dumps(docker_config or {}))
    options = Options(unsafe_fixes=unsafe, offline=False, today=TODAY, registry_mirror=mirror)
    services = Services(options, cache_dir=tmp_path / "cache", docker_config=config)
    ctx = RuleContext(folder / "Dockerfile", Project(folder), options, services=services)
    rules = select_rules(select, None) if select else list(RULES)
    result = fix_document(folder / "Dockerfile", source.encode(), ctx, rules)
    return folder, result, services


def assert_settled_online(folder: Path, fixed: bytes, services: Services, select=None) -> None:
    assert oracle_view(fixed)[0] == "ok"
    ctx = RuleContext(folder / "Dockerfile", Project(folder), services.options, services=services)
    again = fix_document(folder / "Dockerfile", fixed, ctx, select_rules(select, None) if select else list(RULES))
    assert again.error is None and again.fixed == fixed


def test_naive_file_gets_the_index_digest(tmp_path, token_registry, pushed):
    folder, result, services = fix_online(tmp_path, NAIVE, mirror=token_registry.url, select=["DF001"])
    image = pushed["26-alpine"]
    assert result.error is None
    assert result.fixed.decode().splitlines()[0] == f"FROM node:26-alpine@{image.digest}"
    assert image.digest not in image.child_digests.values()  # the index, not one platform's manifest
    assert_settled_online(folder, result.fixed, services, select=["DF001"])


def test_apt_get_file_gets_the_slim_digest(tmp_path, token_registry, pushed):
    source = 'FROM node:latest\nRUN apt-get update && apt-get install -y git\nCMD ["node", "a.js"]\n'
    folder, result, services = fix_online(tmp_path, source, mirror=token_registry.url)
    assert result.fixed.decode().splitlines()[0] == f"FROM node:26-slim@{pushed['26-slim'].digest}"
    assert_settled_online(folder, result.fixed, services)


def test_every_external_stage_is_pinned_safely(tmp_path, token_registry, pushed):
    source = (
        "FROM node:26-bookworm-slim AS build\nRUN npm ci\n"
        "FROM python:3.12-slim AS tools\n"
        'FROM node:26-alpine\nCOPY --from=build /app /app\nCMD ["node", "/app/a.js"]\n'
    )
    folder, result, services = fix_online(tmp_path, source, mirror=token_registry.url, unsafe=False, select=["DF001"])
    lines = result.fixed.decode().splitlines()
    assert lines[0] == f"FROM node:26-bookworm-slim@{pushed['26-bookworm-slim'].digest} AS build"
    assert lines[2] == f"FROM python:3.12-slim@{pushed['python'].digest} AS tools"
    assert lines[3] == f"FROM node:26-alpine@{pushed['26-alpine'].digest}"
    assert all(f.fix.applicability is Applicability.SAFE for f in df001(result))
    assert_settled_online(folder, result.fixed, services, select=["DF001"])


def test_named_registry_image_is_pinned_at_that_registry(tmp_path, token_registry, pushed):
    image = pushed["private"]
    config = {
        "auths": {
            token_registry.host: {
                "auth": base64.b64encode(f"{token_registry.username}:{token_registry.password}".encode()).decode()
            }
        }
    }
    source = f"FROM {token_registry.host}/private/app:1\n"
    _, result, _ = fix_online(tmp_path, source, mirror=token_registry.url, select=["DF001"], docker_config=config)
    assert result.fixed.decode() == f"FROM {token_registry.host}/private/app:1@{image.digest}\n"


def test_bad_credentials_are_a_warning(tmp_path, token_registry, pushed):
    config = {"auths": {token_registry.host: {"auth": base64.b64encode(b"nobody:wrong-password").decode()}}}
    source = f"FROM {token_registry.host}/private/app:1\n"
    _, result, _ = fix_online(tmp_path, source, mirror=token_registry.url, select=["DF001"], docker_config=config)
    assert result.error is None and result.fixed == source.encode()
    (finding,) = df001(result)
    assert finding.fix is None and "cannot pin" in finding.message
    assert "wrong-password" not in finding.message


def test_unknown_tag_is_a_warning_and_other_fixes_apply(tmp_path, token_registry, pushed):
    source = "FROM node:26-nonexistent\nFROM node\n"
    _, result, _ = fix_online(tmp_path, source, mirror=token_registry.url, select=["DF001"])
    assert result.error is None
    lines = result.fixed.decode().splitlines()
    assert lines == ["FROM node:26-nonexistent", f"FROM node:26-alpine@{pushed['26-alpine'].digest}"]
    warning = [f for f in result.remaining if f.code == "DF001"]
    assert len(warning) == 1 and warning[0].fix is None
    assert "not a tag of the official node image" in warning[0].message


def test_registry_down_is_a_warning_and_the_tag_fix_applies(tmp_path):
    mirror = f"http://127.0.0.1:{free_port()}"
    _, result, _ = fix_online(tmp_path, NAIVE, mirror=mirror, select=["DF001"])
    assert result.error is None
    assert result.fixed.decode().splitlines()[0] == "FROM node:26-alpine"
    assert any("cannot pin" in f.message for f in result.remaining if f.code == "DF001")


def test_second_file_uses_the_cache(tmp_path, token_registry, pushed):
    _, first, _ = fix_online(tmp_path, NAIVE, mirror=token_registry.url, select=["DF001"])
    offline = Options(unsafe_fixes=True, offline=True, today=TODAY, registry_mirror=token_registry.url)
    cached = Services(offline, cache_dir=tmp_path / "cache", docker_config=tmp_path / "config.json")
    folder = tmp_path / "project"
    ctx = RuleContext(folder / "Dockerfile", Project(folder), offline, services=cached)
    second = fix_document(folder / "Dockerfile", NAIVE.encode(), ctx, select_rules(["DF001"], None))
    assert second.fixed == first.fixed


def test_other_fixes_see_the_new_family(tmp_path):
    """Moving `node` (Debian) to alpine defers other fixes a pass, so none installs with apt-get."""
    folder = make_project(tmp_path, NAIVE)
    result = fix_folder(folder)
    assert result.error is None
    assert result.fixed.startswith(b"# syntax=docker/dockerfile:1\nFROM node:26-alpine\n")  # DF011's cache mount
    assert b"apt-get" not in result.fixed
    assert_buildkit_accepts_and_settled(folder, result.fixed)


# Prebuilt platform packages (esbuild, swc, sharp) are native addons only where npm installs them.

PLATFORM_LOCK = {
    "lockfileVersion": 3,
    "packages": {
        "": {"dependencies": {"esbuild": "0.20.0"}},
        "node_modules/esbuild": {"version": "0.20.0"},
        "node_modules/@esbuild/android-arm64": {"version": "0.20.0", "optional": True, "os": ["android"]},
        "node_modules/@esbuild/win32-x64": {"version": "0.20.0", "optional": True, "os": ["win32"], "cpu": ["x64"]},
        "node_modules/@esbuild/linux-ia32": {"version": "0.20.0", "optional": True, "os": ["linux"], "cpu": ["ia32"]},
        "node_modules/@esbuild/linux-x64": {"version": "0.20.0", "optional": True, "os": ["linux"], "cpu": ["x64"]},
        "node_modules/@img/sharp-linuxmusl-x64": {
            "version": "0.33.0",
            "optional": True,
            "os": ["linux"],
            "cpu": ["x64"],
            "libc": ["musl"],
        },
        "node_modules/@img/sharp-linux-x64": {
            "version": "0.33.0",
            "optional": True,
            "os": ["linux"],
            "cpu": ["x64"],
            "libc": ["glibc"],
        },
    },
}


def test_prebuilt_packages_for_other_platforms_are_no_native_addons(tmp_path):
    dockerfile = 'FROM node\nWORKDIR /app\nCOPY . .\nRUN npm ci\nCMD ["node", "a.js"]\n'
    folder = make_project(
        tmp_path,
        dockerfile,
        package_json='{"dependencies": {"esbuild": "0.20.0"}}',
        files={"package-lock.json": json.dumps(PLATFORM_LOCK)},
    )
    project = Project(folder)
    assert project.native_addons() == ["@esbuild/linux-x64", "@img/sharp-linux-x64", "@img/sharp-linuxmusl-x64"]
    assert project.native_addons("glibc") == ["@esbuild/linux-x64", "@img/sharp-linux-x64"]
    assert project.native_addons("musl") == ["@esbuild/linux-x64", "@img/sharp-linuxmusl-x64"]
    assert project.native_addons(compiled=True) == []
    # The shape reported: `os: [android]` packages were named as native addons that kept the Debian
    # image; the binaries for glibc alone are those that keep it.
    assert "the project has native addons (@img/sharp-linux-x64) built for glibc, not Alpine's musl" in (
        df001(fix_folder(folder, select=["DF001"]))[0].message
    )
    (folder / "package-lock.json").write_text(
        json.dumps(
            {
                **PLATFORM_LOCK,
                "packages": {k: v for k, v in PLATFORM_LOCK["packages"].items() if "sharp-linux-" not in k},
            }
        )
    )
    assert [f.message for f in df001(fix_folder(folder, select=["DF001"]))] == [
        "`node` is a floating tag: use the active LTS major 26, the small alpine variant (nothing the build runs "
        "needs Debian): `node:26-alpine`; the digest of node:26-alpine is missing (offline, and not in the cache): "
        "run online once to pin it"
    ]


def test_pnpm_platform_lists_are_read(tmp_path):
    lock = (
        "lockfileVersion: '9.0'\n\npackages:\n\n"
        "  '@swc/core-android-arm64@1.4.0':\n    resolution: {integrity: x}\n    cpu: [arm64]\n    os: [android]\n\n"
        "  '@swc/core-linux-x64-musl@1.4.0':\n    resolution: {integrity: x}\n    cpu: [x64]\n    os: [linux]\n"
        "    libc:\n      - musl\n\n"
        "  bcrypt@5.1.0:\n    requiresBuild: true\n"
    )
    project = Project(make_project(tmp_path, "FROM node\n", files={"pnpm-lock.yaml": lock}))
    assert project.native_addons() == ["@swc/core-linux-x64-musl", "bcrypt"]
    assert project.native_addons("glibc") == ["bcrypt"]
    assert project.native_addons(compiled=True) == ["bcrypt"]
