"""The derived tables of the trends and what-if reports (revision ``0026_trend_totals``).

Database triggers keep them (``therabill.adapters.db.trend_totals`` has the trigger text): every
write to ``claims``, ``claim_lines``, ``claim_status_events``, ``ledger_entries``, ``visits`` and
``coverages`` updates a claim's or a visit's *facts* row in the same statement, and a trigger on
the facts rows moves the row's contribution between the *day* totals (subtract the row as it
was, add it as it is). So the totals are right whatever code path wrote the records, and they
can always be recomputed from the records (``trend_totals.rebuild``). ``''`` stands for "none"
in key columns. Revision ``0026_trend_totals`` creates them and their triggers.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
)

from therabill.adapters.db.base import metadata as records_metadata
from therabill.adapters.db.tables import practices

metadata = MetaData(naming_convention=records_metadata.naming_convention)
"""The derived tables' own metadata, apart from the records': whatever copies or creates the
records' tables (``transfer.copy_database``, ``metadata.create_all``) leaves these to the
triggers, which fill them as the records arrive (a copied row would meet the row its records'
triggers already wrote)."""

claim_trend_facts = Table(
    "claim_trend_facts",
    metadata,
    Column("claim_id", String(32), primary_key=True),
    Column("practice_id", String(32), ForeignKey(practices.c.id), nullable=False),
    Column("date_of_service", Date, nullable=False),
    Column("payer_id", String(32), nullable=False),
    Column("status", String(24), nullable=False),
    Column("units", Integer, nullable=False),
    Column("submitted_at", DateTime(timezone=True)),
    Column("paid_at", DateTime(timezone=True)),
    Index("ix_claim_trend_facts_practice", "practice_id", "date_of_service"),
)
"""One row per claim (derived data): its practice, date of service, payer, current status, the
units of its lines, its first submission (the earliest ``submitted`` status event) and its first
insurance payment (the earliest ``insurance-payment`` entry with a positive amount)."""

claim_day_totals = Table(
    "claim_day_totals",
    metadata,
    Column("practice_id", String(32), ForeignKey(practices.c.id), nullable=False),
    Column("date_of_service", Date, nullable=False),
    Column("payer_id", String(32), nullable=False),
    Column("status", String(24), nullable=False),
    Column("claims", Integer, nullable=False),
    Column("units", BigInteger, nullable=False),
    Column("claim_days", BigInteger, nullable=False),
    Column("claimed", Integer, nullable=False),
    Column("payment_days", BigInteger, nullable=False),
    Column("paid", Integer, nullable=False),
    PrimaryKeyConstraint("practice_id", "date_of_service", "payer_id", "status", name="pk_claim_day_totals"),
)
"""``claim_trend_facts`` summed per practice, date of service, payer and status: claims, units,
the days from the date of service to the first submission (``claim_days``, over the ``claimed``
claims that have one) and from the first submission to the first payment (``payment_days``,
over the ``paid`` claims that have both). What the trends report reads."""

visit_trend_facts = Table(
    "visit_trend_facts",
    metadata,
    Column("visit_id", String(32), primary_key=True),
    Column("practice_id", String(32), ForeignKey(practices.c.id), nullable=False),
    Column("date_of_service", Date, nullable=False),
    Column("payer_id", String(32), nullable=False),
    Column("services", Text),
    Index("ix_visit_trend_facts_practice", "practice_id", "date_of_service"),
)
"""One row per visit (derived data): its practice, date of service, payer (its live claim's, else
its coverage's, else the patient's primary coverage's, ``''`` for self-pay: what the what-if
report attributes it to) and the text of its encounter's ``services``."""

visit_day_totals = Table(
    "visit_day_totals",
    metadata,
    Column("practice_id", String(32), ForeignKey(practices.c.id), nullable=False),
    Column("date_of_service", Date, nullable=False),
    Column("payer_id", String(32), nullable=False),
    Column("services_key", Text, nullable=False),
    Column("services", Text),
    Column("visits", Integer, nullable=False),
    PrimaryKeyConstraint(
        "practice_id", "date_of_service", "payer_id", "services_key", name="pk_visit_day_totals"
    ),
)
"""``visit_trend_facts`` counted per practice, date of service, payer and services text
(``services_key``: the text's MD5 on PostgreSQL, the text itself on SQLite). The trends report
counts visits from it, the what-if report computes units once per row shape."""

measure_days = Table(
    "measure_days",
    metadata,
    Column("practice_id", String(32), ForeignKey(practices.c.id), nullable=False),
    Column("patient_id", String(32), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("name", String(80), nullable=False),
    Column("unit_key", String(20), nullable=False),
    Column("measured_on", Date, nullable=False),
    Column("point", String(50), nullable=False),
    Column("measures", Integer, nullable=False),
    PrimaryKeyConstraint(
        "practice_id", "patient_id", "kind", "name", "unit_key", "measured_on", name="pk_measure_days"
    ),
)
"""The pain, range of motion and strength measures (``objective_measures``) per practice, patient,
measure (kind, name, unit: ``''`` for none) and day (derived data): the outcomes report's points,
one row per measure and day. ``point`` is the day (``YYYY-MM-DD``) followed by its text (the
greatest, when the day has several), so that the least and the greatest ``point`` of a range are its
first and latest; ``measures`` is how many measures the day has."""

measure_visit_days = Table(
    "measure_visit_days",
    metadata,
    Column("practice_id", String(32), ForeignKey(practices.c.id), nullable=False),
    Column("patient_id", String(32), nullable=False),
    Column("measured_on", Date, nullable=False),
    Column("visits", Integer, nullable=False),
    Column("odd", Integer, nullable=False),
    PrimaryKeyConstraint("practice_id", "patient_id", "measured_on", name="pk_measure_visit_days"),
)
"""Per practice, patient and day: the visits with a pain, range of motion or strength measure, and
how many of those measures hold a text that is not plainly a number (``odd``: digits with at most
one decimal point, a strength grade starting with a digit). The outcomes report counts a patient's
visits from it, and reads the measures themselves for a patient with an odd text."""

TREND_TABLES = (
    claim_trend_facts,
    claim_day_totals,
    visit_trend_facts,
    visit_day_totals,
    measure_days,
    measure_visit_days,
)
