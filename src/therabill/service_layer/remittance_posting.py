"""Posting one remittance (835 transaction): exactly once, claim by claim, crash-safe.

One transaction records the remittance (its key is payer id + TRN02 + BPR02 + BPR16, so
the same money re-sent in a new envelope is recognised), then each CLP posts in its own
transaction with its own key, so a crash part way leaves whole claims posted and a re-run
posts only the rest. The ledger rules and the entry inserts are ``service_layer.ledger``'s.
"""

from __future__ import annotations

import functools
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from importlib import resources
from typing import Any

from sqlalchemy import Engine, Row, func, or_, select

from therabill.adapters.db.ledger_tables import (
    practice_ledger_entries,
    remittance_claim_payments,
    remittance_claims,
    remittances,
)
from therabill.adapters.db.tables import claims, coverages, payers
from therabill.domain.errors import ReferenceDataError, TherabillError
from therabill.domain.ledger import Entry, check_entries, new_id
from therabill.domain.money import ZERO, from_cents, to_cents
from therabill.domain.posting import (
    ClaimPosting,
    ClaimRef,
    LineRef,
    WorkItem,
    claim_keys,
    claim_status_after,
    negative_payer_items,
    payer_problem,
    post_claim_payment,
    provider_adjustment_items,
    remittance_unbalanced_items,
    responsibility_mismatch,
)
from therabill.domain.remittance import ClaimPayment, Remittance
from therabill.domain.remittance_data import claim_payment_to_data
from therabill.service_layer import claim_status, ledger, secondary_claims
from therabill.service_layer.encounters import CLOSED_CLAIM_STATUSES
from therabill.service_layer.remittance_records import store_lines
from therabill.service_layer.remittance_records import work_rows as _work_rows
from therabill.service_layer.uow import UnitOfWork

__all__ = [
    "ROUTINE_ADJUSTMENTS_FILE",
    "Received",
    "RemittanceResult",
    "post_claim_in",
    "post_remittance",
    "routine_reasons",
]

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
        next_claims: the secondary or tertiary claims made now (their numbers).
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
    next_claims: list[str] = field(default_factory=list)


# --- posting ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Match:
    """One CLP resolved to our records: whose money, on which lines, which claim's status.

    Attributes:
        ref: the ledger's view (the lines carrying the money, the paying payer, the next payer).
        billed: the claim the payer adjudicated (its status moves).
        sequence: the paying payer's place for the patient (``primary``, ``secondary``...).
        crossed_to: the payer a crossover named, when we know it.
    """

    ref: ClaimRef
    billed: Row[Any]
    sequence: str | None
    crossed_to: str | None = None


def _sender(uow: UnitOfWork, rem: Remittance) -> str | None:
    """Our record of the payer that sent the 835: its id (REF*2U / N1*PR N104), TRN03, or N1*PR name."""
    ids = [x for x in (rem.payer_id, rem.header.trace_originator) if x]
    ids += [x[1:] for x in ids if len(x) == 10 and x.startswith("1")]  # TRN03: "1" + the payer's EIN
    for ident in ids:
        found = uow.session.execute(
            select(payers.c.id).where(payers.c.practice_id == uow.practice_id, payers.c.payer_id == ident)
        ).first()
        if found is not None:
            return str(found.id)
    if rem.payer_name:
        found = uow.session.execute(
            select(payers.c.id).where(
                payers.c.practice_id == uow.practice_id,
                func.lower(payers.c.name) == rem.payer_name.strip().lower(),
            )
        ).first()
        if found is not None:
            return str(found.id)
    return None


def _named_payer(uow: UnitOfWork, name: str | None) -> str | None:
    """The payer a crossover names (NM1*TT name or id), when it is on file."""
    if not name:
        return None
    found = uow.session.execute(
        select(payers.c.id).where(
            payers.c.practice_id == uow.practice_id,
            or_(func.lower(payers.c.name) == name.strip().lower(), payers.c.payer_id == name.strip()),
        )
    ).first()
    return None if found is None else str(found.id)


def _sequence_of(uow: UnitOfWork, claim: Row[Any], payer_id: str) -> str | None:
    """The place of ``payer_id`` for the claim's patient on its date of service."""
    if claim.payer_id == payer_id and claim.coverage_id:
        row = uow.records.get(coverages, claim.coverage_id)
        return str(row.sequence)
    cov = secondary_claims.coverage_on(uow, claim.patient_id, claim.date_of_service, payer_id=payer_id)
    return None if cov is None else str(cov.sequence)


