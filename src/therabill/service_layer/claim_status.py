"""Claim status: the one place a claim moves along its life cycle, with an event each time.

Used inside an open unit of work by coding, batches, acknowledgments and remittance posting.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row

from therabill.adapters.db.tables import (
    claim_status_events,
    claims,
)
from therabill.domain.records import (
    check_claim_transition,
)
from therabill.service_layer.uow import UnitOfWork


def add_status_event_in(
    uow: UnitOfWork, claim_id: str, status: str, findings: Any = None, note: str | None = None
) -> None:
    """Append an event to the claim's status history (its next sequence number)."""
    seq = len(uow.records.status_history(claim_id)) + 1
    uow.records.insert(
        claim_status_events,
        claim_id=claim_id,
        seq=seq,
        status=status,
        at=uow.now(),
        actor=uow.actor,
        note=note,
        findings=findings,
    )


def set_status_in(
    uow: UnitOfWork,
    claim: Row[Any],
    new_status: str,
    *,
    findings: Any = None,
    note: str | None = None,
    **values: Any,
) -> None:
    """Move a claim inside an open unit of work, with an event and an audit row (``values``:
    other columns of the claim set in the same update).

    Raises ``TransitionError`` (before writing anything) when the life cycle does not allow the move.
    """
    nxt = check_claim_transition(claim.status, new_status)
    uow.records.update(claims, claim.id, status=nxt.value, updated_at=uow.now(), **values)
    add_status_event_in(
        uow, claim.id, nxt.value, findings=findings if findings is not None else claim.findings, note=note
    )
    uow.record("claim.status", "claim", claim.id, {"from": claim.status, "to": nxt.value})
