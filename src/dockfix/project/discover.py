"""Finding the Dockerfiles under the paths given on the command line, with their build contexts.

A folder is searched recursively for the names Docker tools use: `Dockerfile`, `Containerfile`,
`*.Dockerfile`, `Dockerfile.*` and `Containerfile.*` (matched without regard to case, so
`dockerfile` and `app.dockerfile` count). Names that only look alike are left out: BuildKit's
per-Dockerfile ignore files (`Dockerfile.dockerignore`), the leftovers of editors and `patch`
(`.orig`, `.rej`, `.bak`, `.swp`, `~`), and source, documentation and template files
(SOURCE_EXTENSIONS: a vendored editor mode `mode/dockerfile/dockerfile.js`, `Dockerfile.md`,
`dockerfile.ts`, `Dockerfile.j2`). A file whose name is not plainly `Dockerfile` or
`Containerfile` must also read as a Dockerfile (`not_a_dockerfile`: its first line that is not a
comment starts with an instruction); one that does not is a note on that file, not an error, and
is not processed. Exit code 2 stays for a real Dockerfile BuildKit rejects. A file named on the
command line is processed whatever its name, as long as it reads as a Dockerfile.

Each folder searched gets a build graph (build_graph.py): the compose files, GitHub workflows,
Tiltfiles, skaffold files and package.json or Makefile scripts met on the way say which
Dockerfiles are built from which context. Those Dockerfiles are processed with that context
(`docker/Dockerfile` built from the repository root sees the root's package.json), whatever
their name; the others with the nearest folder holding their COPY sources. Where each context
came from is kept in `context_sources`, for the reports. A file named on the command line is
fixed in its own folder.

Folders that hold version control data, dependencies, vendored code or caches are skipped
(SKIPPED_FOLDERS): `.git` and `node_modules` above all. Other dot-folders are searched, because
real Dockerfiles live in some of them (`.devcontainer/Dockerfile`). Paths a `.gitignore` ignores
are skipped too (the `.gitignore` files of the folder searched, of the folders below it, and of
the folders above it up to the repository's root), and so are the `exclude` patterns of the
configuration. A folder named on the command line is searched even if its name is in the skip
list, and symbolic links to folders are not followed while searching (a link loop must not hang
the run, and a link must not lead the run out of the tree it was given); a link to a folder
outside that tree gets a warning, so the user knows it was not searched. Links to files are
followed; the runner refuses one that leads out of its folder and build context. A Dockerfile a
compose file names outside the folder searched (`build: ../other`, or through a link) is left
out with a warning too, and a build context outside it is never used.

A folder with no Dockerfile is a warning, not an error, as in ruff: the run goes on with the
other paths and that folder alone does not change the exit code. A path that does not exist
is an error (exit code 2), and the other paths are still processed.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .build_graph import BuildFiles, BuildGraph, DockerfileBuilds, inside, read_graph
from .build_sources import COMPOSE_FILE, MAKEFILE_NAMES, SKAFFOLD_NAMES, TILTFILE_NAMES
from .fsutil import FileProblem, leads_outside, read_regular_head
from .gitignore import IgnoreRules

SKIPPED_FOLDERS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        ".bzr",
        ".jj",
        "node_modules",
        ".pnpm-store",
        ".yarn",
        "bower_components",
        "jspm_packages",
        "vendor",
        "third_party",
        "third-party",
        "vendors",
        "Pods",
        ".bundle",
        ".venv",
        ".tox",
        ".nox",
        "__pycache__",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        ".cache",
        ".next",
        ".nuxt",
    }
)
COMPOSE_NAMES = ("compose.yaml", "compose.yml", "docker-compose.yml", "docker-compose.yaml")
_IGNORED_SUFFIXES = (".dockerignore", ".orig", ".rej", ".bak", ".swp", "~")
_BASE_NAMES = ("dockerfile", "containerfile")
# `Dockerfile.*` names that are source, documentation, data or templates, never a file Docker
# builds: a vendored editor mode `mode/dockerfile/dockerfile.js`, `Dockerfile.md`, `dockerfile.ts`,
# `Dockerfile.patch` (what `--patch-dir` writes for a repository folder named `Dockerfile`).
SOURCE_EXTENSIONS = frozenset(
    {
        "js", "mjs", "cjs", "jsx", "ts", "mts", "cts", "tsx", "map", "d.ts",
        "md", "markdown", "mdx", "rst", "txt", "adoc", "html", "htm", "css", "scss", "svg", "png",
        "json", "yaml", "yml", "toml", "xml", "ini", "lock", "log", "snap",
        "sh", "bash", "zsh", "ps1", "bat", "cmd", "py", "rb", "go", "rs", "java", "kt", "php", "pl", "lua", "vim", "el",
        "j2", "jinja", "jinja2", "tmpl", "tpl", "template", "erb", "mustache", "hbs", "ejs", "in", "gotmpl",
        "orig", "rej", "bak", "swp", "tmp", "old", "dockerignore", "patch", "diff",
    }
)  # fmt: skip
# The instructions BuildKit knows: a Dockerfile's first line that is not a comment starts with one.
INSTRUCTIONS = frozenset(
    {
        "from", "run", "cmd", "label", "maintainer", "expose", "env", "add", "copy", "entrypoint", "volume",
        "user", "workdir", "arg", "onbuild", "stopsignal", "healthcheck", "shell",
    }
)  # fmt: skip
_FIRST_WORD = re.compile(rb"[^\s\[]*")
_UPPER_WORD = re.compile(rb"[A-Z]+")
SNIFF_BYTES = 64 * 1024
# Files a project keeps beside its Dockerfiles that are never one, several of them holding
# credentials: a compose file or workflow naming one as its Dockerfile is not followed, so a
# registry token or key is never parsed and quoted in a report.
PROJECT_FILE_NAMES = frozenset(
    {
        ".npmrc", ".yarnrc", ".yarnrc.yml", ".pnpmrc", ".netrc", ".git-credentials", ".pypirc", ".dockercfg",
        ".env", ".envrc", "package.json", "package-lock.json", "npm-shrinkwrap.json", "yarn.lock",
        "pnpm-lock.yaml", "bun.lock", "bun.lockb", "deno.lock", ".dockerignore", ".gitignore",
        "id_rsa", "id_dsa", "id_ecdsa", "id_ed25519",
    }
)  # fmt: skip
_PROJECT_FILE_PATTERN = re.compile(r"(?i)\.env\..+|id_(?:rsa|dsa|ecdsa|ed25519)\.pub|.+\.(?:pem|key|p12|pfx|crt|der)")


def is_dockerfile_name(name: str) -> bool:
    """True for the file names a folder search picks up: Docker's own naming, never a source file."""
    lower = name.lower()
    if lower.endswith(_IGNORED_SUFFIXES):
        return False
    if lower in _BASE_NAMES:
        return True
    if lower.endswith(".dockerfile") and len(lower) > len(".dockerfile"):
        return True
    for base in _BASE_NAMES:
        if lower.startswith(base + ".") and len(lower) > len(base) + 1:
            return lower.rsplit(".", 1)[1] not in SOURCE_EXTENSIONS
    return False


