"""Say when the image is not a production app image, and so is left alone.

## What it does
Adds one note, not a finding, to a Dockerfile whose final stage is a development, test, CI or
base image: the production practices (production-only dependencies, NODE_ENV, a non-root user,
a multi-stage split) are not applied to it, and the note says why. It never fixes anything and
never fails `--check`.

## Why
Production settings defeat such an image's purpose: `NODE_ENV=production` makes the `npm
install` of an image built on a base image skip devDependencies, `--omit=dev` removes the dev
server a development image starts. The other rules leave these images alone; without this note a
report on them would look like "nothing to do" where dockfix chose not to act.

What is left alone: the dependencies (DF002), NODE_ENV (DF003), the user (DF004), the start
command and the init (DF005) and the stages (DF008). Forms that mean the same are still
modernised (`ENV NODE_ENV value`, `--production`), and the practices that concern every image still apply:
the base image's tag and Node.js version (DF001, DF007: a floating tag or an end-of-life Node.js
leaves a development, test or CI image as unpatched as a production one; its move is an unsafe
fix like anywhere, and sets nothing for production), the `.dockerignore` (DF009), build secrets
(DF010) and the app's SIGTERM handling (DF006).

The evidence, in this order: the file name or stage name (`Dockerfile.dev`, `AS test`), a
devcontainer folder, a final stage with no CMD or ENTRYPOINT (it starts the `node` prompt: a
base, CI or tooling image), Cypress or Playwright's test runner in the image, and a start
command that runs a dev server, watcher or test runner, followed through the package.json
scripts it calls; then the repository: every build of the file is a development one (a compose
file, Tiltfile or workflow passes `NODE_ENV=development`, or a compose service runs it with
`nodemon` or a `dev` script) and none a production one (another build site, or a default `ARG
NODE_ENV=production` a plain `docker build` takes).

## Example
    FROM node:24
    WORKDIR /app
    COPY . .
    RUN npm install
    CMD ["npm", "run", "dev"]
gets the note `left alone: its file name, stage name or start command marks a development
image; production practices would defeat ...`, which goes on to say what is left alone.

## Fix safety
No fixes.

## Related hadolint rules
None.
"""

from __future__ import annotations

from collections.abc import Iterator

from ..context import RuleContext
from ..dockerfile.document import Document
from ..dockerfile.stages import applies_to, runtime_stage
from ..edits import Finding
from ..project.inputs import ProjectInput
from .rule import Rule

# What "left alone" means, said in the note: every rule below keeps to it by asking `left_alone`.
LEFT_ALONE = (
    "production practices would defeat a development, test, CI or base image, so its dependencies, NODE_ENV,"
    " user, start command, init and stages are not changed (deprecated forms that mean the same still are);"
    " what every image needs is still checked: its base image's tag and Node.js version, .dockerignore,"
    " build secrets and the app's SIGTERM handling"
)


def left_alone(doc: Document, ctx: RuleContext) -> str | None:
    """Why the file's image is a development, test, CI or base image, which the production rules
    leave alone; None if it is not (or is no Linux image on the official node image)."""
    stage = runtime_stage(doc)
    if stage is None or not applies_to(doc, stage):
        return None
    return ctx.facts(doc).development_reason(stage)


def check(doc: Document, ctx: RuleContext) -> Iterator[Finding]:
    reason = left_alone(doc, ctx)
    stage = runtime_stage(doc)
    if reason is not None and stage is not None:
        yield Finding(RULE.code, f"left alone: {reason}; {LEFT_ALONE}", stage.from_instruction.line, note=True)


RULE = Rule(
    code="DF000",
    name="image-purpose",
    summary="Say when the final stage is a development, test, CI or base image that production practices leave alone",
    fix_safety={},
    docs=__doc__,
    check=check,
    reads=frozenset({ProjectInput.PACKAGE, ProjectInput.APP_CODE}),
)
