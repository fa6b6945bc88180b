"""Image references parse like Docker parses them, and render back in the user's spelling."""

from __future__ import annotations

import pytest

from dockfix.dockerfile.imageref import ImageReference, InvalidReference
from dockfix.records import FrozenInstanceError

DIGEST = "sha256:" + "a" * 64
OTHER_DIGEST = "sha256:" + "b" * 64

# text -> (registry, repository, tag, digest, familiar_name)
PARSED = [
    ("node", ("docker.io", "library/node", None, None, "node")),
    ("node:22", ("docker.io", "library/node", "22", None, "node")),
    ("node:22.1.0-alpine3.20", ("docker.io", "library/node", "22.1.0-alpine3.20", None, "node")),
    (f"node@{DIGEST}", ("docker.io", "library/node", None, DIGEST, "node")),
    (f"node:22-alpine@{DIGEST}", ("docker.io", "library/node", "22-alpine", DIGEST, "node")),
    ("library/node:lts", ("docker.io", "library/node", "lts", None, "library/node")),
    ("docker.io/library/node:lts", ("docker.io", "library/node", "lts", None, "docker.io/library/node")),
    ("docker.io/node", ("docker.io", "library/node", None, None, "docker.io/node")),
    ("index.docker.io/library/node:20", ("docker.io", "library/node", "20", None, "index.docker.io/library/node")),
    ("registry-1.docker.io/node:20", ("docker.io", "library/node", "20", None, "registry-1.docker.io/node")),
    ("bitnami/node:18", ("docker.io", "bitnami/node", "18", None, "bitnami/node")),
    ("ghcr.io/owner/app:1.2", ("ghcr.io", "owner/app", "1.2", None, "ghcr.io/owner/app")),
    (
        "public.ecr.aws/docker/library/node:20-slim",
        ("public.ecr.aws", "docker/library/node", "20-slim", None, "public.ecr.aws/docker/library/node"),
    ),
    ("localhost/app", ("localhost", "app", None, None, "localhost/app")),
    ("localhost:5000/team/app:dev", ("localhost:5000", "team/app", "dev", None, "localhost:5000/team/app")),
    (
        "127.0.0.1:5000/library/node:26",
        ("127.0.0.1:5000", "library/node", "26", None, "127.0.0.1:5000/library/node"),
    ),
    ("[::1]:5000/app:1", ("[::1]:5000", "app", "1", None, "[::1]:5000/app")),
    (
        "registry.example.com:8443/a/b/c:v1",
        ("registry.example.com:8443", "a/b/c", "v1", None, "registry.example.com:8443/a/b/c"),
    ),
    ("my-org/my_app__x.y-z:1", ("docker.io", "my-org/my_app__x.y-z", "1", None, "my-org/my_app__x.y-z")),
    ("scratch", ("docker.io", "library/scratch", None, None, "scratch")),
]


@pytest.mark.parametrize(("text", "expected"), PARSED, ids=[text for text, _ in PARSED])
def test_parse(text, expected):
    ref = ImageReference.parse(text)
    assert (ref.registry, ref.repository, ref.tag, ref.digest, ref.familiar_name) == expected
    assert ref.original == text
    assert ref.render() == text, "rendering keeps the user's spelling"
    assert str(ref) == text


INVALID = [
    "",
    " node",
    "node ",
    "no de",
    "Node",
    "ghcr.io/Owner/app",
    "node:",
    "node:-bad",
    "node:" + "x" * 129,
    "node@sha256:short",
    "node@",
    ":22",
    "/node",
    "node/",
    "node//x",
    "node..x",
    "node:tag:extra",
    "node:ta€g",
]


@pytest.mark.parametrize("text", INVALID)
def test_invalid_references_raise_value_error(text):
    with pytest.raises(ValueError):
        ImageReference.parse(text)


@pytest.mark.parametrize(
    "text",
    ["${BASE_IMAGE}", "node:${NODE_VERSION}-alpine", "$REGISTRY/node:20", "node:$TAG", "node@$DIGEST"],
)
def test_references_with_variables_are_not_parseable(text):
    with pytest.raises(InvalidReference, match="variable"):
        ImageReference.parse(text)


def test_invalid_reference_is_a_value_error():
    assert issubclass(InvalidReference, ValueError)


@pytest.mark.parametrize(
    ("text", "is_hub", "is_official"),
    [
        ("node", True, True),
        ("docker.io/library/node", True, True),
        ("index.docker.io/node", True, True),
        ("bitnami/node", True, False),
        ("ghcr.io/library/node", False, False),
        ("localhost:5000/node", False, False),
    ],
)
def test_docker_hub_detection(text, is_hub, is_official):
    ref = ImageReference.parse(text)
    assert ref.is_docker_hub is is_hub
    assert ref.is_official_image is is_official


@pytest.mark.parametrize(
    ("text", "is_scratch"),
    [
        ("scratch", True),
        ("scratch:latest", False),
        ("library/scratch", False),
        ("node", False),
        ("myscratch", False),
    ],
)
def test_scratch_is_recognised(text, is_scratch):
    assert ImageReference.parse(text).is_scratch is is_scratch


@pytest.mark.parametrize(
    ("text", "tag", "expected"),
    [
        ("node", "26-alpine", "node:26-alpine"),
        ("node:latest", "26-alpine", "node:26-alpine"),
        ("docker.io/library/node:lts", "26-slim", "docker.io/library/node:26-slim"),
        (f"node:20@{DIGEST}", "22", f"node:22@{DIGEST}"),
        ("localhost:5000/app:1", "2", "localhost:5000/app:2"),
        ("node:20", None, "node"),
    ],
)
def test_with_tag_keeps_spelling_and_digest(text, tag, expected):
    updated = ImageReference.parse(text).with_tag(tag)
    assert updated.render() == expected
    assert updated.original == expected
    assert ImageReference.parse(expected) == updated


@pytest.mark.parametrize(
    ("text", "digest", "expected"),
    [
        ("node:26-alpine", DIGEST, f"node:26-alpine@{DIGEST}"),
        (f"node:26-alpine@{DIGEST}", OTHER_DIGEST, f"node:26-alpine@{OTHER_DIGEST}"),
        ("index.docker.io/library/node:20", DIGEST, f"index.docker.io/library/node:20@{DIGEST}"),
        ("node", DIGEST, f"node@{DIGEST}"),
        (f"node:20@{DIGEST}", None, "node:20"),
    ],
)
def test_with_digest_keeps_the_readable_tag(text, digest, expected):
    assert ImageReference.parse(text).with_digest(digest).render() == expected


def test_with_tag_and_with_digest_validate():
    ref = ImageReference.parse("node")
    with pytest.raises(InvalidReference):
        ref.with_tag("bad tag")
    with pytest.raises(InvalidReference):
        ref.with_digest("sha256:nothex")


def test_reference_is_frozen():
    ref = ImageReference.parse("node:20")
    with pytest.raises(FrozenInstanceError):
        ref.tag = "22"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("node", "docker.io/library/node:latest"),
        ("docker.io/library/node:20", "docker.io/library/node:20"),
        (f"index.docker.io/node:20@{DIGEST}", "docker.io/library/node:20"),
        ("ghcr.io/o/a:1", "ghcr.io/o/a:1"),
    ],
)
def test_every_spelling_shares_one_cache_key(text, key):
    assert ImageReference.parse(text).cache_key == key


def test_sha256_digest_detection():
    assert ImageReference.parse(f"node@{DIGEST}").has_sha256_digest
    assert not ImageReference.parse("node:20").has_sha256_digest
    assert not ImageReference.parse("node@sha512:" + "c" * 128).has_sha256_digest
