"""Which JavaScript syntax a Node.js major parses, for the code dockfix writes into an app.

An edit to application code runs on the image's Node.js, which may be far older than the one
the code was written with: the handler must not use syntax that Node cannot parse, or the app
fails to start with a SyntaxError. Each feature the generated code may use is listed with the
first major all of whose releases parse it (node.green); a major that is not known gets none of
them, so the code written for it parses on every Node.js.
"""

from __future__ import annotations

from enum import Enum


class SyntaxFeature(Enum):
    """A piece of syntax newer than ES5, valued by the first Node.js major that parses it."""

    # Arrow functions, template literals and `const` (Node.js 4 parses them outside strict mode).
    ES2015 = 4
    # `async function` and `await` (7.6 parses them; 8 is the first major all of whose releases do).
    ASYNC_FUNCTIONS = 8
    # `a?.b`, `a?.()` and `a ?? b`.
    OPTIONAL_CHAINING = 14


def node_parses(major: int | None, feature: SyntaxFeature) -> bool:
    """Whether every release of Node.js `major` parses `feature`; False when the major is unknown."""
    return major is not None and major >= feature.value


def parsed_features(major: int | None) -> frozenset[SyntaxFeature]:
    """The features every release of Node.js `major` parses: what code written for it may use."""
    return frozenset(feature for feature in SyntaxFeature if node_parses(major, feature))
