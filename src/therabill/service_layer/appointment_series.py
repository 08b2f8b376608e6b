"""Appointment series: a weekly appointment as an RFC 5545 rule (``dateutil.rrule``).

Every occurrence is booked through the one double-booking check; the series keeps its local
wall-clock time across daylight-saving changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from dateutil.rrule import rrulestr
from sqlalchemy import Engine

from therabill.adapters.db.tables import appointment_series, appointments
from therabill.clock import Clock, current_time
from therabill.domain import schedule as rules
from therabill.domain.errors import Problem
from therabill.domain.schedule import AppointmentStatus, ScheduleError, Span, refuse
from therabill.service_layer.appointments import Appointment, book_in, views
from therabill.service_layer.availability import conflicts, plan_span
from therabill.service_layer.schedule_setup import policy_in
from therabill.service_layer.uow import UnitOfWork

__all__ = ["SeriesResult"]


@dataclass(frozen=True, slots=True)
class SeriesResult:
    """What booking a weekly series did.

    Attributes:
        series_id: the series.
        rule: its RFC 5545 RRULE.
        booked: the occurrences booked.
        conflicts: local starts not booked because they would double-book (with the reason).
    """

    series_id: str
    rule: str
    booked: tuple[Appointment, ...]
    conflicts: tuple[Problem, ...]


# -- weekly series ---------------------------------------------------------------------------


def book_weekly(
    engine: Engine,
    practice_id: str,
    actor: str,
    *,
    patient_id: str,
    provider_id: str,
    first_local: datetime,
    service_id: str | None = None,
    room_id: str | None = None,
    end_local: datetime | None = None,
    count: int | None = None,
    until: date | None = None,
    interval: int = 1,
    skip_conflicts: bool = False,
    reason: str | None = None,
    clock: Clock = current_time,
) -> SeriesResult:
    """Book a weekly series at the same local time each week (RFC 5545 rule).

    An occurrence that would double-book is never booked: without ``skip_conflicts`` the
    whole series is refused listing every conflict; with it, the other occurrences are booked
    and the conflicts are returned.
    """
    rules.check_when(first_local, "start_local")
    rules.check_when(end_local, "end_local")
    rules.check_when(until, "until")
    with UnitOfWork(engine, practice_id, actor, clock=clock) as uow:
        zone = policy_in(uow).time_zone
        first_local = rules.wall_clock(first_local, zone)
        end_local = rules.wall_clock(end_local, zone) if end_local is not None else None
        rule = rules.weekly_rule(first_local, count=count, until=until, interval=interval)
        length = (end_local - first_local) if end_local is not None else None
        starts = list(rrulestr(rule, dtstart=first_local))
        series_id = uow.records.insert(
            appointment_series,
            rule=rule,
            first_local=first_local.isoformat(timespec="seconds"),
            created_at=uow.now(),
        )
        booked: list[str] = []
        conflicts: list[Problem] = []
        for local in starts:
            try:
                booked.append(
                    book_in(
                        uow,
                        zone,
                        patient_id=patient_id,
                        provider_id=provider_id,
                        start=rules.to_utc(local, zone),
                        end=rules.to_utc(local + length, zone) if length is not None else None,
                        service_id=service_id,
                        room_id=room_id,
                        reason=reason,
                        series_id=series_id,
                    )
                )
            except ScheduleError as exc:
                if exc.problems and exc.problems[0].code in (
                    "appointment-times-invalid",
                    "service-not-offered",
                ):
                    raise
                conflicts.extend(
                    Problem(p.code, f"occurrence {local:%Y-%m-%d %H:%M}", p.message) for p in exc.problems
                )
        if conflicts and not skip_conflicts:
            raise ScheduleError("some occurrences would double-book; nothing was booked", tuple(conflicts))
        if not booked:
            raise ScheduleError("no occurrence of the series is free; nothing was booked", tuple(conflicts))
        uow.record(
            "appointment.series", "appointment_series", series_id, {"rule": rule, "booked": len(booked)}
        )
        found = views(uow, [uow.records.get(appointments, a) for a in booked], zone)
        return SeriesResult(series_id, rule, tuple(found), tuple(conflicts))


def _rest_of_series(uow: UnitOfWork, row: Any) -> list[Any]:
    if row.series_id is None:
        raise refuse(
            "appointment-not-in-series", "appointment_id", "this appointment is not part of a series"
        )
    return uow.records.rows(
        appointments,
        appointments.c.series_id == row.series_id,
        appointments.c.start >= row.start,
        appointments.c.status.in_([s.value for s in rules.MOVABLE]),
        order_by=[appointments.c.start],
    )


def move_series_from(
    engine: Engine,
    practice_id: str,
    actor: str,
    appointment_id: str,
    *,
    start_local: datetime,
    clock: Clock = current_time,
) -> list[Appointment]:
    """Move this occurrence to ``start_local`` and every later one by the same wall-clock shift.

    All or nothing: if any moved occurrence would double-book, nothing moves and every
    conflict is listed.
    """
    rules.check_when(start_local, "start_local")
    with UnitOfWork(engine, practice_id, actor, clock=clock) as uow:
        zone = policy_in(uow).time_zone
        row = uow.records.get(appointments, appointment_id, for_update=True)
        rules.check_movable(row.status)
        shift = rules.wall_clock(start_local, zone) - rules.to_local(row.start, zone)
        rest = _rest_of_series(uow, row)
        moving = [r.id for r in rest]
        problems: list[Problem] = []
        plans = []
        for r in rest:
            start = rules.shift_local(r.start, shift, zone)
            plan = plan_span(
                uow, provider_id=r.provider_id, start=start, end=start + (r.end - r.start),
                service_id=r.service_id, room_id=r.room_id,
            )  # fmt: skip
            found = conflicts(
                uow, zone, provider_id=plan.provider_id, room_id=plan.room_id,
                span=Span(plan.start, plan.held_until), appointment=Span(plan.start, plan.end), exclude=moving,
            )  # fmt: skip
            problems.extend(
                Problem(p.code, f"occurrence {rules.to_local(start, zone):%Y-%m-%d %H:%M}", p.message)
                for p in found
            )
            plans.append((r, plan))
        if problems:
            raise ScheduleError("the series cannot move there; nothing was moved", tuple(problems))
        for r, plan in plans:
            uow.records.update(appointments, r.id, start=plan.start, end=plan.end, held_until=plan.held_until)
        uow.record("appointment.series.move", "appointment_series", row.series_id, {"moved": len(plans)})
        return views(uow, [uow.records.get(appointments, r.id) for r, _ in plans], zone)


def cancel_series_from(
    engine: Engine, practice_id: str, actor: str, appointment_id: str, *, clock: Clock = current_time
) -> list[Appointment]:
    """Cancel this occurrence and every later booked one of its series (no fee: planned ahead)."""
    with UnitOfWork(engine, practice_id, actor, clock=clock) as uow:
        zone = policy_in(uow).time_zone
        row = uow.records.get(appointments, appointment_id, for_update=True)
        rest = _rest_of_series(uow, row)
        for r in rest:
            uow.records.update(appointments, r.id, status=AppointmentStatus.CANCELLED.value)
        uow.record("appointment.series.cancel", "appointment_series", row.series_id, {"cancelled": len(rest)})
        return views(uow, [uow.records.get(appointments, r.id) for r in rest], zone)
