"""What the repository's files say the container does when it runs: root it needs, folders it writes.

A Dockerfile alone does not say how its image runs; the compose service that builds it and the
entry script it copies in do. Read here, never executed:

- a compose service built from the Dockerfile that grants capabilities (`cap_add`), runs
  `privileged` or as `user: root`;
- the commands the container runs when it starts: its ENTRYPOINT and CMD (through the
  package.json scripts they call), the service's `command` and `entrypoint`, and the shell
  scripts among them that a COPY or ADD brings in from the build context, read through the
  project. A command that only root may run (`mount`, `iptables`, `ip link set`, `sysctl -w`,
  `modprobe`, `setcap`, a package install with apt-get or apk) or that writes under a system
  folder (`mkdir -p /mnt/data`, `> /etc/hosts`, `chown ... /var/run/x`) needs root;
- the folders the app writes: the targets of the service's volumes, and the folders the
  Dockerfile creates as root for the app to write (`RUN mkdir -p /app/uploads`).
"""

from __future__ import annotations

import fnmatch
import os
import posixpath
import re
from collections.abc import Iterator
from dataclasses import dataclass

from ..dockerfile.document import Document, Instruction, Stage
from ..dockerfile.shell import SHELLS, Command, commands_in
from ..dockerfile.stages import (
    effective_start_instructions,
    effective_user,
    is_root,
    run_commands,
    stage_chain,
    workdir_at,
)
from .build_context import Project
from .build_graph import DockerfileBuilds
from .build_sources import BuildSite
from .compose import ServiceRuntime
from .npmscripts import commands_run, start_commands_run

# Folders only root may write, whatever the image: a write under one at start-up needs root.
SYSTEM_FOLDERS = (
    "/mnt",
    "/etc",
    "/var/run",
    "/run",
    "/usr",
    "/var/lib",
    "/var/log",
    "/var/cache",
    "/var/spool",
    "/opt",
    "/srv",
    "/root",
    "/bin",
    "/sbin",
    "/lib",
    "/lib64",
    "/media",
    "/boot",
    "/sys",
    "/proc/sys",
)
# Commands only root may run, whatever their arguments.
# (`sudo`, `su` and `runuser` switch users, which a non-root user cannot do without a password;
# `cron` runs each user's jobs as that user.)
_ROOT_COMMANDS = frozenset(
    {
        "mount",
        "umount",
        "modprobe",
        "insmod",
        "rmmod",
        "setcap",
        "nft",
        "sudo",
        "su",
        "runuser",
        "chroot",
        "cron",
        "crond",
    }
)
_FIREWALLS = re.compile(r"^(?:ip6?tables)(?:-legacy|-nft)?(?:-restore)?$")
# `ip OBJECT VERB`: the verbs that change the network (`ip route show` only reads it).
_IP_OBJECTS = frozenset({"link", "route", "addr", "address", "rule", "tuntap", "neigh"})
_IP_CHANGES = frozenset({"add", "del", "delete", "set", "change", "replace", "flush", "append"})
# Package managers of the system: binary -> the subcommands that install or refresh.
_SYSTEM_INSTALLS = {
    "apt-get": ("install", "update", "upgrade"),
    "apt": ("install", "update", "upgrade"),
    "apk": ("add", "update", "upgrade"),
    "yum": ("install", "update"),
    "dnf": ("install", "update"),
    "microdnf": ("install", "update"),
}
# Commands that write to each path they are given, and those that write only to the last one.
_WRITE_EACH = frozenset({"mkdir", "touch", "tee", "chown", "chmod", "chgrp", "rmdir"})
_WRITE_LAST = frozenset({"cp", "mv", "ln", "install", "rsync"})
_REDIRECT = re.compile(r"(?<![<&0-9])>>?\|?\s*[\"']?(/[^\s;&|\"')]+)")
_MAX_SCRIPT_DEPTH = 4
# The names of folders created for the app to write into: uploads, data, logs, caches.
WRITABLE_NAMES = frozenset(
    {"uploads", "upload", "data", "logs", "log", "cache", ".cache", "tmp", "temp", "files", "storage", "sessions"}
)
_PLAIN_PATH = re.compile(r"^[A-Za-z0-9_./-]+$")
_MAX_SCRIPT = 256 * 1024


