"""Online booking: the public page of a practice, booking requests, approval, the emails.

A practice opens online booking in its settings (``set_booking_settings``): on or off,
whether the front desk approves a booking before it is confirmed, whether the page shows a
card-on-file notice, and the policies a client accepts.

The public page (``open_practice``, ``offer``, ``open_slots``) shows the active services, the
therapists and the free starts the calendar computes (``schedule.availability``), from
``domain.booking.MIN_NOTICE`` ahead up to ``HORIZON_DAYS``.

A visitor who is not signed in to the portal asks for a time (``request_booking``): the
request is stored and a single-use link is emailed to the address typed. The answer and the
email are the same whether or not the address belongs to a client (no enumeration). The
link (``confirm_booking``) proves the address: the client with that email is recognised
(else a new client is registered), the appointment is booked through the calendar, which
refuses a double booking even for two requests at once, and it is confirmed at once or
waits for the practice's approval (``booking_approval.decide``). A client signed in to the
portal books at once (``book_for_client``). Every request that emails counts against
``portal_limits.throttle_in``.

Emails carry the client's first name, the time and the practice only (never the service,
the therapist or anything clinical); subjects carry no PHI.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import Engine, func, select

from therabill.adapters.db.portal_tables import booking_requests
from therabill.adapters.db.portal_tables import booking_settings as settings_table
from therabill.adapters.db.tables import patients, practices, providers, working_hours
from therabill.adapters.mail import OutgoingMail
from therabill.clock import Clock, current_time, naive_utc
from therabill.domain import schedule as calendar_rules
from therabill.domain.booking import (
    HORIZON_DAYS,
    bookable,
    check_contact,
    policies_digest,
    refuse,
    when_text,
)
from therabill.domain.errors import NotFoundError, Problem
from therabill.domain.schedule import AppointmentStatus, ScheduleError
from therabill.service_layer import client_links, portal_limits, schedule
from therabill.service_layer import patients as patients_svc
from therabill.service_layer.client_links import LinkPurpose
from therabill.service_layer.uow import UnitOfWork, one_transaction

__all__ = [
    "PUBLIC_ACTOR",
    "Booked",
    "BookingSettings",
    "Offer",
    "PublicPractice",
    "book_for_client",
    "booking_settings",
    "confirm_booking",
    "offer",
    "open_practice",
    "open_slots",
    "practice_slug",
    "request_booking",
    "set_booking_settings",
]

PUBLIC_ACTOR = "public:booking"
"""The audit actor of what an anonymous visitor of the public page does."""

# -- settings --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BookingSettings:
    """A practice's online booking settings.

    Attributes:
        enabled: the public page takes bookings.
        requires_approval: a booking waits for the practice before it is confirmed.
        card_on_file_notice: the page and emails say a card on file is needed.
        policies: the policies a client accepts (cancellation, lateness...), plain text.
    """

    enabled: bool = False
    requires_approval: bool = False
    card_on_file_notice: bool = False
    policies: str = ""


def _settings_in(uow: UnitOfWork) -> BookingSettings:
    row = uow.session.execute(uow.records.scoped(settings_table)).first()
    if row is None:
        return BookingSettings()
    return BookingSettings(
        bool(row.enabled), bool(row.requires_approval), bool(row.card_on_file_notice), row.policies or ""
    )


def booking_settings(engine: Engine, practice_id: str, actor: str) -> BookingSettings:
    """The practice's online booking settings (all off when never set)."""
    with UnitOfWork(engine, practice_id, actor, read_only=True) as uow:
        return _settings_in(uow)


def set_booking_settings(
    engine: Engine,
    practice_id: str,
    actor: str,
    *,
    enabled: bool,
    requires_approval: bool,
    card_on_file_notice: bool,
    policies: str,
    clock: Clock = current_time,
) -> BookingSettings:
    """Set the practice's online booking settings (all of them)."""
    text = policies.strip()
    if len(text) > 10_000:
        raise refuse("policies-too-long", "policies", "the policies are longer than 10,000 characters")
    if enabled and not text:
        raise refuse(
            "policies-missing", "policies", "write the policies clients accept before opening booking"
        )
    values = {
        "enabled": enabled,
        "requires_approval": requires_approval,
        "card_on_file_notice": card_on_file_notice,
        "policies": text,
    }
    with UnitOfWork(engine, practice_id, actor, clock=clock) as uow:
        row = uow.session.execute(uow.records.scoped(settings_table)).first()
        if row is None:
            uow.records.insert(settings_table, updated_at=uow.now(), **values)
        else:
            uow.records.update(settings_table, row.id, updated_at=uow.now(), **values)
        uow.record(
            "booking.settings",
            "practice",
            practice_id,
            {k: str(v) for k, v in values.items() if k != "policies"},
        )
        return _settings_in(uow)


