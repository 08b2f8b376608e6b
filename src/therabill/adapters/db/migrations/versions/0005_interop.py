"""Interoperability: clearinghouse submissions and received files.

Revision ID: 0005_interop
Revises: 0004_intake
Create Date: 2026-11-23

The tables of ``therabill.adapters.db.interop_tables``, written out so that this revision
never changes when the table module changes later.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_interop"
down_revision: str | Sequence[str] | None = "0004_intake"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create ``submissions`` and ``inbound_files``."""
    op.create_table(
        "submissions",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("practice_id", sa.String(length=32), nullable=False),
        sa.Column("batch_id", sa.String(length=32), nullable=False),
        sa.Column("connector", sa.String(length=60), nullable=False),
        sa.Column("remote_name", sa.String(length=200), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("interchange_control_number", sa.Integer(), nullable=False),
        sa.Column("group_control_number", sa.Integer(), nullable=False),
        sa.Column("transaction_control_numbers", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("status IN ('sending', 'sent')", name=op.f("ck_submissions_status")),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["claim_batches.id"], name=op.f("fk_submissions_batch_id_claim_batches")
        ),
        sa.ForeignKeyConstraint(
            ["practice_id"], ["practices.id"], name=op.f("fk_submissions_practice_id_practices")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_submissions")),
        sa.UniqueConstraint("batch_id", name="uq_submissions_batch_id"),
        sa.UniqueConstraint(
            "practice_id", "connector", "remote_name", name="uq_submissions_practice_connector_name"
        ),
    )
    op.create_index(op.f("ix_submissions_practice_id"), "submissions", ["practice_id"], unique=False)
    op.create_table(
        "inbound_files",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("practice_id", sa.String(length=32), nullable=False),
        sa.Column("connector", sa.String(length=60), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("stored_path", sa.String(length=500), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["practice_id"], ["practices.id"], name=op.f("fk_inbound_files_practice_id_practices")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbound_files")),
        sa.UniqueConstraint("practice_id", "sha256", name="uq_inbound_files_practice_sha256"),
    )
    op.create_index(op.f("ix_inbound_files_practice_id"), "inbound_files", ["practice_id"], unique=False)


def downgrade() -> None:
    """Drop the two tables."""
    op.drop_index(op.f("ix_inbound_files_practice_id"), table_name="inbound_files")
    op.drop_table("inbound_files")
    op.drop_index(op.f("ix_submissions_practice_id"), table_name="submissions")
    op.drop_table("submissions")
