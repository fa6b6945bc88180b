"""DF004 non-root-user: the plain shapes, as before/after tables plus files that must stay
untouched (the harder cases are in test_df004_non_root_user.py)."""

import pytest

from support.rule_runs import run

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
