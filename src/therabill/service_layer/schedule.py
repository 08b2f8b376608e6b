"""The calendar: one home for scheduling, behind the web pages, the API and the CLI.

Services (duration, price, buffer, which therapists and rooms offer them), rooms, working
hours and time off; appointments booked, rescheduled, cancelled and moved through their
statuses; weekly series (RFC 5545 rules through ``dateutil.rrule``); free slots; check-in
with what the visit note needs; no-show and late-cancel fees by the practice's policy.

Times: stored as naive UTC; callers give and read the practice's local wall-clock time
(``*_local``), converted with the practice's IANA zone (``practices.time_zone``).

No double booking: every booking, move and status change that holds a slot runs in a write
``UnitOfWork``, which locks the practice row first (``FOR UPDATE`` on PostgreSQL, the write
lock on SQLite), so the overlap check and the insert of two concurrent requests run one after
the other and the second sees the first: it is refused, never both written.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from dateutil.rrule import rrulestr
from sqlalchemy import Engine, func, or_, select

from therabill.adapters.db.tables import (
    appointment_series,
    appointments,
    authorizations,
    coverages,
    patients,
    practices,
    providers,
    rooms,
    services,
    time_off,
    visits,
    working_hours,
)
from therabill.clock import Clock, current_time
from therabill.domain import schedule as rules
from therabill.domain.errors import Problem
from therabill.domain.ledger import ChargeType
from therabill.domain.money import D, from_cents, to_cents
from therabill.domain.schedule import AppointmentStatus, ScheduleError, Span, refuse
from therabill.service_layer.uow import UnitOfWork, ambient_session, one_transaction

__all__ = [
    "Appointment",
    "CalendarPolicy",
    "CheckIn",
    "Room",
    "ScheduleError",
    "SeriesResult",
    "Service",
    "Slot",
]

SLOT_STEP = timedelta(minutes=15)


# -- records ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CalendarPolicy:
    """A practice's calendar settings.

    Attributes:
        time_zone: IANA zone of the practice's wall clock.
        no_show_fee: fee posted when an appointment becomes a no-show (``None``: none).
        late_cancel_fee: fee posted for a cancellation inside the window (``None``: none).
        late_cancel_window_hours: a cancellation less than this many hours ahead is late.
    """

    time_zone: str
    no_show_fee: Decimal | None
    late_cancel_fee: Decimal | None
    late_cancel_window_hours: int | None


@dataclass(frozen=True, slots=True)
class Service:
    """A service the practice offers.

    Attributes:
        id: opaque id.
        name: what clients read ("Massage 60 min").
        duration_minutes: length of the appointment.
        price: the price (Decimal dollars).
        buffer_minutes: time held after it (turn the table over).
        codes: the procedure codes a visit of it bills (pre-fill of the visit note).
        provider_ids: therapists who offer it (empty: every therapist).
        room_ids: rooms it may use (empty: needs no room).
        active: offered for new bookings.
    """

    id: str
    name: str
    duration_minutes: int
    price: Decimal
    buffer_minutes: int
    codes: tuple[str, ...]
    provider_ids: tuple[str, ...]
    room_ids: tuple[str, ...]
    active: bool


@dataclass(frozen=True, slots=True)
class Room:
    """A room or table that can be booked (never by two appointments at once).

    Attributes:
        id: opaque id.
        name: its name.
        active: bookable.
    """

    id: str
    name: str
    active: bool


@dataclass(frozen=True, slots=True)
class Appointment:
    """An appointment as people read it.

    Attributes:
        id: opaque id.
        patient_id: the client.
        patient_name: "First Last".
        provider_id: the therapist.
        provider_name: "First Last".
        start: naive UTC start.
        end: naive UTC end.
        start_local: the practice's wall-clock start.
        end_local: the practice's wall-clock end.
        status: stored status.
        status_label: what a person reads.
        service_id: the service, if any.
        service_name: its name.
        room_id: the room, if any.
        room_name: its name.
        series_id: the weekly series it belongs to, if any.
        reason: free text.
        buffer_minutes: time held after the end.
    """

    id: str
    patient_id: str
    patient_name: str
    provider_id: str
    provider_name: str
    start: datetime
    end: datetime
    start_local: datetime
    end_local: datetime
    status: str
    status_label: str
    service_id: str | None = None
    service_name: str | None = None
    room_id: str | None = None
    room_name: str | None = None
    series_id: str | None = None
    reason: str | None = None
    buffer_minutes: int = 0

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape (times as ISO text; local times without offset)."""
        return {
            "id": self.id,
            "patient_id": self.patient_id,
            "patient_name": self.patient_name,
            "provider_id": self.provider_id,
            "provider_name": self.provider_name,
            "start": self.start.isoformat() + "Z",
            "end": self.end.isoformat() + "Z",
            "start_local": self.start_local.isoformat(),
            "end_local": self.end_local.isoformat(),
            "status": self.status,
            "status_label": self.status_label,
            "service_id": self.service_id,
            "service_name": self.service_name,
            "room_id": self.room_id,
            "room_name": self.room_name,
            "series_id": self.series_id,
            "reason": self.reason,
        }


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


