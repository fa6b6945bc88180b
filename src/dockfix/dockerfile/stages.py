"""What the rules need to know about stages: which image, which family, who runs, what runs.

Shared by the rules so each of them reads a stage the same way: whether it is built on the
official Node.js image (directly or through an earlier stage), whether it is a Windows image,
which package manager its base has, which Node.js major it carries, and where the build ends
and the runtime part (CMD/ENTRYPOINT) begins.
"""

from __future__ import annotations

import fnmatch
import posixpath
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace

from ..project.node_tooling import PACKAGE_MANAGERS
from .document import Document, Instruction, Stage, arg_defaults
from .imageref import is_official_image_named
from .shell import SHELLS, Command, Script
from .words import shell_words, variables_read

_DEBIAN_CODENAMES = ("trixie", "bookworm", "bullseye", "buster", "stretch", "jessie", "slim")
_WINDOWS_MARKERS = ("windowsservercore", "nanoserver", "windows")
ROOT_USERS = {"root", "0", "0:0", "root:root"}


def split_image(text: str) -> tuple[str, str | None]:
    """`name[:tag][@digest]` -> (name, tag); variables are kept as written."""
    text = text.split("@", 1)[0]
    slash = text.rfind("/")
    colon = text.rfind(":")
    if colon > slash:
        return text[:colon], text[colon + 1 :]
    return text, None


def is_node_image(text: str) -> bool:
    """The official Node.js image, under any of its names or a mirror's `.../library/node`."""
    return is_official_image_named(text, "node")


_DISTROLESS_NODE = re.compile(r"(?:^|/)distroless/nodejs(\d+)?(?:-[a-z0-9]+)*$")


def runtime_node_major(text: str) -> int | None:
    """The Node.js major of a runtime image other than the official one: distroless's
    `gcr.io/distroless/nodejs22-debian12` (or the older `gcr.io/distroless/nodejs:18`)."""
    name, tag = split_image(text.lower())
    match = _DISTROLESS_NODE.search(name)
    if match is None:
        return None
    if match.group(1):
        return int(match.group(1))
    version = re.match(r"(\d+)(?:$|[.-])", tag or "")
    return int(version.group(1)) if version else None


def image_node_major(doc: Document, stage: Stage) -> int | None:
    """The Node.js major the stage's image runs: the official node image's tag, a distroless
    nodejs image's name; None for any other base (Node.js installed some other way) or a tag
    that does not say."""
    base = external_base(doc, stage)
    if is_node_image(base):
        return node_major(doc, stage)
    return runtime_node_major(base)


def base_changed_by_build(doc: Document, stage: Stage, build_args: list[tuple[str, str | None]]) -> str | None:
    """A build argument a build of the file passes (`VARIANT=debian`, or an unknown value such as a
    CI matrix's) that a FROM of the stage's chain reads with another default: such a build may put
    the stage on another image than the file's defaults give. As `NAME=value`; None if none."""
    defaults = arg_defaults(doc.global_args)
    read = {name for member in stage_chain(doc, stage) for name in variables_read(member.base)}
    for name, value in build_args:
        if name in read and value != defaults.get(name):
            return f"{name}={value}" if value is not None else name
    return None


def stage_chain(doc: Document, stage: Stage) -> list[Stage]:
    """The stage and the earlier stages it builds on, nearest first."""
    stages = doc.stages
    chain = [stage]
    # A stage builds only on an earlier one, so the chain always ends.
    while chain[-1].parent_stage is not None:
        chain.append(stages[chain[-1].parent_stage])
    return chain


@dataclass(frozen=True, slots=True)
class _Point:
    """What is in effect where an instruction starts: the USER, the absolute working folder."""

    stage: int
    user: str | None
    workdir: str | None


@dataclass(frozen=True, slots=True)
class _StageFacts:
    """What each stage inherits through its chain, found in one walk over the document.

    Asked per stage and per instruction, walking the chain every time made a file of chained
    stages (or of many RUN lines) cost the square of its length.
    """

    roots: list[Stage]  # the stage each chain ends at
    by_name: dict[str, Stage]  # the last stage of each name (lower case), as `COPY --from` finds it
    windows_shells: list[bool]  # a SHELL of the chain names a Windows shell
    ends: list[_Point]  # the state after each stage's last instruction
    points: dict[int, tuple[Instruction, _Point]]  # by the instruction's start offset


