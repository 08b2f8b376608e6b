"""Calendar and client messaging (issue 17): reserved for the calendar work; no change yet.

Revision ID: 0021_client_messages
Revises: 0019_ledger_balances
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0021_client_messages"
down_revision: str | Sequence[str] | None = "0019_ledger_balances"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
