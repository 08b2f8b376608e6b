"""Corrections to posted money: reversals, write-offs and transfers between payers and the patient,
each a new keyed posting (posted rows are never edited)."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from sqlalchemy import Engine, select

from therabill.adapters.db.ledger_tables import (
    ledger_entries,
)
from therabill.adapters.db.tables import coverages
from therabill.domain.errors import NotFoundError, Problem, TherabillError
from therabill.domain.ledger import (
    Bucket,
    Entry,
    EntryKind,
    balance_of,
    new_id,
    payer_balances,
    reversal_of,
    transfer,
)
from therabill.domain.money import ZERO, D
from therabill.service_layer.ledger import (
    Posted,
    entries_where,
    ledger_unit,
    patient_entries,
    post_keyed_in,
    replay_in,
    request_hash,
    to_entry,
)
from therabill.service_layer.uow import UnitOfWork


def reverse_entry(
    engine: Engine, practice_id: str, actor: str, entry_id: str, *, key: str | None = None
) -> Posted:
    """Reverse an entry (every leg of a transfer): new entries that negate it."""
    with ledger_unit(engine, practice_id, actor) as uow:
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
        return post_keyed_in(uow, key or f"reverse:{entry_id}", "reversal", {"reverse": entry_id}, entries)


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
    """Write off (part of) an item's balance in one bucket, with a group and reason code.

    The amount defaults to the open balance of the bucket; more than that is refused
    (``write-off-exceeds-balance``), and so is a write-off without a reason.
    """
    if not reason_code.strip():
        raise TherabillError(
            "a write-off needs a reason", (Problem("write-off-reason-missing", "reason", ""),)
        )
    request = {
        "item": item_id,
        "amount": None if amount is None else str(amount),
        "bucket": str(bucket),
        "reason": reason_code,
    }
    with ledger_unit(engine, practice_id, actor) as uow:
        replay = replay_in(uow, key, request_hash(request))
        if replay is not None:
            return replay
        charge = item_charge_in(uow, item_id)
        existing = patient_entries(uow, [charge.patient_id])
        mine = [e for e in existing if e.item_id == item_id]
        bal = balance_of(mine)
        open_amount = bal.insurance_balance if bucket is Bucket.INSURANCE else bal.patient_balance
        value = D(amount) if amount is not None else open_amount
        if value <= ZERO or value > open_amount:
            raise TherabillError(
                "nothing to write off" if open_amount <= ZERO else "the write-off is more than the balance",
                (
                    Problem(
                        "write-off-exceeds-balance", "amount", f"the open {bucket} balance is {open_amount}"
                    ),
                ),
            )
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
        return post_keyed_in(uow, key, "write-off", request, [entry])


def item_charge_in(uow: UnitOfWork, item_id: str) -> Entry:
    """The charge entry of a ledger item; ``NotFoundError`` (``ledger-item-not-found``) otherwise."""
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
    if to not in ("patient", "secondary"):
        raise TherabillError(
            "transfer to the patient or the secondary payer",
            (Problem("transfer-target-invalid", "to", "must be patient or secondary"),),
        )
    request = {"item": item_id, "to": to, "amount": None if amount is None else str(amount)}
    with ledger_unit(engine, practice_id, actor) as uow:
        replay = replay_in(uow, key, request_hash(request))
        if replay is not None:
            return replay
        charge = item_charge_in(uow, item_id)
        existing = patient_entries(uow, [charge.patient_id])
        mine = [e for e in existing if e.item_id == item_id]
        payer = _item_payer(mine)
        if payer is None:
            raise TherabillError(
                "nothing owed by insurance", (Problem("ledger-no-insurance-balance", "item", item_id),)
            )
        value = D(amount) if amount is not None else payer_balances(mine)[payer]
        if value <= ZERO or value > payer_balances(mine)[payer]:
            raise TherabillError(
                "the transfer is more than the insurance balance",
                (Problem("transfer-exceeds-balance", "amount", f"{payer_balances(mine)[payer]} is open"),),
            )
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
        return post_keyed_in(uow, key, "transfer", request, list(legs))


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