def _facts(doc: Document) -> _StageFacts:
    return doc.derived(_walk_stages)


def _walk_stages(doc: Document) -> _StageFacts:
    facts = _StageFacts([], {s.alias.lower(): s for s in doc.stages if s.alias}, [], [], {})
    for stage in doc.stages:  # a parent always comes before the stages built on it
        parent = stage.parent_stage
        own_shell = any(
            inst.name == "SHELL" and any(w in inst.args.lower() for w in ("powershell", "pwsh", "cmd"))
            for inst in stage.instructions
        )
        facts.roots.append(stage if parent is None else facts.roots[parent])
        facts.windows_shells.append(own_shell or (parent is not None and facts.windows_shells[parent]))
        point = _Point(stage.index, None, "/") if parent is None else replace(facts.ends[parent], stage=stage.index)
        for inst in stage.instructions:
            facts.points[inst.start] = (inst, point)
            if inst.name == "USER":
                point = replace(point, user=inst.args.strip() or point.user)
            elif inst.name == "WORKDIR":
                point = replace(point, workdir=next_workdir(point.workdir, inst))
        facts.ends.append(point)
    return facts


def _point(doc: Document, stage: Stage, before: Instruction | None) -> _Point:
    """The state where `before` starts, when it is in the stage's chain; else (or for None) at
    the end of the stage."""
    facts = _facts(doc)
    instruction, found = facts.points.get(before.start, (None, None)) if before is not None else (None, None)
    if (
        found is None
        or instruction is not before
        or (found.stage != stage.index and all(s.index != found.stage for s in stage_chain(doc, stage)))
    ):
        return facts.ends[stage.index]
    return found


def chain_root(doc: Document, stage: Stage) -> Stage:
    """The first stage of the chain: the one built on an image (`stage_chain(...)[-1]`)."""
    return _facts(doc).roots[stage.index]


def external_base(doc: Document, stage: Stage) -> str:
    """The image the stage ultimately stands on (resolved through ARG defaults where possible)."""
    root = chain_root(doc, stage)
    return root.resolved_base or root.base


def copied_stages(doc: Document, stage: Stage) -> list[tuple[Instruction, Stage]]:
    """(COPY --from instruction, the earlier stage it copies from) for each copy between stages."""
    stages = doc.stages
    by_name = _facts(doc).by_name
    found = []
    for inst in stage.instructions:
        source_flag = inst.flag("from") if inst.name == "COPY" else None
        if source_flag is None or source_flag.value is None:
            continue
        value = source_flag.value.lower()
        source = by_name.get(value) or (stages[int(value)] if value.isdigit() and int(value) < len(stages) else None)
        if source is not None:
            found.append((inst, source))
    return found


def is_node_stage(doc: Document, stage: Stage) -> bool:
    return is_node_image(external_base(doc, stage))


def is_windows(doc: Document, stage: Stage) -> bool:
    if doc.escape == b"`":
        return True
    base = external_base(doc, stage).lower()
    if any(marker in base for marker in _WINDOWS_MARKERS):
        return True
    return _facts(doc).windows_shells[stage.index]


def applies_to(doc: Document, stage: Stage) -> bool:
    """A Linux stage on the official node image: where the Node.js rules speak."""
    return is_node_stage(doc, stage) and not is_windows(doc, stage)


def runtime_stage(doc: Document) -> Stage | None:
    """The stage `docker build` produces by default: the last one."""
    stages = doc.stages
    return stages[-1] if stages else None


def family(doc: Document, stage: Stage) -> str | None:
    """ "alpine", "debian", or None when the base's tag cannot be known."""
    _, tag = split_image(external_base(doc, stage).lower())
    if tag is not None and "$" in tag:
        tag = None
        unknown = True
    else:
        unknown = False
    if tag is not None:
        if "alpine" in tag:
            return "alpine"
        return "debian"
    if not unknown:
        return "debian"  # a bare `node` is the Debian-based image
    for member in stage_chain(doc, stage):
        for inst in member.instructions:
            text = inst.args
            if re.search(r"\bapk\s+add\b", text):
                return "alpine"
            if re.search(r"\bapt(-get)?\s+install\b", text):
                return "debian"
    return None


