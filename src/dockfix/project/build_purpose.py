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

from collections import ChainMap
from collections.abc import Iterable, Iterator, Mapping
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


def node_env_builds_each(
    doc: Document, stage: Stage, builds: DockerfileBuilds | None
) -> Iterator[tuple[Instruction, list[BuildNodeEnv]]]:
    """`node_env_builds` before each instruction of the stage, in one walk (asking it for every
    instruction would walk the stage once per instruction)."""
    walks = [_NodeEnvWalk(doc, {}, "the default build")]
    walks.extend(_NodeEnvWalk(doc, dict(site.args), describe(site)) for site in sites_building(stage, builds))
    chain = stage_chain(doc, stage)
    for walk in walks:
        walk.take_stages(reversed(chain[1:]))
        walk.enter_stage()
    for inst in stage.instructions:
        yield inst, [walk.result() for walk in walks]
        for walk in walks:
            walk.take(inst)


def node_env_at(
    doc: Document, stage: Stage, before: Instruction | None, build_args: Mapping[str, str | None], build: str
) -> BuildNodeEnv:
    """NODE_ENV at `before` for one build: ENV lines of the stage chain, and the ARGs the stage
    declares (their default, the global default, or the build's value)."""
    walk = _NodeEnvWalk(doc, build_args, build)
    chain = stage_chain(doc, stage)
    walk.take_stages(reversed(chain[1:]))
    walk.enter_stage()
    for inst in stage.instructions:
        if inst is before:
            break
        walk.take(inst)
    return walk.result()


class _NodeEnvWalk:
    """The variables one build has set so far, walking a stage chain an instruction at a time."""

    def __init__(self, doc: Document, build_args: Mapping[str, str | None], build: str):
        self.escape = doc.escape.decode()
        self.global_defaults = arg_defaults(doc.global_args)
        self.build_args = build_args
        self.build = build
        # A variable maps to its value; "" for an ARG declared without a value that the build
        # does not pass (it expands to nothing); None where the build passes it without a value
        # (compose `args: [NODE_ENV]` takes it from the shell that runs the build: not known here).
        self.env: dict[str, str | None] = {}
        self.args: dict[str, str | None] = {}

    def take_stages(self, stages: Iterable[Stage]) -> None:
        for member in stages:
            self.enter_stage()
            for inst in member.instructions:
                self.take(inst)

    def enter_stage(self) -> None:
        self.args = {}  # an ARG is seen only in the stage that declares it; ENV is inherited

    def take(self, inst: Instruction) -> None:
        if inst.name == "ARG":
            for word in shell_words(inst.args, raw_quotes=False):
                name, assigned, default = word.partition("=")
                if name in self.build_args:
                    self.args[name] = self.build_args[name]
                else:
                    self.args[name] = default if assigned else (self.global_defaults.get(name) or "")
        elif inst.name == "ENV":
            line = read_env(inst.args, self.escape)
            for name, written in line.pairs:
                self.env[name] = substitute_args(_unquoted(written.strip()), ChainMap(self.env, self.args))

    def result(self) -> BuildNodeEnv:
        value = self.env["NODE_ENV"] if "NODE_ENV" in self.env else self.args.get("NODE_ENV", "")
        return BuildNodeEnv(self.build, value or None, known=value is not None)


def _unquoted(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    return value
