"""Claim status: the one place a claim moves along its life cycle, with an event each time.

Used inside an open unit of work by coding, batches, acknowledgments and remittance posting.
One claim at a time here; ``ClaimMoves`` (the same rules) queues the moves of many claims and
writes them together, and these two functions are ``ClaimMoves`` with a claim of one.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row

from therabill.service_layer.claim_moves import ClaimMoves
from therabill.service_layer.uow import UnitOfWork


def add_status_event_in(
    uow: UnitOfWork, claim_id: str, status: str, findings: Any = None, note: str | None = None
) -> None:
    """Append an event to the claim's status history (its next sequence number)."""
    moves = ClaimMoves(uow)
    moves.event(claim_id, status, findings=findings, note=note)
    moves.flush()


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
    moves = ClaimMoves(uow)
    moves.know([claim])
    moves.move(claim.id, new_status, findings=findings, note=note, **values)
    moves.flush()
