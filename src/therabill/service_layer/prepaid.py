"""Packages, memberships and gift certificates: sold as a liability, redeemed against charges.

A sale records the instrument (``prepaid_instruments``) and a prepaid-sale entry in one
transaction; a redemption is a ledger entry that pays one of the patient's charges. Both post
through the ledger's keyed posting (``ledger.post_keyed_in``: one transaction, idempotent by key,
checked against the patient's posted entries), so a retried sale or redemption posts once.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.engine import Row

from therabill.adapters.db.ledger_tables import prepaid_instruments
from therabill.domain.errors import NotFoundError, Problem, TherabillError
from therabill.domain.ledger import (
    Bucket,
    Entry,
    EntryKind,
    PaymentMethod,
    PrepaidType,
    allocate,
    balance_of,
    new_id,
    prepaid_remaining,
)
from therabill.domain.money import ZERO, D, from_cents, to_cents
from therabill.service_layer.ledger import (
    Posted,
    ledger_unit,
    patient_entries,
    post_keyed_in,
    replay_in,
    request_hash,
)
from therabill.service_layer.ledger_corrections import item_charge_in
from therabill.service_layer.uow import UnitOfWork

__all__ = ["GIFT_CERTIFICATE_MIN_YEARS", "prepaid_sale_problems", "redeem_prepaid", "sell_prepaid"]


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
    """Sell a package (``sessions`` visits for ``price``) or a gift certificate: a liability.

    A code is unique in the practice (``prepaid-code-taken``); a package needs sessions; a
    gift certificate may not expire sooner than ``GIFT_CERTIFICATE_MIN_YEARS`` after the
    sale (the federal floor; some states forbid any expiry, see the docs).
    """
    request = {
        "patient": patient_id,
        "kind": str(kind),
        "code": code,
        "price": str(price),
        "sessions": sessions,
        "method": str(method),
        "expires_on": None if expires_on is None else expires_on.isoformat(),
    }
    problems = prepaid_sale_problems(kind, code, D(price), sessions, method)
    if problems:
        raise TherabillError("the sale cannot be made", tuple(problems))
    with ledger_unit(engine, practice_id, actor) as uow:
        uow.records.patient(patient_id)
        replay = replay_in(uow, key, request_hash(request))
        if replay is not None:
            return replay
        sold_on = uow.now().date()
        if kind is PrepaidType.GIFT_CERTIFICATE and expires_on is not None:
            floor = _years_after(sold_on, GIFT_CERTIFICATE_MIN_YEARS)
            if expires_on < floor:
                raise TherabillError(
                    "a gift certificate expires too soon",
                    (
                        Problem(
                            "gift-certificate-expiry-too-soon",
                            "expires_on",
                            f"no sooner than {floor.isoformat()} ({GIFT_CERTIFICATE_MIN_YEARS} years)",
                        ),
                    ),
                )
        elif expires_on is not None and expires_on < sold_on:
            raise TherabillError(
                "the expiry is in the past", (Problem("prepaid-expiry-past", "expires_on", str(expires_on)),)
            )
        if _instrument(uow, code) is not None:
            raise TherabillError(
                "that code is taken", (Problem("prepaid-code-taken", "code", f"{code!r} is in use"),)
            )
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
        return post_keyed_in(uow, key, "prepaid-sale", request, [entry])


GIFT_CERTIFICATE_MIN_YEARS = 5
"""A gift certificate may not expire sooner than this many years after its sale."""


def _years_after(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def prepaid_sale_problems(
    kind: PrepaidType, code: str, price: Decimal, sessions: int | None, method: PaymentMethod
) -> list[Problem]:
    """What is wrong with a package or gift-certificate sale before it reaches the database.

    A gift certificate is not a medical expense: it is never paid from an HSA or FSA.
    """
    out = []
    if kind is PrepaidType.GIFT_CERTIFICATE and method in (PaymentMethod.HSA, PaymentMethod.FSA):
        out.append(
            Problem(
                "prepaid-hsa-not-eligible", "method", "a gift certificate cannot be paid from an HSA or FSA"
            )
        )
    if not code.strip() or len(code) > 40:
        out.append(Problem("prepaid-code-invalid", "code", "1 to 40 characters"))
    if price <= ZERO:
        out.append(Problem("prepaid-price-invalid", "price", "the price must be positive"))
    if kind is PrepaidType.PACKAGE and (sessions is None or sessions < 1):
        out.append(Problem("prepaid-sessions-missing", "sessions", "a package needs at least one session"))
    return out


def _instrument(uow: UnitOfWork, code: str) -> Row[Any] | None:
    return uow.session.execute(
        select(prepaid_instruments).where(
            prepaid_instruments.c.practice_id == uow.practice_id, prepaid_instruments.c.code == code
        )
    ).first()


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
    balance), never more than its remaining value. The item must be a charge of the
    instrument's patient (``prepaid-other-patient``); an expired package is refused
    (``prepaid-expired``). A retry with the same key replays before anything is computed.
    """
    request = {"code": code, "item": item_id, "amount": None if amount is None else str(amount)}
    with ledger_unit(engine, practice_id, actor) as uow:
        replay = replay_in(uow, key, request_hash(request))
        if replay is not None:
            return replay
        inst = _instrument(uow, code)
        if inst is None:
            raise NotFoundError(
                "no such package or gift certificate", (Problem("prepaid-not-found", "code", code),)
            )
        if inst.expires_on is not None and inst.expires_on < uow.now().date():
            raise TherabillError(
                "the package or certificate has expired",
                (Problem("prepaid-expired", "code", f"expired on {inst.expires_on.isoformat()}"),),
            )
        item = item_charge_in(uow, item_id)
        if item.patient_id != inst.patient_id:
            raise TherabillError(
                "the item is another patient's",
                (Problem("prepaid-other-patient", "item_id", "redeem for the patient it was sold to"),),
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
        return post_keyed_in(uow, key, "redemption", request, [entry])
