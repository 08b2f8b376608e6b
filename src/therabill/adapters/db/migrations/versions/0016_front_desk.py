"""The front desk: assignment and signature settings, referrals and prescriptions on file.

Revision ID: 0016_front_desk
Revises: 0015_online_booking
Create Date: 2026-12-06

``practices.accept_assignment`` (CLM07, CMS-1500 box 27) and ``providers.signature_on_file``
(CLM06, box 31 "Signature on File"), both true unless the owner says otherwise; before this
only the demo's visit documents set them, so a web-documented visit's claim went out as "not
assigned, no signature". ``referrals``: a patient's referral or prescription (order) with its
number, prescriber, dates and an attached document stored in the data folder.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016_front_desk"
down_revision: str | Sequence[str] | None = "0015_online_booking"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("practices") as batch:
        batch.add_column(sa.Column("accept_assignment", sa.Boolean(), nullable=False, server_default="1"))
    with op.batch_alter_table("providers") as batch:
        batch.add_column(sa.Column("signature_on_file", sa.Boolean(), nullable=False, server_default="1"))
    op.create_table(
        "referrals",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("practice_id", sa.String(32), sa.ForeignKey("practices.id"), nullable=False, index=True),
        sa.Column("patient_id", sa.String(32), sa.ForeignKey("patients.id"), nullable=False, index=True),
        sa.Column("coverage_id", sa.String(32), sa.ForeignKey("coverages.id"), nullable=True),
        sa.Column("kind", sa.String(12), nullable=False),
        sa.Column("number", sa.String(50), nullable=True),
        sa.Column("prescriber_name", sa.String(120), nullable=True),
        sa.Column("prescriber_npi", sa.String(10), nullable=True),
        sa.Column("issued_on", sa.Date(), nullable=True),
        sa.Column("expires_on", sa.Date(), nullable=True),
        sa.Column("visits_allowed", sa.Integer(), nullable=True),
        sa.Column("file_name", sa.String(120), nullable=True),
        sa.Column("content_type", sa.String(40), nullable=True),
        sa.Column("file_bytes", sa.Integer(), nullable=True),
        sa.Column("file_sha256", sa.String(64), nullable=True),
        sa.Column("stored_as", sa.String(200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("referrals")
    with op.batch_alter_table("providers") as batch:
        batch.drop_column("signature_on_file")
    with op.batch_alter_table("practices") as batch:
        batch.drop_column("accept_assignment")
