"""The harness proves itself: stand-ins that behave like the official node images, the tags the
registry serves, the OCI runtime it picks, a good image that passes every check, and a naive one
that fails them.

The app (apps/hello-http) is the same for both images; only the Dockerfile differs. The
production Dockerfile is written by hand the way dockfix should write it: two stages, base pinned
by digest, the npm token as a build secret, dumb-init, NODE_ENV, the node user. The naive one is
the classic ``FROM node / COPY . . / RUN npm install / CMD "npm" "start"``.
"""

from __future__ import annotations

import json
import re
import tarfile
import urllib.request
from pathlib import Path

import pytest

from .harness import (
    OCI_RUNTIMES,
    HarnessError,
    assert_stops_gracefully,
    choose_oci_runtime,
    machine_arch,
    prepare_context,
    registry_manifest_digest,
    render_dockerfile,
    stop_during_slow_request,
)
from .standins import (
    LAST_MAJOR_WITH_COREPACK,
    LAST_MAJOR_WITH_YARN,
    MUSL_RELEASES,
    YARN_VERSION,
    glibc_node_package,
    is_alpine,
    versions_data,
)

pytestmark = pytest.mark.e2e

APP = Path(__file__).parent / "apps" / "hello-http"
NPM_TOKEN = re.search(r"_authToken=(\S+)", (APP / "app" / ".npmrc").read_text()).group(1)
STOP_TIMEOUT = 10  # seconds podman waits after SIGTERM before SIGKILL
NAIVE_STOP_TIMEOUT = 3  # short: the naive image is expected to sit it out

#: Every image the official repository builds: (major, variant) of versions.json.
OFFICIAL_IMAGES = [(int(major), variant) for major, entry in versions_data().items() for variant in entry["variants"]]


@pytest.fixture(scope="module")
def production_image(e2e_engine, node_bases, tmp_path_factory, record_build):
    """hello-http built from the production Dockerfile on the pinned alpine base."""
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


# -- the OCI runtime --------------------------------------------------------------------------


def test_the_chosen_runtime_runs_containers(e2e_engine):
    assert e2e_engine.runtime is not None
    assert Path(e2e_engine.runtime).name in OCI_RUNTIMES
    assert e2e_engine.container_problem(e2e_engine.runtime) is None
    listing = e2e_engine.run_command(e2e_engine.busybox_image(), ["echo", "ran"], extra_args=["--network", "none"])
    assert listing.stdout == "ran\n"


def test_a_runtime_that_is_not_installed_is_not_chosen(e2e_engine, tmp_path):
    absent = str(tmp_path / "crun")
    assert choose_oci_runtime(e2e_engine, (absent, e2e_engine.runtime)) == e2e_engine.runtime
    with pytest.raises(HarnessError, match=re.escape(f"{absent}: not installed")):
        choose_oci_runtime(e2e_engine, (absent,))


def test_a_runtime_that_cannot_run_a_container_is_not_chosen(e2e_engine, tmp_path):
    broken = tmp_path / "crun"  # installed, but fails as crun does on cgroups in hybrid mode
    broken.write_text('#!/bin/sh\necho "cgroups in hybrid mode not supported" >&2\nexit 1\n')
    broken.chmod(0o755)
    assert choose_oci_runtime(e2e_engine, (str(broken), e2e_engine.runtime)) == e2e_engine.runtime
    with pytest.raises(HarnessError, match=re.escape(f"{broken}: ")) as failure:
        choose_oci_runtime(e2e_engine, (str(broken),))
    assert "not installed" not in str(failure.value)


# -- the tags the registry serves -------------------------------------------------------------


def test_every_official_tag_is_served_as_its_images_index(node_bases, node_standins, e2e_registry):
    assert set(node_bases) == set(node_standins.tags)
    for tag, base in node_bases.items():
        image = node_standins.for_tag(tag)
        assert base.digest == image.index_digest
        assert registry_manifest_digest(e2e_registry.host, "library/node", tag) == base.digest


@pytest.mark.parametrize(
    ("tag", "major", "variant"),
    [
        ("latest", 26, "trixie"),  # kept from when 26 was Current: Docker Hub keeps a dropped tag
        ("current", 26, "trixie"),
        ("lts", 26, "trixie"),
        ("lts-slim", 26, "trixie-slim"),
        ("lts-alpine", 26, "alpine3.24"),
        ("26", 26, "trixie"),
        ("26-slim", 26, "trixie-slim"),
        ("26-alpine", 26, "alpine3.24"),
        ("26.7.0-bookworm-slim", 26, "bookworm-slim"),
        ("26.7-bullseye", 26, "bullseye"),
        ("24", 24, "bookworm"),
        ("24-slim", 24, "bookworm-slim"),
        ("krypton-alpine", 24, "alpine3.24"),
        ("22", 22, "bookworm"),
        ("22-alpine3.23", 22, "alpine3.23"),
        ("jod", 22, "bookworm"),
        ("lts-jod", 22, "bookworm"),
    ],
)
def test_tags_name_the_image_versions_json_gives_them(node_standins, tag, major, variant):
    image = node_standins.for_tag(tag)
    assert (image.major, image.variant) == (major, variant)


