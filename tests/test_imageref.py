"""Image references parse like Docker parses them, and render back in the user's spelling."""

from __future__ import annotations

import contextvars
from dataclasses import FrozenInstanceError
from datetime import date

import pytest

from dockfix.context import Options
from dockfix.dockerfile.imageref import (
    ImageReference,
    InvalidReference,
    is_official_image_named,
    mirror_host,
    use_registry_mirror,
)
from dockfix.rules import RULES
from dockfix.run import Settings, Worker, process_file

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


# -- the official image under every name -----------------------------------------------------------

OFFICIAL_NODE_NAMES = [
    "node",
    "node:lts-alpine",
    f"node:22@{DIGEST}",
    "docker.io/node:lts-alpine",
    "docker.io/library/node:22",
    "index.docker.io/library/node",
    "index.docker.io/node:20",
    "registry-1.docker.io/library/node:20-slim",
    "library/node:lts",
    "arm64v8/node:22",
    "mirror.example.com/library/node:22",
    "${REGISTRY}/node:22",
    "$REGISTRY/library/node",
    "DOCKER.IO/node",
]
NOT_OFFICIAL_NODE = [
    "nodejs",
    "bitnami/node:18",
    "ghcr.io/owner/node:1",
    "docker.io/bitnami/node",
    "docker.io/library/nodejs",
    "docker.io/arm64v8/extra/node",
    "mirror.example.com/node:22",  # a mirror only when it is the run's mirror
    "localhost:5000/node",
    "circleci/node:18",
]


@pytest.mark.parametrize("text", OFFICIAL_NODE_NAMES)
def test_every_name_of_the_official_image_is_the_official_image(text):
    assert is_official_image_named(text, "node", mirrors=frozenset())


@pytest.mark.parametrize("text", NOT_OFFICIAL_NODE)
def test_look_alikes_are_not(text):
    assert not is_official_image_named(text, "node", mirrors=frozenset())


def test_the_runs_mirror_serves_the_official_image_under_its_own_host():
    assert is_official_image_named("mirror.example.com/node:22", "node", mirrors=frozenset({"mirror.example.com"}))
    assert is_official_image_named(
        "mirror.example.com:5000/library/node", "node", frozenset({"mirror.example.com:5000"})
    )
    assert not is_official_image_named("other.example.com/node:22", "node", mirrors=frozenset({"mirror.example.com"}))


@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("https://mirror.example.com", "mirror.example.com"),
        ("https://Mirror.Example.com:5000/", "mirror.example.com:5000"),
        ("http://127.0.0.1:5000", "127.0.0.1:5000"),
        ("mirror.example.com", "mirror.example.com"),
        ("", None),
        (None, None),
    ],
)
def test_mirror_host_of_a_url(url, host):
    assert mirror_host(url) == host


def test_use_registry_mirror_sets_the_mirror_of_the_checks_that_follow():
    def check() -> bool:
        use_registry_mirror("https://mirror.example.com")
        return is_official_image_named("mirror.example.com/node:22", "node")

    # A fresh context, so the setting does not leak into other tests.
    assert contextvars.copy_context().run(check)
    assert not is_official_image_named("mirror.example.com/node:22", "node")


@pytest.mark.parametrize("spelling", ["docker.io/node", "docker.io/library/node", "index.docker.io/library/node"])
def test_the_same_file_gets_the_same_findings_whatever_the_spelling_of_node(tmp_path, spelling):
    """`FROM docker.io/node:lts-alpine` (the form Nx writes) is the official image, as `node:` is."""

    def findings(name: str) -> list[tuple[str, int, str, str | None]]:
        folder = tmp_path / name.replace("/", "_")
        folder.mkdir()
        (folder / "Dockerfile").write_text(
            f'FROM {name}:lts-alpine\nWORKDIR /app\nCOPY . .\nRUN npm install\nCMD ["npm", "start"]\n'
        )
        (folder / "package.json").write_text('{"scripts": {"start": "node server.js"}}\n')
        (folder / "package-lock.json").write_text('{"lockfileVersion": 3, "packages": {}}\n')
        options = Options(unsafe_fixes=True, offline=True, today=date(2026, 12, 6))
        result = process_file(folder / "Dockerfile", Worker(Settings(rules=list(RULES), options=options)))
        assert result.error is None
        return [
            (f.code, f.line, f.message.replace(name, "node"), f.fix.applicability.value if f.fix else None)
            for f in result.initial
        ]

    expected = findings("node")
    assert {code for code, *_ in expected} >= {"DF001", "DF003", "DF004"}
    assert findings(spelling) == expected
