"""DF007 supported-node-version: offline decisions from the shipped data, then the real registry."""

from __future__ import annotations

import pytest

from dockfix.edits import Applicability
from dockfix.sources.nodedata import NodeData
from dockfix.sources.semver import Version
from support.fixing import TODAY, fix_folder, fix_online, make_project
from support.oracle import oracle_view
from support.registry import push_image, registry_fixture

DATA = NodeData.load()
FIRST_PATCHED_22 = str(DATA.smallest_patched_version(Version(22, 1, 0)))


def df007(findings, *, with_fix: bool = True):
    return [f for f in findings if f.code == "DF007" and (f.fix is not None) == with_fix]


def test_the_data_knows_what_the_tests_assume():
    assert DATA.active_lts_major(TODAY) == 26
    assert DATA.is_end_of_life(14, TODAY) and not DATA.is_end_of_life(22, TODAY)
    assert FIRST_PATCHED_22.startswith("22.") and FIRST_PATCHED_22 != "22.1.0"


@pytest.mark.parametrize(
    ("dockerfile", "expected", "applicability"),
    [
        ("FROM node:14.2.0-slim\n", "FROM node:24-slim\n", Applicability.UNSAFE),
        ("FROM node:18-alpine3.19\n", "FROM node:24-alpine\n", Applicability.UNSAFE),
        ("FROM node:22.1.0-alpine\n", f"FROM node:{FIRST_PATCHED_22}-alpine\n", Applicability.SAFE),
        ("FROM node:22.1-alpine\n", f"FROM node:{FIRST_PATCHED_22}-alpine\n", Applicability.SAFE),
        (
            "FROM node:v22.1.0 AS build\nFROM build\n",
            f"FROM node:{FIRST_PATCHED_22} AS build\nFROM build\n",
            Applicability.SAFE,
        ),
        (
            "ARG NODE_VERSION=18\nFROM node:${NODE_VERSION}-alpine\n",
            "ARG NODE_VERSION=24\nFROM node:${NODE_VERSION}-alpine\n",
            Applicability.UNSAFE,
        ),
        (
            "ARG BASE=node:22.1.0-slim\nFROM $BASE\n",
            f"ARG BASE=node:{FIRST_PATCHED_22}-slim\nFROM $BASE\n",
            Applicability.SAFE,
        ),
    ],
    # Not named after the Node.js versions: a folder named `..._node_18_alpine` would say which
    # Node.js the file builds (rules/own_word.py), and the test's folder is named after its id.
    ids=lambda value: "case" if isinstance(value, str) else None,
)
def test_upgrades(tmp_path, dockerfile, expected, applicability):
    folder = make_project(tmp_path, dockerfile)
    result = fix_folder(folder, select=["DF007"])
    assert result.error is None
    assert result.fixed.decode() == expected
    (finding,) = df007(result.initial)
    assert finding.fix.applicability is applicability
    assert oracle_view(result.fixed)[0] == "ok"
    assert fix_folder(folder, select=["DF007"], source=result.fixed).fixed == result.fixed


def test_dead_major_message_gives_the_end_date_and_advisories(tmp_path):
    (finding,) = df007(fix_folder(make_project(tmp_path, "FROM node:14.2.0-slim\n"), select=["DF007"]).initial)
    assert "2023-04-30" in finding.message and "CVE-" in finding.message


def test_dead_major_waits_for_unsafe_fixes(tmp_path):
    result = fix_folder(make_project(tmp_path, "FROM node:16-alpine\n"), unsafe=False, select=["DF007"])
    assert result.fixed == b"FROM node:16-alpine\n"
    assert [f.code for f in result.withheld] == ["DF007"]


@pytest.mark.parametrize(
    "dockerfile",
    [
        "FROM node:26-alpine\n",
        "FROM node:22-slim\n",  # a major-only tag floats to the newest release: only end of life matters
        f"FROM node:{FIRST_PATCHED_22}-alpine\n",
        "FROM node\n",  # floating tags are DF001's
        "FROM python:3.8\n",
        "# escape=`\nFROM node:14-windowsservercore\n",
    ],
)
def test_healthy_or_not_ours_left_alone(tmp_path, dockerfile):
    result = fix_folder(make_project(tmp_path, dockerfile), select=["DF007"])
    assert df007(result.initial) == []
    assert result.fixed == dockerfile.encode()


@pytest.mark.parametrize("tag", ["24.14", "24.14-alpine", "22.22-slim"])
def test_floating_minor_tag_whose_line_has_its_security_release_is_left_alone(tmp_path, tag):
    # `node:24.14` is rebuilt on 24.14.1, which every advisory of the data has patched.
    source = f'FROM node:{tag}\nCMD ["node", "server.js"]\n'
    result = fix_folder(make_project(tmp_path, source), select=["DF007"])
    assert df007(result.initial) == [] and df007(result.initial, with_fix=False) == []
    assert result.fixed == source.encode()