def _match(uow: UnitOfWork, cp: ClaimPayment, sender: str | None, existing: Sequence[Entry]) -> _Match | None:
    """CLP01 + the sending payer → that payer's claim for the patient, and the lines its money goes on.

    The claim numbered CLP01 when the sender billed it (or the sender is unknown); else the
    open claim of the same visit billed to the sender (a secondary claim); else, when the
    sender has money on the claim's lines (the patient share was moved to it, e.g. by a
    crossover), the claim itself under the sender. Otherwise the claim as billed, so that the
    payer check sends the money to the worklist.
    """
    row = uow.records.claim_by_number(cp.claim_id)
    if row is None:
        return None
    billed = row
    payer = row.payer_id
    if sender is not None and sender != row.payer_id:
        sibling = next(
            iter(
                uow.records.rows(
                    claims,
                    claims.c.visit_id == row.visit_id,
                    claims.c.payer_id == sender,
                    claims.c.status.not_in(list(CLOSED_CLAIM_STATUSES)),
                    order_by=[claims.c.created_at],
                )
            ),
            None,
        )
        if sibling is not None:
            billed, payer = sibling, sender
        else:
            ledger_id = row.primary_claim_id or row.id
            on_lines = {e.payer_id for e in existing if e.claim_id == ledger_id and e.payer_id is not None}
            if sender in on_lines:
                payer = sender
    ledger_claim = uow.records.get(claims, billed.primary_claim_id) if billed.primary_claim_id else billed
    own = {ln.line_number: ln for ln in uow.records.lines_of(billed.id)}
    lines = tuple(
        LineRef(
            claim_line_id=ln.id,
            line_id=own[ln.line_number].line_id if ln.line_number in own else ln.line_id,
            code=ln.code,
            charge=from_cents(ln.charge_cents),
            date_of_service=ln.date_of_service,
        )
        for ln in uow.records.lines_of(ledger_claim.id)
    )
    sequence = _sequence_of(uow, billed, payer) if payer else None
    crossed_to = _named_payer(uow, cp.crossover_payer) if cp.is_crossover else None
    nxt = (
        secondary_claims.next_payer_of(uow, billed.patient_id, billed.date_of_service, sequence)
        if sequence
        else None
    )
    next_payer = crossed_to or (nxt.payer_id if nxt else None)
    ref = ClaimRef(
        claim_id=ledger_claim.id,
        claim_number=billed.claim_number,
        patient_id=billed.patient_id,
        payer_id=payer,
        lines=lines,
        next_payer_id=next_payer if next_payer != payer else None,
        billed_claim_id=billed.id if billed.id != ledger_claim.id else None,
        prior_payer_adjudicated=sequence not in (None, "primary"),
    )
    return _Match(ref, billed, sequence, crossed_to)


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


def update_claim_status_in(uow: UnitOfWork, ref: ClaimRef, cp: Any, trace: str | None) -> list[WorkItem]:
    """Move the claim the payer adjudicated to the status the remittance implies; a worklist
    item if it cannot move."""
    target = claim_status_after(cp, routine_reasons())
    row = uow.records.get(claims, ref.status_claim_id, for_update=True)
    if cp.payer_claim_control_number and row.payer_claim_control_number != cp.payer_claim_control_number:
        uow.records.update(claims, row.id, payer_claim_control_number=cp.payer_claim_control_number)
    if target is None or row.status == target:
        return []
    note = f"835 {trace or ''}: {cp.status_words}, paid {cp.paid}".strip()
    try:
        claim_status.set_status_in(uow, row, target, note=note[:300])
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
        if ordinal < 0:  # a biller's assignment of an unmatched claim (not part of the copy)
            continue
        if not 1 <= ordinal <= len(keys) or keys[ordinal - 1] != key:
            return True
    return False


