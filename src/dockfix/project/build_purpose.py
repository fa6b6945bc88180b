"""What the repository builds a Dockerfile for, and the NODE_ENV each build gives its steps.

A Dockerfile alone may look like a production image while the repository builds it for
development: a compose service or a Tiltfile passes the build arg `NODE_ENV=development`, or
runs the image with `nodemon` or a `dev` script. The same file is often also built for
production, by another build site or by a plain `docker build` that takes the default of
`ARG NODE_ENV=production`: such a file must keep honouring its ARG, and nothing may hard-code
production settings into it.

npm, Yarn and pnpm leave dev dependencies out when NODE_ENV is `production` in the environment
of the install, which an `ENV NODE_ENV=...` or an `ARG NODE_ENV=...` (ARGs are in the
environment of a RUN) before it sets: `node_env_builds` says which value each build gives.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..dockerfile.document import Document, Instruction, Stage, arg_defaults
from ..dockerfile.stages import stage_chain
from ..dockerfile.words import read_env, shell_words, substitute_args

if TYPE_CHECKING:
    from .build_graph import DockerfileBuilds
    from .build_sources import BuildSite

# NODE_ENV values that ask for a development or test build (npm then installs dev dependencies).
DEVELOPMENT_VALUES = frozenset({"development", "dev", "test"})
PRODUCTION_VALUE = "production"


@dataclass(frozen=True, slots=True)
class BuildNodeEnv:
    """The NODE_ENV one build gives an instruction: `value` None when unset, `known` False when
    it depends on something the build does not say (an ARG passed without a value)."""

    build: str  # `the default build`, or the build site (`Tiltfile docker_build api (line 2)`)
    value: str | None
    known: bool = True

    @property
    def production(self) -> bool:
        return self.known and self.value == PRODUCTION_VALUE


def describe(site: BuildSite) -> str:
    return f"{site.source.name} {site.origin}"


def sites_building(stage: Stage, builds: DockerfileBuilds | None) -> list[BuildSite]:
    """The build sites that build `stage`: those without a target, or whose target is its name.

    A site whose `target` names an earlier stage builds that stage, not this one."""
    if builds is None:
        return []
    alias = (stage.alias or "").lower()
    return [site for site in builds.sites if site.target is None or site.target.lower() == alias]


def node_env_builds(
    doc: Document, stage: Stage, before: Instruction | None, builds: DockerfileBuilds | None
) -> list[BuildNodeEnv]:
    """The NODE_ENV in the environment of `before` (None: the end of the stage) for the default
    build (no build args) and for each build site that builds the stage."""
    found = [node_env_at(doc, stage, before, {}, "the default build")]
    for site in sites_building(stage, builds):
        found.append(node_env_at(doc, stage, before, dict(site.args), describe(site)))
    return found


def node_env_at(
    doc: Document, stage: Stage, before: Instruction | None, build_args: Mapping[str, str | None], build: str
) -> BuildNodeEnv:
    """NODE_ENV at `before` for one build: ENV lines of the stage chain, and the ARGs the stage
    declares (their default, the global default, or the build's value)."""
    escape = doc.escape.decode()
    global_defaults = arg_defaults(doc.global_args)
    # A variable maps to its value; "" for an ARG declared without a value that the build does
    # not pass (it expands to nothing); None where the build passes it without a value (compose
    # `args: [NODE_ENV]` takes it from the shell that runs the build: not known here).
    env: dict[str, str | None] = {}
    args: dict[str, str | None] = {}
    for member in reversed(stage_chain(doc, stage)):
        args = {}  # an ARG is seen only in the stage that declares it; ENV is inherited
        for inst in member.instructions:
            if inst is before:
                break
            if inst.name == "ARG":
                for word in shell_words(inst.args, raw_quotes=False):
                    name, assigned, default = word.partition("=")
                    if name in build_args:
                        args[name] = build_args[name]
                    else:
                        args[name] = default if assigned else (global_defaults.get(name) or "")
            elif inst.name == "ENV":
                line = read_env(inst.args, escape)
                for name, written in line.pairs:
                    env[name] = substitute_args(_unquoted(written.strip()), {**args, **env})
    value = env["NODE_ENV"] if "NODE_ENV" in env else args.get("NODE_ENV", "")
    return BuildNodeEnv(build, value or None, known=value is not None)


def _unquoted(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    return value
