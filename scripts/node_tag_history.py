"""Derive every tag the official `node` image ever published from nodejs/docker-node's history.

    python scripts/node_tag_history.py GIT_DIR [--output PATH]

GIT_DIR is a clone (bare or not) of https://github.com/nodejs/docker-node. The script reads the
history with `git` and runs nothing from it: it walks the default branch's first-parent commits,
oldest first, and at each one applies the tag rules of the generator of that era to the
Dockerfiles of the tree:

- before April 2021 `generate-stackbrew-library.sh`: a folder `X.Y/` or `MAJOR/` (and
  `chakracore/MAJOR/`) has a Dockerfile and variant folders under it; each image is tagged with
  its full version `X.Y.Z`, `X.Y` and the words of the script's `array_*` line for the folder (the
  major, a codename, `latest`...), each followed by `-VARIANT` (`latest-VARIANT` is `VARIANT`).
  The folder's own Dockerfile, or the variant named by `config`'s `default_variant` (from 2018),
  has the bare tags; `default_variant-slim` also has `-slim` (from November 2018), and
  `alpine` + `config`'s `alpine_version` also has `-alpine` (from November 2019).
- from April 2021 `stackbrew.js` over `versions.json`: `MAJOR/VARIANT/` has `X.Y.Z-VARIANT`,
  `X.Y-VARIANT`, `X-VARIANT` and `CODENAME-VARIANT`; the `debian-default` variant also has the
  bare tags, its `-slim` the `-slim` ones, the `alpine-default` the `-alpine` ones; the newest
  line not yet LTS on the commit's day has `latest`/`current`, the newest LTS line `lts`.

What the image of each tag was built on (a Debian release, slim or full, an Alpine release) is
read from the variant's name or, in the early layouts, from the Dockerfile's `FROM` line.

The shipped file records, per tag suffix (`` for the bare tags, `alpine`, `bookworm-slim`...), the
full versions ever built, from which the `X` and `X.Y` tags follow; where a suffix's base changed
over time (`` was jessie, then stretch...), the versions from which each base applies; and the
tags that name no version (`carbon`, `lts-alpine`, `chakracore-8`) with the last full version
they pointed at.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

DEFAULT_OUTPUT = Path(__file__).resolve().parent.parent / "src" / "dockfix" / "data" / "docker-node" / "history.json"

_DOCKERFILE = re.compile(r"^(?:(?P<fork>chakracore)/)?(?P<folder>\d+(?:\.\d+)?)/(?:(?P<variant>[^/]+)/)?Dockerfile$")
_NODE_VERSION = re.compile(r"^ENV\s+NODE_VERSION[\s=]+v?(\d+\.\d+\.\d+)\s*$", re.MULTILINE)
_FROM = re.compile(r"^FROM\s+(\S+)", re.MULTILINE)
_ARRAY = re.compile(r"^array_([0-9a-z_]+)='([^']*)'", re.MULTILINE)
_CONFIG_LINE = re.compile(r"^(\w+)\s+(.*?)\s*$", re.MULTILINE)
_FULL = re.compile(r"^(\d+)\.(\d+)\.(\d+)$")


@dataclass
class Git:
    """`git` over one repository, with one `cat-file --batch` process for every blob read."""

    git_dir: Path
    _blobs: dict[str, str] = field(default_factory=dict)
    _batch: subprocess.Popen[bytes] | None = None

    def run(self, *args: str) -> str:
        done = subprocess.run(
            ["git", f"--git-dir={self.git_dir}", *args], check=True, capture_output=True, text=True, encoding="utf-8"
        )
        return done.stdout

    def blob(self, sha: str) -> str:
        known = self._blobs.get(sha)
        if known is not None:
            return known
        if self._batch is None:
            self._batch = subprocess.Popen(
                ["git", f"--git-dir={self.git_dir}", "cat-file", "--batch"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
            )
        assert self._batch.stdin is not None and self._batch.stdout is not None
        self._batch.stdin.write(f"{sha}\n".encode())
        self._batch.stdin.flush()
        header = self._batch.stdout.readline().split()
        size = int(header[2])
        text = self._batch.stdout.read(size + 1)[:size].decode("utf-8", "replace")
        self._blobs[sha] = text
        return text

    def close(self) -> None:
        if self._batch is not None and self._batch.stdin is not None:
            self._batch.stdin.close()
            self._batch.wait()


@dataclass(frozen=True)
class Image:
    """One Dockerfile of one commit, as the generator of its era saw it."""

    fork: str  # "chakracore" or ""
    folder: str  # "0.10", "8", "22"
    variant: str  # the variant folder, "" for the folder's own Dockerfile
    text: str


@dataclass
class History:
    """What the walk found: per suffix the full versions with their base, and the alias tags."""

    versions: dict[str, dict[str, str | None]] = field(default_factory=dict)
    aliases: dict[str, tuple[str, str | None]] = field(default_factory=dict)
    commits: dict[str, int] = field(default_factory=dict)  # era -> commits read
    first_seen: dict[str, str] = field(default_factory=dict)  # tag -> era it was first published in
    era: str = ""
    served: set[str] = field(default_factory=set)  # the alias tags of the commit being read

    def publish(self, words: list[str], suffixes: list[str], full: str, base: str | None) -> None:
        numeric = {full, ".".join(full.split(".")[:2]), full.split(".")[0]}
        for suffix in suffixes:
            for word in words:
                tag = suffix if word == "latest" and suffix else f"{word}-{suffix}" if suffix else word
                self.first_seen.setdefault(tag, self.era)
                if word in numeric:
                    self.versions.setdefault(suffix, {})[full] = base
                    self.aliases.pop(tag, None)  # a version tag now (`node:0` was once an alias of 4.0.0)
                else:
                    self.aliases[tag] = (full, base)
                    self.served.add(tag)


def base_of(image: Image) -> str | None:
    """The variant the image is built on, in the image's own words (`jessie-slim`, `alpine3.4`)."""
    match = _FROM.search(image.text)
    source = match.group(1) if match else ""
    name, _, tag = source.partition(":")
    if name == "buildpack-deps":
        release, _, flavour = tag.partition("-")
        return release if not flavour else f"{release}-slim"  # `-curl`/`-scm`: no compilers
    if name == "debian":
        return f"{tag.removesuffix('-slim')}-slim"
    if name == "alpine":
        return f"alpine{tag}"
    return None  # `FROM node:...` (onbuild) or something the walk does not know