@dataclass(frozen=True, slots=True)
class RootNeed:
    """Why the container needs root: where the repository says so, and what it says."""

    where: str  # `compose.yaml service vpn`, `entrypoint.sh line 2`, `the start command (line 7)`
    what: str  # "grants cap_add NET_ADMIN", "runs `iptables -A INPUT`"

    def __str__(self) -> str:
        return f"{self.where} {self.what}"


@dataclass(frozen=True, slots=True)
class WrittenFolder:
    """A folder the app writes, and whether the image can give it to `node` (None: it can)."""

    path: str
    where: str  # `compose.yaml service api volume`, `RUN mkdir (line 4)`
    obstacle: str | None = None


def under_system_folder(path: str) -> bool:
    """Whether an absolute path lies in a folder only root may write (`/mnt/data`, `/etc/hosts`)."""
    normal = posixpath.normpath(path)
    return any(normal == folder or normal.startswith(folder + "/") for folder in SYSTEM_FOLDERS)


def _shown(path: str, base: str) -> str:
    """A file named relative to the folder it shares with `base` (`compose.yaml`, `deploy/compose.yml`)."""
    common = os.path.commonpath([os.path.abspath(path), os.path.abspath(base)])
    return os.path.relpath(path, common).replace(os.sep, "/")


def _positional(argv: list[str]) -> list[str]:
    return [word for word in argv[1:] if not word.startswith("-")]


def root_command(argv: list[str]) -> str | None:
    """What a command does that only root may do ("runs `mount ...`"); None if nothing."""
    if not argv:
        return None
    binary = argv[0].rsplit("/", 1)[-1]
    shown = " ".join(argv)
    positional = _positional(argv)
    if binary in _ROOT_COMMANDS or _FIREWALLS.match(binary):
        return f"runs `{shown}`"
    if binary == "ip" and positional[:1] and positional[0] in _IP_OBJECTS and set(positional[1:2]) & _IP_CHANGES:
        return f"runs `{shown}`"
    if binary == "sysctl" and ("-w" in argv or "-p" in argv or any("=" in word for word in positional)):
        return f"runs `{shown}`"
    if binary in _SYSTEM_INSTALLS and positional[:1] and positional[0] in _SYSTEM_INSTALLS[binary]:
        return f"runs `{shown}` when it starts"
    if binary in _WRITE_EACH or binary in _WRITE_LAST or (binary == "sed" and "-i" in argv):
        targets = positional[-1:] if binary in _WRITE_LAST else positional
        for target in targets:
            if target.startswith("/") and "$" not in target and under_system_folder(target):
                return f"runs `{shown}`, which writes under {target}"
    if binary == "chown" and len(positional) > 1 and not positional[0].startswith("$"):
        return f"runs `{shown}`, and only root may give files to another user"
    return None


def redirected_to_system_folder(line: str) -> str | None:
    """The system path a shell line redirects output into (`echo x > /etc/hosts`), if any."""
    for match in _REDIRECT.finditer(line):
        if "$" not in match.group(1) and under_system_folder(match.group(1)):
            return match.group(1)
    return None


_ASSIGNMENT = re.compile(r"(?:^|[\s;&|(])([A-Za-z_][A-Za-z0-9_]*)=(/[A-Za-z0-9_./-]*)(?=[\s;&|)]|$)", re.MULTILINE)


