"""The real-image guard: would this Dockerfile still build and start on the official node images?

Like black's check that its output means what its input meant, the pipeline asks, after every
pass, whether the fixes made the file name something the real images do not have: a tag the
registry does not serve, a package manager that is not on the PATH of that major, an npm command
that major's npm refuses (`npm cache clean` without --force, a setting npm 9 dropped, `npm bin`), a
native package whose version has no build for that major (node-sass 4, grpc), a command or a
package of the other distribution, a command the Debian release dropped (`apt-key` in trixie),
`apt-get` on a release whose repositories are archived, node_modules with native addons carried
between musl and glibc, a start binary that was left in another stage, a `RUN --mount` under a
`# syntax` frontend that refuses it. Commands are read through
the wrappers that run them (`gosu node yarn`, `su -c '...'`, `sh -c '...'`: dockerfile.wrappers).
Only problems the fixes introduce count: a file that was already broken in some way is not the
fixes' doing, and is not refused for it; a fix that adds a second `apt-get update` to an archived
release adds a problem, and is.

The facts come from `sources.images` and `sources.npm_cli` (and the tables of data/SOURCES.md);
the checks read the document and the project only.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from datetime import date

from .dockerfile.document import DockerfileSyntaxError, Document, Instruction, Stage
from .dockerfile.frontend import run_mount_refused
from .dockerfile.stages import (
    copied_stages,
    external_base,
    is_node_image,
    runtime_node_major,
    split_image,
    stage_chain,
)
from .dockerfile.wrappers import commands_run
from .project.build_context import Project
from .sources.images import (
    DEBIAN_RELEASES,
    FULL_IMAGE_TOOLS,
    MalformedTag,
    NodeImages,
    NodeTag,
    Variant,
    alpine_package_available,
    bundles_corepack,
    bundles_yarn,
    debian_command_dropped,
    debian_package_available,
    debian_repositories_archived,
)
from .sources.npm_cli import bundled_npm_major, native_builds, rejected_command, unbuilt_version

# Package managers a stage may run, and the commands that put them on the PATH.
MANAGER_COMMANDS = {"yarn": "yarn", "yarnpkg": "yarn", "pnpm": "pnpm", "pnpx": "pnpm", "corepack": "corepack"}
# The instructions the checks of a stage chain read: those that run something, and ADD (downloads).
_CHECKED = frozenset({"RUN", "CMD", "ENTRYPOINT", "SHELL", "ADD"})
_DEBIAN_ONLY = frozenset({"apt-get", "apt", "dpkg", "aptitude", "useradd", "groupadd", "usermod"})
# Downloads of binaries linked against glibc: tini's default build (the static and muslc builds run
# anywhere), PhantomJS (also what the phantomjs npm packages fetch at install).
_GLIBC_DOWNLOADS = re.compile(r"(?i)/tini(?!-static|-muslc)[^/]*$|phantomjs")
_GLIBC_NPM_PACKAGES = frozenset({"phantomjs", "phantomjs-prebuilt"})


@dataclass(frozen=True, slots=True)
class Problem:
    """Something the real images lack. `message` names no line, so input and output compare."""

    line: int
    message: str


@dataclass(frozen=True, slots=True)
class StageImage:
    """What a stage stands on, as far as the model can tell."""

    major: int | None  # the Node.js major; None when not a node image or not known
    variant: Variant | None


def stage_image(doc: Document, stage: Stage, images: NodeImages, today: date) -> StageImage:
    return base_image(external_base(doc, stage), images, today)


def base_image(base: str, images: NodeImages, today: date) -> StageImage:
    """What an image reference (`node:22-alpine`) is, as far as the model can tell."""
    if "$" in base or not is_node_image(base):
        return StageImage(None, None)
    _, tag = split_image(base)
    try:
        parsed = NodeTag.parse(tag)
    except MalformedTag:
        return StageImage(None, None)
    major = parsed.major if parsed.major is not None else images.floating_major(parsed.floating, today)
    return StageImage(major, images.variant(tag, today))


class CheckFacts:
    """What the checks work out from the project, the model of the images and the instructions'
    own text, whatever document they stand in: a judge keeps one for all the texts of a file it
    judges (the candidates of the tag planning differ from the file in a line or two)."""

    def __init__(self, project: Project, images: NodeImages, today: date):
        self.project = project
        self.images = images
        self.today = today
        # `_commands` of each instruction by its logical line (those with heredocs are read anew).
        self.commands: dict[bytes, list[list[str]]] = {}
        self._images: dict[str, StageImage] = {}
        self._unbuilt: dict[int, list[str]] = {}

    def stage_image(self, doc: Document, stage: Stage) -> StageImage:
        """`stage_image`, worked out once for each base image named."""
        base = external_base(doc, stage)
        image = self._images.get(base)
        if image is None:
            image = self._images[base] = base_image(base, self.images, self.today)
        return image

    def unbuilt_natives(self, major: int) -> list[str]:
        """Why each native package the project installs has no build for Node.js `major`."""
        found = self._unbuilt.get(major)
        if found is None:
            found = self._unbuilt[major] = _unbuilt_natives(self.project, major)
        return found


def check(
    doc: Document, project: Project, images: NodeImages, today: date, facts: CheckFacts | None = None
) -> list[Problem]:
    """Every problem of the document against the model of the real images; `facts`, those kept
    from the texts judged before (for the same project, images and day)."""
    if facts is None:
        facts = CheckFacts(project, images, today)
    _runs_by_stage(doc, facts.commands)
    problems: list[Problem] = []
    seen_tags: set[int] = set()
    for stage in doc.stages:
        image = facts.stage_image(doc, stage)
        problems.extend(_tag_problems(doc, stage, images, today, seen_tags))
        problems.extend(_tool_problems(doc, stage, image))
        problems.extend(_npm_problems(doc, stage, image))
        if image.variant is not None:
            problems.extend(_distro_problems(doc, stage, image.variant))
            problems.extend(_debian_release_problems(doc, stage, image.variant, today))
        problems.extend(_native_package_problems(doc, stage, image, facts))
        problems.extend(_libc_problems(doc, stage, image, facts))
        problems.extend(_major_problems(doc, stage, image, facts))
        if image.variant is not None and not image.variant.has_build_tools:
            compiled = project.native_addons(image.variant.libc, compiled=True)
            if compiled:
                problems.extend(_native_build_problems(doc, stage, image.variant, compiled))
        problems.extend(_start_binary_problems(doc, stage))
    problems.extend(_frontend_problems(doc))
    return problems


def _frontend_problems(doc: Document) -> list[Problem]:
    """A `RUN --mount` under a `# syntax` frontend that refuses it (one older than 1.2, or one not known)."""
    refused = run_mount_refused(doc)
    if refused is None:
        return []
    return [
        Problem(inst.line, f"`RUN --mount` cannot be built: {refused}")
        for inst in doc.instructions
        if inst.name == "RUN" and inst.flag("mount") is not None
    ]


class RealImageJudge:
    """`check` for one Dockerfile's check: its project, images and day, and the problems of each
    text of the file it has judged.

    A check owns one (RuleContext.real_images): the pipeline's passes and the tag planning of
    DF001/DF007 ask about the same texts, the original first of all, and each is judged once.
    """

    def __init__(self, project: Project, images: NodeImages, today: date):
        self.project = project
        self.images = images
        self.today = today
        self._judged: dict[bytes, tuple[Problem, ...]] = {}
        self._facts = CheckFacts(project, images, today)

    def problems(self, doc: Document) -> list[Problem]:
        known = self._judged.get(doc.source)
        if known is None:
            known = tuple(check(doc, self.project, self.images, self.today, self._facts))
            self._judged[doc.source] = known
        return list(known)

    def stage_image(self, doc: Document, stage: Stage) -> StageImage:
        """`stage_image`, worked out once for each base image the texts of the file name."""
        return self._facts.stage_image(doc, stage)

    def problems_of_text(self, source: bytes) -> list[Problem] | None:
        """`problems` of the document a text parses to (a candidate of the tag planning), parsed
        only when the text was not judged yet; None when it does not parse."""
        known = self._judged.get(source)
        if known is not None:
            return list(known)
        try:
            doc = Document.parse(source)
        except (DockerfileSyntaxError, ValueError):
            return None
        return None if doc.errors else self.problems(doc)


def introduced(before: list[Problem], after: list[Problem]) -> list[Problem]:
    """The problems of `after` that `before` did not have (as many times as they are new)."""
    remaining = Counter(p.message for p in before)
    new = []
    for problem in after:
        if remaining[problem.message] > 0:
            remaining[problem.message] -= 1
        else:
            new.append(problem)
    return new


def _tag_problems(doc: Document, stage: Stage, images: NodeImages, today: date, seen: set[int]) -> list[Problem]:
    if not stage.is_external:
        return []
    base = stage.resolved_base or stage.base
    if "$" in base or not is_node_image(base):
        return []
    _, tag = split_image(base)
    if tag is None:
        return []
    try:
        NodeTag.parse(tag)
    except MalformedTag as error:
        return [Problem(stage.from_instruction.line, f"{error}: node:{tag}")]
    if images.tag_exists(tag, today) is False:
        return [Problem(stage.from_instruction.line, f"`node:{tag}` is not a tag of the official node image")]
    return []


def _commands(doc: Document, inst: Instruction) -> list[list[str]]:
    """Every command the instruction runs, read through the wrappers that run it (`gosu node
    yarn`, `su -c '...'`, `sh -c '...'`, `dumb-init --`): the wrapper and what it runs."""
    if inst.name == "SHELL" and inst.is_json_form:
        return [inst.words[:1]]
    if inst.name not in ("RUN", "CMD", "ENTRYPOINT"):
        return []
    written = [inst.words] if inst.is_json_form else [command.argv for command in inst.commands]
    return [argv for command in written for argv in commands_run(command)]


def _runs_by_stage(
    doc: Document, known: dict[bytes, list[list[str]]] | None = None
) -> list[list[tuple[Instruction, list[list[str]]]]]:
    """For each stage, its instructions the checks read (`_CHECKED`), with `_commands` of each,
    read once per document: the checks walk every stage's whole chain, and reading each
    instruction's commands again on every walk made chained stages cost the square. Those of an
    instruction whose logical line is in `known` are taken from there (they depend on nothing
    else), and the others are added to it."""
    return doc.derived(_read_runs, {} if known is None else known)


def _read_runs(doc: Document, known: dict[bytes, list[list[str]]]) -> list[list[tuple[Instruction, list[list[str]]]]]:
    return [
        [(inst, _known_commands(doc, inst, known)) for inst in stage.instructions if inst.name in _CHECKED]
        for stage in doc.stages
    ]


def _known_commands(doc: Document, inst: Instruction, known: dict[bytes, list[list[str]]]) -> list[list[str]]:
    if inst.heredocs:
        return _commands(doc, inst)
    commands = known.get(inst.logical)
    if commands is None:
        commands = known[inst.logical] = _commands(doc, inst)
    return commands


def _global_installs(argv: list[str]) -> set[str]:
    """Package names a command installs globally (`npm install -g yarn@1` -> {"yarn"})."""
    if len(argv) < 3 or argv[0] != "npm" or argv[1] not in ("install", "i", "add"):
        return set()
    if not any(a in ("-g", "--global", "--location=global") for a in argv[2:]):
        return set()
    names = set()
    for word in argv[2:]:
        if word.startswith("-"):
            continue
        names.add(word.rsplit("@", 1)[0] if not word.startswith("@") or word.count("@") > 1 else word)
    return names


def _tool_problems(doc: Document, stage: Stage, image: StageImage) -> list[Problem]:
    """A package manager used where it is not on the PATH of that major."""
    if image.major is None:
        return []
    return [
        Problem(
            inst.line,
            f"`{command}` is not on the PATH of the Node.js {image.major} image ({_why_missing(tool, image.major)})",
        )
        for tool, (inst, command) in missing_tools(doc, stage, image.major).items()
    ]


def _npm_problems(doc: Document, stage: Stage, image: StageImage) -> list[Problem]:
    """An npm command the npm of that major refuses (`npm cache clean` without --force on npm 5+)."""
    if image.major is None:
        return []
    npm_major = bundled_npm_major(image.major)
    problems = []
    for inst, commands in _runs_by_stage(doc)[stage.index]:
        for argv in commands:
            why = rejected_command(argv, npm_major)
            if why is not None:
                problems.append(Problem(inst.line, f"{why}, and the Node.js {image.major} image has npm {npm_major}"))
    return problems


def missing_tools(
    doc: Document, stage: Stage, major: int, *, inherited: bool = False
) -> dict[str, tuple[Instruction, str]]:
    """The package managers (yarn, corepack, pnpm) the stage runs where the Node.js `major` image
    does not have them, with the first instruction and command that does. With `inherited`, uses
    in the stages it builds on count too."""
    parent = stage.parent_stage
    tools = _Tools.of_image(major) if parent is None else _chain_folds(doc).tools(major, inherited)[parent].copy()
    tools.take(_runs_by_stage(doc)[stage.index], record=True)
    return tools.missing


@dataclass(slots=True)
class _Tools:
    """The package managers on the PATH so far, walking a stage chain, and those used without."""

    have: dict[str, bool]
    missing: dict[str, tuple[Instruction, str]]

    @classmethod
    def of_image(cls, major: int) -> _Tools:
        return cls({"yarn": bundles_yarn(major), "corepack": bundles_corepack(major), "pnpm": False}, {})

    def copy(self) -> _Tools:
        return _Tools(dict(self.have), dict(self.missing))

    def take(self, runs: list[tuple[Instruction, list[list[str]]]], *, record: bool) -> None:
        """Walk one stage's commands; `record`: note the tools it uses without having them."""
        have = self.have
        for inst, commands in runs:
            for argv in commands:
                if not argv:
                    continue
                tool = MANAGER_COMMANDS.get(argv[0].rsplit("/", 1)[-1])
                if tool is not None and not have[tool] and not (tool == "corepack" and argv[1:2] == ["install"]):
                    if record:
                        self.missing[tool] = (inst, argv[0])
                    have[tool] = True  # one report per tool and stage
                installed = _global_installs(argv)
                for name in ("yarn", "corepack", "pnpm"):
                    if name in installed:
                        have[name] = True
                if "corepack" in installed:
                    # the npm package puts its yarn and pnpm shims on the PATH too
                    have["yarn"] = have["pnpm"] = True
                if argv[:2] == ["corepack", "enable"] and have["corepack"]:
                    have["yarn"] = have["pnpm"] = True
                if argv[0] in ("apk", "apt-get", "apt") and "yarn" in argv[2:]:
                    have["yarn"] = True
                if any("get.pnpm.io" in word for word in argv):
                    have["pnpm"] = True


