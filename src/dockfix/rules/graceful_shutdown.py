"""The app itself finishes its requests on SIGTERM.

## What it does
Finds the file the container really starts (the `node` command of the exec-form CMD or
ENTRYPOINT, `npm start` resolved through package.json, or for a built app such as
`dist/server.js` the TypeScript source it is built from) and, when it has no SIGTERM handler,
inserts one fitted to what the file uses: `await fastify.close()` for fastify; for Express, Koa
and plain `http`/`https`, the server returned by `listen` is kept and closed, requests in flight
finish, then the process exits, with a safety timer so a stuck connection cannot hang shutdown;
`app.enableShutdownHooks()` for NestJS. Anything else gets a finding that explains what to add.

## Why
Exec form and dumb-init deliver SIGTERM to node, but without a handler node dies at once and
every request in flight is dropped at each deploy or scale-down.

## Example
    const app = express();
    app.listen(3000);
becomes
    const app = express();
    const server = app.listen(3000);
    function closeGracefully(signal) { ... server.close(() => process.exit(0)); ... }
    process.once('SIGTERM', closeGracefully);
    process.once('SIGINT', closeGracefully);

## Fix safety
Unsafe: it edits application code. The edit follows the file's module system, quotes,
semicolons and indentation, uses only syntax the image's Node.js parses (no `?.` before
Node.js 14, no `async function` before 8, ES5 where the image's major is not known), is
inserted once, and is shown in the same diff as the Dockerfile's changes. The image's Node.js
is the one it has once the run's fixes are applied: when DF007 moves the base to a new major in
the same run, the handler is written after the move, for the new major; when the move is not
made (a safe run, or the upgrade withheld), for the major the image keeps. A file that already
handles SIGTERM (or uses http-terminator, @godaddy/terminus, close-with-grace, stoppable, NestJS
shutdown hooks) is left alone. Files under node_modules or outside the build context are never
edited; an entry file that is a link out of the build context gets a finding saying so, and so
does one over 1 MiB (a bundle, rebuilt rather than edited), which is not read.

## Related hadolint rules
None: no Dockerfile linter looks at the application's code.
"""

from __future__ import annotations

from collections.abc import Iterator

from ..appcode.entry import MAX_ENTRY_FILE, entry_leads_outside, oversized_entry, resolve_entry_source
from ..appcode.imports import ImportedShutdown, follow_imports
from ..appcode.shutdown import ShutdownPlan, plan_graceful_shutdown
from ..appcode.syntax import UnsupportedSourceError
from ..context import RuleContext
from ..dockerfile.document import Document
from ..dockerfile.stages import applies_to, image_node_major, runtime_stage, start_instructions, workdir_at
from ..edits import Applicability, Finding, Fix
from ..project.inputs import ProjectInput
from ..project.npmscripts import resolve_script
from .rule import Rule

_NODE_OPTIONS_WITH_VALUE = (
    "-r",
    "--require",
    "--import",
    "--loader",
    "--experimental-loader",
    "-e",
    "--eval",
    "--inspect-port",
    "--env-file",
)


def _entry_of(argv: list[str]) -> str | None:
    """The script node runs: `node --require x dist/server.js` -> dist/server.js."""
    if argv and argv[0] in ("dumb-init", "tini", "/sbin/tini", "--"):
        return _entry_of(argv[1:])
    if not argv or argv[0].rsplit("/", 1)[-1] not in ("node", "nodejs"):
        return None
    rest = argv[1:]
    i = 0
    while i < len(rest):
        word = rest[i]
        if word in ("-e", "--eval", "-p", "--print"):
            return None
        if word in _NODE_OPTIONS_WITH_VALUE:
            i += 2
            continue
        if word.startswith("-"):
            i += 1
            continue
        return word
    return None


