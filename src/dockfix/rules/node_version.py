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

A tag naming only the major (`node:22-alpine`) always gets the newest release of that line, so
only its end of life is checked. Online, the proposed tag is confirmed to exist in the registry
before it is proposed, and pinned by its digest. Data older than 90 days is reported once per
file (`dockfix --update-data` refreshes it).

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

from ..context import RuleContext
from ..dockerfile.document import Document, Stage
from ..dockerfile.imageref import ImageReference, InvalidReference
from ..dockerfile.stages import is_node_image, is_windows
from ..edits import Applicability, Edit, Finding, Fix
from ..sources.semver import InvalidVersionError, parse_node_version
from .base_image import BaseSite, arg_default_site, base_site, node_tag_parts, normalized_variant, target_major
from .rule import Rule

RULE = Rule(
    code="DF007",
    name="supported-node-version",
    summary="Upgrade an end-of-life or vulnerable Node.js version",
    fix_safety={Applicability.SAFE: "a patched release of the same major", Applicability.UNSAFE: "a new major"},
    docs=__doc__,
    module=__name__,
)

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
        except InvalidReference:
            return None
        version, variant = node_tag_parts(ref.tag)
        return None if version is None else _VersionSite(site, version, variant, ref, False)
    base = stage.base
    if not stage.is_external or "$" not in base or ":" not in base:
        return None
    name_part, _, tag = base.rpartition(":")
    if "$" in name_part or not is_node_image(name_part):
        return None
    match = _VERSION_ARG_TAG.match(tag)
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


def _advisory_list(advisories) -> str:
    names = []
    for advisory in advisories[:_ADVISORIES_SHOWN]:
        names.append(", ".join(advisory.cves) if advisory.cves else f"advisory {advisory.id}")
    more = len(advisories) - _ADVISORIES_SHOWN
    return "; ".join(names) + (f" and {more} more" if more > 0 else "")


def _confirm(ctx: RuleContext, ref: ImageReference) -> tuple[bool, str | None, str | None]:
    """(may propose, digest, note): online, the tag must exist; its digest pins the new line."""
    from ..sources.registry import OfflineCacheMiss, RegistryError

    try:
        return True, ctx.services.registry.resolve_digest(ref), None
    except OfflineCacheMiss:
        return True, None, None
    except RegistryError as error:
        from ..sources.registry import TagNotFound

        if isinstance(error, TagNotFound):
            return False, None, f"`{ref}` is not in the registry, so it is not proposed"
        return True, None, f"the registry could not confirm `{ref}` exists: {error.message}"


def check(doc: Document, ctx: RuleContext):
    data = ctx.services.node_data
    today = ctx.today
    seen: set[tuple[int, int]] = set()
    for stage in doc.stages:
        if is_windows(doc, stage):
            continue
        found = _version_site(doc, stage)
        if found is None:
            continue
        site = found.site
        if (site.start, site.end) in seen:
            continue
        seen.add((site.start, site.end))
        try:
            version = parse_node_version(found.version)
        except InvalidVersionError:
            continue
        where = f" (default of ARG {site.via_arg})" if site.via_arg else ""
        if data.is_end_of_life(version.major, today):
            major = target_major(ctx)
            if major == version.major:
                continue
            end = data.end_of_life_date(version.major)
            reason = f"Node.js {version.major} reached its end of life" + (f" on {end.isoformat()}" if end else "")
            advisories = data.advisories_affecting(version.lowest()) if version.minor is not None else []
            if advisories:
                reason += f" and {found.version} is affected by {len(advisories)} known advisories ({_advisory_list(advisories)})"
            new_version, safe_change = str(major), False
            new_variant = normalized_variant(found.variant)
        elif version.minor is not None:
            advisories = data.advisories_affecting(version.lowest())
            if not advisories:
                continue
            patched = data.smallest_patched_version(version.lowest())
            reason = f"Node.js {found.version} is affected by {len(advisories)} known advisories ({_advisory_list(advisories)})"
            if patched is None:
                new_version, safe_change = str(target_major(ctx)), False
                reason += f"; no release of Node.js {version.major} fixes them all"
            else:
                new_version, safe_change = str(patched), True
            new_variant = found.variant
        else:
            continue
        new_ref = found.ref.with_tag(f"{new_version}-{new_variant}" if new_variant else new_version).with_digest(None)
        allowed, digest, note = _confirm(ctx, new_ref)
        if not allowed:
            yield Finding(RULE.code, f"{reason}{where}; {note}", site.line)
            continue
        if found.version_only:
            replacement = new_version
        else:
            written = ImageReference.parse(site.text)
            replacement = str(written.with_tag(new_ref.tag).with_digest(digest))
        message = f"{reason}{where}: use `{replacement if not found.version_only else new_ref}`"
        if note:
            message += f" ({note})"
        fix = Fix.safe if safe_change else Fix.unsafe
        yield Finding(RULE.code, message, site.line, fix(Edit(site.start, site.end, replacement.encode())))
