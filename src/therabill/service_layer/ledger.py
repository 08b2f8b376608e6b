"""Ledger use cases: patient money and balances, each one transaction, each movement idempotent.

Every use case opens one ``UnitOfWork`` (one transaction for one practice; ``BEGIN
IMMEDIATE`` on SQLite, the practice row locked on PostgreSQL), checks the new entries
against the practice's posted entries with the pure ledger rules
(``therabill.domain.ledger.check_entries``), and inserts them together with the request's
idempotency key. A request whose key is already stored changes nothing and returns the
stored answer; the same key with a different request is refused.

Posting a remittance lives in ``remittance_posting`` (it uses ``insert_entries`` and
``patient_entries`` from here); the posting worklist and denials are read in ``remittances``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.engine import Row

from therabill.adapters.db import report_totals
from therabill.adapters.db.bulk import among
from therabill.adapters.db.ledger_tables import (
    idempotency_keys,
    ledger_entries,
    practice_ledger_entries,
    remittances,
)
from therabill.adapters.db.tables import claims, providers
from therabill.domain.errors import NotFoundError, Problem, TherabillError
from therabill.domain.ledger import (
    Balance,
    Bucket,
    ChargeType,
    Entry,
    EntryKind,
    LedgerError,
    PaymentMethod,
    apply_payment,
    balance_of,
    balances_by,
    check_entries,
    new_id,
    patient_account,
    payer_balances,
    reversal_of,
)
from therabill.domain.money import ZERO, D, from_cents, to_cents
from therabill.service_layer.uow import UnitOfWork


class IdempotencyConflictError(TherabillError):
    """The idempotency key was used before for a different request."""

    code = "idempotency-key-reused"


@dataclass(frozen=True, slots=True)
class Posted:
    """The answer of a money use case.

    Attributes:
        entry_ids: the entries posted (or posted by the first request with this key).
        replayed: True when the key was already used: nothing new was posted.
        unapplied: for a payment, the part not applied to any open item.
    """

    entry_ids: tuple[str, ...]
    replayed: bool = False
    unapplied: Decimal = ZERO


# --- mapping ---------------------------------------------------------------------------


def to_entry(row: Row[Any]) -> Entry:
    """A domain ``Entry`` from a ``ledger_entries`` row."""
    return Entry(
        entry_id=row.id,
        kind=EntryKind(row.kind),
        bucket=Bucket(row.bucket),
        amount=from_cents(row.amount_cents),
        patient_id=row.patient_id,
        item_id=row.item_id,
        claim_id=row.claim_id,
        claim_line_id=row.claim_line_id,
        payer_id=row.payer_id,
        group_code=row.group_code,
        reason_code=row.reason_code,
        detail=row.detail,
        instrument_id=row.instrument_id,
        journal_id=row.journal_id,
        reverses=row.reverses_entry_id,
    )


def _to_row(e: Entry, uow: UnitOfWork, key: str | None, **extra: Any) -> dict[str, Any]:
    return {
        "id": e.entry_id,
        "practice_id": uow.practice_id,
        "patient_id": e.patient_id,
        "item_id": e.item_id,
        "claim_id": e.claim_id,
        "claim_line_id": e.claim_line_id,
        "payer_id": e.payer_id,
        "kind": str(e.kind),
        "bucket": str(e.bucket),
        "amount_cents": to_cents(e.amount),
        "group_code": e.group_code,
        "reason_code": e.reason_code,
        "detail": e.detail,
        "instrument_id": e.instrument_id,
        "journal_id": e.journal_id,
        "reverses_entry_id": e.reverses,
        "idempotency_key": key,
        "posted_at": uow.now(),
        "posted_by": uow.actor,
        "remittance_id": extra.get("remittance_id"),
        "remittance_claim_id": extra.get("remittance_claim_id"),
        "memo": extra.get("memo"),
        "provider_id": extra.get("provider_id"),
    }


def entries_where(uow: UnitOfWork, *where: Any) -> list[Entry]:
    """The practice's entries matching ``where``, in posting order (inside an open unit of work)."""
    q = select(ledger_entries).where(ledger_entries.c.practice_id == uow.practice_id, *where)
    found = uow.session.execute(q.order_by(ledger_entries.c.posted_at, ledger_entries.c.id)).all()
    return [to_entry(r) for r in found]


