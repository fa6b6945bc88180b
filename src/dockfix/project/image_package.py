"""Which package.json of the build context the image has in its working directory.

A monorepo's Dockerfile often copies one package (`COPY packages/api/package.json ./`) and runs
its scripts (`npm run start:prod`): those scripts are that package's, not the root's. The copies
are followed back through the stages they come from (`COPY --from=build /app/package.json .`).
"""

from __future__ import annotations

import fnmatch
import posixpath

from ..dockerfile.document import Document, Instruction, Stage
from ..dockerfile.stages import copied_stages, next_workdir, stage_chain
from .build_context import Project

_MAX_STAGE_DEPTH = 5


def image_project(project: Project, doc: Document, stage: Stage) -> Project:
    """The project as the stage's working directory holds it: the package whose package.json the
    stage copies there, when that is another folder of the build context than its root."""
    workdir = _final_workdir(doc, stage)
    folder = package_folder(project, doc, stage, workdir) if workdir is not None else None
    if folder is None or folder == ".":
        return project
    path = project.path(folder)
    return project if path is None else Project(path, project.overlay)


def _final_workdir(doc: Document, stage: Stage) -> str | None:
    current: str | None = "/"
    for member in reversed(stage_chain(doc, stage)):
        for inst in member.instructions:
            current = next_workdir(current, inst)
    return current


def package_folder(project: Project, doc: Document, stage: Stage, folder: str, depth: int = 0) -> str | None:
    """The folder of the build context (`.`, `packages/api`) whose package.json the stage puts at
    `folder` (an absolute path in the image); None when no copy that can be read puts one there."""
    found: str | None = None
    workdir: str | None = "/"
    sources_of = {id(inst): source for inst, source in copied_stages(doc, stage)}
    for member in reversed(stage_chain(doc, stage)):
        for inst in member.instructions:
            workdir = next_workdir(workdir, inst)
            if inst.name not in ("COPY", "ADD") or workdir is None or inst.heredocs:
                continue
            source_stage = sources_of.get(id(inst))
            if inst.flag("from") is not None and source_stage is None:
                continue  # another image: what it holds is not known here
            for landed in _landings(inst, workdir, folder):
                if source_stage is None:
                    relative = posixpath.normpath(landed.lstrip("/"))
                    if project.exists(posixpath.join(relative, "package.json")):
                        found = relative
                elif depth < _MAX_STAGE_DEPTH:
                    inner = posixpath.normpath(posixpath.join("/", landed))
                    found = package_folder(project, doc, source_stage, inner, depth + 1) or found
    return found


def _landings(inst: Instruction, workdir: str, folder: str) -> list[str]:
    """The source folders (as the COPY names them) that may hold the package.json this copy
    puts at `folder`, the last one last."""
    words = inst.words
    if len(words) < 2:
        return []
    sources, target = words[:-1], words[-1]
    if "$" in target:
        return []
    destination = posixpath.normpath(posixpath.join(workdir, target))
    into_folder = target.endswith("/") or target in (".", "./") or len(sources) > 1
    found = []
    for source in sources:
        name = posixpath.basename(source.rstrip("/"))
        whole_folder = source.endswith("/") or source in (".", "./") or "." not in name
        if whole_folder and "$" not in source and "*" not in source:
            # `COPY packages/api/ ./`: the folder's contents, package.json among them.
            relative = posixpath.relpath(folder, destination)
            if not relative.startswith(".."):
                found.append(posixpath.join(source, relative))
        elif fnmatch.fnmatchcase("package.json", name):
            landed = posixpath.join(destination, "package.json") if into_folder else destination
            if landed == posixpath.join(folder, "package.json"):
                found.append(posixpath.dirname(source) or ".")
    return found
