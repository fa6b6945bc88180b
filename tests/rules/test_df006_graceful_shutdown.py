"""DF006 graceful-shutdown (practice 6): a graceful-shutdown handler inserted into the application's entry file.

Sample apps live in tests/fixtures/apps/<app>/, the file the planner must produce in
tests/fixtures/apps/_expected/<app>/<same path>. Every edited file must parse (tree-sitter, and
``node --check`` for JavaScript) and be a fixpoint: planning it again proposes nothing.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from dockfix.appcode.entry import MAX_ENTRY_FILE, resolve_entry_source
from dockfix.appcode.shutdown import SAFETY_TIMEOUT_MS, plan_graceful_shutdown
from dockfix.appcode.syntax import UnsupportedSourceError, has_syntax_errors, parse_source
from dockfix.dockerfile.document import Document
from dockfix.dockerfile.stages import image_node_major, runtime_stage
from dockfix.edits import apply_edits
from support.fixing import fix_folder, make_project
from support.nodeapps import (
    NODE,
    install_dependencies_offline,
    sigterm_during_slow_request,
)

APPS = Path(__file__).parents[1] / "fixtures" / "apps"
EXPECTED = APPS / "_expected"

# Where the small snippets below claim to come from: the planner's edits are edits of this file.
SNIPPET = Path("entry.js")

needs_node = pytest.mark.skipif(NODE is None, reason="node is not installed")

# (app folder, entry the container starts, framework the planner must recognise)
EDITED_APPS = [
    ("fastify", "server.js", "fastify"),
    ("express-discarded", "server.js", "express"),
    ("express-kept", "index.js", "express"),
    ("koa", "app.js", "koa"),
    ("http-server", "server.js", "http"),
    ("esm-mjs", "server.mjs", "http"),
    ("esm-type-module", "src/index.js", "express"),
    ("typescript", "dist/server.js", "express"),
    ("nestjs", "dist/main", "nestjs"),
]


def _plan_app(app: str, entry: str):
    source = resolve_entry_source(APPS / app, entry)
    assert source is not None, f"{app}: entry {entry} not resolved"
    original = source.path.read_bytes()
    plan = plan_graceful_shutdown(
        original, path=source.path, language=source.language, module_system=source.module_system, node_major=24
    )
    return source, original, plan


def _node_check(app: str, relative: Path, content: bytes, tmp_path: Path) -> None:
    """``node --check`` the edited file inside a copy of its app, so package.json "type" applies."""
    copy = tmp_path / app
    shutil.copytree(APPS / app, copy)
    (copy / relative).write_bytes(content)
    result = subprocess.run([NODE, "--check", str(relative)], cwd=copy, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(("app", "entry", "framework"), EDITED_APPS, ids=[a[0] for a in EDITED_APPS])
def test_sample_app_gets_the_expected_handler(app, entry, framework):
    source, original, plan = _plan_app(app, entry)
    relative = source.path.relative_to((APPS / app).resolve())

    assert plan.framework == framework
    assert not plan.already_handled
    assert plan.edits, plan.message
    assert list(plan.edits) == sorted(plan.edits, key=lambda e: e.start)
    assert {edit.path for edit in plan.edits} == {source.path}
    assert apply_edits(original, plan.edits) == (EXPECTED / app / relative).read_bytes()


@pytest.mark.parametrize(("app", "entry", "framework"), EDITED_APPS, ids=[a[0] for a in EDITED_APPS])
def test_edited_app_parses_and_is_a_fixpoint(app, entry, framework, tmp_path):
    source, original, plan = _plan_app(app, entry)
    edited = apply_edits(original, plan.edits)

    assert not has_syntax_errors(parse_source(edited, source.language))
    again = plan_graceful_shutdown(
        edited, path=source.path, language=source.language, module_system=source.module_system, node_major=24
    )
    assert again.already_handled and again.edits == ()
    if source.language == "javascript" and NODE is not None:
        _node_check(app, source.path.relative_to((APPS / app).resolve()), edited, tmp_path)


def test_fastify_handler_matches_the_articles_close_gracefully():
    _, original, plan = _plan_app("fastify", "server.js")
    edited = apply_edits(original, plan.edits).decode()

    assert "async function closeGracefully(signal) {" in edited
    assert "  await fastify.close()\n  process.exit(0)\n" in edited
    assert "process.once('SIGTERM', closeGracefully)\nprocess.once('SIGINT', closeGracefully)" in edited
    assert f"setTimeout(() => process.exit(1), {SAFETY_TIMEOUT_MS}).unref()" in edited
    assert "require(" not in edited.replace("require('fastify')", "")


def test_discarded_listen_result_is_kept_in_a_new_constant():
    _, original, plan = _plan_app("express-discarded", "server.js")
    edited = apply_edits(original, plan.edits).decode()

    assert "const server = app.listen(port, () => {" in edited
    # the trailing comment stays on the listen statement, the handler comes after it
    assert "}); // the server keeps the process alive\n\nfunction closeGracefully" in edited
    assert "server.close(() => process.exit(0));" in edited
    assert "server.closeIdleConnections?.();" in edited


@pytest.mark.parametrize(
    ("app", "entry"),
    [("already-handled", "server.js")],
)
def test_file_that_handles_sigterm_stays_byte_identical(app, entry):
    _, original, plan = _plan_app(app, entry)

    assert plan.already_handled
    assert plan.edits == ()
    assert apply_edits(original, plan.edits) == original
    assert b"\r\n" in original  # the fixture is CRLF: nothing may normalise it


def test_unknown_framework_gets_a_message_and_no_edit():
    _, _, plan = _plan_app("unknown-framework", "index.js")

    assert plan.framework is None
    assert not plan.already_handled
    assert plan.edits == ()
    assert "SIGTERM" in plan.message and "not added" in plan.message


# ---------------------------------------------------------------------------------------------
# Small files: what counts as handled, what is out of reach, and the file's style.

ALREADY_HANDLED = {
    "process.once": "const http = require('http')\nhttp.createServer().listen(3)\n"
    'process.once("SIGTERM", () => process.exit(0))\n',
    "addListener with template": "const http = require('http')\nhttp.createServer().listen(3)\n"
    "process.addListener(`SIGTERM`, stop)\n",
    "signals in a loop": "const http = require('http')\nconst s = http.createServer().listen(3)\n"
    "for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => s.close())\n",
    "terminus": "const http = require('http')\nconst { createTerminus } = require('@godaddy/terminus')\n"
    "const server = http.createServer(app)\ncreateTerminus(server, {})\nserver.listen(3)\n",
    "close-with-grace": "import closeWithGrace from 'close-with-grace'\nimport Fastify from 'fastify'\n"
    "const app = Fastify()\ncloseWithGrace(async () => { await app.close() })\nawait app.listen()\n",
    "http-terminator": "import { createHttpTerminator } from 'http-terminator'\nimport http from 'http'\n"
    "const server = http.createServer()\nserver.listen(3)\nexport const t = createHttpTerminator({ server })\n",
    "stoppable": "const stoppable = require('stoppable')\nconst http = require('http')\n"
    "const server = stoppable(http.createServer())\nserver.listen(3)\n",
    "nest hooks": "import { NestFactory } from '@nestjs/core'\nasync function b() {\n"
    "  const app = await NestFactory.create(M)\n  app.enableShutdownHooks()\n  await app.listen(3)\n}\n",
}


@pytest.mark.parametrize("source", ALREADY_HANDLED.values(), ids=ALREADY_HANDLED.keys())
def test_existing_shutdown_handling_is_left_alone(source):
    module_system = "esm" if "import " in source else "commonjs"
    plan = plan_graceful_shutdown(
        source.encode(), path=SNIPPET, language="javascript", module_system=module_system, node_major=24
    )

    assert plan.already_handled, plan.message
    assert plan.edits == ()


OUT_OF_REACH = {
    "listen in an arrow expression body": "const express = require('express')\nconst app = express()\n"
    "db.connect().then(() => app.listen(3000))\n",
    "listen result exported": "const express = require('express')\nconst app = express()\n"
    "module.exports = app.listen(3000)\n",
    "listen in a loop": "const http = require('http')\nfor (const port of [1, 2]) {\n"
    "  http.createServer().listen(port)\n}\n",
    "two servers": "const http = require('http')\nconst https = require('https')\n"
    "http.createServer(a).listen(80)\nhttps.createServer(o, a).listen(443)\n",
    "server created but started elsewhere": "const http = require('http')\n"
    "const server = http.createServer(handler)\nmodule.exports = server\n",
    "app from another module": "const app = require('./app')\napp.listen(3000)\n",
    "sigterm only in a comment and a string": "// process.on('SIGTERM') is missing\n"
    "const hapi = require('@hapi/hapi')\nconsole.log(\"process.on('SIGTERM')\")\n",
    "does not parse": "const express = require('express')\napp.listen(3000\n",
}


@pytest.mark.parametrize("source", OUT_OF_REACH.values(), ids=OUT_OF_REACH.keys())
def test_server_out_of_reach_gets_a_message_and_no_edit(source):
    plan = plan_graceful_shutdown(
        source.encode(), path=SNIPPET, language="javascript", module_system="commonjs", node_major=24
    )

    assert plan.edits == ()
    assert not plan.already_handled
    assert plan.message


# (name, source, language, module system, texts the edited file must contain)
EDITED_SNIPPETS = [
    (
        "crlf, double quotes, four spaces",
        b'const http = require("http");\r\nconst server = http.createServer(handle);\r\n'
        b'server.listen(8080); // start\r\nfunction handle(req, res) {\r\n    res.end("ok");\r\n}\r\n',
        "javascript",
        "commonjs",
        [
            'process.once("SIGTERM", closeGracefully);\r\n',
            "\r\n    server.close(() => process.exit(0));\r\n",
        ],
    ),
    (
        "four spaces despite a doc comment and aligned arguments",
        b"/**\n * Entry point.\n */\nconst express = require('express')\nconst app = express()\n"
        b"app.get('/', (req, res) => {\n    res.json({ a: 1,\n               b: 2 })\n})\n"
        b"app.listen(3000, () => {\n    console.log('up')\n})\n",
        "javascript",
        "commonjs",
        ["\n    server.close(() => process.exit(0))\n"],
    ),
    (
        "name collisions",
        b"const express = require('express')\nconst app = express()\nconst server = 'x'\n"
        b"function closeGracefully() {}\napp.listen(3000)\n",
        "javascript",
        "commonjs",
        ["const httpServer = app.listen(3000)", "function shutDownGracefully(signal) {"],
    ),
    (
        "sigint already handled",
        b"const http = require('http')\nhttp.createServer().listen(3)\nprocess.on('SIGINT', () => {})\n",
        "javascript",
        "commonjs",
        ["process.once('SIGTERM', closeGracefully)\n"],
    ),
    (
        "no semicolons, next line starts with a parenthesis",
        b"const http = require('http')\nconst server = http.createServer()\nserver.listen(3)\n"
        b";(function () { console.log('x') })()\n",
        "javascript",
        "commonjs",
        ["process.once('SIGINT', closeGracefully)\n;(function"],
    ),
    (
        "statement after listen on the same line",
        b"const http = require('http')\nconst s = http.createServer(); s.listen(3); console.log('up')\n",
        "javascript",
        "commonjs",
        ["s.listen(3);\n\nfunction closeGracefully(signal) {", "\n\nconsole.log('up')"],
    ),
    (
        "esm fastify with a named import",
        b"import { fastify } from 'fastify';\n\nconst server = fastify();\nawait server.listen({ port: 3000 });\n",
        "javascript",
        "esm",
        [
            "await server.listen({ port: 3000 });\n\nasync function closeGracefully(signal) {",
            "await server.close();",
        ],
    ),
    (
        "https server chained with on('error')",
        b"import https from 'node:https'\nhttps.createServer(opts, app).listen(443).on('error', console.error)\n",
        "javascript",
        "esm",
        ["const server = https.createServer(opts, app).listen(443).on('error', console.error)"],
    ),
    (
        "exported server",
        b"import express from 'express';\nconst app = express();\nexport const server = app.listen(3000);\n",
        "javascript",
        "esm",
        ["export const server = app.listen(3000);\n\nfunction closeGracefully(signal) {"],
    ),
    (
        "tsx koa",
        b"import Koa from 'koa';\nconst app = new Koa();\nconst server = app.listen(3000);\nexport const el = <div />;\n",
        "tsx",
        "esm",
        ["function closeGracefully(signal: string) {", "server.close(() => process.exit(0));"],
    ),
    (
        "nest with type arguments and listen on the same line",
        b"import { NestFactory } from '@nestjs/core'\nasync function bootstrap() {\n"
        b"  const app = await NestFactory.create<NestExpressApplication>(AppModule); await app.listen(3000)\n}\n",
        "typescript",
        "esm",
        ["(AppModule); app.enableShutdownHooks(); await app.listen(3000)"],
    ),
]


@pytest.mark.parametrize(
    ("source", "language", "module_system", "expected_texts"),
    [case[1:] for case in EDITED_SNIPPETS],
    ids=[case[0] for case in EDITED_SNIPPETS],
)
def test_handler_follows_the_file(source, language, module_system, expected_texts, tmp_path):
    plan = plan_graceful_shutdown(source, path=SNIPPET, language=language, module_system=module_system, node_major=24)
    assert plan.edits, plan.message
    edited = apply_edits(source, plan.edits)
    text = edited.decode()

    for expected in expected_texts:
        assert expected in text, text
    assert not has_syntax_errors(parse_source(edited, language)), text
    if b"\r\n" in source:
        assert b"\n" not in edited.replace(b"\r\n", b"")
    again = plan_graceful_shutdown(edited, path=SNIPPET, language=language, module_system=module_system, node_major=24)
    assert again.already_handled and again.edits == ()
    if language == "javascript" and NODE is not None:
        path = tmp_path / ("entry.mjs" if module_system == "esm" else "entry.cjs")
        path.write_bytes(edited)
        result = subprocess.run([NODE, "--check", str(path)], capture_output=True, text=True)
        assert result.returncode == 0, result.stderr


def test_unknown_language_or_module_system_is_an_error():
    with pytest.raises(UnsupportedSourceError):
        plan_graceful_shutdown(b"", path=SNIPPET, language="coffeescript", module_system="commonjs", node_major=24)
    with pytest.raises(UnsupportedSourceError):
        plan_graceful_shutdown(b"", path=SNIPPET, language="javascript", module_system="amd", node_major=24)


# ---------------------------------------------------------------------------------------------
# The handler parses on the image's Node.js: nothing newer than the major that runs it.

# An ES5 app whose listen() result is discarded: the planner adds a declaration and a handler.
ES5_HTTP_APP = b"var http = require('http')\nhttp.createServer(function (req, res) { res.end('ok') }).listen(3000)\n"
ES5_FASTIFY_APP = b"var fastify = require('fastify')()\nfastify.listen(3000)\n"

# Each feature the generated code may use, and how it shows in the text the planner adds.
FEATURES = {
    "optional chaining": "?.",
    "async functions": "async function",
    "arrow functions": "=>",
    "template literals": "`",
    "const": "const ",
}

# (image major, framework app, the features the handler must use; it must use no other)
SYNTAX_BY_MAJOR = [
    (None, ES5_HTTP_APP, set()),
    (0, ES5_HTTP_APP, set()),
    (6, ES5_HTTP_APP, {"arrow functions", "template literals", "const"}),
    (12, ES5_HTTP_APP, {"arrow functions", "template literals", "const"}),
    (14, ES5_HTTP_APP, {"arrow functions", "template literals", "const", "optional chaining"}),
    (24, ES5_HTTP_APP, {"arrow functions", "template literals", "const", "optional chaining"}),
    (None, ES5_FASTIFY_APP, set()),
    (6, ES5_FASTIFY_APP, {"arrow functions", "template literals"}),
    (8, ES5_FASTIFY_APP, {"arrow functions", "template literals", "async functions"}),
    (12, ES5_FASTIFY_APP, {"arrow functions", "template literals", "async functions"}),
    (24, ES5_FASTIFY_APP, {"arrow functions", "template literals", "async functions"}),
]


def _added_text(source: bytes, node_major: int | None) -> str:
    plan = plan_graceful_shutdown(
        source, path=SNIPPET, language="javascript", module_system="commonjs", node_major=node_major
    )
    assert plan.edits, plan.message
    edited = apply_edits(source, plan.edits)
    assert not has_syntax_errors(parse_source(edited, "javascript"))
    again = plan_graceful_shutdown(
        edited, path=SNIPPET, language="javascript", module_system="commonjs", node_major=node_major
    )
    assert again.already_handled and again.edits == ()
    return "".join(edit.content.decode() for edit in plan.edits)


@pytest.mark.parametrize(
    ("node_major", "source", "features"),
    SYNTAX_BY_MAJOR,
    ids=[f"{'fastify' if b'fastify' in case[1] else 'http'}-node-{case[0]}" for case in SYNTAX_BY_MAJOR],
)
def test_handler_uses_only_syntax_the_images_node_parses(node_major, source, features):
    added = _added_text(source, node_major)

    used = {feature for feature, mark in FEATURES.items() if mark in added}
    assert used == features, added


NODE_12_HANDLER = """const server = http.createServer(function (req, res) { res.end('ok') }).listen(3000)