@dataclass(slots=True)
class _Distro:
    """What the image has so far, walking a stage chain: packages installed, tools still lacking."""

    has_shadow: bool
    installed: set[str]
    lacking: dict[str, frozenset[str]]

    @classmethod
    def of_image(cls, variant: Variant) -> _Distro:
        lacking = {} if variant.has_build_tools else dict(FULL_IMAGE_TOOLS)
        if variant.distro == "alpine":
            lacking.pop("wget", None)
            lacking["bash"] = frozenset({"bash"})  # busybox has only sh
        return cls(False, set(), lacking)

    def copy(self) -> _Distro:
        return _Distro(self.has_shadow, set(self.installed), dict(self.lacking))

    def take(self, argv: list[str]) -> bool:
        """Take one command; whether it runs a tool the image lacks (reported once)."""
        name = argv[0].rsplit("/", 1)[-1]
        packages = _installed_packages(argv)
        if name == "apk" and "shadow" in packages:
            self.has_shadow = True
        self.installed.update(packages)
        if name in self.lacking and not (self.lacking[name] & self.installed):
            self.lacking.pop(name)
            return True
        return False

    def take_stage(self, runs: list[tuple[Instruction, list[list[str]]]]) -> None:
        for _inst, commands in runs:
            for argv in commands:
                if argv:
                    self.take(argv)


