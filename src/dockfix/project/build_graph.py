"""The build graph of a repository: for each Dockerfile, how it is built and run.

A Dockerfile alone does not say which folder it is built from; the repository does. The files
that build images (build_sources.py: compose files, GitHub workflows, Tiltfiles, skaffold, and
package.json or Makefile scripts running `docker build`) give each Dockerfile its build sites:
context, build args, target and, for a compose service, how the image runs. The build context
used to fix a Dockerfile is chosen from them, in this order:

1. the first build site whose context is inside the repository tree (compose, then skaffold,
   Tilt, workflows and scripts; within a kind, by file path), so `docker/Dockerfile` built with
   `context: .` is checked against the root's package.json and writes the root's .dockerignore;
2. else the nearest folder, the Dockerfile's own and then each folder above it up to the tree's
   root, that holds every COPY and ADD source of the file (a file copied from the local context,
   not from a stage, an image or a URL);
3. else the Dockerfile's own folder.

A context that would leave the tree (`context: ../..` above the root, an absolute path, `~`) is
recorded with `outside` set, and never used: nothing is ever read from or written there. Every
choice records where it came from (`compose.yaml service api: context .`), for the reports.
"""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass, field
from pathlib import Path

from ..dockerfile.document import DockerfileSyntaxError, Document
from .build_sources import (
    BuildSite,
    compose_sites,
    makefile_sites,
    package_json_sites,
    skaffold_sites,
    tiltfile_sites,
    workflow_sites,
)
from .compose import ComposeProblem, ServiceRuntime
from .fsutil import FileProblem, read_regular_head

KIND_ORDER = ("compose", "skaffold", "tilt", "workflow", "script")
MAX_DOCKERFILE = 1024 * 1024


@dataclass
class BuildFiles:
    """The files of a tree that say how images are built, by kind, as a folder search meets them."""

    compose: list[Path] = field(default_factory=list)
    workflows: list[Path] = field(default_factory=list)
    tiltfiles: list[Path] = field(default_factory=list)
    skaffold: list[Path] = field(default_factory=list)
    package_json: list[Path] = field(default_factory=list)
    makefiles: list[Path] = field(default_factory=list)


@dataclass(frozen=True)
class ContextChoice:
    """The build context chosen for a Dockerfile, and why."""

    context: Path
    reason: str
    site: BuildSite | None = None  # the build site it came from, if one


@dataclass
class DockerfileBuilds:
    """One Dockerfile: every place that builds it, the context chosen, and contexts left out."""

    dockerfile: Path
    sites: list[BuildSite]
    choice: ContextChoice
    outside: list[BuildSite] = field(default_factory=list)  # sites whose context leaves the tree
    # The other Dockerfiles of the tree built from the same context: a change to that context's
    # .dockerignore concerns them too.
    siblings: tuple[Path, ...] = ()
    # The Dockerfile as choosing its context read and parsed it (None when a build site chose the
    # context, or it could not be parsed): fixing takes it for the same bytes, not parsing them again.
    document: Document | None = field(default=None, repr=False, compare=False)

    @property
    def runtimes(self) -> list[ServiceRuntime]:
        """How the compose services built from this Dockerfile run it."""
        return [site.runtime for site in self.sites if site.runtime is not None]

    @property
    def build_args(self) -> list[tuple[str, str | None]]:
        """Every build argument any build site passes (`NODE_ENV=development`), in site order."""
        return [pair for site in self.sites for pair in site.args]


@dataclass
class BuildGraph:
    """The Dockerfiles of one tree (a repository, or the folder searched) and how each is built."""

    root: Path
    dockerfiles: dict[Path, DockerfileBuilds] = field(default_factory=dict)
    sites: list[BuildSite] = field(default_factory=list)  # every build site read, in order
    problems: list[str] = field(default_factory=list)  # build files that could not be read
    # Each site's Dockerfile, links resolved, by the path the site names: placing every Dockerfile
    # of a tree compares it with every site, and resolving a path is a system call per component.
    _resolved: dict[Path, str] = field(default_factory=dict, repr=False, compare=False)

    def place(self, dockerfile: Path) -> DockerfileBuilds:
        """Choose the Dockerfile's build context from the sites that build it (choose_context)."""
        key = _key(dockerfile)
        sites = [site for site in self.sites if self._resolved_key(site.dockerfile) == key]
        builds = self.dockerfiles[dockerfile] = choose_context(dockerfile, sites, self.root)
        return builds

    def _resolved_key(self, path: Path) -> str:
        if path not in self._resolved:
            self._resolved[path] = _key(path)
        return self._resolved[path]

    def by_context(self) -> dict[str, list[Path]]:
        """The Dockerfiles placed, by their build context (normalised): a change to a context's
        .dockerignore concerns all of its Dockerfiles."""
        grouped: dict[str, list[Path]] = {}
        for path, builds in self.dockerfiles.items():
            grouped.setdefault(os.path.normpath(builds.choice.context), []).append(path)
        return grouped


def _key(path: Path) -> str:
    return os.path.normcase(os.path.realpath(path))


def inside(path: Path, root: Path) -> bool:
    """Whether `path` lies in `root`, links resolved: a context through a link out of the tree does not."""
    resolved, top = os.path.realpath(path), os.path.realpath(root)
    return resolved == top or resolved.startswith(top.rstrip(os.sep) + os.sep)


