"""Tables of the messages the calendar sends on its own: signed links and appointment reminders.

``link_keys`` holds each practice's secret for signing links that need no log-in (confirm or
cancel an appointment, a therapist's calendar feed, a booking or portal link); replacing a
practice's key voids every link it signed. ``link_redemptions`` records each single-use link
once (its nonce is the primary key, so a second redemption fails on the key).
``reminder_policies`` is a practice's reminder setting (hours before, channels).
``reminder_sends`` records each reminder once per appointment, channel and start time (the
unique key): a worker claims a reminder by inserting its row before handing it to the mail
server or SMS provider. Migration ``0014_reminders`` creates them.

Migration ``0021_client_messages`` adds: ``statement_email_runs`` (a practice's request to email
a statement to every client owing more than a threshold) and ``statement_email_sends`` (one
row per client of a run, unique on run and client: a worker claims it by moving it from
``pending`` to ``sending`` before handing the statement to the mail server);
``contact_preferences`` (a client's opt-out of email or text messages); ``calendar_feeds``
(a therapist's feed generation: revoking or rotating the feed URL moves it on, and a URL of
an earlier generation answers 410 Gone).
"""

from __future__ import annotations

from sqlalchemy import Boolean, Column, Date, DateTime, ForeignKey, Integer, String, Table, UniqueConstraint

from therabill.adapters.db.base import metadata

link_keys = Table(
    "link_keys",
    metadata,
    Column("practice_id", String(32), ForeignKey("practices.id"), primary_key=True),
    Column("secret", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

link_redemptions = Table(
    "link_redemptions",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("practice_id", String(32), ForeignKey("practices.id"), nullable=False, index=True),
    Column("purpose", String(40), nullable=False),
    Column("subject_id", String(64), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("redeemed_at", DateTime(timezone=True), nullable=False),
)

reminder_policies = Table(
    "reminder_policies",
    metadata,
    Column("practice_id", String(32), ForeignKey("practices.id"), primary_key=True),
    Column("hours_before", Integer),
    Column("email", Boolean, nullable=False, server_default="1"),
    Column("sms", Boolean, nullable=False, server_default="0"),
)

reminder_sends = Table(
    "reminder_sends",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("practice_id", String(32), ForeignKey("practices.id"), nullable=False, index=True),
    Column("appointment_id", String(32), ForeignKey("appointments.id"), nullable=False),
    Column("channel", String(8), nullable=False),
    Column("appointment_start", DateTime(timezone=False), nullable=False),
    Column("status", String(12), nullable=False),
    Column("claimed_by", String(80), nullable=False),
    Column("claimed_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
    Column("message_id", String(200)),
    Column("error", String(300)),
    UniqueConstraint("appointment_id", "channel", "appointment_start", name="uq_reminder_sends_once"),
)

statement_email_runs = Table(
    "statement_email_runs",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("practice_id", String(32), ForeignKey("practices.id"), nullable=False),
    Column("statement_date", Date, nullable=False),
    Column("over_cents", Integer, nullable=False),
    Column("requested_by", String(80), nullable=False),
    Column("requested_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("practice_id", "statement_date", name="uq_statement_email_runs_day"),
)

statement_email_sends = Table(
    "statement_email_sends",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("practice_id", String(32), ForeignKey("practices.id"), nullable=False, index=True),
    Column("run_id", String(32), ForeignKey("statement_email_runs.id"), nullable=False),
    Column("patient_id", String(32), ForeignKey("patients.id"), nullable=False),
    Column("status", String(12), nullable=False, index=True),
    Column("document_id", String(32)),
    Column("claimed_by", String(80)),
    Column("claimed_at", DateTime(timezone=True)),
    Column("finished_at", DateTime(timezone=True)),
    Column("error", String(300)),
    UniqueConstraint("run_id", "patient_id", name="uq_statement_email_sends_once"),
)

contact_preferences = Table(
    "contact_preferences",
    metadata,
    Column("patient_id", String(32), ForeignKey("patients.id"), primary_key=True),
    Column("practice_id", String(32), ForeignKey("practices.id"), nullable=False, index=True),
    Column("email_opt_out", Boolean, nullable=False, server_default="0"),
    Column("sms_opt_out", Boolean, nullable=False, server_default="0"),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("updated_by", String(80), nullable=False),
)

calendar_feeds = Table(
    "calendar_feeds",
    metadata,
    Column("provider_id", String(32), ForeignKey("providers.id"), primary_key=True),
    Column("practice_id", String(32), ForeignKey("practices.id"), nullable=False, index=True),
    Column("generation", Integer, nullable=False),
    Column("revoked", Boolean, nullable=False, server_default="0"),
    Column("changed_at", DateTime(timezone=True), nullable=False),
)

MESSAGING_TABLES = (
    link_keys,
    link_redemptions,
    reminder_policies,
    reminder_sends,
    statement_email_runs,
    statement_email_sends,
    contact_preferences,
    calendar_feeds,
)
"""The tables of this module in creation order."""
