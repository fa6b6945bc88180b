"""DF005 exec-form-init: the plain shapes (exec form, `npm start` -> node, dumb-init), as
before/after tables plus files that must stay untouched (the harder cases are in
test_df005_exec_form_init.py)."""

import json

import pytest

from support.rule_runs import run

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
