"""Remittance work on SQLite and PostgreSQL: an unmatched 835 claim assigned to one of our
claims posts exactly as if the payer had sent our claim number; items close with a reason;
received payments count truthfully and reconcile with a bank deposit."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import Engine

from tests.integration.db.builders import ACTOR, DOS, Practice, a_practice
from tests.integration.db.test_money_flow import _claim, _number, _payment, _remittance, _status, _submitted
from therabill.adapters.db.tables import patients
from therabill.domain.errors import NotFoundError, TherabillError
from therabill.service_layer import (
    adjudication,
    ledger,
    received_payments,
    remittance_posting,
    remittance_work,
    remittances,
)
from therabill.service_layer.uow import UnitOfWork


def _patient_name(p: Practice) -> tuple[str, str]:
    with UnitOfWork(p.engine, p.id, ACTOR, read_only=True) as uow:
        row = uow.records.get(patients, p.patient_id)
    return str(row.first_name), str(row.last_name)


def _claim_figures(engine: Engine, practice_id: str, claim_id: str) -> dict[str, object]:
    bal = ledger.balances(engine, practice_id, ACTOR, claim_id=claim_id)
    return {"balance": bal["balance"], "lines": sorted(bal["lines"].values(), key=str)}


def test_an_assigned_claim_posts_as_if_it_had_matched(engine: Engine) -> None:
    control, p = a_practice(engine), a_practice(engine)
    control_claim, claim_id = _claim(control), _claim(p)
    _submitted(control, control_claim)
    _submitted(p, claim_id)

    # The control practice: the payer sends our claim number.
    remittance_posting.post_remittance(
        engine, control.id, ACTOR, _remittance([_payment(control, control_claim, "partly")], "EFT-CTRL")
    )
    # The practice: the same payment under a claim number that is not ours.
    first, last = _patient_name(p)
    sent = _payment(p, claim_id, "partly")
    wrong = replace(
        sent,
        claim_id="PAYER-TYPO-1",
        patient_first_name=first.upper(),
        patient_last_name=last.upper(),
        lines=tuple(replace(ln, service_date=DOS) for ln in sent.lines),
    )
    rem = _remittance([wrong], "EFT-TYPO")
    posted = remittance_posting.post_remittance(engine, p.id, ACTOR, rem)
    assert posted.matched_claims == 0 and _status(p, claim_id) == "submitted"
    (paid,) = received_payments.received_payments(engine, p.id, ACTOR)
    assert (paid.posted, paid.denied, paid.unmatched, paid.to_review) == (0, 0, 1, 0)

    (item,) = [w for w in remittance_work.worklist_items(engine, p.id, ACTOR) if w.assignable]
    assert item.claim_number == "PAYER-TYPO-1" and item.patient and item.service_date
    by_name = remittance_work.candidate_claims(engine, p.id, ACTOR, item.patient.split()[-1])
    by_date = remittance_work.candidate_claims(engine, p.id, ACTOR, f"{item.service_date:%m/%d/%Y}")
    by_number = remittance_work.candidate_claims(engine, p.id, ACTOR, _number(p, claim_id))
    assert claim_id in {c.claim_id for c in by_name} & {c.claim_id for c in by_date}
    assert [c.claim_id for c in by_number] == [claim_id]
    assert remittance_work.candidate_claims(engine, p.id, ACTOR, "zzz-nobody") == []

    done = remittance_work.assign_work_item(engine, p.id, ACTOR, item.id, _number(p, claim_id))
    assert done.posted and done.claim_id == claim_id and done.entries > 0
    assert _status(p, claim_id) == _status(control, control_claim) != "submitted"
    assert _claim_figures(engine, p.id, claim_id) == _claim_figures(engine, control.id, control_claim)
    ours = adjudication.claim_adjudication(engine, p.id, ACTOR, claim_id).as_dict()
    theirs = adjudication.claim_adjudication(engine, control.id, ACTOR, control_claim).as_dict()
    assert ours["denial_reasons"] == theirs["denial_reasons"] and ours["paid"] == theirs["paid"]
    assert ours["remittances"][0]["lines"] == theirs["remittances"][0]["lines"]
    assert ours["remittances"][0]["trace_number"] == "EFT-TYPO" and ours["remittances"][0]["posted"]

    (paid,) = received_payments.received_payments(engine, p.id, ACTOR)
    assert (paid.posted, paid.denied, paid.unmatched) == (1, 0, 0)
    assert item.id not in {w.id for w in remittance_work.worklist_items(engine, p.id, ACTOR)}
    closed = remittance_work.work_item(engine, p.id, ACTOR, item.id)
    assert closed.resolution == "assigned" and _number(p, claim_id) in (closed.resolution_note or "")
    with pytest.raises(TherabillError) as again:
        remittance_work.assign_work_item(engine, p.id, ACTOR, item.id, claim_id)
    assert again.value.problems[0].code == "worklist-item-closed"

    # The same file again: nothing posts twice, and the assignment is no conflict.
    resent = remittance_posting.post_remittance(engine, p.id, ACTOR, rem)
    assert not resent.new and not resent.conflict and resent.skipped_claims == 1 and resent.entries == 0
    assert _claim_figures(engine, p.id, claim_id) == _claim_figures(engine, control.id, control_claim)


def test_what_cannot_be_assigned_is_refused_by_name(engine: Engine) -> None:
    p = a_practice(engine)
    claim_id = _claim(p)
    _submitted(p, claim_id)
    rem = _remittance([replace(_payment(p, claim_id, "paid"), claim_id="NOT-OURS-9")], "EFT-NOPE-9")
    remittance_posting.post_remittance(engine, p.id, ACTOR, rem)
    (item,) = remittance_work.worklist_items(engine, p.id, ACTOR)
    with pytest.raises(NotFoundError):
        remittance_work.assign_work_item(engine, p.id, ACTOR, item.id, "NO-SUCH-CLAIM")
    with pytest.raises(NotFoundError):
        remittance_work.assign_work_item(engine, p.id, ACTOR, "0" * 32, claim_id)
    with pytest.raises(TherabillError) as empty:
        remittances.dismiss_work_item(engine, p.id, ACTOR, item.id, "   ")
    assert empty.value.problems[0].code == "worklist-reason-missing"
    remittances.dismiss_work_item(engine, p.id, ACTOR, item.id, "Another practice's claim: sent back")
    closed = remittance_work.work_item(engine, p.id, ACTOR, item.id)
    assert (closed.resolution, closed.resolution_note) == ("dismissed", "Another practice's claim: sent back")
    assert remittance_work.worklist_items(engine, p.id, ACTOR) == []
    assert [w.id for w in remittance_work.worklist_items(engine, p.id, ACTOR, open_only=False)] == [item.id]
    # A matched claim's item (not an unmatched claim payment) cannot be assigned.
    other = a_practice(engine)
    denied_claim = _claim(other)
    _submitted(other, denied_claim)
    payment = _payment(other, denied_claim, "paid")
    double = _remittance([payment, payment], "EFT-TWICE")
    remittance_posting.post_remittance(engine, other.id, ACTOR, double)
    items = remittance_work.worklist_items(engine, other.id, ACTOR)
    assert items and not any(w.assignable for w in items)
    with pytest.raises(TherabillError) as refused:
        remittance_work.assign_work_item(engine, other.id, ACTOR, items[0].id, denied_claim)
    assert refused.value.problems[0].code == "worklist-not-assignable"


def test_a_denied_claim_counts_as_denied_and_a_deposit_shows_a_mismatch(engine: Engine) -> None:
    p = a_practice(engine)
    paid_claim, denied_claim = _claim(p), _claim(p, dos=date(2026, 11, 18))
    _submitted(p, paid_claim, denied_claim)
    rem = _remittance([_payment(p, paid_claim, "paid"), _payment(p, denied_claim, "denied")], "EFT-BANK-1")
    remittance_posting.post_remittance(engine, p.id, ACTOR, rem)
    (paid,) = received_payments.received_payments(engine, p.id, ACTOR)
    assert (paid.posted, paid.denied, paid.unmatched, paid.to_review) == (1, 1, 0, 0)
    assert not paid.reconciled and paid.difference is None and not paid.mismatch

    short = received_payments.record_deposit(
        engine, p.id, ACTOR, paid.id, paid.amount - Decimal("10.00"), date(2026, 12, 11), "bank fee?"
    )
    assert short.reconciled and short.mismatch and short.difference == Decimal("-10.00")
    assert short.deposit_date == date(2026, 12, 11) and short.deposit_note == "bank fee?"
    fixed = received_payments.record_deposit(engine, p.id, ACTOR, paid.id, paid.amount, date(2026, 12, 11))
    assert fixed.reconciled and not fixed.mismatch and fixed.difference == 0
    with pytest.raises(TherabillError) as negative:
        received_payments.record_deposit(engine, p.id, ACTOR, paid.id, Decimal("-1"), date(2026, 12, 11))
    assert negative.value.problems[0].code == "deposit-amount-negative"
    with pytest.raises(NotFoundError):
        received_payments.record_deposit(engine, p.id, ACTOR, "0" * 32, Decimal("1"), date(2026, 12, 11))
