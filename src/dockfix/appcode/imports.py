"""Follow the entry file's local imports to see whether the app handles SIGTERM elsewhere.

Apps often register their shutdown in a module the entry file imports (`require('./shutdown')`,
`import './lib/server.js'`). Only local modules are read: relative specifiers resolved the way
node and TypeScript do (`.js`, `.mjs`, `.cjs`, `.ts`..., `index` files; `./x.js` written for a
`./x.ts` source), inside the build context and outside node_modules, up to a number of files and
a depth. What cannot be followed (packages, a require of a computed name, the limits) is named,
so that a finding can say what it did not check.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from dockfix.appcode.entry import inside_context
from dockfix.appcode.shutdown import existing_shutdown, file_facts
from dockfix.appcode.syntax import has_syntax_errors, language_of, parse_source
from dockfix.project.fsutil import FileProblem, read_regular_head

MAX_MODULES = 25
MAX_DEPTH = 4
_SUFFIXES = (".js", ".mjs", ".cjs", ".ts", ".mts", ".cts", ".tsx", ".jsx")
# A TypeScript source imports its siblings by the name they are compiled to (`./x.js` for x.ts).
_COMPILED_FROM = {".js": (".ts", ".tsx"), ".mjs": (".mts",), ".cjs": (".cts",)}
MAX_MODULE_BYTES = 1_000_000
# Node.js's own modules: part of the runtime, no package to read.
_NODE_BUILTINS = frozenset(
    [
        "assert",
        "async_hooks",
        "buffer",
        "child_process",
        "cluster",
        "console",
        "constants",
        "crypto",
        "dgram",
        "diagnostics_channel",
        "dns",
        "domain",
        "events",
        "fs",
        "http",
        "http2",
        "https",
        "inspector",
        "module",
        "net",
        "os",
        "path",
        "perf_hooks",
        "process",
        "punycode",
        "querystring",
        "readline",
        "repl",
        "stream",
        "string_decoder",
        "sys",
        "timers",
        "tls",
        "trace_events",
        "tty",
        "url",
        "util",
        "v8",
        "vm",
        "wasi",
        "worker_threads",
        "zlib",
    ]
)


@dataclass
class ImportedShutdown:
    """What the local modules the entry imports say about SIGTERM."""

    handled_in: Path | None = None  # the module that handles it, if one does
    handled: str | None = None  # how it does
    followed: list[Path] = field(default_factory=list)  # the local modules read (not the entry)
    packages: list[str] = field(default_factory=list)  # packages imported, not read
    dynamic: int = 0  # requires or imports of a computed name
    beyond_limits: int = 0  # local modules left unread at the limits

    def not_checked(self) -> list[str]:
        """What was not read, for a message."""
        parts = []
        if self.packages:
            shown = ", ".join(self.packages[:3]) + (
                f" and {len(self.packages) - 3} more" if len(self.packages) > 3 else ""
            )
            parts.append(f"the packages it imports ({shown})")
        if self.dynamic:
            parts.append(f"{self.dynamic} require or import of a computed name")
        if self.beyond_limits:
            parts.append(
                f"{self.beyond_limits} local module{'s' if self.beyond_limits > 1 else ''} past the reading limit"
            )
        return parts


def follow_imports(root: Path, entry: Path, entry_source: bytes, language: str) -> ImportedShutdown:
    """Read the local modules `entry` imports, breadth first, until one handles SIGTERM."""
    found = ImportedShutdown()
    seen = {entry}
    queue: deque[tuple[Path, bytes, str, int]] = deque([(entry, entry_source, language, 0)])
    packages: set[str] = set()
    while queue:
        path, source, path_language, depth = queue.popleft()
        tree = parse_source(source, path_language)
        if has_syntax_errors(tree):
            continue
        facts = file_facts(tree)
        if path != entry:
            handled = existing_shutdown(facts)
            if handled is not None:
                found.handled_in, found.handled = path, handled
                return found
        found.dynamic += facts.dynamic_imports
        for specifier in sorted(facts.modules):
            if not specifier.startswith("."):
                name = _package_name(specifier)
                if name is not None:
                    packages.add(name)
                continue
            module = _resolve(root, path, specifier)
            if module is None or module in seen:
                continue
            seen.add(module)
            module_language = language_of(module)
            data = _read(module)
            if module_language is None or data is None:
                continue
            if depth + 1 > MAX_DEPTH or len(found.followed) >= MAX_MODULES:
                found.beyond_limits += 1
                continue
            found.followed.append(module)
            queue.append((module, data, module_language, depth + 1))
    found.packages = sorted(packages)
    return found


def _package_name(specifier: str) -> str | None:
    """`@scope/name/sub` -> `@scope/name`; None for a Node.js module (`fs`, `node:http`)."""
    if specifier.startswith("node:") or specifier.startswith("/"):
        return None
    parts = specifier.split("/")
    name = "/".join(parts[:2]) if specifier.startswith("@") else parts[0]
    return None if name in _NODE_BUILTINS else name


def _resolve(root: Path, importer: Path, specifier: str) -> Path | None:
    """The local file `specifier` names from `importer`, as node or TypeScript finds it."""
    base = importer.parent / specifier
    candidates = [base]
    compiled = _COMPILED_FROM.get(base.suffix, ())
    candidates += [base.with_suffix(suffix) for suffix in compiled]
    candidates += [base.with_name(base.name + suffix) for suffix in _SUFFIXES]
    candidates += [base / ("index" + suffix) for suffix in _SUFFIXES]
    for candidate in candidates:
        found = inside_context(root, candidate)
        if found is not None:
            return found
    return None


def _read(path: Path) -> bytes | None:
    try:
        return read_regular_head(path, MAX_MODULE_BYTES)
    except FileProblem:
        return None
