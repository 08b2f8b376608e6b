"""Covering indexes of the reports.

Revision ID: 0007_report_indexes
Revises: 0006_practice_ledger
Create Date: 2026-11-23

The indexes of ``therabill.adapters.db.report_indexes``, written out so that this revision
never changes when that module changes later. Each one holds every column of a report query,
so the query reads the index alone. The planner statistics are refreshed afterwards
(``ANALYZE``): without them SQLite prefers the primary-key index to the covering ones.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0007_report_indexes"
down_revision: str | Sequence[str] | None = "0006_practice_ledger"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES: tuple[tuple[str, str, tuple[str, ...], bool], ...] = (
    (
        "ix_ledger_entries_report_class",
        "ledger_entries",
        (
            "practice_id",
            "kind",
            "bucket",
            "detail",
            "group_code",
            "reason_code",
            "posted_at",
            "amount_cents",
            "payer_id",
            "claim_id",
            "claim_line_id",
            "reverses_entry_id",
        ),
        False,
    ),
    (
        "ix_ledger_entries_report_line",
        "ledger_entries",
        (
            "practice_id",
            "claim_line_id",
            "claim_id",
            "payer_id",
            "kind",
            "bucket",
            "detail",
            "group_code",
            "reason_code",
            "posted_at",
            "amount_cents",
        ),
        False,
    ),
    (
        "ix_ledger_entries_report_bucket",
        "ledger_entries",
        (
            "practice_id",
            "bucket",
            "claim_id",
            "payer_id",
            "patient_id",
            "item_id",
            "posted_at",
            "kind",
            "amount_cents",
        ),
        False,
    ),
    (
        "ix_claim_lines_report_id",
        "claim_lines",
        ("id", "claim_id", "code", "place_of_service", "units", "date_of_service"),
        True,
    ),
    ("ix_claim_lines_report_claim", "claim_lines", ("practice_id", "claim_id", "units"), False),
    ("ix_claims_report_id", "claims", ("id", "payer_id", "visit_id", "status", "created_at"), True),
    (
        "ix_claims_report_date",
        "claims",
        ("practice_id", "date_of_service", "status", "payer_id", "id"),
        False,
    ),
    ("ix_visits_report_id", "visits", ("id", "provider_id"), True),
    ("ix_visits_report_date", "visits", ("practice_id", "date_of_service", "id"), False),
    (
        "ix_claim_status_events_report",
        "claim_status_events",
        ("practice_id", "status", "claim_id", "at"),
        False,
    ),
    ("ix_objective_measures_report", "objective_measures", ("practice_id", "measured_on"), False),
)
TABLES = tuple(dict.fromkeys(table for _n, table, _c, _u in INDEXES))


def upgrade() -> None:
    """Create the report indexes, then refresh the planner statistics of their tables."""
    for name, table, columns, unique in INDEXES:
        op.create_index(name, table, list(columns), unique=unique)
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ANALYZE")
    else:
        for table in TABLES:
            op.execute(f"ANALYZE {table}")


def downgrade() -> None:
    """Drop the report indexes."""
    for name, table, _columns, _unique in reversed(INDEXES):
        op.drop_index(name, table_name=table)
