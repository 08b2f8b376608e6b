"""Appointments: booked, rescheduled, cancelled, moved through their statuses, checked in, read.

Statuses: booked (stored ``scheduled``) -> confirmed -> checked in (``arrived``) -> completed,
or no-show / late cancel (with the practice's fee) / cancelled. Callers give and read the
practice's wall-clock time (``*_local``); rows hold naive UTC. Every booking and move runs the
one double-booking check of ``availability`` inside a write unit of work.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, select

from therabill.adapters.db.tables import (
    appointments,
    authorizations,
    coverages,
    patients,
    providers,
    rooms,
    services,
    visits,
)
from therabill.clock import Clock, current_time
from therabill.domain import schedule as rules
from therabill.domain.ledger import ChargeType
from therabill.domain.schedule import AppointmentStatus, ScheduleError, Span, refuse
from therabill.service_layer import intake, ledger
from therabill.service_layer.availability import Plan, check_free, plan_span, room_for
from therabill.service_layer.schedule_setup import person_name, policy_in, service_of
from therabill.service_layer.uow import UnitOfWork, ambient_session, one_transaction

__all__ = ["Appointment", "CheckIn", "ScheduleError"]


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


def views(uow: UnitOfWork, rows: Sequence[Any], zone: str) -> list[Appointment]:
    if not rows:
        return []
    pids = {r.patient_id for r in rows}
    names = {
        r.id: person_name(r)
        for r in uow.session.execute(
            select(patients.c.id, patients.c.first_name, patients.c.last_name).where(
                patients.c.practice_id == uow.practice_id, patients.c.id.in_(pids)
            )
        )
    }
    therapists = {r.id: person_name(r) for r in uow.records.rows(providers)}
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


def view(uow: UnitOfWork, appointment_id: str) -> Appointment:
    return views(uow, [uow.records.get(appointments, appointment_id)], policy_in(uow).time_zone)[0]


def _insert(uow: UnitOfWork, plan: Plan, patient_id: str, reason: str | None, series_id: str | None) -> str:
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
        zone = policy_in(uow).time_zone
        end = rules.to_utc(end_local, zone) if end_local is not None else None
        new = book_in(
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
        return view(uow, new)


def book_in(
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
    plan = plan_span(
        uow, provider_id=provider_id, start=start, end=end, service_id=service_id, room_id=room_id
    )
    room = room_for(uow, service_id, room_id, Span(plan.start, plan.held_until))
    plan = Plan(plan.provider_id, room, plan.service_id, plan.start, plan.end, plan.held_until)
    check_free(uow, zone, plan)
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
        return book_in(
            uow,
            policy_in(uow).time_zone,
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
        zone = policy_in(uow).time_zone
        row = uow.records.get(appointments, appointment_id, for_update=True)
        rules.check_movable(row.status)
        start = rules.to_utc(start_local, zone)
        _move_in(uow, zone, row, start, provider_id or row.provider_id, room_id or row.room_id)
        return view(uow, appointment_id)


def _move_in(
    uow: UnitOfWork, zone: str, row: Any, start: datetime, provider_id: str, room_id: str | None
) -> None:
    length = row.end - row.start
    plan = plan_span(
        uow,
        provider_id=provider_id,
        start=start,
        end=start + length,
        service_id=row.service_id,
        room_id=room_id,
    )
    check_free(uow, zone, plan, exclude=[row.id])
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
            policy = policy_in(uow)
            row = uow.records.get(appointments, appointment_id, for_update=True)
            new = rules.check_transition(row.status, status)
            if new is AppointmentStatus.SCHEDULED and AppointmentStatus(row.status) not in rules.OCCUPYING:
                plan = Plan(
                    row.provider_id,
                    row.room_id,
                    row.service_id,
                    row.start,
                    row.end,
                    row.held_until or row.end,
                )
                check_free(uow, policy.time_zone, plan, exclude=[row.id])
            uow.records.update(appointments, appointment_id, status=new.value)
            uow.record(
                "appointment.status", "appointment", appointment_id, {"from": row.status, "to": new.value}
            )
        if new is AppointmentStatus.NO_SHOW:
            _post_fee(engine, practice_id, actor, row, policy.no_show_fee, ChargeType.NO_SHOW)
        elif new is AppointmentStatus.LATE_CANCEL:
            _post_fee(engine, practice_id, actor, row, policy.late_cancel_fee, ChargeType.LATE_CANCEL)
    with UnitOfWork(engine, practice_id, actor, read_only=True) as uow:
        return view(uow, appointment_id)


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
        policy = policy_in(uow)
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
    with UnitOfWork(engine, practice_id, actor, read_only=True) as uow:
        appt = view(uow, appointment_id)
        codes: tuple[str, ...] = ()
        if appt.service_id:
            codes = service_of(uow.records.get(services, appt.service_id)).codes
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


# -- reading ---------------------------------------------------------------------------------


def get_appointment(engine: Engine, practice_id: str, actor: str, appointment_id: str) -> Appointment:
    """One appointment."""
    with UnitOfWork(engine, practice_id, actor, read_only=True) as uow:
        return view(uow, appointment_id)


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
        return _appointments_in(
            uow,
            policy_in(uow).time_zone,
            first_day,
            days,
            provider_id=provider_id,
            include_freed=include_freed,
        )


def _appointments_in(
    uow: UnitOfWork,
    zone: str,
    first_day: date,
    days: int = 1,
    *,
    provider_id: str | None = None,
    include_freed: bool = True,
) -> list[Appointment]:
    """``appointments_on`` in the open unit of work, with the practice's time zone read already."""
    start, _ = rules.local_day_bounds(first_day, zone)
    _, end = rules.local_day_bounds(first_day + timedelta(days=days - 1), zone)
    query = uow.records.scoped(appointments).where(appointments.c.start >= start, appointments.c.start < end)
    if provider_id is not None:
        query = query.where(appointments.c.provider_id == provider_id)
    if not include_freed:
        query = query.where(appointments.c.status.in_([s.value for s in rules.OCCUPYING]))
    rows = list(uow.session.execute(query.order_by(appointments.c.start)).all())
    return views(uow, rows, zone)


def todays_visits(engine: Engine, practice_id: str, actor: str) -> list[Appointment]:
    """Today's appointments (the practice's local today, by the clock)."""
    with UnitOfWork(engine, practice_id, actor, read_only=True) as uow:
        zone = policy_in(uow).time_zone
        today = rules.to_local(uow.now().replace(tzinfo=None), zone).date()
        return _appointments_in(uow, zone, today)


def local_today(engine: Engine, practice_id: str, actor: str) -> date:
    """The practice's local date now."""
    with UnitOfWork(engine, practice_id, actor, read_only=True) as uow:
        return rules.to_local(uow.now().replace(tzinfo=None), policy_in(uow).time_zone).date()


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
