"""The client portal: magic-link log-in, client sessions, and what a client sees and does.

A client asks for a log-in link with their email (``request_login``): a known address gets
a single-use link, an unknown one an email saying there is no client under it; the answer on
the page is the same for both, and both count against the same rate limits. The link
(``log_in``) starts a client session (``portal_sessions``), separate from staff sessions:
another cookie, no role, no staff permission, idle and absolute time-outs.

Every function below takes the ``Client`` and reads or changes that client's records only: an
appointment, a payment or a document of another client answers "not found", like a missing
one. The intake is the same versioned health history the therapist reads at check-in
(``service_layer.intake``): the client's submission is a new version, its consents given
electronically and dated, with the client's typed signature (``client_signatures``); the
therapist still reviews and signs it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, func, select, update

from therabill.adapters.db.engine import one_read_statement
from therabill.adapters.db.ledger_tables import ledger_entries
from therabill.adapters.db.portal_tables import client_signatures, portal_sessions
from therabill.adapters.db.tables import appointments, claims, patients, practices, visits
from therabill.adapters.mail import OutgoingMail
from therabill.clock import Clock, current_time, naive_utc
from therabill.domain import schedule as calendar_rules
from therabill.domain.booking import (
    change_deadline,
    check_email,
    client_may_change,
    refuse,
    signature_matches,
)
from therabill.domain.errors import NotFoundError, Problem
from therabill.domain.intake import IntakeVersion, intake_to_dict
from therabill.domain.ledger import EntryKind
from therabill.domain.money import from_cents
from therabill.security.tokens import digest, new_token
from therabill.service_layer import appointments as appointment_svc
from therabill.service_layer import availability as free_times
from therabill.service_layer import (
    booking,
    booking_approval,
    client_links,
    contact_preferences,
    documents,
    intake,
    ledger,
    portal_limits,
    schedule_setup,
)
from therabill.service_layer.client_links import LinkPurpose
from therabill.service_layer.uow import UnitOfWork, one_transaction

__all__ = [
    "Client",
    "PortalAppointment",
    "PortalHome",
    "cancel_appointment",
    "client_of",
    "end_session",
    "home",
    "intake_document",
    "log_in",
    "note_view",
    "receipt_pdf",
    "request_login",
    "reschedule_appointment",
    "reschedule_slots",
    "sign_intake",
    "statement_pdf",
]

IDLE = timedelta(minutes=30)
"""A client session unused this long ends."""
ABSOLUTE = timedelta(hours=8)
"""A client session ends this long after log-in whatever happens."""


@dataclass(frozen=True, slots=True)
class Client:
    """A signed-in client (the portal's principal).

    Attributes:
        practice_id: the practice.
        patient_id: the client's record; everything the portal shows is scoped to it.
        first_name: to greet them.
        practice_name: the practice's name (the pages' header).
        csrf_token: the session's CSRF token.
    """

    practice_id: str
    patient_id: str
    first_name: str
    practice_name: str
    csrf_token: str = field(repr=False)

    @property
    def actor(self) -> str:
        """The audit actor (``client:<patient id>``)."""
        return f"client:{self.patient_id}"


# -- log-in and sessions ---------------------------------------------------------------------


def request_login(
    engine: Engine,
    practice_id: str,
    email: str,
    *,
    ip: str,
    link_base: str,
    book_url: str,
    clock: Clock = current_time,
) -> OutgoingMail:
    """The log-in email for ``email``: a link when it is a client's address, else a note.

    Raises:
        BookingError: not an email address (``email-invalid``).
        RateLimitedError: too many requests (known and unknown addresses alike).
    """
    address = check_email(email)
    with UnitOfWork(engine, practice_id, booking.PUBLIC_ACTOR, clock=clock) as uow:
        portal_limits.throttle_in(uow, "login", ip, address)
        name = uow.session.execute(select(practices.c.name).where(practices.c.id == practice_id)).scalar_one()
        row = uow.session.execute(
            uow.records.scoped(patients)
            .where(func.lower(patients.c.email) == address)
            .order_by(patients.c.created_at)
            .limit(1)
        ).first()
        token = client_links.issue_in(uow, LinkPurpose.LOGIN, patient_id=row.id) if row is not None else None
        uow.record("portal.login.request", "practice", practice_id, {"known": row is not None})
    subject = f"Your sign-in link for {name}"
    if token is None or row is None:
        text = (
            f"Hello,\n\nSomeone asked to sign in to the client portal of {name} with this address, "
            f"but no client record uses it. To book a first appointment: {book_url}\n\n"
            "If you did not ask for this, ignore this email.\n"
        )
    else:
        text = (
            f"Hi {row.first_name},\n\nTo sign in to the client portal of {name}, open this link:\n\n"
            f"{link_base}{token}\n\nThe link works once and expires in 30 minutes. "
            "If you did not ask for this, ignore this email.\n"
        )
    return OutgoingMail(to=address, subject=subject, text=text)


def start_session(engine: Engine, practice_id: str, patient_id: str, *, clock: Clock = current_time) -> str:
    """A new client session; returns its token (only its digest is stored)."""
    token = new_token()
    actor = f"client:{patient_id}"
    with UnitOfWork(engine, practice_id, actor, clock=clock) as uow:
        uow.records.get(patients, patient_id)
        now = naive_utc(uow.now())
        uow.records.insert(
            portal_sessions,
            patient_id=patient_id,
            digest=digest(token),
            csrf_token=new_token(),
            created_at=now,
            last_seen_at=now,
            expires_at=now + ABSOLUTE,
            ended_at=None,
        )
        uow.record("portal.login", "patient", patient_id)
    return token


def log_in(engine: Engine, token: str, *, clock: Clock = current_time) -> str:
    """Follow a log-in link: a new client session token.

    Raises:
        BookingError: the link is not valid, expired or used.
    """
    grant = client_links.redeem(engine, token, LinkPurpose.LOGIN)
    return start_session(engine, grant.practice_id, grant.patient_id or "", clock=clock)


def client_of(engine: Engine, token: str, *, clock: Clock = current_time) -> Client | None:
    """The client of a session token, or ``None`` (unknown, ended, idle or too old)."""
    if not token or len(token) > 100:
        return None
    now = naive_utc(clock())
    s = portal_sessions.c
    # Most requests only read (one statement); the last-seen time is written when a minute old.
    with one_read_statement(engine) as conn:
        row = conn.execute(
            select(portal_sessions, patients.c.first_name, practices.c.name.label("practice_name"))
            .join(patients, patients.c.id == s.patient_id)
            .join(practices, practices.c.id == s.practice_id)
            .where(s.digest == digest(token), s.ended_at.is_(None))
        ).first()
    if row is None or row.expires_at <= now or row.last_seen_at + IDLE <= now:
        return None
    if now - row.last_seen_at > timedelta(minutes=1):
        with engine.begin() as conn:
            conn.execute(update(portal_sessions).where(s.id == row.id).values(last_seen_at=now))
    return Client(row.practice_id, row.patient_id, row.first_name, row.practice_name, row.csrf_token)


def end_session(engine: Engine, token: str, *, clock: Clock = current_time) -> None:
    """Log the client out (the session cannot be used again)."""
    s = portal_sessions.c
    with engine.begin() as conn:
        conn.execute(
            update(portal_sessions)
            .where(s.digest == digest(token), s.ended_at.is_(None))
            .values(ended_at=naive_utc(clock()))
        )


def note_view(engine: Engine, client: Client, what: str, *, clock: Clock = current_time) -> None:
    """Write the client's view of a portal page to the audit log (``portal.view``)."""
    with UnitOfWork(engine, client.practice_id, client.actor, clock=clock) as uow:
        uow.record("portal.view", "patient", client.patient_id, {"page": what[:40]})


