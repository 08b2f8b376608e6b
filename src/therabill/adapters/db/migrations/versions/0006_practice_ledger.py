"""Practice-level ledger entries (PLB provider-level adjustments of remittances).

Revision ID: 0006_practice_ledger
Revises: 0005_interop
Create Date: 2026-11-23

The table ``practice_ledger_entries`` of ``therabill.adapters.db.ledger_tables``, written
out so that this revision never changes when the table module changes later. Append-only:
triggers refuse UPDATE and DELETE (and TRUNCATE on PostgreSQL).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_practice_ledger"
down_revision: str | Sequence[str] | None = "0005_interop"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "practice_ledger_entries"
MESSAGE = "ledger-append-only: posted rows cannot be changed or deleted; post a reversal"


def upgrade() -> None:
    """Create ``practice_ledger_entries`` and its append-only triggers."""
    op.create_table(
        TABLE,
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("practice_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("payer_id", sa.String(length=32), nullable=True),
        sa.Column("remittance_id", sa.String(length=32), nullable=True),
        sa.Column("provider_identifier", sa.String(length=80), nullable=True),
        sa.Column("fiscal_period_date", sa.Date(), nullable=True),
        sa.Column("reason", sa.String(length=10), nullable=False),
        sa.Column("reference", sa.String(length=80), nullable=True),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("segment_number", sa.Integer(), nullable=False),
        sa.Column("reverses_entry_id", sa.String(length=32), nullable=True),
        sa.Column("idempotency_key", sa.String(length=255), nullable=False),
        sa.Column("posted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("posted_by", sa.String(length=100), nullable=False),
        sa.CheckConstraint("kind IN ('provider-adjustment')", name=op.f("ck_practice_ledger_entries_kind")),
        sa.CheckConstraint("amount_cents <> 0", name=op.f("ck_practice_ledger_entries_amount_not_zero")),
        sa.ForeignKeyConstraint(
            ["payer_id"], ["payers.id"], name=op.f("fk_practice_ledger_entries_payer_id_payers")
        ),
        sa.ForeignKeyConstraint(
            ["practice_id"], ["practices.id"], name=op.f("fk_practice_ledger_entries_practice_id_practices")
        ),
        sa.ForeignKeyConstraint(
            ["remittance_id"],
            ["remittances.id"],
            name=op.f("fk_practice_ledger_entries_remittance_id_remittances"),
        ),
        sa.ForeignKeyConstraint(
            ["reverses_entry_id"],
            ["practice_ledger_entries.id"],
            name=op.f("fk_practice_ledger_entries_reverses_entry_id_practice_ledger_entries"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_practice_ledger_entries")),
        sa.UniqueConstraint("practice_id", "idempotency_key", name="uq_practice_ledger_entries_practice_key"),
        sa.UniqueConstraint("reverses_entry_id", name=op.f("uq_practice_ledger_entries_reverses_entry_id")),
    )
    for column in ("payer_id", "practice_id", "remittance_id"):
        op.create_index(op.f(f"ix_practice_ledger_entries_{column}"), TABLE, [column], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE OR REPLACE FUNCTION therabill_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"BEGIN RAISE EXCEPTION '{MESSAGE} (% on %)', TG_OP, TG_TABLE_NAME; END $$"
        )
        op.execute(
            f"CREATE TRIGGER {TABLE}_append_only BEFORE UPDATE OR DELETE ON {TABLE} "
            "FOR EACH ROW EXECUTE FUNCTION therabill_refuse_change()"
        )
        op.execute(
            f"CREATE TRIGGER {TABLE}_no_truncate BEFORE TRUNCATE ON {TABLE} "
            "FOR EACH STATEMENT EXECUTE FUNCTION therabill_refuse_change()"
        )
        return
    for action in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER {TABLE}_no_{action.lower()} BEFORE {action} ON {TABLE} "
            f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END"
        )


def downgrade() -> None:
    """Drop ``practice_ledger_entries`` (its triggers first)."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP TRIGGER IF EXISTS {TABLE}_append_only ON {TABLE}")
        op.execute(f"DROP TRIGGER IF EXISTS {TABLE}_no_truncate ON {TABLE}")
    else:
        for action in ("update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {TABLE}_no_{action}")
    for column in ("payer_id", "practice_id", "remittance_id"):
        op.drop_index(op.f(f"ix_practice_ledger_entries_{column}"), table_name=TABLE)
    op.drop_table(TABLE)
