"""Node.js versions and node-semver ranges, checked against tables and against node-semver itself."""

from __future__ import annotations

import json
import random
import shutil
import subprocess
from pathlib import Path

import pytest

from dockfix.sources.semver import (
    InvalidRangeError,
    InvalidVersionError,
    PartialVersion,
    SemverRange,
    Version,
    parse_node_version,
)


@pytest.mark.parametrize(
    ("text", "expected", "given_parts"),
    [
        ("14", PartialVersion(14, None, None), 1),
        ("14.2", PartialVersion(14, 2, None), 2),
        ("14.2.0", PartialVersion(14, 2, 0), 3),
        ("v14.2.0", PartialVersion(14, 2, 0), 3),
        ("v0.10.48", PartialVersion(0, 10, 48), 3),
    ],
)
def test_parse_node_version_keeps_which_parts_were_given(text, expected, given_parts):
    parsed = parse_node_version(text)
    assert parsed == expected
    assert parsed.given_parts == given_parts
    assert parsed.is_complete == (given_parts == 3)
    assert str(parsed) == text.removeprefix("v")


@pytest.mark.parametrize(
    "text", ["", "v", "14.", "14.2.0.1", "014", "14.x", "lts", "14-alpine", " 14", "14.2.0-rc.1", "V14"]
)
def test_parse_node_version_refuses_anything_else(text):
    with pytest.raises(InvalidVersionError):
        parse_node_version(text)


def test_partial_version_is_judged_as_its_oldest_release():
    assert parse_node_version("22.1").lowest() == Version(22, 1, 0)
    assert parse_node_version("18").lowest() == Version(18, 0, 0)
    assert parse_node_version("22.1.7").lowest() == Version(22, 1, 7)


def test_version_parse_requires_all_three_parts():
    assert Version.parse("v22.1.0") == Version(22, 1, 0)
    with pytest.raises(InvalidVersionError):
        Version.parse("22.1")


def test_versions_order_numerically_not_as_text():
    versions = [Version.parse(text) for text in ("14.10.0", "14.2.0", "4.9.1", "14.2.10", "14.2.9", "0.12.18")]
    assert [str(version) for version in sorted(versions)] == [
        "0.12.18",
        "4.9.1",
        "14.2.0",
        "14.2.9",
        "14.2.10",
        "14.10.0",
    ]
    assert Version(14, 2, 0).next_patch() == Version(14, 2, 1)


SATISFIES = [
    # (range, version, satisfied?)
    ("22.x", "22.0.0", True),
    ("22.x", "22.99.99", True),
    ("22.x", "23.0.0", False),
    ("9.7.x || 10.x", "9.7.5", True),
    ("9.7.x || 10.x", "9.8.0", False),
    ("8.5.0", "8.5.0", True),
    ("8.5.0", "8.5.1", False),
    ("<= 10", "10.99.0", True),
    ("<= 10", "11.0.0", False),
    (">= 10.9.0", "10.9.0", True),
    (">= 10.9.0", "10.8.9", False),
    ("^22.4.1", "22.4.1", True),
    ("^22.4.1", "22.4.0", False),
    ("^22.4.1", "23.0.0", False),
    ("^0.10.48", "0.10.50", True),
    ("^0.10.48", "0.11.0", False),
    ("^0.0.3", "0.0.4", False),
    ("~14.17.0", "14.17.9", True),
    ("~14.17.0", "14.18.0", False),
    ("~14", "14.99.0", True),
    (">=6.0.0 <6.2.0 || 5.x || 4.x", "6.1.9", True),
    (">=6.0.0 <6.2.0 || 5.x || 4.x", "6.2.0", False),
    (">= 14.0.0 <14.17.6", "14.17.5", True),
    (">= 14.0.0 <14.17.6", "14.17.6", False),
    ("^4.8.2 || ^6.10.2  || 8.x", "6.10.3", True),
    (" 12.x || 14.x", "14.0.0", True),
    (">1.2", "1.2.99", False),
    (">1.2", "1.3.0", True),
    ("<1.2", "1.1.99", True),
    ("<1.2", "1.2.0", False),
    ("1.2 - 2.3", "2.3.99", True),
    ("1.2 - 2.3", "2.4.0", False),
    ("*", "0.0.0", True),
    ("", "30.1.2", True),
    (">=1.2.3-0 <2.0.0-0", "1.2.3", True),
    ("=1.2.3-beta", "1.2.3", False),
]


@pytest.mark.parametrize(("range_text", "version_text", "expected"), SATISFIES)
def test_range_satisfaction(range_text, version_text, expected):
    assert (Version.parse(version_text) in SemverRange.parse(range_text)) is expected


@pytest.mark.parametrize(
    "text",
    [
        ">=",
        "1.2.3.4",
        "abc",
        ">=1.0.0 foo",
        "1.2.3 -",
        "^",
        "~>",
        "22.x.y",
        ">=>1",
        "1.2.3 || <",
        ">=1.2.3<2",
        "1.2.3-",
        ">=01.2.3",
        "*.1",
        # node-semver refuses 1.x.0 and x.2 but reads ^1.x.2 as ^1.x: dockfix refuses them all.
        "1.x.0",
        "x.2",
        "^1.x.2",
        "1.x.2 - 3",
    ],
)
def test_malformed_ranges_are_refused(text):
    with pytest.raises(InvalidRangeError):
        SemverRange.parse(text)


