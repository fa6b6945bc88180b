"""DF007 (and DF001) version policy: the smallest supported move, within engines.node, never
against the file's own word (its path, its header, a comment above its FROM)."""

from __future__ import annotations

import json
from datetime import date

import pytest

from dockfix.context import Options, RuleContext, checked_node_version
from dockfix.dockerfile.document import Document
from dockfix.edits import Applicability
from dockfix.pipeline import fix_document
from dockfix.project.build_context import Project
from dockfix.rules import select_rules
from dockfix.rules.own_word import do_not_update_comment, generated_note, version_named
from dockfix.rules.version_policy import NoTarget, Target, allows_major, upgrade_target
from dockfix.sources.nodedata import NodeData
from dockfix.sources.semver import SemverRange
from support.fixing import TODAY, fix_folder, make_project

DATA = NodeData.load()


def df(code, findings):
    return [f for f in findings if f.code == code]


# The policy ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("today", "oldest", "newest"),
    [
        (TODAY, 24, 26),  # 22 ends on 2027-04-30, under 12 months away
        (date(2026, 4, 1), 22, 24),  # 22 still had 13 months
        (date(2025, 12, 1), 22, 24),
        (date(2027, 6, 1), 26, 26),  # 24 has 11 months left
    ],
)
def test_oldest_lts_with_a_year_of_support_left(today, oldest, newest):
    assert DATA.oldest_lts_major(today) == oldest
    assert DATA.active_lts_major(today) == newest


def policy_of(tmp_path, *, engines=None, node_version=None, today=TODAY):
    package = None if engines is None else json.dumps({"name": "app", "engines": {"node": engines}})
    folder = make_project(tmp_path, "FROM node:14\n", package_json=package)
    options = Options(unsafe_fixes=True, offline=True, today=today, node_version=node_version)
    return upgrade_target(RuleContext(folder / "Dockerfile", Project(folder), options))


@pytest.mark.parametrize(
    ("engines", "node_version", "major"),
    [
        (None, None, 24),
        (">=14", None, 24),  # the policy's line is allowed: the smallest move
        (">=16.0.0", None, 24),
        ("^24", None, 24),
        (">= 14 <=22", None, 22),  # the newest supported LTS line the range allows
        (">=20.12 <21 || 22 || 24 <24.17.0 || 26 <26.3.1", None, 24),
        (">=26", None, 26),
        ("not a range", None, 24),  # npm would not read it either: no bound
        (None, "lts-newest", 26),
        (None, "lts-oldest", 24),
        (None, "22", 22),
        ("^18", "26", 26),  # the options override engines.node
    ],
)
def test_target_table(tmp_path, engines, node_version, major):
    target = upgrade_target_checked(tmp_path, engines, node_version)
    assert isinstance(target, Target) and target.major == major


def upgrade_target_checked(tmp_path, engines, node_version):
    return policy_of(tmp_path, engines=engines, node_version=node_version and checked_node_version(node_version))


@pytest.mark.parametrize("engines", ["^10.15", "^18", "14.*", "8.*.*", ">= 14 <=16"])
def test_an_engines_range_no_supported_line_satisfies_means_no_upgrade(tmp_path, engines):
    target = policy_of(tmp_path, engines=engines)
    assert isinstance(target, NoTarget)
    assert f"engines.node `{engines}` allows none of the supported LTS lines (22, 24, 26)" in target.reason


@pytest.mark.parametrize(
    ("text", "major", "allowed"),
    [("^22.11", 22, True), ("^22.11", 24, False), (">=14", 26, True), ("14.*", 24, False), ("<24.0.0", 24, False)],
)
def test_a_range_allows_a_line_when_some_release_of_it_satisfies_it(text, major, allowed):
    assert allows_major(SemverRange.parse(text), major) is allowed


@pytest.mark.parametrize(
    ("value", "held"), [("LTS-Oldest", "lts-oldest"), (" lts-newest", "lts-newest"), ("v22.11", "22.11")]
)
def test_node_version_option_takes_a_major_or_a_policy(value, held):
    assert checked_node_version(value) == held


def test_the_message_names_the_policy_and_the_support_end(tmp_path):
    result = fix_folder(make_project(tmp_path, "FROM node:14-alpine\n"), select=["DF007"])
    assert result.fixed == b"FROM node:24-alpine\n"
    (finding,) = df("DF007", result.initial)
    assert finding.message.startswith(
        "Node.js 14 reached its end of life on 2023-04-30: use `node:24-alpine` (the oldest LTS line with at"
        " least 12 months of support left, until 2028-04-30)"
    )


