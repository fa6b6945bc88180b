"""The kinds of build-context file a rule may read besides the Dockerfile.

Each rule declares the kinds it reads (rules/rule.py, `Rule.reads`). A pass of the pipeline
whose fixes wrote only other files (a `.dockerignore`, a signal handler in the app's code) and
left the Dockerfile as it was runs again only the rules that read a kind of file it wrote: the
others would find what they found in the pass before.
"""

from __future__ import annotations

from enum import Enum
from pathlib import PurePath

from ..appcode.syntax import language_of
from .node_tooling import LOCKFILES


class ProjectInput(Enum):
    """A kind of file of the build context, as a rule reads it (its bytes, or whether it exists)."""

    DOCKERIGNORE = "dockerignore"  # `.dockerignore`, `<Dockerfile>.dockerignore`
    APP_CODE = "app-code"  # JavaScript and TypeScript sources (`server.js`, `next.config.mjs`)
    PACKAGE = "package"  # package.json, lockfiles, package-manager and TypeScript settings
    OTHER = "other"  # any other file or folder: scripts, compose files, `.env`, other Dockerfiles


EVERY_INPUT = frozenset(ProjectInput)
"""What a rule that reads files the Dockerfile names (a COPY source, a secret's source) declares:
such a file may be of any kind."""

PACKAGE_FILES = frozenset(
    {"package.json", *LOCKFILES, ".npmrc", ".yarnrc", ".yarnrc.yml", "bunfig.toml", "tsconfig.json"}
)


def input_of(path: PurePath) -> ProjectInput:
    """The kind of a build-context file, by its name."""
    name = path.name
    if name == ".dockerignore" or name.endswith(".dockerignore"):
        return ProjectInput.DOCKERIGNORE
    if name in PACKAGE_FILES:
        return ProjectInput.PACKAGE
    if language_of(path) is not None:
        return ProjectInput.APP_CODE
    return ProjectInput.OTHER
