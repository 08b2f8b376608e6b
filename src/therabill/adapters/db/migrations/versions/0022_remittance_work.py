"""Remittance work: what each 835 claim said, assigning unmatched claims, bank deposits.

Revision ID: 0022_remittance_work
Revises: 0021_client_messages
Create Date: 2026-12-06

- ``remittance_claim_payments``: the claim payment as the payer sent it (one per remittance
  claim, JSON): the claim page's per-line adjudication, and the source a biller's assignment
  of an unmatched claim posts from. Claims received before this revision have none.
- ``remittance_assignments``: an unmatched 835 claim assigned to one of our claims.
- ``bank_deposits``: the bank deposit (amount, date) a received payment was reconciled with.
- ``posting_worklist.resolution`` / ``resolution_note``: how an item was closed and why.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022_remittance_work"
down_revision: str | Sequence[str] | None = "0021_client_messages"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _practice() -> sa.Column[str]:
    return sa.Column("practice_id", sa.String(32), sa.ForeignKey("practices.id"), nullable=False, index=True)


def upgrade() -> None:
    op.create_table(
        "remittance_claim_payments",
        sa.Column(
            "remittance_claim_id", sa.String(32), sa.ForeignKey("remittance_claims.id"), primary_key=True
        ),
        _practice(),
        sa.Column("payment", sa.JSON(), nullable=False),
    )
    op.create_table(
        "remittance_assignments",
        sa.Column("id", sa.String(32), primary_key=True),
        _practice(),
        sa.Column("worklist_id", sa.String(32), sa.ForeignKey("posting_worklist.id"), nullable=False),
        sa.Column(
            "remittance_claim_id", sa.String(32), sa.ForeignKey("remittance_claims.id"), nullable=False
        ),
        sa.Column("claim_id", sa.String(32), sa.ForeignKey("claims.id"), nullable=False, index=True),
        sa.Column(
            "posted_remittance_claim_id", sa.String(32), sa.ForeignKey("remittance_claims.id"), nullable=False
        ),
        sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("assigned_by", sa.String(100), nullable=False),
        sa.UniqueConstraint("worklist_id", name="uq_remittance_assignments_worklist"),
    )
    op.create_table(
        "bank_deposits",
        sa.Column("id", sa.String(32), primary_key=True),
        _practice(),
        sa.Column("remittance_id", sa.String(32), sa.ForeignKey("remittances.id"), nullable=False),
        sa.Column("deposit_cents", sa.BigInteger(), nullable=False),
        sa.Column("deposit_date", sa.Date(), nullable=False),
        sa.Column("note", sa.String(200), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.String(100), nullable=False),
        sa.UniqueConstraint("remittance_id", name="uq_bank_deposits_remittance"),
    )
    # plain ADD COLUMN (no table copy), so nothing else of the table changes
    op.add_column("posting_worklist", sa.Column("resolution", sa.String(20), nullable=True))
    op.add_column("posting_worklist", sa.Column("resolution_note", sa.String(200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("posting_worklist") as batch:
        batch.drop_column("resolution_note")
        batch.drop_column("resolution")
    op.drop_table("bank_deposits")
    op.drop_table("remittance_assignments")
    op.drop_table("remittance_claim_payments")
