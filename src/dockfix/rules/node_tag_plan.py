"""Which tag of the official node image a stage moves to, and what else must move with it.

DF001 (a floating tag made explicit) and DF007 (a dead or vulnerable release upgraded) both
write a new `node:<tag>`. The tag must exist (`sources.images`), and the build must still find
on it everything it ran on the old one. Each candidate tag, in the order of preference, is
written into the document with the edits it needs, and the real-image guard (`guard.check`) is
asked whether the result has a problem the current file does not have; the first candidate that
has none is proposed. What a candidate needs besides the tag:

- Package managers: the Node.js 26 images have no Yarn v1 and Node.js 25 dropped Corepack. A
  stage that runs them gets an explicit install right after its FROM, before any use and while
  the image's user is still root: `npm install --global yarn@1` (the version package.json's
  `packageManager` names when it is a Yarn 1 release) or `npm install --global corepack@latest`
  (the npm package brings the `yarn` and `pnpm` shims too). The major is the one the version
  policy chose (rules/version_policy.py); on Node.js 24, its default today, both are bundled
  and nothing is added.
- Distribution packages: an `apt-get install` (or `apk add`) of a package the new release no
  longer has is rewritten to its equivalent there (`python` -> `python3`, what node-gyp needs);
  with no equivalent, the next Debian release the major is built on is tried (`26-bookworm`).
- The retired `onbuild` images ran hidden steps in the stage built on them: they are written
  out after FROM (copy package.json, `npm install`, copy the app, `npm start`).
- A bare tag (`node`, `node:lts`) is the full Debian image: the small alpine variant is chosen
  when nothing the build runs needs Debian or glibc (and the project has no native addons),
  else the Debian slim variant when nothing needs the compilers and tools of the full image,
  else the full image.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from .. import guard
from ..context import RuleContext
from ..dockerfile.document import Document, Stage
from ..dockerfile.imageref import ImageReference
from ..dockerfile.stages import external_base, split_image
from ..edit_helpers import insert_line_after
from ..edits import Edit, apply_edits
from ..sources.images import (
    ALPINE_PACKAGE_EQUIVALENTS,
    DEBIAN_PACKAGE_EQUIVALENTS,
    NodeImages,
    TagState,
    alpine_package_available,
    bundles_corepack,
    bundles_yarn,
    debian_package_available,
    parse_variant,
)
from ..sources.registry import OfflineCacheMiss, RegistryError, TagNotFound

ONBUILD_STEPS = (
    "# What the retired node:onbuild image ran when a stage was built on it",
    "WORKDIR /usr/src/app",
    "ARG NODE_ENV",
    "ENV NODE_ENV=$NODE_ENV",
    "COPY package.json /usr/src/app/",
    "RUN npm install && npm cache clean --force",
    "COPY . /usr/src/app",
)
ONBUILD_CMD = 'CMD ["npm", "start"]'
_YARN_1 = re.compile(r"^1\.\d+\.\d+$")


@dataclass(frozen=True, slots=True)
class Plan:
    """A tag to write, the edits it needs besides the reference itself, and what the message
    should say about them."""

    tag: str
    variant: str
    edits: tuple[Edit, ...]
    notes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why no tag of the new major keeps the build working."""

    reason: str


@dataclass(frozen=True, slots=True)
class _Candidate:
    variant: str
    why: str  # what the message says about the variant ("" when it is the file's own)


def split_onbuild(variant: str) -> tuple[str, bool]:
    """`onbuild` -> ("", True); `slim-onbuild` -> ("slim", True); others unchanged."""
    if variant == "onbuild" or variant.endswith("-onbuild"):
        return variant[: -len("onbuild")].rstrip("-"), True
    return variant, False


