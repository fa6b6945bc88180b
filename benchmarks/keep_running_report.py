"""How often the fixes change what a container does, over the corpus.

Lays out every corpus case (placeholders for the lockfiles and the `.npmrc`/`.env` files its
context listed; the Dockerfile under its own name, in a `.devcontainer` folder when it was in
one), fixes it with the dockfix command line twice, `--write --unsafe-fixes --offline` and
`--write --offline` (safe fixes only), and counts, judging every case with this tree's readers
of the Dockerfile and the project:

- development, test and CI images (dev server, watcher or test runner as the start command,
  devcontainer, Cypress) given production settings (`--omit=dev`, NODE_ENV=production, USER node);
- final stages without CMD or ENTRYPOINT given NODE_ENV=production (or `--omit=dev`);
- start commands that run a dev dependency's CLI after the fix added `--omit=dev`, and
  NODE_ENV=production added before a start-up install;
- USER node added where the app writes or needs root at run time (installs, clones or builds at
  start-up; a VOLUME of the stage chain, a folder the file creates for uploads, data, logs or
  caches, or Next.js's `.next` left to root; a start command or entry script that mounts, changes
  the firewall or the kernel's settings, installs system packages, or writes under a system
  folder such as /mnt or /etc);
- safe-only edits that leave out a file the build context has, a COPY sends and the build or
  the app reads (DF009), and app files the safe-only run changes;
- DF002 findings repeated on one line, and DF002 findings that name an npm flag (use `npm ci
  --production`) the fixed file does not end with;
- files with a DF000 note (left alone) that gain USER, NODE_ENV=production, `--omit=dev`, a
  stage or dumb-init, or whose base moves to another tag (repos_report.left_alone_gains);
- DF007 findings on a floating minor tag (`node:24.14`) whose newest known release has every
  advisory patched.

`--fixer SRC` fixes with another checkout's sources (its `src` folder), so the counts before a
change are judged the same way as after it.

    python benchmarks/keep_running_report.py [--cases DIR] [--fixer SRC] [--today YYYY-MM-DD] [--list]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "tests"))

from repos_report import left_alone_gains  # noqa: E402

from dockfix.context import Options, RuleContext  # noqa: E402
from dockfix.dockerfile.document import Document, Stage  # noqa: E402
from dockfix.dockerfile.stages import (  # noqa: E402
    applies_to,
    effective_user,
    has_start_command,
    is_root,
    runtime_stage,
    stage_chain,
)
from dockfix.project.build_context import Project  # noqa: E402
from dockfix.project.dockerignore_patterns import DockerIgnore  # noqa: E402
from dockfix.project.npmscripts import dev_dependency_at_start, development_reason, install_at_start  # noqa: E402
from dockfix.project.runtime_evidence import created_for_writes, root_needed_at_start  # noqa: E402
from dockfix.rules.dockerignore import read_by_build  # noqa: E402
from dockfix.rules.non_root_user import open_ended_write_at_start, runs_next_start, volumes  # noqa: E402
from dockfix.sources.nodedata import NodeData  # noqa: E402
from dockfix.sources.semver import parse_node_version  # noqa: E402
from support.paths import CONTEXT_PLACEHOLDERS, lay_out_case  # noqa: E402

OMIT_DEV = re.compile(r"--omit[= ]dev|--production(?![=\w-])|--only=prod\w*|(?<![\w-])--prod(?![\w-])")
NODE_ENV_PRODUCTION = re.compile(r"NODE_ENV[= ]+[\"']?production\b")
#: The npm flag a DF002 finding tells to use (`use \`npm ci --production\``, `add \`--omit=dev\``).
NPM_FLAG_NAMED = re.compile(r"(?:use `npm ci|add `)\s*(--omit=dev|--production)`")
#: A DF007 finding on a tag that names a minor line but no patch (`Node.js 24.14 is affected`).
FLOATING_MINOR = re.compile(r"^Node\.js v?(\d+\.\d+)\b(?!\.)")


def lay_out(case: Path, destination: Path) -> Path:
    """The case's Dockerfile, laid out under its original name and folder kind; returns its path."""
    context = json.loads((case / "context.json").read_text())
    folder = lay_out_case(case, destination, context_files=True)
    if ".devcontainer" in Path(context["path"]).parts:
        inner = folder / ".devcontainer"
        inner.mkdir()
        for entry in list(folder.iterdir()):
            if entry != inner:
                shutil.move(str(entry), inner / entry.name)
        folder = inner
    name = context.get("original_name") or "Dockerfile"
    if name != "Dockerfile" and "/" not in name:
        (folder / "Dockerfile").rename(folder / name)
        return folder / name
    return folder / "Dockerfile"


