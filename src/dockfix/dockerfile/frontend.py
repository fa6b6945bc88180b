"""Which Dockerfile frontend a file asks for with its `# syntax` line, and whether it reads `RUN --mount`.

`RUN --mount` came with the experimental channel (`docker/dockerfile:1.0-experimental`) and is
stable from `docker/dockerfile:1.2`; `1.0` and `1.1` refuse it, and so does any frontend dockfix
does not know. A file without a `# syntax` line is read by the builder's own frontend: dockfix
adds `# syntax=docker/dockerfile:1` where it writes a mount, so that BuildKit of any age fetches
a frontend that reads it (buildah and podman read the line as a comment and parse mounts
themselves).
"""

from __future__ import annotations

import re

from .document import Document

SYNTAX_LINE = "# syntax=docker/dockerfile:1"
_DOCKERFILE_FRONTEND = re.compile(
    r"(?:docker\.io/)?docker/dockerfile(?:-upstream)?(?::(?P<tag>[A-Za-z0-9._-]+))?(?:@sha256:[0-9a-f]{64})?"
)
_VERSION = re.compile(r"(?P<major>\d+)(?:\.(?P<minor>\d+))?(?:\.\d+)?(?P<channel>-[a-z]+)?")
_MOVING_TAGS = frozenset({"latest", "labs", "master", "master-labs", "mainline", "nightly", "experimental"})


def syntax_directive(doc: Document) -> str | None:
    """The value of the file's `# syntax` directive, or None."""
    return next((value for key, value in doc.directives.items() if key.lower() == "syntax"), None)


def run_mount_refused(doc: Document) -> str | None:
    """Why the frontend the file asks for refuses `RUN --mount`; None where it reads it (or the file names none)."""
    syntax = syntax_directive(doc)
    if syntax is None:
        return None
    match = _DOCKERFILE_FRONTEND.fullmatch(syntax.strip())
    if match is None:
        return f"its `# syntax` frontend `{syntax.strip()}` is not one dockfix knows to read `RUN --mount`"
    tag = match.group("tag") or "latest"
    if tag in _MOVING_TAGS or "experimental" in tag:
        return None
    version = _VERSION.fullmatch(tag)
    if version is None:
        return f"its `# syntax` frontend `{syntax.strip()}` is not one dockfix knows to read `RUN --mount`"
    major, minor = int(version.group("major")), version.group("minor")
    if major > 1 or (major == 1 and (minor is None or int(minor) >= 2)):
        return None
    return f"its `# syntax` line pins `{syntax.strip()}`, a frontend older than 1.2 that refuses `RUN --mount`"
