"""What a rule may look at besides the document: the project, the user's options, the services.

The services (the registry client, the Node.js data) are made on first use and shared across
files, so a run that needs none of them never loads them, and tests can hand in their own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from functools import cached_property, lru_cache
from pathlib import Path

from .dockerfile.document import Document, Stage
from .edits import Finding
from .guard import RealImageJudge
from .project.build_context import Project
from .project.build_graph import DockerfileBuilds
from .project.image_package import image_project
from .project.npmscripts import development_reason
from .sources.cache import user_cache_dir
from .sources.images import NodeImages
from .sources.nodedata import NodeData
from .sources.registry import RegistryClient
from .sources.semver import InvalidVersionError, parse_node_version

LTS_OLDEST = "lts-oldest"
"""The oldest LTS line with at least 12 months of support left: where an end-of-life major moves by default."""
LTS_NEWEST = "lts-newest"
"""The newest LTS line (the active LTS)."""


@dataclass
class Options:
    """What the user asked for, as far as rules need to know."""

    unsafe_fixes: bool = False
    offline: bool = False
    # The major upgrades move to (`22`), or a policy (`lts-oldest`, `lts-newest`); None: each
    # rule's default (rules/version_policy.py).
    node_version: str | None = None
    registry_mirror: str | None = None
    today: date = field(default_factory=date.today)


def checked_node_version(value: str) -> str:
    """A Node.js version or policy as Options.node_version holds it (`v22.11` -> `22.11`, `LTS-Oldest` ->
    `lts-oldest`); ValueError if it is neither.

    The one check of `--node-version` and of a configuration's `node-version`.
    """
    policy = value.strip().lower()
    if policy in (LTS_OLDEST, LTS_NEWEST):
        return policy
    try:
        return str(parse_node_version(value.strip()))
    except InvalidVersionError:
        raise ValueError(
            f"not a Node.js version like 22 or 22.11.0, nor {LTS_OLDEST} or {LTS_NEWEST}: {value}"
        ) from None


class Services:
    """The registry client and the Node.js data, made on first use and shared across files.

    Rules reach the network and the data only through here, so a run that needs neither never
    imports them, and tests can hand in a client pointed at a loopback registry.
    """

    def __init__(
        self,
        options: Options,
        *,
        cache_dir: Path | None = None,
        docker_config: Path | None = None,
        use_cache: bool = True,
    ):
        self.options = options
        # `use_cache` False (--isolated): neither the registry digests nor the Node.js data
        # `--update-data` left in the cache are read or written, so what a run says depends on
        # nothing but the files and flags it was given; offline, no digest is known.
        self.cache_dir = None if not use_cache else cache_dir if cache_dir is not None else user_cache_dir()
        self.docker_config = docker_config

    @cached_property
    def registry(self) -> RegistryClient:
        # The client itself is plain standard library (nodedata needs it too); its HTTP layer is
        # imported at its own door, registry.http_transport, when a request is made.
        return RegistryClient(
            mirror=self.options.registry_mirror,
            offline=self.options.offline,
            cache_dir=self.cache_dir,
            docker_config=self.docker_config,
            disk_cache=self.cache_dir is not None,
        )

    @cached_property
    def node_data(self) -> NodeData:
        return _load_node_data(self.cache_dir)

    @cached_property
    def node_images(self) -> NodeImages:
        """The model of the official node image's tags and variants (sources.images)."""
        return NodeImages.load(self.cache_dir)


@lru_cache(maxsize=4)
def _load_node_data(cache_dir: Path | None) -> NodeData:
    # Reading 171 advisories takes tens of milliseconds: once per process, not per Dockerfile.
    return NodeData.load(cache_dir)


class RuleContext:
    """Everything a rule may look at besides the document."""

    def __init__(
        self,
        dockerfile: Path,
        project: Project,
        options: Options,
        services: Services | None = None,
        builds: DockerfileBuilds | None = None,
    ):
        self.dockerfile = dockerfile
        self.project = project
        self.options = options
        # How the repository builds and runs this Dockerfile (compose, workflows, Tilt, skaffold,
        # scripts) and which other Dockerfiles share its build context; None where nothing says.
        self.builds = builds
        # Made here when none is handed in, so a rule can always reach one.
        self.services = services if services is not None else Services(options)
        # The codes of the rules this run applies (None: every rule), for a rule whose fix
        # waits on another's (DF002 on an npm 6 base that DF007 moves to a newer Node.js).
        self.rule_codes: frozenset[str] | None = None
        self._pass: PassFacts | None = None

    @property
    def today(self) -> date:
        return self.options.today

    def start_pass(self, doc: Document) -> None:
        """A pass of the rules over `doc` begins: what they work out about it is kept until the next
        one, which may see other project files (the overlay of the fixes applied so far)."""
        self._pass = PassFacts(doc, self)

    def facts(self, doc: Document) -> PassFacts:
        """What several rules ask of `doc`, each worked out once in the pass under way; for a
        document no pass is checking (a fix tried on its own), worked out afresh."""
        if self._pass is not None and self._pass.doc is doc:
            return self._pass
        return PassFacts(doc, self)

    @cached_property
    def real_images(self) -> RealImageJudge:
        """The real-image guard of this check, which keeps what it found for each text it judged."""
        return RealImageJudge(self.project, self.services.node_images, self.today)


class PassFacts:
    """Facts about one document that several rules of a pass need, each worked out on first ask."""

    def __init__(self, doc: Document, ctx: RuleContext):
        self.doc = doc
        self.ctx = ctx
        self._development_reasons: dict[int, str | None] = {}
        # DF007's finding on the Node.js version of each stage (by index), kept by DF007: DF002
        # asks it too, to know whether the stage's npm 6 base moves to a newer Node.js.
        self.node_upgrades: dict[int, Finding | None] = {}
        self._image_projects: dict[int, Project] = {}

    def development_reason(self, stage: Stage) -> str | None:
        """`npmscripts.development_reason` of the stage, with the repository's builds."""
        if stage.index not in self._development_reasons:
            ctx = self.ctx
            reason = development_reason(ctx.project, self.doc, stage, ctx.dockerfile, builds=ctx.builds)
            self._development_reasons[stage.index] = reason
        return self._development_reasons[stage.index]

    def image_project(self, stage: Stage) -> Project:
        """`image_package.image_project` of the stage: the package in its working directory."""
        if stage.index not in self._image_projects:
            self._image_projects[stage.index] = image_project(self.ctx.project, self.doc, stage)
        return self._image_projects[stage.index]
