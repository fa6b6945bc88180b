"""The Node.js release schedule and core vulnerability database, shipped inside the package.

Two files published by the Node.js project answer "is this pinned Node.js still safe?":

* ``schedule.json`` (nodejs/Release): each release line's start, LTS, maintenance and end dates;
* ``vuln/core/index.json`` (nodejs/security-wg): every known core advisory with the semver range
  of ``vulnerable`` versions and the range of ``patched`` ones.

A verbatim copy of both ships in ``dockfix/data`` (see ``data/SOURCES.md``), dated in
``data/meta.json``. :func:`update_data` downloads fresh copies into a cache folder, and
:meth:`NodeData.load` prefers that copy when it is newer than the packaged one.

An advisory affects a release when the release satisfies ``vulnerable`` and not ``patched``, the
reading the database's own tooling (``is-my-node-vulnerable``) uses; advisories limited to other
operating systems are skipped (the default platform is ``linux``, what Node.js images run).

Partial versions: a tag like ``22.1`` names whichever 22.1.x is newest, which cannot be known
offline. Callers judge it as 22.1.0 (:meth:`PartialVersion.lowest`), the worst case, so that an
upgrade is proposed whenever 22.1.0 is affected.

Release lines missing from the schedule: ``0.x`` releases are dead (every 0.x line ended by
2016, and lines before 0.8 are not even listed); majors 1 to 3 were io.js releases, never
Node.js lines, and are dead too (:meth:`NodeData.is_end_of_life` is true, the end date unknown).
A major newer than every line in the schedule is treated as alive: the data is older than it,
and nothing is known against it.

Nothing here reads the clock: every date-dependent question takes ``today``.
"""

from __future__ import annotations

import calendar
import json
import os
import re
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dockfix.sources.semver import (
    InvalidRangeError,
    InvalidVersionError,
    PartialVersion,
    SemverRange,
    Version,
    parse_node_version,
)

from . import PACKAGED_DATA
from .cache import NODE_DATA_FILE_NAME as CACHE_FILE_NAME
from .images import NodeImages
from .registry import NetworkProblem, http_transport

if TYPE_CHECKING:
    from .network import UrlOpener

__all__ = [
    "CACHE_FILE_NAME",
    "IMAGE_VERSIONS_URL",
    "SCHEDULE_URL",
    "VULNERABILITIES_URL",
    "Advisory",
    "InvalidRangeError",
    "InvalidVersionError",
    "NodeData",
    "NodeDataError",
    "NodeDataUpdateError",
    "PartialVersion",
    "ReleaseLine",
    "Version",
    "parse_node_version",
    "update_data",
]

SCHEDULE_URL = "https://raw.githubusercontent.com/nodejs/Release/main/schedule.json"
VULNERABILITIES_URL = "https://raw.githubusercontent.com/nodejs/security-wg/main/vuln/core/index.json"
IMAGE_VERSIONS_URL = "https://raw.githubusercontent.com/nodejs/docker-node/main/versions.json"

DEFAULT_PLATFORM = "linux"
"""Node.js images are Linux images, so Windows-only advisories do not apply to them."""

_PACKAGED_SCHEDULE = PACKAGED_DATA / "Release" / "schedule.json"
_PACKAGED_VULNERABILITIES = PACKAGED_DATA / "security-wg" / "vuln" / "core" / "index.json"
_DOWNLOAD_LIMIT = 32 * 1024 * 1024
_DOWNLOAD_TIMEOUT_SECONDS = 30
_DOWNLOAD_DEADLINE_SECONDS = 120
"""The longest one download may take, however the server paces its bytes (32 MiB at 270 KiB/s)."""
_LINE_NAME_RE = re.compile(r"v(0|[1-9][0-9]*)(?:\.(0|[1-9][0-9]*))?")


class NodeDataError(Exception):
    """The Node.js release or vulnerability data is missing or malformed."""


class NodeDataUpdateError(NodeDataError):
    """Refreshing the data failed; the copy already in the cache (if any) is untouched."""


