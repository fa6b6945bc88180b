"""Registry tokens are mounted at build time, never baked into a layer.

## What it does
Finds credentials that end up in the image: an npm token written into `.npmrc` by `echo` or
`printf`, set with `npm config set //...:_authToken` (or `yarn config set npmAuthToken`), a
`.npmrc` copied in that holds a token, a password or a `${VAR}` naming a secret (one that is
not in the build context to read, being local-only or gitignored, is reported as unchecked), and ENV or ARG instructions whose names look like secrets (`NPM_TOKEN`,
`*_TOKEN`, `*_PASSWORD`, `*_SECRET`, `*_KEY`). Where the use is clear (one RUN writes the
`.npmrc`, installs, and maybe removes it) the RUN becomes
`RUN --mount=type=secret,id=npmrc,target=<workdir>/.npmrc <the install>`: the echo and the `rm`
go, and the ENV/ARG that carried the token goes when nothing else uses it. The BuildKit syntax
line `# syntax=docker/dockerfile:1` is added when the file has none.

## Why
Every ENV value, every ARG used by a RUN and every file written by a RUN is stored in the image
or its build history: `rm -f .npmrc` in a later command does not take the token out of the
layer, and `docker history` shows build arguments. A secret mount exists only while that RUN
runs and is never written into a layer.

## Example
    ENV NPM_TOKEN 1234
    RUN echo "//npm.pkg.github.com/:_authToken=$NPM_TOKEN" > .npmrc && npm ci --omit=dev && rm -f .npmrc
becomes
    # syntax=docker/dockerfile:1
    RUN --mount=type=secret,id=npmrc,target=/usr/src/app/.npmrc npm ci --omit=dev
built with `docker build --secret id=npmrc,src=.npmrc .` (the file holds the whole `.npmrc`).

## Fix safety
Unsafe: the build command changes (the secret has to be passed with `--secret`), and the file
mounted replaces the lines the RUN used to write. Token values are never repeated in messages.
A token that was ever committed or pushed in an image must be rotated: removing it from the
Dockerfile does not remove it from old images or history. Other secret-looking names are only
reported.

## Related hadolint rules
None; BuildKit's check SecretsUsedInArgOrEnv.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

from ..context import RuleContext
from ..dockerfile.document import Document, Instruction, Stage
from ..dockerfile.shell import Script, parse_bash
from ..dockerfile.stages import effective_user, is_root, stage_chain, workdir_at
from ..dockerfile.words import read_env, shell_words
from ..edit_helpers import syntax_line_edits
from ..edits import Applicability, Edit, Finding, Fix
from ..project.inputs import EVERY_INPUT
from ..project.node_tooling import PACKAGE_MANAGERS
from .rule import Rule

if TYPE_CHECKING:
    from tree_sitter import Node

SECRET_NAME = re.compile(r"(?:^|_)(?:TOKEN|PASSWORD|PASSWD|PASS|SECRET|KEY|APIKEY|AUTH|CREDENTIALS?)$", re.IGNORECASE)
NOT_SECRET = re.compile(r"(?:^|_)(?:PUBLIC_KEY|KEY_ID|PUBLISHABLE_KEY|SITE_KEY)$", re.IGNORECASE)
BUILD_COMMAND = "docker build --secret id=npmrc,src=.npmrc ."
TOKEN_TEXT = re.compile(r"_authToken|_auth\b|npmAuthToken|_password", re.IGNORECASE)
# Found in any text TOKEN_TEXT matches: a script without it, or `.npmrc`, holds nothing to move.
_MAY_HOLD_TOKEN = re.compile(r"_auth|npmAuthToken|_password", re.IGNORECASE)
# Commands that read the `.npmrc` a secret mount provides.
NPMRC_READERS = (*PACKAGE_MANAGERS, "npx")
# npm expands `${NAME}` in `.npmrc` from the environment of the install.
_NPMRC_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def is_secret_name(name: str) -> bool:
    return bool(SECRET_NAME.search(name)) and not NOT_SECRET.search(name)


def declared_names(inst: Instruction, escape: str) -> list[str]:
    """Variable names an ENV or ARG instruction declares."""
    if inst.name == "ARG":
        return [w.split("=", 1)[0] for w in shell_words(inst.args, raw_quotes=False)]
    return [name for name, _ in read_env(inst.args, escape).pairs]


def _flatten(node: Node, items: list[Node], operators: list[str]) -> bool:
    """The statements of an `a && b; c` chain in order; False if it uses anything else."""
    if node.type == "list":
        for child in node.children:
            if not child.is_named:
                if child.type not in ("&&", ";"):
                    return False
                operators.append(child.type)
            elif not _flatten(child, items, operators):
                return False
        return True
    if node.type in ("command", "redirected_statement"):
        items.append(node)
        return True
    return False


def _statements(text: bytes) -> list[Node] | None:
    root = parse_bash(text).root_node
    if root.has_error:
        return None
    items: list[Node] = []
    operators: list[str] = []
    for child in root.children:
        if not child.is_named:
            if child.type != ";":
                return None
            continue
        if child.type == "comment" or not _flatten(child, items, operators):
            return None
    return items


def _command_words(node: Node, text: bytes) -> list[str]:
    command = node if node.type == "command" else next((c for c in node.children if c.type == "command"), None)
    if command is None:
        return []
    return [
        text[c.start_byte : c.end_byte].decode("utf-8", "replace").strip("\"'")
        for c in command.children
        if c.is_named and c.type != "variable_assignment"
    ]


def _redirect_target(node: Node, text: bytes) -> str | None:
    if node.type != "redirected_statement":
        return None
    for child in node.children:
        if child.type == "file_redirect":
            words = [c for c in child.children if c.is_named]
            if words:
                return text[words[-1].start_byte : words[-1].end_byte].decode("utf-8", "replace").strip("\"'")
    return None


def _is_npmrc(path: str | None) -> bool:
    return path is not None and posixpath.basename(path) == ".npmrc"


def classify(node: Node, text: bytes) -> str:
    """ "write" (token into .npmrc), "remove" (rm .npmrc), "config" (config set token), "install", "other"."""
    words = _command_words(node, text)
    raw = text[node.start_byte : node.end_byte].decode("utf-8", "replace")
    if words and words[0] in ("echo", "printf", "cat") and _is_npmrc(_redirect_target(node, text)):
        return "write"
    if words and words[0] == "rm" and node.type == "command":
        paths = [w for w in words[1:] if not w.startswith("-")]
        if paths and all(_is_npmrc(p) for p in paths):
            return "remove"
    if words[:3] in (
        ["npm", "config", "set"],
        ["yarn", "config", "set"],
        ["pnpm", "config", "set"],
    ) and TOKEN_TEXT.search(raw):
        return "config"
    if words and words[0] in NPMRC_READERS and words[1:2] != ["config"]:
        return "install"
    return "other"


def _variables(text: str) -> set[str]:
    return set(re.findall(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)", text))


def _mount_target(doc: Document, stage: Stage, inst: Instruction, written: str) -> str | None:
    if written.startswith(("~/", "$HOME/", "${HOME}/")):
        user = effective_user(doc, stage, inst)
        home = "/root" if is_root(user) else ("/home/node" if user and user.split(":")[0] in ("node", "1000") else None)
        return home and f"{home}/.npmrc"
    if "$" in written:
        return None
    if written.startswith("/"):
        return posixpath.normpath(written)
    workdir = workdir_at(doc, stage, inst)
    return workdir and posixpath.normpath(posixpath.join(workdir, written))


def _deletions(script: Script, items: list, removed: set[int]) -> list[tuple[int, int]] | None:
    """Script ranges that take the removed statements out with their `&&`, or None."""
    ranges = []
    i = 0
    while i < len(items):
        if i not in removed:
            i += 1
            continue
        j = i
        while j + 1 < len(items) and j + 1 in removed:
            j += 1
        if j + 1 < len(items):
            ranges.append((items[i].start_byte, items[j + 1].start_byte))
        elif i > 0:
            ranges.append((items[i - 1].end_byte, items[j].end_byte))
        else:
            return None
        i = j + 1
    return [script.to_source(a, b) for a, b in ranges]


def check(doc: Document, ctx: RuleContext) -> Iterator[Finding]:
    escape = doc.escape.decode()
    rewritten_vars: set[str] = set()
    handled: set[int] = set()
    for stage in doc.stages:
        for inst in stage.instructions:
            if inst.name == "RUN":
                finding = _check_run(doc, ctx, stage, inst, escape, rewritten_vars)
                if finding is not None:
                    handled.add(inst.line)
                    yield finding
            elif inst.name in ("COPY", "ADD") and inst.flag("from") is None:
                copied = [w for w in inst.words[:-1] if _is_npmrc(w)]
                finding = _copied_npmrc(ctx, inst, copied) if copied else None
                if finding is not None:
                    yield finding
    for inst in doc.instructions:
        if inst.name not in ("ENV", "ARG"):
            continue
        for name in declared_names(inst, escape):
            if is_secret_name(name) and name not in rewritten_vars:
                where = "stored in the image's configuration" if inst.name == "ENV" else "recorded in the build history"
                yield Finding(
                    RULE.code,
                    f"`{name}` looks like a secret and a {inst.name} value is {where}; pass it as a build secret (`RUN --mount=type=secret,...`) instead, and rotate it if it was committed",
                    inst.line,
                )


def _copied_npmrc(ctx: RuleContext, inst: Instruction, copied: list[str]) -> Finding | None:
    """A COPY of `.npmrc`: a finding when the file of the build context holds a credential, or
    when it is not there to read (local-only, gitignored); none for a settings-only file."""
    unread = []
    for source in copied:
        data = ctx.project.read(posixpath.normpath(source.lstrip("/")))
        if data is None:
            unread.append(source)
        elif _holds_credential(data.decode("utf-8", "replace")):
            return Finding(
                RULE.code,
                f"`{source}` is copied into the image and holds a registry credential: it stays in that layer even if "
                f"removed later; mount it with `RUN --mount=type=secret,id=npmrc,target=...` and build with `{BUILD_COMMAND}`",
                inst.line,
            )
    if not unread:
        return None  # registry or install settings only: nothing secret in the layer
    return Finding(
        RULE.code,
        f"`{unread[0]}` is copied into the image but is not in the build context here (a local-only or gitignored "
        "file), so whether it holds a token could not be checked; if it does, the token stays in that layer: mount it "
        f"with `RUN --mount=type=secret,id=npmrc,target=...` and build with `{BUILD_COMMAND}`",
        inst.line,
    )


def _holds_credential(npmrc: str) -> bool:
    """A token, password or basic auth setting, or a `${VAR}` that names a secret, in an `.npmrc`."""
    settings = "\n".join(line for line in npmrc.splitlines() if not line.lstrip().startswith(("#", ";")))
    return bool(TOKEN_TEXT.search(settings)) or any(is_secret_name(name) for name in _NPMRC_VARIABLE.findall(settings))


RULE = Rule(
    code="DF010",
    name="mounted-secrets",
    summary="Mount registry tokens as build secrets instead of ENV/ARG or a written .npmrc",
    fix_safety={Applicability.UNSAFE: "the build then needs --secret"},
    docs=__doc__,
    check=check,
    reads=EVERY_INPUT,
)


def _check_run(
    doc: Document, ctx: RuleContext, stage: Stage, inst: Instruction, escape: str, rewritten_vars: set[str]
) -> Finding | None:
    for script in inst.scripts:
        if b".npmrc" not in script.text and not _MAY_HOLD_TOKEN.search(script.text.decode("utf-8", "replace")):
            continue  # nothing written to .npmrc, no token set: no need to parse the shell
        items = _statements(script.text)
        if items is None:
            if TOKEN_TEXT.search(script.text.decode("utf-8", "replace")) and b".npmrc" in script.text:
                return Finding(
                    RULE.code,
                    "a token is written into `.npmrc` in this RUN, so it is stored in the layer; mount the .npmrc as a build secret instead",
                    inst.line,
                )
            continue
        kinds = [classify(item, script.text) for item in items]
        if "write" not in kinds and "config" not in kinds:
            continue
        secret_items = [item for item, kind in zip(items, kinds, strict=True) if kind in ("write", "config")]
        secret_text = " ".join(script.text[i.start_byte : i.end_byte].decode("utf-8", "replace") for i in secret_items)
        if (
            "write" in kinds
            and not TOKEN_TEXT.search(secret_text)
            and not any(is_secret_name(v) for v in _variables(secret_text))
        ):
            continue  # an .npmrc without credentials (a registry or a cache setting)
        message = (
            "a registry token is written into the image (`.npmrc` in a layer, the token in ENV/ARG or history); "
            f"mount it as a build secret instead and build with `{BUILD_COMMAND}` (the file holds the whole .npmrc); "
            "a token that was ever committed must be rotated"
        )
        fix = _rewrite(doc, stage, inst, script, items, kinds, escape, rewritten_vars)
        action = f"build with `{BUILD_COMMAND}` from now on, and rotate the token: it was in the image"
        return Finding(RULE.code, message, inst.line, fix, action=action if fix is not None else None)
    return None


def _rewrite(
    doc: Document,
    stage: Stage,
    inst: Instruction,
    script: Script,
    items: list[Node],
    kinds: list[str],
    escape: str,
    rewritten_vars: set[str],
) -> Fix | None:
    if script.from_heredoc or inst.heredocs or "install" not in kinds:
        return None
    removed = {i for i, kind in enumerate(kinds) if kind in ("write", "config", "remove")}
    written = [_redirect_target(items[i], script.text) for i, kind in enumerate(kinds) if kind == "write"]
    targets = {_mount_target(doc, stage, inst, w) for w in written if w} or {_mount_target(doc, stage, inst, ".npmrc")}
    if len(targets) != 1 or None in targets:
        return None
    target = targets.pop()
    deletions = _deletions(script, items, removed)
    if deletions is None:
        return None
    for start, end in deletions:
        if re.search(rb"\n[ \t]*#", doc.source[start:end]):
            return None  # a comment line inside the continuation would be lost
    kept_text = " ".join(
        script.text[items[i].start_byte : items[i].end_byte].decode("utf-8", "replace")
        for i in range(len(items))
        if i not in removed
    )
    secret_text = " ".join(
        script.text[items[i].start_byte : items[i].end_byte].decode("utf-8", "replace") for i in removed
    )
    edits = [Edit(start, end, b"") for start, end in deletions]
    if any(f.name == "mount" and "id=npmrc" in (f.value or "") for f in inst.flags):
        return None
    edits.append(Edit.insert(inst.keyword_end, f" --mount=type=secret,id=npmrc,target={target}".encode()))
    for name in _variables(secret_text) - _variables(kept_text):
        declarations = _declarations(doc, stage, name, escape)
        if declarations is None:
            continue
        if _used_elsewhere(doc, name, inst, declarations):
            continue
        edits.extend(Edit.delete(d.start, d.end) for d in declarations)
        rewritten_vars.add(name)
    edits.extend(syntax_line_edits(doc))
    return Fix.unsafe(*edits)


def _declarations(doc: Document, stage: Stage, name: str, escape: str) -> list[Instruction] | None:
    """ENV/ARG instructions declaring only `name` (stage chain and global ARGs); None if mixed."""
    found = []
    members = stage_chain(doc, stage)
    candidates = list(doc.global_args) + [i for m in members for i in m.instructions]
    for inst in candidates:
        if inst.name not in ("ENV", "ARG"):
            continue
        names = declared_names(inst, escape)
        if name in names:
            if names != [name]:
                return None
            found.append(inst)
    return found


def _used_elsewhere(doc: Document, name: str, run: Instruction, declarations: list[Instruction]) -> bool:
    pattern = re.compile(rf"\$\{{?{re.escape(name)}\b")
    for inst in doc.instructions:
        if inst is run or inst in declarations:
            continue
        if pattern.search(doc.source[inst.start : inst.end].decode("utf-8", "replace")):
            return True
    return False