@dataclass(frozen=True, slots=True)
class CheckIn:
    """What check-in hands to the visit note.

    Attributes:
        appointment: the appointment, now checked in.
        prefill: the visit document's start: date, start/end time, therapist, service codes.
        authorizations: the client's current authorizations with what is left.
        intake: the client's intake status (``missing``, ``unsigned``, ``signed``) and version.
    """

    appointment: Appointment
    prefill: dict[str, Any]
    authorizations: tuple[dict[str, Any], ...]
    intake: dict[str, Any] = field(default_factory=dict)


# -- helpers ---------------------------------------------------------------------------------


def _policy_in(uow: UnitOfWork) -> CalendarPolicy:
    row = uow.session.execute(select(practices).where(practices.c.id == uow.practice_id)).one()
    return CalendarPolicy(
        row.time_zone or rules.DEFAULT_TIME_ZONE,
        from_cents(row.no_show_fee_cents) if row.no_show_fee_cents is not None else None,
        from_cents(row.late_cancel_fee_cents) if row.late_cancel_fee_cents is not None else None,
        row.late_cancel_window_hours,
    )


def _service(row: Any) -> Service:
    return Service(
        row.id,
        row.name,
        row.duration_minutes,
        from_cents(row.price_cents),
        row.buffer_minutes,
        tuple(row.codes or ()),
        tuple(row.provider_ids or ()),
        tuple(row.room_ids or ()),
        bool(row.active),
    )


def _name(row: Any) -> str:
    return f"{row.first_name} {row.last_name}"


def _views(uow: UnitOfWork, rows: Sequence[Any], zone: str) -> list[Appointment]:
    if not rows:
        return []
    pids = {r.patient_id for r in rows}
    names = {
        r.id: _name(r)
        for r in uow.session.execute(
            select(patients.c.id, patients.c.first_name, patients.c.last_name).where(
                patients.c.practice_id == uow.practice_id, patients.c.id.in_(pids)
            )
        )
    }
    therapists = {r.id: _name(r) for r in uow.records.rows(providers)}
    service_rows = {r.id: r for r in uow.records.rows(services)}
    room_names = {r.id: r.name for r in uow.records.rows(rooms)}
    out = []
    for r in rows:
        svc = service_rows.get(r.service_id) if r.service_id else None
        out.append(
            Appointment(
                id=r.id,
                patient_id=r.patient_id,
                patient_name=names.get(r.patient_id, ""),
                provider_id=r.provider_id,
                provider_name=therapists.get(r.provider_id, ""),
                start=r.start,
                end=r.end,
                start_local=rules.to_local(r.start, zone),
                end_local=rules.to_local(r.end, zone),
                status=r.status,
                status_label=rules.status_label(r.status),
                service_id=r.service_id,
                service_name=svc.name if svc is not None else None,
                room_id=r.room_id,
                room_name=room_names.get(r.room_id) if r.room_id else None,
                series_id=r.series_id,
                reason=r.reason,
                buffer_minutes=svc.buffer_minutes if svc is not None else 0,
            )
        )
    return out


def _view(uow: UnitOfWork, appointment_id: str) -> Appointment:
    return _views(uow, [uow.records.get(appointments, appointment_id)], _policy_in(uow).time_zone)[0]


def _held_end() -> Any:
    return func.coalesce(appointments.c.held_until, appointments.c.end)


def _busy(
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
        _held_end() > start,
    )
    excluded = list(exclude)
    if excluded:
        query = query.where(appointments.c.id.not_in(excluded))
    return list(uow.session.execute(query))


def _time_off(uow: UnitOfWork, provider_ids: Iterable[str], start: datetime, end: datetime) -> list[Any]:
    return uow.records.rows(
        time_off,
        time_off.c.provider_id.in_(list(provider_ids)),
        time_off.c.start < end,
        time_off.c.end > start,
    )


