"""Where a repository says how it builds its images: compose files, CI workflows, Tiltfiles,
skaffold, and the `docker build` commands of package.json and Makefile scripts.

Each reader turns one file into BuildSites: a Dockerfile, the context it is built from, its
build args and target, and the place that says so (`compose.yaml service api`). Nothing is
executed: YAML is read with the safe loader (yamlfile.py), a Tiltfile's Starlark is read as a
Python syntax tree (the two share their syntax) and only literal arguments are taken, and shell
commands are split into words with shlex. A value that depends on something only known when the
build runs (`${{ inputs.context }}`, `$APP_DIR`, a Starlark variable) is not guessed: that build
is left out. Paths are made absolute and normalised, not resolved: whether a context leaves the
repository is for the build graph to judge.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shlex
from dataclasses import dataclass
from pathlib import Path

from .compose import ComposeProblem, ServiceRuntime, builds_of
from .fsutil import FileProblem, read_regular_file
from .yamlfile import YamlProblem, read_yaml

COMPOSE_FILE = re.compile(r"^(?:docker-)?compose(?:\.[\w.-]+)?\.ya?ml$", re.IGNORECASE)
MAKEFILE_NAMES = ("Makefile", "makefile", "GNUmakefile")
SKAFFOLD_NAMES = ("skaffold.yaml", "skaffold.yml")
TILTFILE_NAMES = ("Tiltfile",)
MAX_SCRIPT_FILE = 1024 * 1024

# `docker build` options that take a value (the rest are switches such as --push or --no-cache).
_VALUED_OPTIONS = frozenset(
    {
        "-f",
        "--file",
        "-t",
        "--tag",
        "--build-arg",
        "--target",
        "--platform",
        "--label",
        "--cache-from",
        "--cache-to",
        "--secret",
        "--ssh",
        "-o",
        "--output",
        "--network",
        "--progress",
        "--iidfile",
        "--metadata-file",
        "--add-host",
        "--build-context",
        "--builder",
        "--shm-size",
        "--ulimit",
        "--attest",
        "--annotation",
        "--provenance",
        "--sbom",
        "--allow",
        "--memory",
        "-m",
        "--cpu-shares",
        "--isolation",
        "--call",
    }
)
_BUILD_COMMAND = re.compile(r"\b(?:docker|podman|buildah)(?:\s+buildx)?\s+(?:build|bud)\b")
_COMMAND_SEPARATORS = re.compile(r"&&|\|\||;|\|")


@dataclass(frozen=True)
class BuildSite:
    """One place that builds a Dockerfile: the file, its context, and what it passes to the build."""

    dockerfile: Path
    context: Path
    source: Path  # the file that says so
    origin: str  # how it says so: `service api`, `job build step 2 (docker/build-push-action)`
    kind: str  # "compose" | "skaffold" | "tilt" | "workflow" | "script"
    args: tuple[tuple[str, str | None], ...] = ()
    target: str | None = None
    service: str | None = None
    runtime: ServiceRuntime | None = None


def _path(base: Path, text: str) -> Path:
    return Path(os.path.normpath(base / os.path.expanduser(text)))


def _unknown(text: str) -> bool:
    """A value only the build knows: a variable, an expression, a remote context."""
    return "$" in text or "{{" in text or "://" in text or text.startswith("git@") or text == "-"


# -- shell commands -------------------------------------------------------------------------------


def docker_build_sites(command: str, base: Path, source: Path, origin: str, kind: str) -> list[BuildSite]:
    """The `docker build` (`buildx build`, `podman build`) commands in a shell text, run in `base`."""
    text = re.sub(r"\\\r?\n", " ", command)
    sites = []
    for line in text.splitlines():
        for part in _COMMAND_SEPARATORS.split(line):
            match = _BUILD_COMMAND.search(part)
            if match is None:
                continue
            try:
                words = shlex.split(part[match.end() :], comments=True)
            except ValueError:
                continue
            site = _site_of_words(words, base, source, origin, kind)
            if site is not None:
                sites.append(site)
    return sites


def _site_of_words(words: list[str], base: Path, source: Path, origin: str, kind: str) -> BuildSite | None:
    dockerfile = target = None
    context: str | None = None
    args: list[tuple[str, str | None]] = []
    index = 0
    while index < len(words):
        word = words[index]
        name, equals, inline = word.partition("=")
        if word.startswith("-") and name in _VALUED_OPTIONS:
            value = inline if equals else (words[index + 1] if index + 1 < len(words) else "")
            index += 1 if equals else 2
            if name in ("-f", "--file"):
                dockerfile = value
            elif name == "--target":
                target = value
            elif name == "--build-arg":
                key, has_value, arg_value = value.partition("=")
                args.append((key, arg_value if has_value else None))
            continue
        if not word.startswith("-") and context is None:
            context = word
        index += 1
    if context is None or _unknown(context) or (dockerfile is not None and _unknown(dockerfile)):
        return None
    context_path = _path(base, context)
    # `-f` is relative to the folder the command runs in, not to the context (as docker reads it).
    dockerfile_path = _path(base, dockerfile) if dockerfile else context_path / "Dockerfile"
    return BuildSite(dockerfile_path, context_path, source, origin, kind, tuple(args), target)


def _script_text(path: Path) -> str:
    """A build script's text (universal newlines, as `read_text` gives it); raises FileProblem."""
    data = read_regular_file(path, MAX_SCRIPT_FILE)
    return data.decode("utf-8", errors="replace").replace("\r\n", "\n").replace("\r", "\n")