def _versions_of(images: list[Image]) -> dict[tuple[str, str], str]:
    """The full version of each folder, from its own or its first Dockerfile that states one."""
    found: dict[tuple[str, str], str] = {}
    for image in sorted(images, key=lambda i: i.variant != ""):
        match = _NODE_VERSION.search(image.text)
        if match:
            found.setdefault((image.fork, image.folder), match.group(1))
    return found


def read_images(git: Git, commit: str) -> tuple[list[Image], dict[str, str]]:
    """The commit's Dockerfiles and its other top-level files the generators read."""
    images, files = [], {}
    for line in git.run("ls-tree", "-r", commit).splitlines():
        meta, _, path = line.partition("\t")
        sha = meta.split()[2]
        if path in ("generate-stackbrew-library.sh", "stackbrew.js", "versions.json", "config"):
            files[path] = git.blob(sha)
            continue
        match = _DOCKERFILE.match(path)
        if match:
            fork, folder, variant = match.group("fork") or "", match.group("folder"), match.group("variant") or ""
            images.append(Image(fork, folder, variant, git.blob(sha)))
    return images, files


def shell_era(history: History, images: list[Image], files: dict[str, str]) -> None:
    script = files.get("generate-stackbrew-library.sh", "")
    stubs = {key: words.split() for key, words in _ARRAY.findall(script)}
    config = dict(_CONFIG_LINE.findall(files.get("config", "")))
    default = config.get("default_variant", "") if "default_variant" in script else ""
    slim_alias = "${default_variant}-slim" in script
    alpine_default = f"alpine{config.get('alpine_version', '')}" if "default_alpine" in script else None
    by_minor = '"_" $2' in script  # the 2015-2016 scripts keyed `array_X_Y` by the X.Y folder
    versions = _versions_of(images)
    for image in images:
        full = versions.get((image.fork, image.folder))
        if full is None:
            continue
        key = image.folder.replace(".", "_") if by_minor else image.folder.split(".")[0]
        words = [full, ".".join(full.split(".")[:2]), *stubs.get(f"{image.fork}_{key}" if image.fork else key, [])]
        if image.fork:
            words = [w if w.startswith(image.fork) else f"{image.fork}-{w}" for w in words]
        suffixes = [image.variant]
        if image.variant and image.variant == default:
            suffixes.append("")
        if slim_alias and default and image.variant == f"{default}-slim":
            suffixes.append("slim")
        if alpine_default and image.variant == alpine_default:
            suffixes.append("alpine")
        history.publish(words, suffixes, full, base_of(image))


