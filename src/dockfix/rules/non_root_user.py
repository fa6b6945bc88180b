"""Run the app as the image's `node` user, not root.

## What it does
On the official node images (which ship a `node` user, uid 1000), adds `USER node` to the
stage that runs the app, after its last build step (so installs that need root still run as
root), and `--chown=node:node` to the COPY/ADD instructions of that stage that bring the app's
files in, so the app owns what it was given.

## Why
A process running as root inside the container is root on the files it can reach and one
kernel bug away from root on the host. The node image has an unprivileged user for this.

## Example
    COPY . /usr/src/app
    RUN npm ci --omit=dev
    CMD ["node", "server.js"]
becomes
    COPY --chown=node:node . /usr/src/app
    RUN npm ci --omit=dev
    USER node
    CMD ["node", "server.js"]

## Fix safety
Unsafe: the app may write to places only root can (a port below 1024 on old Docker engines,
system folders, volumes created by root). An existing non-root `USER` (by name or uid, also set
in an earlier stage) is respected; `USER root` at the end is treated as running as root.
When the stage declares a VOLUME (a new volume is root's, the app could not write to it) or
listens on a port below 1024, the fix is only displayed: a non-root user can
bind it under Docker 20.10+ but not under every runtime. Non-node images (no `node` user) and Windows images are left alone. COPY instructions that
already have `--chown` keep it; files copied out of other images or into system folders keep
their owner.

## Related hadolint rules
DL3002 (last USER should not be root).
"""

from __future__ import annotations

from ..context import RuleContext
from ..dockerfile.document import Document
from ..dockerfile.stages import (
    applies_to,
    copies_app_files,
    effective_user,
    insert_line_after,
    is_root,
    privileged_ports,
    runtime_boundary,
    runtime_stage,
    stage_chain,
    start_instructions,
)
from ..edits import Applicability, Edit, Finding, Fix
from .rule import Rule

RULE = Rule(
    code="DF004",
    name="non-root-user",
    summary="Run the app as the unprivileged node user (USER node, COPY --chown=node:node)",
    fix_safety={
        Applicability.UNSAFE: "switching to the node user",
        Applicability.DISPLAY_ONLY: "a stage with a VOLUME or a port below 1024",
    },
    docs=__doc__,
    module=__name__,
)


def check(doc: Document, ctx: RuleContext):
    stage = runtime_stage(doc)
    if stage is None or not applies_to(doc, stage):
        return
    if not any(any(start_instructions(member)) for member in stage_chain(doc, stage)):
        return  # no command of the app's own: a base or tooling image
    user = effective_user(doc, stage)
    if not is_root(user):
        return
    anchor = runtime_boundary(stage)
    edits = [insert_line_after(doc, anchor, "USER node")]
    own_users = [i for i in stage.instructions if i.name == "USER"]
    if own_users and own_users[-1].line > anchor.line:
        # `USER root` after the last build step: rewrite it rather than add a second USER.
        edits = [Edit(*own_users[-1].args_span, b"node")]
    stage_names = {s.alias.lower() for s in doc.stages if s.alias} | {str(s.index) for s in doc.stages}
    for inst in stage.instructions:
        if (
            inst.name in ("COPY", "ADD")
            and inst.flag("chown") is None
            and inst.line <= anchor.line
            and copies_app_files(inst, stage_names)
        ):
            edits.append(Edit.insert(inst.keyword_end, b" --chown=node:node"))
    message = (
        "the app runs as root"
        + (f" (USER {user})" if user else "")
        + ": switch to the image's unprivileged `node` user"
    )
    volumes = [word for inst in stage.instructions if inst.name == "VOLUME" for word in inst.words]
    if volumes:
        # A volume Docker creates for a path the image does not hand to node is root's: the
        # app would fail to write to it at run time.
        message += f"; it declares VOLUME {volumes[0]}, which a new volume gives to root: chown it to node before the VOLUME line, then apply"
        yield Finding(RULE.code, message, anchor.line, Fix.display_only(*edits))
        return
    ports = privileged_ports(stage)
    if ports:
        # Docker 20.10+ lets any user bind low ports in a container; other runtimes do not.
        message += f"; it listens on port {ports[0]}, which a non-root user can bind only where the runtime allows it: move it to a port above 1023 first"
        yield Finding(RULE.code, message, anchor.line, Fix.display_only(*edits))
        return
    yield Finding(RULE.code, message, anchor.line, Fix.unsafe(*edits))
