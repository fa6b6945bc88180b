"""DF007: stages pinned to one end-of-life release that pass build output to one another move to
the target major together, in one fix, and still share one version afterwards; stages that share
nothing move on their own; an ARG that holds the version moves once for every FROM that reads it.
Offline first, then pinned by digest against a real registry."""

from __future__ import annotations

import re

import pytest

from dockfix.edits import Applicability
from support.fixing import fix_folder, fix_online, make_project
from support.oracle import oracle_view
from support.registry import push_image, registry_fixture

BUILD_AND_RUN = """FROM node:{build} AS builder
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci
COPY . .
RUN npm run build

FROM node:{run}
WORKDIR /app
COPY --from=builder /app/dist ./dist
CMD ["node", "dist/index.js"]
"""

THREE_STAGES = """FROM node:{deps} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci

FROM node:{build} AS builder
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY . .
RUN npm run build

FROM node:{run}
WORKDIR /app
COPY --from=builder /app/dist ./dist
CMD ["node", "dist/index.js"]
"""

SHARING_NOTHING = """FROM node:{tools} AS tools
RUN npm --version

FROM node:{run}
WORKDIR /app
COPY . .
CMD ["node", "index.js"]
"""

ARG_HELD = """ARG NODE_VERSION={version}
FROM node:${{NODE_VERSION}}-alpine AS builder
WORKDIR /app
COPY . .
RUN npm ci && npm run build

FROM node:${{NODE_VERSION}}-alpine
WORKDIR /app
COPY --from=builder /app/dist ./dist
CMD ["node", "dist/index.js"]
"""

ARG_AND_LITERAL = """ARG NODE_VERSION={version}
FROM node:${{NODE_VERSION}}-alpine AS builder
WORKDIR /app
COPY . .
RUN npm ci && npm run build

FROM node:{run}
WORKDIR /app
COPY --from=builder /app/dist ./dist
CMD ["node", "dist/index.js"]
"""

_NODE_TAG = re.compile(r"(?:^FROM node:|^ARG NODE_VERSION=)([^\s@$][^\s@]*)", re.MULTILINE)


def df007(findings):
    return [f for f in findings if f.code == "DF007"]


def tags(text: str) -> list[str]:
    """The node tag each FROM (or the version ARG) names, in order."""
    return _NODE_TAG.findall(text)


def versions(text: str) -> set[str]:
    """The Node.js versions the tags name, without their variants."""
    return {tag.split("-", 1)[0] for tag in tags(text)}


@pytest.mark.parametrize(
    ("source", "moved", "fixes"),
    [
        # Two stages on one pinned release, the runtime copying the build's output: one fix.
        (
            BUILD_AND_RUN.format(build="14.21.3-alpine", run="14.21.3-alpine"),
            ["24-alpine", "24-alpine"],
            1,
        ),
        # Each keeps its own variant, on one version.
        (
            BUILD_AND_RUN.format(build="16.20.2-bullseye", run="16.20.2-bullseye-slim"),
            ["24-bullseye", "24-bullseye-slim"],
            1,
        ),
        # Two pinned releases of one dead major: still one build, one version afterwards.
        (
            BUILD_AND_RUN.format(build="14.21.3-alpine", run="14.17.0-alpine"),
            ["24-alpine", "24-alpine"],
            1,
        ),
        # Three stages chained by COPY --from.
        (
            THREE_STAGES.format(deps="14.21.3-alpine", build="14.21.3-alpine", run="14.21.3-alpine"),
            ["24-alpine", "24-alpine", "24-alpine"],
            1,
        ),
        # No build output passes between them: each moves on its own.
        (
            SHARING_NOTHING.format(tools="14.21.3-alpine", run="14.21.3-alpine"),
            ["24-alpine", "24-alpine"],
            2,
        ),
        # One ARG holds the version of both FROMs: it moves once.
        (ARG_HELD.format(version="14.21.3"), ["24"], 1),
        # An ARG-held stage and a literal one, linked: both sites move in the one fix.
        (
            ARG_AND_LITERAL.format(version="14.21.3", run="14.21.3-alpine"),
            ["24", "24-alpine"],
            1,
        ),
    ],
    ids=["alpine-pair", "bullseye-variants", "two-releases", "three-stages", "unlinked", "arg", "arg-and-literal"],
)
def test_linked_stages_move_together_and_keep_one_version(tmp_path, source, moved, fixes):
    folder = make_project(tmp_path, source, files={"package-lock.json": "{}"})
    result = fix_folder(folder, select=["DF007"])
    assert result.error is None
    fixed = result.fixed.decode()
    assert tags(fixed) == moved
    assert len(versions(fixed)) == 1
    # Only the FROM lines (or the ARG) changed.
    assert [line for line in fixed.splitlines() if not line.startswith(("FROM", "ARG"))] == [
        line for line in source.splitlines() if not line.startswith(("FROM", "ARG"))
    ]
    found = df007(result.initial)
    assert len(found) == fixes
    assert all(f.fix is not None and f.fix.applicability is Applicability.UNSAFE for f in found)
    if fixes == 1 and len(moved) > 1:
        (finding,) = found
        assert "with the stages it shares build output with, on the same major" in finding.message
    assert oracle_view(result.fixed)[0] == "ok"
    assert fix_folder(folder, select=["DF007"], source=result.fixed).fixed == result.fixed