# -- the public page -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PublicPractice:
    """What the public page shows of a practice.

    Attributes:
        id: the practice's id.
        slug: its short name in the page's address.
        name: its name.
        phone: its phone number as people read it, if any.
        time_zone: its IANA zone (times on the page are its wall clock).
        settings: its online booking settings.
    """

    id: str
    slug: str
    name: str
    phone: str | None
    time_zone: str
    settings: BookingSettings


def _phone_text(phone: str | None) -> str | None:
    digits = "".join(ch for ch in phone or "" if ch.isdigit())
    return f"({digits[:3]}) {digits[3:6]}-{digits[6:]}" if len(digits) == 10 else (phone or None)


def open_practice(engine: Engine, slug: str) -> PublicPractice:
    """The practice whose public page is ``/book/<slug>``.

    Raises:
        NotFoundError: no such practice, or it has not opened online booking (the same
            answer for both).
    """
    missing = NotFoundError("no such booking page", (Problem("not-found", "slug", "no such booking page"),))
    if not slug or len(slug) > 64:
        raise missing
    with engine.connect() as conn:
        row = conn.execute(select(practices.c.id).where(practices.c.slug == slug)).first()
    if row is None:
        raise missing
    with UnitOfWork(engine, row.id, PUBLIC_ACTOR, read_only=True) as uow:
        found = uow.session.execute(select(practices).where(practices.c.id == row.id)).one()
        settings = _settings_in(uow)
    if not settings.enabled:
        raise missing
    return PublicPractice(
        found.id,
        found.slug,
        found.name,
        _phone_text(found.phone),
        found.time_zone or calendar_rules.DEFAULT_TIME_ZONE,
        settings,
    )


@dataclass(frozen=True, slots=True)
class Offer:
    """What a client chooses from: services and therapists who take online bookings.

    Attributes:
        services: the active services, by name.
        therapists: (id, "First Last") of active therapists with working hours on file.
    """

    services: tuple[schedule.Service, ...]
    therapists: tuple[tuple[str, str], ...]


def offer(engine: Engine, practice_id: str) -> Offer:
    """The practice's bookable services and therapists."""
    services = tuple(s for s in schedule.list_services(engine, practice_id, PUBLIC_ACTOR) if s.active)
    with UnitOfWork(engine, practice_id, PUBLIC_ACTOR, read_only=True) as uow:
        working = {r.provider_id for r in uow.records.rows(working_hours)}
        rows = uow.records.rows(providers, order_by=[providers.c.last_name, providers.c.first_name])
    therapists = tuple((r.id, f"{r.first_name} {r.last_name}") for r in rows if r.active and r.id in working)
    return Offer(services, therapists)


def _service_for_booking(engine: Engine, practice_id: str, service_id: str) -> schedule.Service:
    try:
        found = schedule.get_service(engine, practice_id, PUBLIC_ACTOR, service_id)
    except NotFoundError:
        raise refuse("service-unknown", "service_id", "choose one of the services") from None
    if not found.active:
        raise refuse("service-unknown", "service_id", "choose one of the services")
    return found


def open_slots(
    engine: Engine,
    practice_id: str,
    *,
    service_id: str,
    day: date,
    provider_id: str | None = None,
    clock: Clock = current_time,
) -> list[schedule.Slot]:
    """Free starts a client may book online for the service on a local day."""
    _service_for_booking(engine, practice_id, service_id)
    now = naive_utc(clock())
    if day < (now - timedelta(days=1)).date() or day > (now + timedelta(days=HORIZON_DAYS + 1)).date():
        return []
    slots = schedule.availability(
        engine, practice_id, PUBLIC_ACTOR, service_id=service_id, day=day, provider_id=provider_id
    )
    return [s for s in slots if bookable(s.start, now)]


def _check_slot(
    engine: Engine, practice_id: str, service_id: str, provider_id: str, start_local: datetime, clock: Clock
) -> None:
    calendar_rules.check_when(start_local, "start_local")
    free = open_slots(
        engine,
        practice_id,
        service_id=service_id,
        day=start_local.date(),
        provider_id=provider_id,
        clock=clock,
    )
    if not any(s.start_local == start_local and s.provider_id == provider_id for s in free):
        raise refuse("slot-not-free", "start", "that time is no longer free; choose another")


# -- booking ---------------------------------------------------------------------------------