# -- the home page ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PortalAppointment:
    """An upcoming appointment as the client reads it.

    Attributes:
        appointment: the calendar's view of it.
        awaiting_approval: the practice has not confirmed it yet.
        may_change: the client may still cancel or move it online.
        change_until: until when (local wall clock).
    """

    appointment: appointment_svc.Appointment
    awaiting_approval: bool
    may_change: bool
    change_until: datetime


@dataclass(frozen=True, slots=True)
class PortalHome:
    """What the portal's home page shows.

    Attributes:
        practice_name: the practice.
        practice_slug: for the booking page's address.
        first_name: the client's first name.
        upcoming: upcoming appointments, soonest first.
        intake_status: ``missing``, ``unsigned`` (the therapist has not reviewed it) or ``signed``.
        intake_version: the current version, if any.
        client_signed_at: when the client last signed the intake online, if ever.
        balance: what the client owes (negative: a credit).
        payments: (reference, date, amount) of the client's payments, newest first (receipts).
        window_hours: the practice's change window.
        superbills: (visit id, date of service) of the client's coded visits, newest first:
            each one's superbill, to file with their plan.
        contact: the client's email / text-message opt-outs.
    """

    practice_name: str
    practice_slug: str
    first_name: str
    upcoming: tuple[PortalAppointment, ...]
    intake_status: str
    intake_version: int | None
    client_signed_at: datetime | None
    balance: Decimal
    payments: tuple[tuple[str, date, Decimal], ...]
    window_hours: int
    superbills: tuple[tuple[str, date], ...] = ()
    contact: contact_preferences.ContactPreferences | None = None


