"""DF006 reads the local modules the entry imports before it says the app ignores SIGTERM, and
names what it could not read."""

from __future__ import annotations

import pytest

from support.fixing import fix_folder, make_project

DOCKERFILE = 'FROM node:22-alpine\nWORKDIR /app\nCOPY . .\nRUN npm ci\nCMD ["node", "src/index.js"]\n'
PACKAGE = '{"name": "app", "dependencies": {"express": "^4.19.2"}}'
# An entry that starts a server through a module: no server for the planner to close here.
ENTRY = "require('./server');\nrequire(`./plugins/${process.env.PLUGIN}`);\n"
SERVER = "const express = require('express');\nconst app = express();\nmodule.exports = app.listen(3000);\n"
SHUTDOWN = "process.once('SIGTERM', () => process.exit(0));\n"


def df006(tmp_path, files):
    folder = make_project(tmp_path, DOCKERFILE, package_json=PACKAGE, files=files)
    return [f.message for f in fix_folder(folder, select=["DF006"]).initial]


@pytest.mark.parametrize(
    ("entry", "modules"),
    [
        # The shape reported: the handler is registered in a module the entry file requires.
        ("require('./server');\nrequire('./lifecycle');\n", {"src/lifecycle.js": SHUTDOWN}),
        # ESM, an index file, and a TypeScript source imported by its compiled name.
        ("import './server.js';\nimport { stop } from './lifecycle';\n", {"src/lifecycle/index.mjs": SHUTDOWN}),
        (
            "import './server.js';\nimport './boot/shutdown.js';\n",
            {"src/boot/shutdown.ts": "process.on('SIGTERM', async () => { await close(); });\n"},
        ),
        # two modules down
        (
            "require('./server');\n",
            {"src/server.js": SERVER + "require('./lib/signals');\n", "src/lib/signals.js": SHUTDOWN},
        ),
    ],
)
def test_a_handler_in_an_imported_module_counts(tmp_path, entry, modules):
    assert df006(tmp_path, {"src/index.js": entry, "src/server.js": SERVER, **modules}) == []


def test_what_could_not_be_followed_is_named(tmp_path):
    messages = df006(tmp_path, {"src/index.js": ENTRY, "src/server.js": SERVER})
    assert messages == [
        "no SIGTERM handler in src/index.js and the 1 local module it imports (not checked: the packages it imports"
        " (express), 1 require or import of a computed name): graceful shutdown not added: the file creates no server"
        " that dockfix recognises; add a handler yourself: on SIGTERM and SIGINT stop accepting connections"
        " (server.close() or your framework's close()), let requests in flight finish, close database connections,"
        " then exit; keep a safety timer so a stuck connection cannot hang the shutdown"
    ]


def test_a_file_that_imports_nothing_is_judged_alone(tmp_path):
    entry = "const http = require('node:http');\nhttp.createServer((q, s) => s.end('ok')).listen(3000);\n"
    messages = df006(tmp_path, {"src/index.js": entry})
    assert len(messages) == 1 and messages[0].startswith(
        "src/index.js (http) drops requests in flight on SIGTERM: graceful shutdown: kept the server returned by listen()"
    )
