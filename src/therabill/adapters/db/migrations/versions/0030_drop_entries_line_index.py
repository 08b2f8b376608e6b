"""Drop ``ix_ledger_entries_report_line``, which no report or page reads any more (issue "scale").

Revision ID: 0030_drop_entries_line_index
Revises: 0029_followup_index
Create Date: 2026-12-07

Revision 0007 made the index for the revenue report's figures per claim line, read from the
entries. The report now reads the kept line payments (``ledger_line_payments``); the lines
paid both inside and outside a range are summed from their entries through
``ix_ledger_entries_claim_line_id``, which the planner chose over this one. Over every report
and page of the scale benchmark (50 practices, 125,100 visits) the index was not scanned once;
it took 188 MB beside a 286 MB table, every ledger entry inserted wrote it, and ``db check``
and ``db rebuild-totals`` took as long or less without it. Its columns are written out here so
that this revision never changes when the report index module changes later.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0030_drop_entries_line_index"
down_revision: str | Sequence[str] | None = "0029_followup_index"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = (
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
)


def upgrade() -> None:
    """Drop the index."""
    op.drop_index("ix_ledger_entries_report_line", table_name="ledger_entries")


def downgrade() -> None:
    """Create the index again, as revision 0007 made it."""
    op.create_index("ix_ledger_entries_report_line", "ledger_entries", list(COLUMNS), unique=False)