class _ChainFolds:
    """What each stage's chain leaves behind, for each question asked of a document: each stage
    starts from its parent's end, so the checks walk every instruction once, not once per stage
    built on it."""

    def __init__(self, doc: Document) -> None:
        self.doc = doc
        self._tools: dict[tuple[int, bool], list[_Tools]] = {}
        self._distros: dict[Variant, list[_Distro]] = {}
        self._archive: list[bool] | None = None

    def tools(self, major: int, inherited: bool) -> list[_Tools]:
        ends = self._tools.get((major, inherited))
        if ends is None:
            ends = self._tools[(major, inherited)] = []
            runs = _runs_by_stage(self.doc)
            for stage in self.doc.stages:
                parent = stage.parent_stage
                tools = _Tools.of_image(major) if parent is None else ends[parent].copy()
                tools.take(runs[stage.index], record=inherited)
                ends.append(tools)
        return ends

    def points_at_archive(self) -> list[bool]:
        """Whether a RUN of each stage's chain points apt at archive.debian.org."""
        if self._archive is None:
            self._archive = []
            runs = _runs_by_stage(self.doc)
            for stage in self.doc.stages:
                parent = stage.parent_stage
                own = any(_points_at_archive(inst) for inst, _ in runs[stage.index])
                self._archive.append(own or (parent is not None and self._archive[parent]))
        return self._archive

    def distros(self, variant: Variant) -> list[_Distro]:
        ends = self._distros.get(variant)
        if ends is None:
            ends = self._distros[variant] = []
            runs = _runs_by_stage(self.doc)
            for stage in self.doc.stages:
                parent = stage.parent_stage
                distro = _Distro.of_image(variant) if parent is None else ends[parent].copy()
                distro.take_stage(runs[stage.index])
                ends.append(distro)
        return ends


