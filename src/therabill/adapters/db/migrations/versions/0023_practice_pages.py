"""Practice-sized reports and pages (issue 22): the denials report's derived tables and the
indexes of the pages' worklists.

Revision ID: 0023_practice_pages
Revises: 0022_remittance_work
Create Date: 2026-12-06

The tables ``ledger_line_denials``, ``ledger_denial_days`` and ``ledger_denial_reasons`` of
``therabill.adapters.db.ledger_tables``, written out so that this revision never changes when
the table module changes later, and their first content from the entries already posted: per
claim line and payer the insurance payments and adjustments (counted), the denial adjustments
that are not reversals (counted), what the denials hold and what was paid; those lines summed
per date of service, payer and code; and the denial adjustments per line, payer and reason. A
denial is an adjustment in group CO, OA or PI whose reason is not one of the routine
contractual reasons of ``reports/data/contractual.toml`` (read when this revision runs). From
here on the application adds each posting to them in the posting's own transaction.

Three indexes, practice first: the visits of an appointment (the dashboard's "not documented"),
the claims by status and last change with the columns follow-up shows (follow-up, the claims
needing attention, the ready count), and the claims with scrub errors.
"""

from __future__ import annotations

import tomllib
from collections.abc import Sequence
from importlib import resources

import sqlalchemy as sa
from alembic import op

revision: str = "0023_practice_pages"
down_revision: str | Sequence[str] | None = "0022_remittance_work"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _routine() -> list[str]:
    source = resources.files("therabill.reports").joinpath("data", "contractual.toml")
    return sorted(tomllib.loads(source.read_text("utf-8"))["reasons"])


def _fill() -> list[str]:
    routine = ", ".join("'" + r.replace("'", "''") + "'" for r in _routine()) or "''"
    denial = (
        "le.kind = 'adjustment' AND le.group_code IN ('CO', 'OA', 'PI') "
        f"AND le.reason_code NOT IN ({routine})"
    )
    counted = (
        "le.bucket = 'insurance' AND le.kind IN ('insurance-payment', 'adjustment') "
        "AND le.claim_line_id IS NOT NULL"
    )
    return [
        f"""
INSERT INTO ledger_line_denials (practice_id, claim_line_id, payer_id, date_of_service, code,
                                 entries, denials, stake_cents, paid_cents)
SELECT le.practice_id, le.claim_line_id, COALESCE(le.payer_id, ''), cl.date_of_service, cl.code,
       COUNT(*),
       SUM(CASE WHEN {denial} AND le.reverses_entry_id IS NULL THEN 1 ELSE 0 END),
       SUM(CASE WHEN {denial} THEN le.amount_cents ELSE 0 END),
       SUM(CASE WHEN le.kind = 'insurance-payment' THEN le.amount_cents ELSE 0 END)
FROM ledger_entries le JOIN claim_lines cl ON cl.id = le.claim_line_id
WHERE {counted}
GROUP BY le.practice_id, le.claim_line_id, COALESCE(le.payer_id, ''), cl.date_of_service, cl.code
""",
        """
INSERT INTO ledger_denial_days (practice_id, date_of_service, payer_id, code, lines, denied, stake_cents, fixed)
SELECT practice_id, date_of_service, payer_id, code, COUNT(*),
       SUM(CASE WHEN denials > 0 THEN 1 ELSE 0 END), SUM(stake_cents),
       SUM(CASE WHEN denials > 0 AND stake_cents = 0 AND paid_cents > 0 THEN 1 ELSE 0 END)
FROM ledger_line_denials
GROUP BY practice_id, date_of_service, payer_id, code
""",
        f"""
INSERT INTO ledger_denial_reasons (practice_id, claim_line_id, payer_id, group_code, reason_code,
                                   date_of_service, entries, cents)
SELECT le.practice_id, le.claim_line_id, COALESCE(le.payer_id, ''), le.group_code, le.reason_code,
       cl.date_of_service, COUNT(*), SUM(le.amount_cents)
FROM ledger_entries le JOIN claim_lines cl ON cl.id = le.claim_line_id
WHERE {counted} AND {denial}
GROUP BY le.practice_id, le.claim_line_id, COALESCE(le.payer_id, ''), le.group_code, le.reason_code,
         cl.date_of_service
""",
    ]


