"""Each project file dockfix reads has a stated size limit (docs/guarantees.md), checked before it
is read: a file over its limit is never read into memory, whatever its size."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dockfix.appcode.entry import MAX_ENTRY_FILE
from dockfix.appcode.imports import MAX_MODULE_BYTES, follow_imports
from dockfix.project.build_context import MAX_PROJECT_FILE, Project
from dockfix.project.build_sources import MAX_SCRIPT_FILE, package_json_sites
from dockfix.project.config import MAX_CONFIG_SIZE, ConfigProblem, load_toml
from dockfix.project.fsutil import (
    MAX_DOCKERFILE_SIZE,
    FileProblem,
    dockerfile_too_large,
    read_regular_file,
    read_regular_head,
)
from dockfix.project.gitignore import MAX_GITIGNORE_SIZE, IgnoreRules
from dockfix.project.yamlfile import MAX_YAML_SIZE, YamlProblem, read_yaml
from support.fixing import fix_folder, make_project


def sparse_file(path: Path, size: int, head: bytes = b"") -> None:
    """A file of `size` bytes that takes no disk: `head`, then a hole."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        handle.write(head)
        handle.truncate(size)


def test_the_stated_limits():
    assert MAX_DOCKERFILE_SIZE == MAX_ENTRY_FILE == 1024 * 1024
    assert MAX_PROJECT_FILE == 5 * 1024 * 1024


def test_a_file_over_its_limit_is_refused_before_it_is_read(tmp_path):
    big = tmp_path / "package.json"
    sparse_file(big, 600 * 1024 * 1024, b'{"name": "app"}')
    with pytest.raises(FileProblem, match=r"^too large \(629145600 bytes, the limit is 5242880\)$"):
        read_regular_file(big, MAX_PROJECT_FILE)


def test_a_nested_package_json_over_the_limit_is_not_read(tmp_path):
    dockerfile = 'FROM node:24\nWORKDIR /app\nCOPY packages/api/ ./\nRUN npm ci\nCMD ["node", "server.js"]\n'
    folder = make_project(tmp_path, dockerfile, package_json='{"name": "root"}')
    sparse_file(folder / "packages" / "api" / "package.json", 600 * 1024 * 1024, b'{"name": "api", "main": "x"')
    assert Project(folder / "packages" / "api").read("package.json") is None
    result = fix_folder(folder)
    assert result.error is None


def test_the_dockerfile_limit_line_is_the_command_lines():
    assert dockerfile_too_large(MAX_DOCKERFILE_SIZE) is None
    assert (
        dockerfile_too_large(MAX_DOCKERFILE_SIZE + 1)
        == "too large for a Dockerfile (1048577 bytes, the limit is 1048576)"
    )


def test_a_dockerfile_over_the_limit_is_refused_with_that_line(tmp_path):
    dockerfile = tmp_path / "Dockerfile"
    sparse_file(dockerfile, 50 * 1024 * 1024, b"FROM node:24\n")
    with pytest.raises(FileProblem) as refused:
        read_regular_file(dockerfile, MAX_DOCKERFILE_SIZE, " for a Dockerfile")
    assert refused.value.message == dockerfile_too_large(os.path.getsize(dockerfile))


def test_a_configuration_file_over_its_limit_is_a_configuration_error(tmp_path):
    config = tmp_path / ".dockfix.toml"
    sparse_file(config, MAX_CONFIG_SIZE + 1, b"unsafe-fixes = true\n")
    with pytest.raises(ConfigProblem, match=r"too large \(1048577 bytes, the limit is 1048576\)$"):
        load_toml(config)


def test_a_compose_file_over_its_limit_is_a_yaml_problem(tmp_path):
    compose = tmp_path / "compose.yaml"
    sparse_file(compose, MAX_YAML_SIZE + 1, b"services: {}\n")
    with pytest.raises(YamlProblem, match=r"^too large \(1048577 bytes, the limit is 1048576\)$"):
        read_yaml(compose)


def test_a_gitignore_over_its_limit_adds_no_rules(tmp_path):
    sparse_file(tmp_path / ".gitignore", MAX_GITIGNORE_SIZE + 1, b"dist/\n")
    assert IgnoreRules().with_file(tmp_path).patterns == ()


def test_a_package_json_over_the_build_site_limit_names_no_build(tmp_path):
    script = b'{"scripts": {"image": "docker build -t app ."}}'
    (tmp_path / "package.json").write_bytes(script)
    assert package_json_sites(tmp_path / "package.json")  # within the limit: the build is found
    sparse_file(tmp_path / "package.json", MAX_SCRIPT_FILE + 1, script)
    assert package_json_sites(tmp_path / "package.json") == []


def test_an_imported_module_is_read_no_further_than_its_limit(tmp_path):
    app = tmp_path / "app"
    app.mkdir()
    (app / "server.js").write_text('const routes = require("./routes");\nroutes.listen(3000);\n')
    sparse_file(app / "routes.js", 600 * 1024 * 1024, b"module.exports = {};\n")
    source = (app / "server.js").read_bytes()
    imported = follow_imports(app, app / "server.js", source, "javascript")
    assert imported.handled_in is None
    assert read_regular_head(app / "routes.js", MAX_MODULE_BYTES) == b"module.exports = {};\n" + bytes(
        MAX_MODULE_BYTES - 21
    )