def test_engines_moves_to_the_newest_line_it_allows(tmp_path):
    package = json.dumps({"engines": {"node": ">=12 <23"}})
    result = fix_folder(make_project(tmp_path, "FROM node:12-slim\n", package_json=package), select=["DF007"])
    assert result.fixed == b"FROM node:22-slim\n"
    (finding,) = df("DF007", result.initial)
    assert "engines.node `>=12 <23` allows, until 2027-04-30" in finding.message


def test_engines_no_supported_line_satisfies_is_reported_without_a_fix(tmp_path):
    package = json.dumps({"engines": {"node": "^10.15"}})
    result = fix_folder(make_project(tmp_path, "FROM node:10-alpine\n", package_json=package), select=["DF007"])
    assert result.fixed == b"FROM node:10-alpine\n"
    (finding,) = df("DF007", result.initial)
    assert finding.fix is None and "so no upgrade is proposed" in finding.message


@pytest.mark.parametrize(
    ("uses", "added"),
    [("RUN yarn install\n", False), ("RUN corepack enable && pnpm install\n", False)],
)
def test_a_move_to_24_needs_no_package_manager_install(tmp_path, uses, added):
    # Node.js 24 still bundles Yarn v1 and Corepack: what moving to 26 had to add is not added.
    source = f"FROM node:14-alpine\nWORKDIR /app\nCOPY . .\n{uses}"
    result = fix_folder(make_project(tmp_path, source), select=["DF007"])
    assert result.fixed.decode().startswith("FROM node:24-alpine\n")
    assert ("npm install --global" in result.fixed.decode()) is added


def test_lts_newest_still_installs_yarn_on_26(tmp_path):
    folder = make_project(tmp_path, "FROM node:14-alpine\nWORKDIR /app\nCOPY . .\nRUN yarn install\n")
    options = Options(unsafe_fixes=True, offline=True, today=TODAY, node_version="lts-newest")
    ctx = RuleContext(folder / "Dockerfile", Project(folder), options)
    result = fix_document(
        folder / "Dockerfile", (folder / "Dockerfile").read_bytes(), ctx, select_rules(["DF007"], None)
    )
    assert "FROM node:26-alpine\nRUN npm install --global yarn@1\n" in result.fixed.decode()


# One upgrade per build ------------------------------------------------------------------------

TWO_STAGES = """FROM node:14-alpine AS build
WORKDIR /srv/app
COPY package.json yarn.lock ./
RUN yarn install --frozen-lockfile
COPY . .

FROM node:14-alpine
WORKDIR /srv/app
COPY --from=build /srv/app/ /srv/app/
CMD ["node", "server.js"]
"""


def test_stages_that_share_build_output_move_together(tmp_path):
    folder = make_project(tmp_path, TWO_STAGES, files={"yarn.lock": ""})
    result = fix_folder(folder, select=["DF007"])
    assert result.fixed.decode() == TWO_STAGES.replace("node:14-alpine", "node:24-alpine")
    (finding,) = df("DF007", result.initial)  # one fix, not one per stage
    assert finding.fix.applicability is Applicability.UNSAFE
    assert "line 7 to `node:24-alpine`" in finding.message
    assert fix_folder(folder, select=["DF007"], source=result.fixed).fixed == result.fixed


def test_stages_on_one_major_keep_their_own_variants(tmp_path):
    source = TWO_STAGES.replace("FROM node:14-alpine AS build", "FROM node:14 AS build").replace(
        "FROM node:14-alpine\n", "FROM node:14-slim\n"
    )
    result = fix_folder(make_project(tmp_path, source, files={"yarn.lock": ""}), select=["DF007"])
    text = result.fixed.decode()
    assert "FROM node:24 AS build\n" in text and "FROM node:24-slim\n" in text


def test_stages_that_share_nothing_move_on_their_own(tmp_path):
    source = 'FROM node:14-alpine AS tools\nRUN echo hi\n\nFROM node:16-alpine\nCMD ["node", "a.js"]\n'
    result = fix_folder(make_project(tmp_path, source), select=["DF007"])
    assert result.fixed.decode().count("node:24-alpine") == 2
    assert len(df("DF007", result.initial)) == 2


# The file's own word ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "major", "named"),
    [
        ("template/node18/Dockerfile", 18, "node18"),
        ("core/nodejs14Action/Dockerfile", 14, "nodejs14Action"),
        ("core/nodejs10Action/knative/Dockerfile", 10, "nodejs10Action"),
        ("tags/18/alpine/Dockerfile", 18, "18"),
        ("base-internal/releases/node-20/20.15.0-buster/Dockerfile", 20, "node-20"),
        ("3rdparty/node12_express_official/Dockerfile", 12, "node12_express_official"),
        ("containers/javascript-node-12/.devcontainer/Dockerfile", 12, "javascript-node-12"),
        ("template/node12-debian/Dockerfile", 12, "node12-debian"),
        ("docker/Dockerfile.node16", 16, "Dockerfile.node16"),
        ("template/node18/Dockerfile", 14, None),  # the path names another major than the file builds
        ("base/10.0.0/Dockerfile", 16, None),  # a version of something else
        ("services/api/Dockerfile", 14, None),
        ("test_node_14_2_0/Dockerfile", 14, None),  # a number that goes on is no name
    ],
)
def test_version_named_paths(tmp_path, path, major, named):
    assert version_named(tmp_path / path, major) == named


