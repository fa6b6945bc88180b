"""The Dockerfiles a compose file builds, and their build contexts.

Only `services.<name>.build` matters here, so this is a small reader of the block-style YAML
compose files use for it, not a YAML parser: it follows indentation to the `services:` mapping at
the top level, then to each service's `build:`, which is either a scalar (the context folder) or
a mapping whose `context:` and `dockerfile:` keys are read (a one-line flow mapping
`{context: ., dockerfile: x}` too). Plain, single- and double-quoted scalars are understood;
comments and everything else in the file are skipped. A `build` it cannot follow (anchors,
aliases, multi-line scalars, a remote context such as a Git URL, `dockerfile_inline`) is left
out: those services are not fixed from the compose file, and their Dockerfiles are still found
by name. A file that is not readable text raises ComposeProblem.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from ..records import dataclass

MAX_COMPOSE_SIZE = 1024 * 1024
_KEY = re.compile(r"""^(?P<key>"[^"]*"|'[^']*'|[^\s#'"][^:#]*?)\s*:(?:\s+(?P<value>.*))?$""")
_REMOTE = re.compile(r"^[a-z][a-z0-9+.-]*://|^git@|\.git(#.*)?$", re.IGNORECASE)


class ComposeProblem(Exception):
    """The compose file cannot be read; the message is one line."""


@dataclass(frozen=True)
class ComposeBuild:
    """One service's build: the Dockerfile and the folder it is built from."""

    service: str
    context: Path
    dockerfile: Path


def _strip_comment(text: str) -> str:
    """The text before a ` #` comment that is not inside quotes."""
    quote = None
    for index, char in enumerate(text):
        if quote:
            if char == quote:
                quote = None
        elif char in "'\"":
            quote = char
        elif char == "#" and (index == 0 or text[index - 1] in " \t"):
            return text[:index].rstrip()
    return text.rstrip()


def _scalar(text: str) -> str | None:
    """A plain or quoted scalar; None for anything this reader does not follow."""
    text = text.strip()
    if not text:
        return None
    if text[0] == '"' and text.endswith('"') and len(text) >= 2:
        return text[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    if text[0] == "'" and text.endswith("'") and len(text) >= 2:
        return text[1:-1].replace("''", "'")
    if text[0] in "&*!|>{[\"'":
        return None
    return text


def _flow_mapping(text: str) -> dict[str, str] | None:
    """`{context: ., dockerfile: x}` with plain or quoted scalars, else None."""
    text = text.strip()
    if not (text.startswith("{") and text.endswith("}")):
        return None
    mapping = {}
    for item in filter(None, (part.strip() for part in text[1:-1].split(","))):
        key, separator, value = item.partition(":")
        if not separator:
            return None
        parsed_key, parsed_value = _scalar(key), _scalar(value)
        if parsed_key is None or parsed_value is None:
            return None
        mapping[parsed_key] = parsed_value
    return mapping


def _lines(text: str) -> list[tuple[int, str]]:
    """(indentation, content) of each line with content, comments dropped."""
    lines = []
    for raw in text.splitlines():
        if "\t" in raw[: len(raw) - len(raw.lstrip())]:
            raise ComposeProblem("tab in indentation")
        content = _strip_comment(raw.strip())
        if content and content not in ("---", "..."):
            lines.append((len(raw) - len(raw.lstrip(" ")), content))
    return lines


def _children(
    lines: list[tuple[int, str]], start: int, parent_indent: int
) -> tuple[list[tuple[int, str, str | None]], int]:
    """The keys directly below the line before `start`: (line index, key, inline value)."""
    children = []
    index = start
    child_indent = None
    while index < len(lines):
        indent, content = lines[index]
        if indent <= parent_indent:
            break
        if child_indent is None:
            child_indent = indent
        if indent == child_indent:
            match = _KEY.match(content)
            if match:
                key = _scalar(match["key"]) or match["key"]
                children.append((index, key, match["value"]))
        index += 1
    return children, index


def parse_builds(text: str, folder: Path) -> list[ComposeBuild]:
    """The builds named in compose text whose file lies in `folder`."""
    lines = _lines(text)
    top, _ = _children(lines, 0, -1)
    builds = []
    for index, key, value in top:
        if key != "services" or value:
            continue
        services, _ = _children(lines, index + 1, lines[index][0])
        for service_index, service, _inline in services:
            keys, _ = _children(lines, service_index + 1, lines[service_index][0])
            for key_index, name, build_value in keys:
                if name != "build":
                    continue
                if build_value:
                    settings = _flow_mapping(build_value)
                    if settings is None:
                        context = _scalar(build_value)
                        settings = {"context": context} if context is not None else None
                else:
                    settings = {}
                    entries, _ = _children(lines, key_index + 1, lines[key_index][0])
                    for _, entry, entry_value in entries:
                        if entry in ("context", "dockerfile") and entry_value:
                            parsed = _scalar(entry_value)
                            if parsed is None:
                                settings = None
                                break
                            settings[entry] = parsed
                build = _build(service, settings, folder)
                if build is not None:
                    builds.append(build)
    return builds


def _build(service: str, settings: dict[str, str] | None, folder: Path) -> ComposeBuild | None:
    if settings is None:
        return None
    context_text = settings.get("context", ".")
    dockerfile_text = settings.get("dockerfile", "Dockerfile")
    if _REMOTE.search(context_text) or "$" in context_text or "$" in dockerfile_text:
        return None  # a remote context, or one that depends on the environment
    context = Path(os.path.normpath(folder / os.path.expanduser(context_text)))
    dockerfile = Path(os.path.normpath(context / dockerfile_text))
    return ComposeBuild(service, context, dockerfile)


def read_compose_builds(path: Path) -> list[ComposeBuild]:
    """The builds of the compose file at `path`; raises ComposeProblem when it cannot be read."""
    try:
        if path.stat().st_size > MAX_COMPOSE_SIZE:
            raise ComposeProblem("too large")
        text = path.read_bytes().decode("utf-8-sig")
    except OSError as error:
        raise ComposeProblem(error.strerror or type(error).__name__) from None
    except UnicodeDecodeError:
        raise ComposeProblem("not UTF-8 text") from None
    return parse_builds(text, path.parent)
