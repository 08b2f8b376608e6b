"""Aging and revenue at practice scale (issue 22): the ledger by day, the insurance payments
per claim line, and the open patient balances per patient.

Revision ID: 0025_aging_revenue_scale
Revises: 0024_visits_to_bill
Create Date: 2026-12-06

The tables of ``therabill.adapters.db.summary_tables``, written out so that this revision never
changes when the table module changes later, and their first content from what is already
posted:

* ``ledger_day_totals``: the entries grouped as ``ledger_month_totals`` groups them, by UTC day
  of posting (the revenue report's days before a range's first and after its last whole month);
* ``ledger_line_payments``: the insurance payments per claim line and payer, with the line's
  code and units and the first and last UTC day paid; ``ledger_unit_totals``: those with a
  positive payment summed per payer, code, first and last day (the revenue report's paid per
  unit);
* ``ledger_patient_open``: the open patient rows of ``ledger_balances`` summed per patient (the
  aging report's oldest bucket), and an index of the open balances by the time they started
  (its recent items);
* ``ledger_claim_open``: the open insurance balances with their claim's first submission, and
  ``ledger_claim_ages``: those of submitted claims summed per payer and day of first submission
  (the aging report's insurance side).

From here on the application adds each posting to them in the posting's own transaction.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0025_aging_revenue_scale"
down_revision: str | Sequence[str] | None = "0024_visits_to_bill"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DAY_KEY = (
    "practice_id",
    "day",
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
DAY = {
    "sqlite": "substr(le.posted_at, 1, 10)",
    "postgresql": "CAST(timezone('UTC', le.posted_at) AS DATE)",
}
FILL_DAYS = """
INSERT INTO ledger_day_totals ({columns}, amount_cents, entries)
SELECT le.practice_id, {day}, le.kind, le.bucket,
       COALESCE(le.detail, ''), COALESCE(le.group_code, ''), COALESCE(le.reason_code, ''),
       COALESCE(le.payer_id, c.payer_id, ''), le.claim_line_id IS NOT NULL,
       COALESCE(cl.code, ''), COALESCE(cl.place_of_service, ''), COALESCE(v.provider_id, ''),
       SUM(le.amount_cents), COUNT(*)
FROM ledger_entries le
LEFT OUTER JOIN claim_lines cl ON cl.id = le.claim_line_id
LEFT OUTER JOIN claims c ON c.id = le.claim_id
LEFT OUTER JOIN visits v ON v.id = c.visit_id
GROUP BY le.practice_id, {day}, le.kind, le.bucket,
         COALESCE(le.detail, ''), COALESCE(le.group_code, ''), COALESCE(le.reason_code, ''),
         COALESCE(le.payer_id, c.payer_id, ''), le.claim_line_id IS NOT NULL,
         COALESCE(cl.code, ''), COALESCE(cl.place_of_service, ''), COALESCE(v.provider_id, '')
"""
FILL_LINES = """
INSERT INTO ledger_line_payments (practice_id, payer_id, claim_line_id, code, units, paid_cents, entries,
                                  first_day, last_day)
SELECT le.practice_id, COALESCE(le.payer_id, ''), le.claim_line_id, cl.code, cl.units,
       SUM(le.amount_cents), COUNT(*), MIN({day}), MAX({day})
FROM ledger_entries le
JOIN claim_lines cl ON cl.id = le.claim_line_id
WHERE le.kind = 'insurance-payment'
GROUP BY le.practice_id, COALESCE(le.payer_id, ''), le.claim_line_id, cl.code, cl.units
"""
FILL_UNITS = """
INSERT INTO ledger_unit_totals (practice_id, payer_id, code, first_day, last_day, lines, units, paid_cents)
SELECT practice_id, payer_id, code, first_day, last_day, COUNT(*), SUM(units), SUM(paid_cents)
FROM ledger_line_payments
WHERE paid_cents > 0
GROUP BY practice_id, payer_id, code, first_day, last_day
"""
CREDIT = "(balance_cents < 0 OR item_id = '')"
FILL_PATIENTS = f"""
INSERT INTO ledger_patient_open (practice_id, patient_id, aged_cents, aged_items, credit_cents, credit_rows)
SELECT practice_id, patient_id,
       SUM(CASE WHEN {CREDIT} THEN 0 ELSE balance_cents END),
       SUM(CASE WHEN {CREDIT} THEN 0 ELSE 1 END),
       SUM(CASE WHEN {CREDIT} THEN balance_cents ELSE 0 END),
       SUM(CASE WHEN {CREDIT} THEN 1 ELSE 0 END)
