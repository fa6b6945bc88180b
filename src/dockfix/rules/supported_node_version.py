"""No end-of-life or known-vulnerable Node.js in the image.

## What it does
Reads the Node.js version a stage's image pins (`node:14.2.0-slim`, `node:22.1-alpine`, or the
default of a build argument such as `ARG NODE_VERSION=18` used in `FROM node:${NODE_VERSION}`)
and checks it against the Node.js release schedule and the security working group's core
vulnerability database, both shipped with dockfix:

- a major past its end-of-life date becomes the active LTS major (`--node-version` overrides
  it), keeping the variant;
- a pinned minor or patch release of a live major with known advisories becomes the smallest
  release of the same major patched against every one of them.

The new tag is one the official image has, chosen as DF001 chooses it: a Debian release the new
major is not built on (`14.19-stretch`, `8-jessie`) becomes the nearest newer supported one
(`26-bookworm`), an Alpine minor it lacks becomes `alpine`; Yarn v1 and Corepack, which the
Node.js 26 and 25 images no longer have, are installed right after FROM when the build runs
them (the active LTS is kept rather than Node.js 24, the last line that bundles both, which
leaves support sooner); `apt-get install` lines keep working on the new Debian release
(`python` -> `python3`), or the newest release that has the packages is used (`26-bookworm`);
an `onbuild` image's hidden steps are written out. When no tag of the new major keeps the build
working, nothing is proposed and the finding says why.

A tag naming only the major (`node:22-alpine`) always gets the newest release of that line, so
only its end of life is checked. A tag naming a minor (`node:24.14`) gets the newest patch release
of that minor, so it is judged by the newest one the data knows of (a release an advisory names as
patched, such as 24.14.1), not by its `.0`: a line whose security release is out is left alone.
Online, the proposed tag is confirmed to exist in the registry
before it is proposed, and pinned by its digest. A reference pinned by digest is upgraded only
to one pinned by digest: offline, the finding names the upgrade and asks for a run online. Data
older than 90 days is reported once per file (`dockfix --update-data` refreshes it).

## Why
An end-of-life Node.js gets no security fixes at all; a pinned old release of a live line misses
the fixes already published for it. Both are known holes an attacker can look up.

## Example
    FROM node:22.1.0-alpine
becomes
    FROM node:22.22.2-alpine

## Fix safety
- A newer release of the same live major is safe: the Node.js project keeps releases of one
  major compatible.
- Moving a dead major to the active LTS major is unsafe: a major upgrade can break the app.
- Windows images are left alone.

## Related hadolint rules
None.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

from ..context import RuleContext
from ..dockerfile.document import Document, Stage
from ..dockerfile.imageref import ImageReference, InvalidReference
from ..dockerfile.stages import copied_stages, is_node_image, is_windows, stage_chain
from ..edits import Applicability, Edit, Finding, Fix
from ..sources.images import MalformedTag, NodeTag
from ..sources.nodedata import Advisory
from ..sources.semver import InvalidVersionError, Version, parse_node_version
from .explicit_base_image import BaseSite, arg_default_site, base_site, held_by_comment
from .node_tag_plan import Refusal, confirm_tag, plan_tag
from .own_word import version_named
from .rule import Rule
from .version_policy import NoTarget, Target, upgrade_target

_VERSION_ARG_TAG = re.compile(r"^\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))(-.*)?$")
_ADVISORIES_SHOWN = 5


class _VersionSite:
    """Where a stage's Node.js version is written, and how to write a new one there.

    Either a whole image reference (in FROM or in an ARG default) or only a version (the
    default of an ARG used as the tag, `node:${NODE_VERSION}-alpine`).
    """

    def __init__(self, site: BaseSite, version: str, variant: str, ref: ImageReference, version_only: bool):
        self.site = site
        self.version = version
        self.variant = variant
        self.ref = ref  # the image reference the stage builds on (with the default substituted)
        self.version_only = version_only


def _version_site(doc: Document, stage: Stage) -> _VersionSite | None:
    site = base_site(doc, stage)
    if isinstance(site, BaseSite):
        if not is_node_image(site.text):
            return None
        try:
            ref = ImageReference.parse(site.text)
            tag = NodeTag.parse(ref.tag)
        except (InvalidReference, MalformedTag):
            return None
        return None if tag.version is None else _VersionSite(site, tag.version, tag.variant, ref, False)
    base = stage.base
    if not stage.is_external or "$" not in base or ":" not in base:
        return None
    name_part, _, tag_text = base.rpartition(":")
    if "$" in name_part or not is_node_image(name_part):
        return None
    match = _VERSION_ARG_TAG.match(tag_text)
    if match is None:
        return None
    arg_site = arg_default_site(doc, match.group(1) or match.group(2))
    if arg_site is None or not re.fullmatch(r"v?\d+(?:\.\d+){0,2}", arg_site.text):
        return None
    variant = (match.group(3) or "").lstrip("-")
    if "$" in variant:
        return None
    try:
        ref = ImageReference.parse(f"{name_part}:{arg_site.text.lstrip('v')}{'-' + variant if variant else ''}")
    except InvalidReference:
        return None
    return _VersionSite(arg_site, arg_site.text.lstrip("v"), variant, ref, True)


def _stages_at(doc: Document, site: BaseSite) -> list[tuple[Stage, _VersionSite]]:
    """The external stages whose Node.js version is written at `site`, with how each reads it."""
    found = []
    for stage in doc.stages:
        other = _version_site(doc, stage)
        if other is not None and (other.site.start, other.site.end) == (site.start, site.end):
            found.append((stage, other))
    return found


def _advisory_list(advisories: Sequence[Advisory]) -> str:
    names = []
    for advisory in advisories[:_ADVISORIES_SHOWN]:
        names.append(", ".join(advisory.cves) if advisory.cves else f"advisory {advisory.id}")
    more = len(advisories) - _ADVISORIES_SHOWN
    return "; ".join(names) + (f" and {more} more" if more > 0 else "")


def _judged(written: str, released: Version) -> str:
    """How the message names the version: `24.13 (its newest known release, 24.13.1)` for a floating tag."""
    return written if written.lstrip("v") == str(released) else f"{written} (its newest known release, {released})"


def check(doc: Document, ctx: RuleContext) -> Iterator[Finding]:
    seen: set[tuple[int, int]] = set()
    for stage in doc.stages:
        found = None if is_windows(doc, stage) else _version_site(doc, stage)
        if found is None or _key(found) in seen:
            continue
        seen.add(_key(found))
        finding = _site_finding(doc, ctx, found)
        if finding is not None:
            if finding.fix is not None and finding.fix.applicability is Applicability.UNSAFE:
                # The stages that move with it have their upgrade in this finding.
                seen.update(_key(other) for other in _companions(doc, found))
            yield finding


RULE = Rule(
    code="DF007",
    name="supported-node-version",
    summary="Upgrade an end-of-life or vulnerable Node.js version",
    fix_safety={Applicability.SAFE: "a patched release of the same major", Applicability.UNSAFE: "a new major"},
    docs=__doc__,
    check=check,
    needs_fresh_node_data=True,
)


def upgrade_of(doc: Document, ctx: RuleContext, stage: Stage) -> Finding | None:
    """This rule's finding on the Node.js version `stage` builds on; None when the version is fine."""
    found = None if is_windows(doc, stage) else _version_site(doc, stage)
    return None if found is None else _site_finding(doc, ctx, found)