def _points_at_archive(inst: Instruction) -> bool:
    return inst.name == "RUN" and "archive.debian.org" in inst.args


def _chain_folds(doc: Document) -> _ChainFolds:
    return doc.derived(_ChainFolds)


def _why_missing(tool: str, major: int) -> str:
    if tool == "yarn":
        return "the images of Node.js 26 and later no longer bundle Yarn v1"
    if tool == "corepack":
        return "Node.js 25 and later no longer ship Corepack"
    return "pnpm is never bundled: install it or enable it through Corepack"


def _distro_problems(doc: Document, stage: Stage, variant: Variant) -> list[Problem]:
    problems = []
    parent = stage.parent_stage
    distro = _Distro.of_image(variant) if parent is None else _chain_folds(doc).distros(variant)[parent].copy()
    for inst, commands in _runs_by_stage(doc)[stage.index]:
        for argv in commands:
            if not argv:
                continue
            name = argv[0].rsplit("/", 1)[-1]
            if distro.take(argv):
                kind = "alpine" if variant.distro == "alpine" else "slim"
                problems.append(Problem(inst.line, f"`{name}` is not in the {kind} node image (install it first)"))
            problems.extend(_command_distro_problems(inst, argv, name, variant, distro.has_shadow))
        if inst.name == "ADD" and variant.distro == "alpine":
            for source in inst.words[:-1]:
                if source.startswith(("http://", "https://")) and _GLIBC_DOWNLOADS.search(source):
                    problems.append(
                        Problem(
                            inst.line, f"`{source.rsplit('/', 1)[-1]}` is a glibc binary: it does not run on Alpine"
                        )
                    )
    return problems