def _posting(
    cp: ClaimPayment,
    ref: ClaimRef | None,
    sender: str | None,
    existing: Sequence[Entry],
    on_claim: Sequence[Entry],
    *,
    balanced: bool,
) -> ClaimPosting:
    """What one CLP posts: its entries, or why it goes to the worklist instead."""
    if not balanced:
        return ClaimPosting(
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
    wrong_payer = payer_problem(cp, ref, sender, on_claim) if ref is not None else None
    if wrong_payer is not None:
        return ClaimPosting(worklist=(wrong_payer,), paid=cp.paid)
    posting = post_claim_payment(cp, ref, ref.payer_id if ref is not None else "", on_claim)
    problems = check_entries(existing, posting.entries) if posting.posted else []
    if not problems:
        return posting
    return ClaimPosting(
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


def _next_claim(
    uow: UnitOfWork, match: _Match, cp: ClaimPayment, payment_date: date | None
) -> tuple[str | None, list[WorkItem]]:
    """After a payer's claim posts: the next payer's claim (or, after a reversal, its withdrawal)."""
    ref = match.ref
    if cp.is_reversal:
        return None, secondary_claims.withdraw_next_claims_in(uow, ref.claim_id, cp, keep=match.billed.id)
    if cp.is_crossover or cp.status == "25" or match.sequence is None or ref.next_payer_id is None:
        return None, []
    if cp.patient_responsibility_from_adjustments <= ZERO:
        return None, []
    nxt = secondary_claims.next_payer_of(uow, ref.patient_id, match.billed.date_of_service, match.sequence)
    if nxt is None or nxt.payer_id != ref.next_payer_id:
        return None, []
    savepoint = uow.session.begin_nested()
    try:
        made = secondary_claims.make_next_claim_in(
            uow,
            billed=match.billed,
            ref=ref,
            cp=cp,
            sequence=match.sequence,
            nxt=nxt,
            payment_date=payment_date,
        )
    except (TherabillError, ValueError) as exc:  # the posting stands; the claim is for a biller to make
        savepoint.rollback()
        return None, [
            WorkItem(
                "secondary-claim",
                f"claim {cp.claim_id}: no {nxt.sequence} claim was made: {exc}",
                cp.claim_id,
                amount=cp.patient_responsibility,
                segment_number=cp.segment_number,
            )
        ]
    savepoint.commit()
    return made


@dataclass(frozen=True, slots=True)
class Received:
    """The remittance a claim payment came in (what posting one CLP needs of it).

    Attributes:
        remittance_id: the stored remittance.
        trace_number: TRN02; ``payment_date``: BPR16.
        sender: our record of the paying payer, when known.
        balanced: whether the transaction balances (a CLP of one that does not is not posted).
    """

    remittance_id: str
    trace_number: str | None
    payment_date: date | None
    sender: str | None
    balanced: bool


def post_claim_in(
    uow: UnitOfWork,
    cp: ClaimPayment,
    received: Received,
    *,
    key: str,
    ordinal: int,
    result: RemittanceResult,
) -> str:
    """Post one claim payment (CLP) in ``uow``: its record, its lines, its ledger entries, the
    claim's status, the next payer's claim, its worklist items; adds to ``result``.

    The one way a CLP posts: while the remittance is posted, and later when a biller assigns
    a claim payment that matched none of ours to one of our claims. Returns the new remittance
    claim's id.
    """
    practice_id = uow.practice_id
    rid = received.remittance_id
    claim_row = uow.records.claim_by_number(cp.claim_id)
    existing = ledger.patient_entries(uow, [claim_row.patient_id]) if claim_row is not None else []
    match = _match(uow, cp, received.sender, existing) if claim_row is not None else None
    ref = match.ref if match is not None else None
    on_claim = [e for e in existing if ref is not None and e.claim_id == ref.claim_id]
    posting = _posting(cp, ref, received.sender, existing, on_claim, balanced=received.balanced)
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
            claim_id=ref.status_claim_id if ref else None,
            posted=posting.posted,
            crossover=posting.crossover,
            entry_count=len(posting.entries),
            posted_at=uow.now(),
            payer_id=ref.payer_id if ref is not None and posting.posted else received.sender,
            remarks=list(cp.remarks),
        )
    )
    uow.session.execute(
        remittance_claim_payments.insert().values(
            remittance_claim_id=rc_id, practice_id=practice_id, payment=claim_payment_to_data(cp)
        )
    )
    store_lines(uow, rc_id, cp, ref)
    work = list(posting.worklist)
    if posting.posted and match is not None:
        ledger.insert_entries(
            uow, posting.entries, key, existing=existing, remittance_id=rid, remittance_claim_id=rc_id
        )
        work.extend(negative_payer_items(on_claim, posting.entries, cp.claim_id, cp.segment_number))
        mismatch = responsibility_mismatch(cp)
        work.extend([mismatch] if mismatch is not None else [])
        work.extend(update_claim_status_in(uow, match.ref, cp, received.trace_number))
        number, items = _next_claim(uow, match, cp, received.payment_date)
        work.extend(items)
        if number is not None:
            result.next_claims.append(number)
    _work_rows(uow, work, rid, rc_id, ref.status_claim_id if ref else None)
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
    return rc_id


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
        sender = _sender(uow, remittance)
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
            post_claim_in(
                uow,
                cp,
                Received(rid, remittance.trace_number, remittance.header.payment_date, sender, balanced),
                key=key,
                ordinal=ordinal,
                result=result,
            )
    return result
