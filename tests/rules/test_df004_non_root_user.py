"""DF004: the node user gets the folders of the volumes the image declares, and a port below 1024
is left as a suggestion that says how to move it. The basic switch (USER node, COPY --chown) is
in test_df004_non_root_user_tables.py. Every output is checked to parse with BuildKit's parser and to be a
fixpoint."""

import json

import pytest

from support.fixing import fix_folder, make_project
from support.oracle import oracle_view

PKG = json.dumps({"scripts": {"start": "node server.js"}, "dependencies": {"express": "4"}})


def run(tmp_path, dockerfile):
    folder = make_project(tmp_path, dockerfile, package_json=PKG, files={"package-lock.json": "{}"})
    result = fix_folder(folder, select=["DF004"])
    assert result.error is None, result.error
    assert oracle_view(result.fixed)[0] == "ok"
    (folder / "Dockerfile").write_bytes(result.fixed)
    assert fix_folder(folder, select=["DF004"]).fixed == result.fixed, "not a fixpoint"
    return result


VOLUMES = [
    (  # every path of a VOLUME line, given to node right before it, while the build is still root
        'FROM node:22\nWORKDIR /app\nCOPY . .\nVOLUME ["/app/uploads", "/data"]\nCMD ["node", "server.js"]\n',
        "FROM node:22\nWORKDIR /app\nCOPY --chown=node:node . .\n"
        "RUN mkdir -p /app/uploads /data && chown node:node /app/uploads /data\nUSER node\n"
        'VOLUME ["/app/uploads", "/data"]\nCMD ["node", "server.js"]\n',
    ),
    (  # a VOLUME of the stage it builds on: chowned there, before the VOLUME line freezes it
        'FROM node:22 AS base\nVOLUME /data\nFROM base\nCOPY . /app\nCMD ["node", "/app/server.js"]\n',
        "FROM node:22 AS base\nRUN mkdir -p /data && chown node:node /data\nVOLUME /data\nFROM base\n"
        'COPY --chown=node:node . /app\nUSER node\nCMD ["node", "/app/server.js"]\n',
    ),
]


@pytest.mark.parametrize("before, after", VOLUMES)
def test_volume_folders_go_to_node(tmp_path, before, after):
    assert run(tmp_path, before).fixed.decode() == after


VOLUMES_KEPT = [
    # an earlier stage declares it as another user: the volume is that user's
    'FROM node:22 AS base\nUSER 1001\nVOLUME /data\nUSER root\nFROM base\nCOPY . /app\nCMD ["node", "/app/a.js"]\n',
]


@pytest.mark.parametrize("source", VOLUMES_KEPT)
def test_volume_that_cannot_be_given_to_node_is_a_suggestion(tmp_path, source):
    result = run(tmp_path, source)
    assert result.fixed.decode() == source
    [finding] = result.remaining
    assert "VOLUME" in finding.message and not finding.fixable


PORTS = [
    # the variable the app reads its port from
    ("ENV PORT 80\nEXPOSE 80\n", "set PORT to 8080 (and EXPOSE 8080) and publish it as 80 (`docker run -p 80:8080`"),
    ("ENV APP_PORT=443\n", "set APP_PORT to 8443 (and EXPOSE 8443) and publish it as 443"),
    # only EXPOSE says it: the app's own setting
    ("EXPOSE 80/tcp\n", "make the app listen on 8080 (and EXPOSE 8080) and publish it as 80"),
]


@pytest.mark.parametrize("lines, how", PORTS)
def test_low_port_is_a_suggestion_that_says_how_to_move_it(tmp_path, lines, how):
    """Kubernetes does not lower the unprivileged port range as Docker does: the port must move,
    which changes how the container is published, so the switch is only shown."""
    source = f'FROM node:22\nCOPY . .\n{lines}CMD ["node", "server.js"]\n'
    result = run(tmp_path, source)
    assert result.fixed.decode() == source
    [finding] = result.remaining
    assert how in finding.message and "not Kubernetes" in finding.message
    assert finding.fix is not None and not finding.fixable


def test_port_above_1023_is_no_obstacle(tmp_path):
    source = 'FROM node:22\nCOPY . .\nENV PORT=8080\nEXPOSE 8080\nCMD ["node", "server.js"]\n'
    result = run(tmp_path, source)
    assert "USER node\n" in result.fixed.decode() and not result.remaining
