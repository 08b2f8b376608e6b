"""Approval of online bookings: a practice that wants to see each online booking first.

While a booking waits, its appointment is booked (it holds the time: nobody else can take
it) and its request is ``awaiting``. Approving confirms the appointment, declining cancels it
(no fee); the client is emailed either way (first name, time and practice only).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, select

from therabill.adapters.db.portal_tables import booking_requests
from therabill.adapters.db.tables import patients, practices
from therabill.adapters.mail import OutgoingMail
from therabill.clock import Clock, current_time
from therabill.domain.booking import refuse, when_text
from therabill.domain.schedule import AppointmentStatus
from therabill.service_layer import schedule
from therabill.service_layer.uow import UnitOfWork, one_transaction

__all__ = ["PendingBooking", "awaiting_ids", "decide", "pending_approvals"]


@dataclass(frozen=True, slots=True)
class PendingBooking:
    """An online booking waiting for the practice's approval.

    Attributes:
        request_id: the request.
        appointment: the appointment (booked: it holds the time).
        requested_at: when the client booked.
    """

    request_id: str
    appointment: schedule.Appointment
    requested_at: datetime


def pending_approvals(engine: Engine, practice_id: str, actor: str) -> list[PendingBooking]:
    """Online bookings waiting for approval, soonest first."""
    with UnitOfWork(engine, practice_id, actor, read_only=True) as uow:
        rows = uow.records.rows(
            booking_requests, booking_requests.c.approval == "awaiting", order_by=[booking_requests.c.start]
        )
    out = []
    for r in rows:
        appointment = schedule.get_appointment(engine, practice_id, actor, r.appointment_id)
        if appointment.status == AppointmentStatus.SCHEDULED.value:
            out.append(PendingBooking(r.id, appointment, r.created_at))
    return out


def decide(
    engine: Engine,
    practice_id: str,
    actor: str,
    request_id: str,
    *,
    approve: bool,
    clock: Clock = current_time,
) -> OutgoingMail | None:
    """Approve (confirm) or decline (cancel) an online booking; the email to the client.

    Raises:
        BookingError: the booking is not waiting for approval (``booking-not-awaiting``).
    """
    with one_transaction(engine):
        with UnitOfWork(engine, practice_id, actor, clock=clock) as uow:
            req = uow.records.get(booking_requests, request_id, for_update=True)
            if req.approval != "awaiting" or req.appointment_id is None:
                raise refuse("booking-not-awaiting", "request_id", "this booking is not waiting for approval")
            uow.records.update(booking_requests, request_id, approval="approved" if approve else "declined")
            uow.record("booking.approve" if approve else "booking.decline", "appointment", req.appointment_id)
            name = uow.session.execute(
                select(practices.c.name).where(practices.c.id == practice_id)
            ).scalar_one()
            client = uow.records.get(patients, req.patient_id)
        status = AppointmentStatus.CONFIRMED if approve else AppointmentStatus.CANCELLED
        appointment = schedule.set_status(
            engine, practice_id, actor, req.appointment_id, status.value, clock=clock
        )
    if not client.email:
        return None
    when = when_text(appointment.start_local)
    if approve:
        subject = f"Your appointment at {name} is confirmed"
        text = f"Hi {client.first_name},\n\n{name} confirmed your appointment on {when}.\n"
    else:
        subject = f"Your appointment request at {name}"
        text = (
            f"Hi {client.first_name},\n\n{name} could not take your appointment on {when}. "
            "Please choose another time or call the practice.\n"
        )
    return OutgoingMail(to=client.email, subject=subject, text=text)


def awaiting_ids(engine: Engine, practice_id: str, actor: str, appointment_ids: list[str]) -> set[str]:
    """Which of the appointments wait for the practice's approval."""
    if not appointment_ids:
        return set()
    with UnitOfWork(engine, practice_id, actor, read_only=True) as uow:
        rows = uow.records.rows(
            booking_requests,
            booking_requests.c.approval == "awaiting",
            booking_requests.c.appointment_id.in_(appointment_ids),
        )
    return {r.appointment_id for r in rows}
