"""The money ledger: entries, remittances and their claims, posting worklist, idempotency keys.

Revision ID: 0002_ledger
Revises: 0001_records
Create Date: 2026-11-23

The tables of ``therabill.adapters.db.ledger_tables``, written out so that this revision
never changes when the table module changes later. ``ledger_entries``, ``remittances`` and
``remittance_claims`` are append-only: triggers refuse UPDATE and DELETE (and TRUNCATE on
PostgreSQL) on both engines; a mistake is corrected by a reversal entry.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_ledger"
down_revision: str | Sequence[str] | None = "0001_records"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APPEND_ONLY = ("remittances", "remittance_claims", "ledger_entries")
MESSAGE = "ledger-append-only: posted rows cannot be changed or deleted; post a reversal"
TABLES = (
    "idempotency_keys",
    "posting_worklist",
    "ledger_entries",
    "remittance_claims",
    "remittances",
    "prepaid_instruments",
)


def _append_only_up() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE OR REPLACE FUNCTION therabill_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"BEGIN RAISE EXCEPTION '{MESSAGE} (% on %)', TG_OP, TG_TABLE_NAME; END $$"
        )
        for table in APPEND_ONLY:
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION therabill_refuse_change()"
            )
            op.execute(
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION therabill_refuse_change()"
            )
        return
    for table in APPEND_ONLY:
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END"
            )


def _append_only_down() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in APPEND_ONLY:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
        op.execute("DROP FUNCTION IF EXISTS therabill_refuse_change()")
        return
    for table in APPEND_ONLY:
        for action in ("update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{action}")


def upgrade() -> None:
    """Create the ledger tables and their append-only triggers."""
    op.create_table(
        "prepaid_instruments",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("practice_id", sa.String(length=32), nullable=False),
        sa.Column("patient_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("description", sa.String(length=200), nullable=True),
        sa.Column("sessions", sa.Integer(), nullable=True),
        sa.Column("price_cents", sa.BigInteger(), nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=True),
        sa.Column("sold_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('package', 'gift-certificate')", name=op.f("ck_prepaid_instruments_kind")
        ),
        sa.CheckConstraint("price_cents > 0", name=op.f("ck_prepaid_instruments_price")),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_prepaid_instruments_patient_id_patients")
        ),
        sa.ForeignKeyConstraint(
            ["practice_id"], ["practices.id"], name=op.f("fk_prepaid_instruments_practice_id_practices")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_prepaid_instruments")),
        sa.UniqueConstraint("practice_id", "code", name="uq_prepaid_instruments_practice_code"),
    )
    op.create_index(
        op.f("ix_prepaid_instruments_patient_id"), "prepaid_instruments", ["patient_id"], unique=False
    )
    op.create_index(
        op.f("ix_prepaid_instruments_practice_id"), "prepaid_instruments", ["practice_id"], unique=False
    )
    op.create_table(
        "remittances",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("practice_id", sa.String(length=32), nullable=False),
        sa.Column("payer_id", sa.String(length=32), nullable=True),
        sa.Column("payer_identifier", sa.String(length=80), nullable=True),
        sa.Column("payer_name", sa.String(length=120), nullable=True),
        sa.Column("trace_number", sa.String(length=80), nullable=True),
        sa.Column("payment_cents", sa.BigInteger(), nullable=False),
        sa.Column("payment_date", sa.Date(), nullable=True),
        sa.Column("payment_method", sa.String(length=3), nullable=True),
        sa.Column("provider_adjustment_cents", sa.BigInteger(), nullable=False),
        sa.Column("claim_count", sa.Integer(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=255), nullable=False),
        sa.Column("file_sha256", sa.String(length=64), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_by", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(["payer_id"], ["payers.id"], name=op.f("fk_remittances_payer_id_payers")),
        sa.ForeignKeyConstraint(
            ["practice_id"], ["practices.id"], name=op.f("fk_remittances_practice_id_practices")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_remittances")),
        sa.UniqueConstraint("practice_id", "idempotency_key", name="uq_remittances_practice_key"),
    )
    op.create_index(op.f("ix_remittances_payer_id"), "remittances", ["payer_id"], unique=False)
    op.create_index(op.f("ix_remittances_practice_id"), "remittances", ["practice_id"], unique=False)
    op.create_table(
        "remittance_claims",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("practice_id", sa.String(length=32), nullable=False),
        sa.Column("remittance_id", sa.String(length=32), nullable=False),
        sa.Column("ordinal", sa.Integer(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=255), nullable=False),
        sa.Column("claim_number", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=3), nullable=False),
        sa.Column("payer_claim_control_number", sa.String(length=50), nullable=True),
        sa.Column("charge_cents", sa.BigInteger(), nullable=False),
        sa.Column("paid_cents", sa.BigInteger(), nullable=False),
        sa.Column("patient_responsibility_cents", sa.BigInteger(), nullable=False),
        sa.Column("claim_id", sa.String(length=32), nullable=True),
        sa.Column("posted", sa.Boolean(), nullable=False),
        sa.Column("crossover", sa.Boolean(), nullable=False),
        sa.Column("entry_count", sa.Integer(), nullable=False),
        sa.Column("posted_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["claim_id"], ["claims.id"], name=op.f("fk_remittance_claims_claim_id_claims")
        ),
        sa.ForeignKeyConstraint(
            ["practice_id"], ["practices.id"], name=op.f("fk_remittance_claims_practice_id_practices")
        ),
        sa.ForeignKeyConstraint(
            ["remittance_id"], ["remittances.id"], name=op.f("fk_remittance_claims_remittance_id_remittances")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_remittance_claims")),
        sa.UniqueConstraint("practice_id", "idempotency_key", name="uq_remittance_claims_practice_key"),
        sa.UniqueConstraint("remittance_id", "ordinal", name="uq_remittance_claims_remittance_ordinal"),
    )
    op.create_index(op.f("ix_remittance_claims_claim_id"), "remittance_claims", ["claim_id"], unique=False)
    op.create_index(
        op.f("ix_remittance_claims_practice_id"), "remittance_claims", ["practice_id"], unique=False
    )
    op.create_index(
        op.f("ix_remittance_claims_remittance_id"), "remittance_claims", ["remittance_id"], unique=False
    )
    op.create_table(
        "ledger_entries",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("practice_id", sa.String(length=32), nullable=False),
        sa.Column("patient_id", sa.String(length=32), nullable=False),
        sa.Column("item_id", sa.String(length=32), nullable=True),
        sa.Column("claim_id", sa.String(length=32), nullable=True),
        sa.Column("claim_line_id", sa.String(length=32), nullable=True),
        sa.Column("payer_id", sa.String(length=32), nullable=True),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("bucket", sa.String(length=10), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("group_code", sa.String(length=20), nullable=True),
        sa.Column("reason_code", sa.String(length=10), nullable=True),
        sa.Column("detail", sa.String(length=40), nullable=True),
        sa.Column("instrument_id", sa.String(length=32), nullable=True),
        sa.Column("journal_id", sa.String(length=32), nullable=True),
        sa.Column("reverses_entry_id", sa.String(length=32), nullable=True),
        sa.Column("idempotency_key", sa.String(length=255), nullable=True),
        sa.Column("remittance_id", sa.String(length=32), nullable=True),
        sa.Column("remittance_claim_id", sa.String(length=32), nullable=True),
        sa.Column("memo", sa.Text(), nullable=True),
        sa.Column("posted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("posted_by", sa.String(length=100), nullable=False),
        sa.CheckConstraint(
            "bucket IN ('insurance', 'patient', 'prepaid', 'tips')", name=op.f("ck_ledger_entries_bucket")
        ),
        sa.CheckConstraint(
            "kind IN ('charge', 'insurance-payment', 'adjustment', 'write-off', 'transfer', 'patient-payment', 'tip', 'prepaid-sale', 'redemption', 'refund')",
            name=op.f("ck_ledger_entries_kind"),
        ),
        sa.CheckConstraint("amount_cents <> 0", name=op.f("ck_ledger_entries_amount_not_zero")),
        sa.ForeignKeyConstraint(["claim_id"], ["claims.id"], name=op.f("fk_ledger_entries_claim_id_claims")),
        sa.ForeignKeyConstraint(
            ["claim_line_id"], ["claim_lines.id"], name=op.f("fk_ledger_entries_claim_line_id_claim_lines")
        ),
        sa.ForeignKeyConstraint(
            ["instrument_id"],
            ["prepaid_instruments.id"],
            name=op.f("fk_ledger_entries_instrument_id_prepaid_instruments"),
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_ledger_entries_patient_id_patients")
        ),
        sa.ForeignKeyConstraint(["payer_id"], ["payers.id"], name=op.f("fk_ledger_entries_payer_id_payers")),
        sa.ForeignKeyConstraint(
            ["practice_id"], ["practices.id"], name=op.f("fk_ledger_entries_practice_id_practices")
        ),
        sa.ForeignKeyConstraint(
            ["remittance_claim_id"],
            ["remittance_claims.id"],
            name=op.f("fk_ledger_entries_remittance_claim_id_remittance_claims"),
        ),
        sa.ForeignKeyConstraint(
            ["remittance_id"], ["remittances.id"], name=op.f("fk_ledger_entries_remittance_id_remittances")
        ),
        sa.ForeignKeyConstraint(
            ["reverses_entry_id"],
            ["ledger_entries.id"],
            name=op.f("fk_ledger_entries_reverses_entry_id_ledger_entries"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_entries")),
        sa.UniqueConstraint("reverses_entry_id", name=op.f("uq_ledger_entries_reverses_entry_id")),
    )
    op.create_index(op.f("ix_ledger_entries_claim_id"), "ledger_entries", ["claim_id"], unique=False)
    op.create_index(
        op.f("ix_ledger_entries_claim_line_id"), "ledger_entries", ["claim_line_id"], unique=False
    )
    op.create_index(
        op.f("ix_ledger_entries_idempotency_key"), "ledger_entries", ["idempotency_key"], unique=False
    )
    op.create_index(
        op.f("ix_ledger_entries_instrument_id"), "ledger_entries", ["instrument_id"], unique=False
    )
    op.create_index(op.f("ix_ledger_entries_item_id"), "ledger_entries", ["item_id"], unique=False)
    op.create_index(op.f("ix_ledger_entries_journal_id"), "ledger_entries", ["journal_id"], unique=False)
    op.create_index(op.f("ix_ledger_entries_patient_id"), "ledger_entries", ["patient_id"], unique=False)
    op.create_index(op.f("ix_ledger_entries_payer_id"), "ledger_entries", ["payer_id"], unique=False)
    op.create_index(op.f("ix_ledger_entries_practice_id"), "ledger_entries", ["practice_id"], unique=False)
    op.create_index(
        op.f("ix_ledger_entries_remittance_claim_id"), "ledger_entries", ["remittance_claim_id"], unique=False
    )
    op.create_index(
        op.f("ix_ledger_entries_remittance_id"), "ledger_entries", ["remittance_id"], unique=False
    )
    op.create_table(
        "posting_worklist",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("practice_id", sa.String(length=32), nullable=False),
        sa.Column("remittance_id", sa.String(length=32), nullable=True),
        sa.Column("remittance_claim_id", sa.String(length=32), nullable=True),
        sa.Column("claim_id", sa.String(length=32), nullable=True),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("claim_number", sa.String(length=40), nullable=True),
        sa.Column("line", sa.String(length=50), nullable=True),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("segment_number", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_by", sa.String(length=100), nullable=True),
        sa.ForeignKeyConstraint(
            ["claim_id"], ["claims.id"], name=op.f("fk_posting_worklist_claim_id_claims")
        ),
        sa.ForeignKeyConstraint(
            ["practice_id"], ["practices.id"], name=op.f("fk_posting_worklist_practice_id_practices")
        ),
        sa.ForeignKeyConstraint(
            ["remittance_claim_id"],
            ["remittance_claims.id"],
            name=op.f("fk_posting_worklist_remittance_claim_id_remittance_claims"),
        ),
        sa.ForeignKeyConstraint(
            ["remittance_id"], ["remittances.id"], name=op.f("fk_posting_worklist_remittance_id_remittances")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_posting_worklist")),
    )
    op.create_index(op.f("ix_posting_worklist_claim_id"), "posting_worklist", ["claim_id"], unique=False)
    op.create_index(
        op.f("ix_posting_worklist_practice_id"), "posting_worklist", ["practice_id"], unique=False
    )
    op.create_index(
        op.f("ix_posting_worklist_remittance_claim_id"),
        "posting_worklist",
        ["remittance_claim_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_posting_worklist_remittance_id"), "posting_worklist", ["remittance_id"], unique=False
    )
    op.create_table(
        "idempotency_keys",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("practice_id", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("scope", sa.String(length=30), nullable=False),
        sa.Column("request_sha256", sa.String(length=64), nullable=False),
        sa.Column("response", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["practice_id"], ["practices.id"], name=op.f("fk_idempotency_keys_practice_id_practices")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_idempotency_keys")),
        sa.UniqueConstraint("practice_id", "key", name="uq_idempotency_keys_practice_key"),
    )
    op.create_index(
        op.f("ix_idempotency_keys_practice_id"), "idempotency_keys", ["practice_id"], unique=False
    )
    _append_only_up()


def downgrade() -> None:
    """Drop the ledger tables (their triggers first)."""
    _append_only_down()
    for table in TABLES:
        op.drop_table(table)
