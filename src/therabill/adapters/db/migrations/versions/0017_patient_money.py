"""Patient money: issued documents, the therapist of a tip, commission rates.

Revision ID: 0017_patient_money
Revises: 0016_front_desk
Create Date: 2026-12-06

``issued_documents`` keeps every statement and receipt as it was printed or emailed (the PDF
bytes, their SHA-256, the amount, the batch it belongs to): a document is a snapshot, never
rebuilt. ``ledger_entries.provider_id`` names the therapist a tip is for (added with a plain
``ADD COLUMN`` so the append-only triggers stay). ``commission_rates`` holds each
therapist's commission in basis points, per service code or as the therapist's default.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017_patient_money"
down_revision: str | Sequence[str] | None = "0016_front_desk"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "issued_documents",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("practice_id", sa.String(32), sa.ForeignKey("practices.id"), nullable=False, index=True),
        sa.Column("patient_id", sa.String(32), sa.ForeignKey("patients.id"), nullable=False, index=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("number", sa.String(40), nullable=False),
        sa.Column("document_date", sa.Date(), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("batch_id", sa.String(32), index=True),
        sa.Column("pdf", sa.LargeBinary(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("pages", sa.Integer(), nullable=False),
        sa.Column("emailed_to", sa.String(120)),
        sa.Column("emailed_at", sa.DateTime(timezone=True)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.CheckConstraint("kind IN ('statement', 'receipt')", name=op.f("ck_issued_documents_kind")),
    )
    op.create_table(
        "commission_rates",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("practice_id", sa.String(32), sa.ForeignKey("practices.id"), nullable=False, index=True),
        sa.Column("provider_id", sa.String(32), sa.ForeignKey("providers.id"), nullable=False, index=True),
        sa.Column("code", sa.String(5), nullable=False, server_default="*"),
        sa.Column("basis_points", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("practice_id", "provider_id", "code", name="uq_commission_rates_provider_code"),
        sa.CheckConstraint("basis_points BETWEEN 0 AND 10000", name=op.f("ck_commission_rates_range")),
    )
    op.add_column("ledger_entries", sa.Column("provider_id", sa.String(32), nullable=True))


def downgrade() -> None:
    op.drop_column("ledger_entries", "provider_id")
    op.drop_table("commission_rates")
    op.drop_table("issued_documents")
