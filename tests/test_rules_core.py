"""The four core rules (DF002-DF005) and DF006's wiring, as before/after tables plus files that
must stay untouched. Every expected output is checked to parse with BuildKit's parser and to be
a fixpoint."""

import json
import shutil

import pytest

from support.fixing import fix_folder, make_project
from support.oracle import oracle_view
from support.paths import FIXTURES

PKG = json.dumps(
    {"scripts": {"start": "node server.js"}, "dependencies": {"express": "4"}, "devDependencies": {"jest": "29"}}
)
START = 'CMD ["node", "server.js"]\n'  # an app image: base and tooling images without one are left alone
LOCK = {"package-lock.json": "{}", "server.js": "require('http').createServer().listen(3000)\n"}


def run(tmp_path, dockerfile, *, select, unsafe=True, package_json=PKG, files=LOCK, name="Dockerfile"):
    folder = make_project(tmp_path, dockerfile, package_json=package_json, files=files, name=name)
    result = fix_folder(folder, unsafe=unsafe, select=select, name=name)
    assert result.error is None, result.error
    assert oracle_view(result.fixed)[0] == "ok"
    (folder / name).write_bytes(result.fixed)
    again = fix_folder(folder, unsafe=unsafe, select=select, name=name)
    assert again.fixed == result.fixed, "not a fixpoint"
    return result


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


NODE_ENV = [
    (
        'FROM node:22\nCOPY . .\nRUN npm ci --omit=dev\n\nCMD ["node", "server.js"]\n',
        'FROM node:22\nCOPY . .\nRUN npm ci --omit=dev\nENV NODE_ENV=production\n\nCMD ["node", "server.js"]\n',
    ),
    (  # after the build step, never before it
        'FROM node:22\nCOPY . .\nRUN npm ci\nRUN npm run build\nEXPOSE 3000\nCMD ["node", "dist/main.js"]\n',
        'FROM node:22\nCOPY . .\nRUN npm ci\nRUN npm run build\nENV NODE_ENV=production\nEXPOSE 3000\nCMD ["node", "dist/main.js"]\n',
    ),
    ("FROM node:22\nENV NODE_ENV production\n", "FROM node:22\nENV NODE_ENV=production\n"),  # legacy form: safe
    ('FROM node:22\r\nRUN true\r\nCMD ["node"]', 'FROM node:22\r\nRUN true\r\nENV NODE_ENV=production\r\nCMD ["node"]'),
    (  # no final newline stays absent
        f"FROM node:22\n{START}RUN true",
        f"FROM node:22\n{START}RUN true\nENV NODE_ENV=production",
    ),
]

NODE_ENV_UNTOUCHED = [
    'FROM node:22\nENV NODE_ENV=production\nCMD ["node", "a.js"]\n',
    "FROM node:22\nARG NODE_ENV=production\nENV NODE_ENV=$NODE_ENV\n",
    'FROM node:22 AS base\nENV NODE_ENV=production\nFROM base\nCMD ["node", "a.js"]\n',
    "FROM nginx:1.27\nCOPY . /usr/share/nginx/html\n",
    "# escape=`\nFROM node:22-windowsservercore\nRUN npm ci\n",
]


@pytest.mark.parametrize("before, after", NODE_ENV)
def test_node_env(tmp_path, before, after):
    assert run(tmp_path, before, select=["DF003"]).fixed.decode() == after


@pytest.mark.parametrize("source", NODE_ENV_UNTOUCHED)
def test_node_env_untouched(tmp_path, source):
    assert run(tmp_path, source, select=["DF003"]).fixed.decode() == source


def test_node_env_left_alone_in_development_images(tmp_path):
    source = 'FROM node:22\nCOPY . .\nRUN npm install\nCMD ["npm", "run", "dev"]\n'
    assert run(tmp_path, source, select=["DF003"], name="Dockerfile.dev").fixed.decode() == source


