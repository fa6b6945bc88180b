"""The official `node` image: which tags exist, what each variant is built on, what it bundles.

Fixes must only name images that exist and tools that are there. The facts come from the image's
own repository (nodejs/docker-node): `versions.json` lists, for each Node.js major the image
still builds, its variants (a Debian release, optionally `-slim`, or an Alpine release) and which
variant the short tags point at; `stackbrew.js` turns that into tags; the Dockerfile templates
say what each variant contains. A copy of `versions.json` ships in `dockfix/data/docker-node`.

What the templates and the Node.js project say, as of the shipped data:
- Yarn v1 is installed in the images of Node.js 25 and earlier, not in 26 and later.
- Corepack ships with Node.js 24 and earlier; Node.js 25 dropped it (`corepack enable` fails).
- Alpine variants use musl and busybox (`adduser`/`addgroup`, `apk`); Debian variants use glibc,
  `useradd`/`groupadd` and `apt-get`. Native addons and binaries built for one libc do not run
  on the other.
- The full Debian variants are built on `buildpack-deps` and have python3, make and g++, what
  node-gyp needs to compile an addon; `-slim` and alpine variants do not.

Tags the image no longer builds (`node:14-buster`, `node:22-alpine3.22`, `node:carbon`) were
published once and are still served, only no longer updated: `data/docker-node/history.json`
(`tag_history.py`) keeps every tag the image ever published, with what it was built on
(`node:10` is Debian stretch, whose repositories are archived; `node:8.9-slim` jessie). A tag the
history does not have either was never published ("not a tag"), or names a line newer than the
data (unknown).
"""

from __future__ import annotations

import enum
import json
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from . import PACKAGED_DATA
from .cache import NODE_DATA_FILE_NAME
from .tag_history import PublishedTag, TagHistory, packaged_history

# Debian releases by codename, with the date their (long-term) security support ends: a
# codename a new major does not have is replaced by the nearest release still supported.
DEBIAN_RELEASES: dict[str, tuple[int, date]] = {
    "wheezy": (7, date(2018, 5, 31)),
    "jessie": (8, date(2020, 6, 30)),
    "stretch": (9, date(2022, 6, 30)),
    "buster": (10, date(2024, 6, 30)),
    "bullseye": (11, date(2026, 8, 31)),
    "bookworm": (12, date(2028, 6, 30)),
    "trixie": (13, date(2030, 6, 30)),
    "forky": (14, date(2032, 6, 30)),
}
FLOATING_TAGS = frozenset({"latest", "current", "lts"})
# Releases whose package repositories left deb.debian.org for archive.debian.org, with a day by
# which they had (data/SOURCES.md): there `apt-get update` fails (404 on the release's index) and
# `apt-get install` finds nothing, unless the file points apt at archive.debian.org itself.
DEBIAN_ARCHIVED: dict[str, date] = {
    "wheezy": date(2019, 6, 30),
    "jessie": date(2020, 7, 31),
    "stretch": date(2023, 4, 30),
    "buster": date(2025, 7, 15),
}
# Commands a release no longer has, with the release that dropped them: `apt-key` went with
# APT 3.0, the APT of Debian 13 (trixie), the base of the Node.js 26 images (data/SOURCES.md).
DEBIAN_COMMANDS_DROPPED: dict[str, str] = {"apt-key": "trixie"}
# LTS codenames of Node.js release lines (the `codename` field of the schedule), oldest first.
NODE_CODENAMES: dict[str, int] = {
    "argon": 4,
    "boron": 6,
    "carbon": 8,
    "dubnium": 10,
    "erbium": 12,
    "fermium": 14,
    "gallium": 16,
    "hydrogen": 18,
    "iron": 20,
    "jod": 22,
    "krypton": 24,
}
# Images of these majors still bundle the tool (see the module docstring).
LAST_MAJOR_WITH_YARN = 25
LAST_MAJOR_WITH_COREPACK = 24
# Old image flavours that ran hidden steps or no longer exist for any maintained major.
RETIRED_VARIANTS = frozenset({"onbuild", "wheezy", "jessie", "stretch", "buster"})
# Tools of the full Debian image (buildpack-deps) that the slim and alpine variants lack, with the
# packages that bring them back; busybox gives alpine its own wget.
FULL_IMAGE_TOOLS: dict[str, frozenset[str]] = {
    "make": frozenset({"make", "build-essential", "build-base"}),
    "gcc": frozenset({"gcc", "build-essential", "build-base"}),
    "g++": frozenset({"g++", "build-essential", "build-base"}),
    "python3": frozenset({"python3"}),
    "git": frozenset({"git"}),
    "curl": frozenset({"curl"}),
    "wget": frozenset({"wget"}),
}