def check(doc: Document, ctx: RuleContext) -> Iterator[Finding]:
    stage = runtime_stage(doc)
    if stage is None or not applies_to(doc, stage):
        return
    entrypoint, cmd = start_instructions(stage)
    target = entrypoint or cmd
    if target is None:
        return
    argv = target.words
    if entrypoint is not None and cmd is not None and _entry_of(argv) is None:
        argv = cmd.words
    entry = _entry_of(argv)
    # The app in the WORKDIR: the package whose package.json the image has there.
    project = ctx.facts(doc).image_project(stage)
    if entry is None:
        resolved = resolve_script(project, argv[1:] if argv[:1] == ["dumb-init"] else argv)
        if resolved is not None and resolved.why_not is None:
            entry = _entry_of(resolved.argv)
    if entry is None:
        return
    # Only the stage's own WORKDIRs: what its base set is not looked at.
    workdir = workdir_at(doc, stage, inherit=False)
    if entry.startswith("/"):
        if workdir and entry.startswith(workdir.rstrip("/") + "/"):
            entry = entry[len(workdir.rstrip("/")) + 1 :]
        else:
            return  # outside the app folder: not a file of this project we can place
    source_file = resolve_entry_source(project.root, entry)
    if source_file is None:
        if entry_leads_outside(project.root, entry):
            yield Finding(
                RULE.code,
                f"{entry} is a link out of the build context: dockfix neither checks nor edits it",
                target.line,
            )
        return
    oversized = oversized_entry(source_file.path)
    if oversized is not None:
        shown = source_file.path.relative_to(ctx.project.root.resolve()).as_posix()
        yield Finding(
            RULE.code,
            f"{shown} is not checked for a SIGTERM handler: it is {oversized} bytes, over the"
            f" {MAX_ENTRY_FILE} bytes (1 MiB) dockfix reads of an entry file",
            target.line,
        )
        return
    source = ctx.project.read_absolute(source_file.path)
    if source is None:
        return
    try:
        plan = plan_graceful_shutdown(
            source,
            path=source_file.path,
            language=source_file.language,
            module_system=source_file.module_system,
            node_major=image_node_major(doc, stage),
        )
    except UnsupportedSourceError:
        return
    if plan.already_handled:
        return
    context_root = ctx.project.root.resolve()
    imported = follow_imports(context_root, source_file.path, source, source_file.language)
    if imported.handled_in is not None:
        return  # a module the entry imports registers the shutdown
    relative = source_file.path.relative_to(context_root).as_posix()
    yield _finding(relative, imported, plan, target.line)


def _finding(relative: str, imported: ImportedShutdown, plan: ShutdownPlan, line: int) -> Finding:
    """The finding, saying which files were read and what was not."""
    count = len(imported.followed)
    read = f"{relative} and the {count} local module{'s' if count > 1 else ''} it imports" if count else relative
    unchecked = imported.not_checked()
    fix = Fix.unsafe(*plan.edits) if plan.edits else None
    if unchecked:
        head = f"no SIGTERM handler in {read} (not checked: {', '.join(unchecked)})"
        if plan.edits:
            head += f"; without one, {relative} ({plan.framework}) drops requests in flight on SIGTERM"
        return Finding(RULE.code, f"{head}: {plan.message}", line, fix)
    if not plan.edits:
        verb = "do not" if count else "does not"
        return Finding(RULE.code, f"{read} {verb} handle SIGTERM: {plan.message}", line)
    where = f" (nor do the {count} local module{'s' if count > 1 else ''} it imports handle it)" if count else ""
    return Finding(
        RULE.code,
        f"{relative} ({plan.framework}) drops requests in flight on SIGTERM{where}: {plan.message}",
        line,
        fix,
    )


RULE = Rule(
    code="DF006",
    name="graceful-shutdown",
    summary="Handle SIGTERM in the app: close the server, let requests finish, then exit",
    fix_safety={Applicability.UNSAFE: "edits application code"},
    docs=__doc__,
    check=check,
    reads=frozenset({ProjectInput.PACKAGE, ProjectInput.APP_CODE}),
)