def _shown(path: Path, root: Path) -> str:
    relative = os.path.relpath(os.path.abspath(path), os.path.abspath(root))
    return relative.replace(os.sep, "/")


def read_sites(root: Path, files: BuildFiles) -> tuple[list[BuildSite], list[str]]:
    """Every build site the tree's build files give, and the files that could not be read."""
    sites: list[BuildSite] = []
    problems: list[str] = []
    for compose in files.compose:
        try:
            sites += compose_sites(compose)
        except ComposeProblem as problem:
            problems.append(
                f"{compose}: cannot read the compose file: {problem}; its Dockerfiles are searched as usual"
            )
    for path in files.skaffold:
        sites += skaffold_sites(path)
    for path in files.tiltfiles:
        sites += tiltfile_sites(path)
    for path in files.workflows:
        sites += workflow_sites(path, root)
    for path in files.package_json:
        sites += package_json_sites(path)
    for path in files.makefiles:
        sites += makefile_sites(path)
    return sites, problems


def copy_sources(source: bytes) -> list[str]:
    """The local sources of the file's COPY and ADD instructions (not `--from`, URLs, heredocs, variables)."""
    return _copy_sources_of(Document.parse(source))


def _copy_sources_of(document: Document) -> list[str]:
    sources = []
    for instruction in document.instructions:
        if instruction.name not in ("COPY", "ADD") or instruction.flag("from") is not None:
            continue
        for word in instruction.words[:-1]:
            if word.startswith("<<") or "$" in word or "://" in word or word.startswith("git@"):
                continue
            sources.append(word)
    return sources


def read_document(dockerfile: Path) -> Document | None:
    """The Dockerfile parsed, or None when it cannot be read or parsed (processing it says why)."""
    try:
        return Document.parse(read_regular_head(dockerfile, MAX_DOCKERFILE))
    except (FileProblem, DockerfileSyntaxError):
        return None


def _has_sources(folder: Path, sources: list[str]) -> bool:
    for source in sources:
        relative = source.lstrip("/") or "."
        if glob.has_magic(relative):
            if not glob.glob(glob.escape(str(folder)) + os.sep + relative):
                return False
        elif not (folder / relative).exists():
            return False
    return True


def nearest_context(dockerfile: Path, root: Path) -> ContextChoice:
    """The Dockerfile's own folder or the nearest folder above it, up to `root`, with all its COPY sources."""
    return _nearest_context(dockerfile, root, read_document(dockerfile))


def _nearest_context(dockerfile: Path, root: Path, document: Document | None) -> ContextChoice:
    own = Path(os.path.abspath(dockerfile)).parent
    if document is None:
        # Processing the file reports why it cannot be read; its folder is as good as any here.
        return ContextChoice(own, "the Dockerfile's folder")
    sources = _copy_sources_of(document)
    if not sources:
        return ContextChoice(own, "the Dockerfile's folder (it copies nothing from its context)")
    top = Path(os.path.abspath(root))
    folder = own
    while True:
        if _has_sources(folder, sources):
            if folder == own:
                return ContextChoice(own, "the Dockerfile's folder (its COPY sources are there)")
            return ContextChoice(folder, f"nearest folder with the COPY sources: {_shown(folder, top)}")
        if folder == top or folder == folder.parent or not inside(folder.parent, top):
            return ContextChoice(own, "the Dockerfile's folder (no folder up to the root has all its COPY sources)")
        folder = folder.parent


def _described(site: BuildSite, root: Path) -> str:
    return f"{_shown(site.source, root)} {site.origin}: context {_shown(site.context, root)}"


def choose_context(dockerfile: Path, sites: list[BuildSite], root: Path) -> DockerfileBuilds:
    """Where the Dockerfile is built from: its build sites first, else the nearest folder with its sources."""
    ordered = sorted(sites, key=lambda site: (KIND_ORDER.index(site.kind), str(site.source)))
    kept = [site for site in ordered if inside(site.context, root)]
    left_out = [site for site in ordered if site not in kept]
    document = None
    if kept:
        site = kept[0]
        choice = ContextChoice(Path(os.path.abspath(site.context)), _described(site, root), site)
    else:
        document = read_document(dockerfile)
        choice = _nearest_context(dockerfile, root, document)
        if left_out:
            reason = (
                f"{_described(left_out[0], root)} is outside {_shown(root, root.parent)}, not used; {choice.reason}"
            )
            choice = ContextChoice(choice.context, reason)
    return DockerfileBuilds(dockerfile, ordered, choice, left_out, document=document)


def read_graph(root: Path, files: BuildFiles) -> BuildGraph:
    """The build sites of the tree at `root`; Dockerfiles are then placed in it with `place`."""
    graph = BuildGraph(root=root)
    graph.sites, graph.problems = read_sites(root, files)
    return graph


def build_graph(root: Path, dockerfiles: list[Path], files: BuildFiles) -> BuildGraph:
    """The build graph of the tree at `root` for the Dockerfiles found in it."""
    graph = read_graph(root, files)
    for dockerfile in dockerfiles:
        graph.place(dockerfile)
    return graph
