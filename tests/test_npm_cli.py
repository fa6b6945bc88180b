"""What each image's npm refuses, and the guard that keeps an upgrade from moving a build onto it."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from dockfix.sources.npm_cli import NPM_CONFIG_KEYS, bundled_npm_major, rejected_command
from support.fixing import fix_folder, make_project

# argv -> (npm major, the start of the reason, or None where that npm runs it)
COMMANDS = {
    "cache clean on npm 4": ("npm cache clean", 4, None),
    "cache clean on npm 11": ("npm cache clean", 11, "`npm cache clean` fails without `--force`"),
    "cache clean --force": ("npm cache clean --force", 11, None),
    "cache clean -f": ("npm cache clean -f", 6, None),
    "cache verify": ("npm cache verify", 11, None),
    "removed key on npm 8": ("npm config set cache-min 9999999", 8, None),
    "removed key on npm 9": ("npm config set cache-min 9999999", 9, "`npm config set cache-min` fails since npm 9"),
    "npm set, key=value": ("npm set unsafe-perm=true", 10, "`npm config set unsafe-perm` fails"),
    "global flag first": ("npm config -g set python python3", 11, "`npm config set python` fails"),
    "custom key": ("npm config set sharp_binary_host https://example.com", 11, "`npm config set sharp_binary_host`"),
    "kept key": ("npm config set registry https://registry.example.com/", 11, None),
    "kept boolean": ("npm set progress=false", 11, None),
    "auth of a registry": ("npm config set //registry.example.com/:_authToken x", 11, None),
    "scope's registry": ("npm config set @acme:registry https://npm.acme.example/", 11, None),
    "ci on npm 4": ("npm ci --production", 4, "`npm ci` is an npm command since npm 5.7"),
    "ci on npm 6": ("npm ci --production", 6, None),
    "not npm": ("yarn cache clean", 11, None),
}


@pytest.mark.parametrize("command, npm_major, reason", COMMANDS.values(), ids=COMMANDS.keys())
def test_what_npm_refuses(command, npm_major, reason):
    why = rejected_command(command.split(), npm_major)
    assert (why is None) == (reason is None), why
    if reason is not None:
        assert why.startswith(reason)


def test_npm_of_each_node_major():
    # The edges the checks turn on: npm 5 came with Node.js 8, npm 9 with 18.14 (and 19), npm 11 with 24.
    assert [bundled_npm_major(major) for major in (6, 7, 8, 16, 18, 19, 22, 24, 26)] == [3, 4, 6, 8, 10, 9, 10, 11, 11]


def _real_npm_major() -> int | None:
    npm = shutil.which("npm")
    if npm is None:
        return None
    version = subprocess.run([npm, "--version"], capture_output=True, text=True, check=False).stdout.strip()
    return int(version.split(".")[0]) if version[:1].isdigit() else None


@pytest.mark.skipif((_real_npm_major() or 0) < 11, reason="needs npm 11 on the PATH (the end-to-end tools install it)")
@pytest.mark.parametrize(
    "key", ["cache-min", "unsafe-perm", "python", "user", "production", "registry", "progress", "depth", "cache"]
)
def test_the_key_table_agrees_with_the_real_npm(tmp_path, key):
    """The keys the corpus sets: the real npm accepts exactly those the table keeps."""
    home = tmp_path / key
    home.mkdir()
    run = subprocess.run(
        ["npm", "config", "set", key, "1"],
        capture_output=True,
        text=True,
        env={**os.environ, "HOME": str(home), "npm_config_userconfig": str(home / ".npmrc")},
        check=False,
    )
    assert (run.returncode == 0) == (key in NPM_CONFIG_KEYS), run.stderr


NODE_7_APP = '{"scripts": {"start": "node server.js"}, "dependencies": {"express": "^4.0.0"}}'


def test_an_upgrade_onto_an_npm_that_refuses_the_build_is_withheld(tmp_path):
    dockerfile = (
        "FROM node:7.5.0-alpine\n"
        "WORKDIR /app\n"
        "COPY . .\n"
        "RUN npm cache clean && npm install --production\n"
        'CMD ["node", "server.js"]\n'
    )
    folder = make_project(tmp_path, dockerfile, package_json=NODE_7_APP)
    result = fix_folder(folder, select=["DF007", "DF002"])
    assert result.fixed.startswith(b"FROM node:7.5.0-alpine\n"), result.fixed.decode()
    (finding,) = [f for f in result.remaining if f.code == "DF007"]
    assert "`npm cache clean` fails without `--force` since npm 5" in finding.message
    # and `npm ci`, which npm 4 does not have, is not proposed there
    assert b"npm ci" not in result.fixed
    assert not [f for f in result.initial + result.remaining if f.code == "DF002" and "npm ci" in f.message]


def test_the_same_upgrade_goes_ahead_with_force(tmp_path):
    dockerfile = (
        "FROM node:7.5.0-alpine\n"
        "WORKDIR /app\n"
        "COPY . .\n"
        "RUN npm cache clean --force && npm install --production\n"
        'CMD ["node", "server.js"]\n'
    )
    folder = make_project(tmp_path, dockerfile, package_json=NODE_7_APP)
    result = fix_folder(folder, select=["DF007"])
    assert not result.fixed.startswith(b"FROM node:7"), result.fixed.decode()
