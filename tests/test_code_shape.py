"""The shape of the package's code, read with `ast`: where imports sit, import cycles, function length.

The project's rules (CONTRIBUTING.md): imports at the top of the module; a function-level import
only at the door of a heavy optional dependency (tree-sitter, the network client's HTTP layer,
pygls, rich, PyYAML), each in one place; no import cycle; no function longer than 80 lines.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "dockfix"

MAX_FUNCTION_IMPORTS = 12
MAX_FUNCTION_LINES = 80

# (module, module imported) of every function-level import the package may have: the doors.
DOORS = {
    # tree-sitter and the JavaScript/TypeScript grammars: the first entry file to read.
    ("dockfix.appcode.syntax", "tree_sitter"),
    ("dockfix.appcode.syntax", "tree_sitter_javascript"),
    ("dockfix.appcode.syntax", "tree_sitter_typescript"),
    # tree-sitter and the bash grammar: the first RUN that is more than one plain command.
    ("dockfix.dockerfile.shell", "tree_sitter_bash"),
    ("dockfix.dockerfile.shell", "tree_sitter"),
    # The network client's HTTP layer (urllib.request, http.client, TLS): the first request.
    ("dockfix.sources.registry", "dockfix.sources.network"),
    # pygls: `dockfix server`.
    ("dockfix.server", "dockfix.server.lsp"),
    # rich: the progress bar of a long run on a terminal.
    ("dockfix.run", "rich.console"),
    ("dockfix.run", "rich.progress"),
    # PyYAML: the first compose file, workflow or skaffold.yaml read.
    ("dockfix.project.yamlfile", "dockfix.project.yaml_loader"),
}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def is_package(path: Path) -> bool:
    return path.name == "__init__.py"


def imported_modules(node: ast.Import | ast.ImportFrom, module: str, package: bool, known: set[str]) -> Iterator[str]:
    """The modules an import statement names: `from X import a` names X, or X.a when that is a module."""
    if isinstance(node, ast.Import):
        yield from (alias.name for alias in node.names)
        return
    if node.level:
        base = module.split(".")
        base = base[: len(base) - node.level + (1 if package else 0)]
        origin = ".".join([*base, node.module] if node.module else base)
    else:
        origin = node.module or ""
    submodules = [f"{origin}.{alias.name}" for alias in node.names if f"{origin}.{alias.name}" in known]
    if len(submodules) < len(node.names):
        yield origin
    yield from submodules


def is_type_checking_block(node: ast.stmt) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def top_level_imports(tree: ast.Module) -> Iterator[ast.Import | ast.ImportFrom]:
    """The imports run when the module is imported: module level, outside functions and TYPE_CHECKING."""
    pending: list[ast.stmt] = list(tree.body)
    while pending:
        node = pending.pop()
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) or is_type_checking_block(node):
            continue
        else:
            pending.extend(child for child in ast.iter_child_nodes(node) if isinstance(child, ast.stmt))


def function_imports(tree: ast.Module) -> Iterator[ast.Import | ast.ImportFrom]:
    for function in ast.walk(tree):
        if isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for statement in function.body:
                for node in ast.walk(statement):
                    if isinstance(node, (ast.Import, ast.ImportFrom)):
                        yield node


def functions(tree: ast.Module) -> Iterator[ast.FunctionDef | ast.AsyncFunctionDef]:
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield node


@pytest.fixture(scope="module")
def modules() -> dict[str, tuple[Path, ast.Module]]:
    return {module_name(path): (path, ast.parse(path.read_text(), str(path))) for path in PACKAGE.rglob("*.py")}


def test_function_level_imports_are_few_and_each_at_a_listed_door(modules):
    known = set(modules)
    # A nested function is walked from its outer function too: each statement counts once.
    statements = {
        (name, node.lineno): (name, is_package(path), node)
        for name, (path, tree) in modules.items()
        for node in function_imports(tree)
    }
    doors = {
        (name, imported)
        for name, package, node in statements.values()
        for imported in imported_modules(node, name, package, known)
    }
    assert sorted(doors - DOORS) == [], "function-level imports that are no heavy optional dependency's door"
    assert len(statements) <= MAX_FUNCTION_IMPORTS


def test_the_doors_listed_are_all_still_there(modules):
    known = set(modules)
    present = {
        (name, imported)
        for name, (path, tree) in modules.items()
        for node in function_imports(tree)
        for imported in imported_modules(node, name, is_package(path), known)
    }
    assert sorted(DOORS - present) == []


def test_no_import_cycle(modules):
    known = set(modules)
    graph = {
        name: {
            imported
            for node in top_level_imports(tree)
            for imported in imported_modules(node, name, is_package(path), known)
            if imported in known and imported != name
        }
        for name, (path, tree) in modules.items()
    }
    cycles = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(name: str, path: list[str]) -> None:
        state[name] = 1
        for imported in sorted(graph[name]):
            if state.get(imported) == 1:
                cycles.append([*path[path.index(imported) :], imported])
            elif imported not in state:
                visit(imported, [*path, imported])
        state[name] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert cycles == []


def test_no_function_is_longer_than_80_lines(modules):
    long = sorted(
        (f"{name}.{function.name}", (function.end_lineno or function.lineno) - function.lineno + 1)
        for name, (_path, tree) in modules.items()
        for function in functions(tree)
        if (function.end_lineno or function.lineno) - function.lineno + 1 > MAX_FUNCTION_LINES
    )
    assert long == []