def package_json_sites(path: Path) -> list[BuildSite]:
    """The `docker build` commands of a package.json's scripts (they run in its folder)."""
    try:
        text = read_regular_file(path, MAX_SCRIPT_FILE).decode("utf-8-sig")
        if "docker" not in text and "podman" not in text:
            return []
        scripts = json.loads(text).get("scripts")
    except (FileProblem, UnicodeDecodeError, ValueError, AttributeError, RecursionError):
        return []
    if not isinstance(scripts, dict):
        return []
    sites = []
    for name, command in scripts.items():
        if isinstance(command, str):
            sites += docker_build_sites(command, path.parent, path, f"script {name}", "script")
    return sites


def makefile_sites(path: Path) -> list[BuildSite]:
    """The `docker build` commands of a Makefile's recipes (make runs them in its folder)."""
    try:
        text = _script_text(path)
    except FileProblem:
        return []
    sites = []
    lines = text.splitlines()
    number = 0
    while number < len(lines):
        start = number
        recipe = lines[number]
        # A recipe line ending in a backslash goes on in the next line (make passes both to the shell).
        while recipe.endswith("\\") and number + 1 < len(lines):
            number += 1
            recipe = recipe[:-1] + " " + lines[number].lstrip("\t")
        number += 1
        if recipe.startswith("\t"):
            command = recipe.lstrip("\t").lstrip("@-+ ")
            sites += docker_build_sites(command, path.parent, path, f"line {start + 1}", "script")
    return sites


# -- YAML files -----------------------------------------------------------------------------------


def compose_sites(path: Path) -> list[BuildSite]:
    """The builds of a compose file; raises ComposeProblem when it cannot be read."""
    try:
        data = read_yaml(path)
    except YamlProblem as problem:
        raise ComposeProblem(str(problem)) from None
    return [
        BuildSite(
            build.dockerfile,
            build.context,
            path,
            f"service {build.service}",
            "compose",
            build.args,
            build.target,
            build.service,
            build.runtime,
        )
        for build in builds_of(data, path.parent)
    ]


def skaffold_sites(path: Path) -> list[BuildSite]:
    """`build.artifacts[]` of a skaffold.yaml (and of its profiles): `context`, `docker.dockerfile`."""
    try:
        documents = read_yaml(path, all_documents=True)
    except YamlProblem:
        return []
    sites = []
    for document in documents if isinstance(documents, list) else []:
        if not isinstance(document, dict):
            continue
        builds = [document.get("build")]
        profiles = document.get("profiles")
        builds += (
            [profile.get("build") for profile in profiles if isinstance(profile, dict)]
            if isinstance(profiles, list)
            else []
        )
        for build in builds:
            artifacts = build.get("artifacts") if isinstance(build, dict) else None
            for artifact in artifacts if isinstance(artifacts, list) else []:
                site = _skaffold_artifact(artifact, path)
                if site is not None:
                    sites.append(site)
    return sites


def _skaffold_artifact(artifact: object, path: Path) -> BuildSite | None:
    if not isinstance(artifact, dict):
        return None
    given = artifact.get("docker")
    docker: dict = given if isinstance(given, dict) else {}
    if any(key in artifact for key in ("jib", "buildpacks", "bazel", "ko", "custom")):
        return None
    context = str(artifact.get("context", "."))
    dockerfile = str(docker.get("dockerfile", "Dockerfile"))
    if _unknown(context) or _unknown(dockerfile):
        return None
    context_path = _path(path.parent, context)
    build_args = docker.get("buildArgs")
    args = (
        tuple((str(k), None if v is None else str(v)) for k, v in build_args.items())
        if isinstance(build_args, dict)
        else ()
    )
    target = docker.get("target")
    image = artifact.get("image", "?")
    return BuildSite(
        _path(context_path, dockerfile),
        context_path,
        path,
        f"artifact {image}",
        "skaffold",
        args,
        str(target) if target else None,
    )