def test_bounds_of_a_range():
    parsed = SemverRange.parse("^6.14.4 || >=6.0.0 <6.2.0 || >= 10.9.0")
    assert parsed.lower_bounds() == [Version(6, 14, 4), Version(6, 0, 0), Version(10, 9, 0)]
    assert parsed.upper_bounds() == [Version(7, 0, 0), Version(6, 2, 0)]


# -- node-semver as the oracle ------------------------------------------------------------------


def _node_semver_module() -> Path | None:
    """npm ships node-semver inside itself; use that copy so the test needs no download."""
    node = shutil.which("node")
    if node is None:
        return None
    candidates = [Path(node).resolve().parents[1] / "lib" / "node_modules" / "npm" / "node_modules" / "semver"]
    npm = shutil.which("npm")
    if npm is not None:
        root = subprocess.run([npm, "root", "-g"], capture_output=True, text=True, check=False).stdout.strip()
        if root:
            candidates.append(Path(root) / "npm" / "node_modules" / "semver")
    return next((candidate for candidate in candidates if (candidate / "package.json").is_file()), None)


def _random_partial(rng: random.Random) -> str:
    parts = [rng.choice(["0", "1", "2", "3", "x"]) for _ in range(rng.randint(1, 3))]
    if "x" in parts:
        # A number after a wildcard (1.x.2) is refused on purpose: see test_malformed_ranges_are_refused.
        parts = parts[: parts.index("x")] + ["x"] * (len(parts) - parts.index("x"))
    text = ".".join(parts)
    if len(parts) == 3 and "x" not in parts and rng.random() < 0.15:
        text += rng.choice(["-0", "-beta.1", "-rc"])
    return text


def _random_range(rng: random.Random) -> str:
    alternatives = []
    for _ in range(rng.randint(1, 3)):
        if rng.random() < 0.15:
            alternatives.append(f"{_random_partial(rng)} - {_random_partial(rng)}")
            continue
        comparators = []
        for _ in range(rng.randint(1, 2)):
            operator = rng.choice(["", "=", "^", "~", "~>", ">", ">=", "<", "<="])
            space = " " if operator and rng.random() < 0.2 else ""
            comparators.append(f"{operator}{space}{_random_partial(rng)}")
        alternatives.append(" ".join(comparators))
    return " || ".join(alternatives)


def _database_ranges() -> list[str]:
    index = (
        Path(__file__).resolve().parents[1]
        / "src"
        / "dockfix"
        / "data"
        / "security-wg"
        / "vuln"
        / "core"
        / "index.json"
    )
    entries = json.loads(index.read_text(encoding="utf-8")).values()
    return sorted({entry[key] for entry in entries for key in ("vulnerable", "patched")})


def test_agrees_with_node_semver_on_database_and_random_ranges():
    module = _node_semver_module()
    if module is None:
        pytest.skip("node and npm's bundled semver are not installed")
    rng = random.Random(20261129)
    ranges = _database_ranges() + [_random_range(rng) for _ in range(600)]
    versions = sorted(
        {f"{major}.{minor}.{patch}" for major in range(0, 4) for minor in range(0, 4) for patch in range(0, 4)}
        | {
            str(bound)
            for text in _database_ranges()
            for interval in SemverRange.parse(text).intervals
            for bound in (interval.low, interval.high)
            if bound is not None
        }
        | {
            str(Version(bound.major, bound.minor, max(bound.patch - 1, 0)))
            for text in _database_ranges()
            for bound in SemverRange.parse(text).lower_bounds()
        }
    )
    script = (
        "const semver = require(process.argv[1]);"
        "const {ranges, versions} = JSON.parse(require('fs').readFileSync(0, 'utf8'));"
        "const out = ranges.map(r => { try { const parsed = new semver.Range(r);"
        " return versions.map(v => parsed.test(v)); } catch (e) { return null; } });"
        "process.stdout.write(JSON.stringify(out));"
    )
    completed = subprocess.run(
        ["node", "-e", script, str(module)],
        input=json.dumps({"ranges": ranges, "versions": versions}),
        capture_output=True,
        text=True,
        check=True,
    )
    expected = json.loads(completed.stdout)
    compared = 0
    for range_text, node_answers in zip(ranges, expected, strict=True):
        if node_answers is None:
            with pytest.raises(InvalidRangeError):
                SemverRange.parse(range_text)
            continue
        parsed = SemverRange.parse(range_text)
        ours = [Version.parse(version) in parsed for version in versions]
        mismatches = [version for version, a, b in zip(versions, ours, node_answers, strict=True) if a != b]
        assert not mismatches, f"{range_text!r} disagrees with node-semver on {mismatches[:5]}"
        compared += len(versions)
    assert compared > 100_000
