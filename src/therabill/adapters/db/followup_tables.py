"""The follow-up worklist of claims: one item per claim worked, and its notes (append-only).

An item exists once a biller works a claim (a note, an owner, a next-action date, an action);
which claims need work is decided from the claims themselves (``domain.claim_changes``).
Migration ``0013_claim_followup`` creates exactly these tables; ``0029_followup_index`` the index
of the claims that can be on the worklist.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    String,
    Table,
    Text,
    UniqueConstraint,
    and_,
)

from therabill.adapters.db.base import metadata
from therabill.adapters.db.tables import claims
from therabill.domain import claim_changes as rules
from therabill.domain.records import ClaimStatus

claim_followups = Table(
    "claim_followups",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("practice_id", String(32), ForeignKey("practices.id"), nullable=False),
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

FOLLOW_UP_STATUSES = tuple(
    sorted(s.value for s in {ClaimStatus.DENIED, *rules.REJECTED, *rules.AWAITING_PAYMENT})
)
"""The statuses a claim on the worklist can have (denied, rejected, awaiting payment)."""

_WAITING = and_(claims.c.status.in_(FOLLOW_UP_STATUSES), claims.c.frequency != "8")

ix_claims_followup = Index(
    "ix_claims_followup",
    claims.c.practice_id,
    claims.c.date_of_service,
    claims.c.claim_number,
    claims.c.id,
    claims.c.status,
    claims.c.patient_id,
    claims.c.payer_id,
    claims.c.total_charge_cents,
    claims.c.payer_claim_control_number,
    postgresql_where=_WAITING,
    sqlite_where=_WAITING,
)
"""The claims that can be on the worklist (not a void), oldest date of service first, with what a
row shows: a page reads its oldest rows in order from the index alone and stops, and the count
reads it too, not every claim of the practice (the paid ones are most of them). A partial index:
small, and used only by a query that names ``FOLLOW_UP_STATUSES`` and the frequency."""