_VERSION = re.compile(r"^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?$")
_ALPINE = re.compile(r"^alpine(\d+\.\d+)?$")
_DEBIAN = re.compile(r"^([a-z]+)(-slim)?$")


class TagState(enum.Enum):
    """Whether the image serves a tag, as the current data and the history say."""

    CURRENT = "current"  # the image builds it today
    NO_LONGER_UPDATED = "no longer updated"  # published once and still served, no longer rebuilt
    NOT_A_TAG = "not a tag"  # never published
    UNKNOWN = "unknown"  # the data cannot say: a line newer than it, or a moving alias it cannot place


class MalformedTag(ValueError):
    """A node image tag that no image could have (`12-`, `-alpine`, `22..1`)."""


@dataclass(frozen=True)
class Variant:
    """What a variant is built on: a distribution release, slim or full."""

    distro: str  # "debian" or "alpine"
    release: str | None  # "bookworm", "3.24"; None when the tag does not say (`alpine`, `slim`)
    slim: bool

    @property
    def libc(self) -> str:
        return "musl" if self.distro == "alpine" else "glibc"

    @property
    def has_build_tools(self) -> bool:
        """python3, make and g++: what node-gyp needs to compile a native addon."""
        return self.distro == "debian" and not self.slim

    @property
    def package_tool(self) -> str:
        return "apk" if self.distro == "alpine" else "apt-get"


def parse_variant(name: str) -> Variant | None:
    """`bookworm-slim`, `alpine3.20`, `slim`, `alpine`, `` (none: the full default); None if unknown."""
    if name == "":
        return Variant("debian", None, slim=False)
    if name == "slim":
        return Variant("debian", None, slim=True)
    alpine = _ALPINE.match(name)
    if alpine:
        return Variant("alpine", alpine.group(1), slim=True)
    debian = _DEBIAN.match(name)
    if debian and debian.group(1) in DEBIAN_RELEASES:
        return Variant("debian", debian.group(1), slim=bool(debian.group(2)))
    return None


@dataclass(frozen=True)
class NodeTag:
    """A tag of the `node` image, split: `22.1-alpine3.20` is version 22.1, variant alpine3.20."""

    version: str | None  # "22", "22.1", "22.1.0"; None for `lts`, `latest`, a codename, a bare variant
    major: int | None  # from the version or the codename
    floating: str | None  # "lts", "latest", "current" or a codename, when the tag names no version
    variant: str  # "" when the tag names none

    @classmethod
    def parse(cls, tag: str | None) -> NodeTag:
        """Raises MalformedTag for a tag no node image has (empty parts, stray dashes)."""
        if tag is None or tag == "":
            return cls(None, None, "latest", "")
        if tag.startswith("-") or tag.endswith("-") or "--" in tag:
            raise MalformedTag(f"`{tag}` is not a tag the node image could have (an empty part around a dash)")
        first, _, rest = tag.partition("-")
        version = _VERSION.match(first)
        if version:
            return cls(first.lstrip("v"), int(version.group(1)), None, rest)
        lowered = first.lower()
        if lowered in FLOATING_TAGS:
            # `lts-jod` names the codename after lts
            codename_major = NODE_CODENAMES.get(rest.lower())
            if codename_major is not None:
                return cls(None, codename_major, rest.lower(), "")
            return cls(None, None, lowered, rest)
        if lowered in NODE_CODENAMES:
            return cls(None, NODE_CODENAMES[lowered], lowered, rest)
        if re.fullmatch(r"\d[\d.]*", first):
            raise MalformedTag(f"`{tag}` is not a tag the node image could have (`{first}` is not a version)")
        return cls(None, None, "latest", tag)  # `node:alpine`, `node:slim`: the current line's variant

    def render(self) -> str:
        head = self.version or self.floating or ""
        if self.floating and self.floating in NODE_CODENAMES and self.version is None and not self.variant:
            return self.floating
        return f"{head}-{self.variant}" if head and self.variant else head or self.variant


