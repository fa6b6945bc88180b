"""DF008 multi-stage-build."""

from .reading import RULE, check

__all__ = ["RULE", "check"]