def js_era(history: History, images: list[Image], files: dict[str, str], day: date) -> None:
    config = json.loads(files["versions.json"])
    found_current = found_lts = False
    folders = {(i.folder, i.variant): i for i in images if not i.fork}
    for major in sorted(config, key=int, reverse=True):
        entry = config[major]
        lts = _day(entry.get("lts"))
        current = not found_current and (lts is None or lts >= day)
        found_current = found_current or current
        is_lts = not found_lts and lts is not None and day >= lts
        found_lts = found_lts or is_lts
        codename = entry.get("codename") or ""
        for variant in entry.get("variants", {}):
            image = folders.get((major, variant))
            match = _NODE_VERSION.search(image.text) if image else None
            if match is None:
                continue
            full = match.group(1)
            words = [full, ".".join(full.split(".")[:2]), major]
            words += [codename] if codename else []
            words += ["latest", "current"] if current else []
            words += ["lts"] if is_lts else []
            suffixes = [variant]
            if variant == entry.get("debian-default"):
                suffixes.append("")
                if is_lts and codename:
                    history.publish([f"lts-{codename}"], [""], full, variant)
            if variant == f"{entry.get('debian-default')}-slim":
                suffixes.append("slim")
            if variant == entry.get("alpine-default"):
                suffixes.append("alpine")
            history.publish(words, suffixes, full, variant)


def walk(git: Git, ref: str = "HEAD") -> History:
    history = History()
    log = git.run("log", "--first-parent", "--reverse", "--format=%H %cs", ref)
    for line in log.splitlines():
        commit, day = line.split()
        images, files = read_images(git, commit)
        history.served = set()
        history.era = "versions.json" if "stackbrew.js" in files and "versions.json" in files else "folders"
        if history.era == "versions.json":
            js_era(history, images, files, date.fromisoformat(day))
        else:
            shell_era(history, images, files)
        history.commits[history.era] = history.commits.get(history.era, 0) + 1
    return history


def _version_key(full: str) -> tuple[int, ...]:
    return tuple(int(part) for part in full.split("."))


def compact(history: History, commit: str, day: str) -> dict[str, object]:
    """The shipped form: per suffix and major the `MINOR.PATCH` list; the bases only where they
    are not the suffix itself, as the versions from which each applies; the alias tags, and those
    of them the last commit still published (`latest`, `lts-alpine`: they move, and are not
    "no longer updated")."""
    versions: dict[str, dict[str, str]] = {}
    bases: dict[str, dict[str, list[list[str | None]]]] = {}
    for suffix, built in sorted(history.versions.items()):
        for full in sorted(built, key=_version_key):
            major, _, rest = full.partition(".")
            listed = versions.setdefault(suffix, {})
            listed[major] = f"{listed[major]} {rest}" if major in listed else rest
            base = built[full]
            if base == suffix:
                continue
            changes = bases.setdefault(suffix, {}).setdefault(major, [])
            if not changes or changes[-1][1] != base:
                changes.append([rest, base])
    newest = max(int(major) for listed in versions.values() for major in listed)
    return {
        "repository": "nodejs/docker-node",
        "commit": commit,
        "commit_date": day,
        "newest_major": newest,
        "versions": versions,
        "bases": bases,
        "aliases": {tag: [full, base] for tag, (full, base) in sorted(history.aliases.items())},
        "aliases_served_at_commit": sorted(history.served),
    }


def counts(history: History) -> Iterator[str]:
    """Commits read and tags found, by the era each tag was first published in."""
    yield f"commits read: {history.commits}"
    yield f"tags: {len(history.first_seen)}"
    for era in sorted(set(history.commits)):
        tags = [tag for tag, first in history.first_seen.items() if first == era]
        named = sum(tag in history.aliases for tag in tags)
        yield f"first published in the {era} era: {len(tags)} ({len(tags) - named} with a version, {named} without)"
    yield f"full versions x suffixes: {sum(map(len, history.versions.values()))}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("git_dir", type=Path, help="a clone of nodejs/docker-node (its .git or a bare repository)")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument("--ref", default="HEAD")
    args = parser.parse_args(argv)
    git = Git(args.git_dir)
    try:
        history = walk(git, args.ref)
        commit, day = git.run("log", "-1", "--format=%H %cs", args.ref).split()
    finally:
        git.close()
    document = compact(history, commit, day)
    args.output.write_text(json.dumps(document, separators=(",", ":"), sort_keys=True) + "\n", encoding="utf-8")
    for line in counts(history):
        print(line)
    print(f"wrote {args.output} ({args.output.stat().st_size} bytes)")
    return 0


def _day(value: object) -> date | None:
    try:
        return date.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


if __name__ == "__main__":
    sys.exit(main())