def workflow_sites(path: Path, root: Path) -> list[BuildSite]:
    """Builds in a GitHub workflow: `docker/build-push-action` steps and `docker build` in `run:` steps.

    Both run in the repository's root (`root`), or the step's or job's `working-directory`.
    """
    try:
        data = read_yaml(path)
    except YamlProblem:
        return []
    jobs = data.get("jobs") if isinstance(data, dict) else None
    sites = []
    for job_name, job in jobs.items() if isinstance(jobs, dict) else ():
        steps = job.get("steps") if isinstance(job, dict) else None
        job_defaults = job.get("defaults") if isinstance(job, dict) else None
        run_defaults = job_defaults.get("run") if isinstance(job_defaults, dict) else None
        job_folder = run_defaults.get("working-directory") if isinstance(run_defaults, dict) else None
        for number, step in enumerate(steps if isinstance(steps, list) else [], start=1):
            if isinstance(step, dict):
                sites += _workflow_step(step, f"job {job_name} step {number}", path, root, job_folder)
    return sites


def _workflow_step(step: dict, origin: str, path: Path, root: Path, job_folder: object) -> list[BuildSite]:
    uses = step.get("uses")
    if isinstance(uses, str) and uses.startswith("docker/build-push-action"):
        given = step.get("with")
        settings: dict = given if isinstance(given, dict) else {}
        context = str(settings.get("context", "."))
        file = settings.get("file")
        if _unknown(context) or (file is not None and _unknown(str(file))):
            return []
        context_path = _path(root, context)
        dockerfile = _path(root, str(file)) if file else context_path / "Dockerfile"
        build_args = settings.get("build-args")
        args = tuple(
            (key, value if has_value else None)
            for key, has_value, value in (line.strip().partition("=") for line in str(build_args or "").splitlines())
            if key
        )
        target = settings.get("target")
        return [
            BuildSite(
                dockerfile,
                context_path,
                path,
                f"{origin} (docker/build-push-action)",
                "workflow",
                args,
                str(target) if target else None,
            )
        ]
    run = step.get("run")
    if isinstance(run, str):
        folder = step.get("working-directory", job_folder)
        base = _path(root, str(folder)) if isinstance(folder, str) and not _unknown(folder) else root
        return docker_build_sites(run, base, path, f"{origin} (run)", "workflow")
    return []


# -- Tiltfiles ------------------------------------------------------------------------------------


def tiltfile_sites(path: Path) -> list[BuildSite]:
    """`docker_build('name', 'ctx', dockerfile=..., build_args={...}, target=...)` calls of a Tiltfile."""
    try:
        tree = ast.parse(_script_text(path))
    except (FileProblem, SyntaxError, ValueError, RecursionError):
        return []
    sites = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "docker_build":
            site = _tilt_call(node, path)
            if site is not None:
                sites.append(site)
    return sites


def _literal(node: ast.expr | None) -> object:
    if node is None:
        return None
    try:
        return ast.literal_eval(node)
    except (ValueError, SyntaxError, TypeError, RecursionError):
        return _UNKNOWN


_UNKNOWN = object()


def _tilt_call(node: ast.Call, path: Path) -> BuildSite | None:
    keywords = {keyword.arg: keyword.value for keyword in node.keywords if keyword.arg}
    positional = [*node.args, None, None]
    image = _literal(positional[0] or keywords.get("ref"))
    context = _literal(positional[1] or keywords.get("context"))
    dockerfile = _literal(keywords.get("dockerfile"))
    if not isinstance(context, str) or _unknown(context):
        return None
    if dockerfile is not None and (not isinstance(dockerfile, str) or _unknown(dockerfile)):
        return None
    build_args = _literal(keywords.get("build_args"))
    args = tuple((str(k), str(v)) for k, v in build_args.items()) if isinstance(build_args, dict) else ()
    target = _literal(keywords.get("target"))
    context_path = _path(path.parent, context)
    # Tilt reads `dockerfile` from the Tiltfile's folder (as docker reads `-f` from the current
    # one); without it, the context's Dockerfile.
    return BuildSite(
        _path(path.parent, dockerfile) if dockerfile is not None else context_path / "Dockerfile",
        context_path,
        path,
        f"docker_build {image if isinstance(image, str) else '?'} (line {node.lineno})",
        "tilt",
        args,
        target if isinstance(target, str) else None,
    )
