"""DF002 production-dependencies: before/after tables plus files that must stay untouched. Every
expected output is checked to parse with BuildKit's parser and to be a fixpoint."""

import json
import shutil

import pytest

from support.fixing import fix_folder, fix_repository, make_project
from support.paths import REPO
from support.rule_runs import START, run

PRODUCTION_DEPENDENCIES = [
    (  # lockfile copied in: npm ci
        'FROM node:22\nCOPY package*.json ./\nRUN npm install\nCMD ["node", "server.js"]\n',
        'FROM node:22\nCOPY package*.json ./\nRUN npm ci --omit=dev\nCMD ["node", "server.js"]\n',
    ),
    (  # only package.json copied: npm ci would fail without the lockfile
        'FROM node:22\nCOPY package.json ./\nRUN npm install\nCMD ["node", "server.js"]\n',
        'FROM node:22\nCOPY package.json ./\nRUN npm install --omit=dev\nCMD ["node", "server.js"]\n',
    ),
    (  # exactly the npm word inside a chain, across a continuation
        "FROM node:22-alpine\nCOPY . .\nRUN apk add --no-cache git \\\n    && npm install \\\n    && npm cache clean --force\n"
        + START,
        "FROM node:22-alpine\nCOPY . .\nRUN apk add --no-cache git \\\n    && npm ci --omit=dev \\\n    && npm cache clean --force\n"
        + START,
    ),
    (  # deprecated flag, modern npm: safe modernisation
        "FROM node:20\nCOPY . .\nRUN npm ci --only=production\n",
        "FROM node:20\nCOPY . .\nRUN npm ci --omit=dev\n",
    ),
    (  # npm ci gains --omit=dev, redirections stay after it
        "FROM node:22\nCOPY . .\nRUN npm ci 2>&1 | tee /tmp/log\n" + START,
        "FROM node:22\nCOPY . .\nRUN npm ci --omit=dev 2>&1 | tee /tmp/log\n" + START,
    ),
    (  # heredoc body
        "FROM node:22\nCOPY . .\nRUN <<EOF\nset -e\nnpm install\nEOF\n" + START,
        "FROM node:22\nCOPY . .\nRUN <<EOF\nset -e\nnpm ci --omit=dev\nEOF\n" + START,
    ),
    (  # a heredoc a shell reads, opened before the command
        "FROM node:22\nCOPY . .\nRUN <<EOF bash -e\nnpm install\nEOF\n" + START,
        "FROM node:22\nCOPY . .\nRUN <<EOF bash -e\nnpm ci --omit=dev\nEOF\n" + START,
    ),
    (  # `<<-` strips the tabs; a cache mount before it
        "FROM node:22\nCOPY . .\nRUN --mount=type=cache,target=/root/.npm <<-EOT\n\tnpm install\n\tEOT\n" + START,
        "FROM node:22\nCOPY . .\nRUN --mount=type=cache,target=/root/.npm <<-EOT\n\tnpm ci --omit=dev\n\tEOT\n" + START,
    ),
    (  # the install on the line, a heredoc written to a file beside it
        "FROM node:22\nCOPY . .\nRUN cat <<EOF > .npmrc && npm install\nfund=false\nEOF\n" + START,
        "FROM node:22\nCOPY . .\nRUN cat <<EOF > .npmrc && npm ci --omit=dev\nfund=false\nEOF\n" + START,
    ),
    (  # the build needs dev dependencies: they stay, but the lockfile is followed
        'FROM node:22\nCOPY . .\nRUN npm install && npm run build\nCMD ["node", "dist/server.js"]\n',
        'FROM node:22\nCOPY . .\nRUN npm ci && npm run build\nCMD ["node", "dist/server.js"]\n',
    ),
    (  # a build stage: npm ci too, with its dev dependencies
        "FROM node:22 AS build\nWORKDIR /app\nCOPY package*.json ./\nRUN npm install\nRUN npm run build\n"
        "FROM node:22-slim\nCOPY --from=build /app /app\n",
        "FROM node:22 AS build\nWORKDIR /app\nCOPY package*.json ./\nRUN npm ci\nRUN npm run build\n"
        "FROM node:22-slim\nCOPY --from=build /app /app\n",
    ),
    (  # npm 6 does not know --omit: use its own flag
        "FROM node:14\nCOPY package.json ./\nRUN npm install\n" + START,
        "FROM node:14\nCOPY package.json ./\nRUN npm install --production\n" + START,
    ),
]

PRODUCTION_DEPENDENCIES_UNTOUCHED = [
    # the build needs dev dependencies, and without the lockfile npm ci would fail
    'FROM node:22\nCOPY package.json ./\nRUN npm install && npm run build\nCMD ["node", "dist/server.js"]\n',
    "FROM node:22\nRUN npm install -g pm2\n",  # global tool
    "FROM node:22\nCOPY . .\nRUN npm install express\n",  # named package
    "FROM node:14\nCOPY . .\nRUN npm ci --only=production\n",  # npm 6 ignores --omit=dev
    "FROM node:22 AS build\nCOPY . .\nRUN npm ci\nRUN npm run build\nFROM node:22\nCOPY --from=build /app /app\n",
    "FROM python:3.12\nCOPY . .\nRUN npm install\n",  # not a node image
    "FROM node:22\nCOPY . .\nRUN cat <<EOF > NOTES\nnpm install\nEOF\n",  # a heredoc that is data, not shell
    "FROM node:22\nCOPY . .\nRUN bash -c 'true' <<EOF\nnpm install\nEOF\n",  # the shell runs -c, not its input
    "FROM node:22\nCOPY . .\nRUN <<EOF\n#!/usr/bin/env python3\nprint('npm install')\nEOF\n",  # a python script
]