def _command_distro_problems(
    inst: Instruction, argv: list[str], name: str, variant: Variant, has_shadow: bool
) -> list[Problem]:
    """What one command of the stage runs that its distribution lacks or refuses."""
    problems = []
    if variant.distro == "alpine" and _global_installs(argv) & _GLIBC_NPM_PACKAGES:
        problems.append(Problem(inst.line, "PhantomJS is a glibc binary: it does not run on Alpine"))
    if variant.distro == "alpine" and name in _DEBIAN_ONLY:
        if name not in ("useradd", "groupadd", "usermod") or not has_shadow:
            problems.append(Problem(inst.line, f"`{name}` does not exist on Alpine (busybox and apk)"))
    elif variant.distro == "debian" and name == "apk":
        problems.append(Problem(inst.line, "`apk` does not exist on Debian (apt-get)"))
    elif name in ("apt-get", "apt") and variant.distro == "debian":
        for package in _installed_packages(argv):
            if debian_package_available(package, variant.release) is False:
                problems.append(Problem(inst.line, f"Debian {variant.release} has no package `{package}`"))
    elif name == "apk" and variant.distro == "alpine":
        for package in _installed_packages(argv):
            if alpine_package_available(package, variant.release) is False:
                problems.append(Problem(inst.line, f"Alpine {variant.release} has no package `{package}`"))
    return problems


