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

The evidence, in this order: the file name or stage name (`Dockerfile.dev`, `AS test`), a
devcontainer folder, a final stage with no CMD or ENTRYPOINT (it starts the `node` prompt: a
base, CI or tooling image), Cypress or Playwright's test runner in the image, and a start
command that runs a dev server, watcher or test runner, followed through the package.json
scripts it calls.

## Example
    FROM node:24
    WORKDIR /app
    COPY . .
    RUN npm install
    CMD ["npm", "run", "dev"]
gets the note `left alone: it starts the `dev` script: production practices would defeat a
development, test, CI or base image`.

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
from ..project.npmscripts import development_reason
from .rule import Rule


def check(doc: Document, ctx: RuleContext) -> Iterator[Finding]:
    stage = runtime_stage(doc)
    if stage is None or not applies_to(doc, stage):
        return
    reason = development_reason(ctx.project, doc, stage, ctx.dockerfile)
    if reason is not None:
        yield Finding(
            RULE.code,
            f"left alone: {reason}; production practices would defeat a development, test, CI or base image",
            stage.from_instruction.line,
            note=True,
        )


RULE = Rule(
    code="DF000",
    name="image-purpose",
    summary="Say when the final stage is a development, test, CI or base image that production practices leave alone",
    fix_safety={},
    docs=__doc__,
    check=check,
)