def _own_appointment(engine: Engine, client: Client, appointment_id: str) -> appointment_svc.Appointment:
    try:
        found = appointment_svc.get_appointment(engine, client.practice_id, client.actor, appointment_id)
    except NotFoundError:
        found = None
    if found is None or found.patient_id != client.patient_id:
        raise NotFoundError(
            "no such appointment", (Problem("not-found", "appointment_id", "no such appointment"),)
        )
    return found


def _payments(uow: UnitOfWork, patient_id: str) -> tuple[tuple[str, date, Decimal], ...]:
    e = ledger_entries.c
    rows = uow.session.execute(
        uow.records.scoped(ledger_entries)
        .where(e.patient_id == patient_id, e.kind == EntryKind.PATIENT_PAYMENT.value)
        .order_by(e.posted_at.desc())
    ).all()
    by_ref: dict[str, tuple[str, date, Decimal]] = {}
    for r in rows:
        ref = r.idempotency_key or r.id
        ref_id = by_ref.get(ref)
        amount = from_cents(r.amount_cents)
        by_ref[ref] = (r.id, r.posted_at.date(), amount + (ref_id[2] if ref_id else Decimal("0")))
    return tuple(by_ref.values())


def _superbills(uow: UnitOfWork, patient_id: str) -> tuple[tuple[str, date], ...]:
    """The client's visits that have a claim (not voided): each has a superbill."""
    rows = uow.session.execute(
        select(visits.c.id, visits.c.date_of_service)
        .where(
            visits.c.practice_id == uow.practice_id,
            visits.c.patient_id == patient_id,
            select(claims.c.id).where(claims.c.visit_id == visits.c.id, claims.c.status != "voided").exists(),
        )
        .order_by(visits.c.date_of_service.desc())
        .limit(50)
    ).all()
    return tuple((r.id, r.date_of_service) for r in rows)


def home(engine: Engine, client: Client, *, clock: Clock = current_time) -> PortalHome:
    """The client's upcoming appointments, intake status, balance and receipts."""
    now = naive_utc(clock())
    with UnitOfWork(engine, client.practice_id, client.actor, read_only=True) as uow:
        prac = uow.session.execute(select(practices).where(practices.c.id == client.practice_id)).one()
        a = appointments.c
        ids = [
            r.id
            for r in uow.session.execute(
                uow.records.scoped(appointments)
                .where(
                    a.patient_id == client.patient_id,
                    a.start >= now - timedelta(hours=1),
                    a.status.in_([s.value for s in calendar_rules.OCCUPYING]),
                )
                .order_by(a.start)
                .limit(20)
            )
        ]
        signed_at = uow.session.execute(
            select(func.max(client_signatures.c.signed_at)).where(
                client_signatures.c.practice_id == client.practice_id,
                client_signatures.c.patient_id == client.patient_id,
            )
        ).scalar()
        payments = _payments(uow, client.patient_id)
        superbills = _superbills(uow, client.patient_id)
        contact = contact_preferences.contact_preferences_in(uow, client.patient_id)
    window = prac.late_cancel_window_hours
    pending = booking_approval.awaiting_ids(engine, client.practice_id, client.actor, ids)
    upcoming = []
    for appointment_id in ids:
        view = appointment_svc.get_appointment(engine, client.practice_id, client.actor, appointment_id)
        movable = view.status in {s.value for s in calendar_rules.MOVABLE}
        deadline = change_deadline(view.start, window)
        upcoming.append(
            PortalAppointment(
                view,
                appointment_id in pending,
                movable and client_may_change(view.start, now, window),
                calendar_rules.to_local(deadline, prac.time_zone),
            )
        )
    current = intake.current_intake(engine, client.practice_id, client.actor, client.patient_id)
    status = "missing" if current is None else ("signed" if current.signed else "unsigned")
    balances = ledger.balances(engine, client.practice_id, client.actor, patient_id=client.patient_id)
    return PortalHome(
        prac.name,
        prac.slug,
        client.first_name,
        tuple(upcoming),
        status,
        current.version if current else None,
        signed_at,
        Decimal(balances["balance"]["patient_balance"]),
        payments,
        window if window is not None else 24,
        superbills,
        contact,
    )


