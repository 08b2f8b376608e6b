"""Online booking and client portal tables.

``booking_settings``: one row per practice that opened online booking (on or off, approval
before a booking is confirmed, the card-on-file notice, the policies a client accepts).
``booking_requests``: what a client asked for on the public page (the slot, who they say
they are) and what became of it. (The emailed log-in and booking links are
``service_layer.links`` tokens.) ``portal_sessions``: client sessions,
separate from staff sessions. ``portal_attempts``: what the rate limits count (digests of
the address and the email, never the values). ``client_signatures``: a client's electronic
signature of a document (the intake version they filled in). Migration ``0015_online_booking``
creates them.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
)

from therabill.adapters.db.base import metadata


def _id() -> Column[str]:
    return Column("id", String(32), primary_key=True)


def _practice() -> Column[str]:
    return Column("practice_id", String(32), ForeignKey("practices.id"), nullable=False, index=True)


booking_settings = Table(
    "booking_settings",
    metadata,
    _id(),
    Column("practice_id", String(32), ForeignKey("practices.id"), nullable=False, unique=True),
    Column("enabled", Boolean, nullable=False, server_default="0"),
    Column("requires_approval", Boolean, nullable=False, server_default="0"),
    Column("card_on_file_notice", Boolean, nullable=False, server_default="0"),
    Column("policies", Text, nullable=False, server_default=""),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

booking_requests = Table(
    "booking_requests",
    metadata,
    _id(),
    _practice(),
    Column("email", String(254), nullable=False),
    Column("first_name", String(60), nullable=False),
    Column("last_name", String(60), nullable=False),
    Column("phone", String(20), nullable=False),
    Column("service_id", String(32), ForeignKey("services.id"), nullable=False),
    Column("provider_id", String(32), ForeignKey("providers.id"), nullable=False),
    Column("start", DateTime, nullable=False),
    Column("status", String(12), nullable=False),
    Column("approval", String(12), nullable=False, server_default="none"),
    Column("patient_id", String(32), ForeignKey("patients.id")),
    Column("appointment_id", String(32), ForeignKey("appointments.id"), index=True),
    Column("policies_digest", String(64), nullable=False),
    Column("accepted_at", DateTime(timezone=True), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

portal_sessions = Table(
    "portal_sessions",
    metadata,
    _id(),
    _practice(),
    Column("patient_id", String(32), ForeignKey("patients.id"), nullable=False, index=True),
    Column("digest", String(64), nullable=False, unique=True),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("last_seen_at", DateTime, nullable=False),
    Column("expires_at", DateTime, nullable=False),
    Column("ended_at", DateTime),
)

portal_attempts = Table(
    "portal_attempts",
    metadata,
    _id(),
    Column("practice_id", String(32), ForeignKey("practices.id"), nullable=False),
    Column("kind", String(12), nullable=False),
    Column("ip_digest", String(64), nullable=False),
    Column("email_digest", String(64), nullable=False),
    Column("at", DateTime, nullable=False),
    Index("ix_portal_attempts_ip_at", "ip_digest", "at"),
    Index("ix_portal_attempts_email_at", "practice_id", "email_digest", "at"),
)

client_signatures = Table(
    "client_signatures",
    metadata,
    _id(),
    _practice(),
    Column("patient_id", String(32), ForeignKey("patients.id"), nullable=False, index=True),
    Column("document", String(20), nullable=False),
    Column("version", Integer, nullable=False),
    Column("signed_name", String(130), nullable=False),
    Column("signed_at", DateTime(timezone=True), nullable=False),
)

PORTAL_TABLES = (
    booking_settings,
    booking_requests,
    portal_sessions,
    portal_attempts,
    client_signatures,
)
"""The tables of this module in creation order."""
