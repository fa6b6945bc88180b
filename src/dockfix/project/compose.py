"""The Dockerfiles a compose file builds, their build contexts, and how their services run.

The file is read with PyYAML's safe loader (yamlfile.py: a size limit, and documents heavy with
aliases refused), so every YAML form compose files use is understood: block and flow mappings,
quoted scalars, anchors and `<<` merges. Under each service, `build` is either a string (the
context folder) or a mapping whose `context`, `dockerfile`, `args` and `target` are read; a
build this reader cannot follow (a remote context such as a Git URL, `dockerfile_inline`, a value
that depends on the environment such as `${APP_DIR}`) is left out: those Dockerfiles are still
found by name. What the service does with the image at run time (`cap_add`, `privileged`, `user`,
`command`, `entrypoint`, `healthcheck`, `volumes`, `environment`) is kept with the build: the
rules that change how the image runs need to know it. A file that is not readable YAML raises
ComposeProblem.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from .yamlfile import YamlProblem, load_yaml_text, read_yaml

_REMOTE = re.compile(r"^[a-z][a-z0-9+.-]*://|^git@|\.git(#.*)?$", re.IGNORECASE)


class ComposeProblem(Exception):
    """The compose file cannot be read; the message is one line."""


@dataclass(frozen=True)
class ServiceRuntime:
    """How a compose service runs its image: what the rules that change the runtime must honour."""

    cap_add: tuple[str, ...] = ()
    privileged: bool = False
    user: str | None = None
    command: tuple[str, ...] | str | None = None  # a list in exec form, a string in shell form
    entrypoint: tuple[str, ...] | str | None = None
    healthcheck: tuple[str, ...] | str | None = None  # the healthcheck's `test`
    volumes: tuple[str, ...] = ()  # as written, `./data:/app/data` or the target of a long form
    environment: tuple[tuple[str, str | None], ...] = ()

    @property
    def needs_root(self) -> bool:
        """Capabilities or privileged mode: the service expects to run as root."""
        return self.privileged or bool(self.cap_add)


@dataclass(frozen=True)
class ComposeBuild:
    """One service's build: the Dockerfile, the folder it is built from, and how the service runs it."""

    service: str
    context: Path
    dockerfile: Path
    args: tuple[tuple[str, str | None], ...] = ()
    target: str | None = None
    runtime: ServiceRuntime = field(default_factory=ServiceRuntime)


def _text(value: object) -> str | None:
    """A scalar as compose reads it (numbers and booleans are strings there); None for the rest."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    return None


def _pairs(value: object) -> tuple[tuple[str, str | None], ...]:
    """`args`/`environment` as a mapping (`KEY: value`) or a list (`KEY=value`, or `KEY` alone)."""
    if isinstance(value, dict):
        return tuple((str(key), _text(item)) for key, item in value.items())
    if isinstance(value, list):
        pairs = []
        for item in value:
            text = _text(item)
            if text is None:
                continue
            key, separator, rest = text.partition("=")
            pairs.append((key, rest if separator else None))
        return tuple(pairs)
    return ()


def _command(value: object) -> tuple[str, ...] | str | None:
    if isinstance(value, list):
        return tuple(text for text in map(_text, value) if text is not None)
    return _text(value)


def _volume(value: object) -> str | None:
    if isinstance(value, dict):  # the long form: {type, source, target}
        return _text(value.get("target"))
    return _text(value)


def _runtime(service: dict) -> ServiceRuntime:
    healthcheck = service.get("healthcheck")
    cap_add = service.get("cap_add")
    volumes = service.get("volumes")
    return ServiceRuntime(
        cap_add=tuple(text for text in map(_text, cap_add) if text) if isinstance(cap_add, list) else (),
        privileged=service.get("privileged") is True,
        user=_text(service.get("user")),
        command=_command(service.get("command")),
        entrypoint=_command(service.get("entrypoint")),
        healthcheck=_command(healthcheck.get("test")) if isinstance(healthcheck, dict) else None,
        volumes=tuple(text for text in map(_volume, volumes) if text) if isinstance(volumes, list) else (),
        environment=_pairs(service.get("environment")),
    )


def _build(name: str, service: dict, folder: Path) -> ComposeBuild | None:
    build = service.get("build")
    settings = {"context": build} if isinstance(build, str) else build
    if not isinstance(settings, dict) or "dockerfile_inline" in settings:
        return None
    context_text = _text(settings.get("context", ".")) or "."
    dockerfile_text = _text(settings.get("dockerfile", "Dockerfile")) or "Dockerfile"
    if _REMOTE.search(context_text) or "$" in context_text or "$" in dockerfile_text:
        return None  # a remote context, or one that depends on the environment
    context = Path(os.path.normpath(folder / os.path.expanduser(context_text)))
    dockerfile = Path(os.path.normpath(context / dockerfile_text))
    return ComposeBuild(
        service=name,
        context=context,
        dockerfile=dockerfile,
        args=_pairs(settings.get("args")),
        target=_text(settings.get("target")),
        runtime=_runtime(service),
    )


def builds_of(data: object, folder: Path) -> list[ComposeBuild]:
    """The builds of a loaded compose document, relative to the folder of its file."""
    services = data.get("services") if isinstance(data, dict) else None
    if not isinstance(services, dict):
        return []
    builds = []
    for name, service in services.items():
        if isinstance(service, dict):
            build = _build(str(name), service, folder)
            if build is not None:
                builds.append(build)
    return builds


def parse_builds(text: str, folder: Path) -> list[ComposeBuild]:
    """The builds named in compose text whose file lies in `folder`; raises ComposeProblem."""
    try:
        return builds_of(load_yaml_text(text), folder)
    except YamlProblem as problem:
        raise ComposeProblem(str(problem)) from None


def read_compose_builds(path: Path) -> list[ComposeBuild]:
    """The builds of the compose file at `path`; raises ComposeProblem when it cannot be read."""
    try:
        return builds_of(read_yaml(path), path.parent)
    except YamlProblem as problem:
        raise ComposeProblem(str(problem)) from None
