"""A practice's owner sets the lifetime of its API tokens.

Revision ID: 0011_token_policy
Revises: 0010_schedule
Create Date: 2026-12-06

``practices.token_default_days`` and ``practices.token_max_days``: the lifetime of a token
created without one, and the longest a token may be given. Empty means the installation's
settings, which also cap what an owner may choose.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_token_policy"
down_revision: str | Sequence[str] | None = "0010_schedule"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("practices") as batch:
        batch.add_column(sa.Column("token_default_days", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("token_max_days", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("practices") as batch:
        batch.drop_column("token_max_days")
        batch.drop_column("token_default_days")