def is_project_file_name(name: str) -> bool:
    """True for a file a project keeps that is never a Dockerfile (`.npmrc`, `.env.local`, a key)."""
    return name.lower() in PROJECT_FILE_NAMES or bool(_PROJECT_FILE_PATTERN.fullmatch(name))


def not_a_dockerfile(head: bytes) -> str | None:
    """Why a file named like a Dockerfile does not read as one; None when it does.

    It reads as a Dockerfile when its first line that is not blank or a comment (parser
    directives are comments) starts with an instruction keyword, in any case, or with a word in
    capitals (`FORM node`: a Dockerfile with a mistyped instruction, which BuildKit's error then
    names). A file with no such line (empty, or comments only) is left to BuildKit's judgement
    too. Text that starts otherwise (`// CodeMirror mode`, `# Title` then prose, `import x`) or
    that is not text at all (a NUL byte, not UTF-8) is something else that merely shares the name.
    The reason names the line, never its text: a file that is not a Dockerfile may hold a secret.
    """
    if b"\0" in head:
        return "it is a binary file"
    try:
        head.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        if error.start < len(head) - 4:  # not merely a character cut at the end of the sample
            return "it is not UTF-8 text"
    for number, line in enumerate(head.removeprefix(b"\xef\xbb\xbf").split(b"\n"), start=1):
        text = line.strip()
        if not text or text.startswith(b"#"):
            continue
        word = _FIRST_WORD.match(text)
        first = word.group() if word else b""
        if first.lower().decode("ascii", "replace") in INSTRUCTIONS or _UPPER_WORD.fullmatch(first):
            return None
        return f"line {number}, its first that is not blank or a comment, is not an instruction"
    return None


