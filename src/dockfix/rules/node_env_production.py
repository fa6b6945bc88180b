"""`ENV NODE_ENV=production` in the stage that runs the app.

## What it does
Adds `ENV NODE_ENV=production` to the stage that runs the app, after its last build step
(RUN, COPY, ADD), so no install or build runs with it; rewrites a legacy
`ENV NODE_ENV production` to `ENV NODE_ENV=production`.

## Why
Many libraries (Express among them) switch on caching, quieter errors and faster code paths only
when NODE_ENV is `production`. Placed before a build step it would make `npm install` skip the
dev dependencies the build needs: that is why it goes after them. BuildKit warns about the
legacy `ENV key value` form (LegacyKeyValueFormat).

## Example
    RUN npm ci --omit=dev
    CMD ["node", "server.js"]
becomes
    RUN npm ci --omit=dev
    ENV NODE_ENV=production
    CMD ["node", "server.js"]

## Fix safety
- Development, test, CI and base images are left alone (only the legacy form is rewritten, which
  means the same): production settings would defeat their purpose. They are known by file name or stage name, by a devcontainer folder, by a start
  command that runs a dev server, watcher or test runner (`next dev`, `vite`, `nodemon`,
  `ng serve`, `jest`..., followed through the package.json scripts it calls; a script named
  `dev`, `start:dev` or `watch`), by Cypress or Playwright's test runner installed in the image,
  and by a final stage without CMD or
  ENTRYPOINT: such an image starts the `node` prompt, so it is a base for other images or a
  CI or tooling image, whose later `npm install` would silently skip devDependencies under
  NODE_ENV=production.
- When the container runs `npm install` (or yarn, pnpm) at start-up and the project has dev
  dependencies, NODE_ENV is not added: that install would skip them. The finding says so.
- Rewriting the legacy form is safe: same variable, same value.
- Adding NODE_ENV is unsafe: the app may read it to pick configuration files or behaviour.
- A NODE_ENV that is already set (to any value, also through an ARG) is respected; a value other
  than `production` in the runtime stage is reported, not changed.

## Related hadolint rules
None; BuildKit's check LegacyKeyValueFormat for the legacy form.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

from ..context import RuleContext
from ..dockerfile.document import COMMAND_SPLIT, Document, Instruction
from ..dockerfile.stages import (
    applies_to,
    runtime_boundary,
    runtime_stage,
    stage_chain,
)
from ..dockerfile.words import read_env
from ..edit_helpers import insert_line_after
from ..edits import Applicability, Edit, Finding, Fix
from ..project.inputs import ProjectInput
from ..project.npmscripts import dev_dependency_at_start, development_builds, install_at_start
from .rule import Rule

_PLAIN_VALUE = re.compile(r"^[A-Za-z0-9_.\-:/,@%+$]+$")


def _env_pairs(inst: Instruction, escape: str) -> list[tuple[str, str]] | None:
    """(name, value as written) of an ENV; None for the legacy `ENV key value` form."""
    env = read_env(inst.args, escape)
    return None if env.legacy or not env.pairs else list(env.pairs)


def check(doc: Document, ctx: RuleContext) -> Iterator[Finding]:
    stage = runtime_stage(doc)
    if stage is None or not applies_to(doc, stage):
        return
    # Development, test, CI and base images keep whatever NODE_ENV they have; only the legacy
    # form is rewritten there, which means the same.
    development = ctx.facts(doc).development_reason(stage) is not None
    escape = doc.escape.decode()
    for member in stage_chain(doc, stage):
        for inst in member.instructions:
            if inst.name != "ENV":
                continue
            pairs = _env_pairs(inst, escape)
            if pairs is None:
                parts = COMMAND_SPLIT.split(inst.args_bytes, 1)
                if parts[0] != b"NODE_ENV":
                    continue
                value = parts[1].decode("utf-8", "replace") if len(parts) > 1 else ""
                if member is stage and _PLAIN_VALUE.match(value):
                    yield Finding(
                        RULE.code,
                        "legacy `ENV NODE_ENV value` form: use `ENV NODE_ENV=value`",
                        inst.line,
                        Fix.safe(Edit(*inst.args_span, f"NODE_ENV={value}".encode())),
                    )
                elif member is stage and value and '"' not in value and "\\" not in value and "`" not in value:
                    yield Finding(
                        RULE.code,
                        "legacy `ENV NODE_ENV value` form: use `ENV NODE_ENV=value`",
                        inst.line,
                        Fix.safe(Edit(*inst.args_span, f"NODE_ENV={json.dumps(value)}".encode())),
                    )
                return
            for key, value in pairs:
                if key == "NODE_ENV":
                    plain = value.strip("\"'")
                    if member is stage and plain not in ("production", "prod") and "$" not in plain and not development:
                        yield Finding(
                            RULE.code,
                            f"NODE_ENV is `{plain}` in the stage that runs the app; production images should run with NODE_ENV=production",
                            inst.line,
                        )
                    return
    if development:
        return
    anchor = runtime_boundary(stage)
    built_for_development = development_builds(ctx.project, stage, ctx.builds)
    if built_for_development:
        # The same file is built for production too (else DF000 leaves it alone): a hard-coded
        # ENV would give the development build production settings.
        yield Finding(
            RULE.code,
            f"NODE_ENV is not set to production in the stage that runs the app; not set here: {built_for_development[0]},"
            " which `ENV NODE_ENV=production` would override: declare `ARG NODE_ENV=production` and"
            " `ENV NODE_ENV=$NODE_ENV`, so each build keeps its own value",
            anchor.line,
        )
        return
    install = install_at_start(ctx.project, doc, stage)
    if install is not None and ctx.project.dev_dependencies:
        # npm, yarn and pnpm skip devDependencies under NODE_ENV=production: the install the
        # container runs at start-up would leave out what it installs today.
        tool = dev_dependency_at_start(ctx.project, doc, stage)
        needed = f", and then runs `{tool[0]}` from the dev dependency `{tool[1]}`" if tool else ""
        yield Finding(
            RULE.code,
            f"NODE_ENV is not set to production in the stage that runs the app; not set here: the container runs `{install}` when it starts, which would then skip the dev dependencies{needed}; install in the image, then set it",
            anchor.line,
        )
        return
    yield Finding(
        RULE.code,
        "NODE_ENV is not set to production in the stage that runs the app",
        anchor.line,
        Fix.unsafe(insert_line_after(doc, anchor, "ENV NODE_ENV=production")),
    )


RULE = Rule(
    code="DF003",
    name="node-env-production",
    summary="Set ENV NODE_ENV=production in the stage that runs the app",
    fix_safety={Applicability.SAFE: "rewriting the legacy form", Applicability.UNSAFE: "adding it"},
    docs=__doc__,
    check=check,
    reads=frozenset({ProjectInput.PACKAGE, ProjectInput.APP_CODE}),
)
