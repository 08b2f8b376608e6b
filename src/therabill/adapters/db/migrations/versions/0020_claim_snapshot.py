"""A coded claim keeps the encounter document it was coded from.

Revision ID: 0020_claim_snapshot
Revises: 0011_token_policy
Create Date: 2026-12-06

``claims.coded_document``: the whole encounter document (practice, providers, patient,
coverages as they were when the claim was coded). The 837P, the CMS-1500 and a re-send show
what was coded, not today's records. Empty for claims coded before this revision: those are
rebuilt from the records as before.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020_claim_snapshot"
down_revision: str | Sequence[str] | None = "0011_token_policy"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("claims") as batch:
        batch.add_column(sa.Column("coded_document", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("claims") as batch:
        batch.drop_column("coded_document")