def run_fixer(fixer: Path, paths: list[Path], unsafe: bool, today: str, ignore: str | None) -> dict[Path, dict]:
    listing = paths[0].parents[1] / f"paths-{'unsafe' if unsafe else 'safe'}.txt"
    listing.write_text("".join(f"{p}\n" for p in paths))
    command = [sys.executable, "-m", "dockfix", "--write", "--offline", "--isolated", "-q", "-j", "2"]
    command += ["--unsafe-fixes" if unsafe else "--no-unsafe-fixes", "--today", today]
    command += ["--output-format", "json", "--from-file", str(listing)]
    command += ["--ignore", ignore] if ignore else []
    env = {**os.environ, "PYTHONPATH": str(fixer)}
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    records = {}
    for line in done.stdout.splitlines():
        if line.startswith("{"):
            record = json.loads(line)
            records[Path(os.path.abspath(record["path"]))] = record  # printed relative to the working folder
    return records


def production_settings(doc: Document, stage: Stage) -> tuple[int, int, bool]:
    """(omit-dev flags in any RUN, NODE_ENV=production in the final stage's chain, final stage runs as non-root).

    Flags count in every stage: the final image's node_modules may come from a build stage.
    """
    omit = sum(len(OMIT_DEV.findall(inst.args)) for inst in doc.instructions if inst.name == "RUN")
    node_env = sum(
        len(NODE_ENV_PRODUCTION.findall(inst.args))
        for member in stage_chain(doc, stage)
        for inst in member.instructions
        if inst.name == "ENV"
    )
    return omit, node_env, not is_root(effective_user(doc, stage))


def _given_to_node(text: str, path: str) -> bool:
    return bool(re.search(rf"chown\b[^\n]*node[^\n]*\s{re.escape(path)}(\s|$)", text))


def writes_left_to_root(fixed: bytes, project: Project, doc: Document, stage: Stage) -> str | None:
    """Where the app writes or needs root and the fixed file runs it as node all the same."""
    need = root_needed_at_start(project, doc, stage)
    if need is not None:
        return f"needs root: {need}"
    writes = open_ended_write_at_start(project, doc, stage)
    if writes:
        return f"starts `{writes}`"
    text = fixed.decode("utf-8", "replace")
    for _, _, paths in volumes(doc, stage):
        for path in paths:
            if not _given_to_node(text, path):
                return f"VOLUME {path}"
    for folder in created_for_writes(doc, stage):
        if not _given_to_node(text, folder.path):
            return f"{folder.where} creates {folder.path} as root"
    copies_next = any(".next" in word for inst in stage.instructions if inst.name == "COPY" for word in inst.words)
    if runs_next_start(project, doc, stage) and not copies_next and not re.search(r"chown\b[^\n]*\.next", text):
        return "next start writes under .next"
    return None


