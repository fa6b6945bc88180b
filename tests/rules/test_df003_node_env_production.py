"""DF003 node-env-production: before/after tables plus files that must stay untouched. Every
expected output is checked to parse with BuildKit's parser and to be a fixpoint."""

import shutil

import pytest

from support.fixing import fix_repository
from support.paths import REPO
from support.rule_runs import START, run

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


def test_a_development_build_keeps_its_node_env(tmp_path):
    """Built for development by compose and for production by another service: a hard-coded
    `ENV NODE_ENV=production` would override the development build; reported, not added."""
    root = tmp_path / "compose-dev-nodemon"
    shutil.copytree(REPO / "tests" / "fixtures" / "repos" / "compose-dev-nodemon", root)
    compose = root / "compose.yaml"
    compose.write_text(compose.read_text() + "  worker:\n    build: .\n")
    dockerfile = root / "Dockerfile"
    result = fix_repository(root, dockerfile, select=["DF003"])
    assert [f.message for f in result.remaining] == [
        "NODE_ENV is not set to production in the stage that runs the app; not set here: compose.yaml service api"
        " builds it with NODE_ENV=development, which `ENV NODE_ENV=production` would override: declare"
        " `ARG NODE_ENV=production` and `ENV NODE_ENV=$NODE_ENV`, so each build keeps its own value"
    ]
    assert result.fixed == dockerfile.read_bytes()
