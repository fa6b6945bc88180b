"""Every tag the official `node` image ever published, from nodejs/docker-node's history.

`versions.json` lists only what the image builds today; a Dockerfile on `node:8-jessie` or
`node:22-alpine3.22` names a tag that was published and is still served, only no longer updated.
`scripts/node_tag_history.py` derives them all from docker-node's history into
`data/docker-node/history.json` (data/SOURCES.md): per tag suffix (`` for the bare tags,
`alpine`, `bookworm-slim`, `onbuild`...) the full versions built, from which the `X.Y` and `X`
tags follow (each the newest full version under it); what each was built on where the suffix does
not say (`node:8.9-slim` was jessie, `node:10-alpine` Alpine 3.11); and the tags that name no
version (`carbon`, `lts-stretch`, `chakracore-10`) with the full version they last pointed at.

The file is read once, on the first question about a tag the current data does not list.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from . import PACKAGED_DATA

HISTORY_FILE = PACKAGED_DATA / "docker-node" / "history.json"

_VERSION_TAG = re.compile(r"^(\d+)(?:\.(\d+))?(?:\.(\d+))?$")


@dataclass(frozen=True, slots=True)
class PublishedTag:
    """A tag the image published: the full version it last served and what it was built on."""

    version: str  # "22.16.0"
    base: str | None  # a variant name (`jessie-slim`, `alpine3.9`); None when the history cannot say (onbuild)
    served_at_end: bool  # a moving alias the history's last commit still published (`latest`, `lts-alpine`)


def _key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


class TagHistory:
    """The tags of `history.json`, looked up by their exact name."""

    def __init__(self, document: object):
        top = _mapping(document)
        self.commit = str(top["commit"])
        self.newest_major = int(str(top["newest_major"]))
        self._versions = {
            suffix: {major: str(listed) for major, listed in _mapping(majors).items()}
            for suffix, majors in _mapping(top["versions"]).items()
        }
        self._bases = {
            suffix: {
                major: [(str(start), _name(base)) for start, base in _pairs(changes)]
                for major, changes in _mapping(majors).items()
            }
            for suffix, majors in _mapping(top["bases"]).items()
        }
        self._aliases = {
            tag: (str(full), _name(base))
            for tag, (full, base) in ((t, _pair(v)) for t, v in _mapping(top["aliases"]).items())
        }
        self._served = frozenset(str(tag) for tag in _list(top["aliases_served_at_commit"]))
        self._built: dict[tuple[str, str], list[tuple[int, ...]]] = {}

    @classmethod
    def from_file(cls, path: Path) -> TagHistory:
        return cls(json.loads(path.read_text(encoding="utf-8")))

    def lookup(self, tag: str) -> PublishedTag | None:
        """The tag as published, or None when the image never published it."""
        alias = self._aliases.get(tag)
        if alias is not None:
            return PublishedTag(alias[0], alias[1], tag in self._served)
        head, dash, suffix = tag.partition("-")
        match = _VERSION_TAG.match(head)
        if match is None or (dash and not suffix):
            return None
        major = match.group(1)
        wanted = tuple(int(part) for part in match.groups()[1:] if part is not None)
        newest = max((v for v in self._built_versions(suffix, major) if v[: len(wanted)] == wanted), default=None)
        if newest is None:
            return None
        return PublishedTag(f"{major}.{newest[0]}.{newest[1]}", self._base(suffix, major, newest), False)

    def _built_versions(self, suffix: str, major: str) -> list[tuple[int, ...]]:
        """The `(minor, patch)` of every full version of `major` built under `suffix`."""
        known = self._built.get((suffix, major))
        if known is None:
            listed = self._versions.get(suffix, {}).get(major, "")
            known = self._built[(suffix, major)] = [_key(v) for v in listed.split()]
        return known

    def _base(self, suffix: str, major: str, version: tuple[int, ...]) -> str | None:
        changes = self._bases.get(suffix, {}).get(major)
        if changes is None:
            return suffix  # the suffix names the variant itself (`bookworm-slim`, `jessie`)
        base: str | None = None
        for start, name in changes:
            if _key(start) > version:
                break
            base = name
        return base


@cache
def packaged_history() -> TagHistory:
    """The shipped history, read on first use."""
    return TagHistory.from_file(HISTORY_FILE)


def _mapping(value: object) -> dict[str, object]:
    if not isinstance(value, dict):
        raise ValueError(f"{HISTORY_FILE.name}: expected an object, found {type(value).__name__}")
    return {str(key): item for key, item in value.items()}


def _list(value: object) -> list[object]:
    if not isinstance(value, list):
        raise ValueError(f"{HISTORY_FILE.name}: expected a list, found {type(value).__name__}")
    return value


def _pair(value: object) -> tuple[object, object]:
    items = _list(value)
    if len(items) != 2:
        raise ValueError(f"{HISTORY_FILE.name}: expected a pair, found {items!r}")
    return items[0], items[1]


def _pairs(value: object) -> list[tuple[object, object]]:
    return [_pair(item) for item in _list(value)]


def _name(value: object) -> str | None:
    return None if value is None else str(value)
