"""Availability: who and which room is free when, and the one double-booking check.

``conflicts`` / ``check_free`` are the only overlap check: every booking, move, series and
import goes through them inside a write ``UnitOfWork``, which locks the practice row first
(``FOR UPDATE`` on PostgreSQL, the write lock on SQLite), so two concurrent requests run one
after the other and the second sees the first: it is refused, never both written.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Engine, func, or_

from therabill.adapters.db.tables import appointments, providers, rooms, services, time_off, working_hours
from therabill.domain import schedule as rules
from therabill.domain.errors import Problem
from therabill.domain.schedule import ScheduleError, Span, refuse
from therabill.service_layer.schedule_setup import hours_in, person_name, policy_in, service_of
from therabill.service_layer.uow import UnitOfWork

__all__ = ["Plan", "Slot", "availability", "check_free", "conflicts", "double_bookings"]

SLOT_STEP = timedelta(minutes=15)


@dataclass(frozen=True, slots=True)
class Slot:
    """A free start for a service.

    Attributes:
        start_local: wall-clock start.
        start: naive UTC start.
        provider_id: a therapist free then.
        provider_name: their name.
        room_id: a room free then (``None`` when the service needs none).
    """

    start_local: datetime
    start: datetime
    provider_id: str
    provider_name: str
    room_id: str | None


def held_end() -> Any:
    return func.coalesce(appointments.c.held_until, appointments.c.end)


def busy(
    uow: UnitOfWork,
    start: datetime,
    end: datetime,
    *,
    provider_ids: Iterable[str] = (),
    room_ids: Iterable[str] = (),
    exclude: Iterable[str] = (),
) -> list[Any]:
    """Appointments holding any of the therapists or rooms between ``start`` and ``end``."""
    who = []
    pids, rids = list(provider_ids), list(room_ids)
    if pids:
        who.append(appointments.c.provider_id.in_(pids))
    if rids:
        who.append(appointments.c.room_id.in_(rids))
    if not who:
        return []
    query = uow.records.scoped(appointments).where(
        or_(*who),
        appointments.c.status.in_([s.value for s in rules.OCCUPYING]),
        appointments.c.start < end,
        held_end() > start,
    )
    excluded = list(exclude)
    if excluded:
        query = query.where(appointments.c.id.not_in(excluded))
    return list(uow.session.execute(query).all())


def time_off_in(uow: UnitOfWork, provider_ids: Iterable[str], start: datetime, end: datetime) -> list[Any]:
    return uow.records.rows(
        time_off,
        time_off.c.provider_id.in_(list(provider_ids)),
        time_off.c.start < end,
        time_off.c.end > start,
    )


def double_bookings(
    uow: UnitOfWork,
    zone: str,
    *,
    provider_id: str,
    room_id: str | None,
    span: Span,
    exclude: Iterable[str] = (),
) -> list[Problem]:
    """The appointments ``span`` would overlap for the therapist or the room (the
    double-booking part of ``conflicts``: what an import of past visits is checked for)."""
    local = rules.to_local(span.start, zone)
    when = f"{local:%a %b %-d %-I:%M %p}"
    problems = []
    for other in busy(
        uow,
        span.start,
        span.end,
        provider_ids=[provider_id],
        room_ids=[room_id] if room_id else [],
        exclude=exclude,
    ):
        if other.provider_id == provider_id:
            problems.append(
                Problem(
                    "therapist-double-booked", "provider_id", f"the therapist is already booked at {when}"
                )
            )
        else:
            problems.append(Problem("room-double-booked", "room_id", f"the room is already booked at {when}"))
    return problems


def conflicts(
    uow: UnitOfWork,
    zone: str,
    *,
    provider_id: str,
    room_id: str | None,
    span: Span,
    appointment: Span,
    exclude: Iterable[str] = (),
) -> list[Problem]:
    """Why the therapist or room cannot take ``span`` (empty: they can)."""
    problems = double_bookings(
        uow, zone, provider_id=provider_id, room_id=room_id, span=span, exclude=exclude
    )
    local = rules.to_local(appointment.start, zone)
    when = f"{local:%a %b %-d %-I:%M %p}"
    if time_off_in(uow, [provider_id], appointment.start, appointment.end):
        problems.append(Problem("therapist-time-off", "provider_id", f"the therapist is off at {when}"))
    hours = hours_in(uow, provider_id)
    if hours:
        day = rules.to_local(appointment.start, zone).date()
        if not rules.within_hours(appointment, rules.working_spans(day, hours, zone)):
            problems.append(
                Problem("outside-working-hours", "start", f"{when} is outside the therapist's working hours")
            )
    return problems


@dataclass(frozen=True, slots=True)
class Plan:
    """A checked booking: everything to insert or update."""

    provider_id: str
    room_id: str | None
    service_id: str | None
    start: datetime
    end: datetime
    held_until: datetime


def plan_span(
    uow: UnitOfWork,
    *,
    provider_id: str,
    start: datetime,
    end: datetime | None,
    service_id: str | None,
    room_id: str | None,
) -> Plan:
    """Check the therapist, service and room and compute the span (no conflict check)."""
    uow.records.get(providers, provider_id)
    buffer = 0
    if service_id is not None:
        svc = service_of(uow.records.get(services, service_id))
        if svc.provider_ids and provider_id not in svc.provider_ids:
            raise refuse("service-not-offered", "provider_id", f"this therapist does not offer {svc.name}")
        if room_id is not None and svc.room_ids and room_id not in svc.room_ids:
            raise refuse("room-not-for-service", "room_id", f"{svc.name} cannot be given in that room")
        if end is None:
            end = start + timedelta(minutes=svc.duration_minutes)
        buffer = svc.buffer_minutes
    if end is None:
        raise refuse("appointment-end-missing", "end", "give an end time or a service")
    if room_id is not None:
        uow.records.get(rooms, room_id)
    held = rules.held_span(start, end, buffer)
    return Plan(provider_id, room_id, service_id, start, end, held.end)


def check_free(uow: UnitOfWork, zone: str, plan: Plan, exclude: Iterable[str] = ()) -> None:
    problems = conflicts(
        uow,
        zone,
        provider_id=plan.provider_id,
        room_id=plan.room_id,
        span=Span(plan.start, plan.held_until),
        appointment=Span(plan.start, plan.end),
        exclude=exclude,
    )
    if problems:
        raise ScheduleError("that time is not free", tuple(problems))


def room_for(uow: UnitOfWork, service_id: str | None, room_id: str | None, span: Span) -> str | None:
    """The room asked for, or the first free room the service may use (``None``: needs none)."""
    if room_id is not None or service_id is None:
        return room_id
    svc = service_of(uow.records.get(services, service_id))
    if not svc.room_ids:
        return None
    taken = {r.room_id for r in busy(uow, span.start, span.end, room_ids=svc.room_ids)}
    free = [r for r in svc.room_ids if r not in taken]
    return free[0] if free else svc.room_ids[0]  # none free: the conflict check says why


def availability(
    engine: Engine,
    practice_id: str,
    actor: str,
    *,
    service_id: str,
    day: date,
    provider_id: str | None = None,
    room_id: str | None = None,
) -> list[Slot]:
    """Free starts for a service on a local day: a therapist who offers it, works then and is free.

    A therapist without working hours on file is not offered (online booking needs hours).
    When the service uses rooms, one of them (or ``room_id``) must be free too.
    """
    rules.check_when(day, "day")
    with UnitOfWork(engine, practice_id, actor, read_only=True) as uow:
        zone = policy_in(uow).time_zone
        svc = service_of(uow.records.get(services, service_id))
        therapist_rows = uow.records.rows(providers, order_by=[providers.c.last_name])
        chosen = [
            r
            for r in therapist_rows
            if (provider_id is None or r.id == provider_id)
            and (not svc.provider_ids or r.id in svc.provider_ids)
        ]
        room_ids = [room_id] if room_id is not None else list(svc.room_ids)
        day_start, day_end = rules.local_day_bounds(day, zone)
        held = timedelta(minutes=svc.duration_minutes + svc.buffer_minutes)
        length = timedelta(minutes=svc.duration_minutes)
        ids = [r.id for r in chosen]
        taken = busy(uow, day_start - held, day_end + held, provider_ids=ids, room_ids=room_ids)
        off = time_off_in(uow, ids, day_start, day_end)
        hours_rows = uow.records.rows(working_hours, working_hours.c.provider_id.in_(ids))
    by_room: dict[str, list[Span]] = {r: [] for r in room_ids}
    by_provider: dict[str, list[Span]] = {i: [] for i in ids}
    for b in taken:
        span = Span(b.start, b.held_until or b.end)
        if b.provider_id in by_provider:
            by_provider[b.provider_id].append(span)
        if b.room_id in by_room:
            by_room[b.room_id].append(span)
    for t in off:
        by_provider[t.provider_id].append(Span(t.start, t.end))
    slots: list[Slot] = []
    for r in chosen:
        hours = [
            rules.Hours(h.weekday, time.fromisoformat(h.start_time), time.fromisoformat(h.end_time))
            for h in hours_rows
            if h.provider_id == r.id
        ]
        working = rules.working_spans(day, hours, zone)
        for start in rules.free_starts(working, by_provider[r.id], length, held, SLOT_STEP):
            room = None
            if room_ids:
                want = Span(start, start + held)
                room = next((x for x in room_ids if not any(want.overlaps(s) for s in by_room[x])), None)
                if room is None:
                    continue
            slots.append(Slot(rules.to_local(start, zone), start, r.id, person_name(r), room))
    slots.sort(key=lambda s: (s.start, s.provider_name))
    return slots
