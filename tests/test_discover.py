"""Finding Dockerfiles: which names count, which folders are skipped, and what is reported."""

from __future__ import annotations

from pathlib import Path

import pytest

from dockfix.project.discover import discover, is_dockerfile_name

FOUND = [
    "Dockerfile",
    "dockerfile",
    "DOCKERFILE",
    "Containerfile",
    "containerfile",
    "app.Dockerfile",
    "api.dockerfile",
    "Dockerfile.prod",
    "dockerfile.dev",
    "Containerfile.arm64",
    "Dockerfile.node-20",
]
NOT_FOUND = [
    "Dockerfile.dockerignore",
    "app.Dockerfile.dockerignore",
    "Dockerfile.orig",
    "Dockerfile.rej",
    "Dockerfile.bak",
    "Dockerfile~",
    ".Dockerfile.swp",
    ".dockerfile",
    "Dockerfile.",
    "dockerfiles",
    "my-dockerfile",
    "README.md",
    ".dockerignore",
    "docker-compose.yml",
]


@pytest.mark.parametrize("name", FOUND)
def test_dockerfile_names_are_found(name):
    assert is_dockerfile_name(name)


@pytest.mark.parametrize("name", NOT_FOUND)
def test_other_names_are_not(name):
    assert not is_dockerfile_name(name)


def lay(root: Path, names: list[str]) -> None:
    for name in names:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text("FROM node\n")


def test_folder_search_is_recursive_sorted_and_skips_dependency_and_vcs_folders(tmp_path):
    lay(
        tmp_path,
        [
            "Dockerfile",
            "b/Dockerfile.prod",
            "a/x.Dockerfile",
            "a/deep/er/Containerfile",
            "a/README.md",
            ".devcontainer/Dockerfile",
            ".git/Dockerfile",
            "node_modules/pkg/Dockerfile",
            "a/node_modules/Dockerfile",
            ".venv/Dockerfile",
        ],
    )
    found = discover([tmp_path]).files
    assert [str(p.relative_to(tmp_path)) for p in found] == [
        "Dockerfile",
        ".devcontainer/Dockerfile",
        "a/x.Dockerfile",
        "a/deep/er/Containerfile",
        "b/Dockerfile.prod",
    ]


def test_a_named_file_is_taken_whatever_its_name(tmp_path):
    lay(tmp_path, ["build/prod.docker"])
    assert discover([tmp_path / "build" / "prod.docker"]).files == [tmp_path / "build" / "prod.docker"]


def test_a_named_skipped_folder_is_still_searched(tmp_path):
    lay(tmp_path, ["node_modules/pkg/Dockerfile"])
    assert discover([tmp_path / "node_modules"]).files == [tmp_path / "node_modules" / "pkg" / "Dockerfile"]


def test_each_file_once_in_the_order_given(tmp_path):
    lay(tmp_path, ["Dockerfile", "sub/Dockerfile"])
    found = discover([tmp_path / "sub" / "Dockerfile", tmp_path, tmp_path / "Dockerfile"]).files
    assert found == [tmp_path / "sub" / "Dockerfile", tmp_path / "Dockerfile"]


def test_missing_paths_and_empty_folders_are_reported_separately(tmp_path):
    lay(tmp_path, ["app/Dockerfile", "docs/index.md"])
    discovery = discover([tmp_path / "missing", tmp_path / "docs", tmp_path / "app"])
    assert discovery.files == [tmp_path / "app" / "Dockerfile"]
    assert discovery.missing == [tmp_path / "missing"]
    assert discovery.empty_folders == [tmp_path / "docs"]


def test_folder_links_are_not_followed_so_a_loop_cannot_hang(tmp_path):
    lay(tmp_path, ["app/Dockerfile"])
    (tmp_path / "app" / "loop").symlink_to(tmp_path)
    (tmp_path / "app" / "Dockerfile.link").symlink_to(tmp_path / "app" / "Dockerfile")
    found = discover([tmp_path]).files
    # The linked file is the same file: processed once.
    assert found == [tmp_path / "app" / "Dockerfile"]


def test_a_dangling_link_is_passed_on_to_be_reported_by_name(tmp_path):
    (tmp_path / "Dockerfile").symlink_to(tmp_path / "gone")
    assert discover([tmp_path]).files == [tmp_path / "Dockerfile"]