def with_plain_variables(script: str) -> str:
    """The script with each variable it sets once to a plain path (`conf=/etc/app.conf`) written out where used."""
    values: dict[str, str] = {}
    for name, value in _ASSIGNMENT.findall(script):
        values[name] = value if name not in values else ""
    for name, value in values.items():
        if value:
            script = re.sub(rf"\$(?:{name}\b|\{{{name}\}})", value, script)
    return script


def _argv_of(command: tuple[str, ...] | str) -> list[list[str]]:
    """A compose `command`/`entrypoint` (exec form or shell form) as the commands it runs."""
    if isinstance(command, tuple):
        return [list(command)]
    return [item.argv for item in commands_in(command.encode())]


def _copied_to(doc: Document, stage: Stage, image_path: str, project: Project) -> str | None:
    """The build-context file a COPY or ADD of the stage chain puts at `image_path`, if one does."""
    for member in stage_chain(doc, stage):
        for inst in reversed(member.instructions):
            if inst.name not in ("COPY", "ADD") or inst.flag("from") is not None or len(inst.words) < 2:
                continue
            found = _copy_source_of(inst, workdir_at(doc, member, inst) or "/", image_path, project)
            if found is not None:
                return found
    return None


def _copy_source_of(inst: Instruction, workdir: str, image_path: str, project: Project) -> str | None:
    *sources, destination = inst.words
    target = posixpath.normpath(posixpath.join(workdir, destination))
    into_folder = destination.endswith("/") or len(sources) > 1
    for source in sources:
        relative = posixpath.normpath(source.lstrip("/")) if source.strip("/") else "."
        source_path = project.path(relative)
        if source_path is not None and source_path.is_dir():
            inner = posixpath.relpath(image_path, target)
            if not inner.startswith(".."):
                candidate = posixpath.normpath(posixpath.join(relative, inner))
                if project.exists(candidate):
                    return candidate
            continue
        name = posixpath.basename(image_path)
        beside = posixpath.join(posixpath.dirname(relative), name)
        if (
            image_path == posixpath.join(target, name)
            and fnmatch.fnmatchcase(name, posixpath.basename(relative))
            and project.exists(beside)
        ):
            return beside
        if not into_folder and image_path == target and project.exists(relative):
            return relative
    return None


_PATH_FOLDERS = ("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin")


def _script_paths(argv: list[str], workdir: str) -> list[str]:
    """Where in the image the shell script a command runs may be (`/app/entrypoint.sh`, `sh start.sh`)."""
    if not argv:
        return []
    if argv[0].rsplit("/", 1)[-1] in SHELLS:
        rest = [word for word in argv[1:] if not word.startswith("-")]
        if "-c" in argv[1:] or not rest or "$" in rest[0]:
            return []
        return [posixpath.normpath(posixpath.join(workdir, rest[0]))]  # the shell opens it from the working folder
    word = argv[0]
    if "$" in word or not ("/" in word or word.endswith(".sh")):
        return []
    if "/" not in word:
        return [posixpath.join(folder, word) for folder in _PATH_FOLDERS]  # found on the PATH
    return [posixpath.normpath(posixpath.join(workdir, word))]


