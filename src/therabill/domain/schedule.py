"""The calendar's rules: appointment statuses, overlaps with buffers, local time, recurrence dates.

Pure functions on plain values (stdlib only). Times handed to these functions are naive UTC
unless the name says ``local``; a practice's wall-clock time is turned into UTC with its IANA
zone (``zoneinfo``), so a weekly 10:00 appointment stays at 10:00 local across the March and
November clock changes while its UTC hour moves.

Statuses, as a person reads them: booked (stored ``scheduled``) -> confirmed -> checked in
(stored ``arrived``) -> completed, or no-show / late cancel / cancelled.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from therabill.domain.errors import Problem, TherabillError

DEFAULT_TIME_ZONE = "America/New_York"


class AppointmentStatus(StrEnum):
    """Where an appointment is (the stored values)."""

    SCHEDULED = "scheduled"
    CONFIRMED = "confirmed"
    ARRIVED = "arrived"
    COMPLETED = "completed"
    NO_SHOW = "no_show"
    LATE_CANCEL = "late_cancel"
    CANCELLED = "cancelled"


_A = AppointmentStatus

STATUS_LABELS: dict[AppointmentStatus, str] = {
    _A.SCHEDULED: "Booked",
    _A.CONFIRMED: "Confirmed",
    _A.ARRIVED: "Checked in",
    _A.COMPLETED: "Completed",
    _A.NO_SHOW: "No-show",
    _A.LATE_CANCEL: "Late cancel",
    _A.CANCELLED: "Cancelled",
}
"""The words a person reads for each status."""

_ENDED = frozenset({_A.NO_SHOW, _A.LATE_CANCEL, _A.CANCELLED})

APPOINTMENT_TRANSITIONS: dict[AppointmentStatus, frozenset[AppointmentStatus]] = {
    _A.SCHEDULED: frozenset({_A.CONFIRMED, _A.ARRIVED, _A.COMPLETED}) | _ENDED,
    _A.CONFIRMED: frozenset({_A.SCHEDULED, _A.ARRIVED, _A.COMPLETED}) | _ENDED,
    _A.ARRIVED: frozenset({_A.COMPLETED, _A.CANCELLED}),
    _A.COMPLETED: frozenset(),
    _A.NO_SHOW: frozenset({_A.SCHEDULED}),
    _A.LATE_CANCEL: frozenset({_A.SCHEDULED}),
    _A.CANCELLED: frozenset({_A.SCHEDULED}),
}
"""For each appointment status, the statuses it may move to."""

OCCUPYING = frozenset({_A.SCHEDULED, _A.CONFIRMED, _A.ARRIVED, _A.COMPLETED})
"""Statuses whose appointment holds its therapist and room (the others free the slot)."""

MOVABLE = frozenset({_A.SCHEDULED, _A.CONFIRMED})
"""Statuses whose appointment may be rescheduled."""


class ScheduleError(TherabillError):
    """A calendar rule refused the request (the problems say which)."""

    code = "schedule-invalid"


def refuse(code: str, loc: str, message: str) -> ScheduleError:
    """A ``ScheduleError`` with one problem."""
    return ScheduleError(message, (Problem(code, loc, message),))


def status_label(status: str) -> str:
    """The word a person reads for a stored status."""
    try:
        return STATUS_LABELS[AppointmentStatus(status)]
    except ValueError:
        return status


def check_transition(current: str, new: str) -> AppointmentStatus:
    """The new status, or ``ScheduleError`` when ``current`` may not move to it."""
    try:
        cur, nxt = AppointmentStatus(current), AppointmentStatus(new)
    except ValueError:
        raise refuse(
            "appointment-status-unknown", "status", f"{new!r} is not an appointment status"
        ) from None
    if nxt not in APPOINTMENT_TRANSITIONS[cur]:
        raise refuse(
            "appointment-status-transition",
            "status",
            f"a {status_label(cur).lower()} appointment cannot become {status_label(nxt).lower()}",
        )
    return nxt


def check_movable(status: str) -> None:
    """Refuse to reschedule an appointment that is no longer booked or confirmed."""
    if AppointmentStatus(status) not in MOVABLE:
        raise refuse(
            "appointment-not-movable",
            "start",
            f"a {status_label(status).lower()} appointment cannot be moved",
        )


@dataclass(frozen=True, slots=True)
class Span:
    """A stretch of time a therapist or room is held, buffer included.

    Attributes:
        start: first instant held (naive UTC).
        end: first instant free again (naive UTC): the appointment's end plus its buffer.
    """

    start: datetime
    end: datetime

    def overlaps(self, other: Span) -> bool:
        """Whether the two spans share any instant (touching ends do not overlap)."""
        return self.start < other.end and other.start < self.end


def held_span(start: datetime, end: datetime, buffer_minutes: int) -> Span:
    """What an appointment holds: from its start to its end plus the buffer."""
    if end <= start:
        raise refuse("appointment-times-invalid", "end", "the appointment must end after it starts")
    if buffer_minutes < 0:
        raise refuse("buffer-negative", "buffer_minutes", "the buffer cannot be negative")
    return Span(start, end + timedelta(minutes=buffer_minutes))


def is_late_cancel(start: datetime, at: datetime, window_hours: int | None) -> bool:
    """Whether cancelling at ``at`` an appointment starting at ``start`` falls inside the window."""
    if not window_hours:
        return False
    return start - at < timedelta(hours=window_hours)


# -- time zones ----------------------------------------------------------------------------


def zone(name: str) -> ZoneInfo:
    """The IANA zone ``name``, or ``ScheduleError`` when it is not one."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise refuse("time-zone-unknown", "time_zone", f"{name!r} is not an IANA time zone") from None