def plan_tag(
    doc: Document,
    ctx: RuleContext,
    stages: list[Stage],
    *,
    version: str,
    major: int,
    variant: str,
    choose_variant: bool,
    repair: bool,
    write: Callable[[str], list[Edit] | None],
) -> Plan | Refusal:
    """The tag `version-<variant>` of Node.js `major` the external `stages` should move to.

    `variant` is the one the file names; with `choose_variant` (a bare tag, the full image) the
    smallest variant the build allows is chosen. `repair` (a change of major or of variant)
    allows the edits that keep the tools and packages the file uses. `write(tag)` gives the
    edits that write the tag at the reference, or None when the reference cannot say it.
    """
    images: NodeImages = ctx.services.node_images
    today = ctx.today
    base_variant, onbuild = split_onbuild(variant)
    candidates = _candidates(images, major, base_variant, choose_variant, today)
    if not candidates:
        return Refusal(f"Node.js {major} has no `{variant}` variant, nor one like it")
    dependents = _built_on(doc, stages)
    baseline = ctx.real_images.problems(doc)
    rejected: list[tuple[str, str]] = []  # (tag, why not)
    for candidate in candidates:
        tag = f"{version}-{candidate.variant}" if candidate.variant else version
        tried = _try(doc, ctx, stages, dependents, baseline, tag, major, onbuild, repair, write)
        if isinstance(tried, str):
            rejected.append((tag, tried))
            continue
        edits, notes = tried
        if rejected:
            refused_tag, why_not = rejected[-1] if choose_variant else rejected[0]
            notes.insert(0, f"not `node:{refused_tag}`: {why_not}")
        if candidate.why:
            notes.insert(0, candidate.why)
        return Plan(tag, candidate.variant, tuple(edits), tuple(notes))
    last = f"`node:{rejected[-1][0]}`: {rejected[-1][1]}" if rejected else "none found"
    return Refusal(f"no tag of Node.js {major} keeps this build working (last tried {last})")


def _try(
    doc: Document,
    ctx: RuleContext,
    stages: list[Stage],
    dependents: list[Stage],
    baseline: list[guard.Problem],
    tag: str,
    major: int,
    onbuild: bool,
    repair: bool,
    write: Callable[[str], list[Edit] | None],
) -> tuple[list[Edit], list[str]] | str:
    """The edits and notes that move the stages to `node:<tag>`, or why that tag will not do."""
    images: NodeImages = ctx.services.node_images
    state = images.tag_state(tag, ctx.today)
    if state is not TagState.CURRENT:
        return "no longer updated" if state is TagState.NO_LONGER_UPDATED else "not a tag of the official node image"
    site_edits = write(tag)
    if site_edits is None:
        return "the reference cannot be written with that tag here"
    image = images.variant(tag, ctx.today)
    if image is not None and image.distro == "alpine" and not _on_alpine(doc, stages, ctx.real_images):
        # The addons installed on glibc that Alpine would not take as they are: those compiled at
        # install, and the prebuilt binaries for glibc alone (one with no libc runs on both).
        project = ctx.project
        on_glibc = project.native_addons("glibc")
        natives = sorted(
            set(on_glibc) - set(project.native_addons("musl")) | set(project.native_addons("glibc", compiled=True))
        )
        if natives:
            return f"the project has native addons ({', '.join(natives[:3])}) built for glibc, not Alpine's musl"
        across = _copies_across_libc(doc, dependents, ctx.real_images)
        if across:
            return across
    edits: list[Edit] = []
    notes: list[str] = []
    if repair and image is not None:
        renames, missing = _package_renames(doc, dependents, image.distro, image.release, ctx.real_images)
        if missing:
            return missing
        edits.extend(edit for edit, _ in renames)
        notes.extend(note for _, note in renames)
        inserted, install_notes = _after_from(doc, ctx, stages, dependents, major, onbuild)
        edits.extend(inserted)
        notes.extend(install_notes)
    elif onbuild:
        return "the onbuild image ran hidden steps that only an upgrade writes out"
    problems = _new_problems(doc, ctx, baseline, [*site_edits, *edits])
    if problems is None:
        return "the Dockerfile would no longer parse"
    if problems:
        return f"{problems[0].message} (line {problems[0].line})"
    return edits, notes


