"""Posting one remittance (835 transaction): exactly once, claim by claim, crash-safe.

One transaction records the remittance (its key is payer id + TRN02 + BPR02 + BPR16, so
the same money re-sent in a new envelope is recognised), then the CLPs post in transactions
of up to ``CLAIMS_PER_TRANSACTION`` claims, each claim whole with its own key, so a crash part
way leaves whole claims posted and a re-run posts only the rest. What the claims of one
transaction read (the claims by number, their lines, coverages and patients' entries) is
read once for all of them (the claims locked), the rows posted and the claims' status moves
(``claim_moves.ClaimMoves``) are written together, and the summary tables are added to once
per transaction: a few statements per transaction, none per claim. A biller's assignment of
an unmatched claim posts through the same body (``post_claim_in``, a transaction of one). The
ledger rules and the entry inserts are ``service_layer.ledger``'s.
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

from sqlalchemy import Engine, select

from therabill.adapters.db import bulk, report_totals
from therabill.adapters.db.ledger_tables import (
    ledger_entries,
    practice_ledger_entries,
    remittance_claim_payments,
    remittance_claims,
    remittance_lines,
    remittances,
)
from therabill.adapters.db.tables import claims, payers
from therabill.domain.errors import ReferenceDataError, TherabillError
from therabill.domain.ledger import Entry, check_entries, new_id
from therabill.domain.money import ZERO, to_cents
from therabill.domain.posting import (
    ClaimPosting,
    ClaimRef,
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
from therabill.service_layer import ledger, secondary_claims
from therabill.service_layer.claim_moves import ClaimMoves
from therabill.service_layer.remittance_matching import Match, Reads, match_claim, sender_of
from therabill.service_layer.remittance_records import line_rows
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

CLAIMS_PER_TRANSACTION = 500
"""CLPs posted per transaction: each claim whole and once (its key is stored with its entries),
so a crash part way leaves whole claims posted and a re-run posts only the rest. A transaction
costs a few statements whatever its size (200 claims cost about a fifth more CPU, client and
server, than 500), and holds the practice's lock while it runs (about a second for 500)."""

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


def update_claim_status_in(
    uow: UnitOfWork, ref: ClaimRef, cp: Any, trace: str | None, moves: ClaimMoves | None = None
) -> list[WorkItem]:
    """Move the claim the payer adjudicated to the status the remittance implies; a worklist
    item if it cannot move. With ``moves`` the move is queued there (the caller flushes it with
    the rest of its transaction); without, it is written now."""
    queue = moves if moves is not None else ClaimMoves(uow)
    target = claim_status_after(cp, routine_reasons())
    row = queue.claim(ref.status_claim_id)
    pcn = cp.payer_claim_control_number
    changed = {"payer_claim_control_number": pcn} if pcn and row.payer_claim_control_number != pcn else {}
    work: list[WorkItem] = []
    if target is None or row.status == target:
        if changed:
            queue.set_values(row.id, **changed)
    else:
        note = f"835 {trace or ''}: {cp.status_words}, paid {cp.paid}".strip()
        try:  # the status and the payer's claim number in one update
            queue.move(row.id, target, note=note[:300], **changed)
        except TherabillError:  # refused before anything was queued
            if changed:
                queue.set_values(row.id, **changed)
            work.append(
                WorkItem(
                    "status-not-updated",
                    f"claim {cp.claim_id} is {row.status}; the remittance says {target}: status left as it is",
                    cp.claim_id,
                    amount=cp.paid,
                    segment_number=cp.segment_number,
                )
            )
    if moves is None:
        queue.flush()
    return work


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


class _Pending:
    """The rows of the claims posted so far in a transaction, inserted together (``flush``):
    remittance claims, their lines, ledger entries, worklist items; the summary tables are
    added to once, at the end (``close``)."""

    def __init__(self, uow: UnitOfWork, remittance_id: str) -> None:
        self.uow, self.remittance_id = uow, remittance_id
        self.claims: list[dict[str, Any]] = []
        self.payments: list[dict[str, Any]] = []
        self.lines: list[dict[str, Any]] = []
        self.entries: list[dict[str, Any]] = []
        self.work: list[tuple[list[WorkItem], str, str | None]] = []
        self.totals: list[dict[str, Any]] = []
        self.moves = ClaimMoves(uow)

    def flush(self) -> None:
        session = self.uow.session
        for table, rows in (
            (remittance_claims, self.claims),
            (remittance_claim_payments, self.payments),
            (remittance_lines, self.lines),
            (ledger_entries, self.entries),
        ):
            bulk.insert_rows(session, table, rows)
        for items, rc_id, claim_id in self.work:
            if items:
                _work_rows(self.uow, items, self.remittance_id, rc_id, claim_id)
        self.moves.flush()
        self.totals.extend(self.entries)
        self.claims, self.payments, self.lines, self.entries, self.work = [], [], [], [], []

    def close(self) -> None:
        self.flush()
        report_totals.add_posted(self.uow.session.connection(), self.totals)