def test_a_version_named_definition_keeps_its_major(tmp_path):
    folder = tmp_path / "template" / "node12"
    folder.mkdir(parents=True)
    (folder / "Dockerfile").write_text('FROM node:12-alpine\nCMD ["node", "index.js"]\n')
    result = fix_folder(folder, select=["DF007"])
    assert result.fixed == (folder / "Dockerfile").read_bytes()
    (finding,) = df("DF007", result.initial)
    assert finding.fix is None
    assert "the path names Node.js 12 (`node12`)" in finding.message


def test_a_version_named_definition_still_gets_patch_releases(tmp_path):
    folder = tmp_path / "releases" / "node-22"
    folder.mkdir(parents=True)
    (folder / "Dockerfile").write_text("FROM node:22.1.0-alpine\n")
    result = fix_folder(folder, select=["DF007"])
    assert result.fixed.decode().startswith("FROM node:22.") and result.fixed != b"FROM node:22.1.0-alpine\n"


GENERATED = b"""#
# NOTE: THIS DOCKERFILE IS GENERATED VIA "apply-templates.sh"
#
# PLEASE DO NOT EDIT IT DIRECTLY.
#

FROM node:14-alpine
RUN npm install
CMD ["node", "index.js"]
"""


@pytest.mark.parametrize(
    ("header", "generator"),
    [
        (GENERATED, "apply-templates.sh"),
        (b"# Code generated by dockergen. DO NOT EDIT.\nFROM node:14\n", "dockergen"),
        (b"# syntax=docker/dockerfile:1\n# @generated\nFROM node:14\n", None),
        (b"# This file is auto-generated; edit the template instead\nFROM node:14\n", None),
    ],
)
def test_generated_headers(header, generator):
    note = generated_note(Document.parse(header))
    assert note is not None and note.note and note.code == "DF000"
    assert (f"generated by `{generator}`" in note.message) is (generator is not None)


@pytest.mark.parametrize(
    "source",
    [
        b"FROM node:14\n# generated by the build below\nRUN npm ci\n",  # not a header
        b"# The generated assets are served by nginx\nFROM node:14\n",
        b"FROM node:14\n",
    ],
)
def test_not_generated(source):
    assert generated_note(Document.parse(source)) is None


def test_a_generated_file_is_left_alone_by_every_rule(tmp_path):
    result = fix_folder(make_project(tmp_path, GENERATED))
    assert result.fixed == GENERATED and not result.applied and not result.remaining
    (note,) = result.notes
    assert "generated by `apply-templates.sh`" in note.message


@pytest.mark.parametrize(
    ("comment", "held"),
    [
        ("# DON'T UPDATE TO node:14-bullseye-slim, see #372.", True),
        ("# do not upgrade", True),
        ("# Keep node 14: the native addon needs it", True),
        ("# Please don't bump this image", True),
        ("# NOTE: never update this without the ops team", True),
        ("#    but less secure if you don't update it regularly", False),
        ("# build stage", False),
    ],
)
def test_do_not_update_comments(comment, held):
    doc = Document.parse(f"{comment}\n# If the image changed, change the other stage too\nFROM node:14\n".encode())
    assert (do_not_update_comment(doc, doc.stages[0].from_instruction) is not None) is held


def test_a_comment_separated_by_a_blank_line_does_not_hold(tmp_path):
    doc = Document.parse(b"# do not upgrade\n\nFROM node:14\n")
    assert do_not_update_comment(doc, doc.stages[0].from_instruction) is None


def test_a_from_under_a_do_not_update_comment_keeps_its_image(tmp_path):
    source = '# DON\'T UPDATE TO node:14-bullseye-slim, see #372.\nFROM node:14-buster-slim\nCMD ["node", "a.js"]\n'
    result = fix_folder(make_project(tmp_path, source), select=["DF001", "DF007"])
    assert result.fixed == source.encode()
    for code in ("DF001", "DF007"):
        (finding,) = df(code, result.initial)
        assert finding.fix is None and "the comment above it says not to update it" in finding.message


def test_a_floating_tag_under_a_do_not_update_comment_is_left_alone(tmp_path):
    source = "# keep this image\nFROM node:lts\n"
    result = fix_folder(make_project(tmp_path, source), select=["DF001"])
    assert result.fixed == source.encode()