def request_booking(
    engine: Engine,
    practice_id: str,
    *,
    service_id: str,
    provider_id: str,
    start_local: datetime,
    first_name: str,
    last_name: str,
    email: str,
    phone: str,
    accepted_policies: bool,
    ip: str,
    link_base: str,
    clock: Clock = current_time,
) -> OutgoingMail:
    """Store a booking request and compose the email with its confirmation link.

    The same for an email that belongs to a client and one that does not: the link's
    holder is recognised only when they follow it.

    Raises:
        BookingError: a field is wrong (every problem listed), the time is not free.
        RateLimitedError: too many requests.
    """
    contact = check_contact(
        first_name=first_name,
        last_name=last_name,
        email=email,
        phone=phone,
        accepted_policies=accepted_policies,
    )
    _service_for_booking(engine, practice_id, service_id)
    _check_slot(engine, practice_id, service_id, provider_id, start_local, clock)
    with UnitOfWork(engine, practice_id, PUBLIC_ACTOR, clock=clock) as uow:
        settings = _settings_in(uow)
        if not settings.enabled:
            raise NotFoundError(
                "no such booking page", (Problem("not-found", "slug", "no such booking page"),)
            )
        portal_limits.throttle_in(uow, "booking", ip, contact.email)
        zone = uow.session.execute(
            select(practices.c.time_zone, practices.c.name).where(practices.c.id == practice_id)
        ).one()
        start = calendar_rules.to_utc(calendar_rules.wall_clock(start_local, zone.time_zone), zone.time_zone)
        now = uow.now()
        request_id = uow.records.insert(
            booking_requests,
            email=contact.email,
            first_name=contact.first_name,
            last_name=contact.last_name,
            phone=contact.phone,
            service_id=service_id,
            provider_id=provider_id,
            start=start,
            status="emailed",
            approval="none",
            policies_digest=policies_digest(settings.policies),
            accepted_at=now,
            created_at=now,
        )
        token = client_links.issue_in(uow, LinkPurpose.BOOKING, request_id=request_id)
        uow.record("booking.request", "booking_request", request_id)
    when = when_text(start_local)
    text = (
        f"Hi {contact.first_name},\n\n"
        f"To confirm your appointment on {when} at {zone.name}, open this link:\n\n"
        f"{link_base}{token}\n\n"
        "The link works once and expires in 2 hours. If you did not ask for this, ignore this email: "
        "nothing is booked until the link is opened.\n"
    )
    return OutgoingMail(to=contact.email, subject=f"Confirm your appointment at {zone.name}", text=text)


@dataclass(frozen=True, slots=True)
class Booked:
    """A booking made online.

    Attributes:
        practice_id: the practice.
        patient_id: the client (recognised by email, or registered now).
        appointment: the appointment as the calendar shows it.
        awaiting_approval: the practice confirms it later.
        new_client: the client was registered by this booking.
    """

    practice_id: str
    patient_id: str
    appointment: schedule.Appointment
    awaiting_approval: bool
    new_client: bool


def _client_by_email(engine: Engine, practice_id: str, email: str) -> str | None:
    with UnitOfWork(engine, practice_id, PUBLIC_ACTOR, read_only=True) as uow:
        row = uow.session.execute(
            uow.records.scoped(patients)
            .where(func.lower(patients.c.email) == email)
            .order_by(patients.c.created_at)
            .limit(1)
        ).first()
    return row.id if row is not None else None


def _book_in_calendar(
    engine: Engine,
    practice_id: str,
    actor: str,
    *,
    patient_id: str,
    service_id: str,
    provider_id: str,
    start_local: datetime,
    requires_approval: bool,
    clock: Clock,
) -> schedule.Appointment:
    appointment = schedule.book(
        engine,
        practice_id,
        actor,
        patient_id=patient_id,
        provider_id=provider_id,
        service_id=service_id,
        start_local=start_local,
        reason="booked online",
        clock=clock,
    )
    if not requires_approval:
        appointment = schedule.set_status(
            engine, practice_id, actor, appointment.id, AppointmentStatus.CONFIRMED.value, clock=clock
        )
    return appointment


