"""The visits to bill through a partial index (issue 22): ``visits.awaiting_claim``.

Revision ID: 0024_visits_to_bill
Revises: 0023_practice_pages
Create Date: 2026-12-06

A visit awaits a claim when its document has a service with minutes or units above zero and no
claim of it exists (``therabill.adapters.db.visits_to_bill``). The column is added false and set
true, from the documents and claims already stored, on the visits that await one (the rule is
written out here in SQL, as it stands today, so that this revision never changes). The partial
index ``ix_visits_to_bill`` (practice, date of service, id) holds the documented visits awaiting
a claim: the dashboard counts them and the claims page lists the oldest from it alone.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0024_visits_to_bill"
down_revision: str | Sequence[str] | None = "0023_practice_pages"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None
vacuum_after = ("visits",)
"""Vacuumed after the upgrade on PostgreSQL (``migrations.upgrade``): the fill rewrote the
visits awaiting a claim, and counting them reads the index alone only once they are visible."""

_POSTGRESQL_TREATED = """EXISTS (SELECT 1 FROM json_array_elements(CASE WHEN json_typeof(
    visits.encounter_json -> 'services') = 'array' THEN visits.encounter_json -> 'services' END) AS s(e)
  WHERE json_typeof(s.e) = 'object' AND (
    (CASE WHEN json_typeof(s.e -> 'minutes') = 'number' THEN (s.e ->> 'minutes')::numeric ELSE 0 END) > 0
    OR (CASE WHEN json_typeof(s.e -> 'units') = 'number' THEN (s.e ->> 'units')::numeric ELSE 0 END) > 0))"""
_SQLITE_TREATED = """EXISTS (SELECT 1 FROM json_each(visits.encounter_json, '$.services') AS s
  WHERE json_type(visits.encounter_json, '$.services') = 'array' AND s.type = 'object' AND (
    (CASE WHEN json_type(s.value, '$.minutes') IN ('integer', 'real')
          THEN json_extract(s.value, '$.minutes') ELSE 0 END) > 0
    OR (CASE WHEN json_type(s.value, '$.units') IN ('integer', 'real')
          THEN json_extract(s.value, '$.units') ELSE 0 END) > 0))"""
_WHERE = {
    "postgresql": "awaiting_claim = true AND status != 'open'",
    "sqlite": "awaiting_claim = 1 AND status != 'open'",
}


def upgrade() -> None:
    """Add the flag, set it on the visits that await a claim, and index the documented ones."""
    dialect = op.get_bind().dialect.name
    # A plain ADD / DROP COLUMN on both engines (SQLite has both): the table is not copied.
    op.add_column("visits", sa.Column("awaiting_claim", sa.Boolean(), server_default="0", nullable=False))
    treated = _POSTGRESQL_TREATED if dialect == "postgresql" else _SQLITE_TREATED
    op.execute(
        "UPDATE visits SET awaiting_claim = true WHERE NOT EXISTS (SELECT 1 FROM claims"
        " WHERE claims.practice_id = visits.practice_id AND claims.visit_id = visits.id)"
        f" AND {treated}"
    )
    op.create_index(
        "ix_visits_to_bill",
        "visits",
        ["practice_id", "date_of_service", "id", "status", "awaiting_claim"],
        postgresql_where=sa.text(_WHERE["postgresql"]),
        sqlite_where=sa.text(_WHERE["sqlite"]),
    )


def downgrade() -> None:
    """Drop the index and the flag (the visits and claims themselves are untouched)."""
    op.drop_index("ix_visits_to_bill", table_name="visits")
    op.drop_column("visits", "awaiting_claim")
