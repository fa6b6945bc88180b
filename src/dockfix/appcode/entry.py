"""Find the source file behind the entry point a container starts.

The Dockerfile names what node runs (``server.js``, ``dist/server.js``); the file worth editing is
the one a developer maintains: the entry itself, or for built output the TypeScript (or JavaScript)
source it is compiled from, found through tsconfig.json ``rootDir``/``outDir``. Nothing here ever
points outside the build context or into node_modules.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from dockfix.appcode.syntax import language_of, parse_source
from dockfix.project.build_context import MAX_PROJECT_FILE
from dockfix.project.fsutil import FileProblem, read_regular_file, read_regular_head

_SOURCE_SUFFIXES = (".ts", ".mts", ".cts", ".tsx", ".js")
_NODE_SUFFIXES = (".js", ".mjs", ".cjs")
_BUILD_DIRECTORIES = ("dist", "build")
# When no tsconfig says where sources live, these are the usual homes of a build's sources.
_CONVENTIONAL_SOURCE_DIRECTORIES = ("src", ".")
_MAX_EXTENDS_DEPTH = 10
_MAX_TSCONFIG_BYTES = 1_000_000
# An entry file larger than this is not read: tree-sitter needs seconds and hundreds of MB for
# each parse of a multi-megabyte file, and one that large is a bundle, rebuilt rather than edited.
MAX_ENTRY_FILE = 1024 * 1024


@dataclass(frozen=True)
class EntrySource:
    """The file to edit, its language ("javascript", "typescript", "tsx") and module system."""

    path: Path
    language: str
    module_system: str


def entry_from_package_json(pkg: dict[str, Any], context_root: Path | None = None) -> str | None:
    """The entry file named by package.json ``main``.

    Without ``main`` node falls back to ``index.js``; that default is returned only when
    ``context_root`` is given and ``index.js`` exists there, since a package without ``main`` is
    often not an application at all.
    """
    main = pkg.get("main") if isinstance(pkg, dict) else None
    if isinstance(main, str) and main.strip():
        return main.strip()
    if context_root is not None and (context_root / "index.js").is_file():
        return "index.js"
    return None


def resolve_entry_source(context_root: Path, entry: str) -> EntrySource | None:
    """Return the file to edit for the entry path ``entry`` (relative to the WORKDIR = context_root).

    The entry itself when it exists (``server`` also finds ``server.js`` and ``server/index.js`` the
    way node does); for built output (``dist/...``, ``build/...``) the source it is built from,
    mapped through tsconfig.json ``outDir``/``rootDir`` (JSONC, ``extends`` of local files
    followed) and tried as .ts, .mts, .cts, .tsx, .js. Absolute entries, paths that escape the
    context (also through symlinks) and files under node_modules give None.
    """
    try:
        root = context_root.resolve(strict=True)
    except OSError:
        return None
    relative = _normalise_entry(entry)
    if relative is None:
        return None
    # A locally built dist/ may sit in the context too: the source it comes from wins.
    found = _built_from(root, relative) or _existing_entry(root, relative)
    if found is None:
        return None
    return _describe(root, found)


def _normalise_entry(entry: str) -> PurePosixPath | None:
    text = entry.strip().replace("\\", "/")
    if not text or text.startswith("/"):
        return None
    path = PurePosixPath(text)
    if ".." in path.parts:
        return None
    return path


def _real_path(candidate: Path) -> Path | None:
    """``candidate`` with its links resolved; None if it is not there.

    Most candidates are not (node tries ``server``, ``server.js``, ``server.mjs``...): one lstat of
    the whole path says so, where resolving fails only after one lstat per component.
    """
    if not os.path.lexists(candidate):
        return None
    try:
        return candidate.resolve(strict=True)
    except OSError:
        return None


def inside_context(root: Path, candidate: Path) -> Path | None:
    """The real path of ``candidate`` if it is a file inside ``root`` and not in node_modules."""
    real = _real_path(candidate)
    if real is None or not real.is_relative_to(root):
        return None
    relative = real.relative_to(root)
    if "node_modules" in relative.parts or not real.is_file():
        return None
    return real


def _entry_candidates(root: Path, relative: PurePosixPath) -> list[Path]:
    """The files node tries for the entry, in its order (`server`, `server.js`, `server/index.js`...)."""
    base = root / relative
    candidates = [base]
    if not relative.suffix:
        candidates += [base.with_name(base.name + suffix) for suffix in _NODE_SUFFIXES]
    candidates += [base / ("index" + suffix) for suffix in _NODE_SUFFIXES]
    return candidates


def _existing_entry(root: Path, relative: PurePosixPath) -> Path | None:
    for candidate in _entry_candidates(root, relative):
        found = inside_context(root, candidate)
        if found is not None:
            return found
    return None


def oversized_entry(path: Path) -> int | None:
    """The size of an entry file over MAX_ENTRY_FILE (None: within it, or not there to measure)."""
    try:
        size = path.stat().st_size
    except OSError:
        return None
    return size if size > MAX_ENTRY_FILE else None


def entry_leads_outside(context_root: Path, entry: str) -> bool:
    """Whether the entry file is there but, through a link, outside the context (so never edited)."""
    try:
        root = context_root.resolve(strict=True)
    except OSError:
        return False
    relative = _normalise_entry(entry)
    if relative is None:
        return False
    for candidate in _entry_candidates(root, relative):
        real = _real_path(candidate)
        if real is not None and real.is_file():
            return not real.is_relative_to(root)
    return False


def _built_from(root: Path, relative: PurePosixPath) -> Path | None:
    """Map a built file back to its source: tsconfig outDir/rootDir first, then conventions."""
    stem_parts = _strip_node_suffix(relative)
    for out_dir, source_dirs in _build_layouts(root):
        try:
            inner = PurePosixPath(*stem_parts).relative_to(out_dir)
        except ValueError:
            continue
        for source_dir in source_dirs:
            found = _source_file(root, source_dir / inner, relative.suffix)
            if found is not None:
                return found
    return None


def _strip_node_suffix(relative: PurePosixPath) -> tuple[str, ...]:
    if relative.suffix in _NODE_SUFFIXES:
        return relative.with_suffix("").parts
    return relative.parts


def _source_file(root: Path, stem: PurePosixPath, built_suffix: str) -> Path | None:
    # dist/x.mjs comes from x.mts, dist/x.cjs from x.cts: try the matching one first.
    preferred = {".mjs": (".mts",), ".cjs": (".cts",)}.get(built_suffix, ())
    stems = [stem, stem / "index"]
    for candidate_stem in stems:
        for suffix in (*preferred, *_SOURCE_SUFFIXES, ".mjs", ".cjs"):
            found = inside_context(root, root / candidate_stem.parent / (candidate_stem.name + suffix))
            if found is not None:
                return found
    return None


def _build_layouts(root: Path) -> list[tuple[PurePosixPath, list[PurePosixPath]]]:
    """(output directory, source directories to try), relative to the root, best guess first."""
    layouts: list[tuple[PurePosixPath, list[PurePosixPath]]] = []
    options = _tsconfig_options(root / "tsconfig.json", root)
    out_dir = options.get("outDir")
    if out_dir is not None:
        root_dir = options.get("rootDir")
        sources = [root_dir] if root_dir is not None else []
        sources += [PurePosixPath(d) for d in _CONVENTIONAL_SOURCE_DIRECTORIES]
        layouts.append((out_dir, _unique(sources)))
    for build_dir in _BUILD_DIRECTORIES:
        conventional = PurePosixPath(build_dir)
        if conventional != out_dir:
            layouts.append((conventional, [PurePosixPath(d) for d in _CONVENTIONAL_SOURCE_DIRECTORIES]))
    return layouts


def _unique(paths: list[PurePosixPath]) -> list[PurePosixPath]:
    seen: list[PurePosixPath] = []
    for path in paths:
        if path not in seen:
            seen.append(path)
    return seen


def _tsconfig_options(path: Path, root: Path, depth: int = 0) -> dict[str, PurePosixPath]:
    """``outDir``/``rootDir`` of a tsconfig, relative to the root, with local ``extends`` applied."""
    real = inside_context(root, path)
    if real is None or depth > _MAX_EXTENDS_DEPTH:
        return {}
    try:
        raw = read_regular_head(real, _MAX_TSCONFIG_BYTES).decode("utf-8-sig")
        config = json.loads(strip_jsonc(raw))
    except (FileProblem, UnicodeDecodeError, ValueError, RecursionError):
        return {}
    if not isinstance(config, dict):
        return {}
    options: dict[str, PurePosixPath] = {}
    extends = config.get("extends")
    for parent in [extends] if isinstance(extends, str) else (extends or []):
        if isinstance(parent, str) and parent.startswith("."):
            parent_path = real.parent / parent
            if not parent_path.name.endswith(".json"):  # as tsc does: "./base" means base.json
                parent_path = parent_path.with_name(parent_path.name + ".json")
            options.update(_tsconfig_options(parent_path, root, depth + 1))
    compiler = config.get("compilerOptions")
    if isinstance(compiler, dict):
        for key in ("outDir", "rootDir"):
            value = compiler.get(key)
            if isinstance(value, str) and value.strip():
                location = _relative_to_root(root, real.parent / value.strip())
                if location is not None:
                    options[key] = location
    return options


def _relative_to_root(root: Path, path: Path) -> PurePosixPath | None:
    try:
        return PurePosixPath(path.resolve().relative_to(root).as_posix())
    except (OSError, ValueError):
        return None


def strip_jsonc(text: str) -> str:
    """JSON text from JSONC (tsconfig.json): drop // and /* */ comments and trailing commas."""
    out: list[str] = []
    index, length = 0, len(text)
    while index < length:
        char = text[index]
        if char == '"':
            end = index + 1
            while end < length and text[end] != '"':
                end += 2 if text[end] == "\\" else 1
            out.append(text[index : end + 1])
            index = end + 1
        elif text.startswith("//", index):
            newline = text.find("\n", index)
            index = length if newline == -1 else newline
        elif text.startswith("/*", index):
            close = text.find("*/", index + 2)
            index = length if close == -1 else close + 2
        elif char in "}]":
            # A comma followed only by whitespace (comments are already gone) is a trailing comma.
            while out and out[-1].isspace():
                out.pop()
            if out and out[-1] == ",":
                out.pop()
            out.append(char)
            index += 1
        else:
            out.append(char)
            index += 1
    return "".join(out)


