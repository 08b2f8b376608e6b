"""Statement emails on the job runner, clients' contact opt-outs, revocable calendar feeds.

Revision ID: 0021_client_messages
Revises: 0019_ledger_balances
Create Date: 2026-12-06

The tables added to ``therabill.adapters.db.messaging_tables``, written out so that this
revision stays what it was when later revisions change the module:
``statement_email_runs`` (a request to email a statement to every client owing more than a
threshold), ``statement_email_sends`` (one row per client of a run, unique on run and client:
``uq_statement_email_sends_once``), ``contact_preferences`` (a client's email and SMS
opt-out) and ``calendar_feeds`` (a therapist's feed generation; earlier URLs are gone).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021_client_messages"
down_revision: str | Sequence[str] | None = "0019_ledger_balances"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}"))


def upgrade() -> None:
    op.create_table(
        "statement_email_runs",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("practice_id", sa.String(length=32), nullable=False),
        sa.Column("statement_date", sa.Date(), nullable=False),
        sa.Column("over_cents", sa.Integer(), nullable=False),
        sa.Column("requested_by", sa.String(length=80), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        _fk("statement_email_runs", "practice_id", "practices"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_statement_email_runs")),
        sa.UniqueConstraint("practice_id", "statement_date", name="uq_statement_email_runs_day"),
    )
    op.create_index(
        op.f("ix_statement_email_runs_practice_id"), "statement_email_runs", ["practice_id"], unique=False
    )
    op.create_table(
        "statement_email_sends",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("practice_id", sa.String(length=32), nullable=False),
        sa.Column("run_id", sa.String(length=32), nullable=False),
        sa.Column("patient_id", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("document_id", sa.String(length=32), nullable=True),
        sa.Column("claimed_by", sa.String(length=80), nullable=True),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("error", sa.String(length=300), nullable=True),
        _fk("statement_email_sends", "practice_id", "practices"),
        _fk("statement_email_sends", "run_id", "statement_email_runs"),
        _fk("statement_email_sends", "patient_id", "patients"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_statement_email_sends")),
        sa.UniqueConstraint("run_id", "patient_id", name="uq_statement_email_sends_once"),
    )
    for column in ("practice_id", "run_id", "status"):
        op.create_index(
            op.f(f"ix_statement_email_sends_{column}"), "statement_email_sends", [column], unique=False
        )
    op.create_table(
        "contact_preferences",
        sa.Column("patient_id", sa.String(length=32), nullable=False),
        sa.Column("practice_id", sa.String(length=32), nullable=False),
        sa.Column("email_opt_out", sa.Boolean(), nullable=False, server_default="0"),
        sa.Column("sms_opt_out", sa.Boolean(), nullable=False, server_default="0"),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=80), nullable=False),
        _fk("contact_preferences", "patient_id", "patients"),
        _fk("contact_preferences", "practice_id", "practices"),
        sa.PrimaryKeyConstraint("patient_id", name=op.f("pk_contact_preferences")),
    )
    op.create_index(
        op.f("ix_contact_preferences_practice_id"), "contact_preferences", ["practice_id"], unique=False
    )
    op.create_table(
        "calendar_feeds",
        sa.Column("provider_id", sa.String(length=32), nullable=False),
        sa.Column("practice_id", sa.String(length=32), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("revoked", sa.Boolean(), nullable=False, server_default="0"),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        _fk("calendar_feeds", "provider_id", "providers"),
        _fk("calendar_feeds", "practice_id", "practices"),
        sa.PrimaryKeyConstraint("provider_id", name=op.f("pk_calendar_feeds")),
    )
    op.create_index(op.f("ix_calendar_feeds_practice_id"), "calendar_feeds", ["practice_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_calendar_feeds_practice_id"), table_name="calendar_feeds")
    op.drop_table("calendar_feeds")
    op.drop_index(op.f("ix_contact_preferences_practice_id"), table_name="contact_preferences")
    op.drop_table("contact_preferences")
    for column in ("status", "run_id", "practice_id"):
        op.drop_index(op.f(f"ix_statement_email_sends_{column}"), table_name="statement_email_sends")
    op.drop_table("statement_email_sends")
    op.drop_index(op.f("ix_statement_email_runs_practice_id"), table_name="statement_email_runs")
    op.drop_table("statement_email_runs")