NON_ROOT = [
    (
        'FROM node:22\nWORKDIR /usr/src/app\nCOPY package*.json ./\nRUN npm ci\nCOPY . .\nCMD ["node", "server.js"]\n',
        'FROM node:22\nWORKDIR /usr/src/app\nCOPY --chown=node:node package*.json ./\nRUN npm ci\nCOPY --chown=node:node . .\nUSER node\nCMD ["node", "server.js"]\n',
    ),
    (  # root kept for the apk install, files out of other images keep their owner
        'FROM node:22-alpine\nRUN apk add --no-cache curl\nCOPY --from=docker:cli /usr/local/bin/docker /usr/local/bin/\nCOPY . /app\nCMD ["node", "/app/a.js"]\n',
        'FROM node:22-alpine\nRUN apk add --no-cache curl\nCOPY --from=docker:cli /usr/local/bin/docker /usr/local/bin/\nCOPY --chown=node:node . /app\nUSER node\nCMD ["node", "/app/a.js"]\n',
    ),
    (  # an explicit USER root at the end becomes node
        'FROM node:22\nCOPY . .\nUSER root\nCMD ["node", "a.js"]\n',
        'FROM node:22\nCOPY --chown=node:node . .\nUSER node\nCMD ["node", "a.js"]\n',
    ),
    (  # a new volume copies the owner of the image's folder: node gets exactly that folder
        'FROM node:22\nCOPY . .\nVOLUME /data\nCMD ["node", "a.js"]\n',
        'FROM node:22\nCOPY --chown=node:node . .\nRUN mkdir -p /data && chown node:node /data\nUSER node\nVOLUME /data\nCMD ["node", "a.js"]\n',
    ),
]

NON_ROOT_UNTOUCHED = [
    'FROM node:22\nCOPY . .\nUSER node\nCMD ["node", "a.js"]\n',
    'FROM node:22\nCOPY . .\nUSER 1000:1000\nCMD ["node", "a.js"]\n',
    'FROM node:22 AS base\nUSER app\nFROM base\nCMD ["node", "a.js"]\n',
    "FROM node:22\nRUN npm i -g serve\n",  # no app command: a tooling image
    'FROM debian:12\nCOPY . .\nCMD ["node", "a.js"]\n',  # no node user there
    'FROM node:22\nCOPY . .\nEXPOSE 80\nCMD ["node", "a.js"]\n',  # port 80: shown, not applied
]


@pytest.mark.parametrize("before, after", NON_ROOT)
def test_non_root_user(tmp_path, before, after):
    assert run(tmp_path, before, select=["DF004"]).fixed.decode() == after


@pytest.mark.parametrize("source", NON_ROOT_UNTOUCHED)
def test_non_root_user_untouched(tmp_path, source):
    assert run(tmp_path, source, select=["DF004"]).fixed.decode() == source


SIGNALS = [
    (  # safe part alone: exec form of a plain command
        'FROM node:22-alpine\nCMD "npm" "start"\n',
        False,
        'FROM node:22-alpine\nCMD ["npm", "start"]\n',
    ),
    (
        'FROM node:22-alpine\nCMD "npm" "start"\n',
        True,
        'FROM node:22-alpine\nRUN apk add --no-cache dumb-init\nCMD ["dumb-init", "node", "server.js"]\n',
    ),
    (
        "FROM node:22-bookworm-slim\nCMD node server.js\n",
        True,
        'FROM node:22-bookworm-slim\nRUN apt-get update && apt-get install -y --no-install-recommends dumb-init && rm -rf /var/lib/apt/lists/*\nCMD ["dumb-init", "node", "server.js"]\n',
    ),
    (  # an ENTRYPOINT script gets the init in front of it
        'FROM node:22-alpine\nENTRYPOINT ["./entrypoint.sh"]\nCMD ["node", "a.js"]\n',
        True,
        'FROM node:22-alpine\nRUN apk add --no-cache dumb-init\nENTRYPOINT ["dumb-init", "./entrypoint.sh"]\nCMD ["node", "a.js"]\n',
    ),
]