@dataclass(frozen=True)
class ReleaseImages:
    """One Node.js major as the image builds it (an entry of versions.json)."""

    major: int
    codename: str
    lts: date | None
    end: date | None
    alpine_default: str
    debian_default: str
    variants: tuple[str, ...]

    def concrete(self, variant: str) -> str | None:
        """The variant a short tag of this major points at (`alpine` -> `alpine3.24`), or None."""
        if variant == "":
            return self.debian_default
        if variant == "slim":
            return f"{self.debian_default}-slim"
        if variant == "alpine":
            return self.alpine_default
        return variant if variant in self.variants else None


class NodeImages:
    """The tags and variants of the official node image, from docker-node's versions.json."""

    def __init__(self, releases: dict[int, ReleaseImages], origin: str, history: TagHistory | None = None):
        self.releases = releases
        self.origin = origin
        self._history = history

    @property
    def history(self) -> TagHistory:
        """Every tag ever published, read on the first question the current data cannot answer."""
        if self._history is None:
            self._history = packaged_history()
        return self._history

    @classmethod
    def from_versions_json(cls, document: object, origin: str) -> NodeImages:
        if not isinstance(document, dict):
            raise ValueError(f"{origin}: versions.json is not an object")
        releases = {}
        for key, entry in document.items():
            if not str(key).isdigit() or not isinstance(entry, dict):
                continue
            variants = entry.get("variants")
            if not isinstance(variants, dict):
                continue
            releases[int(key)] = ReleaseImages(
                major=int(key),
                codename=str(entry.get("codename") or ""),
                lts=_date(entry.get("lts")),
                end=_date(entry.get("end")),
                alpine_default=str(entry.get("alpine-default", "")),
                debian_default=str(entry.get("debian-default", "")),
                variants=tuple(str(name) for name in variants),
            )
        return cls(releases, origin)

    @classmethod
    def packaged(cls) -> NodeImages:
        """The copy shipped in `dockfix/data/docker-node` (read anew: a run's `Services` keeps the one it uses)."""
        path = PACKAGED_DATA / "docker-node" / "versions.json"
        return cls.from_versions_json(json.loads(path.read_text(encoding="utf-8")), "the shipped versions.json")

    @classmethod
    def load(cls, cache_dir: Path | None = None) -> NodeImages:
        """The copy `--update-data` left in the cache when there is one, else the shipped one."""
        if cache_dir is not None:
            cached = cache_dir / NODE_DATA_FILE_NAME
            try:
                document = json.loads(cached.read_text(encoding="utf-8"))
                images = cls.from_versions_json(document.get("image_versions"), str(cached))
            except (OSError, ValueError, AttributeError):
                pass
            else:
                if images.releases:
                    return images
        return cls.packaged()

    def release(self, major: int | None) -> ReleaseImages | None:
        return None if major is None else self.releases.get(major)

    def is_built(self, major: int | None) -> bool:
        return self.release(major) is not None

    def tag_exists(self, tag: str | None, today: date) -> bool | None:
        """Whether `node:<tag>` is served and updated. False: never published; None: published
        once and no longer updated (`tag_state` says which), or a tag the data cannot place."""
        state = self.tag_state(tag, today)
        if state is TagState.CURRENT:
            return True
        return False if state is TagState.NOT_A_TAG else None

    def tag_state(self, tag: str | None, today: date) -> TagState:
        """Whether `node:<tag>` is a tag the image builds today, one it published once, or none."""
        try:
            parsed = NodeTag.parse(tag)
        except MalformedTag:
            return TagState.NOT_A_TAG
        listed = self._listed(parsed, today)
        if listed is True:
            return TagState.CURRENT
        published = self.published(tag)
        if published is not None:
            # `latest` and `lts-alpine` move: the last commit read still published them
            return TagState.UNKNOWN if listed is None and published.served_at_end else TagState.NO_LONGER_UPDATED
        if listed is False or self._history_covers(parsed, today):
            return TagState.NOT_A_TAG
        return TagState.UNKNOWN

    def published(self, tag: str | None) -> PublishedTag | None:
        """The tag as the image last published it, from the history; None if it never did."""
        return None if not tag else self.history.lookup(tag)

    def still_builds_line(self, tag: str | None, today: date) -> bool:
        """Whether the image still builds the line the tag names (any tag naming no major counts)."""
        try:
            parsed = NodeTag.parse(tag)
        except MalformedTag:
            return False
        major = parsed.major if parsed.major is not None else self.floating_major(parsed.floating, today)
        return major is None or self.is_built(major)

    def _history_covers(self, parsed: NodeTag, today: date) -> bool:
        """Whether a tag the history lacks was never published: it names a major no newer than the
        history's, or a word that is no variant at all; a variant-only tag (`alpine3.30`) or a newer
        major may have come after it."""
        major = parsed.major if parsed.major is not None else self.floating_major(parsed.floating, today)
        if major is not None:
            return major <= self.history.newest_major
        return parse_variant(parsed.variant) is None

    def _listed(self, parsed: NodeTag, today: date) -> bool | None:
        """Whether the current data lists the tag. None: a major it does not build, or a tag whose
        floating word names no line in it."""
        if parsed.variant in RETIRED_VARIANTS or parsed.variant.endswith("-onbuild"):
            return False if self.is_built(parsed.major) or parsed.major is None else None
        major = parsed.major if parsed.major is not None else self.floating_major(parsed.floating, today)
        release = self.release(major)
        if release is None:
            return None
        # A full version names one release: its variants are those of that day, which the data does
        # not record. The variant must at least be one the major is built in.
        return release.concrete(parsed.variant) is not None

    def floating_major(self, word: str | None, today: date) -> int | None:
        """The major `lts` (or a codename) points at on `today`; None for `latest`/`current`, which
        point at a line the data may not list yet."""
        if word is None:
            return None
        if word in NODE_CODENAMES:
            return NODE_CODENAMES[word]
        if word == "lts":
            lines = [r for r in self.releases.values() if r.lts is not None and r.lts <= today]
            return max((r.major for r in lines), default=None)
        return None

    def variant(self, tag: str | None, today: date) -> Variant | None:
        """What `node:<tag>` is built on, as far as the tag and the data say: the current data for a
        tag it lists, the history for one the image no longer updates (None where it cannot say, as
        for `onbuild`), else the tag's own words."""
        try:
            parsed = NodeTag.parse(tag)
        except MalformedTag:
            return None
        major = parsed.major if parsed.major is not None else self.floating_major(parsed.floating, today)
        release = self.release(major)
        concrete = release.concrete(parsed.variant) if release is not None else None
        if concrete is not None:
            return parse_variant(concrete)
        published = self.published(tag)
        if published is not None and not published.served_at_end:
            return parse_variant(published.base) if published.base is not None else None
        return parse_variant(parsed.variant)  # a moving alias (`latest`) is only what its words say

    def variant_on(self, major: int, variant: str, today: date) -> str | None:
        """The variant to write on `major` for a file that chose `variant` on another major.

        Keeps what the file chose where the major has it; an Alpine minor the major lacks becomes
        `alpine` (the major's default Alpine); a Debian codename it lacks becomes the nearest
        newer release that is still supported on `today`, keeping `-slim`. None: no equivalent
        (`onbuild`, an unknown word).
        """
        release = self.release(major)
        if release is None:
            return None
        if release.concrete(variant) is not None:
            return variant
        parsed = parse_variant(variant)
        if parsed is None:
            return None
        if parsed.distro == "alpine":
            return "alpine"
        assert parsed.release is not None  # `` and `slim` always have a concrete variant
        number = DEBIAN_RELEASES[parsed.release][0]
        suffix = "-slim" if parsed.slim else ""
        candidates = sorted(
            (DEBIAN_RELEASES[name][0], name)
            for name in DEBIAN_RELEASES
            if f"{name}{suffix}" in release.variants and DEBIAN_RELEASES[name][1] >= today
        )
        newer = [name for n, name in candidates if n >= number]
        if newer:
            return f"{newer[0]}{suffix}"
        return f"{candidates[-1][1]}{suffix}" if candidates else None

    def debian_variants(self, major: int, slim: bool) -> list[str]:
        """The Debian variants `major` is built on, full or slim, newest release first."""
        release = self.release(major)
        if release is None:
            return []
        suffix = "-slim" if slim else ""
        names = [name for name in DEBIAN_RELEASES if f"{name}{suffix}" in release.variants]
        return [f"{name}{suffix}" for name in sorted(names, key=lambda n: DEBIAN_RELEASES[n][0], reverse=True)]


