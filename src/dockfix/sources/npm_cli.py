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
The keys below are those `npm config set KEY 1` accepted on npm 11.19.1, each tried in an
empty home folder (two more, `cafile` and `min-release-age-exclude`, refused only the value).
"""

from __future__ import annotations

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


def rejected_command(argv: list[str], npm_major: int) -> str | None:
    """Why that npm refuses the command (`npm cache clean`, `npm config set KEY`), or None."""
    if not argv or argv[0].rsplit("/", 1)[-1] != "npm":
        return None
    words = [w for w in argv[1:] if not w.startswith("-")]
    flags = [w for w in argv[1:] if w.startswith("-")]
    if words[:1] == ["ci"] and npm_major < 6:
        # npm 5's newest releases differ (Node.js 9's npm 5.6 has no `ci`): only npm 6 is sure to.
        return "`npm ci` is an npm command since npm 5.7"
    if words[:2] == ["cache", "clean"] and npm_major >= 5 and not {"--force", "-f"} & set(flags):
        return "`npm cache clean` fails without `--force` since npm 5"
    if npm_major >= 9 and (words[:2] == ["config", "set"] or words[:1] == ["set"]):
        key_words = words[2:] if words[0] == "config" else words[1:]
        key = key_words[0].split("=", 1)[0] if key_words else ""
        if key and not key.startswith(("//", "@")) and key not in NPM_CONFIG_KEYS:
            return f"`npm config set {key}` fails since npm 9, which refuses deprecated and unknown settings"
    return None