SIGNALS_UNTOUCHED = [
    'FROM node:22-alpine\nRUN apk add --no-cache dumb-init\nCMD ["dumb-init", "node", "server.js"]\n',
    'FROM node:22\nENTRYPOINT ["/sbin/tini", "--"]\nCMD ["node", "server.js"]\n',
    "FROM node:22\nCMD node migrate.js || node server.js\n",  # shell features beyond `&&`: reported only
    "FROM nginx:1.27\nCMD nginx -g 'daemon off;'\n",
    "# escape=`\nFROM node:22-windowsservercore\nCMD node server.js\n",
]


@pytest.mark.parametrize("before, unsafe, after", SIGNALS)
def test_signals(tmp_path, before, unsafe, after):
    assert run(tmp_path, before, select=["DF005"], unsafe=unsafe).fixed.decode() == after


@pytest.mark.parametrize("source", SIGNALS_UNTOUCHED)
def test_signals_untouched(tmp_path, source):
    assert run(tmp_path, source, select=["DF005"]).fixed.decode() == source


def test_script_env_prefix_becomes_env(tmp_path):
    pkg = json.dumps({"scripts": {"start": "NODE_OPTIONS=--max-old-space-size=512 node dist/main.js"}})
    result = run(tmp_path, 'FROM node:22-alpine\nCMD ["npm", "start"]\n', select=["DF005"], package_json=pkg)
    assert result.fixed.decode() == (
        "FROM node:22-alpine\nRUN apk add --no-cache dumb-init\nENV NODE_OPTIONS=--max-old-space-size=512\n"
        'CMD ["dumb-init", "node", "dist/main.js"]\n'
    )


def test_prestart_hook_blocks_resolution(tmp_path):
    pkg = json.dumps({"scripts": {"prestart": "node migrate.js", "start": "node server.js"}})
    result = run(tmp_path, 'FROM node:22-alpine\nCMD ["npm", "start"]\n', select=["DF005"], package_json=pkg)
    assert b'CMD ["dumb-init", "npm", "start"]' in result.fixed
    assert any("prestart" in f.message for f in result.remaining)


def test_article_ladder(tmp_path):
    """The article's naive Dockerfile comes out with the four core practices and a graceful app."""
    folder = tmp_path / "article"
    shutil.copytree(FIXTURES / "article", folder)
    result = fix_folder(folder, select=["DF002", "DF003", "DF004", "DF005", "DF006"])
    assert result.fixed.decode() == (
        "FROM node\n"
        "RUN apt-get update && apt-get install -y --no-install-recommends dumb-init && rm -rf /var/lib/apt/lists/*\n"
        "WORKDIR /usr/src/app\n"
        "COPY --chown=node:node . /usr/src/app\n"
        "RUN npm ci --omit=dev\n"
        "USER node\n"
        "ENV NODE_ENV=production\n"
        'CMD ["dumb-init", "node", "server.js"]\n'
    )
    server = result.other_files[folder / "server.js"][1].decode()
    assert "await fastify.close()" in server and "process.once('SIGTERM', closeGracefully)" in server


def test_follows_all_practices_untouched(tmp_path):
    source = (
        "FROM node:22-alpine\nRUN apk add --no-cache dumb-init\nWORKDIR /app\nCOPY --chown=node:node package*.json ./\n"
        "RUN npm ci --omit=dev\nCOPY --chown=node:node . .\nENV NODE_ENV=production\nUSER node\n"
        'CMD ["dumb-init", "node", "server.js"]\n'
    )
    files = {
        **LOCK,
        "server.js": "const s = require('http').createServer().listen(3000)\nprocess.on('SIGTERM', () => s.close())\n",
    }
    result = run(tmp_path, source, select=["DF002", "DF003", "DF004", "DF005", "DF006"], files=files)
    assert result.fixed.decode() == source and not result.other_files and not result.remaining
