"""The build graph: where each Dockerfile is built from, read from the repository's own files.

Each fixture in tests/fixtures/repos/ is one shape of real repositories; the tests copy it to a
temporary folder (nothing is written in the checkout) and run discovery and the readers on it.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from dockfix.context import Options
from dockfix.output.emitters import JsonEmitter, RunResults
from dockfix.pipeline import parse_for_fixing
from dockfix.project.build_graph import BuildFiles, build_graph, copy_sources, nearest_context
from dockfix.project.build_sources import (
    docker_build_sites,
    makefile_sites,
    package_json_sites,
    skaffold_sites,
    tiltfile_sites,
    workflow_sites,
)
from dockfix.project.compose import ComposeProblem, parse_builds, read_compose_builds
from dockfix.project.discover import discover, is_dockerfile_name, not_a_dockerfile
from dockfix.project.yamlfile import MAX_ALIASES, YamlProblem, load_yaml_text
from dockfix.rules import RULES
from dockfix.run import Settings, process_paths
from support.paths import REPO

FIXTURES = REPO / "tests" / "fixtures" / "repos"


@pytest.fixture
def repo(tmp_path):
    def copy(name: str) -> Path:
        target = tmp_path / name
        shutil.copytree(FIXTURES / name, target)
        return target

    return copy


# -- discovery by Docker's naming -----------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["dockerfile.js", "Dockerfile.md", "dockerfile.ts", "Dockerfile.json", "Dockerfile.yaml", "Dockerfile.j2"]
)
def test_source_files_named_like_dockerfiles_are_not_dockerfiles(name):
    assert not is_dockerfile_name(name)


def test_a_vendored_editor_mode_and_documentation_are_not_found(repo):
    root = repo("vendored-editor-mode")
    found = discover([root])
    assert found.files == [root / "Dockerfile"]
    # Dockerfile.render is named like a Dockerfile but is a template: a note, not an error.
    # The note names the line, never its text (a file that is not a Dockerfile may hold a secret).
    assert [path.name for path, reason in found.not_dockerfiles] == ["Dockerfile.render"]
    assert found.notes == [
        f"{root / 'Dockerfile.render'}: named like a Dockerfile, but line 1, its first that is not blank "
        "or a comment, is not an instruction; not processed"
    ]


def test_a_file_named_on_the_command_line_that_is_no_dockerfile_is_a_note(repo):
    root = repo("vendored-editor-mode")
    markdown = root / "docs" / "Dockerfile.md"
    found = discover([markdown, root / "Dockerfile"])
    assert found.files == [root / "Dockerfile"]
    assert [path for path, _ in found.not_dockerfiles] == [markdown]


def test_a_run_over_a_repository_with_non_dockerfiles_does_not_fail(repo):
    root = repo("vendored-editor-mode")
    found = discover([root])
    results = process_paths(found.files, Settings(rules=list(RULES), options=Options(offline=True)))
    assert [result.error for result in results] == [None]


@pytest.mark.parametrize(
    ("head", "reads"),
    [
        (b"FROM node:22\n", True),
        (b"# syntax=docker/dockerfile:1\n\n# a comment\nfrom node\n", True),
        (b"\xef\xbb\xbf  ARG V=22\nFROM node:$V\n", True),
        (b"FORM node:22\nRUN x\n", True),  # a mistyped instruction: BuildKit's error names it
        (b"", True),
        (b"# only a comment\n", True),
        (b"// CodeMirror mode\n(function () {})\n", False),
        (b"# Title\n\nHow to build the image.\n", False),
        (b"import { x } from 'y';\n", False),
        (b'{"name": "x"}\n', False),
        (b"{{ header }}\nFROM node\n", False),
        (b"FROM node\x00\x01", False),
        (b"\xff\xfe F\x00R\x00", False),
    ],
)
def test_what_reads_as_a_dockerfile(head, reads):
    assert (not_a_dockerfile(head) is None) is reads


def test_a_plain_dockerfile_name_is_never_doubted(tmp_path):
    (tmp_path / "Dockerfile").write_text("this is not valid\n")
    found = discover([tmp_path])
    assert found.files == [tmp_path / "Dockerfile"]
    assert found.not_dockerfiles == []


# -- the context chosen, and why -------------------------------------------------------------------


def test_a_subfolder_dockerfile_built_from_the_root_by_compose(repo):
    root = repo("compose-root-context")
    found = discover([root])
    dockerfile = root / "docker" / "Dockerfile"
    assert found.files == [dockerfile]
    assert found.contexts == {dockerfile: root}
    assert found.context_sources[dockerfile] == "compose.yaml service web: context ."
    builds = found.graphs[0].dockerfiles[dockerfile]
    assert builds.choice.site is not None
    assert builds.choice.site.args == (("NODE_ENV", "production"),)
    assert builds.choice.site.target == "runtime"


def test_the_dockerignore_is_written_in_the_context_docker_reads(repo):
    root = repo("compose-root-context")
    found = discover([root])
    results = process_paths(
        found.files, Settings(rules=list(RULES), options=Options(offline=True)), contexts=found.contexts
    )
    written = {path for result in results for path in result.other_files}
    assert root / ".dockerignore" in written
    assert root / "docker" / ".dockerignore" not in written


def test_siblings_built_from_one_context_share_it(repo):
    root = repo("siblings-shared-context")
    found = discover([root])
    backend = root / "packages" / "backend" / "Dockerfile"
    frontend = root / "packages" / "frontend" / "Dockerfile"
    assert found.contexts == {backend: root, frontend: root}
    assert found.context_sources[backend] == "docker-compose.yml service backend: context ."
    assert sorted(found.graphs[0].by_context()[str(root)]) == [backend, frontend]
    assert ".env" in copy_sources(backend.read_bytes())


def test_a_tiltfile_dev_build(repo):
    root = repo("tilt-dev-build")
    found = discover([root])
    dockerfile = root / "app" / "Dockerfile.dev"
    assert found.contexts == {dockerfile: root}
    assert found.context_sources[dockerfile] == "Tiltfile docker_build shop-api (line 2): context ."
    site = found.graphs[0].dockerfiles[dockerfile].choice.site
    assert site is not None and site.kind == "tilt"
    assert site.args == (("NODE_ENV", "development"),)


def test_a_privileged_service_keeps_how_it_runs(repo):
    root = repo("privileged-service")
    (build,) = read_compose_builds(root / "compose.yaml")
    assert build.context == root / "vpn"
    runtime = build.runtime
    assert runtime.needs_root
    assert runtime.cap_add == ("NET_ADMIN",)
    assert runtime.privileged
    assert runtime.user == "root"
    assert runtime.command == ("node", "index.js")
    assert runtime.entrypoint == "/entrypoint.sh"
    assert runtime.healthcheck == ("CMD", "curl", "-f", "http://localhost:8080/health")
    assert runtime.volumes == ("./data:/mnt/data", "/var/cache/app")
    assert runtime.environment == (("NODE_ENV", "development"), ("DEBUG", "true"))
    found = discover([root])
    dockerfile = root / "vpn" / "Dockerfile"
    assert found.context_sources[dockerfile] == "compose.yaml service vpn: context vpn"
    assert dockerfile not in found.contexts  # its own folder


def test_a_workflow_build_push_action_and_a_run_step(repo):
    root = repo("workflow-build-push")
    sites = workflow_sites(root / ".github" / "workflows" / "image.yml", root)
    assert [(site.dockerfile, site.context, site.args, site.target) for site in sites] == [
        (root / ".docker" / "Dockerfile.alpine", root, (("NODE_VERSION", "22"), ("APP", "server")), None),
        (root / "server" / "Dockerfile.smoke", root / "server", (("MODE", "test"),), "test"),
    ]
    found = discover([root])
    alpine = root / ".docker" / "Dockerfile.alpine"
    assert found.contexts == {alpine: root}
    assert found.context_sources[alpine] == (
        ".github/workflows/image.yml job image step 3 (docker/build-push-action): context ."
    )
    # The package.json script builds it too; the workflow comes first.
    assert [site.kind for site in found.graphs[0].dockerfiles[alpine].sites] == ["workflow", "script"]


def test_a_skaffold_build(repo):
    root = repo("skaffold-build")
    (site,) = skaffold_sites(root / "skaffold.yaml")
    assert (site.dockerfile, site.context, site.args, site.target) == (
        root / "services" / "api" / "Dockerfile",
        root / "services",
        (("PORT", "8080"),),
        "production",
    )
    found = discover([root])
    assert found.context_sources[site.dockerfile] == "skaffold.yaml artifact shop/api: context services"


def test_without_a_build_file_the_nearest_folder_with_the_copy_sources(repo):
    root = repo("nearest-copy-sources")
    dockerfile = root / "deploy" / "Dockerfile"
    found = discover([root])
    assert found.contexts == {dockerfile: root}
    assert found.context_sources[dockerfile] == "nearest folder with the COPY sources: ."
    assert nearest_context(dockerfile, root / "deploy").context == root / "deploy"  # never above the tree


def test_the_document_read_to_choose_the_context_is_the_one_fixing_takes(repo):
    """Discovery parses a Dockerfile to find its COPY sources; its record keeps that document, and
    fixing takes it for the same bytes instead of parsing them again (not for other bytes)."""
    root = repo("nearest-copy-sources")
    dockerfile = root / "deploy" / "Dockerfile"
    document = discover([root]).builds[dockerfile].document
    assert document is not None and document.render() == dockerfile.read_bytes()
    assert parse_for_fixing(dockerfile.read_bytes(), document) is document
    edited = dockerfile.read_bytes() + b"USER node\n"
    assert parse_for_fixing(edited, document) is not document
    assert parse_for_fixing(edited, document).render() == edited


def test_a_dockerfile_a_build_site_places_keeps_no_document(repo):
    root = repo("compose-root-context")
    assert discover([root]).builds[root / "docker" / "Dockerfile"].document is None


def test_the_own_folder_when_its_sources_are_there(tmp_path):
    (tmp_path / "package.json").write_text("{}\n")
    (tmp_path / "Dockerfile").write_text("FROM node\nCOPY package.json ./\n")
    found = discover([tmp_path])
    assert found.contexts == {}
    assert found.context_sources[tmp_path / "Dockerfile"] == "the Dockerfile's folder (its COPY sources are there)"


def test_a_context_outside_the_tree_is_recorded_and_never_used(repo):
    root = repo("outside-context")
    dockerfile = root / "app" / "Dockerfile"
    found = discover([root])
    assert found.contexts == {}  # its own folder, not ..
    builds = found.graphs[0].dockerfiles[dockerfile]
    assert [site.context for site in builds.outside] == [root.parent]
    assert "is outside" in found.context_sources[dockerfile]
    results = process_paths(found.files, Settings(rules=list(RULES), options=Options(offline=True)))
    for result in results:
        assert all(path.is_relative_to(root) for path in result.other_files)


def test_the_json_report_says_which_context_and_why(repo, monkeypatch):
    root = repo("compose-root-context")
    monkeypatch.chdir(root)
    found = discover([Path(".")])
    options = Options(offline=True, today=date(2026, 12, 6))
    results = process_paths(found.files, Settings(rules=list(RULES), options=options), contexts=found.contexts)
    run = RunResults(
        mode="report",
        results=results,
        rules=list(RULES),
        unsafe_fixes=False,
        contexts=found.contexts,
        context_sources=found.context_sources,
    )
    lines: list[str] = []

    class Console:
        def out(self, data: bytes | str) -> None:
            lines.append(data.decode() if isinstance(data, bytes) else data)

    JsonEmitter().emit(Console(), run, None)  # type: ignore[arg-type]
    (record,) = [json.loads(line) for line in "".join(lines).splitlines()]
    assert record["context"] == "."
    assert record["context_source"] == "compose.yaml service web: context ."
    schema = json.loads((REPO / "docs" / "json-report.schema.json").read_text())
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.validate(record, schema)


# -- the readers -----------------------------------------------------------------------------------


def test_docker_build_commands_in_shell_text(tmp_path):
    text = (
        "npm run build && docker build -t app:latest --build-arg A=1 -f docker/Dockerfile.prod . ; echo done\n"
        "docker buildx build --push --platform linux/amd64 --file=api/Dockerfile api\n"
        "docker build -t x $CONTEXT\n"
        "podman build -\n"
    )
    sites = docker_build_sites(text, tmp_path, tmp_path / "Makefile", "x", "script")
    assert [(site.dockerfile, site.context, site.args) for site in sites] == [
        (tmp_path / "docker" / "Dockerfile.prod", tmp_path, (("A", "1"),)),
        (tmp_path / "api" / "Dockerfile", tmp_path / "api", ()),
    ]


def test_package_json_and_makefile_scripts(tmp_path):
    (tmp_path / "package.json").write_text(json.dumps({"scripts": {"docker": "docker build -f ops/Dockerfile ."}}))
    (tmp_path / "Makefile").write_text("image:\n\t@docker build \\\n\t  -t x web\n")
    (site,) = package_json_sites(tmp_path / "package.json")
    assert (site.dockerfile, site.context, site.origin) == (tmp_path / "ops" / "Dockerfile", tmp_path, "script docker")
    (site,) = makefile_sites(tmp_path / "Makefile")
    assert (site.dockerfile, site.context) == (tmp_path / "web" / "Dockerfile", tmp_path / "web")


def test_a_tiltfile_is_read_not_run(tmp_path):
    (tmp_path / "Tiltfile").write_text(
        "load('ext://restart_process', 'docker_build_with_restart')\n"
        "ctx = 'api'\n"
        "docker_build('a', 'web')\n"
        "docker_build('b', ctx)  # a variable: not guessed\n"
        "docker_build(ref='c', context='.', dockerfile='ops/c.Dockerfile', target='dev')\n"
    )
    sites = tiltfile_sites(tmp_path / "Tiltfile")
    assert [(site.dockerfile, site.context, site.target) for site in sites] == [
        (tmp_path / "web" / "Dockerfile", tmp_path / "web", None),
        (tmp_path / "ops" / "c.Dockerfile", tmp_path, "dev"),
    ]


def test_compose_builds_with_anchors_merges_and_environment_values(tmp_path):
    text = (
        "x-build: &build\n"
        "  context: .\n"
        "  args: [NODE_ENV=development, DEBUG]\n"
        "services:\n"
        "  api:\n"
        "    build:\n"
        "      <<: *build\n"
        "      dockerfile: api.Dockerfile\n"
        "  inline:\n"
        "    build:\n"
        "      dockerfile_inline: FROM node\n"
        "  image-only:\n"
        "    image: node:22\n"
    )
    (build,) = parse_builds(text, tmp_path)
    assert (build.service, build.context, build.dockerfile) == ("api", tmp_path, tmp_path / "api.Dockerfile")
    assert build.args == (("NODE_ENV", "development"), ("DEBUG", None))


def test_unreadable_compose_files_raise_compose_problem(tmp_path):
    with pytest.raises(ComposeProblem):
        parse_builds("services: [\n", tmp_path)
    (tmp_path / "compose.yaml").write_bytes(b"\xff\xfe")
    with pytest.raises(ComposeProblem, match="UTF-8"):
        read_compose_builds(tmp_path / "compose.yaml")


def test_alias_heavy_yaml_is_refused_before_it_is_built():
    lines = ["a: &a [x, x, x, x, x, x, x, x, x]"]
    for index in range(1, 13):  # 12 levels of 9 aliases: 9**13 nodes once expanded
        previous, name = chr(96 + index), chr(97 + index)
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{previous}"] * 9) + "]")
    with pytest.raises(YamlProblem, match=f"more than {MAX_ALIASES} aliases"):
        load_yaml_text("\n".join(lines))
    assert load_yaml_text("a: &a 1\nb: *a\n") == {"a": 1, "b": 1}


def test_build_graph_api_on_its_own(repo):
    root = repo("compose-root-context")
    graph = build_graph(root, [root / "docker" / "Dockerfile"], BuildFiles(compose=[root / "compose.yaml"]))
    assert graph.dockerfiles[root / "docker" / "Dockerfile"].choice.context == root
    assert graph.problems == []


def test_a_dockerfile_that_does_not_parse_keeps_its_own_folder(tmp_path):
    (tmp_path / "Dockerfile").write_bytes(b"FROM node\x00\x01\n")
    assert nearest_context(tmp_path / "Dockerfile", tmp_path).context == tmp_path


def test_verbose_says_which_context_each_dockerfile_is_fixed_in_and_why(repo, monkeypatch):
    root = repo("compose-root-context")
    monkeypatch.chdir(root)
    done = subprocess.run(
        [sys.executable, "-m", "dockfix", "--check", "--offline", "--isolated", "--verbose", "."],
        capture_output=True,
        text=True,
        check=False,
    )
    assert "dockfix: docker/Dockerfile: build context .; chosen by: compose.yaml service web: context ." in (
        done.stderr.splitlines()
    )
    given = subprocess.run(
        [sys.executable, "-m", "dockfix", "--check", "--offline", "--isolated", "-v", "--context", "docker", "."],
        capture_output=True,
        text=True,
        check=False,
    )
    assert "dockfix: docker/Dockerfile: build context docker; chosen by: --context" in given.stderr.splitlines()
    quiet = subprocess.run(
        [sys.executable, "-m", "dockfix", "--check", "--offline", "--isolated", "-v", "-q", "."],
        capture_output=True,
        text=True,
        check=False,
    )
    assert "build context" not in quiet.stderr
