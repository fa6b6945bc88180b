"""The real-image guard: what a fix may not introduce, and what it may leave as it was."""

import json
from datetime import date

import pytest
from typer.testing import CliRunner

from dockfix import guard
from dockfix import rules as rule_table
from dockfix.cli import app
from dockfix.context import Options, RuleContext
from dockfix.dockerfile.document import Document
from dockfix.edits import Applicability, Edit, Finding, Fix
from dockfix.pipeline import fix_document
from dockfix.project.build_context import Project
from dockfix.rules.rule import Rule
from dockfix.sources.images import NodeImages

TODAY = date(2026, 11, 29)
IMAGES = NodeImages.packaged()


def problems(text: str, project: Project) -> list[str]:
    return [p.message for p in guard.check(Document.parse(text.encode()), project, IMAGES, TODAY)]


def introduced(before: str, after: str, project: Project) -> list[str]:
    old = guard.check(Document.parse(before.encode()), project, IMAGES, TODAY)
    new = guard.check(Document.parse(after.encode()), project, IMAGES, TODAY)
    return [p.message for p in guard.introduced(old, new)]


@pytest.fixture()
def project(tmp_path):
    (tmp_path / "package.json").write_text(json.dumps({"dependencies": {"express": "^4"}}))
    return Project(tmp_path)


@pytest.fixture()
def native_project(tmp_path):
    (tmp_path / "package.json").write_text(json.dumps({"dependencies": {"bcrypt": "^5"}}))
    return Project(tmp_path)


BROKEN = [
    # (before, after, what the guard says about after)
    ("FROM node:lts-buster\n", "FROM node:26-buster\n", "`node:26-buster` is not a tag"),
    ("FROM node:12-\n", "FROM node:26-12-\n", "not a tag the node image could have"),
    ("FROM node:8-onbuild\n", "FROM node:26-onbuild\n", "`node:26-onbuild` is not a tag"),
    (
        "FROM node:18\nRUN yarn install\n",
        "FROM node:26\nRUN yarn install\n",
        "`yarn` is not on the PATH of the Node.js 26",
    ),
    (
        "FROM node:18\nRUN corepack enable && pnpm i\n",
        "FROM node:26\nRUN corepack enable && pnpm i\n",
        "`corepack` is not on the PATH of the Node.js 26",
    ),
    ("FROM node:18\nCMD yarn start\n", "FROM node:26\nCMD yarn start\n", "`yarn` is not on the PATH"),
    (
        'FROM node:18\nCMD ["dumb-init", "yarn", "start"]\n',
        'FROM node:26\nCMD ["dumb-init", "yarn", "start"]\n',
        "`yarn` is not on the PATH",
    ),
    (
        "FROM node:14\nRUN apt-get update && apt-get install -y python\n",
        "FROM node:26\nRUN apt-get update && apt-get install -y python\n",
        "Debian trixie has no package `python`",
    ),
    (
        "FROM node\nRUN apt-get update && apt-get install -y curl\n",
        "FROM node:26-alpine\nRUN apt-get update && apt-get install -y curl\n",
        "`apt-get` does not exist on Alpine",
    ),
    ("FROM node\nRUN useradd app\n", "FROM node:26-alpine\nRUN useradd app\n", "`useradd` does not exist on Alpine"),
    ("FROM node\nRUN git clone x\n", "FROM node:26-slim\nRUN git clone x\n", "`git` is not in the slim node image"),
    (
        "FROM node\nADD https://github.com/krallin/tini/releases/download/v0.19.0/tini /tini\n",
        "FROM node:26-alpine\nADD https://github.com/krallin/tini/releases/download/v0.19.0/tini /tini\n",
        "`tini` is a glibc binary",
    ),
    (
        "FROM node\nRUN npm i -g phantomjs\n",
        "FROM node:26-alpine\nRUN npm i -g phantomjs\n",
        "PhantomJS is a glibc binary",
    ),
    (
        'FROM node AS build\nADD https://x/tini /tini\nRUN npm ci\nENTRYPOINT ["/tini", "--"]\n',
        'FROM node AS build\nADD https://x/tini /tini\nRUN npm ci\nFROM node:26-slim\nCOPY --from=build /app /app\nENTRYPOINT ["/tini", "--"]\n',
        "the start binary /tini is added in another stage",
    ),
]


