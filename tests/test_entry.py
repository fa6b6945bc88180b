"""Finding the file to edit behind the entry point a container starts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dockfix.appcode.entry import EntrySource, entry_from_package_json, resolve_entry_source, strip_jsonc


def _tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def _relative(root: Path, found: EntrySource | None) -> str | None:
    return None if found is None else found.path.relative_to(root.resolve()).as_posix()


# (files in the build context, entry the container starts, file to edit or None)
RESOLUTIONS = [
    ({"server.js": ""}, "server.js", "server.js"),
    ({"server.js": ""}, "./server.js", "server.js"),
    ({"server.js": ""}, "server", "server.js"),
    ({"app/index.js": ""}, "app", "app/index.js"),
    ({"src/index.mjs": ""}, "./src/index.mjs", "src/index.mjs"),
    (
        {
            "tsconfig.json": '{"compilerOptions": {"rootDir": "src", "outDir": "dist"}}',
            "src/server.ts": "",
        },
        "dist/server.js",
        "src/server.ts",
    ),
    (
        {
            "tsconfig.json": '{\n  // built into out/\n  "compilerOptions": {"outDir": "./out/", "rootDir": "./lib",},\n}\n',
            "lib/api/main.ts": "",
        },
        "out/api/main.js",
        "lib/api/main.ts",
    ),
    (
        {
            "config/tsconfig.base.json": '{"compilerOptions": {"outDir": "../build"}}',
            "tsconfig.json": '{"extends": "./config/tsconfig.base", "compilerOptions": {"rootDir": "app"}}',
            "app/main.tsx": "",
        },
        "build/main.js",
        "app/main.tsx",
    ),
    (
        {"tsconfig.json": '{"compilerOptions": {"outDir": "dist"}}', "src/main.ts": ""},
        "dist/main",
        "src/main.ts",
    ),
    (
        {
            "tsconfig.json": '{"compilerOptions": {"outDir": "dist", "rootDir": "src"}}',
            "src/a.mts": "",
            "src/a.ts": "",
        },
        "dist/a.mjs",
        "src/a.mts",
    ),
    (  # a locally built dist/ in the context: the source still wins
        {
            "tsconfig.json": '{"compilerOptions": {"outDir": "dist", "rootDir": "src"}}',
            "src/server.ts": "",
            "dist/server.js": "",
        },
        "dist/server.js",
        "src/server.ts",
    ),
    (
        {"src/server.js": "", "package.json": "{}"},
        "dist/server.js",
        "src/server.js",
    ),  # babel-style, no tsconfig
    ({"tsconfig.json": "{ not json", "src/index.ts": ""}, "dist/index.js", "src/index.ts"),
    ({"dist/server.js": ""}, "dist/server.js", "dist/server.js"),  # nothing it is built from
    ({"node_modules/pkg/index.js": ""}, "node_modules/pkg/index.js", None),
    ({"server.js": ""}, "../server.js", None),
    ({"server.js": ""}, "/app/server.js", None),
    ({"server.js": ""}, "missing.js", None),
    ({"server.js": ""}, "", None),
]


@pytest.mark.parametrize(("files", "entry", "expected"), RESOLUTIONS, ids=[r[1] or "empty" for r in RESOLUTIONS])
def test_entry_resolves_to_the_file_to_edit(files, entry, expected, tmp_path):
    root = _tree(tmp_path / "context", files)

    assert _relative(root, resolve_entry_source(root, entry)) == expected


def test_symlink_out_of_the_context_is_refused(tmp_path):
    outside = _tree(tmp_path / "outside", {"secret.js": "x"})
    root = _tree(tmp_path / "context", {"package.json": "{}"})
    (root / "server.js").symlink_to(outside / "secret.js")
    (root / "src").symlink_to(outside, target_is_directory=True)

    assert resolve_entry_source(root, "server.js") is None
    assert resolve_entry_source(root, "src/secret.js") is None


def test_symlink_into_node_modules_is_refused(tmp_path):
    root = _tree(tmp_path / "context", {"node_modules/app/server.js": ""})
    (root / "server.js").symlink_to(root / "node_modules/app/server.js")

    assert resolve_entry_source(root, "server.js") is None


def test_source_mapped_into_node_modules_is_refused(tmp_path):
    root = _tree(
        tmp_path / "context",
        {
            "tsconfig.json": '{"compilerOptions": {"outDir": "dist", "rootDir": "node_modules/x"}}',
            "node_modules/x/server.ts": "",
        },
    )

    assert resolve_entry_source(root, "dist/server.js") is None


def test_missing_context_gives_none(tmp_path):
    assert resolve_entry_source(tmp_path / "absent", "server.js") is None


# (files, entry, language, module system)
DESCRIPTIONS = [
    ({"a.js": "const x = require('x')\n"}, "a.js", "javascript", "commonjs"),
    ({"a.mjs": "const x = 1\n"}, "a.mjs", "javascript", "esm"),
    (
        {"a.cjs": "import('x')\n", "package.json": '{"type": "module"}'},
        "a.cjs",
        "javascript",
        "commonjs",
    ),
    ({"a.js": "const x = 1\n", "package.json": '{"type": "module"}'}, "a.js", "javascript", "esm"),
    ({"src/a.js": "x\n", "package.json": '{"type": "module"}'}, "src/a.js", "javascript", "esm"),
    ({"a.js": "import x from 'x'\n"}, "a.js", "javascript", "esm"),
    ({"a.js": "export default 1\n"}, "a.js", "javascript", "esm"),
    (
        {"a.js": "// import x from 'x'\nconst s = 'export default'\n"},
        "a.js",
        "javascript",
        "commonjs",
    ),
    ({"a.ts": "import express from 'express'\n"}, "a.ts", "typescript", "esm"),
    ({"a.ts": "import express = require('express')\n"}, "a.ts", "typescript", "commonjs"),
    ({"a.mts": ""}, "a.mts", "typescript", "esm"),
    ({"a.cts": ""}, "a.cts", "typescript", "commonjs"),
    ({"a.tsx": "const el = <div />\n"}, "a.tsx", "tsx", "commonjs"),
]


@pytest.mark.parametrize(
    ("files", "entry", "language", "module_system"),
    DESCRIPTIONS,
    ids=[d[1] + str(i) for i, d in enumerate(DESCRIPTIONS)],
)
def test_language_and_module_system(files, entry, language, module_system, tmp_path):
    root = _tree(tmp_path, files)
    found = resolve_entry_source(root, entry)

    assert found is not None
    assert (found.language, found.module_system) == (language, module_system)


def test_entry_from_package_json(tmp_path):
    assert entry_from_package_json({"main": "dist/server.js"}) == "dist/server.js"
    assert entry_from_package_json({"main": " lib/app.js "}, tmp_path) == "lib/app.js"
    assert entry_from_package_json({}) is None
    assert entry_from_package_json({}, tmp_path) is None
    assert entry_from_package_json({"main": 3}, tmp_path) is None
    (tmp_path / "index.js").write_text("")
    assert entry_from_package_json({}, tmp_path) == "index.js"
    assert entry_from_package_json({"main": ""}, tmp_path) == "index.js"


def test_strip_jsonc_keeps_strings_and_drops_comments_and_trailing_commas():
    text = '{\n  // comment\n  "url": "http://x//y", /* block */ "glob": "src/**/*",\n  "list": [1, 2,],\n}'

    assert json.loads(strip_jsonc(text)) == {
        "url": "http://x//y",
        "glob": "src/**/*",
        "list": [1, 2],
    }
    assert json.loads(strip_jsonc('{"quote": "a \\" // b",}')) == {"quote": 'a " // b'}
