"""Posting one remittance (835 transaction): exactly once, claim by claim, crash-safe.

One transaction records the remittance (its key is payer id + TRN02 + BPR02 + BPR16, so
the same money re-sent in a new envelope is recognised), then each CLP posts in its own
transaction with its own key, so a crash part way leaves whole claims posted and a re-run
posts only the rest. The ledger rules and the entry inserts are ``service_layer.ledger``'s.
"""

from __future__ import annotations

import functools
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from importlib import resources
from typing import Any

from sqlalchemy import Engine, select

from therabill.adapters.db.ledger_tables import (
    posting_worklist,
    practice_ledger_entries,
    remittance_claims,
    remittances,
)
from therabill.adapters.db.tables import claims, coverages, payers
from therabill.domain.errors import ReferenceDataError, TherabillError
from therabill.domain.ledger import check_entries, new_id
from therabill.domain.money import ZERO, from_cents, to_cents
from therabill.domain.posting import (
    ClaimPosting,
    ClaimRef,
    LineRef,
    WorkItem,
    claim_keys,
    claim_status_after,
    payer_problem,
    post_claim_payment,
    provider_adjustment_items,
    remittance_unbalanced_items,
)
from therabill.domain.remittance import Remittance
from therabill.service_layer import ledger
from therabill.service_layer import records as rec
from therabill.service_layer.uow import UnitOfWork

__all__ = ["ROUTINE_ADJUSTMENTS_FILE", "RemittanceResult", "post_remittance", "routine_reasons"]

ROUTINE_ADJUSTMENTS_FILE = "routine_adjustments.toml"
"""The data file (in ``therabill/refdata/data``) of CARCs that are routine, not denials."""


@functools.cache
def routine_reasons() -> frozenset[str]:
    """CARCs that are routine reductions, not denials (CO-45, CO-253...), from the data file."""
    try:
        text = resources.files("therabill.refdata").joinpath("data", ROUTINE_ADJUSTMENTS_FILE).read_text()
        data = tomllib.loads(text)
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ReferenceDataError(f"cannot read {ROUTINE_ADJUSTMENTS_FILE}: {exc}") from exc
    return frozenset(str(code) for code in data.get("routine", {}))


@dataclass(slots=True)
class RemittanceResult:
    """What posting one remittance did.

    Attributes:
        remittance_id: the stored remittance.
        idempotency_key: payer id + TRN02 + BPR02 + BPR16.
        new: False when the remittance was already on file (a re-send).
        posted_claims: CLPs processed now (matched or sent to the worklist).
        matched_claims: of those, the CLPs posted to one of our claims.
        skipped_claims: CLPs already posted earlier (their keys were on file).
        entries: ledger entries posted now.
        worklist: worklist items recorded now.
        paid: BPR02.
        conflict: the remittance key was on file with other claims (nothing was posted).
    """

    remittance_id: str
    idempotency_key: str
    new: bool
    posted_claims: int = 0
    matched_claims: int = 0
    skipped_claims: int = 0
    entries: int = 0
    worklist: list[WorkItem] = field(default_factory=list)
    paid: Decimal = ZERO
    conflict: bool = False


# --- posting ---------------------------------------------------------------------------


def _claim_ref(uow: UnitOfWork, claim_number: str) -> ClaimRef | None:
    row = uow.records.claim_by_number(claim_number)
    if row is None:
        return None
    lines = tuple(
        LineRef(
            claim_line_id=ln.id,
            line_id=ln.line_id,
            code=ln.code,
            charge=from_cents(ln.charge_cents),
            date_of_service=ln.date_of_service,
        )
        for ln in uow.records.lines_of(row.id)
    )
    secondary = uow.session.execute(
        select(coverages.c.payer_id).where(
            coverages.c.practice_id == uow.practice_id,
            coverages.c.patient_id == row.patient_id,
            coverages.c.sequence == "secondary",
        )
    ).first()
    return ClaimRef(
        claim_id=row.id,
        claim_number=row.claim_number,
        patient_id=row.patient_id,
        payer_id=row.payer_id,
        lines=lines,
        secondary_payer_id=secondary.payer_id if secondary else None,
    )


def _work_rows(
    uow: UnitOfWork,
    items: Iterable[WorkItem],
    remittance_id: str | None,
    rc_id: str | None,
    claim_id: str | None,
) -> None:
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
        }
        for w in items
    ]
    if rows:
        uow.session.execute(posting_worklist.insert(), rows)


