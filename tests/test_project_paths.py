"""Project.path: a file of the build context, or None when the path would leave it.

It checks plain paths from the resolved root, one lstat per component, and resolves the others;
every case here is compared with the plain definition (the path resolved lies in the root
resolved), on a tree with links of every kind, reached both directly and through a linked root.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from dockfix.project.build_context import Project

RELATIVES = [
    "package.json",
    "./package.json",
    "missing.json",
    "missing/deeper/file",
    "src/server.js",
    "src/missing.js",
    "src/../package.json",
    "../outside.txt",
    "/etc/passwd",
    "",
    ".",
    "link-to-package.json",
    "link-to-outside.txt",
    "dangling",
    "dangling/below",
    "chain",
    "linked-src/server.js",
    "linked-outside-folder/secret.txt",
    "linked-outside-folder/missing",
    "package.json/below",
    "src//server.js",
    "src/./server.js",
]


def _tree(tmp_path: Path) -> Path:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("secret")
    (tmp_path / "outside.txt").write_text("outside")
    root = tmp_path / "context"
    (root / "src").mkdir(parents=True)
    (root / "package.json").write_text("{}")
    (root / "src" / "server.js").write_text("")
    (root / "link-to-package.json").symlink_to("package.json")
    (root / "link-to-outside.txt").symlink_to(tmp_path / "outside.txt")
    (root / "dangling").symlink_to(root / "nowhere")
    (root / "chain").symlink_to("link-to-outside.txt")
    (root / "linked-src").symlink_to("src")
    (root / "linked-outside-folder").symlink_to(outside)
    return root


def _by_definition(root: Path, relative: str) -> Path | None:
    candidate = root / relative
    return candidate if candidate.resolve().is_relative_to(root.resolve()) else None


@pytest.mark.parametrize("through_link", [False, True], ids=["root", "linked root"])
@pytest.mark.parametrize("relative", RELATIVES)
def test_a_path_is_inside_exactly_when_resolving_it_says_so(tmp_path, relative, through_link):
    root = _tree(tmp_path)
    if through_link:
        (tmp_path / "root-link").symlink_to(root)
        root = tmp_path / "root-link"
    assert Project(root).path(relative) == _by_definition(root, relative)


def test_the_tree_has_both_answers(tmp_path):
    """The cases above are not all one way: some paths are in, some are out."""
    root = _tree(tmp_path)
    answers = {relative: _by_definition(root, relative) for relative in RELATIVES}
    assert answers["linked-outside-folder/secret.txt"] is None
    assert answers["link-to-outside.txt"] is None
    assert answers["../outside.txt"] is None
    assert answers["linked-src/server.js"] == root / "linked-src/server.js"
    assert answers["missing/deeper/file"] == root / "missing/deeper/file"
