"""An explicit Node.js LTS tag, pinned by the digest the registry serves.

## What it does
Rewrites a floating or missing tag of the official Node.js image (`FROM node`, `node:latest`,
`node:lts`, `node:current`, `node:alpine`, a codename like `node:iron`) to an explicit major of
the active LTS line as of the run date (`--node-version` overrides it), keeping the variant the
file chose (alpine, slim, bookworm, trixie...). A bare tag becomes the alpine variant unless a
stage uses apt-get, apt or dpkg, or package.json depends on a native module built against glibc
(sharp, bcrypt, canvas, better-sqlite3, sqlite3, node-sass...): then the Debian slim variant.

Every stage built on an image from a registry (build stages and other images too) is pinned as
`name:tag@sha256:<digest>`, the digest the registry serves for the tag today (for a
multi-platform tag, the digest of its index). Stage aliases and `scratch` are not images;
`FROM ${BASE}` is pinned in the default of the ARG when that default is a literal image.
Windows images and references already pinned by digest are left alone.

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
  today.
- Any change of tag, major or variant is unsafe: a new major can break the app.
- Offline without a cached digest, the tag is made explicit and the missing digest reported; a
  registry that is down, refuses or does not know the tag gives a warning on that line.

## Related hadolint rules
DL3006 (always tag the version of an image explicitly), DL3007 (using latest is prone to errors).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..context import RuleContext
from ..dockerfile.document import Document, Instruction, Stage
from ..dockerfile.imageref import ImageReference, InvalidReference
from ..dockerfile.stages import family, is_node_image, is_windows, run_commands, stage_chain
from ..edits import Applicability, Edit, Finding, Fix
from ..project.build_context import NATIVE_ADDON_PACKAGES
from .rule import Rule

RULE = Rule(
    code="DF001",
    name="explicit-base-image",
    summary="Use an explicit Node.js LTS tag and pin every base image by digest",
    fix_safety={
        Applicability.SAFE: "pinning the digest of the tag already named",
        Applicability.UNSAFE: "a new tag, major or variant",
    },
    docs=__doc__,
    module=__name__,
)

FLOATING_WORDS = frozenset({"latest", "lts", "current", "stable", "node"})
NODE_CODENAMES = frozenset(
    {
        "argon",
        "boron",
        "carbon",
        "dubnium",
        "erbium",
        "fermium",
        "gallium",
        "hydrogen",
        "iron",
        "jod",
        "krypton",
        "lithium",
    }
)
DEBIAN_PACKAGE_TOOLS = frozenset({"apt-get", "apt", "dpkg", "aptitude"})
_WHOLE_VARIABLE = re.compile(r"^\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))$")
_VERSION_TAG = re.compile(r"^v?(\d+(?:\.\d+){0,2})(?:-(.+))?$")


@dataclass(frozen=True)
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


def node_tag_parts(tag: str | None) -> tuple[str | None, str]:
    """Split a node image tag into (version, variant): `22.1-alpine` -> ("22.1", "alpine").

    Version is None for floating tags (`latest`, `lts-slim`, `alpine`, `iron`, none at all).
    """
    if tag is None:
        return None, ""
    match = _VERSION_TAG.match(tag)
    if match:
        return match.group(1), match.group(2) or ""
    first, _, rest = tag.partition("-")
    if first.lower() in FLOATING_WORDS or first.lower() in NODE_CODENAMES:
        return None, rest
    return None, tag


def normalized_variant(variant: str) -> str:
    """The variant to keep on a new major: `alpine3.20` -> `alpine` (the minor may not exist there)."""
    if variant.lower().startswith("alpine"):
        return "alpine"
    return variant


def dependent_stages(doc: Document, stage: Stage) -> list[Stage]:
    """The stage and every later stage that builds on it."""
    return [s for s in doc.stages if any(member.index == stage.index for member in stage_chain(doc, s))]


def bare_variant(doc: Document, stage: Stage, ctx: RuleContext) -> tuple[str, str]:
    """(variant, why) for a tag that names none: alpine unless Debian is needed."""
    for member in dependent_stages(doc, stage):
        for _inst, _script, command in run_commands(doc, member):
            for word in command.argv[:3]:
                if word.rsplit("/", 1)[-1] in DEBIAN_PACKAGE_TOOLS:
                    return "slim", f"the Debian slim variant, since the build runs {word.rsplit('/', 1)[-1]}"
    deps: dict[str, str] = {}
    for kind in ("dependencies", "optionalDependencies", "devDependencies"):
        deps.update(ctx.project.dependencies(kind))
    native = sorted(name for name in deps if name in NATIVE_ADDON_PACKAGES)
    if native:
        return (
            "slim",
            f"the Debian slim variant, since package.json depends on the native module {', '.join(native)} (built for glibc)",
        )
    return "alpine", "the small alpine variant (no apt-get and no glibc-bound native module found)"


def target_major(ctx: RuleContext) -> int:
    """The major to move to: `--node-version`, else the active LTS line on the run date."""
    if ctx.options.node_version:
        from ..sources.semver import InvalidVersionError, parse_node_version

        try:
            return parse_node_version(ctx.options.node_version.strip()).major
        except InvalidVersionError:
            pass
    return ctx.services.node_data.active_lts_major(ctx.today)


def resolve(ctx: RuleContext, ref: ImageReference) -> tuple[str | None, str | None]:
    """(digest, problem): the digest the registry serves for `ref`, or why there is none."""
    from ..sources.registry import OfflineCacheMiss, RegistryError

    try:
        return ctx.services.registry.resolve_digest(ref), None
    except OfflineCacheMiss:
        return None, f"the digest of {ref} is missing (offline, and not in the cache): run online once to pin it"
    except RegistryError as error:
        return None, f"cannot pin {ref} by digest: {error.message}"


def _tag_change(doc: Document, stage: Stage, site: BaseSite, replacement: str, new_variant: str) -> Fix:
    """The unsafe fix that writes the new reference.

    When the family changes (Debian to Alpine), other rules' fixes planned in the same pass
    were made for the old family (an `apt-get install` on what becomes Alpine), so the fix asks
    for a pass of its own and the others are planned again on the new base.
    """
    fix = Fix.unsafe(Edit(site.start, site.end, replacement.encode()))
    new_family = "alpine" if new_variant.startswith("alpine") else "debian"
    return fix if family(doc, stage) == new_family else fix.alone()


def _short(digest: str) -> str:
    return digest[:19] + "…"


def check(doc: Document, ctx: RuleContext):
    seen_sites: set[tuple[int, int]] = set()
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
        if ref.digest is not None or ref.is_scratch:
            continue
        where = f" (default of ARG {site.via_arg})" if site.via_arg else ""
        version, variant = node_tag_parts(ref.tag) if is_node_image(site.text) else ("", "")
        if version is None:
            major = target_major(ctx)
            if variant:
                new_variant, why = (
                    normalized_variant(variant),
                    f"the {normalized_variant(variant)} variant the file already uses",
                )
            else:
                new_variant, why = bare_variant(doc, stage, ctx)
            new_ref = ref.with_tag(f"{major}-{new_variant}")
            digest, problem = resolve(ctx, new_ref)
            if digest is not None:
                new_ref = new_ref.with_digest(digest)
            message = f"`{site.text}`{where} is a floating tag: use the active LTS major {major}, {why}: `{new_ref}`"
            if problem:
                message += f"; {problem}"
            yield Finding(RULE.code, message, site.line, _tag_change(doc, stage, site, str(new_ref), new_variant))
            continue
        explicit = ref if ref.tag is not None else ref.with_tag("latest")
        digest, problem = resolve(ctx, explicit)
        if digest is None:
            yield Finding(RULE.code, f"`{site.text}`{where} is not pinned by digest; {problem}", site.line)
            continue
        pinned = explicit.with_digest(digest)
        yield Finding(
            RULE.code,
            f"`{site.text}`{where} is not pinned by digest: pin the image the tag serves today ({_short(digest)})",
            site.line,
            Fix.safe(Edit(site.start, site.end, str(pinned).encode())),
        )
