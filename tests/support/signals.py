"""Children that a test interrupts with SIGINT."""

from __future__ import annotations

import signal


def default_sigint() -> None:
    """`preexec_fn` for a child the test sends SIGINT: a shell runs a background job (`cmd &`,
    nohup, some CI runners) with SIGINT ignored, the child inherits that, and Python then never
    installs its KeyboardInterrupt handler, so the signal the test sends would do nothing."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