FROM ledger_balances
WHERE bucket = 'patient' AND balance_cents <> 0
GROUP BY practice_id, patient_id
"""
FILL_CLAIMS = """
INSERT INTO ledger_claim_open (practice_id, payer_id, claim_id, balance_cents, submitted_at)
SELECT lb.practice_id, lb.payer_id, lb.claim_id, lb.balance_cents,
       (SELECT MIN(e.at) FROM claim_status_events e
        WHERE e.practice_id = lb.practice_id AND e.status = 'submitted' AND e.claim_id = lb.claim_id)
FROM ledger_balances lb
WHERE lb.bucket = 'insurance' AND lb.balance_cents <> 0
"""
SUBMITTED_DAY = {
    "sqlite": "substr(submitted_at, 1, 10)",
    "postgresql": "CAST(timezone('UTC', submitted_at) AS DATE)",
}
FILL_AGES = """
INSERT INTO ledger_claim_ages (practice_id, payer_id, start_day, aged_cents, aged_claims, credit_cents, credit_rows)
SELECT practice_id, payer_id, {day},
       SUM(CASE WHEN balance_cents > 0 THEN balance_cents ELSE 0 END),
       SUM(CASE WHEN balance_cents > 0 THEN 1 ELSE 0 END),
       SUM(CASE WHEN balance_cents < 0 THEN balance_cents ELSE 0 END),
       SUM(CASE WHEN balance_cents < 0 THEN 1 ELSE 0 END)
