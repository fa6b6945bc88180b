"""Image references as Docker reads them: ``[registry/]repository[:tag][@digest]``.

The grammar follows the reference package Docker and the CNCF distribution project share
(``distribution/reference``): the first path component is a registry only when it contains a
``.`` or a ``:``, or is ``localhost``; a Docker Hub name without a namespace lives in
``library/``. Parsing keeps the user's spelling of the name so that a rewritten ``FROM`` line
reads like the original one, only with a tag or digest added.
"""

from __future__ import annotations

import re
import urllib.parse
from contextvars import ContextVar
from dataclasses import dataclass, replace

DOCKER_HUB = "docker.io"
"""Canonical name of Docker Hub, whatever alias the user wrote."""

DOCKER_HUB_ALIASES = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io"})

_PATH_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[0-9a-fA-F:.]+\])(?::[0-9]+)?"

_PATH_RE = re.compile(rf"{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*")
_DOMAIN_RE = re.compile(_DOMAIN)
_TAG_RE = re.compile(r"[\w][\w.-]{0,127}", re.ASCII)
_DIGEST_RE = re.compile(r"[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}")
_SHA256_RE = re.compile(r"sha256:[0-9a-f]{64}")

_NAME_MAX = 255


class InvalidReference(ValueError):
    """The text is not an image reference dockfix can read (variables, bad syntax)."""


@dataclass(frozen=True)
class ImageReference:
    """One parsed image reference; ``registry``/``repository`` are canonical, ``original`` is verbatim."""

    registry: str
    repository: str
    tag: str | None
    digest: str | None
    original: str
    familiar_name: str
    """The name part exactly as the user wrote it (``node``, ``docker.io/library/node``)."""

    @classmethod
    def parse(cls, text: str) -> ImageReference:
        """Parse ``text`` like Docker does; raise :class:`InvalidReference` (a ``ValueError``) if it cannot."""
        if "$" in text:
            raise InvalidReference(f"{text!r} uses a variable; its value is only known at build time")
        if not text or text != text.strip() or any(ch.isspace() for ch in text):
            raise InvalidReference(f"{text!r} is not an image reference")

        remainder, digest = text, None
        if "@" in remainder:
            remainder, digest = remainder.split("@", 1)
            if not _DIGEST_RE.fullmatch(digest):
                raise InvalidReference(f"{text!r} has an invalid digest {digest!r}")

        name, tag = remainder, None
        colon = remainder.rfind(":")
        if colon > remainder.rfind("/"):
            name, tag = remainder[:colon], remainder[colon + 1 :]
            if not _TAG_RE.fullmatch(tag):
                raise InvalidReference(f"{text!r} has an invalid tag {tag!r}")

        if not name:
            raise InvalidReference(f"{text!r} has no image name")
        if len(name) > _NAME_MAX:
            raise InvalidReference(f"{text!r}: image name is longer than {_NAME_MAX} characters")

        domain, path = _split_domain(name)
        if domain is not None and not _DOMAIN_RE.fullmatch(domain):
            raise InvalidReference(f"{text!r} has an invalid registry {domain!r}")
        if not _PATH_RE.fullmatch(path):
            if path.lower() != path:
                raise InvalidReference(f"{text!r}: repository names must be lowercase")
            raise InvalidReference(f"{text!r} has an invalid repository name {path!r}")

        registry = DOCKER_HUB if domain is None or domain in DOCKER_HUB_ALIASES else domain
        repository = path
        if registry == DOCKER_HUB and "/" not in path:
            repository = f"library/{path}"
        return cls(
            registry=registry,
            repository=repository,
            tag=tag,
            digest=digest,
            original=text,
            familiar_name=name,
        )

    @property
    def is_docker_hub(self) -> bool:
        """True for images served by Docker Hub (``node``, ``docker.io/library/node``, ...)."""
        return self.registry == DOCKER_HUB

    @property
    def is_scratch(self) -> bool:
        """True for ``scratch``, the reserved empty base image that no registry serves."""
        return self.familiar_name == "scratch" and self.tag is None and self.digest is None

    @property
    def is_official_image(self) -> bool:
        """True for Docker Hub's official images (the ``library/`` namespace)."""
        return self.is_docker_hub and self.repository.startswith("library/")

    @property
    def has_sha256_digest(self) -> bool:
        """True when the reference is pinned by a well-formed sha256 digest."""
        return self.digest is not None and _SHA256_RE.fullmatch(self.digest) is not None

    @property
    def canonical_name(self) -> str:
        """``registry/repository``, e.g. ``docker.io/library/node``: the same for every spelling."""
        return f"{self.registry}/{self.repository}"

    @property
    def cache_key(self) -> str:
        """``registry/repository:tag`` (tag ``latest`` when absent): one entry per image a registry serves."""
        return f"{self.canonical_name}:{self.tag or 'latest'}"

    def with_tag(self, tag: str | None) -> ImageReference:
        """A copy with ``tag`` (validated); the digest is kept, the spelling of the name too."""
        if tag is not None and not _TAG_RE.fullmatch(tag):
            raise InvalidReference(f"{tag!r} is not a valid tag")
        updated = replace(self, tag=tag)
        return replace(updated, original=updated.render())

    def with_digest(self, digest: str | None) -> ImageReference:
        """A copy pinned to ``digest`` (validated); the tag stays so the line remains readable."""
        if digest is not None and not _DIGEST_RE.fullmatch(digest):
            raise InvalidReference(f"{digest!r} is not a valid digest")
        updated = replace(self, digest=digest)
        return replace(updated, original=updated.render())

    def render(self) -> str:
        """``name[:tag][@digest]`` with the name spelled as the user wrote it."""
        text = self.familiar_name
        if self.tag is not None:
            text += f":{self.tag}"
        if self.digest is not None:
            text += f"@{self.digest}"
        return text

    def __str__(self) -> str:
        return self.render()


