"""Changes to the application's own code: graceful shutdown in the entry file (practice 6)."""

from dockfix.appcode.entry import EntrySource, entry_from_package_json, resolve_entry_source
from dockfix.appcode.shutdown import (
    ShutdownPlan,
    TextEdit,
    UnsupportedSourceError,
    apply_edits,
    plan_graceful_shutdown,
)

__all__ = [
    "EntrySource",
    "ShutdownPlan",
    "TextEdit",
    "UnsupportedSourceError",
    "apply_edits",
    "entry_from_package_json",
    "plan_graceful_shutdown",
    "resolve_entry_source",
]
