"""The harness proves itself: stand-in bases, a good image that passes every check, a naive one
that fails them.

The app (apps/hello-http) is the same for both images; only the Dockerfile differs. The
production Dockerfile is written by hand the way dockfix should write it: two stages, base pinned
by digest, the npm token as a build secret, dumb-init, NODE_ENV, the node user. The naive one is
the classic ``FROM node / COPY . . / RUN npm install / CMD "npm" "start"``.
"""

from __future__ import annotations

import json
import re
import urllib.request
from pathlib import Path

import pytest

from .harness import (
    ALPINE_LIKE,
    DEBIAN_LIKE,
    HarnessError,
    assert_stops_gracefully,
    machine_arch,
    prepare_context,
    registry_manifest_digest,
    render_dockerfile,
    stop_during_slow_request,
)

pytestmark = pytest.mark.e2e

APP = Path(__file__).parent / "apps" / "hello-http"
NPM_TOKEN = re.search(r"_authToken=(\S+)", (APP / "app" / ".npmrc").read_text()).group(1)
STOP_TIMEOUT = 10  # seconds podman waits after SIGTERM before SIGKILL
NAIVE_STOP_TIMEOUT = 3  # short: the naive image is expected to sit it out


@pytest.fixture(scope="module")
def production_image(e2e_engine, node_bases, tmp_path_factory, record_build):
    """hello-http built from the production Dockerfile on the pinned alpine-like base."""
    context = prepare_context(
        APP / "app", tmp_path_factory.mktemp("ctx") / "production", (APP / "production.dockerignore").read_text()
    )
    dockerfile = render_dockerfile(
        (APP / "production.Dockerfile").read_text(), node_image_pinned=node_bases["26-alpine"].pinned
    )
    result = e2e_engine.build(
        dockerfile, context, "localhost/hello-http:production", secrets={"npmrc": APP / "app" / ".npmrc"}
    )
    return record_build("hello-http production (2 stages, node:26-alpine@digest)", result)


@pytest.fixture(scope="module")
def naive_image(e2e_engine, node_bases, tmp_path_factory, record_build):
    """hello-http built from the naive Dockerfile on ``node:latest`` (no .dockerignore)."""
    context = prepare_context(APP / "app", tmp_path_factory.mktemp("ctx") / "naive")
    dockerfile = render_dockerfile((APP / "naive.Dockerfile").read_text(), node_image=node_bases["latest"].reference)
    result = e2e_engine.build(dockerfile, context, "localhost/hello-http:naive")
    return record_build("hello-http naive (FROM node, npm install, npm start)", result)


# -- the stand-in base images -----------------------------------------------------------------


def test_every_published_tag_resolves_to_the_digest_that_was_pushed(node_bases, e2e_registry):
    assert {"latest", "26-alpine", "26-slim"} <= set(node_bases)
    for tag, base in node_bases.items():
        assert registry_manifest_digest(e2e_registry.host, "library/node", tag) == base.digest
        assert base.flavour == (ALPINE_LIKE if "alpine" in tag else DEBIAN_LIKE)