def bundles_yarn(major: int) -> bool:
    """Yarn v1 is on the PATH of the image (Node.js 25 and earlier)."""
    return major <= LAST_MAJOR_WITH_YARN


def bundles_corepack(major: int) -> bool:
    """Corepack ships with Node.js itself (24 and earlier)."""
    return major <= LAST_MAJOR_WITH_COREPACK


# Distribution packages that a release no longer has, with the release that dropped them: an
# upgrade that moves the distribution must not carry an install of one of them across. Checked
# against each release's package index: bullseye and bookworm still have `libgconf-2-4`,
# `gconf-service` and (bullseye) `python-setuptools`; trixie renamed the libraries rebuilt for
# its 64-bit time_t transition (`libasound2` -> `libasound2t64`) and dropped `dnsutils` for
# `bind9-dnsutils`.
DEBIAN_PACKAGES_DROPPED: dict[str, str] = {
    "python": "bullseye",
    "python-dev": "bullseye",
    "python-pip": "bullseye",
    "python-minimal": "bullseye",
    "python-setuptools": "bookworm",
    "libssl1.0-dev": "buster",
    "libssl1.0.2": "buster",
    "libpng12-dev": "stretch",
    "libgconf-2-4": "trixie",
    "gconf-service": "trixie",
    "libappindicator1": "bullseye",
    "libasound2": "trixie",
    "libcurl4": "trixie",
    "libcurl3-gnutls": "trixie",
    "libcurl3-nss": "trixie",
    "libgtk-3-0": "trixie",
    "libgtk2.0-0": "trixie",
    "libncurses5": "trixie",
    "dnsutils": "trixie",
    "software-properties-common": "trixie",
}
ALPINE_PACKAGES_DROPPED: dict[str, str] = {"python": "3.16", "python2": "3.16"}

