"""Received payments (835 / EFT) and the bank: what became of each payment's claims, and the
bank deposit it arrived as.

- ``received_payments``: the received payments with truthful counts (posted, matched but
  denied, unmatched and not assigned yet, to review) and the deposit each was reconciled with.
- ``record_deposit``: the bank deposit (amount, date) a received payment arrived as; a
  difference from the payment is shown as a mismatch.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, select, update

from therabill.adapters.db.ledger_tables import (
    bank_deposits,
    remittance_assignments,
    remittance_claims,
    remittances,
)
from therabill.domain.errors import NotFoundError, Problem
from therabill.domain.ledger import new_id
from therabill.domain.money import from_cents, to_cents
from therabill.service_layer.errors import refuse
from therabill.service_layer.uow import UnitOfWork

__all__ = ["ReceivedPayment", "received_payments", "record_deposit"]


@dataclass(frozen=True, slots=True)
class ReceivedPayment:
    """A received payment (one 835 transaction) with what became of its claims and its deposit.

    Attributes:
        id: the remittance; ``payer``; ``trace_number`` (check or EFT); ``method``.
        amount: BPR02; ``payment_date``: BPR16; ``received_at``: when it was posted here.
        posted: claims paid (fully or partly) on our claims; ``denied``: matched, denied;
        unmatched: claims that matched none of ours and are not assigned yet;
        to_review: matched claims not posted (see the worklist).
        deposit_amount / deposit_date: the bank deposit recorded for it, if any.
    """

    id: str
    payer: str | None
    trace_number: str | None
    method: str | None
    amount: Decimal
    payment_date: date | None
    received_at: datetime
    claim_count: int
    posted: int
    denied: int
    unmatched: int
    to_review: int
    deposit_amount: Decimal | None
    deposit_date: date | None
    deposit_note: str | None

    @property
    def reconciled(self) -> bool:
        """A deposit was recorded for the payment."""
        return self.deposit_amount is not None

    @property
    def difference(self) -> Decimal | None:
        """Deposit − payment (0 when they agree), ``None`` before a deposit is recorded."""
        return None if self.deposit_amount is None else self.deposit_amount - self.amount

    @property
    def mismatch(self) -> bool:
        """The deposit differs from the payment."""
        return self.difference not in (None, Decimal("0.00"), Decimal(0))

    def as_dict(self) -> dict[str, Any]:
        """The public shape."""
        return {
            "id": self.id,
            "payer": self.payer,
            "trace_number": self.trace_number,
            "method": self.method,
            "amount": str(self.amount),
            "payment_date": None if self.payment_date is None else self.payment_date.isoformat(),
            "received_at": self.received_at.isoformat(),
            "claims": self.claim_count,
            "posted": self.posted,
            "denied": self.denied,
            "unmatched": self.unmatched,
            "to_review": self.to_review,
            "reconciled": self.reconciled,
            "deposit_amount": None if self.deposit_amount is None else str(self.deposit_amount),
            "deposit_date": None if self.deposit_date is None else self.deposit_date.isoformat(),
            "deposit_note": self.deposit_note,
            "difference": None if self.difference is None else str(self.difference),
            "mismatch": self.mismatch,
        }


def _counts(uow: UnitOfWork, remittance_ids: list[str]) -> dict[str, dict[str, int]]:
    assigned = {
        r[0]
        for r in uow.session.execute(
            select(remittance_assignments.c.remittance_claim_id)
            .join(remittance_claims, remittance_claims.c.id == remittance_assignments.c.remittance_claim_id)
            .where(
                remittance_assignments.c.practice_id == uow.practice_id,
                remittance_claims.c.remittance_id.in_(remittance_ids),
            )
        )
    }
    out: dict[str, dict[str, int]] = {
        rid: {"posted": 0, "denied": 0, "unmatched": 0, "to_review": 0} for rid in remittance_ids
    }
    rows = uow.session.execute(
        select(
            remittance_claims.c.id,
            remittance_claims.c.remittance_id,
            remittance_claims.c.posted,
            remittance_claims.c.status,
            remittance_claims.c.claim_id,
        ).where(
            remittance_claims.c.practice_id == uow.practice_id,
            remittance_claims.c.remittance_id.in_(remittance_ids),
        )
    ).all()
    for r in rows:
        counts = out[r.remittance_id]
        if r.posted:
            counts["denied" if r.status == "4" else "posted"] += 1
        elif r.claim_id is None:
            counts["unmatched"] += 0 if r.id in assigned else 1
        else:
            counts["to_review"] += 1
    return out


def received_payments(
    engine: Engine, practice_id: str, actor: str, *, limit: int = 50, only: str | None = None
) -> list[ReceivedPayment]:
    """The received payments (835s / EFTs), newest first, with their claims' fate and deposit
    (``only``: the one remittance with that id)."""
    with UnitOfWork(engine, practice_id, actor, read_only=True) as uow:
        q = (
            select(
                remittances,
                bank_deposits.c.deposit_cents,
                bank_deposits.c.deposit_date,
                bank_deposits.c.note,
            )
            .outerjoin(bank_deposits, bank_deposits.c.remittance_id == remittances.c.id)
            .where(remittances.c.practice_id == practice_id)
        )
        if only is not None:
            q = q.where(remittances.c.id == only)
        rows = uow.session.execute(
            q.order_by(remittances.c.received_at.desc(), remittances.c.id).limit(max(1, min(limit, 500)))
        ).all()
        counts = _counts(uow, [r.id for r in rows])
    return [
        ReceivedPayment(
            id=r.id,
            payer=r.payer_name or r.payer_identifier,
            trace_number=r.trace_number,
            method=r.payment_method,
            amount=from_cents(r.payment_cents),
            payment_date=r.payment_date,
            received_at=r.received_at,
            claim_count=r.claim_count,
            deposit_amount=None if r.deposit_cents is None else from_cents(r.deposit_cents),
            deposit_date=r.deposit_date,
            deposit_note=r.note,
            **counts[r.id],
        )
        for r in rows
    ]


def record_deposit(
    engine: Engine,
    practice_id: str,
    actor: str,
    remittance_id: str,
    amount: Decimal,
    deposit_date: date,
    note: str = "",
) -> ReceivedPayment:
    """Record the bank deposit a received payment arrived as (a second call corrects it; audited).

    Raises:
        NotFoundError: no such remittance in the practice.
        RecordsError: ``deposit-amount-negative`` (the amount is below zero).
    """
    if amount < 0:
        raise refuse("deposit-amount-negative", "amount", "the deposit amount cannot be negative")
    with UnitOfWork(engine, practice_id, actor) as uow:
        found = uow.session.execute(
            select(remittances.c.id, remittances.c.payment_cents).where(
                remittances.c.practice_id == practice_id, remittances.c.id == remittance_id
            )
        ).first()
        if found is None:
            raise NotFoundError(
                "no such remittance", (Problem("not-found", "id", f"no remittance {remittance_id!r}"),)
            )
        values = {
            "deposit_cents": to_cents(amount),
            "deposit_date": deposit_date,
            "note": " ".join(note.split())[:200] or None,
            "recorded_at": uow.now(),
            "recorded_by": actor[:100],
        }
        existing = uow.session.execute(
            select(bank_deposits.c.id).where(bank_deposits.c.remittance_id == remittance_id)
        ).first()
        if existing is None:
            uow.session.execute(
                bank_deposits.insert().values(
                    id=new_id(), practice_id=practice_id, remittance_id=remittance_id, **values
                )
            )
        else:
            uow.session.execute(
                update(bank_deposits).where(bank_deposits.c.id == existing.id).values(**values)
            )
        uow.record(
            "remittance.deposit-recorded",
            "remittance",
            remittance_id,
            {
                "deposit": str(amount),
                "date": deposit_date.isoformat(),
                "payment": str(from_cents(found.payment_cents)),
            },
        )
    return received_payments(engine, practice_id, actor, only=remittance_id)[0]
