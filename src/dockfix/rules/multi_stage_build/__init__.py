"""Build in one stage, run from a clean one.

## What it does
Splits a single-stage Node.js Dockerfile in two, reading the split from the file and the
project's package.json:
- a `build` stage on the original image: the original steps (dependency install, build tools,
  the build script), then the dev dependencies pruned (`npm prune --omit=dev`,
  `pnpm prune --prod`, or a production-only `yarn install`) when the install kept them and the
  start does not run one of them (`cross-env`, `ts-node`);
- a production stage on the small variant of the same image: the full Debian image (`node:22`,
  `node:22-bookworm`) becomes the `-slim` variant of the same Debian release, a tag the model of
  the official image knows; slim and alpine images stay as they are, so node_modules never
  cross between glibc and musl. It repeats what the app needs at run time: the init process
  install, a start binary its ENTRYPOINT or CMD names (`ADD .../tini /tini` and its `chmod`),
  the system packages that are not build tools (`imagemagick`, `sqlite3`, and `curl` when a
  start or health command calls it: the build toolchain stays behind, an install that mixes
  both is written again with the runtime packages only), global installs of the app's tools
  (`pm2`, `nodemon`, `knex`; Yarn or Corepack when the running container calls them; an install
  from a tarball of the app folder once the app is copied), users and groups (`adduser`,
  `useradd`), folders and permissions prepared outside the app folder or before the app is
  copied, files copied from the build context outside the app folder (never `.npmrc`), and the
  shared settings (WORKDIR, ENV, ARG, USER). It copies the app folder from the build stage, and
  what the build moved out of it (`mv /app/node_modules /node_modules`).
The app folder is the last WORKDIR, widened to where package.json is copied when the
dependencies are installed above it (`WORKDIR /node` for the install, `/node/app` for the app);
without a WORKDIR, where package.json is copied (`COPY . /app`). For a compiled TypeScript app
started from its output folder the production stage takes only `package.json`, `node_modules`
and that folder; for a Next.js app built with `next build` and started with `next start`, only
`package.json`, `node_modules`, `.next`, `public` and its next.config. A monorepo with
workspaces is split like any app, its whole folder copied with the dev dependencies pruned.
When the install picks its package manager by the lockfile it finds, the project's lockfile
says which one prunes.
A split must leave something behind: the full image, the sources of a compiled app, the build
tools the stage installed, or the dev dependencies. Where the production stage would be the
same image with the same files, the practice's aim is already met: the file is left as it is,
with a note (not a finding) that says so. So it is when the dev dependencies alone would be left
behind, no build step uses them, and the run applies DF002's fix, which leaves them out of the
install.
Comments stay with the instructions they precede.

Development, test, CI and base images (a dev server or watcher at start, a test runner, no
start command) are left alone, as the other production rules leave them.

A file that already has several stages is not split again. Its runtime stage, when it stands
on another Node.js image (`gcr.io/distroless/nodejs22-debian12`), is checked instead: a stage
on the node image that feeds it must build for the runtime's Node.js major, and a runtime
whose Node.js reached its end of life is reported.

## Why
Compilers, dev dependencies, build tools and whatever the build left behind make the image
larger and give an attacker more to work with; credentials used during the install stay in
the build stage's layers, which are never pushed.

## Example
    FROM node:22-bookworm
    WORKDIR /usr/src/app
    COPY . .
    RUN npm ci && npm run build
    CMD ["node", "dist/server.js"]
becomes
    FROM node:22-bookworm AS build
    WORKDIR /usr/src/app
    COPY . .
    RUN npm ci && npm run build
    RUN npm prune --omit=dev

    FROM node:22-bookworm-slim
    WORKDIR /usr/src/app
    COPY --from=build /usr/src/app/package.json ./package.json
    COPY --from=build /usr/src/app/node_modules ./node_modules
    COPY --from=build /usr/src/app/dist ./dist
    CMD ["node", "dist/server.js"]

## Fix safety
Unsafe: files the app reads at run time that the new production stage does not copy, system
packages the stage installed as build tools (curl, git, python3...) that the app calls itself,
or tools of the full image the app runs itself (the slim variant has no curl, git, python3, make
or g++) would be missing. A start or health command that names such a tool keeps the full
image, or its package; a base pinned by digest gets its slim tag without one, for the base image
rule to pin. The split is offered only when every step of the stage is understood: package
installs and builds, system packages, global installs, users, the start binary, and file
commands and copies whose paths are known. What stays reported and left alone, with the reason:
a RUN the split cannot read (a script of the project, `curl ... | sh`), copies from other
images, packages or paths named by a variable or a wildcard, files copied over the folder that
holds the app, an app in the root folder `/`, dependencies installed outside the app folder,
node_modules moved out of it when there are dev dependencies to prune, an install that picks its
package manager by a lockfile the project lacks, and a Next.js app whose next.config asks for
standalone output (its production stage would start `node server.js`, a change of the start
command). The rewrite waits until the other rules have nothing left to change in the file, so it
splits the stage they settled.

## Related hadolint rules
None.
"""

