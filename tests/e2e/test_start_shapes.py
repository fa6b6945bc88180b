"""An app started through a package's binary, with a VOLUME: dockfix's output builds and runs.

The app (apps/volume-binary) is a project whose only dependency is a local package
(`file:local-server`) declaring the binary `serve-data`; its start script is `serve-data --data
/data`, and its naive Dockerfile installs with `npm install`, declares `VOLUME /data` and starts
`npm start` as root. Nothing is fetched from the npm registry: the package is in the context.

``dockfix --write --unsafe-fixes`` must give the node user the volume's folder before the VOLUME
line, and start the binary from node_modules/.bin (found through package-lock.json's record of
the linked package's ``bin``) under dumb-init. The fixed image is built on the stand-in node
images, and its container must:

* have dumb-init as PID 1 and, as its only child, node running the binary (the shebang's
  ``env node`` replaces itself with node), all as uid 1000;
* write into the volume, which podman creates from the image's folder, as the node user;
* let a slow request finish on ``podman stop`` (SIGTERM) and exit 0 well inside the timeout.

The same Dockerfile with the folder left to root is built too: there the app cannot write into
the volume, so that check is known to be able to fail.
"""

from __future__ import annotations

import json
import shutil
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from .harness import assert_stops_gracefully, point_at_registry
from .test_fixed_images import APPS, STOP_TIMEOUT, run_dockfix

pytestmark = pytest.mark.e2e

APP = APPS / "volume-binary"


CHOWN_VOLUME = "RUN mkdir -p /data && chown node:node /data"


@pytest.fixture(scope="module")
def fixed_context(e2e_registry, tmp_path_factory) -> Path:
    """The app, with the Dockerfile dockfix wrote."""
    root = tmp_path_factory.mktemp("volume-binary")
    context = root / "fixed"
    shutil.copytree(APP / "app", context)
    shutil.copy(APP / "naive.Dockerfile", context / "Dockerfile")
    fixed = run_dockfix(context, e2e_registry.url, root / "xdg-cache")
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    return context


@pytest.fixture(scope="module")
def volume_binary_image(e2e_engine, e2e_registry, node_bases, fixed_context, record_build):
    """The fixed Dockerfile of the app and the image built from it."""
    dockerfile = (fixed_context / "Dockerfile").read_text()
    built = record_build(
        "volume-binary fixed by dockfix",
        e2e_engine.build(
            point_at_registry(dockerfile, e2e_registry.host), fixed_context, "localhost/e2e-volume-binary:fixed"
        ),
    )
    return dockerfile, built.image_id


def test_fixed_dockerfile_gives_the_volume_to_node_and_execs_the_binary(volume_binary_image):
    dockerfile, _ = volume_binary_image
    lines = dockerfile.splitlines()
    volume = lines.index("VOLUME /data")
    assert CHOWN_VOLUME in lines[:volume]
    assert "USER node" in lines
    assert lines[-1] == 'CMD ["dumb-init", "node_modules/.bin/serve-data", "--data", "/data"]'


def _get(container, path: str) -> tuple[int, dict]:
    with urllib.request.urlopen(container.url + path, timeout=10) as response:
        return response.status, json.loads(response.read())


def test_binary_runs_as_node_under_dumb_init_and_writes_into_the_volume(e2e_engine, volume_binary_image):
    _, image = volume_binary_image
    container = e2e_engine.run_container(image)
    try:
        answer = json.loads(e2e_engine.wait_for_http(container))
        assert answer["uid"] == 1000 and answer["data"] == "/data"
        pid1, *others = e2e_engine.processes(container.name)
        assert pid1.pid_in_container == 1 and Path(pid1.argv[0]).name == "dumb-init", pid1.argv
        assert [Path(process.argv[0]).name for process in others] == ["node"], others
        assert others[0].argv[1].endswith("node_modules/.bin/serve-data"), others[0].argv
        assert {process.uid for process in [pid1, *others]} == {1000}
        status, written = _get(container, "/write")
        assert status == 200 and written["uid"] == 1000, written
        listing = e2e_engine.exec_in(container.name, ["ls", "-ln", "/data"])
        assert Path(written["written"]).name in listing and " 1000 " in listing, listing
    finally:
        e2e_engine.remove_container(container.name)


def test_binary_lets_a_slow_request_finish_on_sigterm(e2e_engine, volume_binary_image):
    _, image = volume_binary_image
    assert_stops_gracefully(e2e_engine, image, "volume-binary fixed", STOP_TIMEOUT)


def test_without_the_chown_the_volume_is_roots(
    e2e_engine, e2e_registry, volume_binary_image, fixed_context, record_build
):
    dockerfile, _ = volume_binary_image
    # The folder exists, root's, as Docker's VOLUME line leaves it (podman would give a folder
    # the image lacks to the container's user when it makes the volume: Docker does not).
    unchowned = dockerfile.replace(CHOWN_VOLUME + "\n", "RUN mkdir -p /data\n")
    assert unchowned != dockerfile
    built = record_build(
        "volume-binary fixed, without the chown",
        e2e_engine.build(
            point_at_registry(unchowned, e2e_registry.host), fixed_context, "localhost/e2e-volume-binary:unchowned"
        ),
    )
    container = e2e_engine.run_container(built.image_id)
    try:
        e2e_engine.wait_for_http(container)
        with pytest.raises(urllib.error.HTTPError) as refused:
            _get(container, "/write")
        assert refused.value.code == 500 and json.loads(refused.value.read())["error"] == "EACCES"
    finally:
        e2e_engine.remove_container(container.name)