def _split_domain(name: str) -> tuple[str | None, str]:
    """Split off the registry the way Docker decides whether the first component is a host."""
    first, slash, rest = name.partition("/")
    if not slash:
        return None, name
    looks_like_host = "." in first or ":" in first or first == "localhost" or first.lower() != first
    if looks_like_host:
        return first, rest
    return None, name


# -- the official images under every name ----------------------------------------------------------

# Docker Hub's official images are also published per architecture (`arm64v8/node`); `library/`
# is the namespace every official image lives in.
OFFICIAL_NAMESPACES = frozenset(
    {"library", "amd64", "arm32v5", "arm32v6", "arm32v7", "arm64v8", "i386", "ppc64le", "s390x", "riscv64"}
)

# The registry mirrors of this run (`--registry-mirror`, or `registry-mirror` in the configuration):
# a pull-through mirror serves Docker Hub's images under its own host name, so `mirror.example/node`
# is the official image too. Held in a context variable because the rules ask about an image text
# deep inside code that knows nothing of the run's options; the runner sets it for each file.
_MIRROR_HOSTS: ContextVar[frozenset[str]] = ContextVar("mirror_hosts", default=frozenset())


def mirror_host(mirror: str | None) -> str | None:
    """The host (and port) of a mirror URL such as ``https://mirror.example:5000/``; None without one."""
    if not mirror:
        return None
    text = mirror.strip()
    netloc = urllib.parse.urlsplit(text if "://" in text else f"//{text}").netloc
    return netloc.lower() or None


def use_registry_mirror(mirror: str | None) -> None:
    """Make the mirror's host name the official images' too, for the checks that follow in this context."""
    host = mirror_host(mirror)
    _MIRROR_HOSTS.set(frozenset({host}) if host else frozenset())


def is_official_image_named(text: str, repository: str, mirrors: frozenset[str] | None = None) -> bool:
    """True when `text` names Docker Hub's official `repository` image under any of its names.

    `node`, `docker.io/node`, `docker.io/library/node`, `index.docker.io/library/node`,
    `registry-1.docker.io/library/node`, the per-architecture `arm64v8/node`, the same names on
    a registry mirror (`mirrors`, by default the run's `--registry-mirror`), and any registry's
    `.../library/node` (a pull-through cache keeps Docker Hub's path). A name whose registry or
    namespace is a build variable (`${REGISTRY}/node`) counts too: its default is the official image
    in every Dockerfile that uses the pattern. Tag and digest do not matter.
    """
    hosts = _MIRROR_HOSTS.get() if mirrors is None else mirrors
    name = text.split("@", 1)[0].lower()
    slash, colon = name.rfind("/"), name.rfind(":")
    if colon > slash:
        name = name[:colon]
    parts = name.split("/")
    if parts[-1] != repository:
        return False
    if len(parts) == 1:
        return True
    domain, path = _split_domain("/".join(parts))
    if domain is not None and (domain in DOCKER_HUB_ALIASES or domain in hosts):
        namespaces = path.split("/")[:-1]
        return not namespaces or (len(namespaces) == 1 and namespaces[0] in OFFICIAL_NAMESPACES)
    namespace = parts[-2]
    return namespace in OFFICIAL_NAMESPACES or namespace.startswith("$")
