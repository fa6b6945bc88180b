"""dockfix on whole repositories: Dockerfiles found, build contexts, files written, errors, checks.

Extracts the repositories of `repos.tar.xz` (next to the checkout, in ../shared/repos, or the
folder given with `--repos`) into a temporary folder and, for each repository, runs dockfix as
the command line does (`--offline --isolated --output-format json`) with `--write`, once safe
only and once with `--unsafe-fixes`, each on its own copy, then a second `--write
--unsafe-fixes` on the unsafe copy. It reports per repository:

- the Dockerfiles found, each build context and where it came from (the build graph);
- the files written, safe and unsafe;
- the errors (exit code 2) and their lines;
- the checks: no error comes from a file that is not a Dockerfile; every `.dockerignore`
  written is in a build context some Dockerfile of the repository is built from; after the
  safe-only `--write`, no COPY or ADD source of any Dockerfile is newly left out of its build
  context (each Dockerfile's sources, before and after the write, judged with dockfix's own
  `.dockerignore` matcher against the ignore file BuildKit reads for it, before and after);
  the second `--write --unsafe-fixes` changes nothing; a file with a DF000 note (left alone)
  gains no USER, NODE_ENV=production, `--omit=dev`, stage or dumb-init (a base moved to another
  tag by DF001/DF007, which still check such images, is listed apart).

    python benchmarks/repos_report.py [--repos DIR] [--only NAME ...] [--details]
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from dockfix.dockerfile.document import DockerfileSyntaxError, Document  # noqa: E402
from dockfix.dockerfile.stages import effective_user, is_root, runtime_stage  # noqa: E402
from dockfix.project.build_graph import copy_sources  # noqa: E402
from dockfix.project.discover import Discovery, discover, not_a_dockerfile  # noqa: E402
from dockfix.project.dockerignore_patterns import DockerIgnore, parse_pattern  # noqa: E402

OMIT_DEV = re.compile(r"--omit[= ]dev|--production(?![=\w-])|--only=prod\w*|(?<![\w-])--prod(?![\w-])")
NODE_ENV_PRODUCTION = re.compile(r"NODE_ENV[= ]+[\"']?production\b")
DIGEST = re.compile(r"@sha256:[0-9a-f]+")

FLAGS = ["--offline", "--isolated", "--today", "2026-12-06", "--output-format", "json", "-j", "1"]


def run_dockfix(folder: Path, *flags: str) -> tuple[int, list[dict]]:
    """dockfix as the command line runs it, in `folder` on `.`: the exit code and the JSON records."""
    environment = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    done = subprocess.run(
        [sys.executable, "-m", "dockfix", *FLAGS, *flags, "."],
        cwd=folder,
        capture_output=True,
        text=True,
        env=environment,
        check=False,
    )
    records = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
    return done.returncode, records


def _settings(source: bytes) -> tuple[dict[str, int], list[str]]:
    """The production settings a file has, counted, and the tags of its stages' bases (no digest)."""
    doc = Document.parse(source)
    stage = runtime_stage(doc)
    counts = {
        "USER": int(stage is not None and not is_root(effective_user(doc, stage))),
        "NODE_ENV=production": sum(
            len(NODE_ENV_PRODUCTION.findall(i.args)) for i in doc.instructions if i.name == "ENV"
        ),
        "--omit=dev": sum(len(OMIT_DEV.findall(i.args)) for i in doc.instructions if i.name == "RUN"),
        "stage": len(doc.stages),
        "dumb-init": source.count(b"dumb-init"),
    }
    return counts, [DIGEST.sub("", stage.base) for stage in doc.stages]


def left_alone_gains(before: bytes, after: bytes) -> list[str]:
    """What a file left alone (a DF000 note) gained from the fixes: the production settings it
    must not get (USER, NODE_ENV=production, --omit=dev, a stage, dumb-init) and a base moved to
    another tag (a digest pin is no move)."""
    try:
        (old, old_bases), (new, new_bases) = _settings(before), _settings(after)
    except DockerfileSyntaxError:
        return []
    gained = [name for name, count in new.items() if count > old[name]]
    if len(new_bases) == len(old_bases) and new_bases != old_bases:
        gained.append("base tag")
    return gained


def written_files(records: list[dict]) -> set[str]:
    return {path for record in records if record["written"] for path in record["changed_files"]}


def snapshot(folder: Path) -> dict[str, bytes]:
    files = {}
    for path in folder.rglob("*"):
        if path.is_file() and not path.is_symlink():
            files[str(path.relative_to(folder))] = path.read_bytes()
    return files


