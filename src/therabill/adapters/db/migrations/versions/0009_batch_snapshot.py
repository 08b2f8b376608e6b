"""A batch keeps the 837P it was built as.

Revision ID: 0009_batch_snapshot
Revises: 0008_ledger_month_totals
Create Date: 2026-12-06

``claim_batches.x12_text``: the interchange rendered when the batch was built, so that every
download and re-send of the batch (web, API, CLI, clearinghouse) is byte for byte what was
built, whatever changes in the records later. Batches built before this revision have none
and are rendered from the records once, when first asked for, and kept from then on.

Claims batched on the web or through the API before this revision carry no group and
transaction control numbers, so a 999 never found them: they get GS06 = ISA13 and ST02
``0001``, as every batch is written.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_batch_snapshot"
down_revision: str | Sequence[str] | None = "0008_ledger_month_totals"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("claim_batches") as batch:
        batch.add_column(sa.Column("x12_text", sa.Text(), nullable=True))
    op.execute(
        "UPDATE claims SET group_control_number = interchange_control_number "
        "WHERE batch_id IS NOT NULL AND group_control_number IS NULL AND interchange_control_number IS NOT NULL"
    )
    op.execute(
        "UPDATE claims SET transaction_control_number = '0001' "
        "WHERE batch_id IS NOT NULL AND transaction_control_number IS NULL"
    )


def downgrade() -> None:
    with op.batch_alter_table("claim_batches") as batch:
        batch.drop_column("x12_text")