# A tool run through a wrapper is run: the guard reads through each of them.
WRAPPED_YARN = [
    "gosu node yarn install",
    "su-exec node yarn install",
    "su -c 'cd /app && yarn install' node",
    "su node -c 'yarn install'",
    "sudo -u node yarn install",
    "runuser -u node -- yarn install",
    "env CI=1 yarn install",
    "nice -n 10 yarn install",
    "echo . | xargs yarn install --cwd",
    "sh -c 'yarn install'",
    "bash -ec 'gosu node yarn install'",
]
BROKEN += [
    (f"FROM node:24\nRUN {command}\n", f"FROM node:26\nRUN {command}\n", "`yarn` is not on the PATH of the Node.js 26")
    for command in WRAPPED_YARN
]
BROKEN += [
    # what each npm major refuses
    (
        "FROM node:10\nCMD npm config set cache-min 9999999 && npm start\n",
        'FROM node:24\nCMD ["dumb-init", "/bin/sh", "-c", "npm config set cache-min 9999999 && npm start"]\n',
        "`npm config set cache-min` fails since npm 9",
    ),
    (
        "FROM node:16\nRUN export PATH=$(npm bin):$PATH && webpack\n",
        "FROM node:24\nRUN export PATH=$(npm bin):$PATH && webpack\n",
        "`npm bin` was removed in npm 9",
    ),
    (
        "FROM node:16\nRUN npm set-script start x\n",
        "FROM node:24\nRUN npm set-script start x\n",
        "`npm set-script` was removed",
    ),
    # a tool the Debian release dropped
    (
        "FROM node:22\nRUN apt-key adv --keyserver keyserver.ubuntu.com --recv-keys ABC\n",
        "FROM node:26\nRUN apt-key adv --keyserver keyserver.ubuntu.com --recv-keys ABC\n",
        "`apt-key` is not in Debian trixie (Debian 13 removed it)",
    ),
    (
        "FROM node:22-bookworm-slim\nRUN curl -s https://x/key | apt-key add -\n",
        "FROM node:22-trixie-slim\nRUN curl -s https://x/key | apt-key add -\n",
        "`apt-key` is not in Debian trixie",
    ),
    # an install step added where the release's repositories are archived
    (
        "FROM node:10\nCMD node server.js\n",
        "FROM node:10\nRUN apt-get update && apt-get install -y --no-install-recommends dumb-init\nCMD node server.js\n",
        "`apt-get update` fails on Debian stretch: its repositories moved to archive.debian.org",
    ),
    (
        "FROM node:14-buster-slim\nCMD node server.js\n",
        "FROM node:14-buster-slim\nRUN apt-get update && apt-get install -y dumb-init\nCMD node server.js\n",
        "`apt-get update` fails on Debian buster",
    ),
    (
        "FROM node:8-jessie\nRUN apt-get update\n",
        "FROM node:8-jessie\nRUN apt-get update\nRUN apt-get update && apt-get install -y tini\n",
        "`apt-get update` fails on Debian jessie",
    ),
]


@pytest.mark.parametrize(("before", "after", "message"), BROKEN, ids=[b[2][:40] for b in BROKEN])
def test_what_a_fix_must_not_introduce(before, after, message, project):
    found = introduced(before, after, project)
    assert any(message in m for m in found), found