def contexts_of(found: Discovery, root: Path) -> dict[str, tuple[str, str]]:
    """Each Dockerfile (relative to the repository) -> (its context, where that came from)."""
    shown = {}
    for path in found.files:
        context = found.contexts.get(path, path.parent)
        shown[os.path.relpath(path, root)] = (os.path.relpath(context, root), found.context_sources.get(path, "?"))
    return shown


def is_real_dockerfile(root: Path, relative: str) -> bool:
    path = root / relative
    try:
        return not_a_dockerfile(path.read_bytes()[: 64 * 1024]) is None
    except OSError:
        return False


def _ignore_rules(dockerfile: Path, context: Path) -> DockerIgnore:
    """The ignore file BuildKit reads for the Dockerfile: `<Dockerfile>.dockerignore`, else the context's."""
    for path in (dockerfile.parent / f"{dockerfile.name}.dockerignore", context / ".dockerignore"):
        if path.is_file():
            return DockerIgnore.parse(path.read_bytes())
    return DockerIgnore([])


def _sources(dockerfile: Path) -> list[str]:
    try:
        return copy_sources(dockerfile.read_bytes())
    except (OSError, DockerfileSyntaxError):
        return []


def _tree(context: Path) -> list[str]:
    """Every path in the context, folders included, slash-separated (a glob source may match either)."""
    found = []
    for folder, subfolders, names in os.walk(context):
        subfolders[:] = [name for name in subfolders if name not in ("node_modules", ".git")]
        base = Path(folder).relative_to(context)
        found += [(base / name).as_posix() for name in [*subfolders, *names]]
    return found


def _context_paths(context: Path, source: str, tree: Callable[[Path], list[str]]) -> list[str]:
    """The context paths a COPY source names: itself, or what its glob matches; none for the whole context."""
    pattern = parse_pattern(source)
    if pattern is None or pattern.text in (".", "/"):
        return []
    if pattern.is_literal:
        return [pattern.text]
    regex = pattern.regex
    return [path for path in tree(context) if regex is not None and regex.fullmatch(path)]


def sources_newly_left_out(before: Path, after: Path, found: Discovery) -> list[str]:
    """COPY/ADD sources that the ignore files in `after` leave out of the context and those in `before` did not.

    `found` is the discovery of `after`; each Dockerfile's sources are read from both trees (a fix
    may change them), and judged against the ignore file BuildKit reads for it in each tree.
    """
    newly = []
    tree = functools.cache(_tree)
    for dockerfile in found.files:
        relative = dockerfile.relative_to(after)
        context = found.contexts.get(dockerfile, dockerfile.parent).relative_to(after)
        rules_before = _ignore_rules(before / relative, before / context)
        rules_after = _ignore_rules(after / relative, after / context)
        sources = dict.fromkeys([*_sources(before / relative), *_sources(after / relative)])
        for source in sources:
            for path in _context_paths(before / context, source, tree):
                if rules_after.excludes(path) and not rules_before.excludes(path):
                    newly.append(f"{relative.as_posix()}: {path} (COPY/ADD {source}, context {context.as_posix()})")
    return sorted(set(newly))


def report_repository(source: Path, work: Path) -> dict:
    """Everything the report says about one repository."""
    safe, unsafe = work / "safe", work / "unsafe"
    shutil.copytree(source, safe, symlinks=True)
    shutil.copytree(source, unsafe, symlinks=True)
    found = discover([safe])
    contexts = contexts_of(found, safe)
    context_folders = {os.path.normpath(context) for context, _ in contexts.values()}
    safe_code, safe_records = run_dockfix(safe, "--write")
    left_out = sources_newly_left_out(source, safe, found)
    unsafe_code, unsafe_records = run_dockfix(unsafe, "--write", "--unsafe-fixes")
    before = snapshot(unsafe)
    _again_code, again_records = run_dockfix(unsafe, "--write", "--unsafe-fixes")
    changed_again = sorted(name for name, data in snapshot(unsafe).items() if before.get(name) != data)
    left_alone: list[str] = []
    base_moved: list[str] = []
    for record in unsafe_records:
        if any(note["code"] == "DF000" for note in record.get("notes", [])):
            path = record["path"]
            gained = left_alone_gains((source / path).read_bytes(), (unsafe / path).read_bytes())
            if "base tag" in gained:
                base_moved.append(path)  # DF001/DF007 still move the base of a development image
            production = [name for name in gained if name != "base tag"]
            if production:
                left_alone.append(f"{path} ({', '.join(production)})")
    errors = [
        (record["path"], record["error"]["line"], record["error"]["message"])
        for record in safe_records + unsafe_records
        if record["error"] is not None
    ]
    written = written_files(safe_records) | written_files(unsafe_records)
    ignores = {path for path in written if path.endswith(".dockerignore")}
    return {
        "name": source.name,
        "dockerfiles": contexts,
        "not_dockerfiles": [(os.path.relpath(path, safe), reason) for path, reason in found.not_dockerfiles],
        "written_safe": sorted(written_files(safe_records)),
        "written_unsafe": sorted(written_files(unsafe_records)),
        "exit": (safe_code, unsafe_code),
        "errors": sorted(set(errors)),
        "error_on_non_dockerfile": [path for path, _, _ in errors if not is_real_dockerfile(safe, path)],
        "ignore_outside_context": sorted(
            p for p in ignores if os.path.normpath(os.path.dirname(p)) not in context_folders
        ),
        "sources_checked": sum(len(_sources(path)) for path in found.files),
        "sources_newly_left_out": left_out,
        "second_run_changes": changed_again or sorted(written_files(again_records)),
        "left_alone": sum(1 for r in unsafe_records if any(n["code"] == "DF000" for n in r.get("notes", []))),
        "left_alone_changed": left_alone,
        "left_alone_base_moved": base_moved,
    }


