"""Parsing application code (JavaScript, TypeScript, TSX) with tree-sitter.

The graceful-shutdown planner reads the entry file with it, and the pipeline uses it to check that
a fix to app code leaves a file that parsed still parsing. tree-sitter and its grammars load on
first use: most runs edit no app code and should not pay for them.
"""

from __future__ import annotations

from functools import cache
from pathlib import PurePath

# typing.TYPE_CHECKING without importing typing, which takes a one-file run 5% of its start-up.
TYPE_CHECKING = False

if TYPE_CHECKING:
    import tree_sitter

LANGUAGES = ("javascript", "typescript", "tsx")

_LANGUAGE_OF_SUFFIX = {
    ".js": "javascript",
    ".mjs": "javascript",
    ".cjs": "javascript",
    ".jsx": "javascript",  # the JavaScript grammar reads JSX
    ".ts": "typescript",
    ".mts": "typescript",
    ".cts": "typescript",
    ".tsx": "tsx",
}


class UnsupportedSourceError(ValueError):
    """The language or module system asked for is not one dockfix knows."""


def language_of(path: PurePath) -> str | None:
    """The language a file's suffix says it holds, or None for a file that is not JS or TS."""
    return _LANGUAGE_OF_SUFFIX.get(path.suffix)


@cache
def _language(name: str) -> tree_sitter.Language:
    import tree_sitter

    if name == "javascript":
        import tree_sitter_javascript

        return tree_sitter.Language(tree_sitter_javascript.language())
    import tree_sitter_typescript

    if name == "typescript":
        return tree_sitter.Language(tree_sitter_typescript.language_typescript())
    return tree_sitter.Language(tree_sitter_typescript.language_tsx())


def parse_source(source: bytes, language: str) -> tree_sitter.Tree:
    """Parse JavaScript, TypeScript or TSX source with tree-sitter (grammars load once, lazily)."""
    if language not in LANGUAGES:
        raise UnsupportedSourceError(f"unknown language {language!r}; expected one of {LANGUAGES}")
    import tree_sitter

    return tree_sitter.Parser(_language(language)).parse(source)


def has_syntax_errors(tree: tree_sitter.Tree) -> bool:
    """True when the tree holds an ERROR or MISSING node, i.e. the source does not parse cleanly."""
    return tree.root_node.has_error


def parses(source: bytes, language: str) -> bool:
    """Whether `source` parses cleanly as `language`."""
    return not has_syntax_errors(parse_source(source, language))