def node_major(doc: Document, stage: Stage) -> int | None:
    """The Node.js major of the base image, when its tag says it; floating tags count as current."""
    _, tag = split_image(external_base(doc, stage).lower())
    if tag is None:
        return 99  # `node` means latest: a current npm
    if "$" in tag:
        return None
    match = re.match(r"v?(\d+)", tag)
    if match:
        return int(match.group(1))
    if tag.split("-")[0] in ("latest", "lts", "current", "alpine", "slim", *(_DEBIAN_CODENAMES)):
        return 99
    return None


def effective_user(doc: Document, stage: Stage, before: Instruction | None = None) -> str | None:
    """The USER in effect at `before` (or at the end of the stage); None if never set."""
    return _point(doc, stage, before).user


def next_workdir(current: str | None, inst: Instruction) -> str | None:
    """The working directory after `inst`, given the one before it (None: not known).

    A relative WORKDIR goes on from the current one; one with a variable, or a relative one on
    top of an unknown folder, leaves it unknown.
    """
    if inst.name != "WORKDIR":
        return current
    value = inst.args.strip().strip("\"'")
    if "$" in value or (current is None and not value.startswith("/")):
        return None
    return posixpath.normpath(posixpath.join(current or "/", value))


def workdir_at(doc: Document, stage: Stage, before: Instruction | None = None, *, inherit: bool = True) -> str | None:
    """The absolute working directory at `before` (or at the end of the stage); None if not known.

    With `inherit`, the earlier stages the stage builds on count too, from `/` (the official
    image sets no WORKDIR); without, only the stage's own WORKDIRs, from a folder not known.
    """
    if inherit:
        return _point(doc, stage, before).workdir
    current: str | None = None
    for inst in stage.instructions:
        if inst is before:
            return current
        current = next_workdir(current, inst)
    return current


def is_root(user: str | None) -> bool:
    return user is None or user.lower() in ROOT_USERS or user.split(":")[0] in ("root", "0")


def last_instruction(stage: Stage, *names: str) -> Instruction | None:
    return next((inst for inst in reversed(stage.instructions) if inst.name in names), None)


def runtime_boundary(stage: Stage) -> Instruction:
    """The instruction after which runtime settings (USER, NODE_ENV) go: the last build step.

    Placing them after every RUN, COPY and ADD of the stage means no build step changes: the
    steps run as before, with the same user and environment; only the running app sees them.
    """
    return last_instruction(stage, "RUN", "COPY", "ADD") or stage.from_instruction


def start_instructions(stage: Stage) -> tuple[Instruction | None, Instruction | None]:
    """The last ENTRYPOINT and CMD of the stage (the ones that take effect)."""
    return last_instruction(stage, "ENTRYPOINT"), last_instruction(stage, "CMD")


def start_commands(stage: Stage) -> list[list[str]]:
    """The argv of the stage's effective ENTRYPOINT and CMD, those it has."""
    return [inst.words for inst in start_instructions(stage) if inst is not None]


def copies_file(doc: Document, stage: Stage, name: str, before: Instruction | None, ignored: bool = False) -> bool:
    """Whether a COPY/ADD from the build context before `before` (None: anywhere) brings `name` (a root file) in."""
    if ignored:
        return False
    for inst in stage.instructions:
        if inst is before:
            break
        if inst.name not in ("COPY", "ADD") or inst.flag("from") is not None:
            continue
        sources = inst.words[:-1]
        for source in sources:
            source = source.lstrip("./") if source not in (".", "./") else "."
            if source in (".", "") or (source.endswith("/") and source.strip("/") == ""):
                return True
            if fnmatch.fnmatchcase(name, source):
                return True
    return False


def run_commands(doc: Document, stage: Stage) -> Iterator[tuple[Instruction, Script, Command]]:
    """(instruction, script, command) for every shell command of every RUN in the stage."""
    for inst in stage.instructions:
        for script in inst.scripts:
            for command in script.commands:
                yield inst, script, command


_DEV_WORDS = re.compile(
    r"(?:^|[^a-z])(dev|devel|development|develop|test|tests|testing|debug|ci|e2e|local)(?:[^a-z]|$)"
)
_DEV_COMMANDS = (
    ("nodemon",),
    ("ng", "serve"),
    ("next", "dev"),
    ("vite",),
    ("webpack-dev-server",),
    ("react-scripts", "start"),
    ("npm", "run", "dev"),
    ("yarn", "dev"),
    ("pnpm", "dev"),
    ("npm", "run", "watch"),
    ("ts-node-dev",),
    ("jest",),
    ("npm", "test"),
    ("yarn", "test"),
)


