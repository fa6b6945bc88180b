"""Keep node_modules, .git and credentials out of the build context.

## What it does
When the build context has no `.dockerignore` (nor a `<Dockerfile>.dockerignore` next to the
Dockerfile), creates one with: `node_modules`, the npm/yarn/pnpm debug logs, `Dockerfile*`,
`.dockerignore`, `.git`, `.gitignore`, `.npmrc`, `.env`, `.env.*`, `coverage`, and the build
output folder when the image builds it itself. An existing file is only completed with what
keeps local state and secrets out: `node_modules`, `.git`, `.npmrc`, `.env`; lines are appended,
the user's lines, comments and `!` negations stay as they are.

## Why
`COPY . .` sends the whole folder: a local `node_modules` built for another platform overwrites
the one installed in the image, `.git` bloats the context and leaks history, and `.npmrc` or
`.env` put tokens and passwords into a layer anyone with the image can read.

## Example
A project without `.dockerignore` and a Dockerfile with `COPY . .` gets a new `.dockerignore`:
    node_modules
    npm-debug.log*
    .git
    .npmrc
    .env
    ...

## Fix safety
Safe: a pattern is never added when it would leave out something a COPY or ADD of the
Dockerfile names (a `.npmrc` copied on purpose, a `dist/` built outside Docker), judged with
Docker's own pattern rules (not gitignore's: `node_modules` covers only the top-level folder,
the last matching line wins). A name the user re-includes with `!` is not added again.

A `.dockerignore` belongs to the build context, not to one Dockerfile: every other Dockerfile
the repository builds from the same context (a compose file's `context: .` for
`packages/backend/Dockerfile`, a workflow, a Tiltfile) reads it too, unless it has its own
`<Dockerfile>.dockerignore`. A pattern is not added at all when it would leave out what one
of them copies, whether the file is in the checkout or only on the machines that build (a
gitignored `.env`, a `dist/` built before `docker build`), or a `.npmrc` or `.env` that one
of its RUNs or its app reads: the finding names the Dockerfile that needs it.

A finding about a `.dockerignore` that does not exist yet is reported on the Dockerfile, on
the first COPY or ADD that takes files from the build context.

Leaving out a file the build context has, a COPY sends (`COPY . .` too) and the build or the
app reads changes what the image does, so that part is a separate, unsafe fix that says why:
- a `.npmrc` that npm, npx, Yarn or pnpm reads: a RUN of one of them after the COPY (registry,
  workspace or hoisting settings for `npm ci` or `pnpm install`, the registry for `npx`,
  `script-shell` or `node-options` for `npm run build`), or a start command that runs through
  one of them (`npm start` reads the project's `.npmrc` when the container starts);
- a `.env` (or `.env.*`) that the app loads: `dotenv` or a relative in package.json,
  `require('dotenv')` or `import 'dotenv/config'` in the sources, `--env-file` or `dotenv` in
  the start command, or a framework that loads env files at build time (Next.js, Vite,
  Create React App, Vue CLI, Nuxt, Gatsby, Astro, SvelteKit).
A `.npmrc` that holds a registry token and is read by a RUN is not left out at all: the build
needs it, and the way to keep the token out of the image is to mount the file as a
build secret (DF010), which the finding says.

## Related hadolint rules
None.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..context import RuleContext
from ..dockerfile.document import DockerfileSyntaxError, Document
from ..dockerfile.stages import applies_to, copies_file, run_commands, runtime_stage, start_commands
from ..edits import Applicability, Edit, Finding, Fix
from ..project.dockerignore_patterns import DockerIgnore, _translate, parse_pattern
from ..project.inputs import EVERY_INPUT
from ..project.node_tooling import BUILD_TOOLS, PACKAGE_MANAGERS, PACKAGE_RUNNERS
from ..project.npmscripts import start_commands_run
from .rule import Rule

# (pattern, names it stands for): the names are what a COPY source glob is checked against.
NEW_FILE_PATTERNS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("node_modules", ("node_modules",)),
    ("npm-debug.log*", ("npm-debug.log",)),
    ("yarn-debug.log*", ("yarn-debug.log",)),
    ("yarn-error.log*", ("yarn-error.log",)),
    (".pnpm-debug.log*", (".pnpm-debug.log",)),
    ("Dockerfile*", ("Dockerfile", "Dockerfile.prod")),
    (".dockerignore", (".dockerignore",)),
    (".git", (".git",)),
    (".gitignore", (".gitignore",)),
    (".npmrc", (".npmrc",)),
    (".env", (".env",)),
    (".env.*", (".env.local", ".env.production")),
    ("coverage", ("coverage",)),
)
REQUIRED = ("node_modules", ".git", ".npmrc", ".env")
MAX_SCANNED_SOURCES = 300
# Packages that load `.env` into process.env, and frameworks that load `.env` and `.env.<mode>`
# at build or start time.
DOTENV_PACKAGES = (
    "dotenv",
    "dotenv-flow",
    "dotenv-safe",
    "dotenv-expand",
    "dotenv-cli",
    "@dotenvx/dotenvx",
    "env-cmd",
    "@nestjs/config",
)
ENV_FILE_FRAMEWORKS = (
    "next",
    "vite",
    "react-scripts",
    "@vue/cli-service",
    "nuxt",
    "gatsby",
    "astro",
    "@sveltejs/kit",
)
EXAMPLE_ENV_FILES = (".env.example", ".env.sample", ".env.template", ".env.dist", ".env.defaults")
DOTENV_IN_SOURCE = re.compile(rb"""(?:require\(\s*|from\s+|import\s+)['"](?:dotenv|@dotenvx/dotenvx)(?:/config)?['"]""")
TOKEN_SETTINGS = re.compile(rb"(?m)^\s*(?://[^\s=]*:)?(?:_authToken|_auth|_password)\s*=")
SOURCE_SUFFIXES = (".js", ".mjs", ".cjs", ".ts", ".mts", ".cts")
# Commands that read the project's `.npmrc` in the folder they run in.
NPMRC_READERS = (*PACKAGE_MANAGERS, *PACKAGE_RUNNERS)


def _own_ignore_file(ctx: RuleContext, dockerfile: Path) -> Path | None:
    """`<Dockerfile>.dockerignore` next to the Dockerfile, when it exists: BuildKit then reads it alone."""
    specific = dockerfile.parent / f"{dockerfile.name}.dockerignore"
    return specific if ctx.project.read_absolute(specific) is not None else None


def ignore_file(ctx: RuleContext) -> Path:
    """The file BuildKit reads: `<Dockerfile>.dockerignore` when it exists, else `.dockerignore`."""
    return _own_ignore_file(ctx, ctx.dockerfile) or ctx.project.root / ".dockerignore"


@dataclass(frozen=True, slots=True)
class Sibling:
    """Another Dockerfile built from the same context, which reads the same `.dockerignore`."""

    shown: str  # its path from the build context, as findings name it
    doc: Document
    sources: list[str]


def context_siblings(ctx: RuleContext, path: Path) -> list[Sibling]:
    """The other Dockerfiles that read the ignore file `path`: built from this context, without their own.

    A sibling that cannot be read or parsed is skipped: its own check reports why.
    """
    if ctx.builds is None or path != ctx.project.root / ".dockerignore":
        return []
    if Path(os.path.realpath(ctx.builds.choice.context)) != ctx.project.resolved_root:
        return []  # `--context` chose another folder than the one the siblings share
    siblings = []
    for dockerfile in ctx.builds.siblings:
        absolute = Path(os.path.abspath(dockerfile))
        if _own_ignore_file(ctx, absolute) is not None:
            continue
        data = ctx.project.read_absolute(absolute)
        if data is None:
            continue
        try:
            doc = Document.parse(data)
        except DockerfileSyntaxError:
            continue
        shown = os.path.relpath(absolute, os.path.abspath(ctx.project.root)).replace(os.sep, "/")
        siblings.append(Sibling(shown, doc, context_sources(doc)))
    return siblings


def first_context_copy_line(doc: Document) -> int:
    """The line of the first COPY or ADD that takes files from the build context; 1 if none does."""
    for inst in doc.instructions:
        if inst.name in ("COPY", "ADD") and inst.flag("from") is None and _local_sources(inst.words[:-1]):
            return inst.line
    return 1


def context_sources(doc: Document) -> list[str]:
    """Source paths or globs that COPY/ADD take from the build context, in any stage."""
    sources = []
    for inst in doc.instructions:
        if inst.name not in ("COPY", "ADD") or inst.flag("from") is not None:
            continue
        sources += _local_sources(inst.words[:-1])
    return sources


def _local_sources(words: list[str]) -> list[str]:
    """The words of a COPY or ADD that name files of the build context (not heredocs, URLs, git)."""
    return [word for word in words if not (word.startswith("<<") or "://" in word or word.startswith("git@"))]


@dataclass(frozen=True, slots=True)
class _CopySource:
    """A COPY/ADD source as an ignore pattern is checked against it."""

    variable: str | None  # a source with a variable, as written: only the names it spells out count
    glob: re.Pattern[str] | None  # a source with wildcards: a pattern whose names it matches is needed
    paths: tuple[str, ...]  # the context paths it takes: itself, and the listed files its wildcards match


def _copy_sources(sources: list[str], files: Sequence[str]) -> list[_CopySource]:
    """The sources as `_needed_by_copy` checks them, each read (and its glob matched against the
    context's files) once for all the patterns."""
    checked = []
    for source in sources:
        if "$" in source:
            checked.append(_CopySource(source, None, ()))
            continue
        parsed = parse_pattern(source)
        if parsed is None or parsed.text in (".", "/"):
            continue  # the whole context: leaving things out is the point
        cleaned = parsed.text
        paths = [cleaned]
        glob = None
        if not parsed.is_literal:
            translated = _translate(cleaned)
            if translated is None:
                continue
            if any(ch in cleaned for ch in "*?["):
                glob = translated
                paths += [f for f in files if translated.fullmatch(f)]
        checked.append(_CopySource(None, glob, tuple(p for p in paths if not any(ch in p for ch in "*?["))))
    return checked


def _needed_by_copy(pattern_text: str, names: tuple[str, ...], sources: list[_CopySource]) -> bool:
    """Whether ignoring this pattern would leave out something a COPY/ADD names."""
    pattern = parse_pattern(pattern_text)
    if pattern is None:
        return False  # a comment or a blank line leaves nothing out
    for source in sources:
        if source.variable is not None:
            # a variable source could be anything: only guard against names it spells out
            needed = any(name in source.variable for name in names)
        else:
            globbed = source.glob is not None and any(source.glob.fullmatch(name) for name in names)
            needed = globbed or any(pattern.matches(path) for path in source.paths)
        if needed:
            return True
    return False


def _sent(doc: Document, name: str) -> bool:
    """Whether any stage's COPY or ADD takes `name` (a file at the context's root) from the build context."""
    return any(copies_file(doc, stage, name, None) for stage in doc.stages)


def _run_reading(doc: Document, name: str) -> str | None:
    """The package-manager command a RUN runs after a COPY has brought `name` into its stage.

    npm, Yarn and pnpm read the project's `.npmrc` for every command, not only installs: the
    registry and its credentials for `npx`, `script-shell` and `node-options` for `npm run`.
    """
    for stage in doc.stages:
        for inst, _, command in run_commands(doc, stage):
            if command.name in NPMRC_READERS and copies_file(doc, stage, name, inst):
                return " ".join(command.argv[:2])
    return None


def _start_reading(doc: Document, ctx: RuleContext, name: str) -> str | None:
    """The package-manager command the container starts with, when `name` was copied into its stage (`npm start`)."""
    stage = runtime_stage(doc)
    if stage is None or not copies_file(doc, stage, name, None):
        return None
    for argv in [*start_commands(stage), *start_commands_run(ctx.project, doc, stage)]:
        if argv and argv[0].rsplit("/", 1)[-1] in NPMRC_READERS:
            return " ".join(argv[:2])
    return None


def _source_files(ctx: RuleContext) -> list[str]:
    return [f for f in ctx.project.listed_files if f.endswith(SOURCE_SUFFIXES)][:MAX_SCANNED_SOURCES]


def _env_file_reader(doc: Document, ctx: RuleContext, name: str) -> str | None:
    """What loads the env file `name` in the build or the app, if anything does."""
    project = ctx.project
    declared = {
        **project.dependencies(),
        **project.dev_dependencies,
        **project.dependencies("optionalDependencies"),
    }
    stage = runtime_stage(doc)
    started = " ".join(" ".join(argv) for argv in start_commands_run(project, doc, stage)) if stage is not None else ""
    scripts = " ".join(project.scripts.values())
    if re.search(rf"(?<![\w.-]){re.escape(name)}(?![\w.-])", f"{started} {scripts}"):
        return f"a start command or package.json script names {name}"
    if name in EXAMPLE_ENV_FILES:
        return "`dotenv-safe` checks the settings against it" if "dotenv-safe" in declared else None
    framework = next((package for package in ENV_FILE_FRAMEWORKS if package in declared), None)
    if framework is not None:
        return f"`{framework}` loads env files"
    if name != ".env" and "dotenv-flow" not in declared:
        return None  # plain dotenv reads `.env` only
    package = next((package for package in DOTENV_PACKAGES if package in declared), None)
    if package is not None:
        return f"the app loads it with `{package}`"
    if "--env-file" in started or "dotenv" in started:
        return "the start command loads it"
    for relative in _source_files(ctx):
        data = project.read(relative) or b""
        if DOTENV_IN_SOURCE.search(data):
            return f"{relative} loads it with dotenv"
    return None


def read_by_build(doc: Document, ctx: RuleContext, name: str) -> str | None:
    """Why leaving out `name` would change the image: the context has it, a COPY sends it, and something reads it."""
    if not ctx.project.exists(name) or not _sent(doc, name):
        return None
    if name == ".npmrc":
        command = _run_reading(doc, name)
        if command:
            return f"`{command}` reads it after `COPY` brings it in"
        command = _start_reading(doc, ctx, name)
        return f"`{command}` reads it when the container starts" if command else None
    if name.startswith(".env"):
        return _env_file_reader(doc, ctx, name)
    return None


def holds_token(ctx: RuleContext, name: str) -> bool:
    return bool(TOKEN_SETTINGS.search(ctx.project.read(name) or b""))


def _builds_in_image(doc: Document, ctx: RuleContext) -> bool:
    for inst in doc.instructions:
        for script in inst.scripts:
            for command in script.commands:
                words = [w.text for w in command.args if not w.text.startswith("-")]
                if command.name in BUILD_TOOLS:
                    return True
                if command.name in ("npm", "pnpm") and words[:2] in (["run", "build"], ["run-script", "build"]):
                    return True
                if command.name in ("yarn", "pnpm") and words[:1] == ["build"]:
                    return True
    return False


def build_output_folder(doc: Document, ctx: RuleContext) -> str | None:
    """The folder the image's own build writes (tsconfig's outDir, or where the start file is)."""
    if not _builds_in_image(doc, ctx):
        return None
    tsconfig = ctx.project.read("tsconfig.json")
    if tsconfig:
        match = re.search(rb'"outDir"\s*:\s*"([^"]+)"', tsconfig)
        if match:
            folder = match.group(1).decode("utf-8", "replace").strip("./").split("/")[0]
            if folder and re.fullmatch(r"[A-Za-z0-9_.-]+", folder):
                return folder
    stage = runtime_stage(doc)
    if stage is None:
        return None
    for argv in start_commands(stage):
        for word in argv:
            head = word.lstrip("./").split("/")[0]
            if (
                word.endswith((".js", ".mjs", ".cjs"))
                and "/" in word.lstrip("./")
                and head in ("dist", "build", "out", "lib")
            ):
                return head
    return None


def _names_in_context(ctx: RuleContext, pattern: str) -> list[str]:
    """The files at the top of the context a `.npmrc` or env-file pattern stands for."""
    if pattern == ".npmrc":
        return [".npmrc"]
    if pattern in (".env", ".env.*"):
        parsed = parse_pattern(pattern)
        env_files = [name for name in ctx.project.top_level_files if name == ".env" or name.startswith(".env.")]
        return [name for name in env_files if parsed is not None and parsed.matches(name)]
    return []


def _reads(doc: Document, ctx: RuleContext, patterns: list[str]) -> dict[str, tuple[str, bool]]:
    """Of the patterns, those that would leave out a file this build or its app reads: {pattern: (why, token)}.

    `token` is a `.npmrc` with a registry token that a RUN needs: it belongs to a secret mount,
    not to leaving out.
    """
    found: dict[str, tuple[str, bool]] = {}
    for pattern in patterns:
        for name in _names_in_context(ctx, pattern):
            why = read_by_build(doc, ctx, name)
            if why is None:
                continue
            token = name == ".npmrc" and holds_token(ctx, name) and _run_reading(doc, name) is not None
            found[pattern] = (why if name == pattern else f"{name}: {why}", token)
            break
    return found


def _kept_in(doc: Document, ctx: RuleContext, patterns: list[str]) -> tuple[dict[str, str], list[str]]:
    """Of the patterns, those that would leave out a file the build or the app reads: {pattern: why}.

    The second list holds the patterns to add with no fix at all: a `.npmrc` with a token that
    the install needs, which belongs to a secret mount, not to leaving out.
    """
    reads = _reads(doc, ctx, patterns)
    reasons = {pattern: why for pattern, (why, token) in reads.items() if not token}
    return reasons, [pattern for pattern, (_, token) in reads.items() if token]


def _needed_by_siblings(
    ctx: RuleContext, siblings: list[Sibling], patterns: list[tuple[str, tuple[str, ...]]], files: Sequence[str]
) -> dict[str, str]:
    """Of the patterns, those another Dockerfile of the context copies or reads: {pattern: which one, why}."""
    held: dict[str, str] = {}
    for sibling in siblings:
        sources = _copy_sources(sibling.sources, files)
        for pattern, names in patterns:
            if pattern not in held and _needed_by_copy(pattern, names, sources):
                held[pattern] = f"{sibling.shown}, built from the same context, copies it"
        unheld = [pattern for pattern, _ in patterns if pattern not in held]
        for pattern, (why, _token) in _reads(sibling.doc, ctx, unheld).items():
            held[pattern] = f"{sibling.shown}, built from the same context: {why}"
    return held


def _token_finding(path: Path | None, line: int) -> Finding:
    """On the existing ignore file (`path`), or on the Dockerfile's `line` while there is none yet (`path` None)."""
    return Finding(
        RULE.code,
        "the build context's .npmrc holds a registry token and the build reads it, so it is not left out here: "
        "mount it as a build secret instead (DF010: `RUN --mount=type=secret,id=npmrc,target=...`), then leave it out",
        line,
        None,
        path,
    )


def _listed_files(ctx: RuleContext, sources: list[str], siblings: list[Sibling]) -> Sequence[str]:
    """The context's files, when a COPY source of the Dockerfile or a sibling is a glob (else none are needed)."""
    every = [*sources, *(source for sibling in siblings for source in sibling.sources)]
    return ctx.project.listed_files if any(any(ch in s for ch in "*?[") for s in every) else ()


def _where(ctx: RuleContext, path: Path) -> str:
    """` in the build context FOLDER` when the ignore file is not next to the Dockerfile (a compose `context: .`)."""
    if os.path.abspath(path.parent) == os.path.abspath(ctx.dockerfile.parent):
        return ""
    folder = os.path.relpath(os.path.abspath(path.parent), os.path.abspath(ctx.dockerfile.parent))
    return f" in the build context {folder.replace(os.sep, '/')}"


def _create(doc: Document, ctx: RuleContext, path: Path, siblings: list[Sibling]) -> Iterator[Finding]:
    """A new ignore file; its findings sit on the Dockerfile, as the file does not exist yet."""
    sources = context_sources(doc)
    files = _listed_files(ctx, sources, siblings)
    patterns = list(NEW_FILE_PATTERNS)
    output = build_output_folder(doc, ctx)
    if output and output not in (p for p, _ in patterns):
        patterns.append((output, (output,)))
    copied = _copy_sources(sources, files)
    kept = [(p, names) for p, names in patterns if not _needed_by_copy(p, names, copied)]
    skipped = [p for p, _ in patterns if p not in (k for k, _ in kept)]
    held = _needed_by_siblings(ctx, siblings, kept, files)
    read, tokens = _kept_in(doc, ctx, [p for p, _ in kept if p not in held])
    written = [p for p, _ in kept if p not in held and p not in read and p not in tokens]
    content = "".join(f"{line}\n" for line in written).encode()
    notes = [f"{', '.join(skipped)} left out: the Dockerfile copies it"] if skipped else []
    notes += [f"{pattern} left out: {why}" for pattern, why in held.items()]
    notes += [f"{pattern} left out: {why}" for pattern, why in read.items()]
    note = f" ({'; '.join(notes)})" if notes else ""
    line = first_context_copy_line(doc)
    yield Finding(
        RULE.code,
        f"no .dockerignore{_where(ctx, path)}: the local node_modules, .git and any .npmrc or .env are sent to "
        f"the builder and can end up in the image; creating one{note}",
        line,
        Fix.safe(Edit(0, 0, content, path)),
    )
    if tokens:
        yield _token_finding(None, line)


def _complete(
    doc: Document, ctx: RuleContext, path: Path, existing: bytes, siblings: list[Sibling]
) -> Iterator[Finding]:
    """An existing ignore file completed with what keeps local state and secrets out."""
    sources = context_sources(doc)
    files = _listed_files(ctx, sources, siblings)
    copied = _copy_sources(sources, files)
    rules = DockerIgnore.parse(existing)
    missing = [
        name
        for name in REQUIRED
        if not rules.excludes(name)
        and not rules.negations_touching(name)
        and not _needed_by_copy(name, (name,), copied)
    ]
    held = _needed_by_siblings(ctx, siblings, [(name, (name,)) for name in missing], files)
    missing = [name for name in missing if name not in held]
    if not missing:
        return
    read, tokens = _kept_in(doc, ctx, missing)
    text = existing.decode("utf-8", "replace")
    newline = "\r\n" if "\r\n" in text else "\n"
    prefix = "" if not existing or existing.endswith(b"\n") else newline

    def append(names: list[str]) -> Edit:
        return Edit.insert(len(existing), (prefix + "".join(f"{name}{newline}" for name in names)).encode(), path)

    unread = [name for name in missing if name not in read and name not in tokens]
    note = f" ({'; '.join(f'{name} not added: {why}' for name, why in held.items())})" if held else ""
    if unread:
        yield Finding(
            RULE.code,
            f"{path.name} does not leave out {', '.join(unread)}: local state or credentials reach the builder; "
            f"adding {'them' if len(unread) > 1 else 'it'}{note}",
            1,
            Fix.safe(append(unread)),
            path,
        )
    elif read:
        # One file edit a pass: the unsafe part waits until the safe part is in.
        yield Finding(
            RULE.code,
            f"{path.name} does not leave out {', '.join(read)}, which the image uses ({'; '.join(read.values())}): "
            "leaving it out changes what the build or the app does; pass the settings another way (a build secret, "
            f"`--env-file` at run time), then add it{note}",
            1,
            Fix.unsafe(append(list(read))),
            path,
        )
    if tokens:
        yield _token_finding(path, 1)


def check(doc: Document, ctx: RuleContext) -> Iterator[Finding]:
    project = ctx.project
    stages = doc.stages
    if not stages or not (project.has_package_json or any(applies_to(doc, s) for s in stages)):
        return
    path = ignore_file(ctx)
    existing = project.read_absolute(path)
    siblings = context_siblings(ctx, path)
    if existing is None:
        yield from _create(doc, ctx, path, siblings)
    else:
        yield from _complete(doc, ctx, path, existing, siblings)


RULE = Rule(
    code="DF009",
    name="dockerignore",
    summary="Keep node_modules, .git, .npmrc and .env out of the build context with .dockerignore",
    fix_safety={Applicability.SAFE: "adding patterns nothing a Dockerfile built from the context copies needs"},
    docs=__doc__,
    check=check,
    reads=EVERY_INPUT,
)
