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
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.engine import Row

from therabill.adapters.db import report_totals
from therabill.adapters.db.ledger_tables import (
    idempotency_keys,
    ledger_entries,
    practice_ledger_entries,
    prepaid_instruments,
    remittances,
)
from therabill.adapters.db.tables import claims, coverages
from therabill.domain.errors import NotFoundError, Problem, TherabillError
from therabill.domain.ledger import (
    Balance,
    Bucket,
    ChargeType,
    Entry,
    EntryKind,
    LedgerError,
    PaymentMethod,
    PrepaidType,
    allocate,
    apply_payment,
    balance_of,
    balances_by,
    check_entries,
    new_id,
    patient_account,
    payer_balances,
    prepaid_remaining,
    reversal_of,
    transfer,
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
    }


def entries_where(uow: UnitOfWork, *where: Any) -> list[Entry]:
    """The practice's entries matching ``where``, in posting order (inside an open unit of work)."""
    q = select(ledger_entries).where(ledger_entries.c.practice_id == uow.practice_id, *where)
    return [
        to_entry(r) for r in uow.session.execute(q.order_by(ledger_entries.c.posted_at, ledger_entries.c.id))
    ]


def patient_entries(uow: UnitOfWork, patient_ids: Iterable[str]) -> list[Entry]:
    """Every entry of these patients (inside an open unit of work)."""
    ids = sorted(set(patient_ids))
    return entries_where(uow, ledger_entries.c.patient_id.in_(ids)) if ids else []


def _request_hash(request: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(request, sort_keys=True, default=str).encode()).hexdigest()


def _replay(uow: UnitOfWork, key: str, request_hash: str) -> Posted | None:
    row = uow.session.execute(
        select(idempotency_keys).where(
            idempotency_keys.c.practice_id == uow.practice_id, idempotency_keys.c.key == key
        )
    ).first()
    if row is None:
        return None
    if row.request_sha256 != request_hash:
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
    uow: UnitOfWork,
    entries: Sequence[Entry],
    key: str | None,
    existing: Sequence[Entry] | None = None,
    **extra: Any,
) -> None:
    """Check ``entries`` against the posted entries of their patients and insert them."""
    if existing is None:
        existing = patient_entries(uow, (e.patient_id for e in entries))
    problems = check_entries(existing, entries)
    if problems:
        raise LedgerError("entries cannot be posted", tuple(problems))
    if entries:
        rows = [_to_row(e, uow, key, **extra) for e in entries]
        uow.session.execute(ledger_entries.insert(), rows)
        report_totals.add_posted(uow.session.connection(), rows)


def _post_keyed(
    uow: UnitOfWork,
    key: str,
    scope: str,
    request: dict[str, Any],
    entries: Sequence[Entry],
    unapplied: Decimal = ZERO,
) -> Posted:
    """Insert ``entries`` with their key row, or replay the stored answer for ``key``."""
    request_hash = _request_hash(request)
    replay = _replay(uow, key, request_hash)
    if replay is not None:
        return replay
    insert_entries(uow, entries, key)
    answer = Posted(tuple(e.entry_id for e in entries), False, unapplied)
    uow.session.execute(
        idempotency_keys.insert().values(
            id=new_id(),
            practice_id=uow.practice_id,
            key=key,
            scope=scope,
            request_sha256=request_hash,
            response={"entry_ids": list(answer.entry_ids), "unapplied": str(unapplied)},
            created_at=uow.now(),
        )
    )
    uow.record(
        f"ledger.{scope}", "ledger_entry", answer.entry_ids[0] if answer.entry_ids else None, {"key": key}
    )
    return answer


def _unit(engine: Engine, practice_id: str, actor: str, **kw: Any) -> UnitOfWork:
    return UnitOfWork(engine, practice_id, actor, **kw)


def post_entries(
    engine: Engine, practice_id: str, actor: str, entries: Sequence[Entry], *, key: str
) -> Posted:
    """Post prepared entries as one idempotent posting (the building block of the use cases)."""
    request = {
        "entries": [(str(e.kind), str(e.bucket), str(e.amount), e.item_id, e.reverses) for e in entries]
    }
    with _unit(engine, practice_id, actor) as uow:
        return _post_keyed(uow, key, "entries", request, entries)