def _sniffed_out(path: Path) -> str | None:
    """`not_a_dockerfile` for a file: only names other than `Dockerfile` and `Containerfile` are doubted."""
    if path.name.lower() in _BASE_NAMES:
        return None
    try:
        return not_a_dockerfile(read_regular_head(path, SNIFF_BYTES))
    except FileProblem:
        return None  # reading it again reports the problem by name


@dataclass
class Discovery:
    """The Dockerfiles found, in a stable order, and what went wrong on the way."""

    files: list[Path] = field(default_factory=list)
    missing: list[Path] = field(default_factory=list)  # paths that do not exist
    empty_folders: list[Path] = field(default_factory=list)  # folders with no Dockerfile
    unreadable_folders: list[tuple[Path, str]] = field(default_factory=list)
    # Build contexts that are not the Dockerfile's own folder (from the build graph), by file.
    contexts: dict[Path, Path] = field(default_factory=dict)
    # Where each file's build context came from (`compose.yaml service api: context .`), by file.
    context_sources: dict[Path, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)  # e.g. a compose file that cannot be read
    # Files named like Dockerfiles that do not read as one: not processed, and not an error.
    not_dockerfiles: list[tuple[Path, str]] = field(default_factory=list)
    graphs: list[BuildGraph] = field(default_factory=list)  # one per folder searched
    # How the repository builds and runs each file found by a folder search, by file.
    builds: dict[Path, DockerfileBuilds] = field(default_factory=dict)

    @property
    def notes(self) -> list[str]:
        """One line for each file left out because it does not read as a Dockerfile."""
        return [
            f"{path}: named like a Dockerfile, but {reason}; not processed" for path, reason in self.not_dockerfiles
        ]


def _git_root(folder: Path) -> Path | None:
    for candidate in [folder, *folder.parents]:
        if (candidate / ".git").exists():
            return candidate
    return None


def _ancestor_ignores(folder: Path) -> IgnoreRules:
    """The .gitignore rules of the folders above `folder`, up to its repository's root."""

    rules = IgnoreRules()
    root = _git_root(folder)
    if root is None or root == folder:
        return rules
    chain = []
    current = folder.parent
    while True:
        chain.append(current)
        if current == root or current == current.parent:
            break
        current = current.parent
    for ancestor in reversed(chain):
        rules = rules.with_file(ancestor)
    return rules


def _walk(
    folder: Path,
    discovery: Discovery,
    excluded: Callable[[Path], bool] | None,
) -> tuple[list[Path], BuildFiles]:
    """Dockerfiles, and the files that say how images are built, below `folder`."""
    # Here: a run given only files never searches a folder, nor reads a .gitignore.

    found: list[Path] = []
    build_files = BuildFiles()
    absolute_start = Path(os.path.abspath(folder))
    rules_by_folder: dict[str, IgnoreRules] = {
        str(absolute_start): _ancestor_ignores(absolute_start).with_file(absolute_start)
    }

    def on_error(error: OSError) -> None:
        discovery.unreadable_folders.append((Path(error.filename or folder), error.strerror or str(error)))

    for current, subfolders, files in os.walk(folder, onerror=on_error):
        absolute = os.path.abspath(current)
        rules = rules_by_folder.pop(absolute, None) or IgnoreRules()
        base = Path(current)
        kept = []
        for name in sorted(subfolders):
            child = Path(absolute) / name
            if name in SKIPPED_FOLDERS or rules.ignores(child, is_dir=True):
                continue
            if excluded is not None and excluded(base / name):
                continue
            if child.is_symlink():
                # os.walk does not descend into it; say so when it leads out of the tree.
                if leads_outside(child, [absolute_start]) is not None:
                    discovery.warnings.append(f"{base / name}: a link to a folder outside {folder}; not searched")
                continue
            kept.append(name)
            rules_by_folder[str(child)] = rules.with_file(child)
        # Pruning in place stops os.walk from descending; sorting makes the order stable.
        subfolders[:] = kept
        for name in sorted(files):
            path = base / name
            if rules.ignores(Path(absolute) / name, is_dir=False):
                continue
            if excluded is not None and excluded(path):
                continue
            if is_dockerfile_name(name):
                found.append(path)
            else:
                _note_build_file(path, absolute_start, build_files)
    return found, build_files


