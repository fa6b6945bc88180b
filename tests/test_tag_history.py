"""Every tag the node image ever published: the shipped history, what dockfix says of a tag the
image no longer updates, and scripts/node_tag_history.py run over a small repository laid out as
docker-node was in each era."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from dockfix.sources.images import NodeImages, TagState, Variant
from dockfix.sources.tag_history import HISTORY_FILE, PublishedTag, TagHistory
from support.fixing import TODAY, fix_folder, make_project

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "scripts" / "node_tag_history.py"
IMAGES = NodeImages.packaged()

STATES = [
    # the current versions.json lists them
    ("26-alpine", TagState.CURRENT),
    ("24.1-bookworm-slim", TagState.CURRENT),
    ("lts-alpine", TagState.CURRENT),
    ("krypton", TagState.CURRENT),
    # published in the versions.json era, since dropped from the list
    ("22-alpine3.22", TagState.NO_LONGER_UPDATED),
    ("14.17.0-buster-slim", TagState.NO_LONGER_UPDATED),
    ("20-bookworm", TagState.NO_LONGER_UPDATED),
    ("lts-buster", TagState.NO_LONGER_UPDATED),
    ("current-stretch", TagState.NO_LONGER_UPDATED),
    # published in the folder era (MAJOR/VARIANT and X.Y/ folders)
    ("8-jessie", TagState.NO_LONGER_UPDATED),
    ("10.15-alpine", TagState.NO_LONGER_UPDATED),
    ("6.9-wheezy", TagState.NO_LONGER_UPDATED),
    ("0.10", TagState.NO_LONGER_UPDATED),
    ("4.8-onbuild", TagState.NO_LONGER_UPDATED),
    ("onbuild", TagState.NO_LONGER_UPDATED),
    ("chakracore-10", TagState.NO_LONGER_UPDATED),
    # codenames of lines the image no longer builds
    ("carbon", TagState.NO_LONGER_UPDATED),
    ("boron-slim", TagState.NO_LONGER_UPDATED),
    ("dubnium-alpine", TagState.NO_LONGER_UPDATED),
    ("argon", TagState.NO_LONGER_UPDATED),
    # never published
    ("26-buster", TagState.NOT_A_TAG),
    ("18-stretch", TagState.NOT_A_TAG),  # only on a pull request's branch, dropped before the merge
    ("14-alpine3.99", TagState.NOT_A_TAG),
    ("8-bookworm", TagState.NOT_A_TAG),
    ("carbon-trixie", TagState.NOT_A_TAG),
    ("7.99.0", TagState.NOT_A_TAG),
    ("26-onbuild", TagState.NOT_A_TAG),
    # newer than the data, or a moving alias it cannot place
    ("28", TagState.UNKNOWN),
    ("28-alpine", TagState.UNKNOWN),
    ("latest", TagState.UNKNOWN),
]


@pytest.mark.parametrize(("tag", "state"), STATES, ids=[s[0] for s in STATES])
def test_tag_state(tag, state):
    assert IMAGES.tag_state(tag, TODAY) is state
    assert IMAGES.tag_exists(tag, TODAY) is {TagState.CURRENT: True, TagState.NOT_A_TAG: False}.get(state)


FACTS = [
    ("22-alpine3.22", Variant("alpine", "3.22", slim=True)),
    ("8-jessie", Variant("debian", "jessie", slim=False)),
    ("10.15-alpine", Variant("alpine", "3.9", slim=True)),  # the `alpine` folder was Alpine 3.9 then
    ("8.9-slim", Variant("debian", "jessie", slim=True)),  # FROM buildpack-deps:jessie-curl
    ("8", Variant("debian", "stretch", slim=False)),  # its last release, 8.17.0
    ("7.5.0", Variant("debian", "jessie", slim=False)),
    ("14.0", Variant("debian", "stretch", slim=False)),  # buster was the default only from 14.19.3
    ("carbon", Variant("debian", "stretch", slim=False)),
    ("dubnium-alpine", Variant("alpine", "3.11", slim=True)),
    ("0.10", Variant("debian", "jessie", slim=False)),
]


@pytest.mark.parametrize(("tag", "variant"), FACTS, ids=[f[0] for f in FACTS])
def test_a_tag_no_longer_updated_carries_what_it_was_built_on(tag, variant):
    assert IMAGES.variant(tag, TODAY) == variant
    assert (variant.libc, variant.has_build_tools) == (
        ("musl", False) if variant.distro == "alpine" else ("glibc", not variant.slim)
    )


def test_what_the_history_cannot_say_is_unknown():
    # an onbuild image is built FROM another node tag: the history does not record which base
    assert IMAGES.variant("onbuild", TODAY) is None
    assert IMAGES.variant("carbon-onbuild", TODAY) is None
    # a moving alias is only what its words say: `latest` is Debian, its release unknown
    assert IMAGES.variant("latest", TODAY) == Variant("debian", None, slim=False)


def test_the_shipped_history_is_small_and_names_its_source():
    assert HISTORY_FILE.stat().st_size < 64_000
    document = json.loads(HISTORY_FILE.read_text(encoding="utf-8"))
    assert document["repository"] == "nodejs/docker-node"
    assert document["commit"] in (REPO / "src" / "dockfix" / "data" / "SOURCES.md").read_text(encoding="utf-8")


def _df001(tmp_path: Path, dockerfile: str) -> list[str]:
    result = fix_folder(make_project(tmp_path, dockerfile), select=["DF001"])
    return [f.message for f in result.initial if f.code == "DF001"]


def test_df001_says_a_dropped_variant_exists_but_is_no_longer_updated(tmp_path):
    (message,) = _df001(tmp_path, 'FROM node:22-alpine3.22\nCMD ["node", "app.js"]\n')
    assert message.startswith("`node:22-alpine3.22` exists but is no longer updated")
    assert "such as `node:22-alpine`" in message
    assert "not a tag" not in message


def test_df001_still_says_a_tag_never_published_is_not_a_tag(tmp_path):
    assert _df001(tmp_path, "FROM node:18-stretch\n") == ["`node:18-stretch` is not a tag of the official node image"]


def test_df001_leaves_a_retired_line_to_df007(tmp_path):
    (message,) = _df001(tmp_path, "FROM node:8-jessie\n")
    assert "not pinned by digest" in message  # DF007 reports the end-of-life line


def test_the_guard_has_no_problem_with_a_tag_no_longer_updated(tmp_path):
    result = fix_folder(make_project(tmp_path, "FROM node:10.15-alpine\nRUN apk add --no-cache git\n"))
    assert not any("not a tag" in f.message for f in [*result.initial, *result.remaining])


# -- the derivation, over a repository laid out as docker-node was --------------------------------

SHELL_SCRIPT = """#!/usr/bin/env bash
array_8='8 carbon'
default_variant=$(get_config "./" "default_variant")
for version in "${versions[@]}"; do
  stub=$(get_stub "${version}")
  if [ "${variant}" = "${default_variant}-slim" ]; then
    variantAliases+=("${versionAliases[@]/%/-slim}")
  fi
  if [ "${variant}" = "${default_variant}" ]; then
    variantAliases+=("${versionAliases[@]}")
  fi
