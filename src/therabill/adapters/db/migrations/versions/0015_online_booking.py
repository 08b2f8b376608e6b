"""Online booking and the client portal.

Revision ID: 0015_online_booking
Revises: 0014_reminders
Create Date: 2026-12-06

The tables of ``therabill.adapters.db.portal_tables``, written out so that this revision
stays what it is when the module changes: ``booking_settings`` (one row per practice),
``booking_requests``, ``portal_sessions`` (client sessions, apart from staff sessions), ``portal_attempts`` (what
the rate limits count) and ``client_signatures``. The emailed log-in and booking links are
``service_layer.links`` tokens (signed, single-use through ``link_redemptions``).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015_online_booking"
down_revision: str | Sequence[str] | None = "0014_reminders"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}"))


def _index(table: str, column: str, *, unique: bool = False) -> None:
    op.create_index(op.f(f"ix_{table}_{column}"), table, [column], unique=unique)


def upgrade() -> None:
    """Create the online booking and portal tables."""
    op.create_table(
        "booking_settings",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("practice_id", sa.String(length=32), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False, server_default="0"),
        sa.Column("requires_approval", sa.Boolean(), nullable=False, server_default="0"),
        sa.Column("card_on_file_notice", sa.Boolean(), nullable=False, server_default="0"),
        sa.Column("policies", sa.Text(), nullable=False, server_default=""),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        _fk("booking_settings", "practice_id", "practices"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_booking_settings")),
        sa.UniqueConstraint("practice_id", name=op.f("uq_booking_settings_practice_id")),
    )
    op.create_table(
        "booking_requests",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("practice_id", sa.String(length=32), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("first_name", sa.String(length=60), nullable=False),
        sa.Column("last_name", sa.String(length=60), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("service_id", sa.String(length=32), nullable=False),
        sa.Column("provider_id", sa.String(length=32), nullable=False),
        sa.Column("start", sa.DateTime(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("approval", sa.String(length=12), nullable=False, server_default="none"),
        sa.Column("patient_id", sa.String(length=32), nullable=True),
        sa.Column("appointment_id", sa.String(length=32), nullable=True),
        sa.Column("policies_digest", sa.String(length=64), nullable=False),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        _fk("booking_requests", "practice_id", "practices"),
        _fk("booking_requests", "service_id", "services"),
        _fk("booking_requests", "provider_id", "providers"),
        _fk("booking_requests", "patient_id", "patients"),
        _fk("booking_requests", "appointment_id", "appointments"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_booking_requests")),
    )
    _index("booking_requests", "practice_id")
    _index("booking_requests", "appointment_id")
    op.create_table(
        "portal_sessions",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("practice_id", sa.String(length=32), nullable=False),
        sa.Column("patient_id", sa.String(length=32), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("ended_at", sa.DateTime(), nullable=True),
        _fk("portal_sessions", "practice_id", "practices"),
        _fk("portal_sessions", "patient_id", "patients"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_portal_sessions")),
        sa.UniqueConstraint("digest", name=op.f("uq_portal_sessions_digest")),
    )
    _index("portal_sessions", "practice_id")
    _index("portal_sessions", "patient_id")
    op.create_table(
        "portal_attempts",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("practice_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("ip_digest", sa.String(length=64), nullable=False),
        sa.Column("email_digest", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        _fk("portal_attempts", "practice_id", "practices"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_portal_attempts")),
    )
    op.create_index("ix_portal_attempts_ip_at", "portal_attempts", ["ip_digest", "at"], unique=False)
    op.create_index(
        "ix_portal_attempts_email_at", "portal_attempts", ["practice_id", "email_digest", "at"], unique=False
    )
    op.create_table(
        "client_signatures",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("practice_id", sa.String(length=32), nullable=False),
        sa.Column("patient_id", sa.String(length=32), nullable=False),
        sa.Column("document", sa.String(length=20), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("signed_name", sa.String(length=130), nullable=False),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=False),
        _fk("client_signatures", "practice_id", "practices"),
        _fk("client_signatures", "patient_id", "patients"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_client_signatures")),
    )
    _index("client_signatures", "practice_id")
    _index("client_signatures", "patient_id")


def downgrade() -> None:
    """Drop the online booking and portal tables."""
    for name in (
        "client_signatures",
        "portal_attempts",
        "portal_sessions",
        "booking_requests",
        "booking_settings",
    ):
        op.drop_table(name)
