"""The shipped Node.js schedule and vulnerability data, and refreshing it into a cache."""

from __future__ import annotations

import functools
import http.server
import json
import shutil
import threading
import urllib.error
import urllib.request
from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dockfix.sources.nodedata import (
    CACHE_FILE_NAME,
    IMAGE_VERSIONS_URL,
    SCHEDULE_URL,
    VULNERABILITIES_URL,
    NodeData,
    NodeDataError,
    NodeDataUpdateError,
    update_data,
)
from dockfix.sources.semver import PartialVersion, SemverRange, Version, parse_node_version

REPO = Path(__file__).resolve().parents[1]
PACKAGED_DATA = REPO / "src" / "dockfix" / "data"
SHARED_DATA = REPO.parent / "shared" / "data"
PACKAGED_ADVISORY_FILES = sorted((PACKAGED_DATA / "security-wg" / "vuln" / "core").glob("[0-9]*.json"))
RUN_DATE = date(2026, 11, 29)


@pytest.fixture(scope="module")
def data() -> NodeData:
    return NodeData.load()


def _raw_advisories() -> dict[str, dict]:
    """The advisories as published, read straight from the one-file-per-advisory copies."""
    return {path.stem: json.loads(path.read_text(encoding="utf-8")) for path in PACKAGED_ADVISORY_FILES}


def _affected_by_raw(advisory: dict, version: Version) -> bool:
    """The database's own definition, applied to the raw entry: vulnerable and not patched, on Linux."""
    environments = advisory.get("affectedEnvironments", ["all"])
    if "all" not in environments and "linux" not in environments:
        return False
    return version in SemverRange.parse(advisory["vulnerable"]) and version not in SemverRange.parse(
        advisory["patched"]
    )


# -- the shipped copy -----------------------------------------------------------------------------


@pytest.mark.shared
def test_packaged_data_is_a_byte_for_byte_copy_of_the_published_files():
    shared = sorted(path.relative_to(SHARED_DATA) for path in SHARED_DATA.rglob("*.json"))
    derived = {Path("meta.json"), Path("docker-node/history.json")}  # written by dockfix, not copies
    packaged = sorted(
        relative
        for path in PACKAGED_DATA.rglob("*.json")
        if (relative := path.relative_to(PACKAGED_DATA)) not in derived
    )
    assert packaged == shared
    assert len(shared) == 174  # schedule.json, versions.json, index.json and 171 advisories
    for relative in shared:
        assert (PACKAGED_DATA / relative).read_bytes() == (SHARED_DATA / relative).read_bytes(), relative


def test_index_agrees_with_the_one_file_per_advisory_copies():
    index = json.loads((PACKAGED_DATA / "security-wg" / "vuln" / "core" / "index.json").read_text(encoding="utf-8"))
    assert index == _raw_advisories()
    assert len(index) == 171


def test_every_range_in_the_database_parses():
    texts = [advisory[key] for advisory in _raw_advisories().values() for key in ("vulnerable", "patched")]
    assert len(texts) == 342
    for text in texts:
        assert SemverRange.parse(text).intervals, text


def test_packaged_data_is_dated_by_its_older_snapshot(data):
    assert data.origin == "packaged"
    assert data.schedule_date == date(2026, 7, 2)  # the snapshot's date: current on that day
    assert data.vulnerabilities_date == date(2026, 4, 8)
    assert data.data_date == date(2026, 4, 8)
    sources = (PACKAGED_DATA / "SOURCES.md").read_text(encoding="utf-8")
    assert "2026-07-02" in sources and "2026-04-08" in sources and "2026-08-19" in sources and "MIT" in sources
    assert len(data.advisories) == 171


def test_advisory_fields(data):
    newest = next(advisory for advisory in data.advisories if advisory.id == "171")
    assert newest.cves == ("CVE-2026-21717",)
    assert newest.title == "HashDoS in V8"
    assert newest.vulnerable.text == "20.x || 22.x || 24.x || 25.x"
    assert newest.patched.text == "^20.20.2 || ^22.22.2 || ^24.14.1 || ^25.8.2"
    without_cve = next(advisory for advisory in data.advisories if advisory.id == "2")
    assert without_cve.cves == ()
    assert without_cve.title == "DoS possible in V8 object lookup"
    assert without_cve.label == "Node.js security advisory 2"
    without_description = next(advisory for advisory in data.advisories if advisory.id == "17")
    assert without_description.title == "Remove support for loading dynamic third-party engine modules. An attacker"


