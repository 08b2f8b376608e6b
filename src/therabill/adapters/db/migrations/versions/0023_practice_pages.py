"""Practice-sized pages (issue 22): reserved for report summaries and indexes; no change yet.

Revision ID: 0023_practice_pages
Revises: 0022_remittance_work
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0023_practice_pages"
down_revision: str | Sequence[str] | None = "0022_remittance_work"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