def patient_entries(uow: UnitOfWork, patient_ids: Iterable[str]) -> list[Entry]:
    """Every entry of these patients (inside an open unit of work)."""
    ids = sorted(set(patient_ids))
    if not ids:
        return []
    dialect = uow.session.get_bind().dialect.name
    return entries_where(uow, among(ledger_entries.c.patient_id, ids, "patient_ids", dialect))


def request_hash(request: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(request, sort_keys=True, default=str).encode()).hexdigest()


def replay_in(uow: UnitOfWork, key: str, digest: str) -> Posted | None:
    row = uow.session.execute(
        select(idempotency_keys).where(
            idempotency_keys.c.practice_id == uow.practice_id, idempotency_keys.c.key == key
        )
    ).first()
    if row is None:
        return None
    if row.request_sha256 != digest:
        raise IdempotencyConflictError(
            "this idempotency key was used for a different request",
            (
                Problem(
                    "idempotency-key-reused", "idempotency_key", f"key {key!r} belongs to another request"
                ),
            ),
        )
    response = row.response or {}
    return Posted(tuple(response.get("entry_ids", ())), True, D(response.get("unapplied", "0.00")))


def insert_entries(
    uow: UnitOfWork, entries: Sequence[Entry], key: str | None, existing: Sequence[Entry] | None = None,
    deferred: list[dict[str, Any]] | None = None, checked: bool = False, **extra: Any,
) -> None:  # fmt: skip
    """Check ``entries`` against their patients' entries (unless the caller ``checked`` them against
    ``existing``) and insert them; with ``deferred``, append the rows there for the caller to insert
    and add to the summary tables before it commits."""
    if existing is None:
        existing = patient_entries(uow, (e.patient_id for e in entries))
    problems = [] if checked else check_entries(existing, entries)
    if problems:
        raise LedgerError("entries cannot be posted", tuple(problems))
    rows = [_to_row(e, uow, key, **extra) for e in entries]
    if deferred is not None:
        deferred.extend(rows)
    elif rows:
        uow.session.execute(ledger_entries.insert(), rows)
        report_totals.add_posted(uow.session.connection(), rows)


def post_keyed_in(
    uow: UnitOfWork,
    key: str,
    scope: str,
    request: dict[str, Any],
    entries: Sequence[Entry],
    unapplied: Decimal = ZERO,
    provider_id: str | None = None,
) -> Posted:
    """Insert ``entries`` with their key row, or replay the stored answer for ``key``.

    ``provider_id`` names the therapist the posting is for (a tip's therapist).
    """
    digest = request_hash(request)
    replay = replay_in(uow, key, digest)
    if replay is not None:
        return replay
    insert_entries(uow, entries, key, provider_id=provider_id)
    answer = Posted(tuple(e.entry_id for e in entries), False, unapplied)
    uow.session.execute(
        idempotency_keys.insert().values(
            id=new_id(),
            practice_id=uow.practice_id,
            key=key,
            scope=scope,
            request_sha256=digest,
            response={"entry_ids": list(answer.entry_ids), "unapplied": str(unapplied)},
            created_at=uow.now(),
        )
    )
    uow.record(
        f"ledger.{scope}", "ledger_entry", answer.entry_ids[0] if answer.entry_ids else None, {"key": key}
    )
    return answer


def ledger_unit(engine: Engine, practice_id: str, actor: str, **kw: Any) -> UnitOfWork:
    return UnitOfWork(engine, practice_id, actor, **kw)


def post_entries(
    engine: Engine, practice_id: str, actor: str, entries: Sequence[Entry], *, key: str
) -> Posted:
    """Post prepared entries as one idempotent posting (the building block of the use cases)."""
    request = {
        "entries": [(str(e.kind), str(e.bucket), str(e.amount), e.item_id, e.reverses) for e in entries]
    }
    with ledger_unit(engine, practice_id, actor) as uow:
        return post_keyed_in(uow, key, "entries", request, entries)


# --- charges ---------------------------------------------------------------------------


def post_claim_charges(engine: Engine, practice_id: str, actor: str, claim_id: str) -> Posted:
    """Post one charge per line of a claim, owed by the claim's payer (once per claim)."""
    with ledger_unit(engine, practice_id, actor) as uow:
        return claim_charges_in(uow, claim_id)


