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

## Related hadolint rules
None.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from ..context import RuleContext
from ..dockerfile.document import Document
from ..dockerfile.stages import applies_to, runtime_stage, start_commands
from ..edits import Applicability, Edit, Finding, Fix
from ..project.dockerignore_patterns import DockerIgnore, _translate, parse_pattern
from .rule import Rule

RULE = Rule(
    code="DF009",
    name="dockerignore",
    summary="Keep node_modules, .git, .npmrc and .env out of the build context with .dockerignore",
    fix_safety={Applicability.SAFE: "adding patterns nothing the Dockerfile copies needs"},
    docs=__doc__,
    module=__name__,
)

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
BUILD_COMMANDS = ("tsc", "webpack", "vite", "rollup", "esbuild", "babel", "nest", "next", "ng", "parcel", "tsup", "swc")
MAX_LISTED_FILES = 2000


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
        glob = _translate(cleaned)
        if glob is None:
            continue
        candidates = [cleaned]
        if any(ch in cleaned for ch in "*?["):
            candidates += [f for f in files if glob.fullmatch(f)]
            if any(glob.fullmatch(name) for name in names):
                return True
        if any(pattern.matches(c) for c in candidates if not any(ch in c for ch in "*?[")):
            return True
    return False


def _builds_in_image(doc: Document, ctx: RuleContext) -> bool:
    from ..dockerfile.shell import run_scripts

    for inst in doc.instructions:
        for script in run_scripts(doc, inst):
            for command in script.commands():
                words = [w.text for w in command.args if not w.text.startswith("-")]
                if command.name in BUILD_COMMANDS:
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


def check(doc: Document, ctx: RuleContext):
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
        content = "".join(f"{line}\n" for line in kept).encode()
        skipped = [p for p, _ in patterns if p not in kept]
        note = f" ({', '.join(skipped)} left out: the Dockerfile copies it)" if skipped else ""
        yield Finding(
            RULE.code,
            f"no .dockerignore: the local node_modules, .git and any .npmrc or .env are sent to the builder and can end up in the image; creating one{note}",
            1,
            Fix.safe(Edit(0, 0, content, path)),
            path,
        )
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
    text = existing.decode("utf-8", "replace")
    newline = "\r\n" if "\r\n" in text else "\n"
    prefix = "" if not existing or existing.endswith(b"\n") else newline
    addition = (prefix + "".join(f"{name}{newline}" for name in missing)).encode()
    yield Finding(
        RULE.code,
        f"{path.name} does not leave out {', '.join(missing)}: local state or credentials reach the builder; adding {'them' if len(missing) > 1 else 'it'}",
        1,
        Fix.safe(Edit.insert(len(existing), addition, path)),
        path,
    )
