"""The follow-up worklist of claims (owner, state, next action, notes).

Revision ID: 0013_claim_followup
Revises: 0012_posting_by_payer
Create Date: 2026-12-06

The tables of ``therabill.adapters.db.followup_tables``, written out so that this revision
stays what it is when the module changes.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013_claim_followup"
down_revision: str | Sequence[str] | None = "0012_posting_by_payer"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "claim_followups",
        sa.Column("id", sa.String(length=32), primary_key=True),
        sa.Column("practice_id", sa.String(length=32), sa.ForeignKey("practices.id"), nullable=False),
        sa.Column("claim_id", sa.String(length=32), sa.ForeignKey("claims.id"), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("owner", sa.String(length=80), nullable=True),
        sa.Column("next_action_on", sa.Date(), nullable=True),
        sa.Column("remark_codes", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("practice_id", "claim_id", name="uq_claim_followups_practice_claim"),
    )
    op.create_index("ix_claim_followups_practice_id", "claim_followups", ["practice_id"])
    op.create_index("ix_claim_followups_claim_id", "claim_followups", ["claim_id"])
    op.create_table(
        "claim_followup_notes",
        sa.Column("id", sa.String(length=32), primary_key=True),
        sa.Column("practice_id", sa.String(length=32), sa.ForeignKey("practices.id"), nullable=False),
        sa.Column("claim_id", sa.String(length=32), sa.ForeignKey("claims.id"), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=80), nullable=False),
        sa.Column("action", sa.String(length=24), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
    )
    op.create_index("ix_claim_followup_notes_practice_id", "claim_followup_notes", ["practice_id"])
    op.create_index("ix_claim_followup_notes_claim_id", "claim_followup_notes", ["claim_id"])
    # the notes are history: append-only like visit notes and claim status events (0001)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE TRIGGER claim_followup_notes_append_only BEFORE UPDATE OR DELETE ON claim_followup_notes "
            "FOR EACH ROW EXECUTE FUNCTION therabill_records_append_only()"
        )
    else:
        for event in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER claim_followup_notes_no_{event.lower()} BEFORE {event} ON claim_followup_notes "
                "BEGIN SELECT RAISE(ABORT, 'claim_followup_notes is append-only'); END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS claim_followup_notes_append_only ON claim_followup_notes")
    else:
        for event in ("update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS claim_followup_notes_no_{event}")
    op.drop_table("claim_followup_notes")
    op.drop_table("claim_followups")
