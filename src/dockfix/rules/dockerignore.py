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
from collections.abc import Iterator
from pathlib import Path

from ..context import RuleContext
from ..dockerfile.document import Document
from ..dockerfile.stages import applies_to, copies_file, run_commands, runtime_stage, start_commands
from ..edits import Applicability, Edit, Finding, Fix
from ..project.dockerignore_patterns import DockerIgnore, _translate, parse_pattern
from ..project.node_tooling import BUILD_TOOLS, PACKAGE_MANAGERS, PACKAGE_RUNNERS
from ..project.npmscripts import start_commands_run
from .rule import Rule

# (pattern, names it stands for): the names are what a COPY source glob is checked against.
NEW_FILE_PATTERNS = (
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
MAX_LISTED_FILES = 2000
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


def ignore_file(ctx: RuleContext) -> Path:
    """The file BuildKit reads: `<Dockerfile>.dockerignore` when it exists, else `.dockerignore`."""
    specific = ctx.dockerfile.parent / f"{ctx.dockerfile.name}.dockerignore"
    if ctx.project.read_absolute(specific) is not None:
        return specific
    return ctx.project.root / ".dockerignore"


def context_sources(doc: Document) -> list[str]:
    """Source paths or globs that COPY/ADD take from the build context, in any stage."""
    sources = []
    for inst in doc.instructions:
        if inst.name not in ("COPY", "ADD") or inst.flag("from") is not None:
            continue
        words = inst.words
        for word in words[:-1]:
            if word.startswith("<<") or "://" in word or word.startswith("git@"):
                continue
            sources.append(word)
    return sources


def _project_files(root: Path) -> list[str]:
    """Relative paths in the context, up to a bound (for COPY globs); node_modules and .git skipped."""
    found: list[str] = []
    for folder, subfolders, names in os.walk(root, onerror=lambda error: None):
        subfolders[:] = [d for d in subfolders if d not in ("node_modules", ".git")]
        base = Path(folder).relative_to(root)
        for name in [*subfolders, *names]:
            found.append((base / name).as_posix())
            if len(found) >= MAX_LISTED_FILES:
                return found
    return found


def _needed_by_copy(pattern_text: str, names: tuple[str, ...], sources: list[str], files: list[str]) -> bool:
    """Whether ignoring this pattern would leave out something a COPY/ADD names."""
    pattern = parse_pattern(pattern_text)
    if pattern is None:
        return False  # a comment or a blank line leaves nothing out
    for source in sources:
        if "$" in source:
            # a variable source could be anything: only guard against names it spells out
            if any(name in source for name in names):
                return True
            continue
        parsed = parse_pattern(source)
        if parsed is None or parsed.text in (".", "/"):
            continue  # the whole context: leaving things out is the point
        cleaned = parsed.text
        candidates = [cleaned]
        if not parsed.is_literal:
            glob = _translate(cleaned)
            if glob is None:
                continue
            if any(ch in cleaned for ch in "*?["):
                candidates += [f for f in files if glob.fullmatch(f)]
                if any(glob.fullmatch(name) for name in names):
                    return True
        if any(pattern.matches(c) for c in candidates if not any(ch in c for ch in "*?[")):
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
    return [f for f in _project_files(ctx.project.root) if f.endswith(SOURCE_SUFFIXES)][:MAX_SCANNED_SOURCES]


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


def _context_env_files(ctx: RuleContext) -> list[str]:
    """The `.env` and `.env.*` files at the top of the build context."""
    try:
        names = sorted(entry.name for entry in ctx.project.root.iterdir() if entry.is_file())
    except OSError:
        return []
    return [name for name in names if name == ".env" or name.startswith(".env.")]


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


def _kept_in(doc: Document, ctx: RuleContext, patterns: list[str]) -> tuple[dict[str, str], list[str]]:
    """Of the patterns, those that would leave out a file the build or the app reads: {pattern: why}.

    The second list holds the patterns to add with no fix at all: a `.npmrc` with a token that
    the install needs, which belongs to a secret mount, not to leaving out.
    """
    reasons: dict[str, str] = {}
    tokens: list[str] = []
    for pattern in patterns:
        if pattern == ".npmrc":
            names = [".npmrc"]
        elif pattern in (".env", ".env.*"):
            parsed = parse_pattern(pattern)
            names = [n for n in _context_env_files(ctx) if parsed is not None and parsed.matches(n)]
        else:
            continue
        for name in names:
            why = read_by_build(doc, ctx, name)
            if why is None:
                continue
            if name == ".npmrc" and holds_token(ctx, name) and _run_reading(doc, name):
                tokens.append(pattern)
            else:
                reasons[pattern] = why if name == pattern else f"{name}: {why}"
            break
    return reasons, tokens


def _token_finding(path: Path) -> Finding:
    return Finding(
        RULE.code,
        "the build context's .npmrc holds a registry token and the build reads it, so it is not left out here: "
        "mount it as a build secret instead (DF010: `RUN --mount=type=secret,id=npmrc,target=...`), then leave it out",
        1,
        None,
        path,
    )


def check(doc: Document, ctx: RuleContext) -> Iterator[Finding]:
    project = ctx.project
    stages = doc.stages
    if not stages or not (project.has_package_json or any(applies_to(doc, s) for s in stages)):
        return
    path = ignore_file(ctx)
    existing = project.read_absolute(path)
    sources = context_sources(doc)
    globbing = any(any(ch in s for ch in "*?[") for s in sources)
    files = _project_files(project.root) if globbing else []
    if existing is None:
        patterns = [(p, names) for p, names in NEW_FILE_PATTERNS]
        output = build_output_folder(doc, ctx)
        if output and output not in (p for p, _ in patterns):
            patterns.append((output, (output,)))
        kept = [p for p, names in patterns if not _needed_by_copy(p, names, sources, files)]
        read, tokens = _kept_in(doc, ctx, kept)
        skipped = [p for p, _ in patterns if p not in kept]
        kept = [p for p in kept if p not in read and p not in tokens]
        content = "".join(f"{line}\n" for line in kept).encode()
        notes = [f"{', '.join(skipped)} left out: the Dockerfile copies it"] if skipped else []
        notes += [f"{pattern} left out: {why}" for pattern, why in read.items()]
        note = f" ({'; '.join(notes)})" if notes else ""
        yield Finding(
            RULE.code,
            f"no .dockerignore: the local node_modules, .git and any .npmrc or .env are sent to the builder and can end up in the image; creating one{note}",
            1,
            Fix.safe(Edit(0, 0, content, path)),
            path,
        )
        if tokens:
            yield _token_finding(path)
        return
    rules = DockerIgnore.parse(existing)
    missing = [
        name
        for name in REQUIRED
        if not rules.excludes(name)
        and not rules.negations_touching(name)
        and not _needed_by_copy(name, (name,), sources, files)
    ]
    if not missing:
        return
    read, tokens = _kept_in(doc, ctx, missing)
    text = existing.decode("utf-8", "replace")
    newline = "\r\n" if "\r\n" in text else "\n"
    prefix = "" if not existing or existing.endswith(b"\n") else newline

    def append(names: list[str]) -> Edit:
        return Edit.insert(len(existing), (prefix + "".join(f"{name}{newline}" for name in names)).encode(), path)

    unread = [name for name in missing if name not in read and name not in tokens]
    if unread:
        yield Finding(
            RULE.code,
            f"{path.name} does not leave out {', '.join(unread)}: local state or credentials reach the builder; adding {'them' if len(unread) > 1 else 'it'}",
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
            "`--env-file` at run time), then add it",
            1,
            Fix.unsafe(append(list(read))),
            path,
        )
    if tokens:
        yield _token_finding(path)


RULE = Rule(
    code="DF009",
    name="dockerignore",
    summary="Keep node_modules, .git, .npmrc and .env out of the build context with .dockerignore",
    fix_safety={Applicability.SAFE: "adding patterns nothing the Dockerfile copies needs"},
    docs=__doc__,
    check=check,
)