FINE = [
    # a file that was already like this is not the fix's doing
    ("FROM node:26\nRUN yarn install\n", "FROM node:26\nRUN yarn install\nUSER node\n"),
    # tools installed before their use
    ("FROM node:18\nRUN yarn\n", "FROM node:26\nRUN npm install --global yarn@1 && yarn\n"),
    ("FROM node:18\nRUN corepack enable && pnpm i\n", "FROM node:24\nRUN corepack enable && pnpm i\n"),
    (
        "FROM node:18\nRUN corepack enable && pnpm i\n",
        "FROM node:26\nRUN npm install --global corepack@latest && corepack enable && pnpm i\n",
    ),
    ("FROM node\nRUN useradd app\n", "FROM node:26-alpine\nRUN apk add --no-cache shadow && useradd app\n"),
    (
        "FROM node\nRUN git clone x\n",
        "FROM node:26-slim\nRUN apt-get update && apt-get install -y git && git clone x\n",
    ),
    ("FROM node:14\nRUN apt-get install -y python\n", "FROM node:26\nRUN apt-get install -y python3\n"),
    ("FROM node:lts-buster\n", "FROM node:26-bookworm\n"),
    (
        "FROM node\nADD https://github.com/krallin/tini/releases/download/v0.19.0/tini-static /tini\n",
        "FROM node:26-alpine\nADD https://github.com/krallin/tini/releases/download/v0.19.0/tini-static /tini\n",
    ),
    # a variable base is nobody's to judge
    ("ARG BASE\nFROM ${BASE}\nRUN yarn\n", "ARG BASE\nFROM ${BASE}\nRUN yarn\nUSER node\n"),
    # not the node image
    ("FROM python:3.12\nRUN apt-get install -y python\n", "FROM python:3.12\nRUN apt-get install -y python\n"),
]


FINE += [
    # the tool is installed before the wrapper runs it
    ("FROM node:24\nRUN gosu node yarn\n", "FROM node:26\nRUN npm install --global yarn@1 && gosu node yarn\n"),
    # Debian 12 still has apt-key
    ("FROM node:20\nRUN apt-key add key.asc\n", "FROM node:24\nRUN apt-key add key.asc\n"),
    # apt pointed at archive.debian.org first
    (
        "FROM node:10\nCMD node server.js\n",
        "FROM node:10\nRUN sed -i s/deb.debian.org/archive.debian.org/g /etc/apt/sources.list"
        " && apt-get update && apt-get install -y dumb-init\nCMD node server.js\n",
    ),
    # bullseye's repositories are still on the mirrors; bookworm's too
    ("FROM node:16-bullseye\nCMD node s.js\n", "FROM node:16-bullseye\nRUN apt-get update\nCMD node s.js\n"),
    ("FROM node:10\nRUN apt-get update\n", "FROM node:24\nRUN apt-get update\n"),
    # npm keys and commands every npm accepts
    ("FROM node:16\nRUN npm config set fund false\n", "FROM node:24\nRUN npm config set fund false\n"),
]


@pytest.mark.parametrize(("before", "after"), FINE)
def test_what_stays_allowed(before, after, project):
    assert introduced(before, after, project) == []


def test_native_addons_do_not_cross_libc(native_project):
    before = "FROM node:20\nWORKDIR /app\nCOPY . .\nRUN npm ci\nCMD node server.js\n"
    after = (
        "FROM node:20 AS build\nWORKDIR /app\nCOPY . .\nRUN npm ci\n"
        "FROM node:20-alpine\nCOPY --from=build /app /app\nCMD node server.js\n"
    )
    found = introduced(before, after, native_project)
    assert any("copied into a musl stage" in m and "bcrypt" in m for m in found), found


def test_native_addons_need_a_compiler_on_slim(native_project):
    before = "FROM node:20\nCOPY . .\nRUN npm ci\n"
    assert any(
        "no python3, make or g++" in m
        for m in introduced(before, before.replace("node:20", "node:20-slim"), native_project)
    )
    with_tools = "FROM node:20-slim\nRUN apt-get update && apt-get install -y python3 make g++\nCOPY . .\nRUN npm ci\n"
    assert introduced(before, with_tools, native_project) == []


def test_native_addons_from_the_lockfile(tmp_path):
    (tmp_path / "package.json").write_text(json.dumps({"dependencies": {"left-pad": "1"}}))
    (tmp_path / "package-lock.json").write_text(
        json.dumps(
            {
                "lockfileVersion": 3,
                "packages": {
                    "": {"dependencies": {"left-pad": "1"}},
                    "node_modules/left-pad": {"version": "1.0.0"},
                    "node_modules/@scope/addon": {"version": "2.0.0", "hasInstallScript": True},
                    "node_modules/@esbuild/linux-x64": {"version": "0.20.0", "os": ["linux"], "cpu": ["x64"]},
                    "node_modules/devtool": {"version": "1.0.0", "hasInstallScript": True, "dev": True},
                },
            }
        )
    )
    assert Project(tmp_path).native_addons() == ["@esbuild/linux-x64", "@scope/addon"]