def _key(found: _VersionSite) -> tuple[int, int]:
    return found.site.start, found.site.end


def _major_of(found: _VersionSite) -> int | None:
    try:
        return parse_node_version(found.version).major
    except InvalidVersionError:
        return None


def _companions(doc: Document, found: _VersionSite) -> list[_VersionSite]:
    """The other version sites on the same major whose stages pass build output to or from this
    site's stages (through `COPY --from`, directly or through other such stages): they move
    together, or the build runs what one major built on another."""
    major = _major_of(found)
    sites: dict[tuple[int, int], _VersionSite] = {}
    for stage in doc.stages:
        other = None if is_windows(doc, stage) else _version_site(doc, stage)
        if other is not None and _major_of(other) == major and other.ref.digest is None:
            sites.setdefault(_key(other), other)
    if _key(found) not in sites:
        return []
    # Each stage belongs to the site of the external stage at the root of its chain.
    owner: dict[int, tuple[int, int]] = {}
    for stage in doc.stages:
        root = stage_chain(doc, stage)[-1]
        for key, site in sites.items():
            if any(s.index == root.index for s, _ in _stages_at(doc, site.site)):
                owner[stage.index] = key
    linked: dict[tuple[int, int], set[tuple[int, int]]] = {key: set() for key in sites}
    for stage in doc.stages:
        for _inst, source in copied_stages(doc, stage):
            a, b = owner.get(stage.index), owner.get(source.index)
            if a is not None and b is not None and a != b:
                linked[a].add(b)
                linked[b].add(a)
    reached, todo = {_key(found)}, [_key(found)]
    while todo:
        for key in linked[todo.pop()] - reached:
            reached.add(key)
            todo.append(key)
    return [sites[key] for key in sorted(reached) if key != _key(found)]