def _note_build_file(path: Path, start: Path, files: BuildFiles) -> None:
    """Keep `path` in `files` if it is one of the files that say how images are built."""

    name = path.name
    if COMPOSE_FILE.match(name):
        files.compose.append(path)
    elif name in SKAFFOLD_NAMES:
        files.skaffold.append(path)
    elif name in TILTFILE_NAMES:
        files.tiltfiles.append(path)
    elif name == "package.json":
        files.package_json.append(path)
    elif name in MAKEFILE_NAMES:
        files.makefiles.append(path)
    elif name.endswith((".yml", ".yaml")) and os.path.abspath(path.parent) == str(start / ".github" / "workflows"):
        files.workflows.append(path)


def discover(
    paths: list[Path],
    *,
    excluded: Callable[[Path], bool] | None = None,
) -> Discovery:
    """Expand the command-line paths into Dockerfiles, each once, in the order given.

    `excluded` says whether a path met while searching a folder is left out (the configuration's
    `exclude`); files named on the command line are always taken.
    """
    discovery = Discovery()
    seen: dict[str, Path] = {}

    def add(path: Path) -> Path:
        """Take the file once; the path it was first met by."""
        key = os.path.realpath(path)
        if key not in seen:
            seen[key] = path
            discovery.files.append(path)
        return seen[key]

    for path in paths:
        if path.is_dir():
            _discover_folder(path, discovery, excluded, add)
        elif path.exists() or path.is_symlink():
            # A dangling link is passed on too: reading it then reports the problem by name.
            reason = _sniffed_out(path) if path.is_file() else None
            if reason is not None:
                discovery.not_dockerfiles.append((path, reason))
                continue
            add(path)
            discovery.context_sources.setdefault(path, "the Dockerfile's folder (a file named on the command line)")
        else:
            discovery.missing.append(path)
    return discovery


def _discover_folder(
    path: Path, discovery: Discovery, excluded: Callable[[Path], bool] | None, add: Callable[[Path], Path]
) -> None:
    """The Dockerfiles of one folder searched, and their build contexts from its build graph."""

    found, build_files = _walk(path, discovery, excluded)
    graph = read_graph(path, build_files)
    discovery.graphs.append(graph)
    discovery.warnings.extend(graph.problems)
    named: list[Path] = []
    for site in graph.sites:
        if is_project_file_name(site.dockerfile.name):
            key = "build.dockerfile" if site.kind == "compose" else "its Dockerfile"
            discovery.warnings.append(
                f"{site.source}: {site.origin}: {key} is {site.dockerfile.name}, a project file and not a Dockerfile;"
                " not processed"
            )
            continue
        if site.kind != "compose":
            if inside(site.dockerfile, path) and site.dockerfile.is_file():
                named.append(site.dockerfile)
            continue
        # Compose files name their Dockerfiles; say so when one cannot be processed.
        outside = leads_outside(site.dockerfile, [path])
        if outside is not None:
            discovery.warnings.append(
                f"{site.source}: service {site.service}: its Dockerfile {outside} is outside {path}; not processed"
            )
        elif site.dockerfile.is_file():
            named.append(site.dockerfile)
        else:
            discovery.warnings.append(f"{site.source}: service {site.service}: no Dockerfile at {site.dockerfile}")
    kept = []
    for file in found:
        reason = _sniffed_out(file)
        if reason is None:
            kept.append(file)
        elif not any(os.path.realpath(file) == os.path.realpath(other) for other in named):
            discovery.not_dockerfiles.append((file, reason))
    if not kept and not named:
        discovery.empty_folders.append(path)
    placed = []
    for file in [*kept, *named]:
        shown = add(file)
        if shown in graph.dockerfiles:
            continue
        choice = graph.place(shown).choice
        placed.append(shown)
        discovery.context_sources[shown] = choice.reason
        if os.path.realpath(choice.context) != os.path.dirname(os.path.realpath(shown)):
            discovery.contexts[shown] = choice.context
    by_context = graph.by_context()
    for shown in placed:
        builds = graph.dockerfiles[shown]
        others = by_context[os.path.normpath(builds.choice.context)]
        builds.siblings = tuple(other for other in others if other != shown)
        discovery.builds[shown] = builds


def read_path_list(text: str, base: Path) -> list[Path]:
    """The paths of a `--from-file` list: one a line, blank lines and `#` comments skipped.

    Relative paths are taken from `base` (the current folder for a list read from stdin).
    """
    paths = []
    for line in text.splitlines():
        entry = line.strip()
        if not entry or entry.startswith("#"):
            continue
        path = Path(entry).expanduser()
        paths.append(path if path.is_absolute() else base / path)
    return paths
