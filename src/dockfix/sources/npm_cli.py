"""What the npm each node image bundles accepts, where an upgrade of the Node.js major changes it.

Moving a Dockerfile to a newer Node.js major moves it to a newer npm too, and some commands
older npm ran now fail the build (or the start); and `npm ci`, which the production dependency
rule writes, came only with npm 5.7 (Node.js 8's newest npm is 6; Node.js 7 bundled npm 4):
- `npm cache clean` without `--force` exits 1 since npm 5 ("As of npm@5, the npm cache
  self-heals ... rerun this command with --force").
- `npm config set KEY VALUE` (and `npm set`) refuses a deprecated or unknown key since npm 9
  (npm/cli pull request 5719, "refuse to set deprecated/invalid config"): `cache-min`,
  `unsafe-perm`, `python`, `user`, `production` and custom keys such as `sharp_binary_host`
  now end the build with "is not a valid npm option" or "is deprecated, and cannot be set in
  this way". Keys of the registry's auth (`//host/:_authToken`) and scopes (`@scope:registry`)
  are still accepted.
- `npm bin`, `npm set-script` and `npm birthday` are gone since npm 9 (npm/cli pull requests
  5459, 5456, 5455).
Each of these, with its source, is a row of `dockfix/data/npm/commands.csv`.
The keys below are those `npm config set KEY 1` accepted on npm 11.19.1, each tried in an
empty home folder (two more, `cafile` and `min-release-age-exclude`, refused only the value).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache

from . import PACKAGED_DATA
from .semver import InvalidRangeError, InvalidVersionError, SemverRange, Version

# The npm major of the newest release of each Node.js major (the release notes of each line);
# a floating major tag is that newest release. Node.js 18.0-18.13 bundled npm 8, 18.14 and
# later npm 9 and 10: the newest is what a tag of the major names today.
_NPM_OF_NODE = {
    4: 2,
    5: 3,
    6: 3,
    7: 4,
    8: 6,
    9: 5,
    10: 6,
    11: 6,
    12: 6,
    13: 6,
    14: 6,
    15: 7,
    16: 8,
    17: 8,
    18: 10,
    19: 9,
    20: 10,
    21: 10,
    22: 10,
    23: 10,
}
_NEWEST_NPM = 11  # Node.js 24 and later

NPM_CONFIG_KEYS = frozenset(
    """
    access all allow-directory allow-file allow-git allow-remote allow-same-version allow-scripts
    allow-scripts-pending allow-scripts-pin audit audit-level auth-type before bin-links browser
    bypass-2fa ca cache cafile call cidr color commit-hooks cpu dangerously-allow-all-scripts depth
    description diff diff-dst-prefix diff-ignore-all-space diff-name-only diff-no-prefix
    diff-src-prefix diff-text diff-unified dry-run editor engine-strict expect-result-count
    expect-results expires fetch-retries fetch-retry-factor fetch-retry-maxtimeout
    fetch-retry-mintimeout fetch-timeout force foreground-scripts format-package-lock fund git
    git-tag-version global globalconfig heading https-proxy if-present ignore-scripts include
    include-attestations include-staged include-workspace-root init-author-email init-author-name
    init-author-url init-license init-module init-private init-type init-version install-links
    install-strategy json legacy-peer-deps libc link local-address location lockfile-version
    loglevel logs-dir logs-max long maxsockets message min-release-age min-release-age-exclude name
    node-gyp node-options noproxy offline omit omit-lockfile-registry-resolved orgs orgs-permission
    os otp pack-destination package package-lock package-lock-only packages packages-all
    packages-and-scopes-permission parseable prefer-dedupe prefer-offline prefer-online prefix preid
    progress provenance provenance-file proxy read-only rebuild-bundle registry
    replace-registry-host save save-bundle save-dev save-exact save-optional save-peer save-prefix
    save-prod sbom-format sbom-type scope scopes script-shell searchexclude searchlimit searchopts
    searchstaleness shell sign-git-commit sign-git-tag strict-allow-scripts strict-peer-deps
    strict-ssl tag tag-version-prefix timing token-description umask unicode update-notifier usage
    user-agent userconfig version versions viewer which workspace workspaces workspaces-update yes
    """.split()  # noqa: SIM905
)


def bundled_npm_major(node_major: int) -> int:
    """The npm major the images of a Node.js major bundle (their newest release's)."""
    if node_major in _NPM_OF_NODE:
        return _NPM_OF_NODE[node_major]
    return _NEWEST_NPM if node_major > max(_NPM_OF_NODE) else 2


@dataclass(frozen=True, slots=True)
class NpmRefusal:
    """A command (its first words after `npm`) that some npm majors refuse: a row of
    `data/npm/commands.csv`."""

    command: tuple[str, ...]
    kind: str  # "removed", "needs-force", "added" or "known-keys-only"
    why: str
    source: str
    refused_from: int | None = None  # the first npm major that refuses it
    refused_before: int | None = None  # the first npm major that has it

    def refused_by(self, npm_major: int) -> bool:
        if self.refused_from is not None and npm_major < self.refused_from:
            return False
        return self.refused_before is None or npm_major < self.refused_before


@cache
def npm_refusals() -> tuple[NpmRefusal, ...]:
    """The shipped table of what each npm major refuses (`data/npm/commands.csv`)."""
    return tuple(
        NpmRefusal(
            command=tuple(row["command"].split()),
            kind=row["kind"],
            why=row["why"],
            source=row["source"],
            refused_from=int(row["refused_from"]) if row["refused_from"] else None,
            refused_before=int(row["refused_before"]) if row["refused_before"] else None,
        )
        for row in _table("commands.csv")
    )


def _table(name: str) -> list[dict[str, str]]:
    with (PACKAGED_DATA / "npm" / name).open(encoding="utf-8", newline="") as table:
        return list(csv.DictReader(table))


def rejected_command(argv: list[str], npm_major: int) -> str | None:
    """Why that npm refuses the command (`npm cache clean`, `npm config set KEY`, `npm bin`), or None."""
    if not argv or argv[0].rsplit("/", 1)[-1] != "npm":
        return None
    words = [w for w in argv[1:] if not w.startswith("-")]
    flags = {w for w in argv[1:] if w.startswith("-")}
    for refusal in npm_refusals():
        size = len(refusal.command)
        if tuple(words[:size]) != refusal.command or not refusal.refused_by(npm_major):
            continue
        if refusal.kind == "needs-force" and {"--force", "-f"} & flags:
            continue
        if refusal.kind == "known-keys-only":
            key = words[size].split("=", 1)[0] if len(words) > size else ""
            if key and not key.startswith(("//", "@")) and key not in NPM_CONFIG_KEYS:
                return f"`npm config set {key}` {refusal.why}"
            continue
        return refusal.why
    return None


@dataclass(frozen=True, slots=True)
class NativeBuilds:
    """A native package and, by Node.js major, the first of its versions with a build for it: the
    rows of `data/npm/native-builds.csv` for that package."""

    name: str
    builds: tuple[tuple[int, Version | None], ...]  # (from this Node.js major, first version), ascending
    instead: str
    sources: tuple[str, ...]

    def first_build(self, node_major: int) -> tuple[bool, Version | None]:
        """(known, first version): whether the table speaks of that major, and the first version of
        the package built for it (None: no version is)."""
        known, first = False, None
        for major, version in self.builds:
            if major > node_major:
                break
            known, first = True, version
        return known, first


@cache
def native_builds() -> dict[str, NativeBuilds]:
    """The shipped table of native packages with no build for newer Node.js majors
    (`data/npm/native-builds.csv`: a row per package and the Node.js major from which it holds)."""
    rows: dict[str, list[dict[str, str]]] = {}
    for row in _table("native-builds.csv"):
        rows.setdefault(row["package"], []).append(row)
    return {
        name: NativeBuilds(
            name=name,
            builds=tuple(
                sorted(
                    (int(row["node_major"]), Version.parse(row["first_version"]) if row["first_version"] else None)
                    for row in package_rows
                )
            ),
            instead=package_rows[0]["instead"],
            sources=tuple(dict.fromkeys(row["source"] for row in package_rows)),
        )
        for name, package_rows in rows.items()
    }


def unbuilt_version(
    package: str, node_major: int, locked: list[str], declared: str | None
) -> tuple[str, Version | None] | None:
    """The version of `package` the project installs that has no build for `node_major` (from the
    lockfile's `locked` versions, else the `declared` range when no version in it has one), with the
    first version that has one (None: none has); None when the project's version builds, or the
    table does not know."""
    entry = native_builds().get(package)
    if entry is None:
        return None
    known, first = entry.first_build(node_major)
    if not known:
        return None
    for text in locked:
        try:
            version = Version.parse(text)
        except InvalidVersionError:
            continue
        if first is None or version < first:
            return text, first
    if locked or declared is None:
        return None
    try:
        admitted = SemverRange.parse(declared)
    except InvalidRangeError:
        return None
    if not admitted.intervals:
        return None
    if first is None or all(interval.high is not None and interval.high <= first for interval in admitted.intervals):
        return declared, first
    return None