# -- cancel and reschedule -------------------------------------------------------------------


def _check_window(engine: Engine, client: Client, found: appointment_svc.Appointment, now: datetime) -> None:
    policy = schedule_setup.calendar_policy(engine, client.practice_id, client.actor)
    if found.status not in {s.value for s in calendar_rules.MOVABLE}:
        raise refuse(
            "appointment-not-changeable", "appointment_id", "this appointment cannot be changed online"
        )
    if not client_may_change(found.start, now, policy.late_cancel_window_hours):
        deadline = calendar_rules.to_local(
            change_deadline(found.start, policy.late_cancel_window_hours), policy.time_zone
        )
        raise refuse(
            "change-window-passed",
            "appointment_id",
            f"online changes closed {deadline:%a %b %-d, %-I:%M %p}; please call the practice",
        )


def cancel_appointment(
    engine: Engine, client: Client, appointment_id: str, *, clock: Clock = current_time
) -> appointment_svc.Appointment:
    """Cancel one of the client's appointments, outside the practice's window only (no fee)."""
    found = _own_appointment(engine, client, appointment_id)
    _check_window(engine, client, found, naive_utc(clock()))
    return appointment_svc.cancel(engine, client.practice_id, client.actor, appointment_id, clock=clock)


def reschedule_slots(
    engine: Engine, client: Client, appointment_id: str, day: date, *, clock: Clock = current_time
) -> list[free_times.Slot]:
    """Free starts on ``day`` for the same service with the same therapist."""
    found = _own_appointment(engine, client, appointment_id)
    if found.service_id is None:
        return []
    slots = booking.open_slots(
        engine,
        client.practice_id,
        service_id=found.service_id,
        day=day,
        provider_id=found.provider_id,
        clock=clock,
    )
    return slots


def reschedule_appointment(
    engine: Engine, client: Client, appointment_id: str, start_local: datetime, *, clock: Clock = current_time
) -> appointment_svc.Appointment:
    """Move one of the client's appointments to a free start, outside the window only.

    Raises:
        BookingError: inside the window, not a free start, or taken meanwhile.
    """
    found = _own_appointment(engine, client, appointment_id)
    now = naive_utc(clock())
    _check_window(engine, client, found, now)
    day_slots = reschedule_slots(engine, client, appointment_id, start_local.date(), clock=clock)
    if not any(s.start_local == start_local for s in day_slots):
        raise refuse("slot-not-free", "start", "that time is not free; choose another")
    try:
        return appointment_svc.reschedule(
            engine, client.practice_id, client.actor, appointment_id, start_local=start_local, clock=clock
        )
    except calendar_rules.ScheduleError:
        raise refuse(
            "slot-taken", "start", "that time was booked by someone else meanwhile; choose another"
        ) from None


# -- intake ----------------------------------------------------------------------------------


def intake_document(engine: Engine, client: Client) -> dict[str, Any] | None:
    """The client's current health history (intake document shape), or ``None``."""
    current = intake.current_intake(engine, client.practice_id, client.actor, client.patient_id)
    return intake_to_dict(current.record) if current else None


