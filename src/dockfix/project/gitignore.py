"""`.gitignore` matching, enough to skip what a repository ignores while searching for Dockerfiles.

Git's rules: a blank line or one starting with `#` is nothing; `!` negates; a trailing `/`
matches folders only; a pattern with a `/` at its start or in its middle is anchored to the
folder of its `.gitignore`, others match a name at any depth below it; `*` and `?` do not cross
`/`, `**` does; `[...]` classes; `\\` escapes. The last matching pattern decides, and a file in
an ignored folder is ignored whatever the patterns say (the search never enters the folder).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from .fsutil import FileProblem, read_regular_file

MAX_GITIGNORE_SIZE = 1024 * 1024


@dataclass(frozen=True)
class GitignorePattern:
    """One line of a `.gitignore`, compiled against the folder it sits in."""

    base: Path
    regex: re.Pattern[str]
    negated: bool
    folders_only: bool


def _translate(pattern: str) -> str:
    """A gitignore glob (without anchoring) as a regular expression over slash paths."""
    out = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "*":
            if pattern.startswith("**", i):
                # `**/` any folders (or none); a trailing `**` everything inside.
                if pattern.startswith("**/", i):
                    out.append("(?:.*/)?")
                    i += 3
                    continue
                out.append(".*")
                i += 2
                continue
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "[":
            end = pattern.find("]", i + 2 if pattern.startswith(("[!", "[^"), i) else i + 1)
            if end < 0:
                out.append(re.escape(char))
            else:
                body = pattern[i + 1 : end]
                if body.startswith("!"):
                    body = "^" + body[1:]
                out.append("[" + body.replace("\\", "\\\\") + "]")
                i = end + 1
                continue
        elif char == "\\" and i + 1 < len(pattern):
            i += 1
            out.append(re.escape(pattern[i]))
        else:
            out.append(re.escape(char))
        i += 1
    return "".join(out)


def parse_gitignore(text: str, base: Path) -> list[GitignorePattern]:
    """The patterns of one `.gitignore` in folder `base`."""
    patterns = []
    for raw in text.splitlines():
        line = raw.rstrip("\r")
        # Trailing spaces are dropped unless escaped.
        while line.endswith(" ") and not line.endswith("\\ "):
            line = line[:-1]
        if not line or line.startswith("#"):
            continue
        negated = line.startswith("!")
        if negated or line.startswith("\\!") or line.startswith("\\#"):
            line = line[1:]
        folders_only = line.endswith("/")
        line = line.rstrip("/")
        if not line:
            continue
        anchored = "/" in line
        line = line.lstrip("/")
        body = _translate(line)
        regex = re.compile(body if anchored else f"(?:.*/)?{body}", re.DOTALL)
        patterns.append(GitignorePattern(base, regex, negated, folders_only))
    return patterns


class IgnoreRules:
    """The patterns in force in one folder: those of its `.gitignore` and of the folders above."""

    def __init__(self, patterns: tuple[GitignorePattern, ...] = ()):
        self.patterns = patterns

    def with_file(self, folder: Path) -> IgnoreRules:
        """These rules plus the `.gitignore` of `folder`, if it has a readable one."""
        path = folder / ".gitignore"
        try:
            data = read_regular_file(path, MAX_GITIGNORE_SIZE)
        except FileProblem:
            return self
        text = data.decode("utf-8", "surrogateescape").replace("\r\n", "\n").replace("\r", "\n")
        added = parse_gitignore(text, folder)
        return IgnoreRules(self.patterns + tuple(added)) if added else self

    def ignores(self, path: Path, *, is_dir: bool) -> bool:
        """Whether the last pattern matching the absolute `path` ignores it."""
        decision = False
        for pattern in self.patterns:
            if pattern.folders_only and not is_dir:
                continue
            try:
                relative = path.relative_to(pattern.base).as_posix()
            except ValueError:
                continue
            if pattern.regex.fullmatch(relative):
                decision = not pattern.negated
        return decision
