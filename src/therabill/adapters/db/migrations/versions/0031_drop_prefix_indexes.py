"""Drop the single-column indexes whose column leads another index of the same table (issue "scale").

Revision ID: 0031_drop_prefix_indexes
Revises: 0030_drop_entries_line_index
Create Date: 2026-12-07

Each index dropped here, ``ix_<table>_<column>``, is on one column that is also the first
column of another full index or unique constraint of its table (``ix_claims_practice_id``
beside ``uq_claims_practice_claim_number`` on ``(practice_id, claim_number)``, say). A B-tree
index serves every lookup on its leading column, so the other index finds the same rows and
no query loses its index; each row written no longer writes the one-column copy. On the
posting path that is one index fewer on ``claims`` (rewritten on every status move), two on
``claim_status_events`` and ``remittance_claims`` and one on ``remittance_lines``,
``remittances`` and ``audit_log``. The list is written out here, and a test checks that every
index it names still has a wider one beside it, so that this revision never changes when the
table modules change later.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0031_drop_prefix_indexes"
down_revision: str | Sequence[str] | None = "0030_drop_entries_line_index"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DROPPED = (
    ("appointments", "practice_id"),
    ("appointments", "provider_id"),
    ("audit_log", "practice_id"),
    ("claim_batches", "practice_id"),
    ("claim_followups", "practice_id"),
    ("claim_lines", "claim_id"),
    ("claim_lines", "practice_id"),
    ("claim_status_events", "claim_id"),
    ("claim_status_events", "practice_id"),
    ("claims", "practice_id"),
    ("commission_rates", "practice_id"),
    ("idempotency_keys", "practice_id"),
    ("inbound_files", "practice_id"),
    ("intake_versions", "patient_id"),
    ("objective_measures", "practice_id"),
    ("patients", "practice_id"),
    ("practice_ledger_entries", "practice_id"),
    ("prepaid_instruments", "practice_id"),
    ("reminder_sends", "appointment_id"),
    ("remittance_claims", "practice_id"),
    ("remittance_claims", "remittance_id"),
    ("remittance_lines", "remittance_claim_id"),
    ("remittances", "practice_id"),
    ("rooms", "practice_id"),
    ("services", "practice_id"),
    ("statement_email_runs", "practice_id"),
    ("statement_email_sends", "run_id"),
    ("submissions", "practice_id"),
    ("visit_clearances", "visit_id"),
    ("visit_notes", "visit_id"),
    ("visits", "patient_id"),
    ("visits", "practice_id"),
)
"""(table, column) of each index dropped; its name is ``ix_<table>_<column>``."""


def upgrade() -> None:
    """Drop the indexes."""
    for table, column in DROPPED:
        op.drop_index(f"ix_{table}_{column}", table_name=table)


def downgrade() -> None:
    """Create them again, as the earlier revisions made them."""
    for table, column in DROPPED:
        op.create_index(f"ix_{table}_{column}", table, [column], unique=False)
