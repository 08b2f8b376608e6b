"""Indexes of the reports (the read side), attached to the tables of the table modules.

Each index lets a report query read the index alone (it holds every column the query needs),
where possible in the order its grouping needs. ``migrations/versions/0007_report_indexes.py``
creates the same indexes; importing this module adds them to ``metadata``, so a database made
with ``metadata.create_all`` has them too (``therabill.reports`` imports it).

``REPORT_INDEX_COLUMNS`` is the single list: index name → (table, columns, unique).
"""

from __future__ import annotations

from sqlalchemy import Index

from therabill.adapters.db.ledger_tables import ledger_entries
from therabill.adapters.db.tables import claim_lines, claim_status_events, claims, objective_measures, visits

REPORT_INDEX_COLUMNS: dict[str, tuple[str, tuple[str, ...], bool]] = {
    # revenue: entry combos, month sums, paid per unit; trends: first payment; denials
    "ix_ledger_entries_report_class": (
        "ledger_entries",
        (
            "practice_id",
            "kind",
            "bucket",
            "detail",
            "group_code",
            "reason_code",
            "posted_at",
            "amount_cents",
            "payer_id",
            "claim_id",
            "claim_line_id",
            "reverses_entry_id",
        ),
        False,
    ),
    # aging: balances per claim and payer, per patient and item
    "ix_ledger_entries_report_bucket": (
        "ledger_entries",
        (
            "practice_id",
            "bucket",
            "claim_id",
            "payer_id",
            "patient_id",
            "item_id",
            "posted_at",
            "kind",
            "amount_cents",
        ),
        False,
    ),
    # joins from entries to their line, claim and visit without reading the table rows
    "ix_claim_lines_report_id": (
        "claim_lines",
        ("id", "claim_id", "code", "place_of_service", "units", "date_of_service"),
        True,
    ),
    "ix_claim_lines_report_claim": ("claim_lines", ("practice_id", "claim_id", "units"), False),
    "ix_claims_report_id": ("claims", ("id", "payer_id", "visit_id", "status", "created_at"), True),
    "ix_claims_report_date": (
        "claims",
        ("practice_id", "date_of_service", "status", "payer_id", "id"),
        False,
    ),
    "ix_visits_report_id": ("visits", ("id", "provider_id"), True),
    "ix_visits_report_date": ("visits", ("practice_id", "date_of_service", "id"), False),
    "ix_claim_status_events_report": (
        "claim_status_events",
        ("practice_id", "status", "claim_id", "at"),
        False,
    ),
    "ix_objective_measures_report": ("objective_measures", ("practice_id", "measured_on"), False),
}
"""Index name → (table name, columns in order, unique). Unique indexes start with the table's
primary key, so they are unique by construction (and the planner takes them as such)."""

PAGE_INDEX_COLUMNS: dict[str, tuple[str, tuple[str, ...], bool]] = {
    # revision 0023: the dashboard's visits of an appointment; follow-up (every column it
    # shows, so the index alone answers), attention and the ready count by status; scrub errors
    "ix_visits_practice_appointment": ("visits", ("practice_id", "appointment_id"), False),
    "ix_claims_practice_status": (
        "claims",
        (
            "practice_id",
            "status",
            "updated_at",
            "claim_number",
            "id",
            "date_of_service",
            "patient_id",
            "payer_id",
            "payer_claim_control_number",
            "frequency",
            "total_charge_cents",
        ),
        False,
    ),
    "ix_claims_practice_errors": ("claims", ("practice_id", "has_errors"), False),
}
"""The pages' indexes (revision ``0023_practice_pages``; the follow-up columns of
``ix_claims_practice_status`` from ``0027_followup_columns``), in the same form."""

_TABLES = {
    t.name: t for t in (ledger_entries, claim_lines, claims, visits, claim_status_events, objective_measures)
}


def _attach() -> tuple[Index, ...]:
    out = []
    for name, (table_name, columns, unique) in {**REPORT_INDEX_COLUMNS, **PAGE_INDEX_COLUMNS}.items():
        table = _TABLES[table_name]
        existing = {str(ix.name): ix for ix in table.indexes}
        if name in existing:  # imported twice (a reload): keep the first
            out.append(existing[name])
            continue
        out.append(Index(name, *(table.c[c] for c in columns), unique=unique))
    return tuple(out)


REPORT_INDEXES: tuple[Index, ...] = _attach()
"""The ``Index`` objects, attached to their tables."""