def test_tags_name_an_image_index_for_this_platform_like_docker_hub(node_bases, e2e_registry):
    request = urllib.request.Request(
        f"{e2e_registry.url}/v2/library/node/manifests/26-alpine",
        headers={"Accept": "application/vnd.oci.image.index.v1+json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        index = json.loads(response.read())
    assert index["mediaType"] == "application/vnd.oci.image.index.v1+json"
    assert [entry["platform"] for entry in index["manifests"]] == [{"architecture": machine_arch(), "os": "linux"}]


@pytest.mark.parametrize("flavour", [ALPINE_LIKE, DEBIAN_LIKE])
def test_stand_in_base_has_node_npm_and_the_node_user(e2e_engine, node_base_images, flavour):
    result = e2e_engine.run_command(
        node_base_images.images[flavour],
        ["sh", "-c", "node --version && npm --version && id node && stat -c %u:%g /home/node"],
    )
    node_version, npm_version, node_user, home_owner = result.stdout.split("\n")[:4]
    assert node_version == f"v{node_base_images.node_version}"
    assert node_version.startswith("v24.")
    assert re.fullmatch(r"\d+\.\d+\.\d+", npm_version)
    assert node_user.startswith("uid=1000(node) gid=1000(node)")
    assert home_owner == "1000:1000"


def test_alpine_like_apk_installs_bundled_dumb_init_offline(e2e_engine, node_base_images):
    image = node_base_images.images[ALPINE_LIKE]
    installed = e2e_engine.run_command(
        image, ["sh", "-c", "apk add --no-cache dumb-init && dumb-init --version"], extra_args=["--network", "none"]
    )
    assert "stand-in apk (dockfix e2e harness)" in installed.stderr
    assert "\ndumb-init v1." in installed.stderr  # dumb-init prints its version on stderr
    unknown = e2e_engine.run_command(image, ["apk", "add", "--no-cache", "tini"], check=False)
    assert unknown.returncode != 0
    assert "not bundled" in unknown.stderr


def test_debian_like_apt_get_installs_bundled_dumb_init_offline(e2e_engine, node_base_images):
    image = node_base_images.images[DEBIAN_LIKE]
    installed = e2e_engine.run_command(
        image,
        [
            "sh",
            "-c",
            "apt-get update && apt-get install -y --no-install-recommends dumb-init"
            " && rm -rf /var/lib/apt/lists/* && dumb-init --version",
        ],
        extra_args=["--network", "none"],
    )
    assert "stand-in apt-get (dockfix e2e harness): installing bundled dumb-init" in installed.stdout
    assert "dumb-init v1." in installed.stderr
    without_update = e2e_engine.run_command(image, ["apt-get", "install", "-y", "dumb-init"], check=False)
    assert without_update.returncode == 100
    assert "Unable to locate package dumb-init" in without_update.stderr


def test_a_digest_the_registry_does_not_have_fails_the_build(e2e_engine, node_bases, tmp_path):
    wrong = node_bases["26-alpine"].reference + "@sha256:" + "0" * 64
    with pytest.raises(HarnessError, match=r"(?i)manifest unknown"):
        e2e_engine.build(f"FROM {wrong}\nRUN true\n", tmp_path, "localhost/wrong-digest:1")


# -- the production image passes every check --------------------------------------------------


def test_production_image_config(e2e_engine, production_image):
    config = e2e_engine.image_config(production_image.image_id)
    assert config.env["NODE_ENV"] == "production"
    assert config.user == "node"
    assert config.cmd == ("dumb-init", "node", "server.js")
    assert not [step for step in config.history if NPM_TOKEN in step]


def test_production_image_ships_no_npmrc_and_no_token(e2e_engine, production_image, node_bases):
    with e2e_engine.image_files(production_image.image_id, base_image=node_bases["26-alpine"].pinned) as files:
        added = [layer for layer in files.layers if not layer.from_base]
        assert len(added) >= 3 and len(files.layers) > len(added)  # apk, 2 COPY
        assert files.paths_named(".npmrc") == []
        assert files.paths_containing(NPM_TOKEN) == []
        assert files.history_containing(NPM_TOKEN) == []


def test_production_image_has_no_dev_dependency(e2e_engine, production_image):
    assert e2e_engine.node_modules_listing(production_image.image_id, "/app") == ["ms"]


def test_production_container_runs_as_node_under_dumb_init(e2e_engine, production_image):
    container = e2e_engine.run_container(production_image.image_id)
    try:
        answer = json.loads(e2e_engine.wait_for_http(container))
        assert answer == {"hello": "world", "uid": 1000, "env": "production"}
        pid1, *others = e2e_engine.processes(container.name)
        assert pid1.pid_in_container == 1
        assert pid1.argv == ("dumb-init", "node", "server.js")
        assert [process.argv for process in others] == [("node", "server.js")]
        assert {process.uid for process in [pid1, *others]} == {1000}
        cmdline = e2e_engine.exec_in(container.name, ["cat", "/proc/1/cmdline"])
        assert cmdline.split("\0")[0] == "dumb-init"
        assert e2e_engine.exec_in(container.name, ["id", "-u"]).strip() == "1000"
    finally:
        e2e_engine.remove_container(container.name)


def test_production_container_lets_a_slow_request_finish_on_sigterm(e2e_engine, production_image):
    assert_stops_gracefully(e2e_engine, production_image.image_id, "production", STOP_TIMEOUT)


# -- the naive image fails the same checks: they can fail -------------------------------------


def test_naive_image_fails_the_image_checks(e2e_engine, naive_image, node_bases):
    config = e2e_engine.image_config(naive_image.image_id)
    assert "NODE_ENV" not in config.env
    assert config.user in ("", "root", "0")
    with e2e_engine.image_files(naive_image.image_id, base_image=node_bases["latest"].reference) as files:
        assert [path for _, path in files.paths_named(".npmrc")] == [".npmrc"]
        assert [path for _, path in files.paths_containing(NPM_TOKEN)] == [".npmrc"]
    listing = e2e_engine.node_modules_listing(naive_image.image_id, "/")
    assert "is-number" in listing and "ms" in listing


def test_naive_container_runs_as_root_and_is_killed_after_the_stop_timeout(e2e_engine, naive_image):
    container = e2e_engine.run_container(naive_image.image_id)
    try:
        assert json.loads(e2e_engine.wait_for_http(container))["uid"] == 0
        pid1 = e2e_engine.processes(container.name)[0]
        assert pid1.argv[:2] == ("/bin/sh", "-c")
        assert pid1.uid == 0
        outcome = stop_during_slow_request(e2e_engine, container, NAIVE_STOP_TIMEOUT)
        print(f"\nnaive: stopped in {outcome.stop.seconds:.1f} s, exit {outcome.stop.exit_code}")
        assert outcome.stop.exit_code == 137  # SIGKILL: SIGTERM never reached the app
        assert outcome.stop.seconds >= NAIVE_STOP_TIMEOUT
        assert "SIGTERM received" not in outcome.stop.logs
    finally:
        e2e_engine.remove_container(container.name)
