"""Indexes of the reports (the read side), attached to the tables of the table modules.

Each index lets one report query read an index alone, in the order its grouping needs (no
temporary sort, no visit to the table rows). ``migrations/versions/0007_report_indexes.py``
creates the same indexes; importing this module adds them to ``metadata`` so a database made
with ``metadata.create_all`` has them too (``therabill.reports`` imports it).
"""

from __future__ import annotations

from sqlalchemy import Index

from therabill.adapters.db.ledger_tables import ledger_entries as le
from therabill.adapters.db.tables import claim_lines, claim_status_events, claims, objective_measures, visits

REPORT_INDEXES: tuple[Index, ...] = (
    # revenue (combos, month sums), trends (first payment), denials
    Index(
        "ix_ledger_entries_report_class",
        le.c.practice_id,
        le.c.kind,
        le.c.bucket,
        le.c.detail,
        le.c.group_code,
        le.c.reason_code,
        le.c.posted_at,
        le.c.amount_cents,
        le.c.payer_id,
        le.c.claim_id,
    ),
    # revenue (figures per claim line), denials (per line)
    Index(
        "ix_ledger_entries_report_line",
        le.c.practice_id,
        le.c.claim_line_id,
        le.c.claim_id,
        le.c.payer_id,
        le.c.kind,
        le.c.bucket,
        le.c.detail,
        le.c.group_code,
        le.c.reason_code,
        le.c.posted_at,
        le.c.amount_cents,
    ),
    # aging: balances per claim and payer, per patient item
    Index(
        "ix_ledger_entries_report_bucket",
        le.c.practice_id,
        le.c.bucket,
        le.c.claim_id,
        le.c.payer_id,
        le.c.patient_id,
        le.c.item_id,
        le.c.posted_at,
        le.c.kind,
        le.c.amount_cents,
    ),
    Index(
        "ix_claim_lines_report_id",
        claim_lines.c.id,
        claim_lines.c.claim_id,
        claim_lines.c.code,
        claim_lines.c.place_of_service,
        claim_lines.c.units,
        claim_lines.c.date_of_service,
    ),
    Index(
        "ix_claims_report_id",
        claims.c.id,
        claims.c.payer_id,
        claims.c.visit_id,
        claims.c.status,
        claims.c.created_at,
    ),
    Index(
        "ix_claims_report_date",
        claims.c.practice_id,
        claims.c.date_of_service,
        claims.c.status,
        claims.c.payer_id,
        claims.c.id,
    ),
    Index("ix_visits_report_id", visits.c.id, visits.c.provider_id),
    Index("ix_visits_report_date", visits.c.practice_id, visits.c.date_of_service, visits.c.id),
    Index(
        "ix_claim_status_events_report",
        claim_status_events.c.practice_id,
        claim_status_events.c.status,
        claim_status_events.c.claim_id,
        claim_status_events.c.at,
    ),
    Index(
        "ix_objective_measures_report",
        objective_measures.c.practice_id,
        objective_measures.c.measured_on,
    ),
)
"""The report indexes (``0007_report_indexes`` creates exactly these)."""
