"""Time, injected: the one way code below the entry points learns what time it is.

Nothing below ``therabill.entrypoints`` reads the wall clock (an architecture test says so).
An entry point installs a clock for the work it starts: the CLI and the web app install the
system clock (``therabill.entrypoints.clock.system_clock``), tests install a fixed one, and
every use case reads the installed clock through ``current_time``. Asking for the time
where no clock is installed is a programming error (``ClockNotSetError``), never a silent
fall-back to the wall clock.

A process installs its clock once (``install``: the CLI at start, the test suite at start);
a block can put another in force for itself and what it calls (``using``: the web app for
each request, a test that moves time), kept in a ``ContextVar`` so that it follows a
request into the worker thread that serves it and never leaks into another request. Use
cases that take an explicit ``clock=`` argument default to ``current_time``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, date, datetime

Clock = Callable[[], datetime]
"""A clock: called with no arguments, it returns the current instant as an aware UTC datetime."""


class ClockNotSetError(RuntimeError):
    """The time was asked for where no entry point installed a clock."""


_SCOPED: ContextVar[Clock | None] = ContextVar("therabill_clock", default=None)
_PROCESS: list[Clock] = []


def current_time() -> datetime:
    """The current instant (aware, UTC) by the installed clock.

    Raises:
        ClockNotSetError: no clock is installed in this context.
    """
    clock = installed()
    if clock is None:
        raise ClockNotSetError(
            "no clock is installed: an entry point must install one (therabill.clock.using)"
        )
    return as_utc(clock())


def current_date() -> date:
    """Today's date (UTC) by the installed clock."""
    return current_time().date()


def installed() -> Clock | None:
    """The clock in force here: the block's (``using``), else the process's (``install``)."""
    scoped = _SCOPED.get()
    if scoped is not None:
        return scoped
    return _PROCESS[0] if _PROCESS else None


def install(clock: Clock) -> None:
    """Install ``clock`` for the whole process (its threads included): a main entry point."""
    _PROCESS[:] = [clock]


@contextmanager
def using(clock: Clock) -> Iterator[Clock]:
    """Put ``clock`` in force for the block (and the threads it hands its context to)."""
    token = _SCOPED.set(clock)
    try:
        yield clock
    finally:
        _SCOPED.reset(token)


def as_utc(at: datetime) -> datetime:
    """``at`` as an aware UTC datetime (a naive value is taken to be UTC already)."""
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def naive_utc(at: datetime) -> datetime:
    """``at`` as a naive UTC datetime (as X12 envelopes and stored sessions write time)."""
    return as_utc(at).replace(tzinfo=None)


def fixed(at: datetime) -> Clock:
    """A clock that always says ``at`` (a naive value is taken to be UTC)."""
    instant = as_utc(at)
    return lambda: instant