# -- release schedule -----------------------------------------------------------------------------


def test_release_line(data):
    jod = data.release_line(22)
    assert jod is not None
    assert (jod.start, jod.lts, jod.maintenance, jod.end, jod.codename) == (
        date(2024, 4, 24),
        date(2024, 10, 29),
        date(2025, 10, 21),
        date(2027, 4, 30),
        "Jod",
    )
    odd = data.release_line(25)
    assert odd is not None and odd.lts is None and odd.codename is None
    assert data.release_line(0) is None
    assert data.release_line(2) is None
    assert data.release_line(99) is None


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        (date(2026, 11, 29), 26),  # v26 entered LTS on 2026-10-28
        (date(2026, 10, 28), 26),
        (date(2026, 10, 27), 24),
        (date(2025, 10, 28), 24),
        (date(2025, 10, 27), 22),
        (date(2023, 4, 30), 18),  # the day v14 ended; v16 and v18 are in LTS
        (date(2020, 1, 1), 12),
        (date(2016, 1, 1), 4),
        (date(2029, 4, 29), 26),  # v27 is odd and never LTS; v26 is still alive
    ],
)
def test_active_lts_major(data, today, expected):
    assert data.active_lts_major(today) == expected


@settings(max_examples=200, deadline=None)
@given(today=st.dates(min_value=date(2015, 10, 12), max_value=date(2029, 4, 29)))
def test_active_lts_is_the_newest_line_in_lts_and_not_ended(data, today):
    active = data.release_line(data.active_lts_major(today))
    assert active is not None and active.lts is not None
    assert active.lts <= today < active.end
    for line in data.schedule.values():
        if line.major > active.major:
            assert line.lts is None or line.lts > today


@pytest.mark.parametrize("today", [date(2015, 10, 11), date(2029, 4, 30)])
def test_no_active_lts_outside_the_schedule(data, today):
    with pytest.raises(NodeDataError):
        data.active_lts_major(today)


def test_node_14_is_dead_on_the_run_date(data):
    assert data.is_end_of_life(14, RUN_DATE)
    assert data.end_of_life_date(14) == date(2023, 4, 30)


@pytest.mark.parametrize(
    ("major", "today", "dead", "end"),
    [
        (22, RUN_DATE, False, date(2027, 4, 30)),
        (22, date(2027, 4, 30), True, date(2027, 4, 30)),  # the end date is the first day without support
        (22, date(2027, 4, 29), False, date(2027, 4, 30)),
        (25, date(2026, 5, 31), False, date(2026, 6, 1)),  # odd lines die too
        (25, RUN_DATE, True, date(2026, 6, 1)),
        (20, RUN_DATE, True, date(2026, 4, 30)),
        (26, RUN_DATE, False, date(2029, 4, 30)),
        (27, RUN_DATE, False, date(2030, 4, 30)),
        (0, RUN_DATE, True, date(2016, 12, 31)),  # the last 0.x line, v0.12
        (2, RUN_DATE, True, None),  # io.js, never a Node.js line
        (40, RUN_DATE, False, None),  # newer than the data: nothing known against it
    ],
)
def test_end_of_life(data, major, today, dead, end):
    assert data.is_end_of_life(major, today) is dead
    assert data.end_of_life_date(major) == end


# -- vulnerabilities ------------------------------------------------------------------------------


def test_22_1_0_is_live_and_affected_by_several_advisories(data):
    version = Version(22, 1, 0)
    assert not data.is_end_of_life(version.major, RUN_DATE)
    affecting = {advisory.id for advisory in data.advisories_affecting(version)}
    # 145: 18.x || 20.x || 22.x, patched ^22.4.1; 149: patched ^22.13.1; 171: CVE-2026-21717, patched ^22.22.2.
    assert {"145", "149", "171"} <= affecting
    expected = {key for key, advisory in _raw_advisories().items() if _affected_by_raw(advisory, version)}
    assert affecting == expected
    assert len(affecting) >= 10


