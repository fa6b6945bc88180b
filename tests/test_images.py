"""The model of the official node image: tags, variants and what each variant has.

The expected answers are read off docker-node's stackbrew.js rules for the shipped versions.json
(22, 24 and 26 built; 26 the active LTS since 2026-10-28; alpine3.24 the alpine default; trixie
the Debian default of 26, bookworm that of 22 and 24).
"""

from datetime import date

import pytest

from dockfix.sources.images import (
    MalformedTag,
    NodeImages,
    NodeTag,
    Variant,
    alpine_package_available,
    bundles_corepack,
    bundles_yarn,
    debian_package_available,
    parse_variant,
)

TODAY = date(2026, 11, 29)
IMAGES = NodeImages.packaged()


@pytest.mark.parametrize(
    "tag",
    [
        "26",
        "26-alpine",
        "26-slim",
        "26-trixie-slim",
        "26-bookworm",
        "26-bullseye-slim",
        "26-alpine3.23",
        "26.1-alpine3.24",
        "26.3.0-bookworm-slim",
        "24-alpine",
        "22-bullseye",
        "lts",
        "lts-alpine",
        "lts-slim",
        "jod",
        "jod-alpine",
        "krypton-slim",
        "lts-krypton",
    ],
)
def test_tags_the_image_serves(tag):
    assert IMAGES.tag_exists(tag, TODAY) is True


@pytest.mark.parametrize(
    "tag",
    [
        "26-buster",
        "26-stretch-slim",
        "26-alpine3.10",
        "26-onbuild",
        "24-jessie",
        "26-",
        "-alpine",
        "26--slim",
        "12-",
    ],
)
def test_tags_no_image_has(tag):
    assert IMAGES.tag_exists(tag, TODAY) is False


@pytest.mark.parametrize(
    "tag", ["14-buster", "18-alpine3.17", "20.11.1-bookworm-slim", "22-alpine3.19", "latest", "current-alpine"]
)
def test_tags_the_image_no_longer_updates_or_cannot_place_are_not_absent(tag):
    assert IMAGES.tag_exists(tag, TODAY) is None


def test_lts_follows_the_date():
    assert IMAGES.floating_major("lts", TODAY) == 26
    assert IMAGES.floating_major("lts", date(2026, 10, 1)) == 24


@pytest.mark.parametrize(
    ("tag", "variant"),
    [
        ("26", Variant("debian", "trixie", slim=False)),
        ("24", Variant("debian", "bookworm", slim=False)),
        ("26-slim", Variant("debian", "trixie", slim=True)),
        ("24-slim", Variant("debian", "bookworm", slim=True)),
        ("26-alpine", Variant("alpine", "3.24", slim=True)),
        ("lts-alpine", Variant("alpine", "3.24", slim=True)),
        ("26-bullseye", Variant("debian", "bullseye", slim=False)),
        ("14-buster", Variant("debian", "buster", slim=False)),
        ("14-alpine3.12", Variant("alpine", "3.12", slim=True)),
        # a tag the image no longer builds: what it was last built on, from docker-node's history
        ("14-alpine", Variant("alpine", "3.17", slim=True)),
        ("14", Variant("debian", "buster", slim=False)),
        ("10-slim", Variant("debian", "stretch", slim=True)),
        ("5", Variant("debian", "jessie", slim=False)),
    ],
)
def test_what_a_tag_is_built_on(tag, variant):
    assert IMAGES.variant(tag, TODAY) == variant


def test_variant_facts():
    alpine, slim, full = parse_variant("alpine3.24"), parse_variant("bookworm-slim"), parse_variant("bookworm")
    assert (alpine.libc, slim.libc, full.libc) == ("musl", "glibc", "glibc")
    assert (alpine.has_build_tools, slim.has_build_tools, full.has_build_tools) == (False, False, True)
    assert (alpine.package_tool, full.package_tool) == ("apk", "apt-get")
    assert parse_variant("onbuild") is None and parse_variant("wheezy-nonsense") is None


@pytest.mark.parametrize(
    ("variant", "expected"),
    [
        ("alpine", "alpine"),
        ("alpine3.10", "alpine"),
        ("alpine3.23", "alpine3.23"),
        ("slim", "slim"),
        ("", ""),
        ("bookworm-slim", "bookworm-slim"),
        # the nearest newer Debian release still supported on the day: bullseye's support ended
        # on 2026-08-31, so buster and stretch go to bookworm
        ("buster", "bookworm"),
        ("stretch-slim", "bookworm-slim"),
        ("jessie", "bookworm"),
        ("onbuild", None),
    ],
)
def test_variant_on_a_new_major(variant, expected):
    assert IMAGES.variant_on(26, variant, TODAY) == expected


def test_variant_on_before_bullseye_support_ended():
    assert IMAGES.variant_on(26, "buster-slim", date(2026, 5, 1)) == "bullseye-slim"


def test_variant_on_a_major_the_image_does_not_build():
    assert IMAGES.variant_on(18, "alpine", TODAY) is None


def test_package_managers_per_major():
    assert [bundles_yarn(m) for m in (22, 24, 25, 26)] == [True, True, True, False]
    assert [bundles_corepack(m) for m in (22, 24, 25, 26)] == [True, True, False, False]


@pytest.mark.parametrize(
    ("tag", "parsed"),
    [
        ("22.1-alpine3.20", NodeTag("22.1", 22, None, "alpine3.20")),
        ("v22", NodeTag("22", 22, None, "")),
        ("lts-slim", NodeTag(None, None, "lts", "slim")),
        ("iron-alpine", NodeTag(None, 20, "iron", "alpine")),
        ("alpine", NodeTag(None, None, "latest", "alpine")),
        (None, NodeTag(None, None, "latest", "")),
    ],
)
def test_tag_parsing(tag, parsed):
    assert NodeTag.parse(tag) == parsed


@pytest.mark.parametrize("tag", ["12-", "-slim", "22--alpine", "22..1-alpine"])
def test_malformed_tags(tag):
    with pytest.raises(MalformedTag):
        NodeTag.parse(tag)


def test_distribution_packages():
    assert debian_package_available("python", "buster") is True
    assert debian_package_available("python", "bookworm") is False
    assert debian_package_available("python3", "trixie") is True
    assert debian_package_available("python", None) is None
    assert alpine_package_available("python2", "3.12") is True
    assert alpine_package_available("python2", "3.24") is False
    assert alpine_package_available("python3", "3.24") is True
