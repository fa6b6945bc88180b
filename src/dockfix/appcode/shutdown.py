"""Plan a graceful-shutdown handler for a Node.js entry file (practice 6).

Exec-form commands and an init process deliver SIGTERM to node, but node's default reaction is to
die at once, dropping every request in flight. This module reads the entry file with tree-sitter,
decides whether the application already reacts to SIGTERM, and otherwise proposes byte-offset
edits that add a handler fitted to the server the file creates:

- fastify: ``await fastify.close()`` (fastify answers 503 to new requests while it closes), then
  exit 0, like the ``closeGracefully(signal)`` handler of the Snyk article this practice comes from;
- express, koa, plain ``http``/``https``: keep the ``http.Server`` returned by ``listen`` (a
  ``const`` is introduced when the result was discarded), ``server.close()`` so requests in flight
  finish, then exit 0;
- NestJS: ``app.enableShutdownHooks()`` before ``app.listen``.

Every handler has a safety timer (``SAFETY_TIMEOUT_MS``, unref'd) that exits 1, so a stuck
connection cannot hang the shutdown until the container runtime kills the process. Anything else
gets no edit and a message explaining what to add. The edits follow the file's quotes, semicolons,
indentation and newline style, and the planner is idempotent: planning its own output finds the
handler it added and proposes nothing. The handler uses only syntax the image's Node.js parses
(node_syntax.py): ``a.b && a.b()`` instead of ``a.b?.()`` before Node.js 14, a callback instead
of ``await`` before 8, ES5 where the major is older than 4 or not known.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from dockfix.appcode.node_syntax import SyntaxFeature, node_parses
from dockfix.appcode.syntax import UnsupportedSourceError, has_syntax_errors, parse_source
from dockfix.edits import Edit

if TYPE_CHECKING:
    import tree_sitter

MODULE_SYSTEMS = ("commonjs", "esm")

# docker stop sends SIGKILL 10 s after SIGTERM by default: exiting a little earlier on our own keeps
# a meaningful exit code (1) instead of 137 and a log line saying why.
SAFETY_TIMEOUT_MS = 8000

# Libraries that own the shutdown sequence. terminus and close-with-grace register signal handlers
# themselves; http-terminator, stoppable, http-graceful-shutdown and lightship expose a graceful
# close that the author wires up. A second handler added next to any of them would race theirs.
SHUTDOWN_LIBRARIES = frozenset(
    {
        "@godaddy/terminus",
        "close-with-grace",
        "http-terminator",
        "stoppable",
        "http-graceful-shutdown",
        "lightship",
        "fastify-graceful-shutdown",
    }
)

_LISTENER_METHODS = frozenset({"on", "once", "addListener", "prependListener", "prependOnceListener"})
_HTTP_MODULES = frozenset({"http", "https", "node:http", "node:https"})
_STATEMENT_CONTAINERS = frozenset({"program", "statement_block"})
_LOOPS = frozenset({"for_statement", "for_in_statement", "while_statement", "do_statement"})
_FUNCTION_TYPES = frozenset(
    {
        "function_declaration",
        "function_expression",
        "function",
        "arrow_function",
        "method_definition",
        "generator_function_declaration",
        "generator_function",
    }
)
_TRANSPARENT_WRAPPERS = frozenset(
    {
        "await_expression",
        "parenthesized_expression",
        "as_expression",
        "non_null_expression",
        "satisfies_expression",
    }
)


@dataclass(frozen=True)
class ShutdownPlan:
    """What the planner found and the edits it proposes (sorted, non-overlapping)."""

    framework: str | None
    already_handled: bool
    edits: tuple[Edit, ...]
    message: str


# --------------------------------------------------------------------------------------------
# Reading the tree


def _walk(node: tree_sitter.Node) -> Iterator[tree_sitter.Node]:
    cursor = node.walk()
    reached_root = False
    while not reached_root:
        if cursor.node is not None:  # always set while walking a tree
            yield cursor.node
        if cursor.goto_first_child():
            continue
        if cursor.goto_next_sibling():
            continue
        while True:
            if not cursor.goto_parent():
                reached_root = True
                break
            if cursor.node == node:
                reached_root = True
                break
            if cursor.goto_next_sibling():
                break


def _text(node: tree_sitter.Node) -> str:
    return node.text.decode("utf-8", "replace") if node.text is not None else ""


def _literal_string(node: tree_sitter.Node | None) -> str | None:
    """The value of a quoted string or a template without substitutions, else None."""
    if node is None:
        return None
    node = _unwrap(node)
    if node.type == "string":
        return "".join(_text(c) for c in node.named_children)
    if node.type == "template_string":
        if any(c.type == "template_substitution" for c in node.named_children):
            return None
        return "".join(_text(c) for c in node.named_children)
    return None


def _unwrap(node: tree_sitter.Node) -> tree_sitter.Node:
    while node.type in _TRANSPARENT_WRAPPERS:
        inner = [c for c in node.named_children if c.type not in ("type_annotation",)]
        if not inner:
            break
        node = inner[0]
    return node


def _arguments(call: tree_sitter.Node) -> list[tree_sitter.Node]:
    args = call.child_by_field_name("arguments")
    if args is None:
        return []
    return [c for c in args.named_children if c.type != "comment"]


def _member_parts(node: tree_sitter.Node) -> tuple[tree_sitter.Node, str] | None:
    """For ``object.property`` return (object node, property name)."""
    if node.type != "member_expression":
        return None
    obj = node.child_by_field_name("object")
    prop = node.child_by_field_name("property")
    if obj is None or prop is None:
        return None
    return obj, _text(prop)


def _required_module(node: tree_sitter.Node) -> str | None:
    """``require('m')`` -> 'm'."""
    node = _unwrap(node)
    if node.type != "call_expression":
        return None
    function = node.child_by_field_name("function")
    if function is None or function.type != "identifier" or _text(function) != "require":
        return None
    args = _arguments(node)
    return _literal_string(args[0]) if len(args) == 1 else None


@dataclass(frozen=True)
class _Import:
    module: str
    name: str  # "default", "*" or the exported name


class FileFacts:
    """Imports, names and calls of one parsed file, gathered in a single walk."""

    def __init__(self, root: tree_sitter.Node) -> None:
        self.root = root
        self.bindings: dict[str, _Import] = {}
        self.modules: set[str] = set()
        self.identifiers: set[str] = set()
        self.calls: list[tree_sitter.Node] = []
        self.declarators: list[tree_sitter.Node] = []
        self.strings: list[tree_sitter.Node] = []
        self.statements: list[tree_sitter.Node] = []
        self.dynamic_imports = 0  # require(name) or import(name) of a computed name
        for node in _walk(root):
            kind = node.type
            if kind in (
                "identifier",
                "shorthand_property_identifier_pattern",
                "shorthand_property_identifier",
                "type_identifier",
            ):
                self.identifiers.add(_text(node))
            elif kind == "call_expression":
                self.calls.append(node)
                self._note_dynamic_module(node)
            elif kind == "variable_declarator":
                self.declarators.append(node)
                self._note_require_binding(node)
            elif kind == "import_statement":
                self._note_import(node)
            elif kind in ("string", "template_string"):
                self.strings.append(node)
            if kind in ("expression_statement", "lexical_declaration", "variable_declaration"):
                self.statements.append(node)

    def _note_dynamic_module(self, call: tree_sitter.Node) -> None:
        module = _required_module(call)
        function = call.child_by_field_name("function")
        if module is None and function is not None and function.type == "import":
            args = _arguments(call)
            module = _literal_string(args[0]) if args else None
        if module is not None:
            self.modules.add(module)
        elif function is not None and (
            function.type == "import" or (function.type == "identifier" and _text(function) == "require")
        ):
            self.dynamic_imports += 1

    def _note_require_binding(self, declarator: tree_sitter.Node) -> None:
        name = declarator.child_by_field_name("name")
        value = declarator.child_by_field_name("value")
        if name is None or value is None:
            return
        module = _required_module(value)
        if module is None:
            # require('m').default / require('m').createServer
            parts = _member_parts(_unwrap(value))
            if parts is not None:
                module = _required_module(parts[0])
                if module is not None and name.type == "identifier":
                    exported = "default" if parts[1] == "default" else parts[1]
                    self.bindings[_text(name)] = _Import(module, exported)
            return
        if name.type == "identifier":
            self.bindings[_text(name)] = _Import(module, "default")
        elif name.type == "object_pattern":
            for entry in name.named_children:
                if entry.type == "shorthand_property_identifier_pattern":
                    self.bindings[_text(entry)] = _Import(module, _text(entry))
                elif entry.type == "pair_pattern":
                    key = entry.child_by_field_name("key")
                    local = entry.child_by_field_name("value")
                    if key is not None and local is not None and local.type == "identifier":
                        self.bindings[_text(local)] = _Import(module, _text(key))

    def _note_import(self, statement: tree_sitter.Node) -> None:
        source = statement.child_by_field_name("source")
        module = _literal_string(source) if source is not None else None
        for child in statement.named_children:
            if child.type == "import_require_clause":  # TypeScript: import x = require('m')
                names = [c for c in child.named_children if c.type == "identifier"]
                strings = [c for c in child.named_children if c.type == "string"]
                if names and strings:
                    required = _literal_string(strings[0])
                    if required is not None:
                        self.modules.add(required)
                        self.bindings[_text(names[0])] = _Import(required, "default")
        if module is None:
            return
        self.modules.add(module)
        clause = next((c for c in statement.named_children if c.type == "import_clause"), None)
        if clause is None:
            return
        for part in clause.named_children:
            if part.type == "identifier":
                self.bindings[_text(part)] = _Import(module, "default")
            elif part.type == "namespace_import":
                for ident in part.named_children:
                    if ident.type == "identifier":
                        self.bindings[_text(ident)] = _Import(module, "*")
            elif part.type == "named_imports":
                for spec in part.named_children:
                    if spec.type != "import_specifier":
                        continue
                    exported = spec.child_by_field_name("name")
                    alias = spec.child_by_field_name("alias")
                    if exported is not None:
                        local = alias if alias is not None else exported
                        self.bindings[_text(local)] = _Import(module, _text(exported))

    def module_of(self, node: tree_sitter.Node) -> _Import | None:
        """Which import an expression refers to: an imported name, or ``require('m')`` itself."""
        node = _unwrap(node)
        if node.type == "identifier":
            return self.bindings.get(_text(node))
        module = _required_module(node)
        if module is not None:
            return _Import(module, "default")
        parts = _member_parts(node)
        if parts is not None:
            base = self.module_of(parts[0])
            if base is not None and base.name in ("default", "*"):
                return _Import(base.module, "default" if parts[1] == "default" else parts[1])
        return None


# --------------------------------------------------------------------------------------------
# Style of the file


@dataclass(frozen=True)
class _Style:
    quote: str
    semicolon: str
    indent_unit: str
    newline: str


def _detect_style(source: bytes, facts: FileFacts) -> _Style:
    quotes = Counter(chr(source[node.start_byte]) for node in facts.strings if node.type == "string")
    quote = '"' if quotes['"'] > quotes["'"] else "'"
    endings = Counter(
        source[node.start_byte : node.end_byte].rstrip().endswith(b";")
        for node in facts.statements
        if node.parent is not None and node.parent.type != "for_statement"
    )
    semicolon = "" if endings[False] > endings[True] else ";"
    newline = "\r\n" if b"\r\n" in source else "\n"
    return _Style(quote, semicolon, _detect_indent_unit(source), newline)


def _detect_indent_unit(source: bytes) -> str:
    tab_lines = 0
    widths: Counter[int] = Counter()
    for line in source.splitlines():
        if not line.strip():
            continue
        if line.startswith(b"\t"):
            tab_lines += 1
            continue
        width = len(line) - len(line.lstrip(b" "))
        if width:
            widths[width] += 1
    space_lines = sum(widths.values())
    if tab_lines > space_lines:
        return "\t"
    # A unit shows in the lines at an odd number of units (2, 6, 10 for two spaces); a few odd
    # widths from block comment continuations (` * `) or aligned arguments must not decide.
    for unit in (2, 4):
        odd_levels = sum(count for width, count in widths.items() if width % (2 * unit) == unit)
        if odd_levels * 5 >= space_lines:
            return " " * unit
    return " " * 8 if widths else "  "


def _line_indent(source: bytes, offset: int) -> str:
    line_start = source.rfind(b"\n", 0, offset) + 1
    line = source[line_start:offset]
    indent = line[: len(line) - len(line.lstrip(b" \t"))]
    return indent.decode("ascii")


def _starts_line(source: bytes, offset: int) -> bool:
    line_start = source.rfind(b"\n", 0, offset) + 1
    return not source[line_start:offset].strip()


def _statement_end(node: tree_sitter.Node) -> int:
    """End of a statement, leaving out a ``;`` that sits on a later line (``;[a, b].forEach``)."""
    last = node.children[-1] if node.children else None
    if node.type == "export_statement" and last is not None and last.type != ";":
        return _statement_end(last) if last.type.endswith("declaration") else node.end_byte
    if last is not None and last.type == ";" and len(node.children) > 1:
        previous = node.children[-2]
        if last.start_point[0] > previous.end_point[0]:
            return previous.end_byte
    return node.end_byte


def _insertion_point_after(source: bytes, node: tree_sitter.Node) -> tuple[int, bool]:
    """Offset just after a statement, past comments on its last line.

    Returns (offset, at_line_end): at_line_end is False when more code follows on the same line.
    """
    position = _statement_end(node)
    while True:
        scan = position
        while scan < len(source) and source[scan] in b" \t":
            scan += 1
        if source.startswith(b"//", scan):
            line_end = source.find(b"\n", scan)
            position = len(source) if line_end == -1 else line_end
            if source[position - 1 : position] == b"\r":
                position -= 1
            break
        if source.startswith(b"/*", scan):
            close = source.find(b"*/", scan + 2)
            if close == -1 or b"\n" in source[scan:close]:
                break
            position = close + 2
            continue
        if scan >= len(source) or source[scan] in b"\r\n":
            position = scan
        break
    if position < len(source) and source[position : position + 1] == b"\r":
        return position, True
    at_line_end = position >= len(source) or source[position] in b"\r\n"
    return position, at_line_end


def _needs_closing_semicolon(source: bytes, offset: int) -> bool:
    """Without semicolons, code after the insertion that starts with ( [ ` + - / would continue it."""
    rest = source[offset:]
    while True:
        rest = rest.lstrip()
        if rest.startswith(b"//"):
            newline = rest.find(b"\n")
            rest = b"" if newline == -1 else rest[newline:]
        elif rest.startswith(b"/*"):
            close = rest.find(b"*/")
            rest = b"" if close == -1 else rest[close + 2 :]
        else:
            break
    return rest[:1] in (b"(", b"[", b"`", b"+", b"-", b"/")


def _fresh_name(preferred: tuple[str, ...], taken: set[str]) -> str:
    for name in preferred:
        if name not in taken:
            return name
    counter = 2
    while f"{preferred[0]}{counter}" in taken:
        counter += 1
    return f"{preferred[0]}{counter}"


# --------------------------------------------------------------------------------------------
# What the file already does


def _signal_listeners(facts: FileFacts) -> tuple[set[str], bool]:
    """Signals with a ``process.on``-style listener, and whether some listener's signal is computed."""
    signals: set[str] = set()
    computed = False
    for call in facts.calls:
        function = call.child_by_field_name("function")
        parts = _member_parts(function) if function is not None else None
        if parts is None or parts[1] not in _LISTENER_METHODS:
            continue
        if _unwrap(parts[0]).type != "identifier" or _text(_unwrap(parts[0])) != "process":
            continue
        args = _arguments(call)
        if not args:
            continue
        signal = _literal_string(args[0])
        if signal is None:
            computed = True
        else:
            signals.add(signal)
    return signals, computed


def file_facts(tree: tree_sitter.Tree) -> FileFacts:
    """The imports, names and calls of a parsed file."""
    return FileFacts(tree.root_node)


def existing_shutdown(facts: FileFacts) -> str | None:
    """How the file already handles SIGTERM (a listener, a shutdown library, NestJS's hooks), if it does."""
    signals, computed = _signal_listeners(facts)
    if "SIGTERM" in signals:
        return "the file already listens for SIGTERM (process.on/once)"
    mentions_sigterm = any(_literal_string(s) == "SIGTERM" for s in facts.strings)
    if computed and mentions_sigterm:
        # for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, ...)
        return "the file already registers signal listeners that include SIGTERM"
    libraries = sorted(facts.modules & SHUTDOWN_LIBRARIES)
    if libraries:
        return f"the file uses {', '.join(libraries)}, which owns the shutdown sequence"
    for call in facts.calls:
        function = call.child_by_field_name("function")
        parts = _member_parts(function) if function is not None else None
        if parts is not None and parts[1] == "enableShutdownHooks":
            return "the NestJS application already calls enableShutdownHooks()"
    return None


# --------------------------------------------------------------------------------------------
# Finding the server


@dataclass(frozen=True)
class _Server:
    framework: str
    name: str | None  # None: the listen result is discarded and needs a name
    anchor: tree_sitter.Node  # statement after which the handler goes
    introduce_at: tree_sitter.Node | None = None  # statement to prefix with `const <name> = `


def _in_loop(node: tree_sitter.Node) -> bool:
    current = node.parent
    while current is not None:
        if current.type in _LOOPS:
            return True
        if current.type in _FUNCTION_TYPES:
            return False
        current = current.parent
    return False


def _declared_statement(declarator: tree_sitter.Node) -> tree_sitter.Node | None:
    """The declaration statement of a single-name declarator, if it sits in a statement list."""
    declaration = declarator.parent
    if declaration is None or declaration.type not in (
        "lexical_declaration",
        "variable_declaration",
    ):
        return None
    statement = declaration
    if statement.parent is not None and statement.parent.type == "export_statement":
        statement = statement.parent
    if statement.parent is None or statement.parent.type not in _STATEMENT_CONTAINERS:
        return None
    return statement


def _same_block_statement_after(node: tree_sitter.Node, block_statement: tree_sitter.Node) -> tree_sitter.Node | None:
    """The statement in ``block_statement``'s block that contains ``node``, if it comes later."""
    current = node
    while current.parent is not None and current.parent != block_statement.parent:
        current = current.parent
    if current.parent is None or current.start_byte < block_statement.end_byte:
        return None
    return current


class _ServerFinder:
    """Locates the one server (or framework instance) whose shutdown the handler manages."""

    def __init__(self, facts: FileFacts) -> None:
        self.facts = facts
        self.apps: dict[str, str] = {}  # name -> express | koa
        self.fastify: list[tuple[str, tree_sitter.Node]] = []
        self.http_servers: list[tuple[str, tree_sitter.Node]] = []
        self.nest: list[tuple[str, tree_sitter.Node]] = []
        self.problems: list[str] = []
        for declarator in facts.declarators:
            self._classify(declarator)

    def _creator(self, value: tree_sitter.Node) -> str | None:
        value = _unwrap(value)
        if value.type == "new_expression":
            constructor = value.child_by_field_name("constructor")
            origin = self.facts.module_of(constructor) if constructor is not None else None
            if origin is not None and origin.module == "koa" and origin.name in ("default", "*"):
                return "koa"
            return None
        if value.type != "call_expression":
            return None
        function = value.child_by_field_name("function")
        if function is None:
            return None
        # TypeScript's `await NestFactory.create<T>(M)` nests the member inside the await.
        if any(n.type == "member_expression" and _text(n).startswith("NestFactory.create") for n in _walk(function)):
            return "nestjs"
        origin = self.facts.module_of(function)
        if origin is None:
            return None
        if origin.module == "fastify" and origin.name in ("default", "*", "fastify"):
            return "fastify"
        if origin.module == "express" and origin.name in ("default", "*"):
            return "express"
        if origin.module == "koa" and origin.name in ("default", "*"):
            return "koa"
        if origin.module in _HTTP_MODULES and origin.name == "createServer":
            return "http"
        return None

    def _classify(self, declarator: tree_sitter.Node) -> None:
        name = declarator.child_by_field_name("name")
        value = declarator.child_by_field_name("value")
        if name is None or value is None or name.type != "identifier":
            return
        kind = self._creator(value)
        if kind in ("express", "koa"):
            self.apps[_text(name)] = kind
        elif kind == "fastify":
            self.fastify.append((_text(name), declarator))
        elif kind == "http":
            self.http_servers.append((_text(name), declarator))
        elif kind == "nestjs":
            self.nest.append((_text(name), declarator))

    def listen_calls(self, receiver: str | None = None) -> list[tree_sitter.Node]:
        found = []
        for call in self.facts.calls:
            function = call.child_by_field_name("function")
            parts = _member_parts(function) if function is not None else None
            if parts is None or parts[1] != "listen":
                continue
            obj = _unwrap(parts[0])
            if receiver is None or (obj.type == "identifier" and _text(obj) == receiver):
                found.append(call)
        return found

    def http_framework(self) -> str:
        kinds = set(self.apps.values())
        if len(kinds) == 1:
            return kinds.pop()
        return "http"

    def servers_from_listen(self) -> list[_Server]:
        """Servers obtained from ``app.listen(...)`` / ``createServer(...).listen(...)``."""
        servers = []
        for call in self.listen_calls():
            function = call.child_by_field_name("function")
            obj = _unwrap(_member_parts(function)[0])  # type: ignore[arg-type, index]
            if obj.type == "identifier" and _text(obj) in self.apps:
                framework = self.apps[_text(obj)]
            elif self._creator(obj) in ("http", "express", "koa"):
                framework = self.http_framework() if self._creator(obj) == "http" else str(self._creator(obj))
            else:
                continue
            server = self._keep_listen_result(call, framework)
            if server is not None:
                servers.append(server)
        return servers

    def _keep_listen_result(self, call: tree_sitter.Node, framework: str) -> _Server | None:
        # listen() returns the server, and so do .on()/.once() chained on it.
        node = call
        while node.parent is not None:
            enclosing = node.parent
            if enclosing.type in _TRANSPARENT_WRAPPERS:
                node = enclosing
                continue
            if enclosing.type == "member_expression" and enclosing.child_by_field_name("object") == node:
                parts = _member_parts(enclosing)
                grand = enclosing.parent
                if (
                    parts is not None
                    and parts[1] in ("on", "once")
                    and grand is not None
                    and (grand.type == "call_expression")
                ):
                    node = grand
                    continue
            break
        parent = node.parent
        if parent is None:
            return None
        where = f"line {call.start_point[0] + 1}"
        if (
            parent.type == "expression_statement"
            and parent.parent is not None
            and (parent.parent.type in _STATEMENT_CONTAINERS)
        ):
            if _in_loop(parent):
                self.problems.append(f"listen() at {where} runs in a loop")
                return None
            return _Server(framework, None, parent, introduce_at=parent)
        if parent.type == "variable_declarator":
            name = parent.child_by_field_name("name")
            statement = _declared_statement(parent)
            if name is not None and name.type == "identifier" and statement is not None:
                if _in_loop(statement):
                    self.problems.append(f"listen() at {where} runs in a loop")
                    return None
                return _Server(framework, _text(name), statement)
        self.problems.append(f"the server returned by listen() at {where} is passed on, not kept in a variable")
        return None

    def servers_from_create_server(self) -> list[_Server]:
        servers = []
        for name, declarator in self.http_servers:
            statement = _declared_statement(declarator)
            if statement is None or _in_loop(statement):
                self.problems.append(f"{name} is not declared in a plain statement list")
                continue
            listens = self.listen_calls(name)
            if not listens:
                # Started elsewhere (exported, or listen.apply): the entry that starts it decides.
                self.problems.append(f"{name} is created here but this file never calls listen()")
                continue
            anchor = statement
            for call in listens:
                later = _same_block_statement_after(call, statement)
                if later is not None:
                    anchor = later
                    break
            servers.append(_Server(self.http_framework(), name, anchor))
        return servers

    def instance(self, entries: list[tuple[str, tree_sitter.Node]], framework: str) -> _Server | None:
        if len(entries) != 1:
            if entries:
                self.problems.append(f"the file creates {len(entries)} {framework} instances")
            return None
        name, declarator = entries[0]
        statement = _declared_statement(declarator)
        if statement is None or _in_loop(statement):
            self.problems.append(f"the {framework} instance {name} is not declared in a statement list")
            return None
        anchor = statement
        for call in self.listen_calls(name):
            later = _same_block_statement_after(call, statement)
            if later is not None:
                anchor = later
                break
        return _Server(framework, name, anchor)


# --------------------------------------------------------------------------------------------
# Writing the handler


def _render(lines: list[tuple[int, str]], base: str, style: _Style) -> str:
    return style.newline.join((base + style.indent_unit * level + text) if text else "" for level, text in lines)


def _signal_lines(handler: str, signals: list[str], style: _Style) -> list[tuple[int, str]]:
    q = style.quote
    return [(0, f"process.once({q}{s}{q}, {handler}){style.semicolon}") for s in signals]


# The handlers below write only syntax the image's Node.js parses (node_syntax.py): ES5 where
# the major is older than 4 or unknown, async functions from 8, optional chaining from 14.


def _callback(statement: str, node_major: int | None) -> str:
    """A callback that runs one statement: an arrow function where the image's Node.js parses one."""
    if node_parses(node_major, SyntaxFeature.ES2015):
        return f"() => {statement}"
    return f"function () {{ {statement} }}"


def _received(text: str, node_major: int | None, style: _Style) -> str:
    """The log line saying which signal arrived: a template literal where Node.js parses one."""
    if node_parses(node_major, SyntaxFeature.ES2015):
        return f"`${{signal}} received: {text}`"
    return f"signal + {style.quote} received: {text}{style.quote}"


def _call_if_present(method: str, node_major: int | None) -> str:
    """Call `method` where the running Node.js has it: ``a.b?.()`` from Node.js 14, ``a.b && a.b()`` before."""
    if node_parses(node_major, SyntaxFeature.OPTIONAL_CHAINING):
        return f"{method}?.()"
    return f"{method} && {method}()"


def _safety_timer(node_major: int | None, s: str) -> str:
    return f"setTimeout({_callback('process.exit(1)', node_major)}, {SAFETY_TIMEOUT_MS}).unref(){s}"


def _handler_for_server(
    server_name: str, handler: str, signals: list[str], typed: bool, style: _Style, node_major: int | None
) -> list[tuple[int, str]]:
    s = style.semicolon
    parameter = "signal: string" if typed else "signal"
    return [
        (0, f"function {handler}({parameter}) {{"),
        (1, f"console.info({_received('closing the HTTP server', node_major, style)}){s}"),
        (
            1,
            "// Requests in flight may finish; a stuck connection must not block the exit forever.",
        ),
        (1, _safety_timer(node_major, s)),
        (1, f"{server_name}.close({_callback('process.exit(0)', node_major)}){s}"),
        (1, "// Idle keep-alive connections would otherwise hold close() open (Node.js < 19)."),
        (1, f"{_call_if_present(f'{server_name}.closeIdleConnections', node_major)}{s}"),
        (0, "}"),
        *_signal_lines(handler, signals, style),
    ]


def _handler_for_fastify(
    instance: str, handler: str, signals: list[str], typed: bool, style: _Style, node_major: int | None
) -> list[tuple[int, str]]:
    s = style.semicolon
    parameter = "signal: string" if typed else "signal"
    if node_parses(node_major, SyntaxFeature.ASYNC_FUNCTIONS):
        head, closing = "async function", [(1, f"await {instance}.close(){s}"), (1, f"process.exit(0){s}")]
    else:
        # Every fastify release takes a callback in close(); only the newer ones return a promise.
        head, closing = "function", [(1, f"{instance}.close({_callback('process.exit(0)', node_major)}){s}")]
    return [
        (0, f"{head} {handler}({parameter}) {{"),
        (1, f"console.info({_received('closing the server', node_major, style)}){s}"),
        (1, "// A stuck connection must not block the exit forever."),
        (1, _safety_timer(node_major, s)),
        (1, "// fastify answers 503 to new requests and lets the ones in flight finish."),
        *closing,
        (0, "}"),
        *_signal_lines(handler, signals, style),
    ]


def _insert_after(source: bytes, anchor: tree_sitter.Node, lines: list[tuple[int, str]], style: _Style) -> Edit:
    offset, at_line_end = _insertion_point_after(source, anchor)
    base = _line_indent(source, anchor.start_byte)
    if not style.semicolon and _needs_closing_semicolon(source, offset):
        level, text = lines[-1]
        lines = [*lines[:-1], (level, text + ";")]
    block = _render(lines, base, style)
    nl = style.newline
    if at_line_end:
        content = nl + nl + block
    else:
        # More code follows on the same line: the blank between the two statements becomes the
        # handler, and that code moves to a line of its own.
        content = nl + nl + block + nl + nl + base
        offset = end = _statement_end(anchor)
        while source[end : end + 1] in (b" ", b"\t"):
            end += 1
        return Edit(offset, end, content.encode("utf-8"))
    return Edit(offset, offset, content.encode("utf-8"))


_ADVICE = (
    "add a handler yourself: on SIGTERM and SIGINT stop accepting connections (server.close() or "
    "your framework's close()), let requests in flight finish, close database connections, then "
    "exit; keep a safety timer so a stuck connection cannot hang the shutdown"
)


def plan_graceful_shutdown(
    source: bytes, *, path: Path, language: str, module_system: str, node_major: int | None
) -> ShutdownPlan:
    """Decide how the entry file ``source`` should handle SIGTERM/SIGINT and return the edits.

    ``path`` is the file ``source`` was read from: the edits are edits of it. ``language`` is
    "javascript", "typescript" or "tsx"; ``module_system`` is "commonjs" or "esm" (the inserted
    handler uses neither ``require`` nor ``import``, so it fits both). ``node_major`` is the
    Node.js major of the image that runs the file (None: not known): the handler uses only
    syntax it parses. A file that already handles SIGTERM, or whose server cannot be found
    safely, gets no edits and a message.
    Raises UnsupportedSourceError for an unknown language or module system.
    """
    plan = _plan(source, language, module_system, node_major)
    return replace(plan, edits=tuple(replace(edit, path=path) for edit in plan.edits))


def _plan(source: bytes, language: str, module_system: str, node_major: int | None) -> ShutdownPlan:
    if module_system not in MODULE_SYSTEMS:
        raise UnsupportedSourceError(f"unknown module system {module_system!r}; expected one of {MODULE_SYSTEMS}")
    tree = parse_source(source, language)
    if has_syntax_errors(tree):
        return ShutdownPlan(None, False, (), "the entry file does not parse; nothing was changed")
    facts = FileFacts(tree.root_node)
    finder = _ServerFinder(facts)
    handled = existing_shutdown(facts)
    if handled is not None:
        framework = _framework_hint(finder)
        return ShutdownPlan(framework, True, (), f"graceful shutdown: {handled}; nothing to change")

    style = _detect_style(source, facts)
    typed = language != "javascript"
    listened, _ = _signal_listeners(facts)
    signals = ["SIGTERM"] if "SIGINT" in listened else ["SIGTERM", "SIGINT"]
    handler = _fresh_name(("closeGracefully", "shutDownGracefully"), facts.identifiers)

    nest = finder.instance(finder.nest, "nestjs") if finder.nest else None
    if nest is not None:
        return _plan_nest(source, finder, nest, style)

    fastify = finder.instance(finder.fastify, "fastify") if finder.fastify else None
    if fastify is not None and fastify.name is not None:
        lines = _handler_for_fastify(fastify.name, handler, signals, typed, style, node_major)
        edit = _insert_after(source, fastify.anchor, lines, style)
        verb = "await" if node_parses(node_major, SyntaxFeature.ASYNC_FUNCTIONS) else "call"
        return ShutdownPlan(
            "fastify",
            False,
            (edit,),
            f"graceful shutdown: on {' and '.join(signals)}, {verb} {fastify.name}.close() "
            f"(requests in flight finish) and exit 0; exit 1 after {SAFETY_TIMEOUT_MS // 1000} s",
        )

    servers = finder.servers_from_listen() + finder.servers_from_create_server()
    if len(servers) == 1:
        return _plan_http_server(source, facts, servers[0], handler, signals, typed, style, node_major)
    if len(servers) > 1:
        finder.problems.append(f"the file starts {len(servers)} servers")
    reason = "; ".join(finder.problems) if finder.problems else _no_server_reason(finder)
    return ShutdownPlan(
        _framework_hint(finder),
        False,
        (),
        f"graceful shutdown not added: {reason}; {_ADVICE}",
    )


def _framework_hint(finder: _ServerFinder) -> str | None:
    if finder.nest:
        return "nestjs"
    if finder.fastify:
        return "fastify"
    if finder.apps or finder.http_servers:
        return finder.http_framework()
    return None


def _no_server_reason(finder: _ServerFinder) -> str:
    if finder.listen_calls():
        return "listen() is called on a server this file does not create (unknown framework)"
    return "the file creates no server that dockfix recognises"


def _plan_nest(source: bytes, finder: _ServerFinder, app: _Server, style: _Style) -> ShutdownPlan:
    assert app.name is not None
    call_text = f"{app.name}.enableShutdownHooks(){style.semicolon}"
    listen_statement = app.anchor
    declaration = _declared_statement(finder.nest[0][1])
    if listen_statement != declaration and listen_statement is not None:
        start = listen_statement.start_byte
        if _starts_line(source, start):
            content = call_text + style.newline + _line_indent(source, start)
        else:
            # Another statement precedes it on the line: ASI cannot end ours, the semicolon must.
            content = f"{app.name}.enableShutdownHooks(); "
        edit = Edit(start, start, content.encode("utf-8"))
    else:
        edit = _insert_after_single(source, app.anchor, call_text, style)
    return ShutdownPlan(
        "nestjs",
        False,
        (edit,),
        f"graceful shutdown: {app.name}.enableShutdownHooks() lets NestJS close the application "
        "(onModuleDestroy, beforeApplicationShutdown, onApplicationShutdown) on SIGTERM",
    )


def _insert_after_single(source: bytes, anchor: tree_sitter.Node, text: str, style: _Style) -> Edit:
    offset, at_line_end = _insertion_point_after(source, anchor)
    base = _line_indent(source, anchor.start_byte)
    if not at_line_end:
        offset = _statement_end(anchor)
        return Edit(offset, offset, (" " + text).encode("utf-8"))
    return Edit(offset, offset, (style.newline + base + text).encode("utf-8"))


def _plan_http_server(
    source: bytes,
    facts: FileFacts,
    server: _Server,
    handler: str,
    signals: list[str],
    typed: bool,
    style: _Style,
    node_major: int | None,
) -> ShutdownPlan:
    edits = []
    name = server.name
    if name is None:
        name = _fresh_name(("server", "httpServer", "appServer"), facts.identifiers | {handler})
        assert server.introduce_at is not None
        start = server.introduce_at.start_byte
        keyword = "const" if node_parses(node_major, SyntaxFeature.ES2015) else "var"
        edits.append(Edit(start, start, f"{keyword} {name} = ".encode()))
    lines = _handler_for_server(name, handler, signals, typed, style, node_major)
    edits.append(_insert_after(source, server.anchor, lines, style))
    kept = "kept the server returned by listen() and " if server.name is None else ""
    return ShutdownPlan(
        server.framework,
        False,
        tuple(sorted(edits, key=lambda e: e.start)),
        f"graceful shutdown: {kept}on {' and '.join(signals)} call {name}.close() so requests in "
        f"flight finish, then exit 0; exit 1 after {SAFETY_TIMEOUT_MS // 1000} s if a connection "
        "is stuck",
    )