def is_development_image(doc: Document, stage: Stage, dockerfile_name: str) -> bool:
    """A development, test or debug image: production settings would defeat its purpose."""
    if _DEV_WORDS.search(dockerfile_name.lower().replace("dockerfile", " ")):
        return True
    if stage.alias and _DEV_WORDS.search(stage.alias.lower()):
        return True
    for argv in start_commands(stage):
        words = _command_words(argv)
        for pattern in _DEV_COMMANDS:
            for i in range(len(words)):
                if tuple(words[i : i + len(pattern)]) == pattern:
                    return True
    return False


def _command_words(argv: list[str]) -> list[str]:
    """The words of a start command as the commands they name: a package binary by its name
    (`node_modules/.bin/nodemon` is `nodemon`), and the words of the script a shell runs with
    `-c` (exec form `["sh", "-c", "npm install && npm run dev"]` reads as its shell form does)."""
    words: list[str] = []
    for index, word in enumerate(argv):
        words.append(word.rpartition("node_modules/.bin/")[2] or word)
        if word == "-c" and index and argv[index - 1].rsplit("/", 1)[-1] in SHELLS and index + 1 < len(argv):
            words += _command_words(shell_words(argv[index + 1], raw_quotes=False))
    return words


def is_development_script_name(name: str) -> bool:
    """A package.json script named for development (`dev`, `start:dev`, `watch`, `test:e2e`).

    `serve` is no evidence: it is as often a static server of the built app (`serve -s build`)
    as a dev server; what the script runs decides then.
    """
    return bool(_DEV_WORDS.search(name.lower()) or re.search(r"(?:^|[^a-z])watch(?:[^a-z]|$)", name.lower()))


# Dev servers and watchers: binary -> the first positional words (or flags) that make it one.
# An empty tuple of words means the binary is a dev server whatever it is asked to do.
_DEV_SERVERS: dict[str, tuple[tuple[str, ...], ...]] = {
    "nodemon": ((),),
    "ts-node-dev": ((),),
    "tsnd": ((),),
    "node-dev": ((),),
    "webpack-dev-server": ((),),
    "next": (("dev",),),
    "vite": (("",), ("dev",), ("serve",)),
    "webpack": (("serve",), ("--watch",), ("-w",)),
    "ng": (("serve",), ("s",), ("test",), ("e2e",)),
    "react-scripts": (("start",), ("test",)),
    "react-app-rewired": (("start",), ("test",)),
    "craco": (("start",), ("test",)),
    "vue-cli-service": (("serve",), ("test:unit",), ("test:e2e",)),
    "nuxt": (("",), ("dev",)),
    "nuxi": (("dev",),),
    "gatsby": (("develop",),),
    "astro": (("dev",),),
    "remix": (("dev",),),
    "svelte-kit": (("dev",),),
    "ember": (("serve",), ("s",), ("server",), ("test",)),
    "parcel": (("",), ("serve",), ("watch",)),
    "nest": (("--watch",), ("-w",)),
    "tsc": (("--watch",), ("-w",)),
    "tsx": (("watch",),),
    "node": (("--watch",), ("--test",)),
    "strapi": (("develop",), ("dev",)),
}
# Test runners as the command: a test or CI image.
_TEST_RUNNERS = ("jest", "mocha", "vitest", "karma", "ava", "tap", "cypress", "playwright", "wdio", "nyc", "c8")


def development_command(argv: list[str]) -> str | None:
    """`next dev`, `nodemon`, `jest`...: the dev server, watcher or test runner a command is, if any."""
    if not argv:
        return None
    binary = argv[0].rsplit("/", 1)[-1]
    args = argv[1:]
    if binary in _TEST_RUNNERS:
        return binary
    if binary in PACKAGE_MANAGERS and args[:1] == ["test"]:
        return f"{binary} test"
    patterns = _DEV_SERVERS.get(binary)
    if patterns is None:
        return None
    positional = [w for w in args if not w.startswith("-")]
    flags = [w.split("=", 1)[0] for w in args if w.startswith("-")]
    for pattern in patterns:
        if not pattern:
            return binary
        word = pattern[0]
        if word == "" and not (positional and positional[0] in ("build", "generate", "start", "preview")):
            return binary  # `vite`, `nuxt`, `parcel index.html`: the default command serves
        if word.startswith("-") and word in flags:
            return f"{binary} {word}"
        if positional[:1] == [word]:
            return f"{binary} {word}"
    return None


