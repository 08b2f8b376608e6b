"""Open balances per insurance claim and per patient item, for A/R aging at scale.

Revision ID: 0019_ledger_balances
Revises: 0017_patient_money
Create Date: 2026-12-06

The table ``ledger_balances`` of ``therabill.adapters.db.ledger_tables``, written out so that
this revision never changes when the table module changes later, and its first content: every
practice's insurance entries summed per payer and claim, and its patient entries per patient
and item, the reducing kinds (payments, adjustments, write-offs, redemptions) counted
negative, with the first and last posting time. From here on the application adds each
posting to it in the posting's own transaction. The aging report reads the open balances
through a partial index (``balance_cents <> 0``) instead of grouping every entry of the
practice (on PostgreSQL at 1,000,000 visits: about 7.4 million entries).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019_ledger_balances"
down_revision: str | Sequence[str] | None = "0017_patient_money"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "ledger_balances"
KEY = ("practice_id", "bucket", "payer_id", "claim_id", "patient_id", "item_id")
SIGNED = (
    "CASE WHEN le.kind IN ('insurance-payment', 'patient-payment', 'redemption', 'adjustment', 'write-off') "
    "THEN -le.amount_cents ELSE le.amount_cents END"
)
FILL = f"""
INSERT INTO ledger_balances (practice_id, bucket, payer_id, claim_id, patient_id, item_id,
                             balance_cents, entries, first_posted_at, last_posted_at, claim_ref)
SELECT le.practice_id, 'insurance', COALESCE(le.payer_id, ''), COALESCE(le.claim_id, ''), '', '',
       SUM({SIGNED}), COUNT(*), MIN(le.posted_at), MAX(le.posted_at), NULL
FROM ledger_entries le
WHERE le.bucket = 'insurance'
GROUP BY le.practice_id, COALESCE(le.payer_id, ''), COALESCE(le.claim_id, '')
UNION ALL
SELECT le.practice_id, 'patient', '', '', COALESCE(le.patient_id, ''), COALESCE(le.item_id, ''),
       SUM({SIGNED}), COUNT(*), MIN(le.posted_at), MAX(le.posted_at), MAX(le.claim_id)
FROM ledger_entries le
WHERE le.bucket = 'patient'
GROUP BY le.practice_id, COALESCE(le.patient_id, ''), COALESCE(le.item_id, '')
"""


def upgrade() -> None:
    """Create ``ledger_balances`` and fill it from the posted entries."""
    op.create_table(
        TABLE,
        sa.Column("practice_id", sa.String(32), nullable=False),
        sa.Column("bucket", sa.String(10), nullable=False),
        sa.Column("payer_id", sa.String(32), nullable=False),
        sa.Column("claim_id", sa.String(32), nullable=False),
        sa.Column("patient_id", sa.String(32), nullable=False),
        sa.Column("item_id", sa.String(32), nullable=False),
        sa.Column("balance_cents", sa.BigInteger, nullable=False),
        sa.Column("entries", sa.Integer, nullable=False),
        sa.Column("first_posted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_posted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claim_ref", sa.String(32), nullable=True),
        sa.ForeignKeyConstraint(
            ["practice_id"], ["practices.id"], name=op.f("fk_ledger_balances_practice_id_practices")
        ),
        sa.PrimaryKeyConstraint(*KEY, name=op.f("pk_ledger_balances")),
    )
    op.execute(FILL)
    op.create_index(
        "ix_ledger_balances_open",
        TABLE,
        [*KEY, "balance_cents", "first_posted_at", "claim_ref"],
        sqlite_where=sa.text("balance_cents <> 0"),
        postgresql_where=sa.text("balance_cents <> 0"),
    )
    op.create_index("ix_ledger_balances_last_posted", TABLE, ["practice_id", "last_posted_at"])
    op.execute(f"ANALYZE {TABLE}")


def downgrade() -> None:
    """Drop ``ledger_balances`` (the ledger itself is untouched)."""
    op.drop_index("ix_ledger_balances_last_posted", table_name=TABLE)
    op.drop_index("ix_ledger_balances_open", table_name=TABLE)
    op.drop_table(TABLE)