def _open_remittance(
    uow: UnitOfWork, rem: Remittance, file_sha256: str | None
) -> tuple[str, bool, list[WorkItem]]:
    key = rem.idempotency_key
    found = uow.session.execute(
        select(remittances.c.id).where(
            remittances.c.practice_id == uow.practice_id, remittances.c.idempotency_key == key
        )
    ).first()
    if found is not None:
        return str(found.id), False, []
    payer = uow.session.execute(
        select(payers.c.id).where(payers.c.practice_id == uow.practice_id, payers.c.payer_id == rem.payer_id)
    ).first()
    rid = new_id()
    uow.session.execute(
        remittances.insert().values(
            id=rid,
            practice_id=uow.practice_id,
            payer_id=payer.id if payer else None,
            payer_identifier=rem.payer_id,
            payer_name=rem.payer_name,
            trace_number=rem.trace_number,
            payment_cents=to_cents(rem.payment_amount),
            payment_date=rem.payment_date,
            payment_method=rem.payment_method,
            provider_adjustment_cents=to_cents(rem.provider_adjustment_total),
            claim_count=len(rem.claims),
            idempotency_key=key,
            file_sha256=file_sha256,
            received_at=uow.now(),
            received_by=uow.actor,
        )
    )
    items = remittance_unbalanced_items(rem) + provider_adjustment_items(rem)
    _work_rows(uow, items, rid, None, None)
    if rem.transaction_balanced:
        _post_provider_adjustments(uow, rem, rid, payer.id if payer else None)
    uow.record(
        "remittance.received", "remittance", rid, {"trace": rem.trace_number, "claims": len(rem.claims)}
    )
    return rid, True, items


def _post_provider_adjustments(
    uow: UnitOfWork, rem: Remittance, remittance_id: str, payer_id: str | None
) -> None:
    """One practice-level ledger entry per PLB adjustment (in the remittance's transaction)."""
    rows = [
        {
            "id": new_id(),
            "practice_id": uow.practice_id,
            "kind": "provider-adjustment",
            "payer_id": payer_id,
            "remittance_id": remittance_id,
            "provider_identifier": p.provider_id,
            "fiscal_period_date": p.fiscal_period_date,
            "reason": p.reason,
            "reference": p.reference,
            "amount_cents": to_cents(p.amount),
            "segment_number": p.segment_number,
            "idempotency_key": f"{rem.idempotency_key}|PLB|{n}",
            "posted_at": uow.now(),
            "posted_by": uow.actor,
        }
        for n, p in enumerate(rem.provider_adjustments, start=1)
        if p.amount != ZERO
    ]
    if rows:
        uow.session.execute(practice_ledger_entries.insert(), rows)
        uow.record("ledger.provider-adjustment", "remittance", remittance_id, {"entries": len(rows)})


def _update_claim_status(uow: UnitOfWork, ref: ClaimRef, cp: Any, trace: str | None) -> list[WorkItem]:
    """Move the claim to the status the remittance implies; a worklist item if it cannot move."""
    target = claim_status_after(cp, routine_reasons())
    row = uow.records.get(claims, ref.claim_id, for_update=True)
    if cp.payer_claim_control_number and row.payer_claim_control_number != cp.payer_claim_control_number:
        uow.records.update(claims, row.id, payer_claim_control_number=cp.payer_claim_control_number)
    if target is None or row.status == target:
        return []
    note = f"835 {trace or ''}: {cp.status_words}, paid {cp.paid}".strip()
    try:
        rec.set_status_in(uow, row, target, note=note[:300])
    except TherabillError:
        return [
            WorkItem(
                "status-not-updated",
                f"claim {cp.claim_id} is {row.status}; the remittance says {target}: status left as it is",
                cp.claim_id,
                amount=cp.paid,
                segment_number=cp.segment_number,
            )
        ]
    return []


def _conflicts(uow: UnitOfWork, remittance_id: str, rem: Remittance) -> bool:
    """Whether a remittance already on file (same key) differs from ``rem`` in its claims.

    A re-send of the same transaction has the same claims at the same places; a copy cut
    short by a crash has a prefix of them. Anything else (a claim changed, added or removed
    under the same payer, trace number and amount) is a conflict.
    """
    stored_count = uow.session.execute(
        select(remittances.c.claim_count).where(remittances.c.id == remittance_id)
    ).scalar_one()
    if stored_count != len(rem.claims):
        return True
    keys = claim_keys(rem)
    for ordinal, key in uow.session.execute(
        select(remittance_claims.c.ordinal, remittance_claims.c.idempotency_key).where(
            remittance_claims.c.remittance_id == remittance_id
        )
    ):
        if not 1 <= ordinal <= len(keys) or keys[ordinal - 1] != key:
            return True
    return False


