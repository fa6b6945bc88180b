"""Text taken from files and file names, made safe to show in a report.

Two rules hold for every report format:

- Control characters are escaped (`escape_controls`): ESC becomes the four characters `\\x1b`,
  a newline `\\n`, so a Dockerfile or a file name cannot move the cursor, recolour the terminal,
  set its title or forge a second report line. A tab is kept. The escaping is idempotent: its
  output holds no control character, so escaping twice changes nothing.
- A quoted `key=value` (or `key:value`, `"key": "value"`) whose key names a secret (token, password, secret,
  auth, api key, private or access key, credential) has its value masked, and so has the
  password of a URL (`https://user:***@host`). A value that only refers to a variable
  (`$NPM_TOKEN`, `${NPM_TOKEN}`) is no secret and is kept.

JSON reports escape control characters by JSON's own rules (`json_safe` adds DEL and the C1
range, which JSON allows raw but a terminal reads as commands).
"""

from __future__ import annotations

import re

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_NAMED = {"\n": "\\n", "\r": "\\r"}
_RAW_IN_JSON = re.compile(r"[\x7f-\x9f]")

# A key that names a secret, then its value (quoted, or up to a space, quote or comma) after `=`, after a
# `:` that touches it (`_authToken:abc`), or after the `:` of a quoted key (`"password": "abc"`).
# Prose such as "rotate the token: it was in the image" is not a key and value.
_SECRET_VALUE = re.compile(
    r"""(?ix)
    (?P<key>[\w.\-/@]*(?:token|passw(?:or)?d|secret|_?auth(?!or)|api[_-]?key|private[_-]?key
        |access[_-]?key|credentials?)[\w.\-]*)
    (?P<sep>["']?\s*=\s*|:(?=[^\s"'])|["']:\s*)
    (?P<value>"[^"]*"?|'[^']*'?|[^\s"',;]+)
    """
)
_URL_PASSWORD = re.compile(r"(?P<head>\b[a-z][a-z0-9+.\-]*://[^/\s:@]+:)(?P<value>[^@\s/]+)(?=@)", re.IGNORECASE)
_VARIABLE = re.compile(r"\$\{?\w+\}?")
MASK = "***"


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    return _NAMED.get(char) or f"\\x{ord(char):02x}"


def escape_controls(text: str, keep: str = "\t") -> str:
    """`text` with every control character but those in `keep` written as an escape (`\\x1b`, `\\n`)."""
    return _CONTROL.sub(lambda match: match.group() if match.group() in keep else _escape(match), text)


def _mask_value(match: re.Match[str]) -> str:
    value = match.group("value").strip("\"'")
    if not value or _VARIABLE.fullmatch(value):
        return match.group()
    return match.group()[: match.start("value") - match.start()] + MASK


def mask_secrets(text: str) -> str:
    """`text` with the value of every secret-looking `key=value` and URL password masked."""
    return _URL_PASSWORD.sub(_mask_value, _SECRET_VALUE.sub(_mask_value, text))


def quote(text: str) -> str:
    """Text from a file as a report may show it: secrets masked, control characters escaped."""
    return escape_controls(mask_secrets(text))


def _json_escape(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def json_safe(rendered: str) -> str:
    """JSON text with DEL and the C1 controls written as `\\u` escapes (json.dumps leaves them raw)."""
    return _RAW_IN_JSON.sub(_json_escape, rendered)
