"""A safe-only run (`--write` without `--unsafe-fixes`) leaves what the build and the app read as it was.

Over the shared corpus (its cases laid out with empty `.npmrc` and `.env` files where their
build context had them) and over our own shapes (each given a `.npmrc` and a `.env`), one
`dockfix --write` run of safe fixes may edit Dockerfiles and `.dockerignore` files, and nothing
else; and no line it adds to a `.dockerignore` may leave out a file the build context has, a
COPY sends, and the build or the app reads.

What reads a file is judged here on its own, more broadly than DF009 judges it, from the
Dockerfile's text and package.json:
- `.npmrc`: npm, npx, Yarn and pnpm read the project's `.npmrc` for every command, so any RUN
  naming one of them after the COPY that sends it, or a start command naming one;
- `.env`: any dotenv-style package, any framework that loads env files, or a Dockerfile or
  package.json script that names the file or `--env-file`;
- `.env.<mode>`: the same, except plain `dotenv`, which reads `.env` only;
- `.env.example` and its kind: only `dotenv-safe`, or a Dockerfile or script naming it;
- any other file: a COPY that names it, not as part of the whole context.
"""

from __future__ import annotations

import fnmatch
import json
import re
import shutil
from pathlib import Path

import pytest

from dockfix.dockerfile.document import Document
from dockfix.project.dockerignore_patterns import DockerIgnore
from support.paths import corpus_cases, dockerfile_name, lay_out_case, shapes
from support.trees import snapshot, write_tree

PACKAGE_MANAGER = re.compile(r"(?<![\w./-])(?:npm|npx|yarn|pnpm|pnpx)(?![\w-])")
ENV_LOADERS = re.compile(r"dotenv|^env-cmd$|^@nestjs/config$")
ENV_FRAMEWORKS = {"next", "vite", "react-scripts", "@vue/cli-service", "nuxt", "gatsby", "astro", "@sveltejs/kit"}
EXAMPLE_ENV = re.compile(r"^\.env\.(example|sample|template|dist|defaults)$")


def _covers(source: str, name: str) -> bool:
    """Whether a COPY source takes the root file `name`; `whole` sources (the context) count too."""
    source = source.strip("\"'")
    bare = source.removeprefix("./").rstrip("/")
    return bare in ("", ".", "*") or fnmatch.fnmatchcase(name, bare)


def _named_by_copy(source: str, name: str) -> bool:
    """Whether a COPY source spells out `name` (or a glob taking it) rather than the whole context."""
    bare = source.strip("\"'").removeprefix("./").rstrip("/")
    return bare not in ("", ".", "*") and fnmatch.fnmatchcase(name, bare)


def _context_copies(stage) -> list:
    return [inst for inst in stage.instructions if inst.name in ("COPY", "ADD") and inst.flag("from") is None]


def _sent(doc: Document, name: str) -> bool:
    return any(
        _covers(source, name) for stage in doc.stages for inst in _context_copies(stage) for source in inst.words[:-1]
    )