def _lock(folder, versions: dict[str, str]) -> None:
    packages = {"": {}} | {f"node_modules/{name}": {"version": version} for name, version in versions.items()}
    (folder / "package-lock.json").write_text(json.dumps({"lockfileVersion": 3, "packages": packages}))


NATIVE = [
    # (package.json dependencies, lockfile versions, major before, major after, what the guard says)
    (
        {"node-sass": "^4.12.0"},
        {"node-sass": "4.14.1"},
        14,
        16,
        "`node-sass@4.14.1` has no build for Node.js 16 (its first version with one is 6.0.0)",
    ),
    (
        {"node-sass": "^4.13.0"},
        {},
        14,
        24,
        "`node-sass@^4.13.0` has no build for Node.js 24 (no version has one: the `sass` package",
    ),
    ({"node-sass": "^9.0.0"}, {}, 20, 22, "`node-sass@^9.0.0` has no build for Node.js 22 (no version has one"),
    (
        {"grpc": "^1.24.3"},
        {},
        14,
        18,
        "`grpc@^1.24.3` has no build for Node.js 18 (no version has one: `@grpc/grpc-js` replaces it)",
    ),
    (
        {"firebase-admin": "^8"},
        {"grpc": "1.22.2"},
        12,
        14,
        "`grpc@1.22.2` has no build for Node.js 14 (its first version with one is 1.24.4)",
    ),
    (
        {"bcrypt": "^3.0.0"},
        {"bcrypt": "3.0.2"},
        10,
        12,
        "`bcrypt@3.0.2` has no build for Node.js 12 (its first version with one is 3.0.6)",
    ),
    (
        {"sqlite3": "^4.1.1"},
        {},
        14,
        16,
        "`sqlite3@^4.1.1` has no build for Node.js 16 (its first version with one is 5.0.0)",
    ),
]


@pytest.mark.parametrize(("declared", "locked", "old", "new", "message"), NATIVE, ids=[n[4][:30] for n in NATIVE])
def test_native_packages_with_no_build_for_the_new_major(tmp_path, declared, locked, old, new, message):
    (tmp_path / "package.json").write_text(json.dumps({"dependencies": declared}))
    if locked:
        _lock(tmp_path, locked)
    text = "FROM node:{}\nCOPY . .\nRUN npm ci\nCMD node server.js\n"
    found = introduced(text.format(old), text.format(new), Project(tmp_path))
    assert any(message in m for m in found), found


NATIVE_FINE = [
    ({"node-sass": "^4.13.0"}, {}, 12, 14),  # the range admits 4.14, which builds for 14
    ({"bcrypt": "^5.0.0"}, {}, 14, 26),  # N-API
    ({"sqlite3": "^5.1.6"}, {"sqlite3": "5.1.7"}, 16, 24),
    ({"grpc": "^1.24.11"}, {}, 14, 16),
    ({"node-sass": "^4.13.0"}, {"node-sass": "4.14.1"}, 14, 14),
]


@pytest.mark.parametrize(("declared", "locked", "old", "new"), NATIVE_FINE)
def test_native_packages_that_build(tmp_path, declared, locked, old, new):
    (tmp_path / "package.json").write_text(json.dumps({"dependencies": declared}))
    if locked:
        _lock(tmp_path, locked)
    text = "FROM node:{}\nCOPY . .\nRUN npm ci\nCMD node server.js\n"
    assert introduced(text.format(old), text.format(new), Project(tmp_path)) == []


def test_native_packages_count_only_where_the_stage_installs(tmp_path):
    (tmp_path / "package.json").write_text(json.dumps({"dependencies": {"node-sass": "^4.13.0"}}))
    before = "FROM node:14\nCOPY node_modules node_modules\nCMD node server.js\n"
    assert introduced(before, before.replace("node:14", "node:24"), Project(tmp_path)) == []


def test_problems_name_no_line_so_input_and_output_compare(project):
    text = "FROM node:26\n\nRUN yarn\n"
    moved = "FROM node:26\nRUN yarn\n"
    assert problems(text, project) == problems(moved, project)


# -- the guard in the pipeline ------------------------------------------------------------------