def test_windows_only_advisories_do_not_affect_linux_images(data):
    # Advisory 143 is win32-only (vulnerable 22.x, patched ^22.4.1).
    assert "143" not in {advisory.id for advisory in data.advisories_affecting(Version(22, 1, 0))}
    assert "143" in {advisory.id for advisory in data.advisories_affecting(Version(22, 1, 0), platform="win32")}


def test_smallest_patched_version_of_22_1_0(data):
    answer = data.smallest_patched_version(Version(22, 1, 0))
    # By hand: advisories 163 to 171 (March 2026) cover all of 22.x below 22.22.2, and nothing
    # newer in the data concerns 22.x, so the first safe 22.x is 22.22.2.
    assert answer == Version(22, 22, 2)
    raw = _raw_advisories()
    assert not [key for key, advisory in raw.items() if _affected_by_raw(advisory, answer)]
    assert _affected_by_raw(raw["171"], Version(22, 22, 1))
    # Every smaller 22.x release from 22.1.0 on is affected by at least one advisory, checked
    # release by release well past every patch number Node.js has used on these minors.
    for minor in range(1, 23):
        for patch in range(0, 40):
            release = Version(22, minor, patch)
            if release < answer:
                assert any(_affected_by_raw(advisory, release) for advisory in raw.values()), release


def test_smallest_patched_version_is_the_version_itself_when_nothing_affects_it(data):
    assert data.smallest_patched_version(Version(24, 14, 1)) == Version(24, 14, 1)
    assert data.smallest_patched_version(Version(26, 0, 0)) == Version(26, 0, 0)
    assert data.advisories_affecting(Version(26, 0, 0)) == []


def test_smallest_patched_version_is_none_when_the_major_has_no_fix(data):
    raw = _raw_advisories()
    # Advisory 1 (CVE-2017-1000381) lists 5.x as vulnerable and patches only 4.x, 6.x, 7.x and 8.x.
    assert raw["1"]["vulnerable"] == "8.x || 7.x || 4.x || 6.x || 5.x"
    assert not any(bound.major == 5 for bound in SemverRange.parse(raw["1"]["patched"]).lower_bounds())
    assert data.smallest_patched_version(Version(5, 0, 0)) is None
    # Advisory 54 (CVE-2018-12115) is "<= 10", patched in 6.x, 8.x and from 10.9.0 on: no 9.x is safe.
    assert data.smallest_patched_version(Version(9, 11, 2)) is None


def test_a_bare_version_in_a_patched_range_means_that_release_only(data):
    # Advisory 69 (CVE-2020-8277) is patched in "15.2.1", not "^15.2.1": read literally, as
    # node-semver and the database's own checker do, every later 15.x stays affected by it.
    assert "69" in {advisory.id for advisory in data.advisories_affecting(Version(15, 14, 0))}
    assert "69" not in {advisory.id for advisory in data.advisories_affecting(Version(15, 2, 1))}
    assert data.smallest_patched_version(Version(15, 0, 0)) is None


def test_a_vulnerable_range_that_ends_inside_a_major_marks_the_fix(data):
    # Advisory 24 (CVE-2016-1669): vulnerable ">=6.0.0 <6.2.0 || 5.x || 4.x", patched only in 4.x and 5.x.
    assert "24" in {advisory.id for advisory in data.advisories_affecting(Version(6, 1, 9))}
    assert "24" not in {advisory.id for advisory in data.advisories_affecting(Version(6, 2, 0))}


def test_a_vulnerable_range_that_ends_inside_a_major_yields_its_end_as_a_candidate():
    synthetic = NodeData.from_published(
        {"v6": {"start": "2016-04-26", "lts": "2016-10-18", "end": "2019-04-30"}},
        {"1": {"cve": [], "vulnerable": ">=6.0.0 <6.2.0", "patched": "^6.9.0", "description": "x"}},
        schedule_date=date(2026, 1, 1),
        vulnerabilities_date=date(2026, 1, 1),
        origin="test",
    )
    assert synthetic.smallest_patched_version(Version(6, 0, 0)) == Version(6, 2, 0)