def _kinds(contexts: dict[str, tuple[str, str]]) -> str:
    counts: dict[str, int] = {}
    for _context, reason in contexts.values():
        kind = reason.split(":", 1)[0].split(" ", 1)[0] if ":" in reason else reason.split(" (", 1)[0]
        kind = "own folder" if kind.startswith("the Dockerfile") else kind
        counts[kind] = counts.get(kind, 0) + 1
    return ", ".join(f"{kind} {count}" for kind, count in sorted(counts.items()))


def print_table(reports: list[dict], details: bool) -> None:
    print("| repository | Dockerfiles | not Dockerfiles | contexts from | written safe/unsafe | exit 2 | checks |")
    print("|---|---|---|---|---|---|---|")
    for report in reports:
        checks = []
        checks.append("no-error-from-non-Dockerfile " + ("ok" if not report["error_on_non_dockerfile"] else "FAIL"))
        checks.append(".dockerignore-in-context " + ("ok" if not report["ignore_outside_context"] else "FAIL"))
        checks.append(
            f"COPY-sources-kept ({report['sources_checked']}) "
            + ("ok" if not report["sources_newly_left_out"] else f"FAIL {len(report['sources_newly_left_out'])}")
        )
        checks.append("second-run " + ("ok" if not report["second_run_changes"] else "FAIL"))
        checks.append(
            f"DF000-left-alone ({report['left_alone']}) " + ("ok" if not report["left_alone_changed"] else "FAIL")
        )
        print(
            f"| {report['name']} | {len(report['dockerfiles'])} | {len(report['not_dockerfiles'])} "
            f"| {_kinds(report['dockerfiles'])} | {len(report['written_safe'])}/{len(report['written_unsafe'])} "
            f"| {len(report['errors'])} | {'; '.join(checks)} |"
        )
    if not details:
        return
    for report in reports:
        print(f"\n## {report['name']} (exit safe {report['exit'][0]}, unsafe {report['exit'][1]})")
        for path, (context, reason) in sorted(report["dockerfiles"].items()):
            print(f"- {path}: context {context} <- {reason}")
        for path, reason in report["not_dockerfiles"]:
            print(f"- not a Dockerfile: {path}: {reason}")
        for path, line, message in report["errors"]:
            print(f"- error: {path}:{line}: {message}")
        for key in (
            "ignore_outside_context",
            "sources_newly_left_out",
            "second_run_changes",
            "error_on_non_dockerfile",
            "left_alone_changed",
            "left_alone_base_moved",
        ):
            if report[key]:
                print(f"- {key}: {', '.join(report[key])}")
        print(f"- written safe: {', '.join(report['written_safe']) or '-'}")
        print(f"- written unsafe: {', '.join(report['written_unsafe']) or '-'}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--repos", type=Path, default=REPO.parent / "shared" / "repos")
    parser.add_argument("--only", nargs="*", default=None, help="only these repositories (folder names)")
    parser.add_argument("--details", action="store_true", help="each Dockerfile's context and each file written")
    arguments = parser.parse_args()
    archive = arguments.repos / "repos.tar.xz"
    if not archive.is_file():
        print(f"no {archive}: nothing to measure", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="dockfix-repos-") as temporary:
        extracted = Path(temporary) / "repos"
        with tarfile.open(archive) as tar:
            tar.extractall(extracted, filter="data")
        reports = []
        for source in sorted(path for path in extracted.iterdir() if path.is_dir()):
            if arguments.only and source.name not in arguments.only:
                continue
            work = Path(temporary) / "work" / source.name
            reports.append(report_repository(source, work))
            shutil.rmtree(work, ignore_errors=True)
            print(f"done {source.name}", file=sys.stderr)
    print_table(reports, arguments.details)
    return 0


if __name__ == "__main__":
    sys.exit(main())
