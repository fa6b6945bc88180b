"""Parsing application code (JavaScript, TypeScript, TSX) with tree-sitter.

The graceful-shutdown planner reads the entry file with it, and the pipeline uses it to check that
a fix to app code leaves a file that parsed still parsing. tree-sitter and its grammars load on
first use (`_parser_of`, the one door to them here): most runs edit no app code and should not pay
for them.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache, partial
from pathlib import PurePath
from typing import TYPE_CHECKING

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
def _parser_of(language: str) -> Callable[[], tree_sitter.Parser]:
    """What makes a parser of `language`; tree-sitter and the grammar load on the first call."""
    import tree_sitter
    import tree_sitter_javascript
    import tree_sitter_typescript

    if language == "javascript":
        grammar = tree_sitter_javascript.language()
    elif language == "typescript":
        grammar = tree_sitter_typescript.language_typescript()
    else:
        grammar = tree_sitter_typescript.language_tsx()
    return partial(tree_sitter.Parser, tree_sitter.Language(grammar))


def parse_source(source: bytes, language: str) -> tree_sitter.Tree:
    """Parse JavaScript, TypeScript or TSX source with tree-sitter (a new parser each time: a
    parser is not to be shared between threads, and making one is cheap once its grammar is loaded)."""
    if language not in LANGUAGES:
        raise UnsupportedSourceError(f"unknown language {language!r}; expected one of {LANGUAGES}")
    return _parser_of(language)().parse(source)


def has_syntax_errors(tree: tree_sitter.Tree) -> bool:
    """True when the tree holds an ERROR or MISSING node, i.e. the source does not parse cleanly."""
    return tree.root_node.has_error


def parses(source: bytes, language: str) -> bool:
    """Whether `source` parses cleanly as `language`."""
    return not has_syntax_errors(parse_source(source, language))