def test_the_first_release_of_that_line_is_still_upgraded(tmp_path):
    source = 'FROM node:24.14.0\nCMD ["node", "server.js"]\n'
    result = fix_folder(make_project(tmp_path, source), select=["DF007"])
    assert result.fixed == source.replace("24.14.0", "24.14.1").encode()
    (finding,) = df007(result.initial)
    assert finding.message.startswith("Node.js 24.14.0 is affected by 8 known advisories")


def test_floating_minor_tag_of_an_unpatched_line_names_the_release_it_was_judged_by(tmp_path):
    source = 'FROM node:24.13\nCMD ["node", "server.js"]\n'
    result = fix_folder(make_project(tmp_path, source), select=["DF007"])
    assert result.fixed == source.replace("24.13", "24.14.1").encode()
    (finding,) = df007(result.initial)
    assert finding.fix.applicability is Applicability.SAFE
    assert finding.message.startswith("Node.js 24.13 (its newest known release, 24.13.0) is affected by 8 known")


def test_stale_data_is_a_run_warning_not_a_finding(tmp_path):
    source = "FROM node:22-alpine AS a\nFROM node:24-alpine AS b\nFROM node:26-alpine\n"
    assert not any(
        "update-data" in f.message for f in fix_folder(make_project(tmp_path, source), select=["DF007"]).initial
    )


def test_both_rules_together_reach_a_fixpoint(tmp_path):
    source = 'FROM node:14.2.0-slim AS build\nRUN npm ci\nFROM node:latest\nCOPY --from=build /app /app\nCMD ["node", "/app/a.js"]\n'
    folder = make_project(tmp_path, source)
    result = fix_folder(folder)
    assert result.error is None
    lines = result.fixed.decode().splitlines()
    assert lines[:2] == ["# syntax=docker/dockerfile:1", "FROM node:24-slim AS build"]  # DF011 mounts npm's cache
    # The floating runtime takes the major of the build it runs, on glibc (what `npm ci` made)
    assert "FROM node:24-slim" in lines
    assert oracle_view(result.fixed)[0] == "ok"
    assert fix_folder(folder, source=result.fixed).fixed == result.fixed


# Against a real registry: the proposed tag must exist, and is pinned by its digest -----------

token_registry = registry_fixture(auth="token", scope="module")


@pytest.fixture(scope="module")
def pushed(token_registry):
    return {
        tag: push_image(token_registry, "library/node", tag)
        for tag in ("24-slim", "26-slim", f"{FIRST_PATCHED_22}-alpine", "22.1.0-alpine")
    }


def test_dead_major_becomes_the_oldest_lts_with_a_year_left_slim_with_its_digest(tmp_path, token_registry, pushed):
    result = fix_online(tmp_path, "FROM node:14.2.0-slim\n", token_registry.url, select=["DF001", "DF007"])
    assert result.fixed.decode() == f"FROM node:24-slim@{pushed['24-slim'].digest}\n"
    assert df007(result.initial)[0].fix.applicability is Applicability.UNSAFE


def test_vulnerable_patch_becomes_the_first_patched_release(tmp_path, token_registry, pushed):
    result = fix_online(tmp_path, "FROM node:22.1.0-alpine\n", token_registry.url, select=["DF001", "DF007"])
    image = pushed[f"{FIRST_PATCHED_22}-alpine"]
    assert result.fixed.decode() == f"FROM node:{FIRST_PATCHED_22}-alpine@{image.digest}\n"


def test_pinned_vulnerable_digest_is_upgraded_too(tmp_path, token_registry, pushed):
    old = pushed["22.1.0-alpine"].digest
    result = fix_online(tmp_path, f"FROM node:22.1.0-alpine@{old}\n", token_registry.url, select=["DF007"])
    assert (
        result.fixed.decode() == f"FROM node:{FIRST_PATCHED_22}-alpine@{pushed[f'{FIRST_PATCHED_22}-alpine'].digest}\n"
    )


def test_a_proposal_the_registry_lacks_is_not_made(tmp_path, token_registry, pushed):
    result = fix_online(tmp_path, "FROM node:14.2.0-bookworm\n", token_registry.url, select=["DF007"])
    assert result.fixed == b"FROM node:14.2.0-bookworm\n"
    (warning,) = [f for f in result.initial if f.code == "DF007" and "not in the registry" in f.message]
    assert warning.fix is None


def test_healthy_pinned_file_is_left_alone_online(tmp_path, token_registry, pushed):
    digest = pushed["26-slim"].digest
    source = f'FROM node:26-slim@{digest}\nCMD ["node", "a.js"]\n'
    result = fix_online(tmp_path, source, token_registry.url, select=["DF001", "DF007"])
    assert result.fixed == source.encode()
    assert all(f.fix is None for f in result.initial)