def _site_finding(doc: Document, ctx: RuleContext, found: _VersionSite) -> Finding | None:
    data = ctx.services.node_data
    site = found.site
    try:
        version = parse_node_version(found.version)
    except InvalidVersionError:
        return None
    where = f" (default of ARG {site.via_arg})" if site.via_arg else ""
    why: str | None = None
    if data.is_end_of_life(version.major, ctx.today):
        end = data.end_of_life_date(version.major)
        reason = f"Node.js {version.major} reached its end of life" + (f" on {end.isoformat()}" if end else "")
        released = data.newest_known_release(version)
        advisories = data.advisories_affecting(released) if version.minor is not None else []
        if advisories:
            reason += f" and {_judged(found.version, released)} is affected by {len(advisories)} known advisories ({_advisory_list(advisories)})"
        target = _new_major(ctx, version.major)
        if isinstance(target, str):
            return Finding(RULE.code, f"{reason}{where}; {target}", site.line)
        if target is None:
            return None
        new_version, new_major, safe_change, why = str(target.major), target.major, False, target.why
    elif version.minor is not None:
        # A floating minor tag (`24.14`) is rebuilt on each patch release of its line: judge
        # the newest one, which may have every advisory patched already.
        released = data.newest_known_release(version)
        advisories = data.advisories_affecting(released)
        if not advisories:
            return None
        patched = data.smallest_patched_version(released)
        reason = f"Node.js {_judged(found.version, released)} is affected by {len(advisories)} known advisories ({_advisory_list(advisories)})"
        if patched is None:
            reason += f"; no release of Node.js {version.major} fixes them all"
            target = _new_major(ctx, version.major)
            if isinstance(target, str):
                return Finding(RULE.code, f"{reason}{where}; {target}", site.line)
            if target is None:
                return None
            new_version, new_major, safe_change, why = str(target.major), target.major, False, target.why
        else:
            new_version, new_major, safe_change = str(patched), version.major, True
    else:
        return None
    held = held_by_comment(doc, found.site)
    if held is not None:
        return Finding(
            RULE.code,
            f"{reason}{where}; the comment above it says not to update it (`{held}`), so it is left as it is",
            site.line,
        )
    return _upgrade(doc, ctx, found, f"{reason}{where}", new_version, new_major, safe_change, why)


def _new_major(ctx: RuleContext, major: int) -> Target | str | None:
    """The major a dead or unpatchable `major` moves to; why there is none (a message); None when it stays."""
    named = version_named(ctx.dockerfile, major)
    if named is not None:
        return (
            f"the path names Node.js {major} (`{named}`): the definition builds that major on purpose, so it is"
            " not moved to another; retire it, or add one for a supported major"
        )
    target = upgrade_target(ctx)
    if isinstance(target, NoTarget):
        return f"{target.reason}, so no upgrade is proposed"
    return None if target.major == major else target