function closeGracefully(signal) {
  console.info(`${signal} received: closing the HTTP server`)
  // Requests in flight may finish; a stuck connection must not block the exit forever.
  setTimeout(() => process.exit(1), 8000).unref()
  server.close(() => process.exit(0))
  // Idle keep-alive connections would otherwise hold close() open (Node.js < 19).
  server.closeIdleConnections && server.closeIdleConnections()
}
process.once('SIGTERM', closeGracefully)
process.once('SIGINT', closeGracefully)
"""

ES5_HANDLER = """var server = http.createServer(function (req, res) { res.end('ok') }).listen(3000)

function closeGracefully(signal) {
  console.info(signal + ' received: closing the HTTP server')
  // Requests in flight may finish; a stuck connection must not block the exit forever.
  setTimeout(function () { process.exit(1) }, 8000).unref()
  server.close(function () { process.exit(0) })
  // Idle keep-alive connections would otherwise hold close() open (Node.js < 19).
  server.closeIdleConnections && server.closeIdleConnections()
}
process.once('SIGTERM', closeGracefully)
process.once('SIGINT', closeGracefully)
"""

FASTIFY_NODE_6_HANDLER = """function closeGracefully(signal) {
  console.info(`${signal} received: closing the server`)
  // A stuck connection must not block the exit forever.
  setTimeout(() => process.exit(1), 8000).unref()
  // fastify answers 503 to new requests and lets the ones in flight finish.
  fastify.close(() => process.exit(0))
}
"""


@pytest.mark.parametrize(
    ("node_major", "source", "expected"),
    [
        (12, ES5_HTTP_APP, NODE_12_HANDLER),
        (None, ES5_HTTP_APP, ES5_HANDLER),
        (6, ES5_FASTIFY_APP, FASTIFY_NODE_6_HANDLER),
    ],
    ids=["http-node-12", "http-unknown-major", "fastify-node-6"],
)
def test_handler_for_an_old_node_is_exactly_the_compatible_form(node_major, source, expected, tmp_path):
    # No parser here can be held to an old ECMAScript edition (tree-sitter reads them all, the
    # local node is a current one): the exact text is what proves the syntax.
    plan = plan_graceful_shutdown(
        source, path=SNIPPET, language="javascript", module_system="commonjs", node_major=node_major
    )
    edited = apply_edits(source, plan.edits).decode()

    assert expected in edited, edited
    if NODE is not None:
        path = tmp_path / "entry.cjs"
        path.write_text(edited)
        result = subprocess.run([NODE, "--check", str(path)], capture_output=True, text=True)
        assert result.returncode == 0, result.stderr


IMAGE_MAJORS = [
    ("FROM node:12-alpine\n", 12),
    ("FROM node:14.21.3-bullseye-slim\n", 14),
    ("FROM node:24\n", 24),
    ("FROM node\n", 99),
    ("ARG NODE_VERSION=12\nFROM node:${NODE_VERSION}-alpine\n", 12),
    ("FROM node:20 AS build\nFROM gcr.io/distroless/nodejs22-debian12\n", 22),
    ("FROM node:12 AS base\nFROM base\n", 12),
    ("FROM ubuntu:22.04\n", None),  # Node.js installed some other way: its major is not known
]


@pytest.mark.parametrize(("dockerfile", "major"), IMAGE_MAJORS, ids=[case[0] for case in IMAGE_MAJORS])
def test_the_major_of_the_image_that_runs_the_app(dockerfile, major):
    doc = Document.parse(dockerfile.encode())
    stage = runtime_stage(doc)
    assert stage is not None

    assert image_node_major(doc, stage) == major


@pytest.mark.parametrize(
    ("base", "optional_chaining"), [("node:12-alpine", False), ("node:14", True), ("node:24", True)]
)
def test_df006_writes_for_the_node_of_the_runtime_stage(base, optional_chaining, tmp_path):
    dockerfile = f'FROM {base}\nWORKDIR /app\nCOPY . .\nCMD ["node", "server.js"]\n'
    folder = make_project(
        tmp_path, dockerfile, package_json='{"name": "app"}', files={"server.js": ES5_HTTP_APP.decode()}
    )
    result = fix_folder(folder, select=["DF006"])

    (before, after) = result.other_files[(folder / "server.js").resolve()]
    assert before == ES5_HTTP_APP
    assert after is not None
    assert (b"server.closeIdleConnections?.()" in after) is optional_chaining
    assert (b"server.closeIdleConnections && server.closeIdleConnections()" in after) is not optional_chaining


# ---------------------------------------------------------------------------------------------
# Real runs: node serves a slow request, gets SIGTERM mid-request, and must finish it.


def _edited_copy(app: str, entry: str, tmp_path: Path, *, edit: bool) -> Path:
    copy = tmp_path / app
    shutil.copytree(APPS / app, copy)
    if edit:
        source = resolve_entry_source(copy, entry)
        assert source is not None
        original = source.path.read_bytes()
        plan = plan_graceful_shutdown(
            original, path=source.path, language=source.language, module_system=source.module_system, node_major=24
        )
        assert plan.edits, plan.message
        source.path.write_bytes(apply_edits(original, plan.edits))
    return copy


def _assert_finished_gracefully(outcome) -> None:
    assert outcome.request_error is None, outcome.output
    assert outcome.status == 200
    assert outcome.body is not None and outcome.body.startswith(b"finished")
    assert outcome.exit_code == 0, outcome.output
    assert outcome.seconds_to_exit is not None
    assert outcome.seconds_to_exit < SAFETY_TIMEOUT_MS / 1000


def _assert_dropped(outcome) -> None:
    assert outcome.request_error is not None, f"the unedited app answered {outcome.status}"
    assert outcome.exit_code != 0


NO_DEPENDENCY_APPS = [("http-server", "server.js"), ("esm-mjs", "server.mjs")]


@needs_node
@pytest.mark.parametrize(("app", "entry"), NO_DEPENDENCY_APPS, ids=[a[0] for a in NO_DEPENDENCY_APPS])
def test_edited_http_app_finishes_the_request_in_flight(app, entry, tmp_path):
    outcome = sigterm_during_slow_request(_edited_copy(app, entry, tmp_path, edit=True), entry)

    _assert_finished_gracefully(outcome)


@needs_node
@pytest.mark.parametrize(("app", "entry"), NO_DEPENDENCY_APPS, ids=[a[0] for a in NO_DEPENDENCY_APPS])
def test_unedited_http_app_drops_the_request_in_flight(app, entry, tmp_path):
    outcome = sigterm_during_slow_request(_edited_copy(app, entry, tmp_path, edit=False), entry)

    _assert_dropped(outcome)


@needs_node
def test_safety_timer_ends_a_shutdown_stuck_on_a_request(tmp_path):
    app_dir = _edited_copy("http-server", "server.js", tmp_path, edit=True)
    outcome = sigterm_during_slow_request(app_dir, "server.js", path="/hang")

    assert outcome.request_error is not None
    assert outcome.exit_code == 1, outcome.output
    assert outcome.seconds_to_exit is not None
    assert SAFETY_TIMEOUT_MS / 1000 - 0.5 < outcome.seconds_to_exit < SAFETY_TIMEOUT_MS / 1000 + 3


@needs_node
@pytest.mark.parametrize("edit", [True, False], ids=["edited", "unedited"])
def test_express_app_with_sigterm_mid_request(edit, tmp_path):
    app_dir = _edited_copy("express-discarded", "server.js", tmp_path, edit=edit)
    problem = install_dependencies_offline(app_dir)
    if problem is not None:
        pytest.skip(
            f"express is not in the local npm cache ({problem}); `npm install express@4` once in "
            "any scratch folder to fill the cache (the test itself never reaches the network)"
        )
    outcome = sigterm_during_slow_request(app_dir, "server.js")

    if edit:
        _assert_finished_gracefully(outcome)
    else:
        _assert_dropped(outcome)


def test_df006_does_not_read_an_entry_file_over_its_limit(tmp_path):
    dockerfile = 'FROM node:24\nWORKDIR /app\nCOPY . .\nCMD ["node", "server.js"]\n'
    # A bundle: an app DF006 would fix, padded on one line past the limit.
    padding = "var a=function(b){return b};" * (MAX_ENTRY_FILE // 28 + 1)
    bundle = padding + ES5_HTTP_APP.decode()
    folder = make_project(tmp_path, dockerfile, package_json='{"name": "app"}', files={"server.js": bundle})
    result = fix_folder(folder, select=["DF006"])

    [finding] = result.remaining
    size = len(bundle.encode())
    assert finding.message == (
        f"server.js is not checked for a SIGTERM handler: it is {size} bytes, over the {MAX_ENTRY_FILE} bytes (1 MiB)"
        " dockfix reads of an entry file"
    )
    assert finding.fix is None and result.other_files == {}


def test_df006_still_fixes_an_entry_file_at_its_limit(tmp_path):
    dockerfile = 'FROM node:24\nWORKDIR /app\nCOPY . .\nCMD ["node", "server.js"]\n'
    app = ES5_HTTP_APP.decode()
    source = "/" * 2 + " " * (MAX_ENTRY_FILE - len(app.encode()) - 3) + "\n" + app
    assert len(source.encode()) == MAX_ENTRY_FILE
    folder = make_project(tmp_path, dockerfile, package_json='{"name": "app"}', files={"server.js": source})
    result = fix_folder(folder, select=["DF006"])

    assert (folder / "server.js").resolve() in result.other_files
