"""The trends and what-if reports' derived tables, kept by database triggers.

Revision ID: 0026_trend_totals
Revises: 0025_aging_revenue_scale
Create Date: 2026-12-06

The tables of ``therabill.adapters.db.trend_tables``, written out so that this revision never
changes when the table module changes later: per claim its date of service, payer, status,
units, first submission and first insurance payment (``claim_trend_facts``) and those summed
per practice, day, payer and status (``claim_day_totals``); per visit its date of service,
payer and services text (``visit_trend_facts``) and those counted per practice, day, payer and
services text (``visit_day_totals``). Their first content comes from the records already
there; then the triggers of ``therabill.adapters.db.trend_totals`` (created here, after the
fill, from the statements frozen in ``0026_trend_totals.json``) keep them in every later writing transaction. On 1,000,000 visits the trends report
reads about 7,000 day rows instead of every claim with its lines, events and payments, and the
what-if report about 30,000 instead of every visit. For the outcomes report, the pain, range of
motion and strength measures per patient, measure and day (``measure_days``) and
per patient and day the visits measured and the measures whose text is not plainly a number
(``measure_visit_days``), kept by a trigger on ``objective_measures``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import sqlalchemy as sa
from alembic import op

revision: str = "0026_trend_totals"
down_revision: str | Sequence[str] | None = "0025_aging_revenue_scale"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = (
    "claim_trend_facts",
    "claim_day_totals",
    "visit_trend_facts",
    "visit_day_totals",
    "measure_days",
    "measure_visit_days",
)


_SQL: dict[str, dict[str, list[str]]] = json.loads(Path(__file__).with_suffix(".json").read_text())
"""The fill, trigger and drop statements per dialect, as ``trend_totals`` and ``outcome_totals``
wrote them when this revision was made (frozen beside it: a later change to those modules
needs a revision of its own that replaces the triggers)."""


def _practice(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["practice_id"], ["practices.id"], name=op.f(f"fk_{table}_practice_id_practices")
    )


def upgrade() -> None:
    """Create the four tables, fill them from the records, then create the triggers."""
    op.create_table(
        "claim_trend_facts",
        sa.Column("claim_id", sa.String(32), nullable=False),
        sa.Column("practice_id", sa.String(32), nullable=False),
        sa.Column("date_of_service", sa.Date, nullable=False),
        sa.Column("payer_id", sa.String(32), nullable=False),
        sa.Column("status", sa.String(24), nullable=False),
        sa.Column("units", sa.Integer, nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=True),
        _practice("claim_trend_facts"),
        sa.PrimaryKeyConstraint("claim_id", name=op.f("pk_claim_trend_facts")),
    )
    op.create_table(
        "claim_day_totals",
        sa.Column("practice_id", sa.String(32), nullable=False),
        sa.Column("date_of_service", sa.Date, nullable=False),
        sa.Column("payer_id", sa.String(32), nullable=False),
        sa.Column("status", sa.String(24), nullable=False),
        sa.Column("claims", sa.Integer, nullable=False),
        sa.Column("units", sa.BigInteger, nullable=False),
        sa.Column("claim_days", sa.BigInteger, nullable=False),
        sa.Column("claimed", sa.Integer, nullable=False),
        sa.Column("payment_days", sa.BigInteger, nullable=False),
        sa.Column("paid", sa.Integer, nullable=False),
        _practice("claim_day_totals"),
        sa.PrimaryKeyConstraint(
            "practice_id", "date_of_service", "payer_id", "status", name=op.f("pk_claim_day_totals")
        ),
    )
    op.create_table(
        "visit_trend_facts",
        sa.Column("visit_id", sa.String(32), nullable=False),
        sa.Column("practice_id", sa.String(32), nullable=False),
        sa.Column("date_of_service", sa.Date, nullable=False),
        sa.Column("payer_id", sa.String(32), nullable=False),
        sa.Column("services", sa.Text, nullable=True),
        _practice("visit_trend_facts"),
        sa.PrimaryKeyConstraint("visit_id", name=op.f("pk_visit_trend_facts")),
    )
    op.create_table(
        "visit_day_totals",
        sa.Column("practice_id", sa.String(32), nullable=False),
        sa.Column("date_of_service", sa.Date, nullable=False),
        sa.Column("payer_id", sa.String(32), nullable=False),
        sa.Column("services_key", sa.Text, nullable=False),
        sa.Column("services", sa.Text, nullable=True),
        sa.Column("visits", sa.Integer, nullable=False),
        _practice("visit_day_totals"),
        sa.PrimaryKeyConstraint(
            "practice_id", "date_of_service", "payer_id", "services_key", name=op.f("pk_visit_day_totals")
        ),
    )
    op.create_table(
        "measure_days",
        sa.Column("practice_id", sa.String(32), nullable=False),
        sa.Column("patient_id", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("name", sa.String(80), nullable=False),
        sa.Column("unit_key", sa.String(20), nullable=False),
        sa.Column("measured_on", sa.Date, nullable=False),
        sa.Column("point", sa.String(50), nullable=False),
        sa.Column("measures", sa.Integer, nullable=False),
        _practice("measure_days"),
        sa.PrimaryKeyConstraint(
            "practice_id",
            "patient_id",
            "kind",
            "name",
            "unit_key",
            "measured_on",
            name=op.f("pk_measure_days"),
        ),
    )
    op.create_table(
        "measure_visit_days",
        sa.Column("practice_id", sa.String(32), nullable=False),
        sa.Column("patient_id", sa.String(32), nullable=False),
        sa.Column("measured_on", sa.Date, nullable=False),
        sa.Column("visits", sa.Integer, nullable=False),
        sa.Column("odd", sa.Integer, nullable=False),
        _practice("measure_visit_days"),
        sa.PrimaryKeyConstraint(
            "practice_id", "patient_id", "measured_on", name=op.f("pk_measure_visit_days")
        ),
    )
    dialect = op.get_bind().dialect.name
    for statement in _SQL[dialect]["fill"]:
        op.execute(statement)
    op.create_index("ix_claim_trend_facts_practice", "claim_trend_facts", ["practice_id", "date_of_service"])
    op.create_index("ix_visit_trend_facts_practice", "visit_trend_facts", ["practice_id", "date_of_service"])
    for statement in _SQL[dialect]["create"]:
        op.execute(statement)
    for table in TABLES:
        op.execute(f"ANALYZE {table}")


def downgrade() -> None:
    """Drop the triggers and the four tables (the records are untouched)."""
    dialect = op.get_bind().dialect.name
    for statement in _SQL[dialect]["drop"]:
        op.execute(statement)
    op.drop_index("ix_visit_trend_facts_practice", table_name="visit_trend_facts")
    op.drop_index("ix_claim_trend_facts_practice", table_name="claim_trend_facts")
    for table in reversed(TABLES):
        op.drop_table(table)