def _practice() -> sa.Column[str]:
    return sa.Column("practice_id", sa.String(32), nullable=False)


def upgrade() -> None:
    """Create the denial tables, fill them from the posted entries, and add the page indexes."""
    op.create_table(
        "ledger_line_denials",
        _practice(),
        sa.Column("claim_line_id", sa.String(32), nullable=False),
        sa.Column("payer_id", sa.String(32), nullable=False),
        sa.Column("date_of_service", sa.Date, nullable=False),
        sa.Column("code", sa.String(5), nullable=False),
        sa.Column("entries", sa.Integer, nullable=False),
        sa.Column("denials", sa.Integer, nullable=False),
        sa.Column("stake_cents", sa.BigInteger, nullable=False),
        sa.Column("paid_cents", sa.BigInteger, nullable=False),
        sa.ForeignKeyConstraint(
            ["practice_id"], ["practices.id"], name=op.f("fk_ledger_line_denials_practice_id_practices")
        ),
        sa.PrimaryKeyConstraint(
            "practice_id", "claim_line_id", "payer_id", name=op.f("pk_ledger_line_denials")
        ),
    )
    op.create_table(
        "ledger_denial_days",
        _practice(),
        sa.Column("date_of_service", sa.Date, nullable=False),
        sa.Column("payer_id", sa.String(32), nullable=False),
        sa.Column("code", sa.String(5), nullable=False),
        sa.Column("lines", sa.Integer, nullable=False),
        sa.Column("denied", sa.Integer, nullable=False),
        sa.Column("stake_cents", sa.BigInteger, nullable=False),
        sa.Column("fixed", sa.Integer, nullable=False),
        sa.ForeignKeyConstraint(
            ["practice_id"], ["practices.id"], name=op.f("fk_ledger_denial_days_practice_id_practices")
        ),
        sa.PrimaryKeyConstraint(
            "practice_id", "date_of_service", "payer_id", "code", name=op.f("pk_ledger_denial_days")
        ),
    )
    op.create_table(
        "ledger_denial_reasons",
        _practice(),
        sa.Column("claim_line_id", sa.String(32), nullable=False),
        sa.Column("payer_id", sa.String(32), nullable=False),
        sa.Column("group_code", sa.String(20), nullable=False),
        sa.Column("reason_code", sa.String(10), nullable=False),
        sa.Column("date_of_service", sa.Date, nullable=False),
        sa.Column("entries", sa.Integer, nullable=False),
        sa.Column("cents", sa.BigInteger, nullable=False),
        sa.ForeignKeyConstraint(
            ["practice_id"], ["practices.id"], name=op.f("fk_ledger_denial_reasons_practice_id_practices")
        ),
        sa.PrimaryKeyConstraint(
            "practice_id",
            "claim_line_id",
            "payer_id",
            "group_code",
            "reason_code",
            name=op.f("pk_ledger_denial_reasons"),
        ),
    )
    for statement in _fill():
        op.execute(statement)
    op.create_index(
        "ix_ledger_denial_reasons_day",
        "ledger_denial_reasons",
        ["practice_id", "date_of_service", "payer_id", "group_code", "reason_code", "claim_line_id", "cents"],
    )
    op.create_index("ix_visits_practice_appointment", "visits", ["practice_id", "appointment_id"])
    op.create_index(
        "ix_claims_practice_status",
        "claims",
        [
            "practice_id",
            "status",
            "updated_at",
            "claim_number",
            "id",
            "date_of_service",
            "patient_id",
            "payer_id",
            "payer_claim_control_number",
        ],
    )
    op.create_index("ix_claims_practice_errors", "claims", ["practice_id", "has_errors"])
    for table in ("ledger_line_denials", "ledger_denial_days", "ledger_denial_reasons"):
        op.execute(f"ANALYZE {table}")


def downgrade() -> None:
    """Drop the denial tables and the page indexes (the ledger itself is untouched)."""
    op.drop_index("ix_claims_practice_errors", table_name="claims")
    op.drop_index("ix_claims_practice_status", table_name="claims")
    op.drop_index("ix_visits_practice_appointment", table_name="visits")
    op.drop_index("ix_ledger_denial_reasons_day", table_name="ledger_denial_reasons")
    for table in ("ledger_denial_reasons", "ledger_denial_days", "ledger_line_denials"):
        op.drop_table(table)