from __future__ import annotations

from collections.abc import Iterator

from ...context import RuleContext
from ...dockerfile.document import Document, Stage
from ...dockerfile.stages import applies_to
from ...edits import Applicability, Finding, Fix
from ...project.inputs import ProjectInput
from ...project.npmscripts import development_builds
from ..rule import Rule
from .distroless import runtime_problems
from .planning import installs_of, plan_split
from .reading import NothingLeftBehind, Refusal, read_stage
from .rendering import render_split


def check(doc: Document, ctx: RuleContext) -> Iterator[Finding]:
    stages = doc.stages
    if len(stages) > 1:
        for message, line in runtime_problems(doc, ctx):
            yield Finding(RULE.code, message, line)
        return
    if len(stages) != 1:
        return
    stage = stages[0]  # the runtime stage, and the only one
    if (
        not applies_to(doc, stage)
        or not ctx.project.has_package_json
        or ctx.facts(doc).development_reason(stage) is not None
    ):
        return
    installs = installs_of(doc, stage, ctx.builds)
    if not installs or not any(i.name in ("CMD", "ENTRYPOINT") for i in stage.instructions):
        return
    line = stage.from_instruction.line
    try:
        fix, message = _split(doc, ctx, stage, installs)
    except NothingLeftBehind as reason:
        # The practice's aim (no build tools, dev dependencies or sources in the image) is met.
        yield Finding(RULE.code, f"one stage is enough here: {reason}", line, note=True)
        return
    except Refusal as refusal:
        yield Finding(
            RULE.code,
            f"the image builds and runs the app in one stage; not split automatically because of {refusal}",
            line,
        )
        return
    yield Finding(RULE.code, message, line, fix)


def _split(doc: Document, ctx: RuleContext, stage: Stage, installs: list[tuple[str, bool]]) -> tuple[Fix, str]:
    """Read, plan and render the split; raises Refusal (or NothingLeftBehind) instead."""
    from_inst = stage.from_instruction
    if not from_inst.spans_one_line or any(i.name == "ONBUILD" for i in stage.instructions):
        raise Refusal("a FROM over several lines or an ONBUILD")
    built_for_development = development_builds(ctx.project, stage, ctx.builds)
    if built_for_development:
        raise Refusal(
            f"its development build ({built_for_development[0]}), which needs what a production stage leaves behind"
        )
    read = read_stage(doc, ctx, stage)
    return render_split(doc, stage, read, plan_split(doc, ctx, stage, installs, read))


RULE = Rule(
    code="DF008",
    name="multi-stage-build",
    summary="Build in a separate stage and run from a clean production stage",
    fix_safety={Applicability.UNSAFE: "files the app reads at run time may be left behind"},
    docs=__doc__,
    check=check,
    reads=frozenset({ProjectInput.PACKAGE, ProjectInput.APP_CODE, ProjectInput.OTHER}),
)