def claim_charges_in(uow: UnitOfWork, claim_id: str) -> Posted:
    """Post a claim's line charges inside an open unit of work (idempotent per claim).

    The records service calls this in the transaction that creates the claim, so a claim
    never exists without its charges; the key ``claim-charges:<claim id>`` makes a second
    call (``post_claim_charges``) a no-op.
    """
    claim = uow.records.get(claims, claim_id)
    lines = uow.records.lines_of(claim_id)
    bucket = Bucket.INSURANCE if claim.payer_id else Bucket.PATIENT
    entries = [
        Entry(
            entry_id=new_id(),
            kind=EntryKind.CHARGE,
            bucket=bucket,
            amount=from_cents(ln.charge_cents),
            patient_id=claim.patient_id,
            item_id=ln.id,
            claim_id=claim.id,
            claim_line_id=ln.id,
            payer_id=claim.payer_id,
            detail=ChargeType.CLAIM_LINE if claim.payer_id else ChargeType.SELF_PAY,
        )
        for ln in lines
        if ln.charge_cents > 0
    ]
    return post_keyed_in(uow, f"claim-charges:{claim_id}", "charge", {"claim": claim_id}, entries)


def reverse_claim_charges_in(uow: UnitOfWork, claim_id: str) -> Posted:
    """Reverse a voided claim's unreversed line charges inside an open unit of work.

    Payments and adjustments already posted on the claim stay (a payer takes its money
    back with its own reversal); the patient's account shows any resulting credit.
    Idempotent: the key is ``claim-void:<claim id>``.
    """
    uow.records.get(claims, claim_id)
    mine = entries_where(uow, ledger_entries.c.claim_id == claim_id)
    reversed_ids = {e.reverses for e in mine if e.reverses}
    entries = [
        reversal_of(e)
        for e in mine
        if e.kind is EntryKind.CHARGE and not e.is_reversal and e.entry_id not in reversed_ids
    ]
    return post_keyed_in(uow, f"claim-void:{claim_id}", "claim-void", {"void": claim_id}, entries)


def post_charge(
    engine: Engine,
    practice_id: str,
    actor: str,
    *,
    patient_id: str,
    amount: Decimal,
    charge_type: ChargeType,
    key: str,
    sales_tax: Decimal = ZERO,
) -> Posted:
    """Post a charge never billed to insurance (no-show or late-cancel fee, retail sale).

    A retail sale's ``sales_tax`` is a second charge on its own item (``sales-tax``), so the
    tax is owed by the patient but never counted as revenue.
    """
    entries = [
        Entry(new_id(), EntryKind.CHARGE, Bucket.PATIENT, D(amount), patient_id, detail=str(charge_type))
    ]
    if D(sales_tax) > ZERO:
        entries.append(
            Entry(
                new_id(),
                EntryKind.CHARGE,
                Bucket.PATIENT,
                D(sales_tax),
                patient_id,
                detail=ChargeType.SALES_TAX,
            )
        )
    entries = [own_item_in(e) for e in entries]
    request = {"patient": patient_id, "amount": str(amount), "type": str(charge_type), "tax": str(sales_tax)}
    with ledger_unit(engine, practice_id, actor) as uow:
        uow.records.patient(patient_id)
        return post_keyed_in(uow, key, "charge", request, entries)


def own_item_in(e: Entry) -> Entry:
    return Entry(e.entry_id, e.kind, e.bucket, e.amount, e.patient_id, item_id=e.entry_id, detail=e.detail)


# --- patient payments ------------------------------------------------------------------