def _describe(root: Path, path: Path) -> EntrySource:
    # node runs a file without a JS suffix (`node server`) as JavaScript.
    language = language_of(path) or "javascript"
    return EntrySource(path, language, _module_system(root, path, language))


def _module_system(root: Path, path: Path, language: str) -> str:
    """ESM for .mjs/.mts, package.json ``"type": "module"``, or import/export statements.

    For TypeScript this describes the syntax of the source (``import`` statements), not what
    the compiler emits.
    """
    if path.suffix in (".mjs", ".mts"):
        return "esm"
    if path.suffix in (".cjs", ".cts"):
        return "commonjs"
    if _package_type(root, path.parent) == "module":
        return "esm"
    try:
        source = read_regular_file(path, MAX_ENTRY_FILE)
    except FileProblem:
        return "commonjs"
    tree = parse_source(source, language)
    for statement in tree.root_node.named_children:
        if statement.type == "import_statement" and not any(
            child.type == "import_require_clause" for child in statement.named_children
        ):
            return "esm"
        if statement.type == "export_statement" and b"export =" not in (statement.text or b""):
            return "esm"
    return "commonjs"


def _package_type(root: Path, directory: Path) -> str | None:
    """``type`` of the nearest package.json between ``directory`` and the root."""
    current = directory
    while True:
        manifest = current / "package.json"
        if manifest.is_file():
            try:
                data = json.loads(read_regular_file(manifest, MAX_PROJECT_FILE).decode("utf-8-sig"))
            except (FileProblem, UnicodeDecodeError, ValueError, RecursionError):
                return None
            value = data.get("type") if isinstance(data, dict) else None
            return value if isinstance(value, str) else None
        if current == root or current.parent == current:
            return None
        current = current.parent