def _debian_release_problems(doc: Document, stage: Stage, variant: Variant, today: date) -> list[Problem]:
    """What a Debian release can no longer do: fetch packages once its repositories are archived
    (unless the file points apt at archive.debian.org), run a command the release dropped."""
    if variant.distro != "debian" or variant.release is None:
        return []
    parent = stage.parent_stage
    archived = debian_repositories_archived(variant.release, today) and not (
        parent is not None and _chain_folds(doc).points_at_archive()[parent]
    )
    problems = []
    for inst, commands in _runs_by_stage(doc)[stage.index]:
        if archived and _points_at_archive(inst):
            archived = False
        for argv in commands:
            name = argv[0].rsplit("/", 1)[-1]
            dropped = debian_command_dropped(name, variant.release)
            if dropped is not None:
                number = DEBIAN_RELEASES[dropped][0]
                problems.append(
                    Problem(inst.line, f"`{name}` is not in Debian {variant.release} (Debian {number} removed it)")
                )
            step = next((word for word in argv[1:] if word in ("update", "install")), None)
            if archived and name in ("apt-get", "apt") and step is not None:
                problems.append(
                    Problem(
                        inst.line,
                        f"`{name} {step}` fails on Debian {variant.release}: its repositories moved to"
                        " archive.debian.org",
                    )
                )
    return problems


def _native_package_problems(doc: Document, stage: Stage, image: StageImage, facts: CheckFacts) -> list[Problem]:
    """Native packages the stage installs in a version with no build for its Node.js major."""
    runs = _runs_by_stage(doc)[stage.index]
    install = next((inst for inst, commands in runs if any(map(_runs_install, commands))), None)
    if image.major is None or install is None:
        return []
    return [Problem(install.line, message) for message in facts.unbuilt_natives(image.major)]


def _unbuilt_natives(project: Project, major: int) -> list[str]:
    """What `_native_package_problems` says of each native package with no build for `major`."""
    declared = {
        **project.dev_dependencies,
        **project.dependencies("optionalDependencies"),
        **project.dependencies(),
    }
    locked = project.locked_versions(native_builds().keys())
    messages = []
    for name, entry in native_builds().items():
        found = unbuilt_version(name, major, locked.get(name, []), declared.get(name))
        if found is None:
            continue
        version, first = found
        why = f"its first version with one is {first}" if first is not None else f"no version has one: {entry.instead}"
        messages.append(f"`{name}@{version}` has no build for Node.js {major} ({why})")
    return messages


def _runs_install(argv: list[str]) -> bool:
    return tuple(argv[:2]) in _INSTALLS or argv == ["yarn"]


def _installed_packages(argv: list[str]) -> list[str]:
    """The packages of `apt-get install ...` / `apk add ...` (versions and flags dropped)."""
    name = argv[0].rsplit("/", 1)[-1]
    if name in ("apt-get", "apt") and "install" in argv:
        words = argv[argv.index("install") + 1 :]
    elif name == "apk" and "add" in argv:
        words = argv[argv.index("add") + 1 :]
    else:
        return []
    return [w.split("=", 1)[0] for w in words if not w.startswith("-") and "$" not in w]


