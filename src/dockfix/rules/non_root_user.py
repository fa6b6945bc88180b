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
Non-node images (no `node` user) and Windows images are left alone. COPY instructions that
already have `--chown` keep it; files copied out of other images or into system folders keep
their owner.

An image that installs `gosu` or `su-exec` drops root itself in its entrypoint, after
preparing its volumes as root (the pattern of the official images): it is left alone.

An image the repository runs as root on purpose keeps root, with a note that names the file
and line or the compose key that says so (`compose.yaml service vpn grants cap_add NET_ADMIN:
it needs root; USER node not added`): a compose service built from the file that grants
`cap_add`, runs `privileged` or sets `user: root`; or a command the container runs when it
starts (its ENTRYPOINT and CMD through the package.json scripts they call, the service's
`command` and `entrypoint`, and the shell scripts among them that the file copies in from the
build context) that only root may run: `mount`, `iptables`/`ip6tables`/`nft`, `ip link set` or
`ip route add`, `sysctl -w`, `modprobe`, `setcap`, `apt-get install` or `apk add`, or a write
(`mkdir`, `touch`, `cp`, `chown`, `chmod`, `sed -i`, `>`) under a system folder such as `/mnt`,
`/etc`, `/run`, `/var/run`, `/usr` or `/opt`.

Development, test and CI images (see DF003: a dev server, watcher or test runner as the start
command, a devcontainer, Cypress) are left alone: they run with the project's source mounted
from the host and write into it. So is a final stage without CMD or ENTRYPOINT: it is a base
for other Dockerfiles or a CI image, whose users run `apt-get` or `npm install -g` after it and
expect root there.