EARLIEST_YEAR, LATEST_YEAR = 1900, 2199


def check_when(value: date | None, loc: str) -> None:
    """Refuse a date or time outside the years a calendar can hold (1900-2199)."""
    if value is not None and not EARLIEST_YEAR <= value.year <= LATEST_YEAR:
        raise refuse(
            "time-out-of-range", loc, f"{value.isoformat()} is outside {EARLIEST_YEAR}-{LATEST_YEAR}"
        )


def wall_clock(value: datetime, zone_name: str) -> datetime:
    """``value`` as the practice's naive wall-clock time (a value with an offset is converted)."""
    if value.tzinfo is None:
        return value
    return value.astimezone(zone(zone_name)).replace(tzinfo=None)


def to_utc(local: datetime, zone_name: str) -> datetime:
    """A practice's wall-clock time as naive UTC (a time skipped by DST moves forward)."""
    tz = zone(zone_name)
    aware = wall_clock(local, zone_name).replace(tzinfo=tz)
    # A non-existent local time (spring forward) is normalised by a round trip.
    return aware.astimezone(UTC).replace(tzinfo=None)


def to_local(utc: datetime, zone_name: str) -> datetime:
    """Naive UTC as the practice's naive wall-clock time."""
    return utc.replace(tzinfo=UTC).astimezone(zone(zone_name)).replace(tzinfo=None)


def local_day_bounds(day: date, zone_name: str) -> tuple[datetime, datetime]:
    """The naive-UTC start and end of a local calendar day (23 or 25 hours on change days)."""
    return to_utc(datetime.combine(day, time()), zone_name), to_utc(
        datetime.combine(day + timedelta(days=1), time()), zone_name
    )


# -- working hours and free slots -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Hours:
    """A therapist's working stretch on one weekday, local wall-clock time.

    Attributes:
        weekday: 0 = Monday ... 6 = Sunday.
        start: local start (``09:00``).
        end: local end (``17:00``).
    """

    weekday: int
    start: time
    end: time


def parse_hhmm(text: str, loc: str) -> time:
    """``HH:MM`` as a time, or ``ScheduleError`` naming ``loc``."""
    try:
        return time.fromisoformat(text)
    except (TypeError, ValueError):
        raise refuse("time-invalid", loc, f"{text!r} is not a time (HH:MM)") from None


def check_hours(weekday: int, start: str, end: str) -> Hours:
    """Validated working hours."""
    if not 0 <= weekday <= 6:
        raise refuse("weekday-invalid", "weekday", "weekday must be 0 (Monday) to 6 (Sunday)")
    s, e = parse_hhmm(start, "start"), parse_hhmm(end, "end")
    if e <= s:
        raise refuse("hours-invalid", "end", "working hours must end after they start")
    return Hours(weekday, s, e)


def working_spans(day: date, hours: Iterable[Hours], zone_name: str) -> list[Span]:
    """The day's working stretches of a therapist, in naive UTC."""
    return [
        Span(
            to_utc(datetime.combine(day, h.start), zone_name), to_utc(datetime.combine(day, h.end), zone_name)
        )
        for h in hours
        if h.weekday == day.weekday()
    ]


def within_hours(span: Span, working: Sequence[Span]) -> bool:
    """Whether the appointment (without buffer) lies inside one working stretch."""
    return any(w.start <= span.start and span.end <= w.end for w in working)


def free_starts(
    working: Sequence[Span], busy: Sequence[Span], length: timedelta, held: timedelta, step: timedelta
) -> list[datetime]:
    """Starts, every ``step`` inside the working stretches, where ``held`` (with buffer) is free.

    ``length`` (the service without buffer) must end inside the working stretch; ``held``
    (service plus buffer) must not overlap any busy span.
    """
    ordered = sorted(busy, key=lambda s: s.start)
    out: list[datetime] = []
    for w in sorted(working, key=lambda s: s.start):
        at = w.start
        while at + length <= w.end:
            candidate = Span(at, at + held)
            if not any(candidate.overlaps(b) for b in ordered if b.start < candidate.end):
                out.append(at)
            at += step
    return out


# -- recurrence ------------------------------------------------------------------------------

WEEKDAY_CODES = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


def weekly_rule(
    first_local: datetime, *, count: int | None = None, until: date | None = None, interval: int = 1
) -> str:
    """An RFC 5545 RRULE for a weekly series starting at ``first_local`` (COUNT or UNTIL)."""
    if (count is None) == (until is None):
        raise refuse("series-end-missing", "count", "give either a number of occurrences or an end date")
    if count is not None and not 1 <= count <= 104:
        raise refuse("series-count-invalid", "count", "a series has 1 to 104 occurrences")
    if not 1 <= interval <= 8:
        raise refuse("series-interval-invalid", "interval", "repeat every 1 to 8 weeks")
    if until is not None and until < first_local.date():
        raise refuse("series-until-invalid", "until", "the series must end on or after its first day")
    parts = ["FREQ=WEEKLY", f"INTERVAL={interval}", f"BYDAY={WEEKDAY_CODES[first_local.weekday()]}"]
    parts.append(f"COUNT={count}" if count is not None else f"UNTIL={until:%Y%m%d}T235959")
    return ";".join(parts)


def shift_local(utc: datetime, delta_local: timedelta, zone_name: str) -> datetime:
    """Move ``utc`` by ``delta_local`` on the practice's wall clock (DST-safe)."""
    return to_utc(to_local(utc, zone_name) + delta_local, zone_name)
