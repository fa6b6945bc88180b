"""Node.js release versions and the semver ranges the Node.js vulnerability database uses.

Versions here are releases only (``22.1.0``): Node.js images are tagged by release, never by
pre-release. Ranges follow node-semver, the implementation the database is written for and read
with: ``||`` separates alternatives, whitespace joins comparators (AND), and ``^``, ``~``,
``>=``, ``>``, ``<=``, ``<``, ``=``, hyphen ranges (``1.2 - 2.3``), ``x``/``X``/``*`` wildcards and
bare or partial versions all mean what they mean to ``semver.satisfies``. A space between an
operator and its version (``>= 10.9.0``) is allowed, as node-semver allows it.

Because release versions are integer triples, every comparator set reduces to one half-open
interval ``[low, high)`` of releases; that makes membership, and the bounds needed to find the
first unaffected release, simple and exact.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache


class InvalidVersionError(ValueError):
    """The text is not a Node.js release version such as ``22``, ``22.1`` or ``v22.1.0``."""


class InvalidRangeError(ValueError):
    """The text is not a semver range node-semver would accept."""


@dataclass(frozen=True, order=True)
class Version:
    """A Node.js release version; instances order like semver releases."""

    major: int
    minor: int
    patch: int

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}.{self.patch}"

    @classmethod
    def parse(cls, text: str) -> Version:
        """Parse a complete release version (``22.1.0`` or ``v22.1.0``); partial ones are refused."""
        partial = parse_node_version(text)
        if not partial.is_complete:
            raise InvalidVersionError(f"{text!r} is not a complete version (major.minor.patch)")
        return partial.lowest()

    def next_patch(self) -> Version:
        """The smallest release greater than this one."""
        return Version(self.major, self.minor, self.patch + 1)


@dataclass(frozen=True)
class PartialVersion:
    """A version as written in a tag or build argument: ``22``, ``22.1`` or ``22.1.0``.

    ``minor`` and ``patch`` are ``None`` when the text left them out, so callers can tell a
    pinned release from a line that floats to its newest release.
    """

    major: int
    minor: int | None = None
    patch: int | None = None

    def __post_init__(self) -> None:
        if self.minor is None and self.patch is not None:
            raise InvalidVersionError("a patch number needs a minor number")

    @property
    def is_complete(self) -> bool:
        """True when major, minor and patch were all given."""
        return self.patch is not None

    @property
    def given_parts(self) -> int:
        """How many of major, minor and patch were given (1 to 3)."""
        return 1 + (self.minor is not None) + (self.patch is not None)

    def lowest(self) -> Version:
        """The oldest release this text can name, with missing parts read as 0 (``22.1`` -> 22.1.0).

        A floating tag resolves to the newest release of its line, not this one: judge it by
        ``NodeData.newest_known_release``.
        """
        return Version(self.major, self.minor or 0, self.patch or 0)

    def __str__(self) -> str:
        return ".".join(str(part) for part in (self.major, self.minor, self.patch) if part is not None)


_NODE_VERSION_RE = re.compile(r"v?(0|[1-9][0-9]*)(?:\.(0|[1-9][0-9]*)(?:\.(0|[1-9][0-9]*))?)?")


def parse_node_version(text: str) -> PartialVersion:
    """Parse ``14``, ``14.2``, ``14.2.0`` or ``v14.2.0``; raise :class:`InvalidVersionError` otherwise."""
    match = _NODE_VERSION_RE.fullmatch(text)
    if match is None:
        raise InvalidVersionError(f"{text!r} is not a Node.js version")
    major, minor, patch = (None if part is None else int(part) for part in match.groups())
    assert major is not None  # the pattern requires a major number
    return PartialVersion(major, minor, patch)


@dataclass(frozen=True)
class Interval:
    """The releases ``v`` with ``low <= v < high``; ``high`` is ``None`` when there is no upper bound."""

    low: Version
    high: Version | None

    def __contains__(self, version: Version) -> bool:
        return self.low <= version and (self.high is None or version < self.high)

    @property
    def is_empty(self) -> bool:
        """True when no release can fall inside (``>2 <1``, ``<0.0.0``)."""
        return self.high is not None and self.high <= self.low

    def intersect(self, other: Interval) -> Interval:
        """The releases in both intervals."""
        highs = [high for high in (self.high, other.high) if high is not None]
        return Interval(max(self.low, other.low), min(highs) if highs else None)


_ZERO = Version(0, 0, 0)
_EVERYTHING = Interval(_ZERO, None)
_NOTHING = Interval(_ZERO, _ZERO)

_PART = r"(?:0|[1-9][0-9]*|[xX*])"
_IDENTIFIERS = r"[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*"
_PARTIAL = (
    rf"v?(?P<major>{_PART})(?:\.(?P<minor>{_PART})(?:\.(?P<patch>{_PART})"
    rf"(?:-(?P<prerelease>{_IDENTIFIERS}))?(?:\+{_IDENTIFIERS})?)?)?"
)
# Compiled on first use (by `re`): a range is read for the advisories and package.json's engines,
# which most runs never ask about, and these take longer to compile than most.
_COMPARATOR = rf"(?P<operator><=|>=|<|>|=|~>|~|\^)?\s*{_PARTIAL}(?=\s|$)"
_HYPHEN = r"\s*(?P<first>\S+)\s+-\s+(?P<second>\S+)\s*"


@dataclass(frozen=True)
class _Bound:
    """A partial version from a range: ``None`` parts are wildcards; pre-release kept as a flag."""

    major: int | None
    minor: int | None
    patch: int | None
    prerelease: bool

    @classmethod
    def from_match(cls, match: re.Match[str], range_text: str) -> _Bound:
        parts: list[int | None] = []
        for name in ("major", "minor", "patch"):
            text = match.group(name)
            if text is None or text in "xX*":
                parts.append(None)
            elif parts and parts[-1] is None:
                # node-semver refuses most of these (1.x.0, x.2) and reads the rest as 1.x: a
                # number after a wildcard is a typo, not a constraint worth guessing at.
                raise InvalidRangeError(f"{range_text!r}: {match.group(0).strip()!r} has a number after a wildcard")
            else:
                parts.append(int(text))
        return cls(parts[0], parts[1], parts[2], match.group("prerelease") is not None)

    def floor(self) -> Version:
        return Version(self.major or 0, self.minor or 0, self.patch or 0)

    def past_end(self) -> Version | None:
        """The first release after every release this partial version names (None: no such one)."""
        if self.major is None:
            return None
        if self.minor is None:
            return Version(self.major + 1, 0, 0)
        if self.patch is None:
            return Version(self.major, self.minor + 1, 0)
        return Version(self.major, self.minor, self.patch + 1)


def _comparator_interval(operator: str, bound: _Bound) -> Interval:
    """The releases one comparator accepts (node-semver's desugaring, restricted to releases)."""
    floor = bound.floor()
    if bound.prerelease:
        # A release compares with X.Y.Z-pre exactly as with X.Y.Z, except that X.Y.Z itself is
        # greater: so ">X-pre" is ">=X", "<=X-pre" is "<X", and "=X-pre" matches no release.
        operator = {">": ">=", "<=": "<", "": "=pre", "=": "=pre"}.get(operator, operator)
    if operator == "=pre":
        return _NOTHING
    if operator in ("", "="):
        return Interval(floor, bound.past_end())
    if operator == ">=":
        return Interval(floor, None)
    if operator == ">":
        after = bound.past_end()
        return _NOTHING if after is None else Interval(after, None)
    if operator == "<":
        return _NOTHING if bound.major is None else Interval(_ZERO, floor)
    if operator == "<=":
        return Interval(_ZERO, bound.past_end())
    if operator in ("~", "~>"):
        if bound.major is None:
            return _EVERYTHING
        if bound.minor is None:
            return Interval(floor, Version(bound.major + 1, 0, 0))
        return Interval(floor, Version(bound.major, bound.minor + 1, 0))
    if operator == "^":
        if bound.major is None:
            return _EVERYTHING
        if bound.major != 0 or bound.minor is None:
            return Interval(floor, Version(bound.major + 1, 0, 0))
        if bound.minor != 0 or bound.patch is None:
            return Interval(floor, Version(0, bound.minor + 1, 0))
        return Interval(floor, Version(0, 0, bound.patch + 1))
    raise AssertionError(f"unhandled operator {operator!r}")  # the regex admits no other


def _parse_hyphen(first: str, second: str, text: str) -> Interval:
    bounds = []
    for side in (first, second):
        match = re.fullmatch(_PARTIAL, side)
        if match is None:
            raise InvalidRangeError(f"{text!r}: {side!r} is not a version")
        bounds.append(_Bound.from_match(match, text))
    return _comparator_interval(">=", bounds[0]).intersect(_comparator_interval("<=", bounds[1]))


def _parse_comparator_set(part: str, text: str) -> Interval:
    hyphen = re.fullmatch(_HYPHEN, part)
    if hyphen is not None:
        return _parse_hyphen(hyphen["first"], hyphen["second"], text)
    interval = _EVERYTHING
    position = 0
    while True:
        while position < len(part) and part[position].isspace():
            position += 1
        if position == len(part):
            return interval
        match = re.compile(_COMPARATOR).match(part, position)
        if match is None:
            raise InvalidRangeError(f"{text!r}: cannot read {part[position:].strip()!r}")
        interval = interval.intersect(_comparator_interval(match["operator"] or "", _Bound.from_match(match, text)))
        position = match.end()


@dataclass(frozen=True)
class SemverRange:
    """A parsed semver range: the releases in any of ``intervals`` satisfy it."""

    text: str
    intervals: tuple[Interval, ...]

    @classmethod
    def parse(cls, text: str) -> SemverRange:
        """Parse a node-semver range; raise :class:`InvalidRangeError` if node-semver would refuse it."""
        if not isinstance(text, str):
            raise InvalidRangeError(f"{text!r} is not a range")
        return _parse_range(text)

    def __contains__(self, version: Version) -> bool:
        return any(version in interval for interval in self.intervals)

    def lower_bounds(self) -> list[Version]:
        """The smallest release of each alternative."""
        return [interval.low for interval in self.intervals]

    def upper_bounds(self) -> list[Version]:
        """The first release after each bounded alternative."""
        return [interval.high for interval in self.intervals if interval.high is not None]

    def __str__(self) -> str:
        return self.text


@lru_cache(maxsize=1024)
def _parse_range(text: str) -> SemverRange:
    # Cached: the vulnerability database, read at every start, repeats most of its ranges (342
    # ranges, 149 different ones), and a parsed range is immutable.
    intervals = tuple(
        interval
        for interval in (_parse_comparator_set(part, text) for part in text.split("||"))
        if not interval.is_empty
    )
    return SemverRange(text, intervals)