def post_remittance(
    engine: Engine, practice_id: str, actor: str, remittance: Remittance, *, file_sha256: str | None = None
) -> RemittanceResult:
    """Post one remittance transaction: its record first, then each claim in its own transaction.

    A transaction that does not balance (sum of CLP04 − PLB ≠ BPR02) posts no claim: every
    claim goes to the worklist. Each posted claim moves to the status the remittance implies
    (``therabill.domain.posting.claim_status_after``: paid, partly paid, denied, crossed
    over, or back to pending after a payer's reversal) in the claim's own transaction, with
    a status-history event; PLB adjustments become practice-level ledger entries. Re-posting the same remittance (or the same money in a new
    envelope) posts nothing; after a crash it posts the claims not yet posted.
    """
    with UnitOfWork(engine, practice_id, actor) as uow:
        rid, new, items = _open_remittance(uow, remittance, file_sha256)
        if not new and _conflicts(uow, rid, remittance):
            item = WorkItem(
                "remittance-conflict",
                f"remittance {remittance.trace_number} was already received with other claims; "
                "nothing of this copy was posted (ask the payer which one is right)",
                amount=remittance.payment_amount,
            )
            _work_rows(uow, [item], rid, None, None)
            uow.record("remittance.conflict", "remittance", rid, {"trace": remittance.trace_number})
            return RemittanceResult(
                rid,
                remittance.idempotency_key,
                False,
                worklist=[item],
                paid=remittance.payment_amount,
                conflict=True,
            )
        sender = uow.session.execute(select(remittances.c.payer_id).where(remittances.c.id == rid)).scalar()
    result = RemittanceResult(
        rid, remittance.idempotency_key, new, worklist=list(items), paid=remittance.payment_amount
    )
    balanced = remittance.transaction_balanced
    for ordinal, (cp, key) in enumerate(zip(remittance.claims, claim_keys(remittance), strict=True), start=1):
        with UnitOfWork(engine, practice_id, actor) as uow:
            done = uow.session.execute(
                select(remittance_claims.c.id).where(
                    remittance_claims.c.practice_id == practice_id, remittance_claims.c.idempotency_key == key
                )
            ).first()
            if done is not None:
                result.skipped_claims += 1
                continue
            ref = _claim_ref(uow, cp.claim_id)
            if not balanced:
                posting = ClaimPosting(
                    worklist=(
                        WorkItem(
                            "remittance-unbalanced",
                            f"claim {cp.claim_id} not posted: the remittance does not balance",
                            cp.claim_id,
                            amount=cp.paid,
                            segment_number=cp.segment_number,
                        ),
                    ),
                    paid=cp.paid,
                )
            else:
                existing = ledger.patient_entries(uow, [ref.patient_id]) if ref else []
                payer_id = ref.payer_id if ref else ""
                on_claim = [e for e in existing if ref and e.claim_id == ref.claim_id]
                wrong_payer = payer_problem(cp, ref, sender, on_claim) if ref else None
                posting = (
                    ClaimPosting(worklist=(wrong_payer,), paid=cp.paid)
                    if wrong_payer is not None
                    else post_claim_payment(cp, ref, payer_id, on_claim)
                )
                problems = check_entries(existing, posting.entries) if posting.posted else []
                if problems:
                    posting = ClaimPosting(
                        worklist=(
                            WorkItem(
                                "claim-not-postable",
                                f"claim {cp.claim_id} not posted: " + "; ".join(p.message for p in problems),
                                cp.claim_id,
                                amount=cp.paid,
                                segment_number=cp.segment_number,
                            ),
                        ),
                        paid=cp.paid,
                    )
            rc_id = new_id()
            uow.session.execute(
                remittance_claims.insert().values(
                    id=rc_id,
                    practice_id=practice_id,
                    remittance_id=rid,
                    ordinal=ordinal,
                    idempotency_key=key,
                    claim_number=cp.claim_id,
                    status=cp.status,
                    payer_claim_control_number=cp.payer_claim_control_number,
                    charge_cents=to_cents(cp.charge),
                    paid_cents=to_cents(cp.paid),
                    patient_responsibility_cents=to_cents(cp.patient_responsibility),
                    claim_id=ref.claim_id if ref else None,
                    posted=posting.posted,
                    crossover=posting.crossover,
                    entry_count=len(posting.entries),
                    posted_at=uow.now(),
                )
            )
            work = list(posting.worklist)
            if posting.posted:
                ledger.insert_entries(
                    uow, posting.entries, key, existing=existing, remittance_id=rid, remittance_claim_id=rc_id
                )
                if ref is not None:
                    work.extend(_update_claim_status(uow, ref, cp, remittance.trace_number))
            _work_rows(uow, work, rid, rc_id, ref.claim_id if ref else None)
            uow.record(
                "remittance.claim-posted",
                "remittance_claim",
                rc_id,
                {"claim": cp.claim_id, "posted": posting.posted},
            )
            result.posted_claims += 1
            result.matched_claims += 1 if posting.posted else 0
            result.entries += len(posting.entries)
            result.worklist.extend(work)
    return result
