"""Posting at scale on PostgreSQL: the trend totals kept once per statement, five ledger indexes fewer.

Revision ID: 0028_posting_triggers
Revises: 0027_followup_columns
Create Date: 2026-12-06

On PostgreSQL the triggers of ``therabill.adapters.db.trend_totals`` that a posting or a batch
runs for many rows become statement triggers (``FOR EACH STATEMENT`` with transition tables):
the claim and visit day totals of a statement's facts rows are summed per day total and written
once each, in the order of their key, instead of once per row (posting 10,000 claims of one day
and payer rewrote the same day total row 20,000 times in one transaction, each time slower);
the facts of a statement's updated claims, first submissions and first payments are set by one
statement each. SQLite keeps its row triggers (created again here as they were). The statements
are frozen beside this revision (``0028_posting_triggers.json``); the ones replaced are those
frozen beside ``0026_trend_totals``.

``ledger_entries`` loses the indexes no query reads (``journal_id``, ``instrument_id``,
``remittance_id``, ``remittance_claim_id``) and the one the report indexes cover
(``practice_id``, the leading column of all three): each entry posted writes five index entries
fewer. Its foreign keys all stay.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from alembic import op

revision: str = "0028_posting_triggers"
down_revision: str | Sequence[str] | None = "0027_followup_columns"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_HERE = Path(__file__)
_SQL: dict[str, dict[str, list[str]]] = json.loads(_HERE.with_suffix(".json").read_text())
"""The trigger and drop statements per dialect, as ``trend_totals`` wrote them for this revision."""

_BEFORE: dict[str, dict[str, list[str]]] = json.loads(_HERE.with_name("0026_trend_totals.json").read_text())
"""The triggers this revision replaces (and its downgrade makes again)."""

DROPPED = {
    "ix_ledger_entries_practice_id": "practice_id",
    "ix_ledger_entries_journal_id": "journal_id",
    "ix_ledger_entries_instrument_id": "instrument_id",
    "ix_ledger_entries_remittance_id": "remittance_id",
    "ix_ledger_entries_remittance_claim_id": "remittance_claim_id",
}


def upgrade() -> None:
    """Replace the trend triggers, drop the five indexes."""
    dialect = op.get_bind().dialect.name
    for statement in [*_BEFORE[dialect]["drop"], *_SQL[dialect]["create"]]:
        op.execute(statement)
    for name in DROPPED:
        op.drop_index(name, table_name="ledger_entries")


def downgrade() -> None:
    """The indexes and triggers as revision 0027 had them."""
    dialect = op.get_bind().dialect.name
    for name, column in DROPPED.items():
        op.create_index(name, "ledger_entries", [column])
    for statement in [*_SQL[dialect]["drop"], *_BEFORE[dialect]["create"]]:
        op.execute(statement)