def test_a_floating_minor_tag_is_judged_by_the_newest_release_of_its_line(data):
    # 24.14.1 is the March 2026 security release (advisories 163 to 171 are patched `^24.14.1`):
    # the `24.14` tag is rebuilt on it, so nothing affects what it names.
    assert data.newest_known_release(parse_node_version("24.14")) == Version(24, 14, 1)
    assert data.advisories_affecting(data.newest_known_release(parse_node_version("24.14"))) == []
    assert data.advisories_affecting(Version(24, 14, 0))  # the line's first release is affected


def test_a_floating_minor_tag_no_advisory_names_is_judged_as_its_first_release(data):
    partial = parse_node_version("22.1")
    assert partial == PartialVersion(22, 1, None)
    assert data.newest_known_release(partial) == Version(22, 1, 0)
    assert data.smallest_patched_version(data.newest_known_release(partial)) == Version(22, 22, 2)


def test_a_complete_version_names_only_itself(data):
    assert data.newest_known_release(parse_node_version("24.14.0")) == Version(24, 14, 0)
    assert data.newest_known_release(parse_node_version("v22.1.0")) == Version(22, 1, 0)


def test_staleness_warning_after_90_days(data):
    assert data.warn_if_stale(data.data_date + timedelta(days=90)) is None
    message = data.warn_if_stale(data.data_date + timedelta(days=91))
    assert message is not None
    assert "2026-04-08" in message and "91 days" in message and "--update-data" in message
    assert "\n" not in message
    assert data.warn_if_stale(data.data_date + timedelta(days=10), max_age_days=7) is not None


# -- refreshing -----------------------------------------------------------------------------------


@pytest.fixture()
def published(tmp_path: Path) -> Path:
    """A folder laid out like the published files, seeded with the packaged copy."""
    root = tmp_path / "published"
    (root / "Release").mkdir(parents=True)
    (root / "security-wg" / "vuln" / "core").mkdir(parents=True)
    (root / "docker-node").mkdir(parents=True)
    shutil.copyfile(PACKAGED_DATA / "Release" / "schedule.json", root / "Release" / "schedule.json")
    shutil.copyfile(PACKAGED_DATA / "docker-node" / "versions.json", root / "docker-node" / "versions.json")
    shutil.copyfile(
        PACKAGED_DATA / "security-wg" / "vuln" / "core" / "index.json",
        root / "security-wg" / "vuln" / "core" / "index.json",
    )
    return root


def _serving(root: Path, requested: list[str]):
    """An opener that serves the published URLs from ``root`` through urllib's real file handler."""
    local = {
        SCHEDULE_URL: root / "Release" / "schedule.json",
        VULNERABILITIES_URL: root / "security-wg" / "vuln" / "core" / "index.json",
        IMAGE_VERSIONS_URL: root / "docker-node" / "versions.json",
    }

    def opener(url, timeout):
        requested.append(url)
        return urllib.request.urlopen(local[url].as_uri(), timeout=timeout)

    return opener


def _edit_index(published: Path, change) -> None:
    path = published / "security-wg" / "vuln" / "core" / "index.json"
    index = json.loads(path.read_text(encoding="utf-8"))
    change(index)
    path.write_text(json.dumps(index), encoding="utf-8")


def _new_advisory(index: dict) -> None:
    index["172"] = {
        "cve": ["CVE-2026-99999"],
        "vulnerable": "24.x || 26.x",
        "patched": "^24.15.0 || ^26.1.0",
        "description": "a newer advisory",
        "affectedEnvironments": ["all"],
        "severity": "high",
    }


