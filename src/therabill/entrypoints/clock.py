"""The system clock: the only place in therabill that reads the wall clock.

Entry points (the CLI, the web app, job workers) install it with ``therabill.clock``; every
use case below them reads time only through the installed clock.
"""

from __future__ import annotations

from datetime import UTC, datetime

from therabill import clock as clock_mod


def system_clock() -> datetime:
    """The current instant by the machine's clock (aware UTC)."""
    return datetime.now(UTC)


def ensure_installed() -> clock_mod.Clock:
    """The clock installed in this context, installing the system clock if there is none."""
    found = clock_mod.installed()
    if found is None:
        clock_mod.install(system_clock)
        return system_clock
    return found