# --- charges ---------------------------------------------------------------------------


def post_claim_charges(engine: Engine, practice_id: str, actor: str, claim_id: str) -> Posted:
    """Post one charge per line of a claim, owed by the claim's payer (once per claim)."""
    with _unit(engine, practice_id, actor) as uow:
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
    return _post_keyed(uow, f"claim-charges:{claim_id}", "charge", {"claim": claim_id}, entries)


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
    return _post_keyed(uow, f"claim-void:{claim_id}", "claim-void", {"void": claim_id}, entries)


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
    entries = [_own_item(e) for e in entries]
    request = {"patient": patient_id, "amount": str(amount), "type": str(charge_type), "tax": str(sales_tax)}
    with _unit(engine, practice_id, actor) as uow:
        uow.records.patient(patient_id)
        return _post_keyed(uow, key, "charge", request, entries)


def _own_item(e: Entry) -> Entry:
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
) -> Posted:
    """Post a patient payment (cash, card, check, HSA/FSA) and an optional tip.

    With ``item_id`` the whole payment applies to that item; otherwise (``apply``) it is
    split across the patient's open items in proportion to their patient balances (largest
    remainder) and any rest stays unapplied, a credit on the patient's account. The tip is
    a separate entry in the tips bucket, never revenue.
    """
    amount = D(amount)
    request = {
        "patient": patient_id,
        "amount": str(amount),
        "method": str(method),
        "item": item_id,
        "tip": str(tip),
        "apply": apply,
    }
    with _unit(engine, practice_id, actor) as uow:
        uow.records.patient(patient_id)
        replay = _replay(uow, key, _request_hash(request))
        if replay is not None:
            return replay
        existing = patient_entries(uow, [patient_id])
        if item_id is not None:
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
        if D(tip) > ZERO:
            entries.append(
                Entry(new_id(), EntryKind.TIP, Bucket.TIPS, D(tip), patient_id, detail=str(method))
            )
        return _post_keyed(uow, key, "patient-payment", request, entries, unapplied)


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
    """Refund money to a patient (from a credit balance): a refund entry, never an edit."""
    request = {"patient": patient_id, "amount": str(amount), "method": str(method)}
    entry = Entry(new_id(), EntryKind.REFUND, Bucket.PATIENT, D(amount), patient_id, detail=str(method))
    with _unit(engine, practice_id, actor) as uow:
        uow.records.patient(patient_id)
        return _post_keyed(uow, key, "refund", request, [entry])


# --- corrections ------------------------------------------------------------------------


def reverse_entry(
    engine: Engine, practice_id: str, actor: str, entry_id: str, *, key: str | None = None
) -> Posted:
    """Reverse an entry (every leg of a transfer): new entries that negate it."""
    with _unit(engine, practice_id, actor) as uow:
        row = uow.session.execute(
            select(ledger_entries).where(
                ledger_entries.c.practice_id == practice_id, ledger_entries.c.id == entry_id
            )
        ).first()
        if row is None:
            raise NotFoundError("no such entry", (Problem("ledger-entry-not-found", "entry", entry_id),))
        original = to_entry(row)
        existing = patient_entries(uow, [original.patient_id])
        if original.kind is EntryKind.TRANSFER and original.journal_id:
            legs = [e for e in existing if e.journal_id == original.journal_id and not e.is_reversal]
        else:
            legs = [original]
        journal = new_id() if original.journal_id else None
        entries = [reversal_of(leg, journal_id=journal) for leg in legs]
        return _post_keyed(uow, key or f"reverse:{entry_id}", "reversal", {"reverse": entry_id}, entries)