def post_patient_payment(
    engine: Engine,
    practice_id: str,
    actor: str,
    *,
    patient_id: str,
    amount: Decimal,
    method: PaymentMethod,
    key: str,
    item_id: str | None = None,
    tip: Decimal = ZERO,
    apply: bool = True,
    tip_method: PaymentMethod | None = None,
    provider_id: str | None = None,
) -> Posted:
    """Post a patient payment (cash, card, check, HSA/FSA) and an optional tip.

    With ``item_id`` the whole payment applies to that item (one of this patient's charges);
    otherwise (``apply``) it is split across the patient's open items in proportion to their
    patient balances (largest remainder) and any rest stays unapplied, a credit on the
    patient's account. The tip is a separate entry in the tips bucket, never revenue, paid
    by ``tip_method`` (default: ``method``) and kept for ``provider_id``; a tip is never paid
    from an HSA or FSA (``payment-tip-not-eligible``): it is not a medical expense.
    """
    amount, tip = D(amount), D(tip)
    paid_tip_with = tip_method or method
    if amount <= ZERO and tip <= ZERO:
        raise TherabillError(
            "nothing to post", (Problem("payment-amount-invalid", "amount", "the amount must be positive"),)
        )
    if amount < ZERO or tip < ZERO:
        field_name = "amount" if amount < ZERO else "tip"
        raise TherabillError(
            "amounts cannot be negative",
            (Problem("payment-amount-invalid", field_name, "the amount cannot be negative"),),
        )
    if tip > ZERO and paid_tip_with in (PaymentMethod.HSA, PaymentMethod.FSA):
        raise TherabillError(
            "a tip cannot be paid from an HSA or FSA",
            (
                Problem(
                    "payment-tip-not-eligible",
                    "tip_method",
                    "a tip is not a medical expense: take it by cash, card or check",
                ),
            ),
        )
    request = {
        "patient": patient_id,
        "amount": str(amount),
        "method": str(method),
        "item": item_id,
        "tip": str(tip),
        "apply": apply,
    }
    if tip > ZERO and paid_tip_with is not method:
        request["tip_method"] = str(paid_tip_with)
    if provider_id is not None:
        request["provider"] = provider_id
    with ledger_unit(engine, practice_id, actor) as uow:
        uow.records.patient(patient_id)
        replay = replay_in(uow, key, request_hash(request))
        if replay is not None:
            return replay
        if provider_id is not None:
            uow.records.get(providers, provider_id)
        existing = patient_entries(uow, [patient_id])
        charged = {e.item_id for e in existing if e.kind is EntryKind.CHARGE}
        if item_id is not None and item_id not in charged:
            raise NotFoundError(
                "no such charge of this patient", (Problem("ledger-item-not-found", "item_id", item_id),)
            )
        if amount == ZERO:
            parts, unapplied = {}, ZERO
        elif item_id is not None:
            parts, unapplied = {item_id: amount}, ZERO
        elif apply:
            open_items = {k: b.patient_balance for k, b in balances_by(existing, lambda e: e.item_id).items()}
            parts, unapplied = apply_payment(amount, open_items)
        else:
            parts, unapplied = {}, amount
        by_item = {e.item_id: e for e in existing if e.kind is EntryKind.CHARGE and e.item_id}
        entries = [
            Entry(
                new_id(),
                EntryKind.PATIENT_PAYMENT,
                Bucket.PATIENT,
                part,
                patient_id,
                item_id=item,
                claim_id=by_item[item].claim_id if item in by_item else None,
                claim_line_id=by_item[item].claim_line_id if item in by_item else None,
                detail=str(method),
            )
            for item, part in sorted(parts.items())
        ]
        if unapplied > ZERO:
            entries.append(
                Entry(
                    new_id(),
                    EntryKind.PATIENT_PAYMENT,
                    Bucket.PATIENT,
                    unapplied,
                    patient_id,
                    detail=str(method),
                )
            )
        if tip > ZERO:
            entries.append(
                Entry(new_id(), EntryKind.TIP, Bucket.TIPS, tip, patient_id, detail=str(paid_tip_with))
            )
        return post_keyed_in(uow, key, "patient-payment", request, entries, unapplied, provider_id)


def refund_patient(
    engine: Engine,
    practice_id: str,
    actor: str,
    *,
    patient_id: str,
    amount: Decimal,
    method: PaymentMethod,
    key: str,
) -> Posted:
    """Refund money to a patient from a credit balance: a refund entry, never an edit.

    Refuses more than the patient's credit (``refund-exceeds-credit``).
    """
    request = {"patient": patient_id, "amount": str(amount), "method": str(method)}
    entry = Entry(new_id(), EntryKind.REFUND, Bucket.PATIENT, D(amount), patient_id, detail=str(method))
    with ledger_unit(engine, practice_id, actor) as uow:
        uow.records.patient(patient_id)
        replay = replay_in(uow, key, request_hash(request))
        if replay is not None:
            return replay
        credit = patient_account(patient_id, patient_entries(uow, [patient_id])).credit
        if D(amount) > credit:
            raise TherabillError(
                "the refund is more than the credit",
                (Problem("refund-exceeds-credit", "amount", f"the patient's credit is {credit}"),),
            )
        return post_keyed_in(uow, key, "refund", request, [entry])


