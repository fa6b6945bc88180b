"""An explicit Node.js LTS tag, pinned by the digest the registry serves.

## What it does
Rewrites a floating or missing tag of the official Node.js image (`FROM node`, `node:latest`,
`node:lts`, `node:current`, `node:alpine`, a codename like `node:iron`) to an explicit major of
the active LTS line as of the run date, what `lts` means that day (`--node-version` overrides
it: a major, `lts-oldest` or `lts-newest`), within package.json's `engines.node`, or the major of
the stages it shares build output with. The new tag is one the image really has, and the build
keeps everything it ran:

- The variant the file chose is kept where the major is built on it; a Debian release it is not
  built on (`lts-buster`, `wheezy`) becomes the nearest newer release still supported
  (`26-bookworm`), keeping `-slim`; an Alpine minor it lacks becomes its default `alpine`.
- A bare tag is the full Debian image. It becomes the alpine variant only when nothing the
  build runs (in the stage, the stages built on it, or the stages it shares files with) needs
  Debian: apt-get, dpkg, useradd/groupadd, bash, a glibc binary (tini's default build,
  PhantomJS), native addons (read from package-lock.json, yarn.lock, pnpm-lock.yaml and the
  known packages), or files copied to or from a glibc stage. Else it becomes the Debian slim
  variant, unless the build needs what only the full image has (python3, make, g++ for native
  addons compiled at install; git, curl, wget): then the full image (`node:26`). A project whose
  dependencies are plain JavaScript needs none of that: `npm ci` runs on alpine.
- Yarn v1 (gone from the Node.js 26 images) and Corepack (gone from Node.js 25) are installed
  right after FROM when the build runs them, and the active LTS is kept: see the policy below.
- Packages an `apt-get install` names that the new release dropped become their equivalent
  there (`python` -> `python3`, `libasound2` -> `libasound2t64`); with no equivalent, the newest
  Debian release of the major that has them is used (`26-bookworm`).
- `node:onbuild`: the image is retired; the steps it ran in the stage built on it (copy
  package.json, `npm install`, copy the app, `npm start`) are written out after FROM.
- A malformed tag (`node:12-`) is reported and left as it is; a tag the image never had
  (`node:26-buster`) is reported, and so is one it published once but no longer rebuilds on a
  line it still builds (`node:22-alpine3.22`, which gets no more security fixes): docker-node's
  history says which tags the image ever published.

Package managers: the images of Node.js 24 still bundle Yarn v1 and Corepack (supported until
2028-04-30); a floating tag made explicit keeps the active LTS it names today and adds
`RUN npm install --global yarn@1` (or the Yarn 1 release package.json's `packageManager` names)
or `RUN npm install --global corepack@latest` (which also puts its `yarn` and `pnpm` shims on the
PATH) after FROM, where the image's user is still root: the same tool the old image had, before
its first use. `--node-version 24` (or `lts-oldest`) keeps the bundled tools instead. A FROM
under a comment that says not to update it keeps its image, and is reported as it is.

Every stage built on an image from a registry (build stages and other images too) is pinned as
`name:tag@sha256:<digest>`, the digest the registry serves for the tag today (for a
multi-platform tag, the digest of its index). Stage aliases and `scratch` are not images;
`FROM ${BASE}` is pinned in the default of the ARG when that default is a literal image.
Windows images are left alone.

A pin goes stale: `node:24-alpine@sha256:...` is right the day it is written, and when the
official image is rebuilt for a security fix the tag moves on while the pin keeps the old image.
Online, each `tag@sha256:` pin is checked against the digest the registry serves for the tag now
(the index digest, all platforms), asked of the registry, never of the digest cache, once per tag
per run:

- The tag still serves the pin (its index, or one platform's manifest the index lists, pinned on
  purpose): nothing is said.
- The tag has moved: the fresh digest is the fix, with the date its images were built where the
  index says it (`org.opencontainers.image.created`); where it does not, the message says the date
  is not known.
- The pin names one platform's manifest and the tag now serves an index: the finding names the
  new index and leaves the choice of platform to you (no edit).
- The registry no longer has the pinned image, so nobody can tell whether it named one platform:
  the fresh index digest is an unsafe fix.
- The tag is gone, or the registry cannot be reached or refuses: one line says what could not be
  checked, and the file keeps its pin.

Offline, pins are not checked. A reference pinned by digest alone (`node@sha256:...`) has no tag
to check; a FROM under a comment that says not to update it keeps its pin. Renovate or Dependabot
can keep these pins fresh instead: see docs/pinning.md to choose one, never both.

## Why
`node:latest` moves to a new major (and a new set of breaking changes) without a change to the
Dockerfile; an unpinned tag changes under the same name with every rebuild of the image. Two
builds of one commit should produce the same image. The tag stays next to the digest so the line
is still readable and Renovate or Dependabot can update both. Alpine images are several times
smaller than the Debian ones, but use musl: native modules compiled for glibc and apt-based
build steps need the Debian variant.

## Example
    FROM node
becomes
    FROM node:26-alpine@sha256:4f3c...

## Fix safety
- Pinning the digest of the tag the file already names is safe: it is the image the file builds
  today. So is refreshing a stale pin of the tag's index to the index it serves now.
- A fresh pin for an image the registry no longer has is unsafe: the old pin may have named one
  platform on purpose.
- Any change of tag, major or variant is unsafe: a new major can break the app.
- Offline without a cached digest, the tag is made explicit and the missing digest reported; a
  registry that is down or refuses gives a warning on that line. A new tag the registry does
  not serve is never written: the finding says so and the file keeps its tag.

## Related hadolint rules
DL3006 (always tag the version of an image explicitly), DL3007 (using latest is prone to errors).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from ..context import LTS_NEWEST, RuleContext
from ..dockerfile.document import Document, Instruction, Stage
from ..dockerfile.imageref import ImageReference, InvalidReference
from ..dockerfile.stages import copied_stages, family, is_node_image, is_windows, stage_chain
from ..edits import Applicability, Edit, Finding, Fix
from ..guard import stage_image
from ..project.inputs import ProjectInput
from ..sources.images import MalformedTag, NodeTag, TagState
from ..sources.registry import OfflineCacheMiss, RegistryError, TagNotFound
from .node_tag_plan import Plan, Refusal, confirm_tag, plan_tag, split_onbuild
from .own_word import do_not_update_comment
from .rule import Rule
from .version_policy import NoTarget, Target, upgrade_target

_WHOLE_VARIABLE = re.compile(r"^\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))$")


@dataclass(frozen=True, slots=True)
class BaseSite:
    """Where a stage's external image reference is written and can be edited.

    `text` is the reference as written at `start`..`end` of the source: in the FROM line, or in
    the default of the global ARG a `FROM ${NAME}` stands for (`via_arg` names it then).
    """

    text: str
    start: int
    end: int
    line: int
    via_arg: str | None = None


def base_site(doc: Document, stage: Stage) -> BaseSite | str | None:
    """Where the stage's image reference can be edited; a reason string when it cannot; None for no image.

    None: the stage builds on an earlier stage or on `scratch`.
    """
    if not stage.is_external:
        return None
    inst = stage.from_instruction
    base = stage.base
    if "$" not in base:
        return _site_in(doc, inst, inst.args_start, base)
    match = _WHOLE_VARIABLE.match(base)
    if match is None:
        return (
            f"the image `{base}` is put together from build arguments, so its digest cannot be "
            "pinned here; put the whole image reference in one ARG default (ARG BASE=node:26-alpine, FROM ${BASE}) to pin it"
        )
    name = match.group(1) or match.group(2)
    site = arg_default_site(doc, name)
    if site is None:
        return f"the image comes from ARG {name}, which has no literal default to pin"
    return site


def _site_in(doc: Document, inst: Instruction, logical_start: int, text: str) -> BaseSite | str:
    raw = text.encode()
    if inst.logical[logical_start : logical_start + len(raw)] != raw:
        return f"the image `{text}` is written in a way dockfix cannot edit safely"
    start, end = inst.source_span(logical_start, logical_start + len(raw))
    if doc.source[start:end] != raw:
        return f"the image `{text}` is split over several lines; join it to let dockfix pin it"
    return BaseSite(text, start, end, inst.line)


def arg_default_site(doc: Document, name: str) -> BaseSite | None:
    """The literal default of the last global `ARG name=value` (the one FROM sees), if any."""
    found = None
    pattern = re.compile(rb"(?:^|[ \t])" + re.escape(name.encode()) + rb"=(\"?)([^\s\"'$\\]+)\1(?=[ \t]|$)")
    for inst in doc.global_args:
        args = inst.logical[inst.args_start : inst.args_end]
        match = pattern.search(args)
        if match is None:
            if re.search(rb"(?:^|[ \t])" + re.escape(name.encode()) + rb"(?:=|[ \t]|$)", args):
                found = None  # declared again, without a default we can read
            continue
        offset = inst.args_start + match.start(2)
        site = _site_in(doc, inst, offset, match.group(2).decode("utf-8", "replace"))
        found = site if isinstance(site, BaseSite) else None
        if found is not None:
            found = BaseSite(found.text, found.start, found.end, found.line, via_arg=name)
    return found


def stages_on_site(doc: Document, site: BaseSite) -> list[Stage]:
    """The external stages whose image reference is written at `site`."""
    stages = []
    for stage in doc.stages:
        other = base_site(doc, stage)
        if isinstance(other, BaseSite) and (other.start, other.end) == (site.start, site.end):
            stages.append(stage)
    return stages


def target_major(ctx: RuleContext) -> int:
    """The major an end-of-life one moves to (rules/version_policy.py); the active LTS when none may."""
    target = upgrade_target(ctx)
    return target.major if isinstance(target, Target) else ctx.services.node_data.active_lts_major(ctx.today)


def resolve(ctx: RuleContext, ref: ImageReference) -> tuple[str | None, str | None]:
    """(digest, problem): the digest the registry serves for `ref`, or why there is none."""
    try:
        return ctx.services.registry.resolve_digest(ref), None
    except OfflineCacheMiss:
        return None, f"the digest of {ref} is missing (offline, and not in the cache): run online once to pin it"
    except RegistryError as error:
        return None, f"cannot pin {ref} by digest: {error.message}"


def _tag_change(doc: Document, stage: Stage, site: BaseSite, replacement: str, plan: Plan) -> Fix:
    """The unsafe fix that writes the new reference, and what the new tag needs with it.

    When the family changes (Debian to Alpine), other rules' fixes planned in the same pass
    were made for the old family (an `apt-get install` on what becomes Alpine), so the fix asks
    for a pass of its own and the others are planned again on the new base.
    """
    fix = Fix.unsafe(Edit(site.start, site.end, replacement.encode()), *plan.edits)
    new_family = "alpine" if plan.variant.startswith("alpine") else "debian"
    return fix if family(doc, stage) == new_family else fix.alone()


def _short(digest: str) -> str:
    return digest[:19] + "…"


def _floating(
    doc: Document, ctx: RuleContext, stage: Stage, site: BaseSite, ref: ImageReference, tag: NodeTag
) -> Finding:
    """The finding for a floating node tag: the active LTS major, in a variant that exists and
    keeps everything the build runs."""
    # The tag planning (and the real-image guard it asks) only for a floating tag: most files have none.
    where = f" (default of ARG {site.via_arg})" if site.via_arg else ""
    stages = stages_on_site(doc, site)
    built_for = _major_built_for(doc, ctx, stages)
    runtime_major = built_for[0] if built_for is not None else None
    # `lts` names the newest LTS line: made explicit, it says the same (or what the options ask).
    target = upgrade_target(ctx, default=LTS_NEWEST)
    head = f"`{site.text}`{where} is a floating tag"
    if runtime_major is not None:
        major = runtime_major
    elif isinstance(target, NoTarget):
        return Finding(RULE.code, f"{head}, but {target.reason}: choose the tag by hand", site.line)
    else:
        major = target.major
    plan = plan_tag(
        doc,
        ctx,
        stages,
        version=str(major),
        major=major,
        variant=tag.variant,
        choose_variant=split_onbuild(tag.variant)[0] == "",
        repair=True,
        write=lambda new_tag: [Edit(site.start, site.end, str(ref.with_tag(new_tag)).encode())],
    )
    if isinstance(plan, Refusal):
        return Finding(RULE.code, f"{head}, but {plan.reason}: choose the tag by hand", site.line)
    new_ref = ref.with_tag(plan.tag)
    allowed, digest, note = confirm_tag(ctx, new_ref)
    if not allowed:
        return Finding(RULE.code, f"{head}: {note}", site.line)
    if digest is not None:
        new_ref = new_ref.with_digest(digest)
    notes = "".join(f", {n}" for n in plan.notes)
    if built_for is not None:
        chosen = built_for[1]
    elif isinstance(target, Target) and not target.chosen_by_default:
        chosen = f"Node.js {major} ({target.why})"
    else:
        chosen = f"the active LTS major {major}"
    message = f"{head}: use {chosen}{notes}: `{new_ref}`"
    if note:
        message += f"; {note}"
    return Finding(RULE.code, message, site.line, _tag_change(doc, stage, site, str(new_ref), plan))


def _major_built_for(doc: Document, ctx: RuleContext, stages: list[Stage]) -> tuple[int, str] | None:
    """The Node.js major of the node stages that copy from `stages` (else of those `stages` copy
    from), when they name one, agree and are supported, and how the message names it: what a
    build stage makes (node_modules, native addons) must run on the major that runs it."""
    on_site = {stage.index for stage in stages}
    # The stages on the site and those built on them: copies between them stay on one image.
    indexes = {other.index for other in doc.stages if any(m.index in on_site for m in stage_chain(doc, other))}
    runners, builders = set(), set()
    for other in doc.stages:
        for _inst, source in copied_stages(doc, other):
            if other.index not in indexes and source.index in indexes:
                runners.add(stage_image(doc, other, ctx.services.node_images, ctx.today).major)
            elif other.index in indexes and source.index not in indexes:
                builders.add(stage_image(doc, source, ctx.services.node_images, ctx.today).major)
    for majors, whose in ((runners, "the stage that runs what it builds"), (builders, "the stage whose build it runs")):
        if len(majors) != 1:
            continue
        major = majors.pop()
        if major is not None and not ctx.services.node_data.is_end_of_life(major, ctx.today):
            return major, f"the major {major} of {whose}"
        return None
    return None


def _stale_pin(ctx: RuleContext, site: BaseSite, ref: ImageReference, where: str) -> Iterator[Finding]:
    """Online, a `tag@digest` pin the tag has moved on from: the fresh digest, or why there is none."""
    written = f"`{site.text}`{where}"
    tag = ref.with_digest(None)
    try:
        check = ctx.services.registry.check_pin(ref)
    except OfflineCacheMiss:
        return
    except TagNotFound:
        yield Finding(
            RULE.code,
            f"{written}: the registry no longer serves {tag}, so whether the pin is current is not known",
            site.line,
        )
        return
    except RegistryError as error:
        yield Finding(RULE.code, f"{written}: could not check whether the pin is current: {error.message}", site.line)
        return
    served = check.served
    if check.current or served is None:
        return
    if served.created is not None:
        built = f"its images were built on {served.created}, as its manifest says"
    else:
        built = "the registry does not say when the tag moved"
    moved = f"{written} is a stale pin: {tag} has moved to {_short(served.digest)} ({built})"
    platform = check.pins_one_platform
    if platform:
        yield Finding(
            RULE.code,
            f"{moved}; the pin names one platform's image, and the tag now serves an index of platforms: "
            "pin by hand the new image of the platform you need, or the index",
            site.line,
        )
        return
    fresh = Edit(site.start, site.end, str(ref.with_digest(served.digest)).encode())
    if platform is None:
        unknown = "the registry no longer has the pinned image, so whether it named one platform is not known"
        yield Finding(
            RULE.code, f"{moved}; {unknown}: pin the index the tag serves today", site.line, Fix.unsafe(fresh)
        )
        return
    yield Finding(RULE.code, f"{moved}: pin the image the tag serves today", site.line, Fix.safe(fresh))


def held_by_comment(doc: Document, site: BaseSite) -> str | None:
    """The comment above a FROM on `site` (or above its ARG) that says not to update the image, if any."""
    instructions = [stage.from_instruction for stage in stages_on_site(doc, site)]
    instructions += [inst for inst in doc.global_args if site.via_arg and inst.line == site.line]
    return next(filter(None, (do_not_update_comment(doc, inst) for inst in instructions)), None)


def _no_longer_updated(ctx: RuleContext, tag: NodeTag) -> str:
    """What to say of a tag the image published and no longer rebuilds, on a line it still builds
    (`node:22-alpine3.22`): it gets no more Node.js or OS security fixes. (A tag of a line the
    image no longer builds is DF007's: that line is end-of-life.)"""
    images = ctx.services.node_images
    message = "exists but is no longer updated: the image no longer rebuilds it with Node.js or OS security fixes"
    variant = images.variant_on(tag.major, tag.variant, ctx.today) if tag.major is not None else None
    if variant is None:
        return f"{message}; name a tag it still builds"
    current = f"{tag.major}-{variant}" if variant else str(tag.major)
    if images.tag_exists(current, ctx.today) is not True:
        return f"{message}; name a tag it still builds"
    return f"{message}; name a tag it still builds, such as `node:{current}`"


def check(doc: Document, ctx: RuleContext) -> Iterator[Finding]:
    seen_sites: set[tuple[int, int]] = set()
    images = ctx.services.node_images
    for stage in doc.stages:
        if is_windows(doc, stage):
            continue
        site = base_site(doc, stage)
        if site is None:
            continue
        line = stage.from_instruction.line
        if isinstance(site, str):
            yield Finding(RULE.code, site, line)
            continue
        if (site.start, site.end) in seen_sites:
            continue
        seen_sites.add((site.start, site.end))
        try:
            ref = ImageReference.parse(site.text)
        except InvalidReference:
            continue
        if ref.is_scratch:
            continue
        where = f" (default of ARG {site.via_arg})" if site.via_arg else ""
        if ref.digest is not None:
            if ref.tag is not None and not ctx.services.registry.offline and held_by_comment(doc, site) is None:
                yield from _stale_pin(ctx, site, ref, where)
            continue
        held = held_by_comment(doc, site)
        if held is not None:
            message = f"`{site.text}`{where} is left as it is: the comment above it says not to update it (`{held}`)"
            yield Finding(RULE.code, message, site.line)
            continue
        if is_node_image(site.text):
            try:
                tag = NodeTag.parse(ref.tag)
            except MalformedTag as error:
                yield Finding(RULE.code, f"`{site.text}`{where}: {error}; name a tag the node image has", site.line)
                continue
            if tag.version is None:
                yield _floating(doc, ctx, stage, site, ref, tag)
                continue
            state = images.tag_state(ref.tag, ctx.today)
            if state is TagState.NOT_A_TAG:
                yield Finding(RULE.code, f"`{site.text}`{where} is not a tag of the official node image", site.line)
                continue
            if state is TagState.NO_LONGER_UPDATED and images.still_builds_line(ref.tag, ctx.today):
                yield Finding(RULE.code, f"`{site.text}`{where} {_no_longer_updated(ctx, tag)}", site.line)
                continue
        explicit = ref if ref.tag is not None else ref.with_tag("latest")
        digest, problem = resolve(ctx, explicit)
        if digest is None:
            message = f"`{site.text}`{where} is not pinned by digest; {problem}"
            yield Finding(RULE.code, message, site.line, digest_unresolved=True)
            continue
        pinned = explicit.with_digest(digest)
        yield Finding(
            RULE.code,
            f"`{site.text}`{where} is not pinned by digest: pin the image the tag serves today ({_short(digest)})",
            site.line,
            Fix.safe(Edit(site.start, site.end, str(pinned).encode())),
        )


RULE = Rule(
    code="DF001",
    name="explicit-base-image",
    summary="Use an explicit Node.js LTS tag and pin every base image by digest",
    fix_safety={
        Applicability.SAFE: "pinning, or refreshing, the digest of the tag already named",
        Applicability.UNSAFE: "a new tag, major or variant; a fresh pin whose old image the registry no longer has",
    },
    docs=__doc__,
    check=check,
    reads=frozenset({ProjectInput.PACKAGE}),
)