def _no_next_claim(match: Match, cp: ClaimPayment) -> bool:
    """True when posting ``cp`` surely makes no next payer's claim and withdraws none."""
    if cp.is_reversal:
        return False
    return (
        cp.is_crossover
        or cp.status == "25"
        or match.sequence is None
        or match.ref.next_payer_id is None
        or cp.patient_responsibility_from_adjustments <= ZERO
    )


def _next_claim(
    uow: UnitOfWork, match: Match, cp: ClaimPayment, payment_date: date | None
) -> tuple[str | None, list[WorkItem]]:
    """After a payer's claim posts: the next payer's claim (or, after a reversal, its withdrawal)."""
    ref = match.ref
    if cp.is_reversal:
        return None, secondary_claims.withdraw_next_claims_in(uow, ref.claim_id, cp, keep=match.billed.id)
    sequence = match.sequence
    if _no_next_claim(match, cp) or sequence is None:
        return None, []
    nxt = secondary_claims.next_payer_of(uow, ref.patient_id, match.billed.date_of_service, sequence)
    if nxt is None or nxt.payer_id != ref.next_payer_id:
        return None, []
    savepoint = uow.session.begin_nested()
    try:
        made = secondary_claims.make_next_claim_in(
            uow,
            billed=uow.records.get(claims, match.billed.id),  # whole (posting read it without its document)
            ref=ref,
            cp=cp,
            sequence=sequence,
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


def post_remittance(
    engine: Engine, practice_id: str, actor: str, remittance: Remittance, *, file_sha256: str | None = None
) -> RemittanceResult:
    """Post one remittance transaction: its record first, then its claims, in transactions of
    up to ``CLAIMS_PER_TRANSACTION`` claims (each claim whole, each once).

    A transaction that does not balance (sum of CLP04 − PLB ≠ BPR02) posts no claim: every
    claim goes to the worklist. Each posted claim moves to the status the remittance implies
    (``therabill.domain.posting.claim_status_after``: paid, partly paid, denied, crossed
    over, or back to pending after a payer's reversal) in the transaction that posts it, with
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
        sender = sender_of(uow, remittance)
    result = RemittanceResult(
        rid, remittance.idempotency_key, new, worklist=list(items), paid=remittance.payment_amount
    )
    balanced = remittance.transaction_balanced
    numbered = list(enumerate(zip(remittance.claims, claim_keys(remittance), strict=True), start=1))
    for start in range(0, len(numbered), CLAIMS_PER_TRANSACTION):
        chunk = numbered[start : start + CLAIMS_PER_TRANSACTION]
        with UnitOfWork(engine, practice_id, actor) as uow:
            _post_claims(uow, remittance, rid, sender, balanced, chunk, result)
    return result


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
    uow: UnitOfWork, cp: ClaimPayment, received: Received, *, key: str, ordinal: int, result: RemittanceResult
) -> str:
    """Post one claim payment (CLP) in ``uow``: its record, its lines, its ledger entries, the
    claim's status, the next payer's claim, its worklist items; adds to ``result``.

    Used when a biller assigns a claim payment that matched none of ours to one of our claims;
    a remittance's own claims post through the same ``_post_one``, many per transaction.
    Returns the new remittance claim's id.
    """
    pending = _Pending(uow, received.remittance_id)
    read = Reads(uow, [cp.claim_id], pending.moves)
    rc_id = _post_one(uow, cp, received, key, ordinal, read, pending, result)
    pending.close()
    return rc_id


def _post_claims(
    uow: UnitOfWork,
    remittance: Remittance,
    rid: str,
    sender: str | None,
    balanced: bool,
    chunk: Sequence[tuple[int, tuple[ClaimPayment, str]]],
    result: RemittanceResult,
) -> None:
    """Post the CLPs of ``chunk`` (ordinal, (CLP, key)) in the open unit of work, each once."""
    done = _posted_keys(uow, rid, chunk)
    todo = [(ordinal, cp, key) for ordinal, (cp, key) in chunk if key not in done]
    result.skipped_claims += len(chunk) - len(todo)
    pending = _Pending(uow, rid)
    read = Reads(uow, [cp.claim_id for _, cp, _ in todo], pending.moves)
    received = Received(rid, remittance.trace_number, remittance.header.payment_date, sender, balanced)
    for ordinal, cp, key in todo:
        _post_one(uow, cp, received, key, ordinal, read, pending, result)
    pending.close()


def _posted_keys(
    uow: UnitOfWork, remittance_id: str, chunk: Sequence[tuple[int, tuple[ClaimPayment, str]]]
) -> set[str]:
    """The keys of ``chunk`` posted already. Each key starts with the remittance's own (one
    remittance row per key), and a copy whose claims differ from those on file is refused
    before posting (``_conflicts``), so a posted key of the chunk is at its ordinal: the rows
    of the chunk's ordinals are read (a range of the remittance's ordinal index), whatever the
    number of the practice's other claims."""
    ordinals = [ordinal for ordinal, _ in chunk]
    keys = {key for _, (_, key) in chunk}
    found = uow.session.scalars(
        select(remittance_claims.c.idempotency_key).where(
            remittance_claims.c.practice_id == uow.practice_id,
            remittance_claims.c.remittance_id == remittance_id,
            remittance_claims.c.ordinal.between(min(ordinals), max(ordinals)),
        )
    )
    return {key for key in found if key in keys}


