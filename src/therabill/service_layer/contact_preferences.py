"""A client's contact preferences: opt out of email, of text messages, or both.

An opted-out channel is never used for what the practice sends on its own: appointment
reminders (``reminders``) and statement emails (``statement_emails``) check it when they
claim a message, so a client who opts out after a message was queued still gets nothing on
that channel. The front desk sets it on the patient page, the API and the CLI; the client
sets it in the portal. Every change is audited with who made it.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, select

from therabill.adapters.db.messaging_tables import contact_preferences
from therabill.adapters.db.tables import patients
from therabill.clock import Clock, current_time
from therabill.domain.errors import Problem, TherabillError
from therabill.service_layer.uow import UnitOfWork

__all__ = [
    "CHANNELS",
    "ContactPreferences",
    "contact_preferences_of",
    "opted_out_in",
    "set_contact_preferences",
]

CHANNELS = ("email", "sms")


@dataclass(frozen=True, slots=True)
class ContactPreferences:
    """What a client accepts.

    Attributes:
        patient_id: the client.
        email_opt_out: no email from the practice's jobs (reminders, statements).
        sms_opt_out: no text messages (reminders).
    """

    patient_id: str
    email_opt_out: bool
    sms_opt_out: bool

    def as_dict(self) -> dict[str, object]:
        """JSON-ready."""
        return {
            "patient_id": self.patient_id,
            "email_opt_out": self.email_opt_out,
            "sms_opt_out": self.sms_opt_out,
        }


def _read(uow: UnitOfWork, patient_id: str) -> ContactPreferences:
    row = uow.session.execute(
        select(contact_preferences).where(
            contact_preferences.c.practice_id == uow.practice_id,
            contact_preferences.c.patient_id == patient_id,
        )
    ).first()
    if row is None:
        return ContactPreferences(patient_id, False, False)
    return ContactPreferences(patient_id, bool(row.email_opt_out), bool(row.sms_opt_out))


def contact_preferences_in(uow: UnitOfWork, patient_id: str) -> ContactPreferences:
    """Inside a unit of work: the client's preferences."""
    return _read(uow, patient_id)


def opted_out_in(uow: UnitOfWork, patient_id: str, channel: str) -> bool:
    """Inside a unit of work: has the client opted out of ``channel`` (``email`` or ``sms``)?"""
    prefs = _read(uow, patient_id)
    return prefs.email_opt_out if channel == "email" else prefs.sms_opt_out


def contact_preferences_of(
    engine: Engine, practice_id: str, actor: str, patient_id: str
) -> ContactPreferences:
    """A client's preferences (nothing opted out until set)."""
    with UnitOfWork(engine, practice_id, actor, read_only=True) as uow:
        uow.records.get(patients, patient_id)
        return _read(uow, patient_id)


def set_contact_preferences(
    engine: Engine,
    practice_id: str,
    actor: str,
    patient_id: str,
    *,
    email_opt_out: bool | None = None,
    sms_opt_out: bool | None = None,
    clock: Clock = current_time,
) -> ContactPreferences:
    """Change a client's opt-outs (only the values given; ``None`` keeps one as it is)."""
    for name, value in (("email_opt_out", email_opt_out), ("sms_opt_out", sms_opt_out)):
        if value is not None and not isinstance(value, bool):
            message = "give true or false"
            raise TherabillError(message, (Problem("contact-preference-invalid", name, message),))
    with UnitOfWork(engine, practice_id, actor, clock=clock) as uow:
        uow.records.get(patients, patient_id)
        now = _read(uow, patient_id)
        new = ContactPreferences(
            patient_id,
            now.email_opt_out if email_opt_out is None else email_opt_out,
            now.sms_opt_out if sms_opt_out is None else sms_opt_out,
        )
        uow.session.execute(
            contact_preferences.delete().where(
                contact_preferences.c.practice_id == practice_id,
                contact_preferences.c.patient_id == patient_id,
            )
        )
        uow.session.execute(
            contact_preferences.insert().values(
                patient_id=patient_id,
                practice_id=practice_id,
                email_opt_out=new.email_opt_out,
                sms_opt_out=new.sms_opt_out,
                updated_at=uow.now(),
                updated_by=actor[:80],
            )
        )
        uow.record(
            "patient.contact_preferences",
            "patient",
            patient_id,
            {"email_opt_out": new.email_opt_out, "sms_opt_out": new.sms_opt_out},
        )
        return new