# What to install instead of a dropped package where the newer release has the same thing under
# another name. Python 2 is gone: what Dockerfiles of Node.js apps install it for is node-gyp,
# which has needed Python 3 since npm 7; Python 3 is the same thing there.
# The `t64` packages are the same libraries rebuilt for the 64-bit time_t transition of trixie;
# `bind9-dnsutils` is what `dnsutils` (dig, nslookup) became.
DEBIAN_PACKAGE_EQUIVALENTS: dict[str, tuple[str, ...]] = {
    "python": ("python3",),
    "python-dev": ("python3-dev",),
    "python-pip": ("python3-pip",),
    "python-minimal": ("python3-minimal",),
    "python-setuptools": ("python3-setuptools",),
    "libasound2": ("libasound2t64",),
    "libcurl4": ("libcurl4t64",),
    "libcurl3-gnutls": ("libcurl3t64-gnutls",),
    "libgtk-3-0": ("libgtk-3-0t64",),
    "libgtk2.0-0": ("libgtk2.0-0t64",),
    "dnsutils": ("bind9-dnsutils",),
}
ALPINE_PACKAGE_EQUIVALENTS: dict[str, tuple[str, ...]] = {"python": ("python3",)}


def debian_package_available(package: str, release: str | None) -> bool | None:
    """False when `release` no longer has `package`; None when the release is unknown."""
    if release is None or release not in DEBIAN_RELEASES:
        return None
    dropped = DEBIAN_PACKAGES_DROPPED.get(package)
    if dropped is None:
        return True
    return DEBIAN_RELEASES[release][0] < DEBIAN_RELEASES[dropped][0]


def debian_repositories_archived(release: str | None, today: date) -> bool:
    """Whether `release`'s repositories had moved to archive.debian.org by `today`."""
    moved = DEBIAN_ARCHIVED.get(release or "")
    return moved is not None and moved <= today


def debian_command_dropped(command: str, release: str | None) -> str | None:
    """The release that dropped `command` when `release` is it or newer; None otherwise."""
    dropped = DEBIAN_COMMANDS_DROPPED.get(command)
    if dropped is None or release not in DEBIAN_RELEASES:
        return None
    return dropped if DEBIAN_RELEASES[release][0] >= DEBIAN_RELEASES[dropped][0] else None


def alpine_package_available(package: str, release: str | None) -> bool | None:
    """False when Alpine `release` (`3.20`) no longer has `package`; None when unknown."""
    if release is None:
        return None
    dropped = ALPINE_PACKAGES_DROPPED.get(package)
    if dropped is None:
        return True
    return _alpine_key(release) < _alpine_key(dropped)


def _alpine_key(release: str) -> tuple[int, ...]:
    return tuple(int(part) for part in release.split(".") if part.isdigit())


def _date(value: object) -> date | None:
    try:
        return date.fromisoformat(str(value)) if value else None
    except ValueError:
        return None