FROM ledger_claim_open
WHERE submitted_at IS NOT NULL AND balance_cents <> 0
GROUP BY practice_id, payer_id, {day}
"""
TABLES = (
    "ledger_day_totals",
    "ledger_line_payments",
    "ledger_unit_totals",
    "ledger_patient_open",
    "ledger_claim_open",
    "ledger_claim_ages",
)


def _practice_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["practice_id"], ["practices.id"], name=op.f(f"fk_{table}_practice_id_practices")
    )


def upgrade() -> None:
    """Create the tables and the index, and fill them from the posted entries and balances."""
    op.create_table(
        "ledger_day_totals",
        sa.Column("practice_id", sa.String(32), nullable=False),
        sa.Column("day", sa.Date, nullable=False),
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
        _practice_fk("ledger_day_totals"),
        sa.PrimaryKeyConstraint(*DAY_KEY, name=op.f("pk_ledger_day_totals")),
    )
    op.create_table(
        "ledger_line_payments",
        sa.Column("practice_id", sa.String(32), nullable=False),
        sa.Column("payer_id", sa.String(32), nullable=False),
        sa.Column("claim_line_id", sa.String(32), nullable=False),
        sa.Column("code", sa.String(5), nullable=False),
        sa.Column("units", sa.Integer, nullable=False),
        sa.Column("paid_cents", sa.BigInteger, nullable=False),
        sa.Column("entries", sa.Integer, nullable=False),
        sa.Column("first_day", sa.Date, nullable=False),
        sa.Column("last_day", sa.Date, nullable=False),
        _practice_fk("ledger_line_payments"),
        sa.PrimaryKeyConstraint(
            "practice_id", "payer_id", "claim_line_id", name=op.f("pk_ledger_line_payments")
        ),
    )
    op.create_table(
        "ledger_unit_totals",
        sa.Column("practice_id", sa.String(32), nullable=False),
        sa.Column("payer_id", sa.String(32), nullable=False),
        sa.Column("code", sa.String(5), nullable=False),
        sa.Column("first_day", sa.Date, nullable=False),
        sa.Column("last_day", sa.Date, nullable=False),
        sa.Column("lines", sa.Integer, nullable=False),
        sa.Column("units", sa.BigInteger, nullable=False),
        sa.Column("paid_cents", sa.BigInteger, nullable=False),
        _practice_fk("ledger_unit_totals"),
        sa.PrimaryKeyConstraint(
            "practice_id", "payer_id", "code", "first_day", "last_day", name=op.f("pk_ledger_unit_totals")
        ),
    )
    op.create_table(
        "ledger_patient_open",
        sa.Column("practice_id", sa.String(32), nullable=False),
        sa.Column("patient_id", sa.String(32), nullable=False),
        sa.Column("aged_cents", sa.BigInteger, nullable=False),
        sa.Column("aged_items", sa.Integer, nullable=False),
        sa.Column("credit_cents", sa.BigInteger, nullable=False),
        sa.Column("credit_rows", sa.Integer, nullable=False),
        _practice_fk("ledger_patient_open"),
        sa.PrimaryKeyConstraint("practice_id", "patient_id", name=op.f("pk_ledger_patient_open")),
    )
    op.create_table(
        "ledger_claim_open",
        sa.Column("practice_id", sa.String(32), nullable=False),
        sa.Column("payer_id", sa.String(32), nullable=False),
        sa.Column("claim_id", sa.String(32), nullable=False),
        sa.Column("balance_cents", sa.BigInteger, nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        _practice_fk("ledger_claim_open"),
        sa.PrimaryKeyConstraint("practice_id", "payer_id", "claim_id", name=op.f("pk_ledger_claim_open")),
    )
    op.create_table(
        "ledger_claim_ages",
        sa.Column("practice_id", sa.String(32), nullable=False),
        sa.Column("payer_id", sa.String(32), nullable=False),
        sa.Column("start_day", sa.Date, nullable=False),
        sa.Column("aged_cents", sa.BigInteger, nullable=False),
        sa.Column("aged_claims", sa.Integer, nullable=False),
        sa.Column("credit_cents", sa.BigInteger, nullable=False),
        sa.Column("credit_rows", sa.Integer, nullable=False),
        _practice_fk("ledger_claim_ages"),
        sa.PrimaryKeyConstraint("practice_id", "payer_id", "start_day", name=op.f("pk_ledger_claim_ages")),
    )
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute("SET LOCAL work_mem = '256MB'")
    op.execute(FILL_DAYS.format(columns=", ".join(DAY_KEY), day=DAY[dialect]))
    op.execute(FILL_LINES.format(day=DAY[dialect]))
    op.execute(FILL_UNITS)
    op.execute(FILL_PATIENTS)
    op.execute(FILL_CLAIMS)
    op.execute(FILL_AGES.format(day=SUBMITTED_DAY[dialect]))
    op.create_index(
        "ix_ledger_claim_open_unsubmitted",
        "ledger_claim_open",
        ["practice_id", "payer_id", "claim_id", "balance_cents"],
        sqlite_where=sa.text("submitted_at IS NULL AND balance_cents <> 0"),
        postgresql_where=sa.text("submitted_at IS NULL AND balance_cents <> 0"),
    )
    op.create_index(
        "ix_ledger_line_payments_spread",
        "ledger_line_payments",
        ["practice_id", "first_day", "last_day", "payer_id", "claim_line_id", "code", "units"],
        sqlite_where=sa.text("first_day <> last_day"),
        postgresql_where=sa.text("first_day <> last_day"),
    )
    op.create_index(
        "ix_ledger_balances_started",
        "ledger_balances",
        ["practice_id", "bucket", "first_posted_at", "patient_id", "item_id", "balance_cents"],
        sqlite_where=sa.text("balance_cents <> 0"),
        postgresql_where=sa.text("balance_cents <> 0"),
    )
    for table in (*TABLES, "ledger_balances"):
        op.execute(f"ANALYZE {table}")


def downgrade() -> None:
    """Drop the tables and the index (the ledger and its balances are untouched)."""
    op.drop_index("ix_ledger_balances_started", table_name="ledger_balances")
    op.drop_index("ix_ledger_line_payments_spread", table_name="ledger_line_payments")
    op.drop_index("ix_ledger_claim_open_unsubmitted", table_name="ledger_claim_open")
    for table in reversed(TABLES):
        op.drop_table(table)