def sign_intake(
    engine: Engine,
    client: Client,
    document: Mapping[str, Any],
    *,
    signed_name: str,
    clock: Clock = current_time,
) -> IntakeVersion:
    """Store the client's health history as a new version, signed by the client.

    The consents the client ticked are dated today (the practice's date) and marked given
    electronically; the typed signature must be the client's name. The intake, its
    signature and the audit rows are one transaction.

    Raises:
        BookingError: the signature is missing or not the client's name.
        IntakeError: the document has problems (every one listed, by field).
    """
    with UnitOfWork(engine, client.practice_id, client.actor, read_only=True) as uow:
        person = uow.records.get(patients, client.patient_id)
        zone = uow.session.execute(
            select(practices.c.time_zone).where(practices.c.id == client.practice_id)
        ).scalar_one()
    if not signature_matches(signed_name, person.first_name, person.last_name):
        raise refuse(
            "signature-mismatch",
            "signed_name",
            f"type your name as the practice has it ({person.first_name} {person.last_name}) to sign",
        )
    today = calendar_rules.to_local(naive_utc(clock()), zone).date().isoformat()
    content = dict(document)
    consents = {}
    for key, value in dict(content.get("consents") or {}).items():
        given = bool(value.get("given")) if isinstance(value, Mapping) else False
        consents[key] = {
            "given": given,
            "date": today if given else None,
            "method": "electronic" if given else None,
        }
    if consents:
        content["consents"] = consents
    with one_transaction(engine):
        version = intake.record_intake(
            engine, client.practice_id, client.actor, client.patient_id, content, clock=clock
        )
        with UnitOfWork(engine, client.practice_id, client.actor, clock=clock) as uow:
            uow.records.insert(
                client_signatures,
                patient_id=client.patient_id,
                document="intake",
                version=version.version,
                signed_name=" ".join(signed_name.split())[:130],
                signed_at=uow.now(),
            )
            uow.record("portal.intake.sign", "patient", client.patient_id, {"version": version.version})
    return version


# -- documents -------------------------------------------------------------------------------


def statement_pdf(engine: Engine, client: Client, *, clock: Clock = current_time) -> bytes:
    """The client's statement as of today, as PDF."""
    zone = schedule_setup.calendar_policy(engine, client.practice_id, client.actor).time_zone
    today = calendar_rules.to_local(naive_utc(clock()), zone).date()
    return documents.statement_pdf_for_patient(
        engine, client.practice_id, client.actor, client.patient_id, statement_date=today
    )


def receipt_pdf(engine: Engine, client: Client, payment_ref: str) -> bytes:
    """The receipt of one of the client's payments, as PDF (another's answers not found)."""
    with UnitOfWork(engine, client.practice_id, client.actor, read_only=True) as uow:
        own = {ref for ref, _, _ in _payments(uow, client.patient_id)}
    if payment_ref not in own:
        raise NotFoundError("no such receipt", (Problem("not-found", "payment", "no such receipt"),))
    return documents.receipt_pdf_for_payment(engine, client.practice_id, client.actor, payment_ref)


def superbill_pdf(engine: Engine, client: Client, visit_id: str) -> bytes:
    """The superbill of one of the client's coded visits, as PDF (another's answers not found)."""
    with UnitOfWork(engine, client.practice_id, client.actor, read_only=True) as uow:
        own = {v for v, _ in _superbills(uow, client.patient_id)}
    if visit_id not in own:
        raise NotFoundError("no such superbill", (Problem("not-found", "visit", "no such superbill"),))
    return documents.superbill_pdf_for_visit(engine, client.practice_id, client.actor, visit_id)


def set_contact_preferences(
    engine: Engine, client: Client, *, email_opt_out: bool, sms_opt_out: bool, clock: Clock = current_time
) -> contact_preferences.ContactPreferences:
    """The client opts out of (or back into) email and text messages from the practice."""
    return contact_preferences.set_contact_preferences(
        engine,
        client.practice_id,
        client.actor,
        client.patient_id,
        email_opt_out=email_opt_out,
        sms_opt_out=sms_opt_out,
        clock=clock,
    )