def _candidates(images: NodeImages, major: int, variant: str, choose: bool, today: date) -> list[_Candidate]:
    if choose:
        return [
            _Candidate("alpine", "the small alpine variant (nothing the build runs needs Debian)"),
            _Candidate("slim", "the Debian slim variant"),
            _Candidate("", "the full Debian image"),
        ]
    first = images.variant_on(major, variant, today)
    if first is None:
        return []
    why = "" if first == variant else f"`{first}` for `{variant}`, which Node.js {major} is not built on"
    candidates = [_Candidate(first, why)]
    parsed = parse_variant(first)
    release = images.release(major)
    if parsed is not None and parsed.distro == "debian" and release is not None:
        same = release.concrete(first)
        for other in images.debian_variants(major, parsed.slim):
            if other != same:
                candidates.append(
                    _Candidate(other, f"`{other}`, the newest Debian release with every package installed")
                )
    return candidates


def _on_alpine(doc: Document, stages: list[Stage], judge: guard.RealImageJudge) -> bool:
    """Whether the stages already stand on Alpine (then native addons were already built for it)."""
    for stage in stages:
        image = judge.stage_image(doc, stage)
        if image.variant is not None and image.variant.distro == "alpine":
            return True
    return False


def _copies_across_libc(doc: Document, dependents: list[Stage], judge: guard.RealImageJudge) -> str | None:
    """Why files would cross between the stages (moving to Alpine) and a glibc stage: what a
    build installs (prebuilt binaries of dependencies) is made for the libc it ran on."""
    inside = {stage.index for stage in dependents}
    by_name = {stage.alias.lower(): stage for stage in doc.stages if stage.alias}
    for stage in doc.stages:
        for inst in stage.instructions:
            flag = inst.flag("from") if inst.name == "COPY" else None
            if flag is None or flag.value is None:
                continue
            value = flag.value.lower()
            source = by_name.get(value) or (
                doc.stages[int(value)] if value.isdigit() and int(value) < len(doc.stages) else None
            )
            if source is None or (source.index in inside) == (stage.index in inside):
                continue
            other = stage if source.index in inside else source
            variant = judge.stage_image(doc, other).variant
            if variant is not None and variant.libc == "glibc":
                return f"files are copied between it and the glibc stage on line {other.from_instruction.line} (line {inst.line})"
    return None


def _new_problems(
    doc: Document, ctx: RuleContext, baseline: list[guard.Problem], edits: list[Edit]
) -> list[guard.Problem] | None:
    problems = ctx.real_images.problems_of_text(apply_edits(doc.source, edits))
    return None if problems is None else guard.introduced(baseline, problems)


def _package_renames(
    doc: Document, stages: list[Stage], distro: str, release: str | None, judge: guard.RealImageJudge
) -> tuple[list[tuple[Edit, str]], str | None]:
    """Edits that install, on `release`, the equivalent of each package it no longer has; or the
    first package that has none. A package the stage's image already lacks is not the move's
    doing, and is left as it is."""
    tools: tuple[str, ...]
    if distro == "debian":
        available, equivalents, tools = debian_package_available, DEBIAN_PACKAGE_EQUIVALENTS, ("apt-get", "apt")
        verb = "install"
    else:
        available, equivalents, tools = alpine_package_available, ALPINE_PACKAGE_EQUIVALENTS, ("apk",)
        verb = "add"
    renames: list[tuple[Edit, str]] = []
    for stage in stages:
        now = judge.stage_image(doc, stage).variant
        now_release = now.release if now is not None and now.distro == distro else None
        for inst in stage.instructions:
            for script in inst.scripts:
                for command in script.commands:
                    argv = command.argv
                    if not argv or argv[0].rsplit("/", 1)[-1] not in tools or verb not in argv:
                        continue
                    words = command.args[argv.index(verb) :]
                    for word in words:
                        if word.text.startswith("-") or "$" in word.text:
                            continue
                        package = word.text.split("=", 1)[0]
                        if available(package, release) is not False or available(package, now_release) is False:
                            continue
                        name = "Debian" if distro == "debian" else "Alpine"
                        replacement = equivalents.get(package)
                        if replacement is None or word.raw.decode("utf-8", "replace") != word.text:
                            return [], f"{name} {release} has no package `{package}`"
                        start, end = script.to_source(word.start, word.end)
                        text = " ".join(replacement)
                        renames.append(
                            (
                                Edit(start, end, text.encode()),
                                f"`{package}` becomes `{text}` ({name} {release} has no `{package}`)",
                            )
                        )
    return renames, None