def _libc_problems(doc: Document, stage: Stage, image: StageImage, facts: CheckFacts) -> list[Problem]:
    """node_modules with native addons copied between a musl and a glibc stage."""
    if image.variant is None:
        return []
    problems = []
    for inst, source in copied_stages(doc, stage):
        other = facts.stage_image(doc, source)
        if other.variant is None or other.variant.libc == image.variant.libc:
            continue
        # What npm installed where they were built: a prebuilt binary for another libc is skipped.
        natives = facts.project.native_addons(other.variant.libc)
        if not natives:
            continue
        problems.append(
            Problem(
                inst.line,
                f"node_modules built on {other.variant.libc} are copied into a {image.variant.libc} stage,"
                f" and the project has native addons ({', '.join(natives[:3])}) that do not run there",
            )
        )
    return problems


def _major_problems(doc: Document, stage: Stage, image: StageImage, facts: CheckFacts) -> list[Problem]:
    """Files built on one Node.js major copied into a stage that runs another: a node stage, or a
    Node.js runtime image such as distroless's."""
    base = external_base(doc, stage)
    runs = image.major if image.major is not None else runtime_node_major(base)
    if runs is None:
        return []
    problems = []
    for inst, source in copied_stages(doc, stage):
        built_on = facts.stage_image(doc, source).major
        if built_on is not None and built_on != runs:
            problems.append(
                Problem(
                    inst.line,
                    f"files built on Node.js {built_on} are copied into a stage that runs Node.js {runs}"
                    f" ({base.split('@')[0]}): native addons and engine checks must match the major that runs them",
                )
            )
    return problems


_INSTALLS = {("npm", "install"), ("npm", "i"), ("npm", "ci"), ("yarn", "install"), ("pnpm", "install")}


def _native_build_problems(doc: Document, stage: Stage, variant: Variant, natives: list[str]) -> list[Problem]:
    """Dependencies with native addons installed where node-gyp has no compiler to fall back on."""
    installed: set[str] = set()
    runs = _runs_by_stage(doc)
    for member in reversed(stage_chain(doc, stage)):
        for inst, commands in runs[member.index]:
            for argv in commands:
                installed.update(_installed_packages(argv))
                bare_yarn = argv == ["yarn"]
                if (tuple(argv[:2]) in _INSTALLS or bare_yarn) and member is stage:
                    if {"g++", "build-essential", "build-base"} & installed:
                        return []
                    kind = "alpine" if variant.distro == "alpine" else "slim"
                    return [
                        Problem(
                            inst.line,
                            f"the dependencies have native addons ({', '.join(natives[:3])}) and the {kind} node"
                            " image has no python3, make or g++ to build them",
                        )
                    ]
    return []


def _start_binary_problems(doc: Document, stage: Stage) -> list[Problem]:
    """An absolute start binary (`ENTRYPOINT ["/tini", ...]`) that only another stage has."""
    problems = []
    for inst in stage.instructions:
        if inst.name not in ("ENTRYPOINT", "CMD") or not inst.is_json_form or not inst.words:
            continue
        binary = inst.words[0]
        if not binary.startswith("/") or binary.startswith(("/usr/", "/bin/", "/sbin/")):
            continue
        chain = {member.index for member in stage_chain(doc, stage)}
        elsewhere = [s for s in doc.stages if s.index not in chain and _adds(s, binary)]
        here = any(
            _adds(member, binary) or _copies_from_other_stage(member, binary) for member in stage_chain(doc, stage)
        )
        if elsewhere and not here:
            problems.append(Problem(inst.line, f"the start binary {binary} is added in another stage, not in this one"))
    return problems


def _adds(stage: Stage, path: str) -> bool:
    return any(inst.name in ("ADD", "COPY") and inst.words and inst.words[-1] == path for inst in stage.instructions)


def _copies_from_other_stage(stage: Stage, path: str) -> bool:
    return any(
        inst.name == "COPY" and inst.flag("from") is not None and inst.words and inst.words[-1] in (path, "/")
        for inst in stage.instructions
    )
