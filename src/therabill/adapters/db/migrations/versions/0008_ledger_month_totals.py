"""The ledger's monthly totals, filled from the entries already posted.

Revision ID: 0008_ledger_month_totals
Revises: 0007_report_indexes
Create Date: 2026-11-23

The table ``ledger_month_totals`` of ``therabill.adapters.db.ledger_tables``, written out so
that this revision never changes when the table module changes later, and its first content:
every practice's entries grouped by UTC month of posting, entry class and attribution (the
payer of the entry, else of its claim; the claim line's code and place of service; the
visit's rendering provider), with ``''`` for "none". From here on the application adds each
posting to these totals in the posting's own transaction.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_ledger_month_totals"
down_revision: str | Sequence[str] | None = "0007_report_indexes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "ledger_month_totals"
KEY = (
    "practice_id",
    "month",
    "kind",
    "bucket",
    "detail",
    "group_code",
    "reason_code",
    "payer_id",
    "on_line",
    "code",
    "place_of_service",
    "provider_id",
)

FILL = """
INSERT INTO ledger_month_totals ({columns}, amount_cents, entries)
SELECT le.practice_id, {month}, le.kind, le.bucket,
       COALESCE(le.detail, ''), COALESCE(le.group_code, ''), COALESCE(le.reason_code, ''),
       COALESCE(le.payer_id, c.payer_id, ''), le.claim_line_id IS NOT NULL,
       COALESCE(cl.code, ''), COALESCE(cl.place_of_service, ''), COALESCE(v.provider_id, ''),
       SUM(le.amount_cents), COUNT(*)
FROM ledger_entries le
LEFT OUTER JOIN claim_lines cl ON cl.id = le.claim_line_id
LEFT OUTER JOIN claims c ON c.id = le.claim_id
LEFT OUTER JOIN visits v ON v.id = c.visit_id
GROUP BY le.practice_id, {month}, le.kind, le.bucket,
         COALESCE(le.detail, ''), COALESCE(le.group_code, ''), COALESCE(le.reason_code, ''),
         COALESCE(le.payer_id, c.payer_id, ''), le.claim_line_id IS NOT NULL,
         COALESCE(cl.code, ''), COALESCE(cl.place_of_service, ''), COALESCE(v.provider_id, '')
"""
MONTH = {
    "sqlite": "substr(le.posted_at, 1, 7)",
    "postgresql": "to_char(timezone('UTC', le.posted_at), 'YYYY-MM')",
}


def upgrade() -> None:
    """Create ``ledger_month_totals`` and fill it from the posted entries."""
    op.create_table(
        TABLE,
        sa.Column("practice_id", sa.String(32), nullable=False),
        sa.Column("month", sa.String(7), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("bucket", sa.String(10), nullable=False),
        sa.Column("detail", sa.String(40), nullable=False),
        sa.Column("group_code", sa.String(20), nullable=False),
        sa.Column("reason_code", sa.String(10), nullable=False),
        sa.Column("payer_id", sa.String(32), nullable=False),
        sa.Column("on_line", sa.Boolean, nullable=False),
        sa.Column("code", sa.String(5), nullable=False),
        sa.Column("place_of_service", sa.String(2), nullable=False),
        sa.Column("provider_id", sa.String(32), nullable=False),
        sa.Column("amount_cents", sa.BigInteger, nullable=False),
        sa.Column("entries", sa.Integer, nullable=False),
        sa.ForeignKeyConstraint(
            ["practice_id"], ["practices.id"], name=op.f("fk_ledger_month_totals_practice_id_practices")
        ),
        sa.PrimaryKeyConstraint(*KEY, name=op.f("pk_ledger_month_totals")),
    )
    dialect = op.get_bind().dialect.name
    op.execute(FILL.format(columns=", ".join(KEY), month=MONTH[dialect]))
    op.execute(f"ANALYZE {TABLE}")


def downgrade() -> None:
    """Drop ``ledger_month_totals`` (the ledger itself is untouched)."""
    op.drop_table(TABLE)