def _built_on(doc: Document, stages: list[Stage]) -> list[Stage]:
    """The stages whose chain holds one of `stages` (they included), found in one pass: a stage
    builds only on an earlier one, so its parent's answer is known when it is reached."""
    chosen = {stage.index for stage in stages}
    holds: list[bool] = []
    for stage in doc.stages:
        parent = stage.parent_stage
        holds.append(stage.index in chosen or (parent is not None and holds[parent]))
    return [stage for stage in doc.stages if holds[stage.index]]


def _after_from(
    doc: Document,
    ctx: RuleContext,
    stages: list[Stage],
    dependents: list[Stage],
    major: int,
    onbuild: bool,
) -> tuple[list[Edit], list[str]]:
    """Lines to write right after the FROM of each of `stages`: the hidden steps of an onbuild
    image (in the stages built on one: a stage that moves with it on another variant ran none),
    and the install of a package manager the new major no longer has."""
    edits: list[Edit] = []
    notes: list[str] = []
    for stage in stages:
        lines: list[str] = []
        if onbuild and _built_on_onbuild(doc, stage):
            lines.extend(ONBUILD_STEPS)
            if not any(inst.name in ("CMD", "ENTRYPOINT") for inst in stage.instructions):
                lines.append(ONBUILD_CMD)
            if not notes:
                notes.append("the steps the retired onbuild image ran are written out after FROM")
        needed: set[str] = set()
        built_on_it = {s.index for s in _built_on(doc, [stage])}
        for dependent in dependents:
            if dependent.index in built_on_it:
                needed.update(guard.missing_tools(doc, dependent, major, inherited=True))
        install = _install_for(needed, ctx)
        if install is not None:
            lines.append(f"RUN npm install --global {install}")
            note = _install_note(ctx, needed, major, install)
            if note not in notes:
                notes.append(note)
        if lines:
            edits.append(insert_line_after(doc, stage.from_instruction, doc.newline.decode().join(lines)))
    return edits, notes


def _built_on_onbuild(doc: Document, stage: Stage) -> bool:
    _name, tag = split_image(external_base(doc, stage))
    return tag is not None and split_onbuild(tag)[1]


def _install_for(needed: set[str], ctx: RuleContext) -> str | None:
    if "corepack" in needed:
        return "corepack@latest"
    if "yarn" in needed:
        declared = (ctx.project.package_json or {}).get("packageManager")
        version = declared.partition("@")[2].split("+", 1)[0] if isinstance(declared, str) else ""
        if declared and declared.startswith("yarn@") and _YARN_1.match(version):
            return f"yarn@{version}"
        return "yarn@1"
    return None


def _install_note(ctx: RuleContext, needed: set[str], major: int, install: str) -> str:
    tool = "Corepack" if "corepack" in needed else "Yarn v1"
    bundles = bundles_corepack if tool == "Corepack" else bundles_yarn
    data = ctx.services.node_data
    images: NodeImages = ctx.services.node_images
    older = [m for m in images.releases if m < major and bundles(m) and not data.is_end_of_life(m, ctx.today)]
    note = f"{tool} is not in the Node.js {major} image: `RUN npm install --global {install}` is added after FROM"
    if older:
        last = max(older)
        end = data.end_of_life_date(last)
        when = f" on {end.isoformat()}" if end else ""
        note += f" (Node.js {last} still bundles it, but leaves support{when}; the install keeps the newer line)"
    return note


def confirm_tag(ctx: RuleContext, ref: ImageReference) -> tuple[bool, str | None, str | None]:
    """(may propose, digest, note): online, the tag must be served; its digest pins it. Offline,
    or with a registry that cannot answer, the model of the image has already said it exists."""
    try:
        return True, ctx.services.registry.resolve_digest(ref), None
    except OfflineCacheMiss:
        return True, None, f"the digest of {ref} is missing (offline, and not in the cache): run online once to pin it"
    except TagNotFound:
        return False, None, f"`{ref}` is not in the registry, so it is not proposed"
    except RegistryError as error:
        return True, None, f"the registry could not confirm `{ref}` exists: {error.message}"