def write_off(
    engine: Engine,
    practice_id: str,
    actor: str,
    *,
    item_id: str,
    amount: Decimal | None = None,
    bucket: Bucket = Bucket.PATIENT,
    group_code: str = "CO",
    reason_code: str,
    key: str,
) -> Posted:
    """Write off (part of) an item's balance in one bucket, with a group and reason code."""
    with _unit(engine, practice_id, actor) as uow:
        charge = _item_charge(uow, item_id)
        existing = patient_entries(uow, [charge.patient_id])
        mine = [e for e in existing if e.item_id == item_id]
        bal = balance_of(mine)
        open_amount = bal.insurance_balance if bucket is Bucket.INSURANCE else bal.patient_balance
        value = D(amount) if amount is not None else open_amount
        payer = _item_payer(mine) if bucket is Bucket.INSURANCE else None
        entry = Entry(
            new_id(),
            EntryKind.WRITE_OFF,
            bucket,
            value,
            charge.patient_id,
            item_id=item_id,
            claim_id=charge.claim_id,
            claim_line_id=charge.claim_line_id,
            payer_id=payer,
            group_code=group_code,
            reason_code=reason_code,
        )
        request = {"item": item_id, "amount": str(value), "bucket": str(bucket), "reason": reason_code}
        return _post_keyed(uow, key, "write-off", request, [entry])


def _item_charge(uow: UnitOfWork, item_id: str) -> Entry:
    rows = entries_where(uow, ledger_entries.c.item_id == item_id, ledger_entries.c.kind == "charge")
    if not rows:
        raise NotFoundError("no such item", (Problem("ledger-item-not-found", "item", item_id),))
    return rows[0]


def _item_payer(entries: Sequence[Entry]) -> str | None:
    """The payer that owes the most on an item (the current insurance holder)."""
    owed = payer_balances(entries)
    if not owed:
        return None
    return max(sorted(owed), key=lambda p: owed[p])


def transfer_balance(
    engine: Engine,
    practice_id: str,
    actor: str,
    *,
    item_id: str,
    to: str,
    key: str,
    amount: Decimal | None = None,
    reason_code: str | None = None,
) -> Posted:
    """Move an item's insurance balance to the patient (``to="patient"``) or the secondary payer.

    ``to="secondary"`` finds the patient's secondary coverage; the amount defaults to the
    whole insurance balance the current payer holds.
    """
    with _unit(engine, practice_id, actor) as uow:
        charge = _item_charge(uow, item_id)
        existing = patient_entries(uow, [charge.patient_id])
        mine = [e for e in existing if e.item_id == item_id]
        payer = _item_payer(mine)
        if payer is None:
            raise TherabillError(
                "nothing owed by insurance", (Problem("ledger-no-insurance-balance", "item", item_id),)
            )
        value = D(amount) if amount is not None else payer_balances(mine)[payer]
        if to == "patient":
            target_bucket, target_payer = Bucket.PATIENT, None
        else:
            target_payer = _coverage_payer(uow, charge.patient_id, "secondary")
            target_bucket = Bucket.INSURANCE
        legs = transfer(
            value,
            patient_id=charge.patient_id,
            item_id=item_id,
            claim_id=charge.claim_id,
            from_bucket=Bucket.INSURANCE,
            from_payer=payer,
            to_bucket=target_bucket,
            to_payer=target_payer,
            group_code="PR" if to == "patient" else None,
            reason_code=reason_code,
        )
        request = {"item": item_id, "to": to, "amount": str(value)}
        return _post_keyed(uow, key, "transfer", request, list(legs))


def _coverage_payer(uow: UnitOfWork, patient_id: str, sequence: str) -> str:
    row = uow.session.execute(
        select(coverages.c.payer_id).where(
            coverages.c.practice_id == uow.practice_id,
            coverages.c.patient_id == patient_id,
            coverages.c.sequence == sequence,
        )
    ).first()
    if row is None:
        raise NotFoundError(
            f"the patient has no {sequence} coverage",
            (Problem("ledger-coverage-missing", "to", f"no {sequence} coverage on file"),),
        )
    return str(row.payer_id)


# --- packages and gift certificates -------------------------------------------------------