def test_linked_stages_move_together_with_every_rule(tmp_path):
    # The other rules' edits (users, NODE_ENV, init) leave the joint move whole.
    source = BUILD_AND_RUN.format(build="14.21.3-alpine", run="14.21.3-alpine")
    folder = make_project(tmp_path, source, files={"package-lock.json": "{}"})
    result = fix_folder(folder)
    assert result.error is None
    assert tags(result.fixed.decode()) == ["24-alpine", "24-alpine"]
    assert len(df007(result.initial)) == 1


def test_a_linked_stage_on_a_retired_debian_release_moves_to_the_nearest_supported_one(tmp_path):
    # Node.js 24 has no stretch images: the runtime moves, in the same fix, to bookworm.
    source = BUILD_AND_RUN.format(build="14.21.3-alpine", run="14.21.3-stretch")
    result = fix_folder(make_project(tmp_path, source, files={"package-lock.json": "{}"}), select=["DF007"])
    assert tags(result.fixed.decode()) == ["24-alpine", "24-bookworm"]
    (finding,) = df007(result.initial)
    assert "line 8 to `node:24-bookworm`" in finding.message


def test_only_the_stage_built_on_onbuild_gets_its_hidden_steps(tmp_path):
    # The onbuild runtime moves with the alpine build it copies from; the retired image's
    # hidden steps are written after its own FROM, not after the build stage's.
    source = BUILD_AND_RUN.format(build="14.21.3-alpine", run="14.21.3-onbuild")
    result = fix_folder(make_project(tmp_path, source, files={"package-lock.json": "{}"}), select=["DF007"])
    fixed = result.fixed.decode()
    assert tags(fixed) == ["24-alpine", "24"]
    build, run = fixed.split("\n\n")
    assert "onbuild" not in build and build == BUILD_AND_RUN.split("\n\n")[0].replace("{build}", "24-alpine")
    assert run.startswith("FROM node:24\n# What the retired node:onbuild image ran")
    assert 'CMD ["npm", "start"]' not in fixed  # the stage has its own CMD
    assert oracle_view(result.fixed)[0] == "ok"


# Pinned by digest, against a real registry --------------------------------------------------

token_registry = registry_fixture(auth="token", scope="module")

PUSHED_TAGS = (
    "14.21.3-alpine",
    "16.20.2-bullseye",
    "16.20.2-bullseye-slim",
    "24-alpine",
    "24-bullseye",
    "24-bullseye-slim",
)


@pytest.fixture(scope="module")
def pushed(token_registry):
    return {tag: push_image(token_registry, "library/node", tag) for tag in PUSHED_TAGS}


@pytest.mark.parametrize(
    ("build", "run", "moved"),
    [
        ("14.21.3-alpine", "14.21.3-alpine", ("24-alpine", "24-alpine")),
        ("16.20.2-bullseye", "16.20.2-bullseye-slim", ("24-bullseye", "24-bullseye-slim")),
    ],
    ids=["alpine-pair", "bullseye-variants"],
)
def test_pinned_linked_stages_move_together_each_on_its_new_digest(tmp_path, token_registry, pushed, build, run, moved):
    source = BUILD_AND_RUN.format(build=f"{build}@{pushed[build].digest}", run=f"{run}@{pushed[run].digest}")
    result = fix_online(tmp_path, source, token_registry.url, ["DF007"], files={"package-lock.json": "{}"})
    expected = BUILD_AND_RUN.format(
        build=f"{moved[0]}@{pushed[moved[0]].digest}", run=f"{moved[1]}@{pushed[moved[1]].digest}"
    )
    assert result.fixed.decode() == expected
    (finding,) = df007(result.initial)
    assert finding.fix.applicability is Applicability.UNSAFE


def test_a_pinned_pair_keeps_one_digest_with_every_rule(tmp_path, token_registry, pushed):
    # Online, DF001 pins nothing new here (both are pinned); DF007 moves both to one digest.
    pin = pushed["14.21.3-alpine"].digest
    source = BUILD_AND_RUN.format(build=f"14.21.3-alpine@{pin}", run=f"14.21.3-alpine@{pin}")
    result = fix_online(tmp_path, source, token_registry.url, None, files={"package-lock.json": "{}"})
    new_pin = pushed["24-alpine"].digest
    assert result.fixed.decode().count(f"FROM node:24-alpine@{new_pin}") == 2
    assert len(df007(result.initial)) == 1