@pytest.mark.parametrize("before, after", PRODUCTION_DEPENDENCIES)
def test_production_dependencies(tmp_path, before, after):
    assert run(tmp_path, before, select=["DF002"]).fixed.decode() == after


def test_project_without_dev_dependencies_still_follows_its_lockfile(tmp_path):
    source = 'FROM node:22\nCOPY . .\nRUN npm install\nCMD ["node", "server.js"]\n'
    result = run(tmp_path, source, select=["DF002"], package_json=json.dumps({"dependencies": {"express": "4"}}))
    assert result.fixed.decode() == source.replace("npm install", "npm ci")


@pytest.mark.parametrize("source", PRODUCTION_DEPENDENCIES_UNTOUCHED)
def test_production_dependencies_untouched(tmp_path, source):
    assert run(tmp_path, source, select=["DF002"]).fixed.decode() == source


def test_yarn_and_pnpm(tmp_path):
    yarn = run(
        tmp_path,
        "FROM node:22\nCOPY . .\nRUN yarn install\n" + START,
        select=["DF002"],
        files={"yarn.lock": "# yarn lockfile v1\n"},
    )
    assert b"RUN yarn install --frozen-lockfile --production\n" in yarn.fixed
    pnpm = run(
        tmp_path,
        "FROM node:22\nCOPY . .\nRUN pnpm install\n" + START,
        select=["DF002"],
        files={"pnpm-lock.yaml": "lockfileVersion: 9\n"},
    )
    assert b"RUN pnpm install --frozen-lockfile --prod\n" in pnpm.fixed


def test_start_script_needing_dev_tool_keeps_dev_dependencies(tmp_path):
    pkg = json.dumps({"scripts": {"start": "ts-node src/index.ts"}, "devDependencies": {"ts-node": "10"}})
    source = 'FROM node:22\nCOPY . .\nRUN npm install\nCMD ["npm", "start"]\n'
    result = run(tmp_path, source, select=["DF002"], package_json=pkg)
    assert result.fixed.decode() == source.replace("npm install", "npm ci")  # the lockfile, dev dependencies kept
    assert any("the start command runs `ts-node`, a dev dependency" in f.message for f in result.applied)


def test_install_is_unsafe_and_withheld_without_opt_in(tmp_path):
    source = "FROM node:22\nCOPY . .\nRUN npm install\n" + START
    result = run(tmp_path, source, select=["DF002"], unsafe=False)
    assert result.fixed.decode() == source
    assert [f.code for f in result.withheld] == ["DF002"]


NODE_ENV_PRODUCTION_SHAPES = {
    "ARG and ENV": "ARG NODE_ENV=production\nENV NODE_ENV=$NODE_ENV\n",
    "ENV": "ENV NODE_ENV=production\n",
    "ARG alone": "ARG NODE_ENV=production\n",  # npm reads it from the environment of the RUN
}


@pytest.mark.parametrize("settings", NODE_ENV_PRODUCTION_SHAPES.values(), ids=NODE_ENV_PRODUCTION_SHAPES.keys())
def test_no_dev_dependencies_are_claimed_where_node_env_is_production(tmp_path, settings):
    source = f'FROM node:22-slim\n{settings}WORKDIR /app\nCOPY package*.json ./\nRUN npm ci\nCOPY . .\nCMD ["node", "server.js"]\n'
    package_json = json.dumps({"dependencies": {"express": "4"}, "devDependencies": {"jest": "29"}})
    folder = make_project(tmp_path, source, package_json=package_json, files={"package-lock.json": "{}"})
    result = fix_folder(folder, select=["DF002"])
    assert [f.message for f in result.initial] == []
    assert result.fixed.decode() == source


def test_a_development_build_keeps_the_arg_instead_of_a_flag(tmp_path):
    """Built for development by compose and for production by a plain `docker build`, whose
    NODE_ENV is not production: no flag is hard-coded, and the finding says why."""
    root = tmp_path / "compose-dev-nodemon"
    shutil.copytree(REPO / "tests" / "fixtures" / "repos" / "compose-dev-nodemon", root)
    dockerfile = root / "Dockerfile"
    dockerfile.write_text(dockerfile.read_text().replace("WORKDIR /app\n", "ARG NODE_ENV\nWORKDIR /app\n"))
    compose = root / "compose.yaml"
    compose.write_text(compose.read_text() + "  worker:\n    build: .\n")
    result = fix_repository(root, dockerfile, select=["DF002"])
    # The lockfile is followed (`npm ci`); the dev dependencies stay for the ARG to decide.
    assert [f.message for f in result.remaining] == [
        "`npm ci` installs dev dependencies in the default build, where NODE_ENV is not set; not fixed:"
        " compose.yaml service api builds it with NODE_ENV=development, which needs them: give `ARG NODE_ENV`"
        " the default `production` instead of hard-coding a flag, so each build keeps its own"
    ]
    assert "RUN npm ci\n" in result.fixed.decode()
