"""The claims that can be on the follow-up worklist, by practice and date of service (issue "scale").

Revision ID: 0029_followup_index
Revises: 0027_followup_columns
Create Date: 2026-12-07

``ix_claims_followup`` (``therabill.adapters.db.followup_tables``, written out here so that this
revision never changes when the module changes later): a partial index of the claims denied,
rejected or awaiting payment that are not a void, by practice, date of service, claim number and
id, with the status and the other columns a row shows. The worklist's page reads its oldest rows
in that order from this index alone and stops at the page's last row; the count of all reads it
too. At 1M visits these are about one claim
in twenty, and the oldest of a practice's claims by date of service are nearly all paid: read by
date of service from the other indexes, the page went through the paid ones first.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0029_followup_index"
down_revision: str | Sequence[str] | None = "0028_posting_triggers"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATUSES = (
    "appealed",
    "batch_accepted",
    "batch_rejected",
    "clearinghouse_accepted",
    "clearinghouse_rejected",
    "denied",
    "payer_accepted",
    "payer_rejected",
    "pending",
    "submitted",
)
COLUMNS = (
    "practice_id",
    "date_of_service",
    "claim_number",
    "id",
    "status",
    "patient_id",
    "payer_id",
    "total_charge_cents",
    "payer_claim_control_number",
)
WAITING = "status IN ({}) AND frequency <> '8'".format(", ".join(f"'{s}'" for s in STATUSES))


def upgrade() -> None:
    """Create the partial index of the claims that can be followed up."""
    op.create_index(
        "ix_claims_followup",
        "claims",
        list(COLUMNS),
        postgresql_where=sa.text(WAITING),
        sqlite_where=sa.text(WAITING),
    )


def downgrade() -> None:
    """Drop it."""
    op.drop_index("ix_claims_followup", table_name="claims")