@dataclass(frozen=True)
class ReleaseLine:
    """One line of the release schedule (``v22``, or ``v0.10`` for the old 0.x lines)."""

    name: str
    major: int
    start: date
    lts: date | None
    maintenance: date | None
    end: date
    codename: str | None
    alpha: date | None = None

    def is_end_of_life(self, today: date) -> bool:
        """True from the end date on: the project no longer fixes this line."""
        return today >= self.end


@dataclass(frozen=True)
class Advisory:
    """One advisory of the Node.js core vulnerability database."""

    id: str
    cves: tuple[str, ...]
    title: str
    vulnerable: SemverRange
    patched: SemverRange
    environments: tuple[str, ...] = ("all",)
    severity: str = "unknown"
    url: str | None = None

    @property
    def label(self) -> str:
        """How to name the advisory to a user: its CVE ids, or its number in the database."""
        return ", ".join(self.cves) if self.cves else f"Node.js security advisory {self.id}"

    def applies_to_platform(self, platform: str) -> bool:
        """True when the advisory concerns ``platform`` (``linux``, ``win32``, ``darwin``)."""
        return "all" in self.environments or platform in self.environments

    def affects(self, version: Version, *, platform: str = DEFAULT_PLATFORM) -> bool:
        """True when ``version`` satisfies the vulnerable range but not the patched one."""
        return self.applies_to_platform(platform) and version in self.vulnerable and version not in self.patched


