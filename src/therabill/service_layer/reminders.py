"""Appointment reminders: by email and text message, N hours before, each sent at most once.

A practice turns reminders on with ``set_reminder_policy`` (hours before, email, SMS). The
job runner asks ``due_reminders`` what is due (booked or confirmed appointments starting
within the window whose reminder has no row yet) and calls ``send_reminder`` for each,
from any number of workers at once.

Delivery guarantee: at most once, and exactly once unless a worker dies in a window of
milliseconds. ``send_reminder`` runs three steps:

1. claim: one transaction re-reads the appointment, inserts the ``reminder_sends`` row
   (status ``sending``; unique on appointment, channel and start time) and issues the
   confirm and cancel links, then commits. A second worker's insert fails on the unique
   key, so it skips: two workers never both send.
2. hand the message to the mail server or the SMS provider (no transaction open).
3. record the outcome: ``sent`` with the provider's message id; ``failed`` when the
   provider refused it (not retried); when the provider surely did not take it (it could
   not be reached, or answered 429/5xx) the claim is deleted, so the next sweep retries.

A worker killed before step 1 commits leaves nothing: another worker sends the reminder. A
worker killed after it leaves the claim in ``sending``: nobody sends it again. That row is
shown as "not confirmed" (the message may or may not have gone: the provider may have
taken it just before the crash). The choice: a client who gets the same reminder twice
sees a broken product, and a duplicate cannot be taken back; a reminder not confirmed is
visible to the practice, which can call. The same holds for an answer that timed out.

A client who opted out of a channel (``contact_preferences``) gets nothing on it: the sweep
leaves it out and the claim checks again, so an opt-out after a reminder was queued holds.

No PHI beyond the client's first name, the time and the practice's name is written in a
message: no therapist, service, diagnosis or last name. The links carry ids only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError

from therabill.adapters.db.engine import session_factory
from therabill.adapters.db.messaging_tables import contact_preferences, reminder_policies, reminder_sends
from therabill.adapters.db.tables import appointments, patients, practices
from therabill.adapters.mail import Mailer, MailError, OutgoingMail
from therabill.adapters.sms import SmsError, SmsSender, e164
from therabill.clock import Clock, current_time
from therabill.domain import schedule as rules
from therabill.domain.errors import Problem, TherabillError
from therabill.domain.schedule import AppointmentStatus
from therabill.service_layer import appointments as appts
from therabill.service_layer.contact_preferences import opted_out_in
from therabill.service_layer.links import Link, issue_link_in, link_practice, read_link, redeem_link_in
from therabill.service_layer.schedule_setup import policy_in
from therabill.service_layer.uow import UnitOfWork, one_transaction

__all__ = [
    "CHANNELS",
    "DueReminder",
    "LinkedAppointment",
    "Outbox",
    "ReminderPolicy",
    "due_reminders",
    "send_reminder",
]

CHANNELS = ("email", "sms")
CONFIRM = "appointment-confirm"
CANCEL = "appointment-cancel"
ACTOR = "system:reminders"
LINK_ACTOR = "client:link"
REMINDABLE = (AppointmentStatus.SCHEDULED.value, AppointmentStatus.CONFIRMED.value)
MAX_HOURS = 168


class ReminderError(TherabillError):
    """A reminder setting was refused (the problems say why)."""

    code = "reminder-invalid"


@dataclass(frozen=True, slots=True)
class ReminderPolicy:
    """A practice's reminder setting.

    Attributes:
        hours_before: send this many hours before the start (``None``: reminders are off).
        email: send by email (to clients with an address).
        sms: send by text message (to clients with a phone number).
    """

    hours_before: int | None
    email: bool
    sms: bool


@dataclass(frozen=True, slots=True)
class DueReminder:
    """One reminder to send.

    Attributes:
        practice_id: the practice.
        appointment_id: the appointment.
        channel: ``email`` or ``sms``.
        start: the appointment's start (naive UTC) the reminder is for (a moved
            appointment is reminded again for its new time).
    """

    practice_id: str
    appointment_id: str
    channel: str
    start: datetime

    @property
    def key(self) -> str:
        """The reminder's unique key (also the job queue's lock)."""
        return f"reminder:{self.appointment_id}:{self.channel}:{self.start:%Y%m%dT%H%M}"


@dataclass(frozen=True, slots=True)
class Outbox:
    """Where messages go: the mail sender, the SMS sender (either may be missing) and the
    public address of the web app the links point to (``https://clinic.example.com``)."""

    mailer: Mailer | None
    sms: SmsSender | None
    public_url: str


def _policy_row(uow: UnitOfWork) -> ReminderPolicy:
    row = uow.session.execute(
        select(reminder_policies).where(reminder_policies.c.practice_id == uow.practice_id)
    ).first()
    if row is None:
        return ReminderPolicy(None, True, False)
    return ReminderPolicy(row.hours_before, bool(row.email), bool(row.sms))


def reminder_policy(engine: Engine, practice_id: str, actor: str) -> ReminderPolicy:
    """The practice's reminder setting (off until set)."""
    with UnitOfWork(engine, practice_id, actor, read_only=True) as uow:
        return _policy_row(uow)


def set_reminder_policy(
    engine: Engine,
    practice_id: str,
    actor: str,
    *,
    hours_before: int | None,
    email: bool,
    sms: bool,
    clock: Clock = current_time,
) -> ReminderPolicy:
    """Set when and how reminders go (``hours_before`` 1-168; ``None`` turns them off)."""
    if hours_before is not None and not 1 <= hours_before <= MAX_HOURS:
        message = f"reminders go 1 to {MAX_HOURS} hours before"
        raise ReminderError(message, (Problem("reminder-hours-invalid", "hours_before", message),))
    with UnitOfWork(engine, practice_id, actor, clock=clock) as uow:
        uow.session.execute(reminder_policies.delete().where(reminder_policies.c.practice_id == practice_id))
        uow.session.execute(
            reminder_policies.insert().values(
                practice_id=practice_id, hours_before=hours_before, email=email, sms=sms
            )
        )
        uow.record(
            "reminder.policy", "practice", practice_id, {"hours": hours_before, "email": email, "sms": sms}
        )
        return _policy_row(uow)


def _naive(at: datetime) -> datetime:
    return at.astimezone(UTC).replace(tzinfo=None)


def due_reminders(engine: Engine, *, clock: Clock = current_time, limit: int = 1000) -> list[DueReminder]:
    """Every reminder due now, in every practice that has reminders on (soonest first; at most
    ``limit``, the rest at the next sweep). The window bounds the rows read: appointments
    starting within the practice's hours."""
    now = _naive(clock())
    with session_factory(engine, read_only=True)() as session:
        policies = list(
            session.execute(select(reminder_policies).where(reminder_policies.c.hours_before.is_not(None)))
        )
        out: list[DueReminder] = []
        for policy in policies:
            channels = [c for c, on in (("email", policy.email), ("sms", policy.sms)) if on]
            if not channels:
                continue
            rows = session.execute(
                select(
                    appointments.c.id,
                    appointments.c.start,
                    patients.c.email,
                    patients.c.phone,
                    contact_preferences.c.email_opt_out,
                    contact_preferences.c.sms_opt_out,
                )
                .join(patients, patients.c.id == appointments.c.patient_id)
                .outerjoin(contact_preferences, contact_preferences.c.patient_id == patients.c.id)
                .where(
                    appointments.c.practice_id == policy.practice_id,
                    appointments.c.status.in_(REMINDABLE),
                    appointments.c.start > now,
                    appointments.c.start <= now + timedelta(hours=policy.hours_before),
                )
                .order_by(appointments.c.start)
            ).all()
            if not rows:
                continue
            done = {
                (r.appointment_id, r.channel, r.appointment_start)
                for r in session.execute(
                    select(
                        reminder_sends.c.appointment_id,
                        reminder_sends.c.channel,
                        reminder_sends.c.appointment_start,
                    ).where(reminder_sends.c.appointment_id.in_([r.id for r in rows]))
                )
            }
            for r in rows:
                for channel in channels:
                    if (r.id, channel, r.start) in done or _address(channel, r.email, r.phone) is None:
                        continue
                    if r.email_opt_out if channel == "email" else r.sms_opt_out:
                        continue  # the client opted out of this channel
                    out.append(DueReminder(policy.practice_id, r.id, channel, r.start))
    out.sort(key=lambda d: d.start)
    return out[:limit]


def _address(channel: str, email: str | None, phone: str | None) -> str | None:
    if channel == "email":
        return email.strip() if email and "@" in email else None
    return e164(phone) if phone else None


@dataclass(frozen=True, slots=True)
class _Claim:
    id: str
    to: str
    subject: str
    text: str


def _when(start: datetime, zone: str) -> str:
    local = rules.to_local(start, zone)
    return f"{local:%A, %B} {local.day} at {local:%-I:%M %p}"


def _compose(
    channel: str, first_name: str, practice: str, when: str, confirm: str, cancel: str
) -> tuple[str, str]:
    if channel == "sms":
        text = f"{practice}: Hi {first_name}, a reminder of your appointment {when}. Confirm: {confirm} Cancel: {cancel}"
        return "", text
    subject = f"Appointment reminder from {practice}"
    text = (
        f"Hi {first_name},\n\n"
        f"This is a reminder of your appointment at {practice} on {when}.\n\n"
        f"Confirm you are coming: {confirm}\n"
        f"Cancel: {cancel}\n\n"
        f"{practice}\n"
    )
    return subject, text


def _claim(engine: Engine, due: DueReminder, outbox: Outbox, worker: str, clock: Clock) -> _Claim | None:
    """Step 1: insert the claim and compose the message, one committed transaction."""
    with UnitOfWork(engine, due.practice_id, ACTOR, clock=clock) as uow:
        appt = uow.records.find(appointments, due.appointment_id)
        policy = _policy_row(uow)
        if (
            due.channel not in CHANNELS
            or appt is None
            or appt.status not in REMINDABLE
            or appt.start != due.start
            or appt.start <= _naive(uow.now())  # queued, but it has started since
            or policy.hours_before is None
            or not getattr(policy, due.channel)
        ):
            return None
        patient = uow.records.get(patients, appt.patient_id)
        to = _address(due.channel, patient.email, patient.phone)
        if to is None or opted_out_in(uow, patient.id, due.channel):
            return None
        now = uow.now()
        try:
            with uow.session.begin_nested():
                claim_id = uow.records.insert(
                    reminder_sends,
                    appointment_id=appt.id,
                    channel=due.channel,
                    appointment_start=appt.start,
                    status="sending",
                    claimed_by=worker[:80],
                    claimed_at=now,
                )
        except IntegrityError:
            return None
        expires = appt.start.replace(tzinfo=UTC)
        base = outbox.public_url.rstrip("/")
        confirm = f"{base}/r/confirm/{issue_link_in(uow, CONFIRM, appt.id, expires=expires)}"
        cancel = f"{base}/r/cancel/{issue_link_in(uow, CANCEL, appt.id, expires=expires)}"
        practice = uow.session.execute(
            select(practices.c.name).where(practices.c.id == uow.practice_id)
        ).scalar_one()
        subject, text = _compose(
            due.channel,
            patient.first_name,
            practice,
            _when(appt.start, policy_in(uow).time_zone),
            confirm,
            cancel,
        )
        uow.record("reminder.claim", "appointment", appt.id, {"channel": due.channel, "by": worker[:80]})
        return _Claim(claim_id, to, subject, text)


def _finish(
    engine: Engine,
    due: DueReminder,
    claim: _Claim,
    clock: Clock,
    *,
    status: str,
    message_id: str | None,
    error: str | None,
) -> None:
    """Step 3: record what the provider said (``retry``: delete the claim; the next sweep sends)."""
    with UnitOfWork(engine, due.practice_id, ACTOR, clock=clock) as uow:
        if status == "retry":
            uow.session.execute(reminder_sends.delete().where(reminder_sends.c.id == claim.id))
        else:
            uow.records.update(
                reminder_sends,
                claim.id,
                status=status,
                finished_at=uow.now(),
                message_id=(message_id or "")[:200] or None,
                error=(error or "")[:300] or None,
            )
        uow.record(f"reminder.{status}", "appointment", due.appointment_id, {"channel": due.channel})


def send_reminder(
    engine: Engine, due: DueReminder, outbox: Outbox, *, worker: str, clock: Clock = current_time
) -> str:
    """Send one due reminder if nobody has: ``sent``, ``skipped`` (claimed elsewhere, or no
    longer due), ``failed`` (refused), ``retry`` (not taken; the next sweep sends) or
    ``uncertain`` (the provider's answer never came: not sent again)."""
    mailer, sms = outbox.mailer, outbox.sms
    if (mailer if due.channel == "email" else sms) is None:
        return "skipped"
    claim = _claim(engine, due, outbox, worker, clock)
    if claim is None:
        return "skipped"
    try:
        if mailer is not None and due.channel == "email":
            message_id = mailer.send(OutgoingMail(claim.to, claim.subject, claim.text))
        elif sms is not None:
            message_id = sms.send(claim.to, claim.text)
        else:  # checked above: never without a sender
            return "skipped"
    except SmsError as exc:
        if exc.uncertain:
            return "uncertain"
        status = "retry" if exc.retryable else "failed"
        _finish(engine, due, claim, clock, status=status, message_id=None, error=str(exc))
        return status
    except MailError as exc:
        refused = isinstance(exc.__cause__, ConnectionRefusedError)
        status = "retry" if refused else "failed"
        _finish(engine, due, claim, clock, status=status, message_id=None, error=str(exc))
        return status
    _finish(engine, due, claim, clock, status="sent", message_id=message_id, error=None)
    return "sent"


@dataclass(frozen=True, slots=True)
class ReminderRecord:
    """One reminder as the practice reads it.

    Attributes:
        appointment_id: the appointment.
        channel: ``email`` or ``sms``.
        start_local: the appointment's local start it was for.
        status: ``sending``, ``sent`` or ``failed``.
        status_label: ``Sent``, ``Failed``, ``Not confirmed`` (the worker stopped or the
            provider's answer never came: it may or may not have gone).
        at: when it was claimed (UTC).
        error: why it failed.
    """

    appointment_id: str
    channel: str
    start_local: datetime
    status: str
    status_label: str
    at: datetime
    error: str | None


_LABELS = {"sent": "Sent", "failed": "Failed", "sending": "Not confirmed"}


def reminders_of(engine: Engine, practice_id: str, actor: str, appointment_id: str) -> list[ReminderRecord]:
    """The reminders recorded for an appointment, oldest first."""
    with UnitOfWork(engine, practice_id, actor, read_only=True) as uow:
        uow.records.get(appointments, appointment_id)
        zone = policy_in(uow).time_zone
        rows = uow.records.rows(
            reminder_sends,
            reminder_sends.c.appointment_id == appointment_id,
            order_by=[reminder_sends.c.claimed_at],
        )
        return [
            ReminderRecord(
                r.appointment_id,
                r.channel,
                rules.to_local(r.appointment_start, zone),
                r.status,
                _LABELS.get(r.status, r.status),
                r.claimed_at,
                r.error,
            )
            for r in rows
        ]


# -- the pages a reminder's links open (no log-in) -----------------------------------------


@dataclass(frozen=True, slots=True)
class LinkedAppointment:
    """What a confirm or cancel page may show: no PHI beyond first name, time and practice.

    Attributes:
        first_name: the client's first name.
        practice_name: the practice.
        when: the local start as people read it.
        status_label: the appointment's status now.
        late_cancel_fee: the fee a cancel now would post (``None``: none).
    """

    first_name: str
    practice_name: str
    when: str
    status_label: str
    late_cancel_fee: Decimal | None


def _linked(uow: UnitOfWork, appointment_id: str) -> LinkedAppointment:
    appt = uow.records.get(appointments, appointment_id)
    patient = uow.records.get(patients, appt.patient_id)
    policy = policy_in(uow)
    name = uow.session.execute(select(practices.c.name).where(practices.c.id == uow.practice_id)).scalar_one()
    late = rules.is_late_cancel(appt.start, _naive(uow.now()), policy.late_cancel_window_hours)
    fee = policy.late_cancel_fee if late and policy.late_cancel_fee else None
    return LinkedAppointment(
        patient.first_name, name, _when(appt.start, policy.time_zone), rules.status_label(appt.status), fee
    )


def linked_appointment(
    engine: Engine, token: str, purpose: str, *, clock: Clock = current_time
) -> LinkedAppointment:
    """The appointment a confirm or cancel link is for (the link is checked, not used)."""
    link = read_link(engine, token, purpose, clock=clock)
    with UnitOfWork(engine, link.practice_id, LINK_ACTOR, read_only=True, clock=clock) as uow:
        return _linked(uow, link.subject_id)


def _redeem(engine: Engine, token: str, purpose: str, clock: Clock) -> Link:
    with UnitOfWork(engine, link_practice(token), LINK_ACTOR, clock=clock) as uow:
        return redeem_link_in(uow, token, purpose)


def confirm_by_link(engine: Engine, token: str, *, clock: Clock = current_time) -> LinkedAppointment:
    """The client confirms from a reminder: the link is used and the appointment confirmed,
    in one transaction (an appointment no longer booked is refused, the link kept)."""
    with one_transaction(engine):
        link = _redeem(engine, token, CONFIRM, clock)
        with UnitOfWork(engine, link.practice_id, LINK_ACTOR, read_only=True, clock=clock) as uow:
            status = uow.records.get(appointments, link.subject_id).status
        if status == AppointmentStatus.SCHEDULED.value:
            appts.set_status(engine, link.practice_id, LINK_ACTOR, link.subject_id, "confirmed", clock=clock)
        elif status != AppointmentStatus.CONFIRMED.value:
            raise _refused("this appointment can no longer be confirmed")
    with UnitOfWork(engine, link.practice_id, LINK_ACTOR, read_only=True, clock=clock) as uow:
        return _linked(uow, link.subject_id)


def cancel_by_link(engine: Engine, token: str, *, clock: Clock = current_time) -> LinkedAppointment:
    """The client cancels from a reminder: the link is used and the appointment cancelled
    (a late cancel, with the practice's fee, inside the policy's window), in one transaction."""
    with one_transaction(engine):
        link = _redeem(engine, token, CANCEL, clock)
        with UnitOfWork(engine, link.practice_id, LINK_ACTOR, read_only=True, clock=clock) as uow:
            status = uow.records.get(appointments, link.subject_id).status
        if status not in REMINDABLE:
            raise _refused("this appointment can no longer be cancelled online")
        appts.cancel(engine, link.practice_id, LINK_ACTOR, link.subject_id, clock=clock)
    with UnitOfWork(engine, link.practice_id, LINK_ACTOR, read_only=True, clock=clock) as uow:
        return _linked(uow, link.subject_id)


def _refused(message: str) -> ReminderError:
    """The appointment's status no longer allows what the link offers."""
    return ReminderError(message, (Problem("appointment-not-changeable", "appointment", message),))