def _hours(uow: UnitOfWork, provider_id: str) -> list[rules.Hours]:
    return [
        rules.Hours(r.weekday, time.fromisoformat(r.start_time), time.fromisoformat(r.end_time))
        for r in uow.records.rows(working_hours, working_hours.c.provider_id == provider_id)
    ]


def _conflicts(
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
    problems = []
    local = rules.to_local(appointment.start, zone)
    when = f"{local:%a %b %-d %-I:%M %p}"
    for other in _busy(
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
    if _time_off(uow, [provider_id], appointment.start, appointment.end):
        problems.append(Problem("therapist-time-off", "provider_id", f"the therapist is off at {when}"))
    hours = _hours(uow, provider_id)
    if hours:
        day = rules.to_local(appointment.start, zone).date()
        if not rules.within_hours(appointment, rules.working_spans(day, hours, zone)):
            problems.append(
                Problem("outside-working-hours", "start", f"{when} is outside the therapist's working hours")
            )
    return problems


@dataclass(frozen=True, slots=True)
class _Plan:
    """A checked booking: everything to insert or update."""

    provider_id: str
    room_id: str | None
    service_id: str | None
    start: datetime
    end: datetime
    held_until: datetime


def _plan(
    uow: UnitOfWork,
    *,
    provider_id: str,
    start: datetime,
    end: datetime | None,
    service_id: str | None,
    room_id: str | None,
) -> _Plan:
    """Check the therapist, service and room and compute the span (no conflict check)."""
    uow.records.get(providers, provider_id)
    buffer = 0
    if service_id is not None:
        svc = _service(uow.records.get(services, service_id))
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
    return _Plan(provider_id, room_id, service_id, start, end, held.end)


def _check_free(uow: UnitOfWork, zone: str, plan: _Plan, exclude: Iterable[str] = ()) -> None:
    problems = _conflicts(
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


def _room_for(uow: UnitOfWork, service_id: str | None, room_id: str | None, span: Span) -> str | None:
    """The room asked for, or the first free room the service may use (``None``: needs none)."""
    if room_id is not None or service_id is None:
        return room_id
    svc = _service(uow.records.get(services, service_id))
    if not svc.room_ids:
        return None
    taken = {r.room_id for r in _busy(uow, span.start, span.end, room_ids=svc.room_ids)}
    free = [r for r in svc.room_ids if r not in taken]
    return free[0] if free else svc.room_ids[0]  # none free: the conflict check says why


def _insert(uow: UnitOfWork, plan: _Plan, patient_id: str, reason: str | None, series_id: str | None) -> str:
    return uow.records.insert(
        appointments,
        patient_id=patient_id,
        provider_id=plan.provider_id,
        service_id=plan.service_id,
        room_id=plan.room_id,
        series_id=series_id,
        start=plan.start,
        end=plan.end,
        held_until=plan.held_until,
        status=AppointmentStatus.SCHEDULED.value,
        reason=reason,
        created_at=uow.now(),
    )


# -- settings: policy, services, rooms, hours, time off ---------------------------------------


def calendar_policy(engine: Engine, practice_id: str, actor: str) -> CalendarPolicy:
    """The practice's time zone and no-show / late-cancel policy."""
    with UnitOfWork(engine, practice_id, actor, read_only=True) as uow:
        return _policy_in(uow)


def set_calendar_policy(
    engine: Engine,
    practice_id: str,
    actor: str,
    *,
    time_zone: str | None = None,
    no_show_fee: Decimal | None = None,
    late_cancel_fee: Decimal | None = None,
    late_cancel_window_hours: int | None = None,
) -> CalendarPolicy:
    """Change the practice's zone and fee policy (only the values given)."""
    values: dict[str, Any] = {}
    if time_zone is not None:
        rules.zone(time_zone)
        values["time_zone"] = time_zone
    for name, amount in (("no_show_fee", no_show_fee), ("late_cancel_fee", late_cancel_fee)):
        if amount is not None:
            if D(amount) < 0:
                raise refuse("fee-negative", name, "a fee cannot be negative")
            values[f"{name}_cents"] = to_cents(D(amount))
    if late_cancel_window_hours is not None:
        if not 0 <= late_cancel_window_hours <= 168:
            raise refuse("window-invalid", "late_cancel_window_hours", "the window is 0 to 168 hours")
        values["late_cancel_window_hours"] = late_cancel_window_hours
    with UnitOfWork(engine, practice_id, actor) as uow:
        if values:
            uow.session.execute(practices.update().where(practices.c.id == practice_id).values(**values))
            uow.record("schedule.policy", "practice", practice_id, {k: str(v) for k, v in values.items()})
        return _policy_in(uow)


def add_service(
    engine: Engine,
    practice_id: str,
    actor: str,
    *,
    name: str,
    duration_minutes: int,
    price: Decimal,
    buffer_minutes: int = 0,
    codes: Sequence[str] = (),
    provider_ids: Sequence[str] = (),
    room_ids: Sequence[str] = (),
    clock: Clock = current_time,
) -> Service:
    """Offer a service (its therapists and rooms must be the practice's)."""
    if not name.strip():
        raise refuse("service-name-missing", "name", "give the service a name")
    if not 5 <= duration_minutes <= 480:
        raise refuse("duration-invalid", "duration_minutes", "a service lasts 5 to 480 minutes")
    if not 0 <= buffer_minutes <= 120:
        raise refuse("buffer-invalid", "buffer_minutes", "the buffer is 0 to 120 minutes")
    if D(price) < 0:
        raise refuse("price-negative", "price", "the price cannot be negative")
    with UnitOfWork(engine, practice_id, actor, clock=clock) as uow:
        for pid in provider_ids:
            uow.records.get(providers, pid)
        for rid in room_ids:
            uow.records.get(rooms, rid)
        if uow.records.rows(services, services.c.name == name.strip()):
            raise refuse("service-name-taken", "name", f"a service named {name.strip()!r} exists")
        new = uow.records.insert(
            services,
            name=name.strip(),
            duration_minutes=duration_minutes,
            price_cents=to_cents(D(price)),
            buffer_minutes=buffer_minutes,
            codes=list(codes),
            provider_ids=list(provider_ids),
            room_ids=list(room_ids),
            active=True,
            created_at=uow.now(),
        )
        uow.record("schedule.service.add", "service", new)
        return _service(uow.records.get(services, new))


def list_services(engine: Engine, practice_id: str, actor: str) -> list[Service]:
    """The practice's services, by name."""
    with UnitOfWork(engine, practice_id, actor, read_only=True) as uow:
        return [_service(r) for r in uow.records.rows(services, order_by=[services.c.name])]


def get_service(engine: Engine, practice_id: str, actor: str, service_id: str) -> Service:
    """One service."""
    with UnitOfWork(engine, practice_id, actor, read_only=True) as uow:
        return _service(uow.records.get(services, service_id))


def add_room(engine: Engine, practice_id: str, actor: str, *, name: str, clock: Clock = current_time) -> Room:
    """Add a room or table."""
    if not name.strip():
        raise refuse("room-name-missing", "name", "give the room a name")
    with UnitOfWork(engine, practice_id, actor, clock=clock) as uow:
        if uow.records.rows(rooms, rooms.c.name == name.strip()):
            raise refuse("room-name-taken", "name", f"a room named {name.strip()!r} exists")
        new = uow.records.insert(rooms, name=name.strip(), active=True, created_at=uow.now())
        uow.record("schedule.room.add", "room", new)
        return Room(new, name.strip(), True)


def list_rooms(engine: Engine, practice_id: str, actor: str) -> list[Room]:
    """The practice's rooms, by name."""
    with UnitOfWork(engine, practice_id, actor, read_only=True) as uow:
        return [Room(r.id, r.name, bool(r.active)) for r in uow.records.rows(rooms, order_by=[rooms.c.name])]


def set_working_hours(
    engine: Engine, practice_id: str, actor: str, provider_id: str, hours: Sequence[tuple[int, str, str]]
) -> list[rules.Hours]:
    """Replace a therapist's weekly working hours (weekday 0 = Monday, ``HH:MM`` local)."""
    checked = [rules.check_hours(*h) for h in hours]
    with UnitOfWork(engine, practice_id, actor) as uow:
        uow.records.get(providers, provider_id)
        uow.session.execute(
            working_hours.delete().where(
                working_hours.c.practice_id == practice_id, working_hours.c.provider_id == provider_id
            )
        )
        for h in checked:
            uow.records.insert(
                working_hours,
                provider_id=provider_id,
                weekday=h.weekday,
                start_time=f"{h.start:%H:%M}",
                end_time=f"{h.end:%H:%M}",
            )
        uow.record("schedule.hours", "provider", provider_id, {"stretches": len(checked)})
        return _hours(uow, provider_id)


def working_hours_of(engine: Engine, practice_id: str, actor: str, provider_id: str) -> list[rules.Hours]:
    """A therapist's weekly working hours."""
    with UnitOfWork(engine, practice_id, actor, read_only=True) as uow:
        uow.records.get(providers, provider_id)
        return sorted(_hours(uow, provider_id), key=lambda h: (h.weekday, h.start))


def add_time_off(
    engine: Engine,
    practice_id: str,
    actor: str,
    provider_id: str,
    *,
    start_local: datetime,
    end_local: datetime,
    reason: str | None = None,
) -> str:
    """Block a therapist's time (local wall-clock times); bookings then are refused."""
    rules.check_when(start_local, "start_local")
    rules.check_when(end_local, "end_local")
    with UnitOfWork(engine, practice_id, actor) as uow:
        uow.records.get(providers, provider_id)
        zone = _policy_in(uow).time_zone
        start_local, end_local = rules.wall_clock(start_local, zone), rules.wall_clock(end_local, zone)
        if end_local <= start_local:
            raise refuse("time-off-invalid", "end", "time off must end after it starts")
        new = uow.records.insert(
            time_off,
            provider_id=provider_id,
            start=rules.to_utc(start_local, zone),
            end=rules.to_utc(end_local, zone),
            reason=reason,
        )
        uow.record("schedule.time_off", "provider", provider_id)
        return new


# -- appointments ----------------------------------------------------------------------------


def book(
    engine: Engine,
    practice_id: str,
    actor: str,
    *,
    patient_id: str,
    provider_id: str,
    start_local: datetime,
    service_id: str | None = None,
    room_id: str | None = None,
    end_local: datetime | None = None,
    reason: str | None = None,
    clock: Clock = current_time,
) -> Appointment:
    """Book an appointment at a local time (status booked); refused if it would double-book."""
    rules.check_when(start_local, "start_local")
    rules.check_when(end_local, "end_local")
    with UnitOfWork(engine, practice_id, actor, clock=clock) as uow:
        zone = _policy_in(uow).time_zone
        end = rules.to_utc(end_local, zone) if end_local is not None else None
        new = _book_in(
            uow,
            zone,
            patient_id=patient_id,
            provider_id=provider_id,
            start=rules.to_utc(start_local, zone),
            end=end,
            service_id=service_id,
            room_id=room_id,
            reason=reason,
        )
        return _view(uow, new)


def _book_in(
    uow: UnitOfWork,
    zone: str,
    *,
    patient_id: str,
    provider_id: str,
    start: datetime,
    end: datetime | None,
    service_id: str | None,
    room_id: str | None,
    reason: str | None,
    series_id: str | None = None,
) -> str:
    uow.records.get(patients, patient_id)
    plan = _plan(uow, provider_id=provider_id, start=start, end=end, service_id=service_id, room_id=room_id)
    room = _room_for(uow, service_id, room_id, Span(plan.start, plan.held_until))
    plan = _Plan(plan.provider_id, room, plan.service_id, plan.start, plan.end, plan.held_until)
    _check_free(uow, zone, plan)
    new = _insert(uow, plan, patient_id, reason, series_id)
    uow.record("appointment.schedule", "appointment", new)
    return new


def schedule_appointment(
    engine: Engine,
    practice_id: str,
    actor: str,
    *,
    patient_id: str,
    provider_id: str,
    start: datetime,
    end: datetime,
    reason: str | None = None,
    service_id: str | None = None,
    room_id: str | None = None,
    clock: Clock = current_time,
) -> str:
    """Book an appointment given in naive UTC (imports, the demo); refused if it would double-book."""
    rules.check_when(start, "start")
    rules.check_when(end, "end")
    with UnitOfWork(engine, practice_id, actor, clock=clock) as uow:
        return _book_in(
            uow,
            _policy_in(uow).time_zone,
            patient_id=patient_id,
            provider_id=provider_id,
            start=start,
            end=end,
            service_id=service_id,
            room_id=room_id,
            reason=reason,
        )


def reschedule(
    engine: Engine,
    practice_id: str,
    actor: str,
    appointment_id: str,
    *,
    start_local: datetime,
    provider_id: str | None = None,
    room_id: str | None = None,
    clock: Clock = current_time,
) -> Appointment:
    """Move an appointment (and optionally change its therapist or room), keeping its length."""
    rules.check_when(start_local, "start_local")
    with UnitOfWork(engine, practice_id, actor, clock=clock) as uow:
        zone = _policy_in(uow).time_zone
        row = uow.records.get(appointments, appointment_id, for_update=True)
        rules.check_movable(row.status)
        start = rules.to_utc(start_local, zone)
        _move_in(uow, zone, row, start, provider_id or row.provider_id, room_id or row.room_id)
        return _view(uow, appointment_id)


def _move_in(
    uow: UnitOfWork, zone: str, row: Any, start: datetime, provider_id: str, room_id: str | None
) -> None:
    length = row.end - row.start
    plan = _plan(
        uow,
        provider_id=provider_id,
        start=start,
        end=start + length,
        service_id=row.service_id,
        room_id=room_id,
    )
    _check_free(uow, zone, plan, exclude=[row.id])
    uow.records.update(
        appointments,
        row.id,
        provider_id=plan.provider_id,
        room_id=plan.room_id,
        start=plan.start,
        end=plan.end,
        held_until=plan.held_until,
    )
    uow.record(
        "appointment.move", "appointment", row.id, {"from": row.start.isoformat(), "to": start.isoformat()}
    )


def _fee_key(kind: str, appointment_id: str) -> str:
    return f"{kind}:{appointment_id}"


def _post_fee(
    engine: Engine, practice_id: str, actor: str, row: Any, amount: Decimal | None, kind: ChargeType
) -> None:
    if amount is None or amount <= 0:
        return
    from therabill.service_layer import ledger

    ledger.post_charge(
        engine,
        practice_id,
        actor,
        patient_id=row.patient_id,
        amount=amount,
        charge_type=kind,
        key=_fee_key(str(kind), row.id),
    )


def set_status(
    engine: Engine,
    practice_id: str,
    actor: str,
    appointment_id: str,
    status: str,
    *,
    clock: Clock = current_time,
) -> Appointment:
    """Move an appointment to ``status``; a no-show or late cancel posts the policy's fee.

    The status change and its fee are one transaction: both are written or neither.
    Re-booking a freed slot (back to booked) checks it is still free.
    """
    block = one_transaction(engine) if ambient_session(engine) is None else nullcontext()
    with block:
        with UnitOfWork(engine, practice_id, actor, clock=clock) as uow:
            policy = _policy_in(uow)
            row = uow.records.get(appointments, appointment_id, for_update=True)
            new = rules.check_transition(row.status, status)
            if new is AppointmentStatus.SCHEDULED and AppointmentStatus(row.status) not in rules.OCCUPYING:
                plan = _Plan(
                    row.provider_id,
                    row.room_id,
                    row.service_id,
                    row.start,
                    row.end,
                    row.held_until or row.end,
                )
                _check_free(uow, policy.time_zone, plan, exclude=[row.id])
            uow.records.update(appointments, appointment_id, status=new.value)
            uow.record(
                "appointment.status", "appointment", appointment_id, {"from": row.status, "to": new.value}
            )
        if new is AppointmentStatus.NO_SHOW:
            _post_fee(engine, practice_id, actor, row, policy.no_show_fee, ChargeType.NO_SHOW)
        elif new is AppointmentStatus.LATE_CANCEL:
            _post_fee(engine, practice_id, actor, row, policy.late_cancel_fee, ChargeType.LATE_CANCEL)
    with UnitOfWork(engine, practice_id, actor, read_only=True) as uow:
        return _view(uow, appointment_id)


def set_appointment_status(
    engine: Engine,
    practice_id: str,
    actor: str,
    appointment_id: str,
    status: str,
    *,
    clock: Clock = current_time,
) -> None:
    """Move an appointment to ``status`` (the status names as stored)."""
    set_status(engine, practice_id, actor, appointment_id, status, clock=clock)


def cancel(
    engine: Engine, practice_id: str, actor: str, appointment_id: str, *, clock: Clock = current_time
) -> Appointment:
    """Cancel: a late cancel (with the policy's fee) inside the window, else a plain cancel."""
    with UnitOfWork(engine, practice_id, actor, read_only=True, clock=clock) as uow:
        policy = _policy_in(uow)
        row = uow.records.get(appointments, appointment_id)
        at = uow.now().replace(tzinfo=None)
    late = rules.is_late_cancel(row.start, at, policy.late_cancel_window_hours)
    status = AppointmentStatus.LATE_CANCEL if late else AppointmentStatus.CANCELLED
    return set_status(engine, practice_id, actor, appointment_id, status.value, clock=clock)


def check_in(
    engine: Engine, practice_id: str, actor: str, appointment_id: str, *, clock: Clock = current_time
) -> CheckIn:
    """The client arrived: status checked in, and what the visit note starts with."""
    set_status(engine, practice_id, actor, appointment_id, AppointmentStatus.ARRIVED.value, clock=clock)
    return check_in_details(engine, practice_id, actor, appointment_id)


def check_in_details(engine: Engine, practice_id: str, actor: str, appointment_id: str) -> CheckIn:
    """The visit-note pre-fill, current authorizations and intake status of an appointment."""
    from therabill.service_layer import intake

    with UnitOfWork(engine, practice_id, actor, read_only=True) as uow:
        appt = _view(uow, appointment_id)
        codes: tuple[str, ...] = ()
        if appt.service_id:
            codes = _service(uow.records.get(services, appt.service_id)).codes
        day = appt.start_local.date()
        prefill = {
            "patient_id": appt.patient_id,
            "provider_id": appt.provider_id,
            "appointment_id": appt.id,
            "date_of_service": day.isoformat(),
            "start_time": f"{appt.start_local:%H:%M}",
            "end_time": f"{appt.end_local:%H:%M}",
            "services": [
                {
                    "code": c,
                    "minutes": int((appt.end - appt.start).total_seconds() // 60) // max(len(codes), 1),
                }
                for c in codes
            ],
        }
        auth_rows = uow.session.execute(
            uow.records.scoped(authorizations)
            .join(coverages, coverages.c.id == authorizations.c.coverage_id)
            .where(coverages.c.patient_id == appt.patient_id)
            .with_only_columns(authorizations)
        ).all()
        auths = tuple(
            {
                "number": a.number,
                "start_date": a.start_date,
                "end_date": a.end_date,
                "codes": list(a.codes or ()),
                "visits_left": (a.visits_allowed - a.visits_used) if a.visits_allowed is not None else None,
                "units_left": (a.units_allowed - a.units_used) if a.units_allowed is not None else None,
            }
            for a in auth_rows
            if (a.start_date is None or a.start_date <= day) and (a.end_date is None or day <= a.end_date)
        )
        current = intake._current(uow.records, appt.patient_id)
        if current is None:
            status: dict[str, Any] = {"status": "missing", "version": None}
        else:
            signed = current.signed_at is not None
            status = {"status": "signed" if signed else "unsigned", "version": current.version}
        return CheckIn(appt, prefill, auths, status)


def complete_for_visit_in(uow: UnitOfWork, appointment_id: str, patient_id: str) -> None:
    """Inside the visit's transaction: the appointment the visit documents becomes completed."""
    appt = uow.records.get(appointments, appointment_id, for_update=True)
    if appt.patient_id != patient_id:
        raise refuse("appointment-not-patients", "appointment_id", "that appointment is another patient's")
    if appt.status != AppointmentStatus.COMPLETED.value:
        new = rules.check_transition(appt.status, AppointmentStatus.COMPLETED.value)
        uow.records.update(appointments, appointment_id, status=new.value)


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
        zone = _policy_in(uow).time_zone
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
                    _book_in(
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
        views = _views(uow, [uow.records.get(appointments, a) for a in booked], zone)
        return SeriesResult(series_id, rule, tuple(views), tuple(conflicts))


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
        zone = _policy_in(uow).time_zone
        row = uow.records.get(appointments, appointment_id, for_update=True)
        rules.check_movable(row.status)
        shift = rules.wall_clock(start_local, zone) - rules.to_local(row.start, zone)
        rest = _rest_of_series(uow, row)
        moving = [r.id for r in rest]
        problems: list[Problem] = []
        plans = []
        for r in rest:
            start = rules.shift_local(r.start, shift, zone)
            plan = _plan(
                uow, provider_id=r.provider_id, start=start, end=start + (r.end - r.start),
                service_id=r.service_id, room_id=r.room_id,
            )  # fmt: skip
            found = _conflicts(
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
        return _views(uow, [uow.records.get(appointments, r.id) for r, _ in plans], zone)


def cancel_series_from(
    engine: Engine, practice_id: str, actor: str, appointment_id: str, *, clock: Clock = current_time
) -> list[Appointment]:
    """Cancel this occurrence and every later booked one of its series (no fee: planned ahead)."""
    with UnitOfWork(engine, practice_id, actor, clock=clock) as uow:
        zone = _policy_in(uow).time_zone
        row = uow.records.get(appointments, appointment_id, for_update=True)
        rest = _rest_of_series(uow, row)
        for r in rest:
            uow.records.update(appointments, r.id, status=AppointmentStatus.CANCELLED.value)
        uow.record("appointment.series.cancel", "appointment_series", row.series_id, {"cancelled": len(rest)})
        return _views(uow, [uow.records.get(appointments, r.id) for r in rest], zone)


# -- reading ---------------------------------------------------------------------------------


def get_appointment(engine: Engine, practice_id: str, actor: str, appointment_id: str) -> Appointment:
    """One appointment."""
    with UnitOfWork(engine, practice_id, actor, read_only=True) as uow:
        return _view(uow, appointment_id)


def appointments_on(
    engine: Engine,
    practice_id: str,
    actor: str,
    first_day: date,
    *,
    days: int = 1,
    provider_id: str | None = None,
    include_freed: bool = True,
) -> list[Appointment]:
    """Appointments starting on ``days`` local days from ``first_day``, in start order."""
    rules.check_when(first_day, "day")
    with UnitOfWork(engine, practice_id, actor, read_only=True) as uow:
        zone = _policy_in(uow).time_zone
        start, _ = rules.local_day_bounds(first_day, zone)
        _, end = rules.local_day_bounds(first_day + timedelta(days=days - 1), zone)
        query = uow.records.scoped(appointments).where(
            appointments.c.start >= start, appointments.c.start < end
        )
        if provider_id is not None:
            query = query.where(appointments.c.provider_id == provider_id)
        if not include_freed:
            query = query.where(appointments.c.status.in_([s.value for s in rules.OCCUPYING]))
        rows = list(uow.session.execute(query.order_by(appointments.c.start)))
        return _views(uow, rows, zone)


def todays_visits(engine: Engine, practice_id: str, actor: str) -> list[Appointment]:
    """Today's appointments (the practice's local today, by the clock)."""
    with UnitOfWork(engine, practice_id, actor, read_only=True) as uow:
        zone = _policy_in(uow).time_zone
        today = rules.to_local(uow.now().replace(tzinfo=None), zone).date()
    return appointments_on(engine, practice_id, actor, today)


def local_today(engine: Engine, practice_id: str, actor: str) -> date:
    """The practice's local date now."""
    with UnitOfWork(engine, practice_id, actor, read_only=True) as uow:
        return rules.to_local(uow.now().replace(tzinfo=None), _policy_in(uow).time_zone).date()


def visits_not_documented(engine: Engine, practice_id: str, actor: str, before: datetime) -> list[str]:
    """Ids of appointments that started before ``before``, were attended and have no visit."""
    with UnitOfWork(engine, practice_id, actor, read_only=True) as uow:
        documented = select(visits.c.appointment_id).where(
            visits.c.practice_id == practice_id, visits.c.appointment_id.is_not(None)
        )
        query = (
            uow.records.scoped(appointments)
            .where(
                appointments.c.start < before,
                appointments.c.status.in_(["arrived", "completed"]),
                appointments.c.id.not_in(documented),
            )
            .order_by(appointments.c.start)
        )
        return [r.id for r in uow.session.execute(query)]


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
        zone = _policy_in(uow).time_zone
        svc = _service(uow.records.get(services, service_id))
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
        busy = _busy(uow, day_start - held, day_end + held, provider_ids=ids, room_ids=room_ids)
        off = _time_off(uow, ids, day_start, day_end)
        hours_rows = uow.records.rows(working_hours, working_hours.c.provider_id.in_(ids))
    by_room: dict[str, list[Span]] = {r: [] for r in room_ids}
    by_provider: dict[str, list[Span]] = {i: [] for i in ids}
    for b in busy:
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
            slots.append(Slot(rules.to_local(start, zone), start, r.id, _name(r), room))
    slots.sort(key=lambda s: (s.start, s.provider_name))
    return slots


@dataclass(frozen=True, slots=True)
class CalendarSetup:
    """What the booking form offers: clients, therapists, services and rooms by name.

    Attributes:
        patients: (id, "Last, First") in name order.
        therapists: (id, "First Last") in name order.
        services: the active services.
        rooms: the active rooms.
        policy: the practice's calendar policy.
    """

    patients: tuple[tuple[str, str], ...]
    therapists: tuple[tuple[str, str], ...]
    services: tuple[Service, ...]
    rooms: tuple[Room, ...]
    policy: CalendarPolicy


def calendar_setup(engine: Engine, practice_id: str, actor: str) -> CalendarSetup:
    """The names the calendar pages and the booking form choose from."""
    with UnitOfWork(engine, practice_id, actor, read_only=True) as uow:
        people = uow.records.rows(patients, order_by=[patients.c.last_name, patients.c.first_name])
        therapists = uow.records.rows(providers, order_by=[providers.c.last_name, providers.c.first_name])
        return CalendarSetup(
            tuple((p.id, f"{p.last_name}, {p.first_name}") for p in people),
            tuple((t.id, _name(t)) for t in therapists),
            tuple(_service(s) for s in uow.records.rows(services, order_by=[services.c.name]) if s.active),
            tuple(
                Room(r.id, r.name, True) for r in uow.records.rows(rooms, order_by=[rooms.c.name]) if r.active
            ),
            _policy_in(uow),
        )
