"""The calendar's setup: the practice's calendar policy, services, rooms, working hours and time off.

Services have a duration, a price, a buffer, and the therapists and rooms that offer them;
rooms are resources no two appointments hold at once; working hours and time off bound what
can be booked. Times are the practice's wall-clock time (``*_local``), stored as naive UTC.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, select

from therabill.adapters.db.tables import (
    patients,
    practices,
    providers,
    rooms,
    services,
    time_off,
    working_hours,
)
from therabill.clock import Clock, current_time
from therabill.domain import schedule as rules
from therabill.domain.money import D, from_cents, to_cents
from therabill.domain.schedule import refuse
from therabill.service_layer.uow import UnitOfWork

__all__ = ["CalendarPolicy", "CalendarSetup", "Room", "Service"]


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


# -- shared by the calendar's modules ---------------------------------------------------------


def policy_in(uow: UnitOfWork) -> CalendarPolicy:
    row = uow.session.execute(select(practices).where(practices.c.id == uow.practice_id)).one()
    return CalendarPolicy(
        row.time_zone or rules.DEFAULT_TIME_ZONE,
        from_cents(row.no_show_fee_cents) if row.no_show_fee_cents is not None else None,
        from_cents(row.late_cancel_fee_cents) if row.late_cancel_fee_cents is not None else None,
        row.late_cancel_window_hours,
    )


def service_of(row: Any) -> Service:
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


def person_name(row: Any) -> str:
    return f"{row.first_name} {row.last_name}"


def hours_in(uow: UnitOfWork, provider_id: str) -> list[rules.Hours]:
    return [
        rules.Hours(r.weekday, time.fromisoformat(r.start_time), time.fromisoformat(r.end_time))
        for r in uow.records.rows(working_hours, working_hours.c.provider_id == provider_id)
    ]


# -- settings: policy, services, rooms, hours, time off ---------------------------------------


def calendar_policy(engine: Engine, practice_id: str, actor: str) -> CalendarPolicy:
    """The practice's time zone and no-show / late-cancel policy."""
    with UnitOfWork(engine, practice_id, actor, read_only=True) as uow:
        return policy_in(uow)


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
        return policy_in(uow)


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
        return service_of(uow.records.get(services, new))


def list_services(engine: Engine, practice_id: str, actor: str) -> list[Service]:
    """The practice's services, by name."""
    with UnitOfWork(engine, practice_id, actor, read_only=True) as uow:
        return [service_of(r) for r in uow.records.rows(services, order_by=[services.c.name])]


def get_service(engine: Engine, practice_id: str, actor: str, service_id: str) -> Service:
    """One service."""
    with UnitOfWork(engine, practice_id, actor, read_only=True) as uow:
        return service_of(uow.records.get(services, service_id))


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
        return hours_in(uow, provider_id)


def working_hours_of(engine: Engine, practice_id: str, actor: str, provider_id: str) -> list[rules.Hours]:
    """A therapist's weekly working hours."""
    with UnitOfWork(engine, practice_id, actor, read_only=True) as uow:
        uow.records.get(providers, provider_id)
        return sorted(hours_in(uow, provider_id), key=lambda h: (h.weekday, h.start))


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
        zone = policy_in(uow).time_zone
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
            tuple((t.id, person_name(t)) for t in therapists),
            tuple(service_of(s) for s in uow.records.rows(services, order_by=[services.c.name]) if s.active),
            tuple(
                Room(r.id, r.name, True) for r in uow.records.rows(rooms, order_by=[rooms.c.name]) if r.active
            ),
            policy_in(uow),
        )
