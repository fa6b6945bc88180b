"""`--output-format github`: GitHub Actions workflow commands, one annotation per finding.

    ::warning file=Dockerfile,line=3,title=DF002 production-dependencies::install production dependencies only
    ::error file=api/Dockerfile,line=1,title=dockfix::unterminated heredoc 'EOF'

Values are escaped as the Actions runner expects (`%`, CR and LF everywhere; `:` and `,` in
properties too); other control characters are written as escapes and secret-looking values
masked (shown_text.py).
"""

from __future__ import annotations

import os
from pathlib import Path

from ..edits import Applicability, Finding
from ..shown_text import escape_controls, mask_secrets
from .diff import display_path


def _escape_data(text: str) -> str:
    # The runner's own escapes first (a message may span lines), then every other control character.
    return escape_controls(text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A"))


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def annotation(level: str, path: Path, line: int | None, title: str, message: str) -> str:
    """One workflow command line."""
    properties = [f"file={_escape_property(display_path(path).replace(os.sep, '/'))}"]
    if line:
        properties.append(f"line={line}")
    properties.append(f"title={_escape_property(title)}")
    return f"::{level} {','.join(properties)}::{_escape_data(message)}"


def finding_annotation(finding: Finding, path: Path, rule_name: str | None) -> str:
    """A finding as a warning (with a fix) or notice (without one, or a note)."""
    fixable = finding.fix is not None and finding.fix.applicability is not Applicability.DISPLAY_ONLY
    title = f"{finding.code} {rule_name}" if rule_name else finding.code
    level = "warning" if fixable else "notice"
    return annotation(level, finding.path or path, finding.line, title, mask_secrets(finding.message))


def error_annotation(path: Path, message: str, line: int | None) -> str:
    """A file that could not be processed."""
    return annotation("error", path, line, "dockfix", mask_secrets(message))
