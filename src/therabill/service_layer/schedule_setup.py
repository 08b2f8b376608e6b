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

from sqlalchemy import Engine, bindparam, select

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

__all__ = ["CalendarPolicy", "CalendarSetup", "Room", "Service", "TimeOff"]


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


_POLICY = select(
    practices.c.time_zone,
    practices.c.no_show_fee_cents,
    practices.c.late_cancel_fee_cents,
    practices.c.late_cancel_window_hours,
).where(practices.c.id == bindparam("practice_id"))


def policy_in(uow: UnitOfWork) -> CalendarPolicy:
    row = uow.session.execute(_POLICY, {"practice_id": uow.practice_id}).one()
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


def _check_service(name: str, duration_minutes: int, buffer_minutes: int, price: Decimal) -> None:
    if not name.strip():
        raise refuse("service-name-missing", "name", "give the service a name")
    if len(name.strip()) > 120:
        raise refuse("service-name-long", "name", "a service name has at most 120 characters")
    if not 5 <= duration_minutes <= 480:
        raise refuse("duration-invalid", "duration_minutes", "a service lasts 5 to 480 minutes")
    if not 0 <= buffer_minutes <= 120:
        raise refuse("buffer-invalid", "buffer_minutes", "the buffer is 0 to 120 minutes")
    if D(price) < 0:
        raise refuse("price-negative", "price", "the price cannot be negative")


def _check_offered_by(uow: UnitOfWork, provider_ids: Sequence[str], room_ids: Sequence[str]) -> None:
    for pid in provider_ids:
        uow.records.get(providers, pid)
    for rid in room_ids:
        uow.records.get(rooms, rid)


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
    _check_service(name, duration_minutes, buffer_minutes, price)
    with UnitOfWork(engine, practice_id, actor, clock=clock) as uow:
        _check_offered_by(uow, provider_ids, room_ids)
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


def update_service(
    engine: Engine,
    practice_id: str,
    actor: str,
    service_id: str,
    *,
    name: str | None = None,
    duration_minutes: int | None = None,
    price: Decimal | None = None,
    buffer_minutes: int | None = None,
    codes: Sequence[str] | None = None,
    provider_ids: Sequence[str] | None = None,
    room_ids: Sequence[str] | None = None,
    active: bool | None = None,
    clock: Clock = current_time,
) -> Service:
    """Change a service (only the values given). Booked appointments keep their times and
    the time they hold; the new length and buffer apply to bookings from now on. An
    inactive service is no longer offered for new bookings."""
    with UnitOfWork(engine, practice_id, actor, clock=clock) as uow:
        old = service_of(uow.records.get(services, service_id, for_update=True))
        new = Service(
            old.id,
            name.strip() if name is not None else old.name,
            duration_minutes if duration_minutes is not None else old.duration_minutes,
            D(price) if price is not None else old.price,
            buffer_minutes if buffer_minutes is not None else old.buffer_minutes,
            tuple(codes) if codes is not None else old.codes,
            tuple(provider_ids) if provider_ids is not None else old.provider_ids,
            tuple(room_ids) if room_ids is not None else old.room_ids,
            active if active is not None else old.active,
        )
        _check_service(new.name, new.duration_minutes, new.buffer_minutes, new.price)
        _check_offered_by(uow, new.provider_ids, new.room_ids)
        if new.name != old.name and uow.records.rows(services, services.c.name == new.name):
            raise refuse("service-name-taken", "name", f"a service named {new.name!r} exists")
        changed = {
            "name": new.name,
            "duration_minutes": new.duration_minutes,
            "price_cents": to_cents(new.price),
            "buffer_minutes": new.buffer_minutes,
            "codes": list(new.codes),
            "provider_ids": list(new.provider_ids),
            "room_ids": list(new.room_ids),
            "active": new.active,
        }
        uow.records.update(services, service_id, **changed)
        fields = sorted(k for k in ("name", "duration_minutes", "price", "buffer_minutes", "codes", "provider_ids",
                                    "room_ids", "active") if getattr(new, k) != getattr(old, k))  # fmt: skip
        uow.record("schedule.service.update", "service", service_id, {"fields": fields})
        return service_of(uow.records.get(services, service_id))


def update_room(
    engine: Engine,
    practice_id: str,
    actor: str,
    room_id: str,
    *,
    name: str | None = None,
    active: bool | None = None,
    clock: Clock = current_time,
) -> Room:
    """Rename a room, or take it out of (or back into) use; booked appointments keep it."""
    with UnitOfWork(engine, practice_id, actor, clock=clock) as uow:
        old = uow.records.get(rooms, room_id, for_update=True)
        new_name = name.strip() if name is not None else old.name
        if not new_name:
            raise refuse("room-name-missing", "name", "give the room a name")
        if len(new_name) > 80:
            raise refuse("room-name-long", "name", "a room name has at most 80 characters")
        if new_name != old.name and uow.records.rows(rooms, rooms.c.name == new_name):
            raise refuse("room-name-taken", "name", f"a room named {new_name!r} exists")
        uow.records.update(
            rooms, room_id, name=new_name, active=bool(old.active) if active is None else active
        )
        uow.record("schedule.room.update", "room", room_id)
        row = uow.records.get(rooms, room_id)
        return Room(row.id, row.name, bool(row.active))


@dataclass(frozen=True, slots=True)
class TimeOff:
    """A stretch a therapist is off.

    Attributes:
        id: opaque id.
        provider_id: the therapist.
        provider_name: "First Last".
        start_local: the practice's wall-clock start.
        end_local: the practice's wall-clock end.
        reason: free text.
    """

    id: str
    provider_id: str
    provider_name: str
    start_local: datetime
    end_local: datetime
    reason: str | None

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape (local times without offset)."""
        return {
            "id": self.id,
            "provider_id": self.provider_id,
            "provider_name": self.provider_name,
            "start_local": self.start_local.isoformat(),
            "end_local": self.end_local.isoformat(),
            "reason": self.reason,
        }


def list_time_off(
    engine: Engine,
    practice_id: str,
    actor: str,
    *,
    provider_id: str | None = None,
    include_past: bool = False,
) -> list[TimeOff]:
    """Time off, soonest first: every therapist's or one's; ended stretches only if asked."""
    with UnitOfWork(engine, practice_id, actor, read_only=True) as uow:
        zone = policy_in(uow).time_zone
        where = []
        if provider_id is not None:
            uow.records.get(providers, provider_id)
            where.append(time_off.c.provider_id == provider_id)
        if not include_past:
            where.append(time_off.c.end > uow.now().replace(tzinfo=None))
        names = {r.id: person_name(r) for r in uow.records.rows(providers)}
        return [
            TimeOff(
                r.id,
                r.provider_id,
                names.get(r.provider_id, ""),
                rules.to_local(r.start, zone),
                rules.to_local(r.end, zone),
                r.reason,
            )
            for r in uow.records.rows(time_off, *where, order_by=[time_off.c.start])
        ]


def delete_time_off(
    engine: Engine, practice_id: str, actor: str, time_off_id: str, *, clock: Clock = current_time
) -> None:
    """Remove a stretch of time off (its hours can be booked again)."""
    with UnitOfWork(engine, practice_id, actor, clock=clock) as uow:
        row = uow.records.get(time_off, time_off_id, for_update=True)
        uow.session.execute(
            time_off.delete().where(time_off.c.id == time_off_id, time_off.c.practice_id == practice_id)
        )
        uow.record("schedule.time_off.delete", "provider", row.provider_id, {"start": row.start.isoformat()})


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