class NodeData:
    """The release schedule and the advisories, with the dates they were taken."""

    def __init__(
        self,
        schedule: Mapping[str, ReleaseLine],
        advisories: tuple[Advisory, ...] | Callable[[], tuple[Advisory, ...]],
        *,
        schedule_date: date,
        vulnerabilities_date: date,
        origin: str,
    ) -> None:
        self.schedule = dict(schedule)
        """Release lines by schedule name (``v22``, ``v0.10``)."""
        self._advisories = advisories
        self.schedule_date = schedule_date
        self.vulnerabilities_date = vulnerabilities_date
        self.origin = origin
        """Where the data came from: ``packaged`` or the cache file's path."""
        self.data_date: date = min(schedule_date, vulnerabilities_date)
        """The date of the older of the two snapshots: nothing newer than it is known."""
        self._lines_by_major = {line.major: line for line in self.schedule.values() if line.major > 0}
        # The advisories, and the first releases of their patched ranges, by the major they can
        # concern: a check asks about one major at a time, and there are hundreds of advisories.
        self._advisories_by_major: dict[int, tuple[Advisory, ...]] = {}
        self._patched_by_major: dict[int, tuple[Version, ...]] = {}

    @cached_property
    def advisories(self) -> tuple[Advisory, ...]:
        """The advisories; the packaged ones are read when first asked for (see `packaged`)."""
        return self._advisories() if callable(self._advisories) else self._advisories

    # -- loading -------------------------------------------------------------------------------

    @classmethod
    def from_published(
        cls,
        schedule_json: Any,
        vulnerabilities_json: Any,
        *,
        schedule_date: date,
        vulnerabilities_date: date,
        origin: str,
    ) -> NodeData:
        """Build from the decoded published files; raise :class:`NodeDataError` if malformed."""
        return cls(
            _parse_schedule(schedule_json),
            _parse_advisories(vulnerabilities_json),
            schedule_date=schedule_date,
            vulnerabilities_date=vulnerabilities_date,
            origin=origin,
        )

    @classmethod
    def packaged(cls) -> NodeData:
        """The copy shipped inside the package.

        Its advisories are read when first asked for: most Dockerfiles name a Node.js major
        (`node:22`) that no advisory is checked against, and reading the 171 advisories' version
        ranges takes longer than checking a small Dockerfile. The packaged copy is checked by
        the tests; a copy from the cache is read whole, so a damaged one is set aside (`load`).
        """
        try:
            meta = json.loads((PACKAGED_DATA / "meta.json").read_text(encoding="utf-8"))
            schedule = json.loads(_PACKAGED_SCHEDULE.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise NodeDataError(f"the packaged Node.js data is unreadable: {error}") from error
        if not isinstance(meta, dict):
            raise NodeDataError("the packaged Node.js data has a malformed meta.json")

        def read_advisories() -> tuple[Advisory, ...]:
            try:
                vulnerabilities = json.loads(_PACKAGED_VULNERABILITIES.read_text(encoding="utf-8"))
            except (OSError, ValueError) as error:
                raise NodeDataError(f"the packaged Node.js data is unreadable: {error}") from error
            return _parse_advisories(vulnerabilities)

        return cls(
            _parse_schedule(schedule),
            read_advisories,
            schedule_date=_parse_date(meta.get("schedule_date"), "meta.json schedule_date"),
            vulnerabilities_date=_parse_date(meta.get("vulnerabilities_date"), "meta.json vulnerabilities_date"),
            origin="packaged",
        )

    @classmethod
    def from_cache(cls, cache_dir: Path) -> NodeData | None:
        """The refreshed copy in ``cache_dir``, or None when there is none.

        Raise :class:`NodeDataError` when the cache file exists but is malformed.
        """
        path = cache_dir / CACHE_FILE_NAME
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except OSError as error:
            raise NodeDataError(f"cannot read {path}: {error}") from error
        try:
            cached = json.loads(text)
        except ValueError as error:
            raise NodeDataError(f"{path} is not valid JSON: {error}") from error
        if not isinstance(cached, dict):
            raise NodeDataError(f"{path} is not a dockfix data cache")
        return cls.from_published(
            cached.get("schedule"),
            cached.get("vulnerabilities"),
            schedule_date=_parse_date(cached.get("schedule_date"), f"{path} schedule_date"),
            vulnerabilities_date=_parse_date(cached.get("vulnerabilities_date"), f"{path} vulnerabilities_date"),
            origin=str(path),
        )

    @classmethod
    def load(cls, cache_dir: Path | None = None) -> NodeData:
        """The packaged data, or the refreshed copy in ``cache_dir`` when it exists and is newer.

        A damaged cache file is ignored in favour of the packaged data (``dockfix --update-data``
        rewrites it), so a bad download can never stop the tool.
        """
        packaged = cls.packaged()
        if cache_dir is None:
            return packaged
        try:
            cached = cls.from_cache(cache_dir)
        except NodeDataError:
            return packaged
        if cached is not None and cached.data_date > packaged.data_date:
            return cached
        return packaged

    # -- release schedule ----------------------------------------------------------------------

    def release_line(self, major: int) -> ReleaseLine | None:
        """The schedule entry of ``major`` (1 and up); None for 0.x and majors not in the schedule."""
        return self._lines_by_major.get(major)

    def active_lts_major(self, today: date) -> int:
        """The newest line that has entered LTS (``lts <= today``) and has not ended (``today < end``).

        Raise :class:`NodeDataError` when no line is in LTS on ``today`` (a date outside the data).
        """
        candidates = [
            line.major
            for line in self._lines_by_major.values()
            if line.lts is not None and line.lts <= today < line.end
        ]
        if not candidates:
            raise NodeDataError(f"the release schedule has no line in long-term support on {today.isoformat()}")
        return max(candidates)

    def supported_lts_majors(self, today: date) -> list[int]:
        """The lines in long-term support on ``today`` (entered LTS, not yet ended), oldest first."""
        return sorted(
            line.major
            for line in self._lines_by_major.values()
            if line.lts is not None and line.lts <= today < line.end
        )

    def oldest_lts_major(self, today: date, *, months_left: int = 12) -> int:
        """The oldest line in long-term support with at least ``months_left`` months of support left.

        The smallest move that reaches a line which will not need another upgrade within the
        year (on 2026-12-06: 24, supported until 2028-04-30; 22 ends in under five months). When
        no line has that much left (a date at the edge of the data), the active LTS line.
        """
        horizon = _months_after(today, months_left)
        for major in self.supported_lts_majors(today):
            line = self._lines_by_major[major]
            if line.end >= horizon:
                return major
        return self.active_lts_major(today)

    def end_of_life_date(self, major: int) -> date | None:
        """The date ``major`` stopped (or will stop) being supported.

        For 0 it is the end of the last 0.x line; None for majors the schedule does not know
        (io.js 1 to 3, or lines newer than the data).
        """
        if major == 0:
            zero_lines = [line.end for line in self.schedule.values() if line.major == 0]
            return max(zero_lines) if zero_lines else None
        line = self.release_line(major)
        return None if line is None else line.end

    def is_end_of_life(self, major: int, today: date) -> bool:
        """True when ``major`` gets no more fixes on ``today``; odd (non-LTS) lines included.

        0.x and majors missing below the newest scheduled line (io.js 1 to 3) are dead; a major
        newer than the whole schedule is taken as alive, since the data predates it.
        """
        end = self.end_of_life_date(major)
        if end is not None:
            return today >= end
        newest_known = max(self._lines_by_major, default=0)
        return major < newest_known

    # -- vulnerabilities -----------------------------------------------------------------------

    def advisories_affecting(self, version: Version, *, platform: str = DEFAULT_PLATFORM) -> list[Advisory]:
        """The advisories whose vulnerable range holds ``version`` and whose patched range does not.

        For a tag that floats within a minor line (``24.14``), pass :meth:`newest_known_release`.
        """
        return [advisory for advisory in self._of_major(version.major) if advisory.affects(version, platform=platform)]

    def _of_major(self, major: int) -> tuple[Advisory, ...]:
        """The advisories whose vulnerable range may hold a release of `major`: a release inside an
        interval has a major between those of its bounds."""
        found = self._advisories_by_major.get(major)
        if found is None:
            found = self._advisories_by_major[major] = tuple(
                advisory
                for advisory in self.advisories
                if any(
                    interval.low.major <= major and (interval.high is None or interval.high.major >= major)
                    for interval in advisory.vulnerable.intervals
                )
            )
        return found

    def newest_known_release(self, version: PartialVersion) -> Version:
        """The newest release a version as written names, as far as the data knows.

        A complete version names itself. A floating one (``24.14``) names the newest release of its
        line, which the official image's tag is rebuilt on: the data knows a release exists when an
        advisory's patched range starts at it (the security release of that line, ``^24.14.1``),
        so the newest such release of the line is taken, else its first one (``24.14.0``).
        Releases after the data's date are unknown: staleness is reported on its own.
        """
        newest = version.lowest()
        if version.is_complete:
            return newest
        releases = self._patched_by_major.get(version.major)
        if releases is None:
            releases = self._patched_by_major[version.major] = tuple(
                release
                for advisory in self.advisories
                for release in advisory.patched.lower_bounds()
                if release.major == version.major
            )
        for release in releases:
            if version.minor in (None, release.minor) and release > newest:
                newest = release
        return newest

    def smallest_patched_version(self, version: Version, *, platform: str = DEFAULT_PLATFORM) -> Version | None:
        """The smallest release of ``version``'s major, at least ``version``, no advisory affects.

        Only the ranges' bounds can end a run of affected releases, so the candidates are
        ``version`` itself, every lower bound of a patched range and every first release past a
        vulnerable range, within the major and not below ``version``; the smallest candidate no
        advisory affects wins. ``version`` itself is returned when nothing affects it, and None
        when the data knows no fixed release of that major (for instance a line that ended
        before the fix). For a floating tag, pass :meth:`newest_known_release`.
        """
        candidates = {version}
        for advisory in self.advisories:
            for bound in advisory.patched.lower_bounds() + advisory.vulnerable.upper_bounds():
                if bound.major == version.major and bound >= version:
                    candidates.add(bound)
        for candidate in sorted(candidates):
            if not self.advisories_affecting(candidate, platform=platform):
                return candidate
        return None

    # -- freshness -----------------------------------------------------------------------------

    def age_in_days(self, today: date) -> int:
        """Days between the data's date (the older snapshot) and ``today``."""
        return (today - self.data_date).days

    def warn_if_stale(self, today: date, max_age_days: int = 90) -> str | None:
        """A one-line warning when the data is more than ``max_age_days`` old on ``today``, else None."""
        age = self.age_in_days(today)
        if age <= max_age_days:
            return None
        return (
            f"the Node.js release and vulnerability data is from {self.data_date.isoformat()} "
            f"({age} days old); newer releases and advisories are unknown to it. "
            "Run `dockfix --update-data` to refresh it."
        )


def _months_after(day: date, months: int) -> date:
    """The same day of the month `months` later (the month's last day when it is shorter)."""
    year, month = divmod(day.month - 1 + months, 12)
    year, month = day.year + year, month + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


# -- parsing the published files --------------------------------------------------------------


def _parse_date(value: object, where: str) -> date:
    if not isinstance(value, str):
        raise NodeDataError(f"{where}: expected a date, found {value!r}")
    try:
        return date.fromisoformat(value)
    except ValueError as error:
        raise NodeDataError(f"{where}: {value!r} is not a date (YYYY-MM-DD)") from error


def _parse_optional_date(entry: Mapping[str, object], key: str, where: str) -> date | None:
    value = entry.get(key)
    return None if value is None else _parse_date(value, f"{where} {key}")


def _parse_schedule(document: object) -> dict[str, ReleaseLine]:
    if not isinstance(document, dict) or not document:
        raise NodeDataError("the release schedule is not a non-empty JSON object")
    lines: dict[str, ReleaseLine] = {}
    for name, entry in document.items():
        match = _LINE_NAME_RE.fullmatch(name)
        if match is None:
            raise NodeDataError(f"release schedule: {name!r} is not a release line name like 'v22'")
        if not isinstance(entry, dict):
            raise NodeDataError(f"release schedule: {name} is not an object")
        codename = entry.get("codename")
        lines[name] = ReleaseLine(
            name=name,
            major=int(match.group(1)),
            start=_parse_date(entry.get("start"), f"release schedule {name} start"),
            lts=_parse_optional_date(entry, "lts", f"release schedule {name}"),
            maintenance=_parse_optional_date(entry, "maintenance", f"release schedule {name}"),
            end=_parse_date(entry.get("end"), f"release schedule {name} end"),
            codename=codename if isinstance(codename, str) and codename else None,
            alpha=_parse_optional_date(entry, "alpha", f"release schedule {name}"),
        )
    if not any(line.lts is not None for line in lines.values()):
        raise NodeDataError("the release schedule has no long-term support line")
    return lines


def _advisory_title(entry: Mapping[str, object]) -> str:
    for key in ("description", "overview"):
        text = entry.get(key)
        if isinstance(text, str):
            for line in text.splitlines():
                if line.strip():
                    return line.strip()
    return ""


def _parse_advisories(document: object) -> tuple[Advisory, ...]:
    if not isinstance(document, dict) or not document:
        raise NodeDataError("the vulnerability database is not a non-empty JSON object")
    advisories = []
    for advisory_id, entry in document.items():
        if not isinstance(entry, dict):
            raise NodeDataError(f"advisory {advisory_id}: not an object")
        cves = entry.get("cve", [])
        environments = entry.get("affectedEnvironments", ["all"])
        if not isinstance(cves, list) or not all(isinstance(cve, str) for cve in cves):
            raise NodeDataError(f"advisory {advisory_id}: 'cve' is not a list of strings")
        if not isinstance(environments, list) or not all(isinstance(env, str) for env in environments):
            raise NodeDataError(f"advisory {advisory_id}: 'affectedEnvironments' is not a list of strings")
        ranges = {}
        for key in ("vulnerable", "patched"):
            text = entry.get(key)
            if not isinstance(text, str):
                raise NodeDataError(f"advisory {advisory_id}: '{key}' is missing")
            try:
                ranges[key] = SemverRange.parse(text)
            except InvalidRangeError as error:
                raise NodeDataError(f"advisory {advisory_id}: '{key}': {error}") from error
        url = entry.get("ref")
        severity = entry.get("severity")
        advisories.append(
            Advisory(
                id=str(advisory_id),
                cves=tuple(cves),
                title=_advisory_title(entry),
                vulnerable=ranges["vulnerable"],
                patched=ranges["patched"],
                environments=tuple(environments) or ("all",),
                severity=severity if isinstance(severity, str) else "unknown",
                url=url if isinstance(url, str) else None,
            )
        )
    return tuple(advisories)


# -- refreshing -------------------------------------------------------------------------------


def _download_json(url: str, opener: UrlOpener | None) -> tuple[Any, date | None]:
    """The decoded JSON at ``url`` and the server's date for the response, if it sent one."""
    try:
        body, served_date = http_transport(
            timeout=_DOWNLOAD_TIMEOUT_SECONDS, deadline=_DOWNLOAD_DEADLINE_SECONDS
        ).download(url, limit=_DOWNLOAD_LIMIT, opener=opener)
    except NetworkProblem as problem:
        raise NodeDataUpdateError(f"cannot download {url}: {problem}") from problem
    if len(body) > _DOWNLOAD_LIMIT:
        raise NodeDataUpdateError(f"refusing {url}: larger than {_DOWNLOAD_LIMIT // (1024 * 1024)} MiB")
    try:
        document = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        raise NodeDataUpdateError(f"refusing {url}: not valid JSON ({error})") from error
    return document, served_date


def _write_atomically(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` so readers see the old file or the new one, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp: Path | None = None
    try:
        with tempfile.NamedTemporaryFile(
            "w", encoding="utf-8", dir=path.parent, prefix=f".{path.name}.", suffix=".tmp", delete=False
        ) as handle:
            temp = Path(handle.name)
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        if temp is not None:
            temp.unlink(missing_ok=True)
        raise


def update_data(
    cache_dir: Path,
    *,
    opener: UrlOpener | None = None,
    today: date | None = None,
) -> str:
    """Download the published schedule and vulnerability database into ``cache_dir``.

    Both files are parsed and every range checked before anything is written; the cache file
    is then replaced atomically, so a failed or malformed download leaves the previous copy in
    place and raises :class:`NodeDataUpdateError`. A database with fewer advisories than the
    packaged one is refused as truncated. The refreshed data is dated ``today`` when given,
    else by the server's ``Date`` header, else by the local clock. Return a one-line summary.
    """
    schedule_json, schedule_served = _download_json(SCHEDULE_URL, opener)
    vulnerabilities_json, vulnerabilities_served = _download_json(VULNERABILITIES_URL, opener)
    versions_json, _ = _download_json(IMAGE_VERSIONS_URL, opener)
    try:
        images = NodeImages.from_versions_json(versions_json, IMAGE_VERSIONS_URL)
    except ValueError as error:
        raise NodeDataUpdateError(f"refusing the downloaded versions.json of the node image: {error}") from error
    if not images.releases:
        raise NodeDataUpdateError("refusing the downloaded versions.json of the node image: it lists no release")
    try:
        data_date = today or schedule_served or vulnerabilities_served or date.today()
        fresh = NodeData.from_published(
            schedule_json,
            vulnerabilities_json,
            schedule_date=data_date,
            vulnerabilities_date=data_date,
            origin=str(cache_dir / CACHE_FILE_NAME),
        )
    except NodeDataError as error:
        raise NodeDataUpdateError(f"refusing the downloaded Node.js data: {error}") from error
    packaged = NodeData.packaged()
    if len(fresh.advisories) < len(packaged.advisories):
        raise NodeDataUpdateError(
            f"refusing the downloaded vulnerability database: {len(fresh.advisories)} advisories, "
            f"fewer than the {len(packaged.advisories)} shipped with dockfix (truncated?)"
        )
    cache_document = {
        "schedule_date": data_date.isoformat(),
        "vulnerabilities_date": data_date.isoformat(),
        "schedule_url": SCHEDULE_URL,
        "vulnerabilities_url": VULNERABILITIES_URL,
        "schedule": schedule_json,
        "vulnerabilities": vulnerabilities_json,
        "image_versions_url": IMAGE_VERSIONS_URL,
        "image_versions": versions_json,
    }
    path = cache_dir / CACHE_FILE_NAME
    try:
        _write_atomically(path, json.dumps(cache_document, indent=1, sort_keys=True) + "\n")
    except OSError as error:
        raise NodeDataUpdateError(f"cannot write {path}: {error}") from error
    return (
        f"updated the Node.js data in {path}: {len(fresh.schedule)} release lines, "
        f"{len(fresh.advisories)} advisories, dated {data_date.isoformat()}; "
        f"node image variants of majors {', '.join(str(m) for m in sorted(images.releases))}"
    )
