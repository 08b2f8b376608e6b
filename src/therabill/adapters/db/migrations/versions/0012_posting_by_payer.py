"""Posting by payer and secondary claims: a claim's prior adjudications, RARCs per line.

Revision ID: 0012_posting_by_payer
Revises: 0020_claim_snapshot
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

MESSAGE = "ledger-append-only: posted rows cannot be changed or deleted; post a reversal"
LINES = "remittance_lines"

revision: str = "0012_posting_by_payer"
down_revision: str | Sequence[str] | None = "0020_claim_snapshot"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("claims") as batch:
        batch.add_column(sa.Column("cob", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("primary_claim_id", sa.String(32), nullable=True))
        batch.create_foreign_key("fk_claims_primary_claim_id_claims", "claims", ["primary_claim_id"], ["id"])
        batch.create_index("ix_claims_primary_claim_id", ["primary_claim_id"])
    # remittance_claims is append-only (its triggers): plain ADD COLUMN, never a table copy.
    op.add_column("remittance_claims", sa.Column("payer_id", sa.String(32), nullable=True))
    op.add_column("remittance_claims", sa.Column("remarks", sa.JSON(), nullable=True))
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
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE OR REPLACE FUNCTION therabill_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"BEGIN RAISE EXCEPTION '{MESSAGE} (% on %)', TG_OP, TG_TABLE_NAME; END $$"
        )
        op.execute(
            f"CREATE TRIGGER {LINES}_append_only BEFORE UPDATE OR DELETE ON {LINES} "
            "FOR EACH ROW EXECUTE FUNCTION therabill_refuse_change()"
        )
        op.execute(
            f"CREATE TRIGGER {LINES}_no_truncate BEFORE TRUNCATE ON {LINES} "
            "FOR EACH STATEMENT EXECUTE FUNCTION therabill_refuse_change()"
        )
    else:
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {LINES}_no_{action.lower()} BEFORE {action} ON {LINES} "
                f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP TRIGGER IF EXISTS {LINES}_append_only ON {LINES}")
        op.execute(f"DROP TRIGGER IF EXISTS {LINES}_no_truncate ON {LINES}")
    else:
        for action in ("update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {LINES}_no_{action}")
    op.drop_table(LINES)
    with op.batch_alter_table("posting_worklist") as batch:
        batch.drop_column("action")
    op.drop_column("remittance_claims", "remarks")
    op.drop_column("remittance_claims", "payer_id")
    with op.batch_alter_table("claims") as batch:
        batch.drop_index("ix_claims_primary_claim_id")
        batch.drop_constraint("fk_claims_primary_claim_id_claims", type_="foreignkey")
        batch.drop_column("primary_claim_id")
        batch.drop_column("cob")
