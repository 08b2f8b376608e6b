"""Remittance work (issue 20): reserved for the remittance worklist and reconciliation; no change yet.

Revision ID: 0022_remittance_work
Revises: 0021_client_messages
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0022_remittance_work"
down_revision: str | Sequence[str] | None = "0021_client_messages"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