@pytest.mark.parametrize("tag", ["26-buster", "26-alpine3.10", "26-onbuild", "26-jod", "26-stretch-slim", "27-alpine"])
def test_a_tag_the_data_does_not_list_is_not_served_and_fails_the_build(e2e_engine, node_bases, tmp_path, tag):
    assert tag not in node_bases
    host = node_bases["26"].reference.split("/", 1)[0]
    with pytest.raises(HarnessError, match=r"(?i)manifest unknown"):
        e2e_engine.build(f"FROM {host}/library/node:{tag}\nRUN true\n", tmp_path, f"localhost/unlisted:{tag}")


def test_tags_name_an_image_index_for_this_platform_like_docker_hub(node_bases, e2e_registry):
    request = urllib.request.Request(
        f"{e2e_registry.url}/v2/library/node/manifests/26-alpine",
        headers={"Accept": "application/vnd.oci.image.index.v1+json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        index = json.loads(response.read())
    assert index["mediaType"] == "application/vnd.oci.image.index.v1+json"
    assert [entry["platform"] for entry in index["manifests"]] == [{"architecture": machine_arch(), "os": "linux"}]


def test_a_digest_the_registry_does_not_have_fails_the_build(e2e_engine, node_bases, tmp_path):
    wrong = node_bases["26-alpine"].reference + "@sha256:" + "0" * 64
    with pytest.raises(HarnessError, match=r"(?i)manifest unknown"):
        e2e_engine.build(f"FROM {wrong}\nRUN true\n", tmp_path, "localhost/wrong-digest:1")


# -- each stand-in behaves like the official image --------------------------------------------

#: Prints what the checks below compare, one ``name=value`` a line.
_SURVEY = r"""
echo "node=$(node --version)"
echo "npm=$(npm --version)"
echo "yarn=$(yarn --version 2>/dev/null || echo absent)"
echo "corepack=$(corepack --version 2>/dev/null || echo absent)"
echo "node_user=$(id node)"
echo "node_home=$(stat -c %u:%g /home/node)"
echo "node_binary=$(readlink -f "$(command -v node)")"
for tool in python3 make g++ git curl apt-get useradd groupadd apk adduser addgroup; do
  if command -v "$tool" >/dev/null; then echo "$tool=present"; else echo "$tool=absent"; fi
done
if [ -e /lib64/ld-linux-x86-64.so.2 ] || [ -e /lib/ld-linux-aarch64.so.1 ]; then
  echo glibc=present
else
  echo glibc=absent
fi
"""


@pytest.mark.parametrize(("major", "variant"), OFFICIAL_IMAGES, ids=[f"{m}-{v}" for m, v in OFFICIAL_IMAGES])
def test_stand_in_has_what_the_official_image_has(e2e_engine, node_bases, node_standins, major, variant):
    base = node_bases[f"{major}-{variant}"]
    survey = e2e_engine.run_command(base.pinned, ["sh", "-c", _SURVEY], extra_args=["--network", "none"])
    found = dict(line.split("=", 1) for line in survey.stdout.splitlines())
    tools = node_standins.tools[major]
    alpine, slim = is_alpine(variant), variant.endswith("-slim")

    # what every variant has
    assert found["node_binary"] == "/usr/local/bin/node"
    assert found["node_user"].startswith("uid=1000(node) gid=1000(node)")
    assert found["node_home"] == "1000:1000"
    assert found["npm"] == tools.npm
    # Node.js of the tag's major; the one known deviation: no musl build of 26 exists on PyPI
    expected_node = MUSL_RELEASES[major] if alpine else tools.release
    assert found["node"] == f"v{expected_node}"
    assert found["node"].startswith(f"v{major}.") or (alpine and major == 26)

    # Yarn v1 until the images dropped it (26); Corepack until Node.js dropped it (25)
    assert found["yarn"] == (YARN_VERSION if major <= LAST_MAJOR_WITH_YARN else "absent")
    assert found["corepack"] == (tools.corepack if major <= LAST_MAJOR_WITH_COREPACK else "absent")
    assert (found["corepack"] == "absent") == (major >= 25)

    if alpine:  # musl and busybox: no glibc, no apt-get, no useradd
        assert found["glibc"] == "absent"
        assert {found[tool] for tool in ("apt-get", "useradd", "groupadd", "python3", "make", "g++")} == {"absent"}
        assert {found[tool] for tool in ("apk", "adduser", "addgroup")} == {"present"}
    else:
        assert found["glibc"] == "present"
        assert {found[tool] for tool in ("apt-get", "useradd", "groupadd")} == {"present"}
        assert found["apk"] == "absent"
        # slim has no compiler and no python (node-gyp cannot build there); the full variant has
        # what buildpack-deps gives node-gyp and fetching
        builders = {found[tool] for tool in ("python3", "make", "g++", "git", "curl")}
        assert builders == ({"absent"} if slim else {"present"})


def _glibc_node_binary(package: Path, destination: Path) -> Path:
    """The ``node`` binary of a ``node-linux-<arch>`` npm package."""
    with tarfile.open(package) as archive:
        member = archive.getmember("package/bin/node")
        destination.write_bytes(archive.extractfile(member).read())
    destination.chmod(0o755)
    return destination


def test_alpine_stand_in_runs_musl_node_but_not_a_glibc_binary(e2e_engine, node_bases, node_standins, tmp_path):
    package = glibc_node_package(node_standins.downloads, node_standins.tools[26].release)
    glibc_node = _glibc_node_binary(package, tmp_path / "node")
    image = node_bases["24-alpine"].pinned
    mount = ["-v", f"{glibc_node}:/opt/glibc-node:ro", "--network", "none"]
    musl = e2e_engine.run_command(image, ["node", "-p", "process.versions.node"], extra_args=mount)
    assert musl.stdout.strip() == MUSL_RELEASES[24]
    glibc = e2e_engine.run_command(image, ["/opt/glibc-node", "--version"], extra_args=mount, check=False)
    assert glibc.returncode != 0
    assert "v26." not in glibc.stdout
    assert re.search(r"(?i)not found|no such file", glibc.stderr), glibc.stderr
    # the same binary runs on the Debian stand-in of the same major
    debian = e2e_engine.run_command(
        node_bases["26-trixie-slim"].pinned, ["/opt/glibc-node", "--version"], extra_args=mount
    )
    assert debian.stdout.startswith("v26.")


def test_alpine_stand_in_adds_users_with_busybox_syntax(e2e_engine, node_bases):
    script = (
        "addgroup -S app && adduser -S -G app app && id app"
        " && addgroup -g 2000 web && adduser -u 2000 -G web -s /bin/sh -D web && id web && stat -c %u:%g /home/web"
        " && adduser -D plain && id plain"
        " && addgroup web app && grep ^app: /etc/group"
    )
    result = e2e_engine.run_command(
        node_bases["26-alpine"].pinned, ["sh", "-c", script], extra_args=["--network", "none"]
    )
    assert result.stdout.splitlines() == [
        "uid=100(app) gid=101(app) groups=101(app)",
        "uid=2000(web) gid=2000(web) groups=2000(web)",
        "2000:2000",
        "uid=1001(plain) gid=1001(plain) groups=1001(plain)",
        "app:x:101:web",
    ]
    taken = e2e_engine.run_command(node_bases["26-alpine"].pinned, ["adduser", "-D", "node"], check=False)
    assert taken.returncode != 0 and "in use" in taken.stderr


def test_alpine_apk_installs_bundled_dumb_init_offline(e2e_engine, node_bases):
    image = node_bases["26-alpine"].pinned
    installed = e2e_engine.run_command(
        image, ["sh", "-c", "apk add --no-cache dumb-init && dumb-init --version"], extra_args=["--network", "none"]
    )
    assert "stand-in apk (dockfix e2e harness)" in installed.stderr
    assert "\ndumb-init v1." in installed.stderr  # dumb-init prints its version on stderr
    unknown = e2e_engine.run_command(image, ["apk", "add", "--no-cache", "tini"], check=False)
    assert unknown.returncode != 0
    assert "not bundled" in unknown.stderr


@pytest.mark.parametrize("tag", ["26-bookworm-slim", "22-bullseye", "24-trixie"])
def test_debian_apt_get_installs_dumb_init_offline_and_nothing_else(e2e_engine, node_bases, tag):
    image = node_bases[tag].pinned
    offline = ["--network", "none"]
    installed = e2e_engine.run_command(
        image,
        [
            "sh",
            "-c",
            "apt-get update && apt-get install -y --no-install-recommends dumb-init"
            " && rm -rf /var/lib/apt/lists/* && dumb-init --version",
        ],
        extra_args=offline,
    )
    assert "Setting up dumb-init" in installed.stdout
    assert "dumb-init v1." in installed.stderr
    without_update = e2e_engine.run_command(image, ["apt-get", "install", "-y", "dumb-init"], check=False)
    assert without_update.returncode == 100
    assert "Unable to locate package dumb-init" in without_update.stderr
    unknown = e2e_engine.run_command(
        image, ["sh", "-c", "apt-get update -qq && apt-get install -y tini"], extra_args=offline, check=False
    )
    assert unknown.returncode == 100
    assert "Unable to locate package tini" in unknown.stderr


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