# --- corrections ------------------------------------------------------------------------


# --- reading ------------------------------------------------------------------------------


def all_entries(engine: Engine, practice_id: str, actor: str) -> list[Entry]:
    """Every entry of the practice, in posting order."""
    with ledger_unit(engine, practice_id, actor, read_only=True) as uow:
        return entries_where(uow)


def balances(
    engine: Engine,
    practice_id: str,
    actor: str,
    *,
    patient_id: str | None = None,
    claim_id: str | None = None,
) -> dict[str, Any]:
    """Balances of a patient (with items, credit, unapplied, prepaid, tips) or of a claim."""
    with ledger_unit(engine, practice_id, actor, read_only=True) as uow:
        if claim_id is not None:
            uow.records.get(claims, claim_id)
            entries = entries_where(uow, ledger_entries.c.claim_id == claim_id)
            return {
                "claim_id": claim_id,
                "balance": balance_of(entries).as_dict(),
                "lines": {k: v.as_dict() for k, v in balances_by(entries, lambda e: e.claim_line_id).items()},
                "payers": {k: str(v) for k, v in payer_balances(entries).items()},
                "holds": all(b.holds() for b in balances_by(entries, lambda e: e.item_id).values()),
            }
        if patient_id is None:
            raise TherabillError(
                "name a patient or a claim", (Problem("ledger-scope-missing", "--patient", "required"),)
            )
        uow.records.patient(patient_id)
        acct = patient_account(patient_id, patient_entries(uow, [patient_id]))
        return {
            "patient_id": patient_id,
            "balance": acct.balance.as_dict(),
            "credit": str(acct.credit),
            "unapplied": str(acct.unapplied),
            "tips": str(acct.tips),
            "prepaid": {k: str(v) for k, v in acct.prepaid.items()},
            "items": {k: v.as_dict() for k, v in acct.items.items()},
            "holds": all(b.holds() for b in acct.items.values()) and acct.balance.holds(),
        }


def check_ledger(engine: Engine, practice_id: str, actor: str) -> list[Problem]:
    """Problems of the stored ledger (empty: every item's equation holds, journals balance,
    and each remittance's practice-level PLB entries add up to its PLB total)."""
    entries = all_entries(engine, practice_id, actor)
    problems = [
        Problem("ledger-equation-broken", f"item {k}", "charges != payments + adjustments + balances")
        for k, b in balances_by(entries, lambda e: e.item_id).items()
        if not b.holds()
    ]
    journals: dict[str, Decimal] = {}
    for e in entries:
        if e.kind is EntryKind.TRANSFER and e.journal_id:
            journals[e.journal_id] = journals.get(e.journal_id, ZERO) + e.amount
    problems.extend(
        Problem("ledger-journal-unbalanced", f"journal {j}", f"legs sum to {t}")
        for j, t in journals.items()
        if t != ZERO
    )
    with ledger_unit(engine, practice_id, actor, read_only=True) as uow:
        plb = dict(
            uow.session.execute(
                select(
                    practice_ledger_entries.c.remittance_id, func.sum(practice_ledger_entries.c.amount_cents)
                )
                .where(practice_ledger_entries.c.practice_id == practice_id)
                .group_by(practice_ledger_entries.c.remittance_id)
            ).all()
        )
        expected = dict(
            uow.session.execute(
                select(remittances.c.id, remittances.c.provider_adjustment_cents).where(
                    remittances.c.practice_id == practice_id, remittances.c.id.in_(list(plb))
                )
            ).all()
        )
    problems.extend(
        Problem(
            "ledger-plb-mismatch",
            f"remittance {rid}",
            f"PLB entries {total} != remittance {expected.get(rid)}",
        )
        for rid, total in plb.items()
        if int(total) != int(expected.get(rid) or 0)
    )
    return problems


__all__ = [
    "Balance",
    "IdempotencyConflictError",
    "Posted",
    "all_entries",
    "balances",
    "check_ledger",
    "entries_where",
    "insert_entries",
    "patient_entries",
    "post_charge",
    "post_claim_charges",
    "post_entries",
    "post_patient_payment",
    "refund_patient",
    "to_entry",
]