def _post_one(
    uow: UnitOfWork,
    cp: ClaimPayment,
    received: Received,
    key: str,
    ordinal: int,
    read: Reads,
    pending: _Pending,
    result: RemittanceResult,
) -> str:
    """The one way a CLP posts (its rows go to ``pending``); returns its remittance claim's id."""
    rid, sender = received.remittance_id, received.sender
    claim_row = read.claim(cp.claim_id)
    existing = read.entries_of(claim_row.patient_id) if claim_row is not None else []
    match = match_claim(uow, cp, sender, existing, read, claim_row) if claim_row is not None else None
    ref = match.ref if match is not None else None
    on_claim = [e for e in existing if ref is not None and e.claim_id == ref.claim_id]
    posting = _posting(cp, ref, sender, existing, on_claim, balanced=received.balanced)
    rc_id = new_id()
    pending.claims.append(
        {
            "id": rc_id,
            "practice_id": uow.practice_id,
            "remittance_id": rid,
            "ordinal": ordinal,
            "idempotency_key": key,
            "claim_number": cp.claim_id,
            "status": cp.status,
            "payer_claim_control_number": cp.payer_claim_control_number,
            "charge_cents": to_cents(cp.charge),
            "paid_cents": to_cents(cp.paid),
            "patient_responsibility_cents": to_cents(cp.patient_responsibility),
            "claim_id": ref.status_claim_id if ref else None,
            "posted": posting.posted,
            "crossover": posting.crossover,
            "entry_count": len(posting.entries),
            "posted_at": uow.now(),
            "payer_id": ref.payer_id if ref is not None and posting.posted else sender,
            "remarks": list(cp.remarks),
        }
    )
    pending.payments.append(
        {"remittance_claim_id": rc_id, "practice_id": uow.practice_id, "payment": claim_payment_to_data(cp)}
    )
    pending.lines.extend(line_rows(uow, rc_id, cp, ref))
    work = list(posting.worklist)
    if posting.posted and match is not None:
        ledger.insert_entries(
            uow,
            posting.entries,
            key,
            existing=existing,
            deferred=pending.entries,
            checked=True,  # by _posting, against the same entries
            remittance_id=rid,
            remittance_claim_id=rc_id,
        )
        read.posted(posting.entries)
        work.extend(negative_payer_items(on_claim, posting.entries, cp.claim_id, cp.segment_number))
        mismatch = responsibility_mismatch(cp)
        work.extend([mismatch] if mismatch is not None else [])
        work.extend(update_claim_status_in(uow, match.ref, cp, received.trace_number, pending.moves))
        if not _no_next_claim(match, cp):  # it reads and writes more: everything written first
            pending.flush()
            number, items = _next_claim(uow, match, cp, received.payment_date)
            read.forget()
            pending.moves.forget()
            work.extend(items)
            if number is not None:
                result.next_claims.append(number)
    pending.work.append((work, rc_id, ref.status_claim_id if ref else None))
    uow.record(
        "remittance.claim-posted", "remittance_claim", rc_id, {"claim": cp.claim_id, "posted": posting.posted}
    )
    result.posted_claims += 1
    result.matched_claims += 1 if posting.posted else 0
    result.entries += len(posting.entries)
    result.worklist.extend(work)
    return rc_id