def test_update_replaces_the_data_with_valid_downloads(published, tmp_path):
    _edit_index(published, _new_advisory)
    cache = tmp_path / "cache"
    requested: list[str] = []
    summary = update_data(cache, opener=_serving(published, requested), today=RUN_DATE)
    assert requested == [SCHEDULE_URL, VULNERABILITIES_URL, IMAGE_VERSIONS_URL]
    assert "172 advisories" in summary and "2026-11-29" in summary

    refreshed = NodeData.load(cache)
    assert refreshed.origin == str(cache / CACHE_FILE_NAME)
    assert refreshed.data_date == RUN_DATE
    assert refreshed.warn_if_stale(RUN_DATE) is None
    assert [advisory.id for advisory in refreshed.advisories_affecting(Version(26, 0, 0))] == ["172"]
    assert refreshed.smallest_patched_version(Version(26, 0, 0)) == Version(26, 1, 0)
    assert [path.name for path in cache.iterdir()] == [CACHE_FILE_NAME]


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        (lambda index: index["171"].update(patched="^22.22.2 || >=banana"), "'patched'"),
        (lambda index: index["171"].pop("vulnerable"), "'vulnerable' is missing"),
        (lambda index: [index.pop(key) for key in list(index)[:10]], "fewer than the 171"),
    ],
)
def test_update_refuses_invalid_data_and_keeps_the_old_copy(published, tmp_path, damage, reason):
    cache = tmp_path / "cache"
    _edit_index(published, _new_advisory)
    update_data(cache, opener=_serving(published, []), today=RUN_DATE)
    before = (cache / CACHE_FILE_NAME).read_bytes()

    _edit_index(published, damage)
    with pytest.raises(NodeDataUpdateError, match=reason):
        update_data(cache, opener=_serving(published, []), today=RUN_DATE + timedelta(days=1))
    assert (cache / CACHE_FILE_NAME).read_bytes() == before
    assert [path.name for path in cache.iterdir()] == [CACHE_FILE_NAME]
    assert len(NodeData.load(cache).advisories) == 172


def test_update_refuses_a_truncated_download(published, tmp_path):
    schedule = published / "Release" / "schedule.json"
    schedule.write_bytes(schedule.read_bytes()[:-40])
    with pytest.raises(NodeDataUpdateError, match="not valid JSON"):
        update_data(tmp_path / "cache", opener=_serving(published, []), today=RUN_DATE)
    assert not (tmp_path / "cache" / CACHE_FILE_NAME).exists()


def test_update_reports_an_unreachable_server(tmp_path):
    def offline(url, timeout):
        raise urllib.error.URLError("no route to host")

    with pytest.raises(NodeDataUpdateError, match=r"cannot download .*no route to host"):
        update_data(tmp_path / "cache", opener=offline, today=RUN_DATE)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass


@pytest.fixture()
def http_root(published):
    """A real HTTP server on loopback serving the published folder."""
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(published))
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join()


def _via(base: str, schedule_path: str = "/Release/schedule.json"):
    paths = {
        SCHEDULE_URL: schedule_path,
        VULNERABILITIES_URL: "/security-wg/vuln/core/index.json",
        IMAGE_VERSIONS_URL: "/docker-node/versions.json",
    }
    return lambda url, timeout: urllib.request.urlopen(base + paths[url], timeout=timeout)


def test_update_over_http_dates_the_data_by_the_server(http_root, tmp_path):
    before = date.today()
    summary = update_data(tmp_path / "cache", opener=_via(http_root))
    after = date.today()
    assert "171 advisories" in summary
    cached = NodeData.from_cache(tmp_path / "cache")
    assert cached is not None
    # The server's Date header is in UTC; allow for the local date being a day apart from it.
    assert before - timedelta(days=1) <= cached.data_date <= after + timedelta(days=1)


def test_update_over_http_reports_a_missing_file(http_root, tmp_path):
    with pytest.raises(NodeDataUpdateError, match=r"cannot download .*HTTP 404"):
        update_data(tmp_path / "cache", opener=_via(http_root, "/no-such-file.json"), today=RUN_DATE)


def test_load_prefers_the_packaged_copy_when_the_cache_is_older_or_damaged(published, tmp_path):
    cache = tmp_path / "cache"
    update_data(cache, opener=_serving(published, []), today=date(2026, 1, 1))
    assert NodeData.from_cache(cache).data_date == date(2026, 1, 1)
    assert NodeData.load(cache).origin == "packaged"

    (cache / CACHE_FILE_NAME).write_text("{ not json", encoding="utf-8")
    with pytest.raises(NodeDataError):
        NodeData.from_cache(cache)
    assert NodeData.load(cache).origin == "packaged"
    assert NodeData.load(tmp_path / "missing").origin == "packaged"
