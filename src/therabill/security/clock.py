"""An injectable clock, so that session timeouts can be tested without waiting."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    """The current time as a naive UTC datetime (as stored in the database)."""
    return datetime.now(UTC).replace(tzinfo=None)