def _bad_tag(doc, ctx):
    """DF911: moves `node:18` to `node:26-buster`, a tag no image has (unsafe)."""
    for inst in doc.instructions:
        at = inst.logical.find(b"node:18")
        if inst.name == "FROM" and at >= 0:
            start, end = inst.source_span(at, at + len(b"node:18"))
            yield Finding("DF911", "old node", inst.line, Fix.unsafe(Edit(start, end, b"node:26-buster")))


def _add_label(doc, ctx):
    """DF912: adds a LABEL after the FROM line (safe)."""
    first = doc.instructions[0]
    if not any(inst.name == "LABEL" for inst in doc.instructions):
        yield Finding("DF912", "no label", first.line, Fix.safe(Edit.insert(first.end, b"LABEL checked=yes\n")))


GUARDED_RULES = [
    Rule("DF911", "sample-bad-tag", "Bad tag", {Applicability.UNSAFE: ""}, _bad_tag.__doc__, _bad_tag),
    Rule("DF912", "sample-label", "Label", {Applicability.SAFE: ""}, _add_label.__doc__, _add_label),
]


def test_a_fix_that_names_a_missing_tag_is_withheld_and_the_others_applied(tmp_path):
    (tmp_path / "Dockerfile").write_text("FROM node:18\nCMD node server.js\n")
    ctx = RuleContext(tmp_path / "Dockerfile", Project(tmp_path), Options(unsafe_fixes=True, offline=True, today=TODAY))
    result = fix_document(tmp_path / "Dockerfile", (tmp_path / "Dockerfile").read_bytes(), ctx, GUARDED_RULES)
    assert result.error is None
    assert result.fixed == b"FROM node:18\nLABEL checked=yes\nCMD node server.js\n"
    [withheld] = [f for f in result.remaining if f.code == "DF911"]
    assert withheld.fix is None
    assert "fix withheld: `node:26-buster` is not a tag of the official node image" in withheld.message
    assert [f.code for f in result.applied] == ["DF912"]


def test_withheld_fixes_are_reported_by_the_command_line(tmp_path, monkeypatch):
    (tmp_path / "Dockerfile").write_text("FROM node:18\nCMD node server.js\n")
    monkeypatch.setattr(rule_table, "RULES", tuple(GUARDED_RULES))
    result = CliRunner().invoke(app, ["--unsafe-fixes", "--offline", "--isolated", str(tmp_path)])
    assert "DF911" in result.stdout and "fix withheld: `node:26-buster`" in result.stdout


def test_what_a_stage_inherits_counts_through_a_long_chain(project):
    """Each stage starts from what its chain left: yarn installed 30 stages up is on the PATH, a
    tool installed in another chain is not, and curl is reported once, where it is first run."""
    chain = "".join(f"FROM s{n - 1} AS s{n}\nRUN echo {n}\n" for n in range(1, 30))
    text = (
        "FROM node:26-alpine AS s0\nRUN npm install -g yarn\n"
        + chain
        + "FROM s29 AS last\nRUN yarn install && curl -fsS http://x\n"
        + "FROM node:26-alpine AS other\nRUN yarn install && curl -fsS http://x\n"
    )
    doc = Document.parse(text.encode())
    last, other = doc.stages[-2], doc.stages[-1]
    assert guard.missing_tools(doc, last, 26) == {}
    assert list(guard.missing_tools(doc, other, 26)) == ["yarn"]
    found = problems(text, project)
    assert found.count("`curl` is not in the alpine node image (install it first)") == 2  # each chain once
    assert [m for m in found if "yarn" in m] == [
        "`yarn` is not on the PATH of the Node.js 26 image (the images of Node.js 26 and later no longer bundle Yarn v1)"
    ]


def test_a_tool_an_earlier_stage_uses_without_having_it_is_inherited_on_request():
    doc = Document.parse(b"FROM node:26 AS base\nRUN pnpm install\nFROM base\nRUN echo done\n")
    child = doc.stages[1]
    assert guard.missing_tools(doc, child, 26) == {}
    [(tool, (inst, command))] = guard.missing_tools(doc, child, 26, inherited=True).items()
    assert (tool, inst.line, command) == ("pnpm", 2, "pnpm")