def sell_prepaid(
    engine: Engine,
    practice_id: str,
    actor: str,
    *,
    patient_id: str,
    kind: PrepaidType,
    code: str,
    price: Decimal,
    method: PaymentMethod,
    key: str,
    sessions: int | None = None,
    description: str | None = None,
    expires_on: date | None = None,
) -> Posted:
    """Sell a package (``sessions`` visits for ``price``) or a gift certificate: a liability."""
    request = {
        "patient": patient_id,
        "kind": str(kind),
        "code": code,
        "price": str(price),
        "sessions": sessions,
    }
    with _unit(engine, practice_id, actor) as uow:
        uow.records.patient(patient_id)
        replay = _replay(uow, key, _request_hash(request))
        if replay is not None:
            return replay
        instrument_id = new_id()
        uow.session.execute(
            prepaid_instruments.insert().values(
                id=instrument_id,
                practice_id=practice_id,
                patient_id=patient_id,
                kind=str(kind),
                code=code,
                description=description,
                sessions=sessions,
                price_cents=to_cents(D(price)),
                expires_on=expires_on,
                sold_at=uow.now(),
            )
        )
        entry = Entry(
            new_id(),
            EntryKind.PREPAID_SALE,
            Bucket.PREPAID,
            D(price),
            patient_id,
            instrument_id=instrument_id,
            group_code=str(kind),
            detail=str(method),
        )
        return _post_keyed(uow, key, "prepaid-sale", request, [entry])


def redeem_prepaid(
    engine: Engine,
    practice_id: str,
    actor: str,
    *,
    code: str,
    item_id: str,
    key: str,
    amount: Decimal | None = None,
) -> Posted:
    """Apply a package session or gift-certificate value to an item's patient balance.

    A package session is worth its share of the price (the price split over the sessions by
    largest remainder); a gift certificate pays ``amount`` (default: the item's patient
    balance), never more than its remaining value.
    """
    with _unit(engine, practice_id, actor) as uow:
        inst = uow.session.execute(
            select(prepaid_instruments).where(
                prepaid_instruments.c.practice_id == practice_id, prepaid_instruments.c.code == code
            )
        ).first()
        if inst is None:
            raise NotFoundError(
                "no such package or gift certificate", (Problem("prepaid-not-found", "code", code),)
            )
        existing = patient_entries(uow, [inst.patient_id])
        remaining = prepaid_remaining(existing).get(inst.id, ZERO)
        item_bal = balance_of([e for e in existing if e.item_id == item_id]).patient_balance
        if inst.kind == PrepaidType.PACKAGE and inst.sessions:
            used = sum(
                1
                for e in existing
                if e.kind is EntryKind.REDEMPTION and e.instrument_id == inst.id and not e.is_reversal
            )
            used -= sum(
                1
                for e in existing
                if e.kind is EntryKind.REDEMPTION and e.instrument_id == inst.id and e.is_reversal
            )
            if used >= inst.sessions:
                raise TherabillError("the package is used up", (Problem("prepaid-used-up", "code", code),))
            value = allocate(from_cents(inst.price_cents), [Decimal(1)] * inst.sessions)[used]
        else:
            value = min(D(amount) if amount is not None else item_bal, remaining)
        if value <= ZERO:
            raise TherabillError("nothing to redeem", (Problem("prepaid-nothing-to-redeem", "code", code),))
        charge = next((e for e in existing if e.item_id == item_id and e.kind is EntryKind.CHARGE), None)
        entry = Entry(
            new_id(),
            EntryKind.REDEMPTION,
            Bucket.PATIENT,
            value,
            inst.patient_id,
            item_id=item_id,
            claim_id=charge.claim_id if charge else None,
            claim_line_id=charge.claim_line_id if charge else None,
            instrument_id=inst.id,
            detail=str(inst.kind),
        )
        return _post_keyed(
            uow, key, "redemption", {"code": code, "item": item_id, "amount": str(value)}, [entry]
        )


# --- reading ------------------------------------------------------------------------------


def all_entries(engine: Engine, practice_id: str, actor: str) -> list[Entry]:
    """Every entry of the practice, in posting order."""
    with _unit(engine, practice_id, actor, read_only=True) as uow:
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
    with _unit(engine, practice_id, actor, read_only=True) as uow:
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
    with _unit(engine, practice_id, actor, read_only=True) as uow:
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
    "redeem_prepaid",
    "refund_patient",
    "reverse_entry",
    "sell_prepaid",
    "to_entry",
    "transfer_balance",
    "write_off",
]
