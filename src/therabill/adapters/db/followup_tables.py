"""The follow-up worklist of claims: one item per claim worked, and its notes (append-only).

An item exists once a biller works a claim (a note, an owner, a next-action date, an action);
which claims need work is decided from the claims themselves (``domain.claim_changes``).
Migration ``0013_claim_followup`` creates exactly these tables.
"""

from __future__ import annotations

from sqlalchemy import JSON, Column, Date, DateTime, ForeignKey, String, Table, Text, UniqueConstraint

from therabill.adapters.db.base import metadata

claim_followups = Table(
    "claim_followups",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("practice_id", String(32), ForeignKey("practices.id"), nullable=False, index=True),
    Column("claim_id", String(32), ForeignKey("claims.id"), nullable=False, index=True),
    Column("state", String(12), nullable=False),
    Column("owner", String(80)),
    Column("next_action_on", Date),
    Column("remark_codes", JSON),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("practice_id", "claim_id", name="uq_claim_followups_practice_claim"),
)

claim_followup_notes = Table(
    "claim_followup_notes",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("practice_id", String(32), ForeignKey("practices.id"), nullable=False, index=True),
    Column("claim_id", String(32), ForeignKey("claims.id"), nullable=False, index=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("actor", String(80), nullable=False),
    Column("action", String(24), nullable=False),
    Column("text", Text),
)

FOLLOWUP_TABLES = (claim_followups, claim_followup_notes)
