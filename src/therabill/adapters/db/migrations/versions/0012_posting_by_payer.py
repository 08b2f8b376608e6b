"""Posting by payer and secondary claims: a claim's prior adjudications, RARCs per line.

Revision ID: 0012_posting_by_payer
Revises: 0011_token_policy
Create Date: 2026-12-06

``claims.cob``: on a secondary or tertiary claim, how the earlier payers adjudicated it (the
2320/2430 loops of its 837P), stored when the claim is made from their remittances;
``claims.primary_claim_id``: the claim whose lines carry its money (the charges are posted
once, on the primary claim). ``remittance_claims.payer_id`` and ``.remarks``: the payer the
money was posted for, and the claim's remark codes.
``remittance_lines``: each service line of a posted claim payment with its adjustments and
remark codes (RARC). ``posting_worklist.action``: what the biller is to do (``refund``).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_posting_by_payer"
down_revision: str | Sequence[str] | None = "0011_token_policy"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("claims") as batch:
        batch.add_column(sa.Column("cob", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("primary_claim_id", sa.String(32), nullable=True))
        batch.create_foreign_key("fk_claims_primary_claim_id_claims", "claims", ["primary_claim_id"], ["id"])
        batch.create_index("ix_claims_primary_claim_id", ["primary_claim_id"])
    with op.batch_alter_table("remittance_claims") as batch:
        batch.add_column(sa.Column("payer_id", sa.String(32), nullable=True))
        batch.add_column(sa.Column("remarks", sa.JSON(), nullable=True))
        batch.create_foreign_key("fk_remittance_claims_payer_id_payers", "payers", ["payer_id"], ["id"])
    with op.batch_alter_table("posting_worklist") as batch:
        batch.add_column(sa.Column("action", sa.String(20), nullable=True))
    op.create_table(
        "remittance_lines",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("practice_id", sa.String(32), sa.ForeignKey("practices.id"), nullable=False, index=True),
        sa.Column(
            "remittance_claim_id",
            sa.String(32),
            sa.ForeignKey("remittance_claims.id"),
            nullable=False,
            index=True,
        ),
        sa.Column("ordinal", sa.Integer(), nullable=False),
        sa.Column("claim_line_id", sa.String(32), sa.ForeignKey("claim_lines.id"), index=True),
        sa.Column("line_id", sa.String(50)),
        sa.Column("code", sa.String(10), nullable=False),
        sa.Column("charge_cents", sa.BigInteger(), nullable=False),
        sa.Column("paid_cents", sa.BigInteger(), nullable=False),
        sa.Column("adjustments", sa.JSON(), nullable=False),
        sa.Column("remarks", sa.JSON(), nullable=False),
        sa.UniqueConstraint("remittance_claim_id", "ordinal", name="uq_remittance_lines_claim_ordinal"),
    )


def downgrade() -> None:
    op.drop_table("remittance_lines")
    with op.batch_alter_table("posting_worklist") as batch:
        batch.drop_column("action")
    with op.batch_alter_table("remittance_claims") as batch:
        batch.drop_constraint("fk_remittance_claims_payer_id_payers", type_="foreignkey")
        batch.drop_column("remarks")
        batch.drop_column("payer_id")
    with op.batch_alter_table("claims") as batch:
        batch.drop_index("ix_claims_primary_claim_id")
        batch.drop_constraint("fk_claims_primary_claim_id_claims", type_="foreignkey")
        batch.drop_column("primary_claim_id")
        batch.drop_column("cob")