done
"""
OLD_SCRIPT = """#!/bin/bash
array_0_12='0';
array_4_2='4 argon';
for version in "${versions[@]}"; do
\teval stub=$(echo "$version" | awk -F. '{ print "$array_" $1 "_" $2 }');
done
"""


def _dockerfile(base: str, version: str | None) -> str:
    env = f"ENV NODE_VERSION {version}\n" if version else ""
    return f'FROM {base}\n\n{env}CMD [ "node" ]\n'


def _commit(repo: Path, day: str, files: dict[str, str | None], message: str) -> None:
    for relative, text in files.items():
        path = repo / relative
        if text is None:
            path.unlink()
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    env = {**os.environ, "GIT_AUTHOR_DATE": f"{day}T12:00:00Z", "GIT_COMMITTER_DATE": f"{day}T12:00:00Z"}
    git = [
        "git",
        "-C",
        str(repo),
        "-c",
        "user.name=test",
        "-c",
        "user.email=test@example.com",
        "-c",
        "commit.gpgsign=false",
    ]
    subprocess.run([*git, "add", "-A"], check=True, env=env)
    subprocess.run([*git, "commit", "-q", "-m", message], check=True, env=env)


@pytest.fixture(scope="module")
def derived(tmp_path_factory) -> TagHistory:
    repo = tmp_path_factory.mktemp("docker-node")
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    # 2015: X.Y folders, the folder's own Dockerfile is the bare tags, stubs keyed by X_Y
    _commit(
        repo,
        "2015-10-30",
        {
            "generate-stackbrew-library.sh": OLD_SCRIPT,
            "4.2/Dockerfile": _dockerfile("buildpack-deps:jessie", "4.2.1"),
            "4.2/slim/Dockerfile": _dockerfile("buildpack-deps:jessie-curl", "4.2.1"),
            "4.2/onbuild/Dockerfile": _dockerfile("node:4.2.1", None),
            "0.12/Dockerfile": _dockerfile("buildpack-deps:jessie", "0.12.7"),
        },
        "Node.js 4.2.1 and 0.12.7",
    )
    # 2018: MAJOR/VARIANT folders, config's default_variant has the bare and -slim tags
    _commit(
        repo,
        "2018-12-01",
        {
            "generate-stackbrew-library.sh": SHELL_SCRIPT,
            "config": "baseuri     https://nodejs.org/dist\ndefault_variant stretch\n",
            "4.2/Dockerfile": None,
            "4.2/slim/Dockerfile": None,
            "4.2/onbuild/Dockerfile": None,
            "0.12/Dockerfile": None,
            "8/jessie/Dockerfile": _dockerfile("buildpack-deps:jessie", "8.14.0"),
            "8/stretch/Dockerfile": _dockerfile("buildpack-deps:stretch", "8.14.0"),
            "8/stretch-slim/Dockerfile": _dockerfile("debian:stretch-slim", "8.14.0"),
            "8/alpine/Dockerfile": _dockerfile("alpine:3.8", "8.14.0"),
        },
        "Node.js 8.14.0",
    )
    # 2024: versions.json and stackbrew.js; 20 is the active LTS on the commit's day
    versions = {
        "20": {
            "lts": "2023-10-24",
            "codename": "iron",
            "alpine-default": "alpine3.20",
            "debian-default": "bookworm",
            "variants": {"alpine3.20": ["amd64"], "bookworm": ["amd64"], "bookworm-slim": ["amd64"]},
        }
    }
    _commit(
        repo,
        "2024-07-01",
        {
            "generate-stackbrew-library.sh": None,
            "config": None,
            "8/jessie/Dockerfile": None,
            "8/stretch/Dockerfile": None,
            "8/stretch-slim/Dockerfile": None,
            "8/alpine/Dockerfile": None,
            "stackbrew.js": "// reads versions.json\n",
            "versions.json": json.dumps(versions),
            "20/alpine3.20/Dockerfile": _dockerfile("alpine:3.20", "20.15.0").replace(" 20", "=20"),
            "20/bookworm/Dockerfile": _dockerfile("buildpack-deps:bookworm", "20.15.0").replace(" 20", "=20"),
            "20/bookworm-slim/Dockerfile": _dockerfile("debian:bookworm-slim", "20.15.0").replace(" 20", "=20"),
        },
        "Node.js 20.15.0",
    )
    output = repo.parent / "history.json"
    done = subprocess.run(
        [sys.executable, str(SCRIPT), str(repo / ".git"), "--output", str(output)],
        check=True,
        capture_output=True,
        text=True,
    )
    assert "commits read: {'folders': 2, 'versions.json': 1}" in done.stdout
    return TagHistory.from_file(output)


DERIVED = [
    # folder X.Y era: full version, X.Y and the stub's words, with each variant folder's suffix
    ("4.2.1", PublishedTag("4.2.1", "jessie", False)),
    ("4.2", PublishedTag("4.2.1", "jessie", False)),
    ("4", PublishedTag("4.2.1", "jessie", False)),
    ("4.2-slim", PublishedTag("4.2.1", "jessie-slim", False)),
    ("argon", PublishedTag("4.2.1", "jessie", False)),
    ("argon-onbuild", PublishedTag("4.2.1", None, False)),  # FROM node:4.2.1: the base is not recorded
    ("4-onbuild", PublishedTag("4.2.1", None, False)),
    ("0.12", PublishedTag("0.12.7", "jessie", False)),
    ("0", PublishedTag("0.12.7", "jessie", False)),
    # folder MAJOR/VARIANT era: default_variant's bare and -slim tags, the codename on each variant
    ("8.14.0-jessie", PublishedTag("8.14.0", "jessie", False)),
    ("8", PublishedTag("8.14.0", "stretch", False)),
    ("8-slim", PublishedTag("8.14.0", "stretch-slim", False)),
    ("8.14-alpine", PublishedTag("8.14.0", "alpine3.8", False)),
    ("carbon-stretch-slim", PublishedTag("8.14.0", "stretch-slim", False)),
    ("carbon-slim", PublishedTag("8.14.0", "stretch-slim", False)),
    # versions.json era: the defaults' bare, -slim and -alpine tags, codename, lts
    ("20.15-alpine", PublishedTag("20.15.0", "alpine3.20", False)),
    ("20-bookworm-slim", PublishedTag("20.15.0", "bookworm-slim", False)),
    ("20", PublishedTag("20.15.0", "bookworm", False)),
    ("iron-alpine", PublishedTag("20.15.0", "alpine3.20", True)),
    ("lts", PublishedTag("20.15.0", "bookworm", True)),
    ("lts-iron", PublishedTag("20.15.0", "bookworm", True)),
]


@pytest.mark.parametrize(("tag", "published"), DERIVED, ids=[d[0] for d in DERIVED])
def test_the_script_derives_each_eras_tags(derived, tag, published):
    assert derived.lookup(tag) == published


@pytest.mark.parametrize(
    "tag",
    [
        "4.2-alpine",
        "0.12-slim",
        "4.1",
        "8-jessie-slim",
        "8-buster",
        "carbon-trixie",
        "latest",
        "current",
        "20-alpine3.19",
    ],
)
def test_the_script_derives_no_tag_that_was_not_published(derived, tag):
    assert derived.lookup(tag) is None
