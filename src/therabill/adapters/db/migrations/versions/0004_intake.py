"""Intake: versioned health history and visit clearances.

Revision ID: 0004_intake
Revises: 0003_auth
Create Date: 2026-11-23

The tables of ``therabill.adapters.db.intake_tables``, written out so that this revision
never changes when the table module changes later.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_intake"
down_revision: str | Sequence[str] | None = "0003_auth"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create ``intake_versions`` and ``visit_clearances``."""
    op.create_table(
        "intake_versions",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("practice_id", sa.String(length=32), nullable=False),
        sa.Column("patient_id", sa.String(length=32), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("content", sa.JSON(), nullable=False),
        sa.Column("signed_by", sa.String(length=80), nullable=True),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_intake_versions_patient_id_patients")
        ),
        sa.ForeignKeyConstraint(
            ["practice_id"], ["practices.id"], name=op.f("fk_intake_versions_practice_id_practices")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_intake_versions")),
        sa.UniqueConstraint("patient_id", "version", name="uq_intake_versions_patient_version"),
    )
    op.create_index(op.f("ix_intake_versions_patient_id"), "intake_versions", ["patient_id"], unique=False)
    op.create_index(op.f("ix_intake_versions_practice_id"), "intake_versions", ["practice_id"], unique=False)
    op.create_table(
        "visit_clearances",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("practice_id", sa.String(length=32), nullable=False),
        sa.Column("visit_id", sa.String(length=32), nullable=False),
        sa.Column("rule_id", sa.String(length=60), nullable=False),
        sa.Column("intake_version", sa.Integer(), nullable=True),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("cleared_by", sa.String(length=80), nullable=False),
        sa.Column("cleared_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["practice_id"], ["practices.id"], name=op.f("fk_visit_clearances_practice_id_practices")
        ),
        sa.ForeignKeyConstraint(
            ["visit_id"], ["visits.id"], name=op.f("fk_visit_clearances_visit_id_visits")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_visit_clearances")),
        sa.UniqueConstraint("visit_id", "rule_id", name="uq_visit_clearances_visit_rule"),
    )
    op.create_index(
        op.f("ix_visit_clearances_practice_id"), "visit_clearances", ["practice_id"], unique=False
    )
    op.create_index(op.f("ix_visit_clearances_visit_id"), "visit_clearances", ["visit_id"], unique=False)


def downgrade() -> None:
    """Drop the intake tables."""
    op.drop_index(op.f("ix_visit_clearances_visit_id"), table_name="visit_clearances")
    op.drop_index(op.f("ix_visit_clearances_practice_id"), table_name="visit_clearances")
    op.drop_table("visit_clearances")
    op.drop_index(op.f("ix_intake_versions_practice_id"), table_name="intake_versions")
    op.drop_index(op.f("ix_intake_versions_patient_id"), table_name="intake_versions")
    op.drop_table("intake_versions")