def effective_start_instructions(doc: Document, stage: Stage) -> tuple[Instruction | None, Instruction | None]:
    """The ENTRYPOINT and CMD the image runs with, set in the stage or inherited from the stages it builds on.

    An ENTRYPOINT set in a later stage than the CMD resets it, as Docker does with a CMD that
    comes from the base image.
    """
    entrypoint = cmd = None
    entrypoint_depth = cmd_depth = None
    for depth, member in enumerate(stage_chain(doc, stage)):
        own_entrypoint, own_cmd = start_instructions(member)
        if entrypoint is None and own_entrypoint is not None:
            entrypoint, entrypoint_depth = own_entrypoint, depth
        if cmd is None and own_cmd is not None:
            cmd, cmd_depth = own_cmd, depth
    if entrypoint_depth is not None and cmd_depth is not None and cmd_depth > entrypoint_depth:
        cmd = None
    return entrypoint, cmd


def has_start_command(doc: Document, stage: Stage) -> bool:
    """Whether the image has a command of its own; without one it runs the node image's `node` prompt."""
    entrypoint, cmd = effective_start_instructions(doc, stage)
    return any(inst is not None and inst.words for inst in (entrypoint, cmd))


# Cypress and Playwright's test runner exist to run tests (Playwright's browsers alone may serve a
# production scraper, so they are no evidence).
_TEST_TOOLS = ("cypress", "@playwright/test")


def test_tooling(doc: Document, stage: Stage) -> str | None:
    """Cypress or Playwright's test runner installed or run in the image: a base image for end-to-end tests."""
    for member in stage_chain(doc, stage):
        for _, _, command in run_commands(doc, member):
            words = [w.text for w in command.args]
            installs = command.name in PACKAGE_MANAGERS and any(w in ("install", "i", "add", "ci") for w in words)
            runs = command.name in ("npx", "cypress")
            for word in words if installs or runs else []:
                name = word.rsplit("@", 1)[0] if word.count("@") > (1 if word.startswith("@") else 0) else word
                if name in _TEST_TOOLS:
                    return name
            if command.name == "cypress":
                return "cypress"
    return None


def privileged_ports(stage: Stage) -> list[int]:
    """Ports below 1024 the stage says it listens on (EXPOSE, or a PORT variable)."""
    ports: list[int] = []
    for inst in stage.instructions:
        words: list[str] = []
        if inst.name == "EXPOSE":
            words = [w.split("/")[0] for w in inst.args.split()]
        elif inst.name in ("ENV", "ARG"):
            text = inst.args.replace("=", " ").split()
            words = [text[i + 1] for i, w in enumerate(text[:-1]) if w.upper().endswith("PORT")]
        ports.extend(int(w) for w in words if w.isdigit() and 0 < int(w) < 1024)
    return ports


def copies_app_files(inst: Instruction, stage_names: set[str]) -> bool:
    """COPY/ADD of the app's files: from the context or an earlier stage, not into system folders."""
    source_stage = inst.flag("from")
    if source_stage is not None and (source_stage.value or "").lower() not in stage_names:
        return False  # files out of another image (tools, binaries) keep their owner
    words = inst.words
    if len(words) < 2:
        return False
    destination = words[-1].rstrip("/") or "/"
    system_roots = (
        "/",
        "/bin",
        "/sbin",
        "/usr",
        "/usr/bin",
        "/usr/sbin",
        "/usr/lib",
        "/usr/local",
        "/usr/local/bin",
        "/usr/local/lib",
        "/etc",
        "/lib",
        "/root",
        "/tmp",
        "/opt",
        "/var",
    )
    system_trees = (
        "/bin/",
        "/sbin/",
        "/usr/bin/",
        "/usr/sbin/",
        "/usr/lib/",
        "/usr/local/bin/",
        "/usr/local/lib/",
        "/usr/share/",
        "/etc/",
        "/lib/",
        "/root/",
        "/tmp/",
    )
    return not (destination in system_roots or destination.startswith(system_trees))