def _upgrade(
    doc: Document,
    ctx: RuleContext,
    found: _VersionSite,
    reason: str,
    version: str,
    major: int,
    safe_change: bool,
    why: str | None,
) -> Finding:
    """The finding that moves `found` to `version`, on a tag that exists and keeps the build working.

    A new major moves the sites of the stages `found`'s stages share build output with as well
    (`_companions`), in one fix, each keeping its variant where the new major has it.
    """
    # The tag planning (and the real-image guard it asks) only for a release to upgrade: most files have none.
    site = found.site
    stages = [stage for stage, _ in _stages_at(doc, site)]
    images = ctx.services.node_images
    companions = [] if safe_change else _companion_edits(doc, ctx, found, version, major)
    for other, _edit, _shown in companions:
        stages += [stage for stage, _ in _stages_at(doc, other.site) if stage not in stages]
    together = [edit for _, edit, _ in companions]

    def write(tag: str) -> list[Edit] | None:
        if not found.version_only:
            written = ImageReference.parse(site.text)
            return [Edit(site.start, site.end, str(written.with_tag(tag).with_digest(None)).encode()), *together]
        # Only the version is written in the ARG: every stage's variant must exist as it is.
        variants_exist = all(
            images.tag_exists(f"{version}-{other.variant}" if other.variant else version, ctx.today) is True
            for _, other in _stages_at(doc, site)
        )
        if not variants_exist or not tag.startswith(version):
            return None
        return [Edit(site.start, site.end, version.encode()), *together]

    plan = plan_tag(
        doc,
        ctx,
        stages,
        version=version,
        major=major,
        variant=found.variant,
        choose_variant=False,
        repair=not safe_change,
        write=write,
    )
    if isinstance(plan, Refusal):
        return Finding(RULE.code, f"{reason}; {plan.reason}, so no upgrade is proposed", site.line)
    if found.version_only and plan.variant != found.variant:
        return Finding(
            RULE.code,
            f"{reason}; the variant `{found.variant}` is written in the FROM line and Node.js {major} has no"
            f" such tag ({plan.notes[0] if plan.notes else plan.variant}): upgrade it by hand",
            site.line,
        )
    safe_change = safe_change and plan.variant == found.variant and not plan.edits
    new_ref = found.ref.with_tag(plan.tag).with_digest(None)
    allowed, digest, note = confirm_tag(ctx, new_ref)
    if not allowed:
        return Finding(RULE.code, f"{reason}; {note}", site.line)
    notes = "".join(f"; {n}" for n in plan.notes)
    if companions:
        moved = ", ".join(f"line {other.site.line} to `{shown}`" for other, _, shown in companions)
        notes += f"; with the stages it shares build output with, on the same major ({moved})"
    if found.ref.digest is not None and digest is None:
        # An upgrade must not lose the pin: without the new tag's digest there is no upgrade.
        return Finding(
            RULE.code,
            f"{reason}: `{new_ref}` would be the upgrade{notes}, but the reference is pinned by digest and"
            " the new tag's digest needs the registry: run online to upgrade it with its pin",
            site.line,
        )
    if found.version_only:
        replacement, shown = version, str(new_ref)
    else:
        written = ImageReference.parse(site.text)
        replacement = shown = str(written.with_tag(plan.tag).with_digest(digest))
    message = f"{reason}: use `{shown}`" + (f" ({why})" if why else "") + notes
    if note:
        message += f" ({note})"
    fix = Fix.safe if safe_change else Fix.unsafe
    return Finding(
        RULE.code, message, site.line, fix(Edit(site.start, site.end, replacement.encode()), *together, *plan.edits)
    )


def _companion_edits(
    doc: Document, ctx: RuleContext, found: _VersionSite, version: str, major: int
) -> list[tuple[_VersionSite, Edit, str]]:
    """For each companion site, the edit that moves it to `major` in its own variant, and the new
    reference; none at all when one of them cannot move (no such variant, or a version-only ARG
    whose variant the new major lacks): then each site is judged on its own."""
    images = ctx.services.node_images
    moves = []
    for other in _companions(doc, found):
        variant = images.variant_on(major, other.variant, ctx.today) if other.variant else ""
        if variant is None or (other.version_only and variant != other.variant):
            return []
        tag = f"{version}-{variant}" if variant else version
        if images.tag_exists(tag, ctx.today) is not True:
            return []
        new_ref = other.ref.with_tag(tag).with_digest(None)
        if other.version_only:
            text = version
        else:
            text = str(ImageReference.parse(other.site.text).with_tag(tag).with_digest(None))
        moves.append((other, Edit(other.site.start, other.site.end, text.encode()), str(new_ref)))
    return moves
