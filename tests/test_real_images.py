"""DF001 and DF007 propose only tags the official node image has, and keep what the build runs.

Table tests: each file before and after DF001 and DF007 (offline, run date 2026-11-29, active
LTS 26), then files that must stay as they are. Every output parses with BuildKit's parser, is a
fixpoint, and passes the real-image guard against its input; then the same files against a
loopback registry, where a tag it does not serve is never written and a digest pin is kept.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dockfix import guard
from dockfix.context import Options, RuleContext, Services
from dockfix.dockerfile.document import Document
from dockfix.pipeline import fix_document
from dockfix.project.build_context import Project
from dockfix.rules import select_rules
from dockfix.sources.images import NodeImages
from support.fixing import TODAY, fix_folder, make_project
from support.oracle import oracle_view
from support.registry import push_image, registry_fixture

RULES = ["DF001", "DF007"]
DIGEST = "sha256:" + "a" * 64
TINI = "https://github.com/krallin/tini/releases/download/v0.19.0/tini"


def fix(folder: Path):
    """The fixes of a move to the newest LTS (26), which needs most of what tag planning does
    (Yarn v1 and Corepack installed, packages Debian trixie renamed); the default policy moves
    to 24 (tests/rules/test_df007_version_policy.py)."""
    options = Options(unsafe_fixes=True, offline=True, today=TODAY, node_version="lts-newest")
    ctx = RuleContext(folder / "Dockerfile", Project(folder), options)
    dockerfile = folder / "Dockerfile"
    result = fix_document(dockerfile, dockerfile.read_bytes(), ctx, select_rules(RULES, None))
    assert result.error is None
    return result


def assert_sound(folder: Path, source: bytes, fixed: bytes) -> None:
    """BuildKit parses it, a second run changes nothing, and the real images have what it names."""
    assert oracle_view(fixed)[0] == "ok"
    assert fix_folder(folder, select=RULES, source=fixed).fixed == fixed
    project, images = Project(folder), NodeImages.packaged()
    before = guard.check(Document.parse(source), project, images, TODAY)
    after = guard.check(Document.parse(fixed), project, images, TODAY)
    assert guard.introduced(before, after) == []


def messages(result) -> str:
    return "\n".join(f.message for f in result.initial if f.code in RULES)


PACKAGE_JSON_YARN_1 = '{"packageManager": "yarn@1.22.19"}'

CHANGED = [
    # Tags: a release or an Alpine minor the new major lacks becomes one it has.
    ("lts-buster", "FROM node:lts-buster\nRUN npm ci\n", {}, "FROM node:26-bookworm\nRUN npm ci\n"),
    ("lts-buster-slim", "FROM node:lts-buster-slim\n", {}, "FROM node:26-bookworm-slim\n"),
    ("stretch", "FROM node:14.19-stretch\nRUN npm ci\n", {}, "FROM node:26-bookworm\nRUN npm ci\n"),
    ("jessie", "FROM node:8.16-jessie\n", {}, "FROM node:26-bookworm\n"),
    ("wheezy", "FROM node:wheezy\n", {}, "FROM node:26-bookworm\n"),
    ("alpine minor gone", "FROM node:16.4.2-alpine3.14\n", {}, "FROM node:26-alpine\n"),
    ("alpine minor kept", "FROM node:20-alpine3.23\n", {}, "FROM node:26-alpine3.23\n"),
    ("bullseye kept", "FROM node:14-bullseye\n", {}, "FROM node:26-bullseye\n"),
    # The retired onbuild images: their hidden steps are written out.
    (
        "onbuild",
        "FROM node:8-onbuild\nEXPOSE 3000\n",
        {},
        "FROM node:26\n# What the retired node:onbuild image ran when a stage was built on it\n"
        "WORKDIR /usr/src/app\nARG NODE_ENV\nENV NODE_ENV=$NODE_ENV\nCOPY package.json /usr/src/app/\n"
        'RUN npm install && npm cache clean --force\nCOPY . /usr/src/app\nCMD ["npm", "start"]\nEXPOSE 3000\n',
    ),
    (
        "onbuild with its own CMD",
        'FROM node:onbuild\nCMD ["node", "server.js"]\n',
        {},
        "FROM node:26-alpine\n# What the retired node:onbuild image ran when a stage was built on it\n"
        "WORKDIR /usr/src/app\nARG NODE_ENV\nENV NODE_ENV=$NODE_ENV\nCOPY package.json /usr/src/app/\n"
        'RUN npm install && npm cache clean --force\nCOPY . /usr/src/app\nCMD ["node", "server.js"]\n',
    ),
    # Package managers the new major does not bundle are installed after FROM.
    (
        "yarn v1",
        "FROM node:18-alpine\nWORKDIR /app\nCOPY . .\nRUN yarn install\n",
        {},
        "FROM node:26-alpine\nRUN npm install --global yarn@1\nWORKDIR /app\nCOPY . .\nRUN yarn install\n",
    ),
    (
        "yarn v1 as package.json pins it",
        "FROM node:16\nRUN yarn\n",
        {"package.json": PACKAGE_JSON_YARN_1},
        "FROM node:26\nRUN npm install --global yarn@1.22.19\nRUN yarn\n",
    ),
    (
        "yarn in a stage built on it",
        "FROM node:14 AS base\nWORKDIR /app\nFROM base\nRUN yarn build\n",
        {},
        "FROM node:26 AS base\nRUN npm install --global yarn@1\nWORKDIR /app\nFROM base\nRUN yarn build\n",
    ),
    (
        "floating tag with yarn",
        "FROM node:alpine\nRUN yarn install\n",
        {},
        "FROM node:26-alpine\nRUN npm install --global yarn@1\nRUN yarn install\n",
    ),
    (
        "corepack",
        "FROM node:20-slim\nRUN corepack enable\nRUN pnpm install\n",
        {},
        "FROM node:26-slim\nRUN npm install --global corepack@latest\nRUN corepack enable\nRUN pnpm install\n",
    ),
    (
        "yarn installed by the file",
        "FROM node:18-alpine\nRUN npm install -g yarn\nRUN yarn\n",
        {},
        "FROM node:26-alpine\nRUN npm install -g yarn\nRUN yarn\n",
    ),
    # A bare tag is the full Debian image: alpine or slim only when nothing needs what they lack.
    ("bare, pure JavaScript", "FROM node\nRUN npm ci\n", {}, "FROM node:26-alpine\nRUN npm ci\n"),
    ("useradd", "FROM node:lts\nRUN useradd app\n", {}, "FROM node:26-slim\nRUN useradd app\n"),
    ("bash", "FROM node\nRUN bash -c 'npm ci'\n", {}, "FROM node:26-slim\nRUN bash -c 'npm ci'\n"),
    ("make", "FROM node\nRUN make\n", {}, "FROM node:26\nRUN make\n"),
    (
        "wget with apt-get",
        "FROM node:boron\nRUN apt-get update\nRUN wget x\n",
        {},
        "FROM node:26\nRUN apt-get update\nRUN wget x\n",
    ),
    ("glibc tini", f"FROM node:lts\nADD {TINI} /tini\n", {}, f"FROM node:26-slim\nADD {TINI} /tini\n"),
    (
        "native addon compiled at install",
        "FROM node\nRUN npm ci\n",
        {"package.json": '{"dependencies": {"bcrypt": "5"}}'},
        "FROM node:26\nRUN npm ci\n",
    ),
    (
        "native addon, nothing installed",
        "FROM node\nCOPY . .\n",
        {"package.json": '{"dependencies": {"sharp": "0.33"}}'},
        "FROM node:26-slim\nCOPY . .\n",
    ),
    (
        "native addon from yarn.lock",
        "FROM node\nCOPY . .\n",
        {"yarn.lock": '# yarn lockfile v1\n\n"bcrypt@^5.0.0":\n  version "5.1.0"\n'},
        "FROM node:26-slim\nCOPY . .\n",
    ),
    (
        "native addon from pnpm-lock.yaml",
        "FROM node\nCOPY . .\n",
        {"pnpm-lock.yaml": "lockfileVersion: '9.0'\n\npackages:\n\n  argon2@0.40.1:\n    requiresBuild: true\n"},
        "FROM node:26-slim\nCOPY . .\n",
    ),
    (
        # the build stage takes the major and libc of the stage that runs what it builds
        "copied into a glibc stage",
        "FROM node AS build\nRUN npm ci\nFROM node:22-slim\nCOPY --from=build /app /app\n",
        {},
        "FROM node:22-slim AS build\nRUN npm ci\nFROM node:22-slim\nCOPY --from=build /app /app\n",
    ),
    # Distribution packages move with the release, or keep it on one that has them.
    (
        "python on trixie",
        "FROM node:14\nRUN apt-get update && apt-get install -y python make g++\n",
        {},
        "FROM node:26\nRUN apt-get update && apt-get install -y python3 make g++\n",
    ),
    (
        "t64 rename",
        "FROM node:14-slim\nRUN apt-get install -y libasound2 libgtk-3-0\n",
        {},
        "FROM node:26-slim\nRUN apt-get install -y libasound2t64 libgtk-3-0t64\n",
    ),
    (
        "no equivalent on trixie",
        "FROM node:14\nRUN apt-get install -y libgconf-2-4\n",
        {},
        "FROM node:26-bookworm\nRUN apt-get install -y libgconf-2-4\n",
    ),
    (
        "apk python",
        "FROM node:6.10-alpine\nRUN apk add --no-cache python make g++\n",
        {},
        "FROM node:26-alpine\nRUN apk add --no-cache python3 make g++\n",
    ),
]


@pytest.mark.parametrize(("name", "dockerfile", "files", "expected"), CHANGED, ids=[c[0] for c in CHANGED])
def test_fixes_that_build_on_the_real_images(tmp_path, name, dockerfile, files, expected):
    folder = make_project(tmp_path, dockerfile, files=files)
    result = fix(folder)
    assert result.fixed.decode() == expected
    assert_sound(folder, dockerfile.encode(), result.fixed)


UNTOUCHED = [
    ("malformed tag", "FROM node:12-\nRUN npm ci\n", "`12-` is not a tag the node image could have"),
    ("unknown variant", "FROM node:26-buster\n", "`node:26-buster` is not a tag of the official node image"),
    ("no release has the package", "FROM node:10\nRUN apt-get install -y libssl1.0-dev\n", "libssl1.0-dev"),
    ("pinned, offline", f"FROM node:14-alpine@{DIGEST}\n", "pinned by digest"),
    ("pinned through an ARG, offline", f"ARG BASE=node:18.0-slim@{DIGEST}\nFROM $BASE\n", "pinned by digest"),
    ("live and explicit", "FROM node:24-alpine3.23\nRUN yarn\n", None),
    ("live, slim and apt-get", "FROM node:26-bookworm-slim\nRUN apt-get install -y python3\n", None),
]


@pytest.mark.parametrize(("name", "dockerfile", "said"), UNTOUCHED, ids=[c[0] for c in UNTOUCHED])
def test_left_as_it_is(tmp_path, name, dockerfile, said):
    folder = make_project(tmp_path, dockerfile)
    result = fix(folder)
    assert result.fixed == dockerfile.encode()
    assert not any(f.fix is not None for f in result.initial if f.code in RULES)
    if said is not None:
        assert said in messages(result)
    assert oracle_view(result.fixed)[0] == "ok"


def test_the_message_says_which_policy_keeps_the_package_manager(tmp_path):
    folder = make_project(tmp_path, "FROM node:18-alpine\nRUN yarn install\n")
    text = messages(fix(folder))
    assert "Yarn v1 is not in the Node.js 26 image" in text
    assert "Node.js 24 still bundles it, but leaves support on 2028-04-30" in text


def test_a_major_that_bundles_the_tool_gets_no_install(tmp_path):
    folder = make_project(tmp_path, "FROM node:18-alpine\nRUN corepack enable && yarn\n")
    options = Options(unsafe_fixes=True, offline=True, today=TODAY, node_version="24")
    ctx = RuleContext(folder / "Dockerfile", Project(folder), options)
    result = fix_document(folder / "Dockerfile", (folder / "Dockerfile").read_bytes(), ctx, select_rules(RULES, None))
    assert result.fixed == b"FROM node:24-alpine\nRUN corepack enable && yarn\n"


def test_the_variant_message_names_what_the_smaller_one_lacks(tmp_path):
    folder = make_project(tmp_path, "FROM node\nRUN useradd app\n")
    text = messages(fix(folder))
    assert "the Debian slim variant" in text and "`useradd` does not exist on Alpine" in text


def test_release_fallback_says_why(tmp_path):
    folder = make_project(tmp_path, "FROM node:14\nRUN apt-get install -y libgconf-2-4\n")
    text = messages(fix(folder))
    assert "Debian trixie has no package `libgconf-2-4`" in text


# Native addons read from the lockfiles --------------------------------------------------------


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        (
            {
                "yarn.lock": '# yarn lockfile v1\n\n"@x/y@^1", "@x/y@^1.1":\n  version "1"\n\nsharp@^0.33:\n  version "0.33"\n'
            },
            ["sharp"],
        ),
        (
            {
                "yarn.lock": '__metadata:\n  version: 8\n\n"bcrypt@npm:^5.0.0":\n  version: 5.1.0\n\n"canvas@npm:^2":\n  version: 2.0.0\n',
                "package.json": '{"dependenciesMeta": {"canvas": {"built": false}}}',
            },
            ["bcrypt"],
        ),
        (
            {
                "pnpm-lock.yaml": "lockfileVersion: 5.4\n\npackages:\n\n  /bcrypt/5.1.0:\n    requiresBuild: true\n    dev: false\n\n  /jest/29.0.0:\n    dev: true\n    requiresBuild: true\n"
            },
            ["bcrypt"],
        ),
        (
            {
                "pnpm-lock.yaml": "lockfileVersion: '6.0'\n\npackages:\n\n  /@img/sharp-linux-x64@0.33.0:\n    cpu: [x64]\n    os: [linux]\n\n  /lodash@4.17.21:\n    dev: false\n"
            },
            ["@img/sharp-linux-x64"],
        ),
        (
            {
                "pnpm-lock.yaml": "lockfileVersion: '9.0'\n\npackages:\n\n  lodash@4.17.21:\n    resolution: {integrity: x}\n"
            },
            [],
        ),
        ({"yarn.lock": '# yarn lockfile v1\n\nlodash@^4:\n  version "4"\n'}, []),
    ],
)
def test_native_addons_from_lockfiles(tmp_path, files, expected):
    folder = make_project(tmp_path, "FROM node\n", files=files)
    assert Project(folder).native_addons() == expected


# Against a registry: the same answer as offline when the data agrees --------------------------

token_registry = registry_fixture(auth="token", scope="module")


@pytest.fixture(scope="module")
def pushed(token_registry):
    return {
        tag: push_image(token_registry, "library/node", tag) for tag in ("26-bookworm", "26-bullseye", "14-bullseye")
    }


def fix_online(tmp_path: Path, source: str, mirror: str):
    folder = make_project(tmp_path, source)
    (tmp_path / "config.json").write_text(json.dumps({}))
    options = Options(unsafe_fixes=True, offline=False, today=TODAY, registry_mirror=mirror, node_version="lts-newest")
    services = Services(options, cache_dir=tmp_path / "cache", docker_config=tmp_path / "config.json")
    ctx = RuleContext(folder / "Dockerfile", Project(folder), options, services=services)
    result = fix_document(folder / "Dockerfile", source.encode(), ctx, select_rules(RULES, None))
    assert result.error is None
    assert oracle_view(result.fixed)[0] == "ok"
    assert fix_document(folder / "Dockerfile", result.fixed, ctx, select_rules(RULES, None)).fixed == result.fixed
    return result


@pytest.mark.parametrize(
    ("source", "tag"),
    [("FROM node:lts-buster\n", "26-bookworm"), ("FROM node:14-bullseye\n", "26-bullseye")],
)
def test_online_and_offline_agree(tmp_path, token_registry, pushed, source, tag):
    (tmp_path / "offline").mkdir()
    (tmp_path / "online").mkdir()
    offline = fix(make_project(tmp_path / "offline", source))
    online = fix_online(tmp_path / "online", source, token_registry.url)
    assert offline.fixed.decode() == f"FROM node:{tag}\n"
    assert online.fixed.decode() == f"FROM node:{tag}@{pushed[tag].digest}\n"


def test_a_tag_the_registry_does_not_serve_is_never_written(tmp_path, token_registry, pushed):
    result = fix_online(tmp_path, "FROM node:lts-slim\n", token_registry.url)
    assert result.fixed == b"FROM node:lts-slim\n"
    assert "`node:26-slim` is not in the registry" in messages(result)


def test_a_pinned_reference_is_upgraded_with_a_pin(tmp_path, token_registry, pushed):
    old = pushed["14-bullseye"].digest
    result = fix_online(tmp_path, f"FROM node:14-bullseye@{old}\n", token_registry.url)
    assert result.fixed.decode() == f"FROM node:26-bullseye@{pushed['26-bullseye'].digest}\n"


# Files whose build the guard now reads further: whatever major and variant DF001/DF007 choose,
# the output keeps building (a variant the tool is still in, an install of the tool, or no upgrade).
READ_FURTHER = [
    ("yarn under gosu", "FROM node:18\nRUN gosu node yarn install\n", {}, "yarn"),
    ("yarn under su -c", "FROM node:18-alpine\nRUN su node -c 'yarn install --frozen-lockfile'\n", {}, "yarn"),
    ("apt-key", "FROM node:20-slim\nRUN apt-key adv --recv-keys ABC && apt-get update\n", {}, "apt-key"),
    (
        "cache-min in a start command",
        "FROM node:10-alpine\nCMD npm config set cache-min 9999999 && npm start\n",
        {},
        "cache-min",
    ),
    (
        "node-sass 4",
        "FROM node:14\nCOPY . .\nRUN npm ci\nCMD node server.js\n",
        {"package.json": '{"dependencies": {"node-sass": "^4.14.1"}}'},
        "node-sass",
    ),
    (
        "grpc",
        "FROM node:12\nCOPY . .\nRUN npm ci\nCMD node server.js\n",
        {"package.json": '{"dependencies": {"grpc": "^1.24.2"}}'},
        "grpc",
    ),
]


@pytest.mark.parametrize(("name", "dockerfile", "files", "fact"), READ_FURTHER, ids=[c[0] for c in READ_FURTHER])
def test_upgrades_keep_building_through_what_the_guard_reads(tmp_path, name, dockerfile, files, fact):
    folder = make_project(tmp_path, dockerfile, files=files)
    result = fix(folder)
    assert_sound(folder, dockerfile.encode(), result.fixed)