def confirm_booking(engine: Engine, token: str, *, clock: Clock = current_time) -> Booked:
    """Follow a booking link: recognise or register the client and book the time.

    All or nothing: the client, the appointment and its status are one transaction.

    Raises:
        BookingError: the link is not valid, expired or used (``link-*``), or the time was
            taken meanwhile (``slot-taken``: nothing is booked).
    """
    grant = client_links.redeem(engine, token, LinkPurpose.BOOKING)
    pid = grant.practice_id
    with UnitOfWork(engine, pid, PUBLIC_ACTOR, read_only=True) as uow:
        req = uow.records.get(booking_requests, grant.request_id or "")
        settings = _settings_in(uow)
        zone = uow.session.execute(select(practices.c.time_zone).where(practices.c.id == pid)).scalar_one()
    existing = _client_by_email(engine, pid, req.email)
    start_local = calendar_rules.to_local(req.start, zone)
    try:
        with one_transaction(engine):
            patient_id = existing or patients_svc.register_patient(
                engine,
                pid,
                PUBLIC_ACTOR,
                chart_number=f"WEB-{secrets.token_hex(5).upper()}",
                first_name=req.first_name,
                last_name=req.last_name,
                phone=req.phone,
                email=req.email,
                clock=clock,
            )
            actor = f"client:{patient_id}"
            appointment = _book_in_calendar(
                engine,
                pid,
                actor,
                patient_id=patient_id,
                service_id=req.service_id,
                provider_id=req.provider_id,
                start_local=start_local,
                requires_approval=settings.requires_approval,
                clock=clock,
            )
            with UnitOfWork(engine, pid, actor, clock=clock) as uow:
                uow.records.update(
                    booking_requests,
                    req.id,
                    status="booked",
                    approval="awaiting" if settings.requires_approval else "none",
                    patient_id=patient_id,
                    appointment_id=appointment.id,
                )
                uow.record("booking.confirm", "appointment", appointment.id, {"new_client": existing is None})
    except ScheduleError:
        with UnitOfWork(engine, pid, PUBLIC_ACTOR, clock=clock) as uow:
            uow.records.update(booking_requests, req.id, status="taken")
        raise refuse(
            "slot-taken", "start", "that time was booked by someone else meanwhile; choose another"
        ) from None
    return Booked(pid, patient_id, appointment, settings.requires_approval, existing is None)


def book_for_client(
    engine: Engine,
    practice_id: str,
    patient_id: str,
    *,
    service_id: str,
    provider_id: str,
    start_local: datetime,
    ip: str,
    accepted_policies: bool,
    clock: Clock = current_time,
) -> Booked:
    """A client signed in to the portal books a time (confirmed at once or awaiting approval).

    Raises:
        BookingError: the policies were not accepted, the time is not bookable online or no
            longer free.
        RateLimitedError: more than ``portal_limits.PER_EMAIL`` bookings within the window.
    """
    if not accepted_policies:
        raise refuse("policies-not-accepted", "accept_policies", "read and accept the practice's policies")
    _service_for_booking(engine, practice_id, service_id)
    _check_slot(engine, practice_id, service_id, provider_id, start_local, clock)
    actor = f"client:{patient_id}"
    with UnitOfWork(engine, practice_id, actor, read_only=True) as uow:
        client = uow.records.get(patients, patient_id)
        settings = _settings_in(uow)
    if not settings.enabled:
        raise refuse("booking-closed", "practice", "the practice does not take online bookings now")
    try:
        with one_transaction(engine):
            with UnitOfWork(engine, practice_id, actor, clock=clock) as uow:
                portal_limits.throttle_in(uow, "client-book", ip, f"patient:{patient_id}")
            appointment = _book_in_calendar(
                engine,
                practice_id,
                actor,
                patient_id=patient_id,
                service_id=service_id,
                provider_id=provider_id,
                start_local=start_local,
                requires_approval=settings.requires_approval,
                clock=clock,
            )
            with UnitOfWork(engine, practice_id, actor, clock=clock) as uow:
                now = uow.now()
                uow.records.insert(
                    booking_requests,
                    email=(client.email or "").lower(),
                    first_name=client.first_name,
                    last_name=client.last_name,
                    phone=client.phone or "",
                    service_id=service_id,
                    provider_id=provider_id,
                    start=appointment.start,
                    status="booked",
                    approval="awaiting" if settings.requires_approval else "none",
                    patient_id=patient_id,
                    appointment_id=appointment.id,
                    policies_digest=policies_digest(settings.policies),
                    accepted_at=now,
                    created_at=now,
                )
    except ScheduleError:
        raise refuse(
            "slot-taken", "start", "that time was booked by someone else meanwhile; choose another"
        ) from None
    return Booked(practice_id, patient_id, appointment, settings.requires_approval, False)


def practice_slug(engine: Engine, practice_id: str, actor: str) -> str:
    """The practice's short name (its booking page is ``/book/<slug>``)."""
    with UnitOfWork(engine, practice_id, actor, read_only=True) as uow:
        return str(
            uow.session.execute(select(practices.c.slug).where(practices.c.id == practice_id)).scalar_one()
        )
