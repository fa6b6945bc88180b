"""Docker's `.dockerignore` matching, as the builder does it (not gitignore's rules).

Each line is a pattern: `#` in the first column starts a comment, surrounding space is trimmed,
`!` negates, the pattern is cleaned like Go's `filepath.Clean` (so `./a//b/` is `a/b`) and a
leading `/` dropped. Patterns use Go's `filepath.Match` syntax (`*`, `?`, `[...]`, `\\` escapes,
none of them crossing `/`) plus `**`, which matches any number of folders. The last pattern that
matches a path decides, and a pattern that matches a folder also covers everything inside it.
There is no gitignore-style "match at any depth": `node_modules` covers only the top-level one.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from functools import cached_property


@dataclass(frozen=True)
class Pattern:
    text: str  # cleaned, without the `!`
    negated: bool

    @cached_property
    def regex(self) -> re.Pattern[str] | None:
        """The pattern as a regular expression; None when it is malformed (Docker errors on it)."""
        return _translate(self.text)

    @cached_property
    def is_literal(self) -> bool:
        """No wildcard, class or escape: the pattern names one path."""
        return not any(special in self.text for special in "*?[\\")

    def matches(self, path: str) -> bool:
        """Whether the pattern matches the path or one of its parent folders."""
        if self.is_literal:
            # What the expression would match, without compiling one (most patterns are names).
            return path == self.text or path.startswith(self.text + "/")
        regex = self.regex
        if regex is None:
            return False
        parts = path.split("/")
        return any(regex.fullmatch("/".join(parts[:i])) for i in range(len(parts), 0, -1))


def clean(path: str) -> str:
    """Go's filepath.Clean for slash paths, with a leading `/` dropped as Docker does."""
    cleaned = posixpath.normpath(path) if path else "."
    if cleaned.startswith("//"):
        cleaned = "/" + cleaned.lstrip("/")
    if len(cleaned) > 1 and cleaned.startswith("/"):
        cleaned = cleaned[1:]
    return cleaned


def _translate(pattern: str) -> re.Pattern[str] | None:
    """Go filepath.Match syntax plus `**` as a regular expression; None if malformed."""
    out = []
    i = 0
    n = len(pattern)
    while i < n:
        ch = pattern[i]
        if ch == "*":
            if i + 1 < n and pattern[i + 1] == "*":
                i += 2
                if i < n and pattern[i] == "/":
                    i += 1
                out.append(".*" if i >= n else "(?:.*/)?")
                continue
            out.append("[^/]*")
        elif ch == "?":
            out.append("[^/]")
        elif ch == "\\":
            i += 1
            if i >= n:
                return None
            out.append(re.escape(pattern[i]))
        elif ch == "[":
            end = i + 1
            if end < n and pattern[end] == "^":
                end += 1
            if end < n and pattern[end] == "]":
                return None  # Go rejects an empty class
            while end < n and pattern[end] != "]":
                end += 2 if pattern[end] == "\\" else 1
            if end >= n:
                return None
            body = pattern[i + 1 : end]
            negate = body.startswith("^")
            if negate:
                body = body[1:]
            out.append("[" + ("^" if negate else "") + body.replace("[", "\\[") + "]")
            i = end
        else:
            out.append(re.escape(ch))
        i += 1
    try:
        return re.compile("".join(out), re.DOTALL)
    except re.error:
        return None


def parse_pattern(line: str) -> Pattern | None:
    """One line of a .dockerignore as a pattern; None for comments and empty lines."""
    if line.startswith("#"):
        return None
    text = line.strip()
    if not text:
        return None
    negated = text.startswith("!")
    if negated:
        text = text[1:].strip()
        if not text:
            return None
    text = clean(text)
    return Pattern(text, negated)


class DockerIgnore:
    """The patterns of one .dockerignore file, in order."""

    def __init__(self, patterns: list[Pattern]):
        self.patterns = patterns

    @classmethod
    def parse(cls, text: str | bytes) -> DockerIgnore:
        if isinstance(text, bytes):
            text = text.decode("utf-8", "replace")
        text = text.removeprefix("\ufeff")
        patterns = [parse_pattern(line.rstrip("\r")) for line in text.split("\n")]
        return cls([p for p in patterns if p is not None])

    def excludes(self, path: str) -> bool:
        """Whether the builder leaves this context path (relative, slash-separated) out."""
        path = clean(path)
        if path in (".", "/"):
            return False
        excluded = False
        for pattern in self.patterns:
            if pattern.matches(path):
                excluded = not pattern.negated
        return excluded

    def negations_touching(self, path: str) -> bool:
        """Whether a `!` pattern re-includes this path or something inside it."""
        path = clean(path)
        for pattern in self.patterns:
            if not pattern.negated:
                continue
            if pattern.matches(path) or pattern.text.startswith(path + "/") or pattern.text.startswith("**"):
                return True
        return False
