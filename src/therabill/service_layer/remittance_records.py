"""The rows posting a remittance writes beside the ledger: worklist items and the 835's lines.

Helpers of ``remittance_posting`` (inside its unit of work); nothing else writes these rows.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from therabill.adapters.db.ledger_tables import posting_worklist
from therabill.domain.ledger import new_id
from therabill.domain.money import to_cents
from therabill.domain.posting import ClaimRef, WorkItem, match_lines
from therabill.domain.remittance import ClaimPayment
from therabill.service_layer.uow import UnitOfWork

__all__ = ["line_rows", "work_rows"]


def work_rows(
    uow: UnitOfWork,
    items: Iterable[WorkItem],
    remittance_id: str | None,
    rc_id: str | None,
    claim_id: str | None,
) -> None:
    """Record worklist items (of a remittance, a remittance claim, a claim of ours)."""
    rows = [
        {
            "id": new_id(),
            "practice_id": uow.practice_id,
            "remittance_id": remittance_id,
            "remittance_claim_id": rc_id,
            "claim_id": claim_id,
            "kind": w.kind,
            "claim_number": w.claim_number,
            "line": w.line,
            "amount_cents": to_cents(w.amount),
            "reason": w.reason,
            "message": w.message,
            "segment_number": w.segment_number,
            "created_at": uow.now(),
            "action": w.action,
        }
        for w in items
    ]
    if rows:
        uow.session.execute(posting_worklist.insert(), rows)


def line_rows(uow: UnitOfWork, rc_id: str, cp: ClaimPayment, ref: ClaimRef | None) -> list[dict[str, Any]]:
    """The rows of each SVC of the claim payment with its CAS and remark codes (RARC), matched
    to our line (``remittance_lines``; the caller inserts them)."""
    matched = match_lines(cp.lines, ref.lines)[0] if ref is not None and cp.lines else {}
    return [
        {
            "id": new_id(),
            "practice_id": uow.practice_id,
            "remittance_claim_id": rc_id,
            "ordinal": n,
            "claim_line_id": matched[n - 1].claim_line_id if n - 1 in matched else None,
            "line_id": sp.line_id,
            "code": sp.code[:10],
            "charge_cents": to_cents(sp.charge),
            "paid_cents": to_cents(sp.paid),
            "adjustments": [[a.group, a.reason, str(a.amount)] for a in sp.adjustments],
            "remarks": list(sp.remarks),
        }
        for n, sp in enumerate(cp.lines, start=1)
    ]