@dataclass
class _StartReader:
    """Reads the commands the container starts with, and the scripts among them, for root needs."""

    project: Project
    doc: Document
    stage: Stage
    workdir: str
    seen: set[str]

    def in_commands(self, commands: list[list[str]], where: str, depth: int = 0) -> RootNeed | None:
        for argv in commands:
            what = root_command(argv)
            if what is not None:
                return RootNeed(where, what)
            script = with_plain_variables(argv[argv.index("-c") + 1]) if "-c" in argv[1:-1] else None
            redirected = redirected_to_system_folder(script) if script is not None else None
            if redirected is not None:
                return RootNeed(where, f"writes to {redirected}")
            need = self.in_script(argv, depth)
            if need is not None:
                return need
        return None

    def in_script(self, argv: list[str], depth: int) -> RootNeed | None:
        if depth >= _MAX_SCRIPT_DEPTH:
            return None
        for image_path in _script_paths(argv, self.workdir):
            if image_path in self.seen:
                continue
            self.seen.add(image_path)
            relative = _copied_to(self.doc, self.stage, image_path, self.project)
            data = self.project.read(relative) if relative is not None else None
            if relative is not None and data is not None and len(data) <= _MAX_SCRIPT and b"\0" not in data:
                return self.in_script_text(relative, data.decode("utf-8", "replace"), depth)
        return None

    def in_script_text(self, relative: str, text: str, depth: int) -> RootNeed | None:
        text = with_plain_variables(text)
        for number, line in enumerate(text.splitlines(), start=1):
            if line.lstrip().startswith("#"):
                continue
            redirected = redirected_to_system_folder(line)
            if redirected is not None:
                return RootNeed(f"{relative} line {number}", f"writes to {redirected}")
            for command in commands_in(line.encode()):
                found = commands_run(self.project, command.argv)
                need = self.in_commands(found, f"{relative} line {number}", depth + 1)
                if need is not None:
                    return need
        return None


def _service(site: BuildSite, dockerfile_folder: str) -> str:
    return f"{_shown(str(site.source), dockerfile_folder)} service {site.service}"


def _runtime_sites(builds: DockerfileBuilds | None, stage: Stage) -> Iterator[tuple[BuildSite, ServiceRuntime]]:
    """The compose services that run the stage (a service whose `target` is another stage runs that one)."""
    for site in builds.sites if builds is not None else []:
        if site.runtime is None:
            continue
        if site.target is not None and (stage.alias or "").lower() != site.target.lower():
            continue
        yield site, site.runtime


def compose_root_need(builds: DockerfileBuilds | None, stage: Stage) -> RootNeed | None:
    """A compose service running the stage that grants capabilities, privileged mode or root."""
    for site, runtime in _runtime_sites(builds, stage):
        where = _service(site, str(site.dockerfile.parent))
        if runtime.cap_add:
            return RootNeed(where, f"grants cap_add {', '.join(runtime.cap_add)}")
        if runtime.privileged:
            return RootNeed(where, "runs privileged")
        if runtime.user is not None and is_root(runtime.user.strip()):
            return RootNeed(where, f"sets user: {runtime.user.strip()}")
    return None


def root_needed_at_start(
    project: Project, doc: Document, stage: Stage, builds: DockerfileBuilds | None = None
) -> RootNeed | None:
    """Why the container needs root when it runs, by the repository's files; None if nothing says so."""
    need = compose_root_need(builds, stage)
    if need is not None:
        return need
    workdir = workdir_at(doc, stage) or "/"
    reader = _StartReader(project, doc, stage, workdir, set())
    entrypoint, cmd = effective_start_instructions(doc, stage)
    line = next((inst.line for inst in (entrypoint, cmd) if inst is not None), None)
    for inst in (entrypoint, cmd):
        shell = with_plain_variables(inst.args) if inst is not None and not inst.is_json_form else None
        redirected = redirected_to_system_folder(shell) if shell is not None else None
        if inst is not None and redirected is not None:
            return RootNeed(f"the start command (line {inst.line})", f"writes to {redirected}")
    if line is not None:
        need = reader.in_commands(start_commands_run(project, doc, stage), f"the start command (line {line})")
        if need is not None:
            return need
    for site, runtime in _runtime_sites(builds, stage):
        for key, value in (("entrypoint", runtime.entrypoint), ("command", runtime.command)):
            if value is None:
                continue
            commands = [found for argv in _argv_of(value) for found in commands_run(project, argv)]
            need = reader.in_commands(commands, f"the {key} of {_service(site, str(site.dockerfile.parent))}")
            if need is not None:
                return need
    return None


