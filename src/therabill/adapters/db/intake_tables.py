"""Intake tables: the versioned health history and visit clearances.

``intake_versions`` keeps every version of a client's health history (an update is a new
row with the next ``version``; rows are never changed except to add the therapist's
signature once). ``visit_clearances`` records that an absolute contraindication was cleared
for one visit (who, when, on what document). Migration ``0004_intake`` creates them.
"""

from __future__ import annotations

from sqlalchemy import JSON, Column, DateTime, ForeignKey, Integer, String, Table, Text, UniqueConstraint

from therabill.adapters.db.base import metadata

intake_versions = Table(
    "intake_versions",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("practice_id", String(32), ForeignKey("practices.id"), nullable=False, index=True),
    Column("patient_id", String(32), ForeignKey("patients.id"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("content", JSON, nullable=False),
    Column("signed_by", String(80)),
    Column("signed_at", DateTime(timezone=True)),
    Column("created_by", String(80), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("patient_id", "version", name="uq_intake_versions_patient_version"),
)

visit_clearances = Table(
    "visit_clearances",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("practice_id", String(32), ForeignKey("practices.id"), nullable=False, index=True),
    Column("visit_id", String(32), ForeignKey("visits.id"), nullable=False),
    Column("rule_id", String(60), nullable=False),
    Column("intake_version", Integer),
    Column("document", Text, nullable=False),
    Column("note", Text),
    Column("cleared_by", String(80), nullable=False),
    Column("cleared_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("visit_id", "rule_id", name="uq_visit_clearances_visit_rule"),
)

INTAKE_TABLES = (intake_versions, visit_clearances)
"""The tables of this module in creation order."""
