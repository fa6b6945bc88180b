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
    return project if path is None else Project(path, project.overlay, project.too_large, project.on_disk)


def package_at(project: Project, doc: Document, stage: Stage, folder: str) -> Project | None:
    """The package whose package.json the stage puts at `folder` (an absolute path in the
    image): what an install there reads. None when no copy that can be read puts one there."""
    found = package_folder(project, doc, stage, folder)
    if found is None:
        return None
    if found == ".":
        return project
    path = project.path(found)
    return None if path is None else Project(path, project.overlay, on_disk=project.on_disk)


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


_INSTALLS = (("npm", "install"), ("npm", "i"), ("npm", "ci"), ("yarn", "install"), ("pnpm", "install"), ("pnpm", "i"))


def may_have_node_modules(doc: Document, stage: Stage) -> bool:
    """Whether the stage may have node_modules in its working directory: it runs a package
    install, or copies a whole folder (or a node_modules) there or above it. False only when
    the stage puts the app together file by file (package.json among them) and no instruction
    can have brought node_modules (its tools installed globally)."""
    workdir = _final_workdir(doc, stage)
    if workdir is None:
        return True
    current: str | None = "/"
    copies_manifest = False
    for member in reversed(stage_chain(doc, stage)):
        for inst in member.instructions:
            current = next_workdir(current, inst)
            if inst.name == "RUN" and any(_is_install(command.argv) for s in inst.scripts for command in s.commands):
                return True
            if inst.name in ("COPY", "ADD"):
                if current is None or _copies_folder_over(inst, current, workdir):
                    return True
                copies_manifest = copies_manifest or any(
                    fnmatch.fnmatchcase("package.json", posixpath.basename(w)) for w in inst.words[:-1]
                )
    return not copies_manifest


def _is_install(argv: list[str]) -> bool:
    positional = [word for word in argv if not word.startswith("-")]
    if any(word in ("-g", "--global") for word in argv):
        return False
    return tuple(positional[:2]) in _INSTALLS or positional == ["yarn"]


def _copies_folder_over(inst: Instruction, current: str, workdir: str) -> bool:
    words = inst.words
    if len(words) < 2 or "$" in words[-1]:
        return True
    destination = posixpath.normpath(posixpath.join(current, words[-1]))
    for source in words[:-1]:
        name = posixpath.basename(source.rstrip("/"))
        if name == "node_modules":
            return True
        folder = source.endswith("/") or source in (".", "./") or "." not in name or "*" in name
        if folder and (workdir + "/").startswith(destination.rstrip("/") + "/"):
            return True
    return False