def _volume_target(volume: str) -> tuple[str, str | None, bool] | None:
    """(target, host source or named volume, read-only) of a compose volume as written."""
    parts = volume.split(":")
    if len(parts) == 1:
        return (parts[0], None, False) if parts[0].startswith("/") else None
    source, target = parts[0], parts[1]
    read_only = len(parts) > 2 and "ro" in parts[2].split(",")
    return (target, source, read_only) if target.startswith("/") else None


def compose_volume_folders(builds: DockerfileBuilds | None, stage: Stage) -> list[WrittenFolder]:
    """The folders the services running the stage mount to write in (read-only mounts are not)."""
    folders = []
    for site, runtime in _runtime_sites(builds, stage):
        where = _service(site, str(site.dockerfile.parent))
        for volume in runtime.volumes:
            parsed = _volume_target(volume)
            if parsed is None or parsed[2]:
                continue
            target, source, _ = parsed
            target = posixpath.normpath(target)
            obstacle = None
            if source is not None and source.startswith((".", "/", "~")):
                obstacle = (
                    f"{where} mounts the host folder {source} at {target}, which keeps the host folder's owner:"
                    " make it writable by uid 1000 on the host, then apply"
                )
            elif not _PLAIN_PATH.match(target):
                obstacle = f"{where} mounts a volume at {target}: chown it to node, then apply"
            folders.append(WrittenFolder(target, f"{where} volume", obstacle))
    return folders


_OPEN_MODE = re.compile(r"^0?[0-7]?[0-7][0-7][2367]$|^(?:[ugo]*[ao][ugo]*)\+[rwxX]*w")


def _hands_over(command: Command) -> list[str] | None:
    """The paths a `chown` to another user or a `chmod` that lets everyone write gives away; None if neither."""
    positional = [word.text for word in command.args if not word.text.startswith("-")]
    if command.name not in ("chown", "chmod") or len(positional) < 2:
        return None
    owner_or_mode, paths = positional[0], positional[1:]
    if command.name == "chown" and is_root(owner_or_mode.split(":")[0].split(".")[0]):
        return None
    if command.name == "chmod" and not _OPEN_MODE.match(owner_or_mode):
        return None
    return paths


def _handed_over(doc: Document, stage: Stage, path: str) -> bool:
    """Whether a RUN of the stage chain gives `path` (or a folder above it) to a user or opens it to all."""
    for member in stage_chain(doc, stage):
        for inst, _, command in run_commands(doc, member):
            paths = _hands_over(command)
            workdir = workdir_at(doc, member, inst) or "/"
            for given in (posixpath.normpath(posixpath.join(workdir, p)) for p in paths or []):
                if path == given or path.startswith(given.rstrip("/") + "/"):
                    return True
    return False


def created_for_writes(doc: Document, stage: Stage) -> list[WrittenFolder]:
    """Folders the Dockerfile creates as root for the app to write into (`RUN mkdir -p /app/uploads`).

    A folder a later `chown` gives to a user, or a `chmod` opens to everyone, is not one.
    """
    folders: list[WrittenFolder] = []
    for member in reversed(stage_chain(doc, stage)):
        for inst, _, command in run_commands(doc, member):
            if command.name != "mkdir" or not is_root(effective_user(doc, member, inst)):
                continue
            for word in (w.text for w in command.args if not w.text.startswith("-")):
                if posixpath.basename(word.rstrip("/")) not in WRITABLE_NAMES:
                    continue
                where = f"RUN mkdir (line {inst.line})"
                workdir = workdir_at(doc, member, inst)
                if not _PLAIN_PATH.match(word) or (workdir is None and not word.startswith("/")):
                    folders.append(
                        WrittenFolder(word, where, f"it creates {word} as root: chown it to node, then apply")
                    )
                    continue
                path = posixpath.normpath(posixpath.join(workdir or "/", word))
                if not _handed_over(doc, stage, path) and path not in (f.path for f in folders):
                    folders.append(WrittenFolder(path, where))
    return folders