def _package(folder: Path) -> dict:
    try:
        data = json.loads((folder / "package.json").read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _reader(doc: Document, folder: Path, name: str) -> str | None:
    """What in the build or the app reads `name`, judged broadly; None when nothing does."""
    package = _package(folder)
    declared = {
        dependency
        for field in ("dependencies", "devDependencies", "optionalDependencies")
        for dependency in (package.get(field) or {})
    }
    scripts = " ".join(str(text) for text in (package.get("scripts") or {}).values())
    text = doc.source.decode("utf-8", "replace")
    if name == ".npmrc":
        for number, stage in enumerate(doc.stages):
            sent = False
            for inst in stage.instructions:
                if inst in _context_copies(stage) and any(_covers(s, name) for s in inst.words[:-1]):
                    sent = True
                elif sent and inst.name == "RUN" and PACKAGE_MANAGER.search(inst.args):
                    return f"RUN on line {inst.line}"
                elif (
                    sent
                    and number == len(doc.stages) - 1
                    and inst.name in ("CMD", "ENTRYPOINT")
                    and PACKAGE_MANAGER.search(inst.args)
                ):
                    return f"the start command on line {inst.line}"
        return None
    if name.startswith(".env"):
        if re.search(rf"(?<![\w.-]){re.escape(name)}(?![\w.-])", f"{text} {scripts}"):
            return "the Dockerfile or a script names it"
        if EXAMPLE_ENV.match(name):
            return "dotenv-safe" if "dotenv-safe" in declared else None
        loaders = sorted(d for d in declared if ENV_LOADERS.search(d) or d in ENV_FRAMEWORKS)
        if name != ".env":
            loaders = [d for d in loaders if d != "dotenv"]
        if loaders or "--env-file" in f"{text} {scripts}":
            return f"loaded by {', '.join(loaders) or '--env-file'}"
        return None
    named = any(
        _named_by_copy(s, name) for stage in doc.stages for inst in _context_copies(stage) for s in inst.words[:-1]
    )
    return "a COPY names it" if named else None


def changes_to_what_is_read(tree: Path, before: dict[str, bytes], after: dict[str, bytes]) -> list[str]:
    """Every change between two snapshots of `tree` to a file the build or the app reads."""
    from dockfix.project.discover import is_dockerfile_name

    problems = []
    for path in sorted(set(before) | set(after)):
        if before.get(path) == after.get(path) or is_dockerfile_name(Path(path).name):
            continue
        if Path(path).name != ".dockerignore":
            problems.append(f"{path}: an app file changed")
            continue
        folder = Path(path).parent
        old_rules = DockerIgnore.parse(before[path]) if path in before else None
        new_rules = DockerIgnore.parse(after.get(path, b""))
        names = sorted(
            {Path(other).relative_to(folder).parts[0] for other in before if Path(other).is_relative_to(folder)}
        )
        for dockerfile in [p for p in before if Path(p).parent == folder and is_dockerfile_name(Path(p).name)]:
            doc = Document.parse(before[dockerfile])
            for name in names:
                newly_left_out = new_rules.excludes(name) and not (old_rules and old_rules.excludes(name))
                why = _reader(doc, tree / folder, name) if newly_left_out and _sent(doc, name) else None
                if why:
                    problems.append(f"{path}: leaves out {name}, which {Path(dockerfile).name} sends ({why})")
    return problems


def safe_run_problems(tree: Path, tmp_path: Path) -> list[str]:
    """Run the safe fixes over `tree` as a user would, and list every change to what is read."""
    before = snapshot(tree)
    write_tree(tree, jobs=2, cache=tmp_path / "cache", unsafe=False)
    after = snapshot(tree)
    assert after != before, "the safe fixes changed nothing: the run did not happen"
    return changes_to_what_is_read(tree, before, after)


@pytest.mark.shared
def test_safe_only_corpus_run_keeps_what_the_build_and_the_app_read(tmp_path):
    cases = corpus_cases()
    tree = tmp_path / "corpus"
    tree.mkdir()
    for case in cases:
        lay_out_case(case, tree, context_files=True)
    sent_placeholders = [
        folder.name
        for folder in tree.iterdir()
        for name in (".npmrc", ".env")
        if (folder / name).exists() and _sent(Document.parse((folder / "Dockerfile").read_bytes()), name)
    ]
    assert len(sent_placeholders) >= 5, "the corpus no longer exercises what this test is about"  # 9 cases now
    assert safe_run_problems(tree, tmp_path) == []


def test_safe_only_run_over_our_shapes_keeps_what_the_build_and_the_app_read(tmp_path):
    tree = tmp_path / "shapes"
    tree.mkdir()
    for shape in shapes():
        folder = Path(shutil.copytree(shape, tree / shape.name))
        # The files the issue is about, beside every shape's own (no token: that is DF010's).
        for name, content in ((".npmrc", "engine-strict=true\n"), (".env", "PORT=3000\n")):
            if not (folder / name).exists():
                (folder / name).write_text(content)
        assert dockerfile_name(folder)
    assert safe_run_problems(tree, tmp_path) == []


def test_the_check_catches_a_dockerignore_line_that_leaves_out_what_is_read(tmp_path):
    """The check above can fail: .dockerignore completions DF009 withholds from safe runs, written by hand."""
    folder = tmp_path / "app"
    folder.mkdir()
    dockerfile = b'FROM node:22\nWORKDIR /app\nCOPY . .\nRUN npm ci\nCMD ["node", "server.js"]\n'
    package = json.dumps({"dependencies": {"dotenv": "16"}}).encode()
    files = {"Dockerfile": dockerfile, "package.json": package, ".npmrc": b"legacy-peer-deps=true\n", ".env": b"A=1\n"}
    for name, content in files.items():
        (folder / name).write_bytes(content)
    before = {f"app/{name}": content for name, content in files.items()} | {"app/.dockerignore": b"node_modules\n"}
    after = before | {"app/.dockerignore": b"node_modules\n.npmrc\n.env\n.git\n"}
    assert changes_to_what_is_read(tmp_path, before, after) == [
        "app/.dockerignore: leaves out .env, which Dockerfile sends (loaded by dotenv)",
        "app/.dockerignore: leaves out .npmrc, which Dockerfile sends (RUN on line 4)",
    ]
    # the same lines where the install runs before the COPY that sends .npmrc, and nothing loads .env
    quiet = dockerfile.replace(b"COPY . .\nRUN npm ci\n", b"COPY package.json ./\nRUN npm ci\nCOPY . .\n")
    before |= {"app/Dockerfile": quiet, "app/package.json": b"{}"}
    after |= {"app/Dockerfile": quiet, "app/package.json": b"{}"}
    (folder / "package.json").write_bytes(b"{}")
    assert changes_to_what_is_read(tmp_path, before, after) == []
    assert changes_to_what_is_read(tmp_path, before, after | {"app/server.js": b"x"}) == [
        "app/server.js: an app file changed"
    ]