def excluded_by(ignore: bytes | None, name: str) -> bool:
    return ignore is not None and DockerIgnore.parse(ignore).excludes(name)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=Path, default=REPO.parent / "shared" / "corpus" / "cases")
    parser.add_argument("--fixer", type=Path, default=REPO / "src", help="the dockfix sources to fix with")
    parser.add_argument("--today", default="2026-11-29")
    parser.add_argument(
        "--ignore", metavar="CODES", help="rules to leave out of the fixing (to tell which rule adds what)"
    )
    parser.add_argument("--list", action="store_true", help="print every case counted")
    args = parser.parse_args()
    cases = sorted(p for p in args.cases.iterdir() if (p / "Dockerfile").is_file())
    counts: Counter[str] = Counter()
    listed: list[str] = []

    def count(key: str, case: Path, detail: str = "") -> None:
        counts[key] += 1
        listed.append(f"{key}: {case.name} {detail}".rstrip())

    node_data = NodeData.packaged()
    with tempfile.TemporaryDirectory() as scratch:
        runs = {kind: Path(scratch) / kind for kind in ("pristine", "unsafe", "safe")}
        laid: dict[str, dict[Path, Path]] = {kind: {} for kind in runs}
        for kind, folder in runs.items():
            folder.mkdir()
            for case in cases:
                laid[kind][case] = lay_out(case, folder)
        unsafe = run_fixer(args.fixer, list(laid["unsafe"].values()), True, args.today, args.ignore)
        safe = run_fixer(args.fixer, list(laid["safe"].values()), False, args.today, args.ignore)
        for case in cases:
            original = laid["pristine"][case]
            source = original.read_bytes()
            doc = Document.parse(source)
            stage = runtime_stage(doc)
            project = Project(original.parent)
            fixed = laid["unsafe"][case].read_bytes()
            record = unsafe.get(laid["unsafe"][case], {})
            findings = [*record.get("applied", []), *record.get("remaining", []), *record.get("withheld", [])]
            if any(note["code"] == "DF000" for note in record.get("notes", [])):
                counts["(files with a DF000 note)"] += 1
                for name in left_alone_gains(source, fixed):
                    count(f"DF000 file given {name}", case)
            repeated = Counter((f["line"], f["message"]) for f in findings if f["code"] == "DF002")
            for (line, message), times in repeated.items():
                if times > 1:
                    count("DF002 finding repeated on one line", case, f"line {line} x{times}: {message[:60]}")
            fixed_npm_lines = [line for line in fixed.decode("utf-8", "replace").splitlines() if "npm" in line]
            for finding in record.get("applied", []):
                npm = finding["code"] == "DF002" and finding["message"].startswith("`npm ")
                named = NPM_FLAG_NAMED.search(finding["message"]) if npm else None
                if named and not any(named.group(1) in line for line in fixed_npm_lines):
                    count(
                        "DF002 message names a flag the fixed file lacks", case, f"line {finding['line']}: {named[0]}"
                    )
            for finding in findings:
                floating = FLOATING_MINOR.search(finding["message"]) if finding["code"] == "DF007" else None
                if floating and not node_data.advisories_affecting(
                    node_data.newest_known_release(parse_node_version(floating.group(1)))
                ):
                    count("DF007 reports advisories a floating minor tag's line has patched", case, floating.group(1))
            # Safe-only run: files the build context sends and the build or app reads, left out.
            safe_path = laid["safe"][case]
            options = Options(unsafe_fixes=False, offline=True)
            ctx = RuleContext(original, project, options)
            before_ignore = project.read(".dockerignore")
            after_ignore = (
                (safe_path.parent / ".dockerignore").read_bytes()
                if (safe_path.parent / ".dockerignore").exists()
                else None
            )
            for name in sorted(p.name for p in original.parent.iterdir() if CONTEXT_PLACEHOLDERS.match(p.name)):
                if excluded_by(after_ignore, name) and not excluded_by(before_ignore, name):
                    why = read_by_build(doc, ctx, name)
                    if why:
                        count("safe-only run leaves out a file the build or app reads", case, f"{name}: {why}")
            for changed in safe.get(safe_path, {}).get("changed_files", []):
                if Path(changed).name not in (safe_path.name, ".dockerignore"):
                    count("safe-only run changes an app file", case, Path(changed).name)
            if stage is None or not applies_to(doc, stage):
                continue
            fixed_doc = Document.parse(fixed)
            fixed_stage = runtime_stage(fixed_doc)
            if fixed_stage is None:
                continue
            omit_before, env_before, user_before = production_settings(doc, stage)
            omit_after, env_after, user_after = production_settings(fixed_doc, fixed_stage)
            added = {
                "--omit=dev": omit_after > omit_before,
                "NODE_ENV=production": env_after > env_before,
                "USER node": user_after and not user_before,
            }
            settings = [name for name, was_added in added.items() if was_added]
            for name in settings:
                counts[f"(all images given {name})"] += 1
            if not has_start_command(doc, stage):
                for name in settings:
                    count(f"final stage without CMD/ENTRYPOINT given {name}", case)
            else:
                reason = development_reason(project, doc, stage, original)
                if reason and settings:
                    count("dev/test image given production settings", case, f"{', '.join(settings)} ({reason})")
                    for name in settings:
                        count(f"dev/test image given {name}", case)
            tool = dev_dependency_at_start(project, doc, stage)
            if added["--omit=dev"] and tool:
                count("start command needs a dev dependency after --omit=dev", case, f"{tool[0]} ({tool[1]})")
            install = install_at_start(project, doc, stage)
            if added["NODE_ENV=production"] and install and project.dev_dependencies:
                count("NODE_ENV=production added before a start-up install", case, install)
            if added["USER node"]:
                where = writes_left_to_root(fixed, project, doc, stage)
                if where:
                    count("USER node added where the app writes", case, where)
    print(f"cases: {len(cases)}; fixer: {args.fixer}" + (f"; rules left out: {args.ignore}" if args.ignore else ""))
    for key in sorted(counts):
        print(f"  {key}: {counts[key]}")
    if args.list:
        print("\n".join(listed))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
