"""Signed links and appointment reminders.

Revision ID: 0014_reminders
Revises: 0013_claim_followup
Create Date: 2026-12-06

The tables of ``therabill.adapters.db.messaging_tables``, written out so that this revision
stays what it was when later revisions change the module: ``link_keys`` (each practice's
secret for links that need no log-in), ``link_redemptions`` (a single-use link, once),
``reminder_policies`` (hours before and channels) and ``reminder_sends`` (each reminder once
per appointment, channel and start: the unique key ``uq_reminder_sends_once``).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014_reminders"
down_revision: str | Sequence[str] | None = "0013_claim_followup"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _practice_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["practice_id"], ["practices.id"], name=op.f(f"fk_{table}_practice_id_practices")
    )


def upgrade() -> None:
    op.create_table(
        "link_keys",
        sa.Column("practice_id", sa.String(length=32), nullable=False),
        sa.Column("secret", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        _practice_fk("link_keys"),
        sa.PrimaryKeyConstraint("practice_id", name=op.f("pk_link_keys")),
    )
    op.create_table(
        "link_redemptions",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("practice_id", sa.String(length=32), nullable=False),
        sa.Column("purpose", sa.String(length=40), nullable=False),
        sa.Column("subject_id", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("redeemed_at", sa.DateTime(timezone=True), nullable=False),
        _practice_fk("link_redemptions"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_link_redemptions")),
    )
    op.create_index(
        op.f("ix_link_redemptions_practice_id"), "link_redemptions", ["practice_id"], unique=False
    )
    op.create_table(
        "reminder_policies",
        sa.Column("practice_id", sa.String(length=32), nullable=False),
        sa.Column("hours_before", sa.Integer(), nullable=True),
        sa.Column("email", sa.Boolean(), nullable=False, server_default="1"),
        sa.Column("sms", sa.Boolean(), nullable=False, server_default="0"),
        _practice_fk("reminder_policies"),
        sa.PrimaryKeyConstraint("practice_id", name=op.f("pk_reminder_policies")),
    )
    op.create_table(
        "reminder_sends",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("practice_id", sa.String(length=32), nullable=False),
        sa.Column("appointment_id", sa.String(length=32), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("appointment_start", sa.DateTime(timezone=False), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("claimed_by", sa.String(length=80), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("message_id", sa.String(length=200), nullable=True),
        sa.Column("error", sa.String(length=300), nullable=True),
        _practice_fk("reminder_sends"),
        sa.ForeignKeyConstraint(
            ["appointment_id"],
            ["appointments.id"],
            name=op.f("fk_reminder_sends_appointment_id_appointments"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reminder_sends")),
        sa.UniqueConstraint("appointment_id", "channel", "appointment_start", name="uq_reminder_sends_once"),
    )
    op.create_index(op.f("ix_reminder_sends_practice_id"), "reminder_sends", ["practice_id"], unique=False)
    op.create_index(
        op.f("ix_reminder_sends_appointment_id"), "reminder_sends", ["appointment_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_reminder_sends_appointment_id"), table_name="reminder_sends")
    op.drop_index(op.f("ix_reminder_sends_practice_id"), table_name="reminder_sends")
    op.drop_table("reminder_sends")
    op.drop_table("reminder_policies")
    op.drop_index(op.f("ix_link_redemptions_practice_id"), table_name="link_redemptions")
    op.drop_table("link_redemptions")
    op.drop_table("link_keys")