The app folder stays root's, so the app cannot rewrite its own code; the node user is given
exactly the folders the evidence says it writes, each with
`RUN mkdir -p <dir> && chown node:node <dir>` placed while the build still runs as root:
- a VOLUME anywhere in the stage chain (a parent stage's too): a new volume copies the owner
  of the image's folder, so the folder is given to node right before the VOLUME line;
- the targets of the volumes of the compose service that runs the image (read-only mounts are
  not written);
- the folders the file creates as root for the app to write into, by their names (`RUN mkdir -p
  /app/uploads`: uploads, data, logs, cache, tmp, storage, sessions, files), unless a `chown`
  or a `chmod` that lets everyone write already gives them away;
- Next.js (`next start`, also through the npm scripts): `.next/cache` (image optimisation and
  fetch cache) and, recursively, `.next/server`, where incremental static regeneration rewrites
  pages.

When the container writes where no single folder can be named, the fix is only displayed,
with the reason: a start command that installs packages (`npm install`, `yarn`), clones or
pulls with git, builds (`next build`, `ng build` with its `.angular/cache`, `gatsby build` with
`.cache` and `public`, `tsc`, `npm run build`) or generates code into node_modules
(`prisma generate`). Giving node the whole app and node_modules (`chown -R`) would duplicate
them in a layer and let the app rewrite itself; moving that step into the build is the fix.
A VOLUME or a created folder whose path is not plain, a VOLUME an earlier stage declares as
another user, and a compose bind mount (a host folder keeps the host's owner: make it writable
by uid 1000 there) are also reasons to only display the fix. So is a port below 1024: a non-root user can bind it under
Docker 20.10+, which lets any user bind any port in a container, but not under Kubernetes or
other runtimes. The finding says how to move it: set the variable that holds it (`PORT=80`) or
the app's port to one above 1023 (8080 for 80) and publish that as the old port
(`docker run -p 80:8080`, a Service's `targetPort`); clients keep the port they use.

## Related hadolint rules
DL3002 (last USER should not be root).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from ..context import RuleContext
from ..dockerfile.document import Document, Instruction, Stage
from ..dockerfile.stages import (
    applies_to,
    copies_app_files,
    effective_user,
    is_root,
    privileged_ports,
    runtime_boundary,
    runtime_stage,
    stage_chain,
    start_instructions,
)
from ..edit_helpers import insert_line_after, insert_line_before
from ..edits import Applicability, Edit, Finding, Fix
from ..project.build_context import Project
from ..project.inputs import EVERY_INPUT
from ..project.npmscripts import install_at_start, script_invocation, start_commands_run
from ..project.runtime_evidence import (
    WrittenFolder,
    compose_volume_folders,
    created_for_writes,
    root_needed_at_start,
)
from .rule import Rule

# Commands that write into the app folder or node_modules when they run: binary -> the first
# positional words that make them do it (empty: whatever they are asked).
_WRITING_COMMANDS: dict[str, tuple[str, ...]] = {
    "git": ("clone", "pull", "checkout", "fetch"),
    "next": ("build",),
    "ng": ("build",),
    "gatsby": ("build",),
    "nuxt": ("build", "generate"),
    "nuxi": ("build", "generate"),
    "vite": ("build",),
    "react-scripts": ("build",),
    "vue-cli-service": ("build",),
    "nest": ("build",),
    "prisma": ("generate",),
    "tsc": (),
    "webpack": (),
    "rollup": (),
    "esbuild": (),
    "babel": (),
}
_STEP_DOWN = re.compile(r"(?<![\w-])(gosu|su-exec)(?![\w-])")
_PLAIN_PATH = re.compile(r"^[A-Za-z0-9_./${}-]+$")
NEXT_WRITES = (
    "mkdir -p .next/cache .next/server && chown node:node .next .next/cache && chown -R node:node .next/server"
)


def open_ended_write_at_start(project: Project, doc: Document, stage: Stage) -> str | None:
    """A command the container runs at start-up that writes where no single folder can be named."""
    install = install_at_start(project, doc, stage)
    if install is not None:
        return install
    for argv in start_commands_run(project, doc, stage):
        binary = argv[0].rsplit("/", 1)[-1]
        positional = [w for w in argv[1:] if not w.startswith("-")]
        words = _WRITING_COMMANDS.get(binary)
        if words is not None and (not words or (positional[:1] and positional[0] in words)):
            return " ".join(argv)
        call = script_invocation(argv)
        if call is not None and call[0] == "build" and "build" not in project.scripts:
            return " ".join(argv)  # a build script this context does not show
    return None


def runs_next_start(project: Project, doc: Document, stage: Stage) -> bool:
    """Whether the container starts Next.js's production server, which writes under `.next`."""
    for argv in start_commands_run(project, doc, stage):
        positional = [w for w in argv[1:] if not w.startswith("-")]
        if argv[0].rsplit("/", 1)[-1] == "next" and positional[:1] == ["start"]:
            return True
    return False


def steps_down(doc: Document, stage: Stage) -> str | None:
    """The tool (gosu, su-exec) an image installs or starts with to drop root itself once it is ready."""
    for member in stage_chain(doc, stage):
        for inst in member.instructions:
            if inst.name in ("RUN", "ENTRYPOINT", "CMD"):
                match = _STEP_DOWN.search(inst.args)
                if match:
                    return match.group(1)
    return None


def volumes(doc: Document, stage: Stage) -> list[tuple[Stage, Instruction, list[str]]]:
    """Every VOLUME of the stage and the stages it builds on: (stage, instruction, paths)."""
    found = []
    for member in reversed(stage_chain(doc, stage)):
        for inst in member.instructions:
            if inst.name == "VOLUME":
                found.append((member, inst, inst.words))
    return found


def how_to_move_port(stage: Stage, port: int) -> str:
    """What to change so the app listens above 1023 and is still reached on `port` from outside."""
    above = 8000 + port  # 80 -> 8080, 443 -> 8443
    variable = _port_variable(stage, port)
    listen = f"set {variable} to {above}" if variable else f"make the app listen on {above}"
    return (
        f"{listen} (and EXPOSE {above}) and publish it as {port}"
        f" (`docker run -p {port}:{above}`, a Kubernetes Service's `targetPort: {above}`)"
    )


def _port_variable(stage: Stage, port: int) -> str | None:
    """The ENV or ARG variable (`PORT`, `APP_PORT`) the stage sets to `port`."""
    for inst in stage.instructions:
        if inst.name in ("ENV", "ARG"):
            words = inst.args.replace("=", " ").split()
            for name, value in itertools.pairwise(words):
                if name.upper().endswith("PORT") and value == str(port):
                    return name
    return None


def _chown_command(paths: list[str]) -> str:
    joined = " ".join(paths)
    return f"mkdir -p {joined} && chown node:node {joined}"


def _copies_next_folder(stage: Stage) -> bool:
    return any(
        inst.name in ("COPY", "ADD") and any(".next" in word for word in inst.words) for inst in stage.instructions
    )


@dataclass
class _Switch:
    """The switch to node being planned: edits, commands to run as root right before it, and why it may not apply."""

    doc: Document
    stage: Stage
    anchor: Instruction
    edits: list[Edit] = field(default_factory=list)
    before_switch: list[str] = field(default_factory=list)  # commands that must run as root just before USER
    given: list[str] = field(default_factory=list)  # the folders given to node
    blocked: str | None = None  # why the fix is only displayed

    def block(self, reason: str) -> None:
        self.blocked = self.blocked or reason

    def give_volumes(self) -> None:
        """Each VOLUME's folders, chowned before the VOLUME line freezes them (or right before the switch)."""
        doc, stage = self.doc, self.stage
        for member, inst, paths in volumes(doc, stage):
            if not paths or not all(_PLAIN_PATH.match(path) for path in paths):
                self.block(
                    f"it declares VOLUME {inst.args.strip()}, which a new volume gives to root: chown it to node before the VOLUME line, then apply"
                )
            elif member is stage and inst.line > self.anchor.line:
                self.before_switch.append(_chown_command(paths))
                self.given += paths
            elif is_root(effective_user(doc, member, inst)):
                self.edits.append(insert_line_before(doc, inst, f"RUN {_chown_command(paths)}"))
                self.given += paths
            else:
                self.block(
                    f"it declares VOLUME {paths[0]} as another user, which a new volume gives to that user: chown it to node, then apply"
                )

    def give_written_folders(self, folders: list[WrittenFolder]) -> None:
        """The folders the service mounts or the file creates for the app to write, chowned right before the switch."""
        paths = []
        for folder in folders:
            if folder.obstacle is not None:
                self.block(folder.obstacle)
            elif folder.path not in self.given and folder.path not in paths:
                paths.append(folder.path)
        if paths:
            self.before_switch.append(_chown_command(paths))
            self.given += paths


def check(doc: Document, ctx: RuleContext) -> Iterator[Finding]:
    stage = runtime_stage(doc)
    if stage is None or not applies_to(doc, stage):
        return
    if not any(any(start_instructions(member)) for member in stage_chain(doc, stage)):
        return  # no command of the app's own: a base or tooling image
    if ctx.facts(doc).development_reason(stage):
        return  # a dev or test image writes into the source mounted from the host
    user = effective_user(doc, stage)
    if not is_root(user) or steps_down(doc, stage):
        return  # a non-root user, or an entrypoint that prepares as root and then drops to one
    anchor = runtime_boundary(stage)
    need = root_needed_at_start(ctx.project, doc, stage, ctx.builds)
    if need is not None:
        yield Finding(RULE.code, f"{need}: it needs root; USER node not added", anchor.line, note=True)
        return
    message = (
        "the app runs as root"
        + (f" (USER {user})" if user else "")
        + ": switch to the image's unprivileged `node` user"
    )
    switch = _Switch(doc, stage, anchor)
    writes = open_ended_write_at_start(ctx.project, doc, stage)
    if writes is not None:
        switch.block(
            f"the container runs `{writes}` when it starts, which writes into the app folder or node_modules that root owns: do that in the image, then apply"
        )
    switch.give_volumes()
    switch.give_written_folders([*compose_volume_folders(ctx.builds, stage), *created_for_writes(doc, stage)])
    if runs_next_start(ctx.project, doc, stage) and not _copies_next_folder(stage):
        switch.before_switch.append(NEXT_WRITES)
        switch.given += [".next/cache", ".next/server"]
    edits = [*switch.edits, *_switch_edits(doc, stage, anchor, switch.before_switch)]
    if switch.blocked is not None:
        yield Finding(RULE.code, f"{message}; {switch.blocked}", anchor.line, Fix.display_only(*edits))
        return
    ports = privileged_ports(stage)
    if ports:
        # Docker 20.10+ lets any user bind low ports in a container; Kubernetes and other
        # runtimes do not. Moving the port changes how the container is published: the user's call.
        message += f"; it listens on port {ports[0]}, which a non-root user can bind only where the runtime allows it (Docker 20.10+, not Kubernetes): {how_to_move_port(stage, ports[0])}, then apply"
        yield Finding(RULE.code, message, anchor.line, Fix.display_only(*edits))
        return
    if switch.given:
        message += f", and give it only the folders it writes: {', '.join(switch.given)}"
    yield Finding(RULE.code, message, anchor.line, Fix.unsafe(*edits))


def _switch_edits(doc: Document, stage: Stage, anchor: Instruction, before_switch: list[str]) -> list[Edit]:
    """USER node after the last build step (the root commands right before it), and --chown on the app's files."""
    edits: list[Edit] = []
    own_users = [i for i in stage.instructions if i.name == "USER"]
    rewrite_user = own_users[-1] if own_users and own_users[-1].line > anchor.line else None
    newline = doc.newline.decode()
    switch_lines = [f"RUN {command}" for command in before_switch]
    if rewrite_user is not None:
        # `USER root` after the last build step: rewrite it rather than add a second USER.
        edits.append(Edit(*rewrite_user.args_span, b"node"))
        if switch_lines:
            edits.append(insert_line_before(doc, rewrite_user, newline.join(switch_lines)))
    else:
        edits.append(insert_line_after(doc, anchor, newline.join([*switch_lines, "USER node"])))
    stage_names = {s.alias.lower() for s in doc.stages if s.alias} | {str(s.index) for s in doc.stages}
    for inst in stage.instructions:
        if (
            inst.name in ("COPY", "ADD")
            and inst.flag("chown") is None
            and inst.line <= anchor.line
            and copies_app_files(inst, stage_names)
        ):
            edits.append(Edit.insert(inst.keyword_end, b" --chown=node:node"))
    return edits


RULE = Rule(
    code="DF004",
    name="non-root-user",
    summary="Run the app as the unprivileged node user (USER node, COPY --chown=node:node)",
    fix_safety={
        Applicability.UNSAFE: "switching to the node user",
        Applicability.DISPLAY_ONLY: "a stage with a VOLUME, a bind-mounted or unnamed folder the app writes, or a port below 1024",
    },
    docs=__doc__,
    check=check,
    reads=EVERY_INPUT,
)
