"""Receipt and progress report from stored records and the ledger, on SQLite and PostgreSQL."""

from __future__ import annotations

import io
from collections import Counter
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import pdfplumber
import pytest
from sqlalchemy import Engine

from tests.integration.db.builders import ACTOR, AS_OF, Practice, a_practice, clean_scrubber
from tests.integration.pdf.conftest import ink_ratio
from tests.integration.pdf.stored import SERIES, record_series
from therabill.domain.errors import NotFoundError, TherabillError
from therabill.domain.forms import FormError
from therabill.domain.ledger import ChargeType, EntryKind, PaymentMethod
from therabill.domain.money import D
from therabill.service_layer import claims as claims_svc
from therabill.service_layer import ledger as svc
from therabill.service_layer.documents import (
    progress_pdf_for_patient,
    progress_view_for_patient,
    receipt_pdf_for_payment,
    receipt_view_for_payment,
)


def text_of(pdf: bytes) -> str:
    with pdfplumber.open(io.BytesIO(pdf)) as doc:
        return "\n".join(p.extract_text() or "" for p in doc.pages)


@dataclass
class Account:
    """A practice whose patient paid twice; balances read from the ledger after each payment."""

    p: Practice
    visit_ids: list[str]
    claim_id: str
    pay1: svc.Posted
    pay2: svc.Posted
    fee_key: str
    balance_after_1: Decimal
    balance_after_2: Decimal


@pytest.fixture(scope="module")
def account(engine: Engine) -> Account:
    p = a_practice(engine)
    visit_ids = record_series(p)
    coded = claims_svc.code_visit(engine, p.id, ACTOR, visit_ids[0], as_of=AS_OF, scrubber=clean_scrubber)
    items = sorted(  # largest charge first: the 97124 line
        (
            (e.item_id, e.amount)
            for e in svc.all_entries(engine, p.id, ACTOR)
            if e.kind is EntryKind.CHARGE and e.claim_id == coded.claim_id and e.item_id
        ),
        key=lambda item: -item[1],
    )
    svc.transfer_balance(
        engine, p.id, ACTOR, item_id=items[0][0], to="patient", key="pr-1", amount=D("30.00")
    )
    svc.post_charge(
        engine,
        p.id,
        ACTOR,
        patient_id=p.patient_id,
        amount=D("40.00"),
        charge_type=ChargeType.NO_SHOW,
        key="fee-1",
    )

    def patient_balance() -> Decimal:
        return D(svc.balances(engine, p.id, ACTOR, patient_id=p.patient_id)["balance"]["patient_balance"])

    pay1 = svc.post_patient_payment(
        engine,
        p.id,
        ACTOR,
        patient_id=p.patient_id,
        amount=D("50.00"),
        method=PaymentMethod.CARD,
        key="pay-1",
    )
    after1 = patient_balance()
    pay2 = svc.post_patient_payment(
        engine,
        p.id,
        ACTOR,
        patient_id=p.patient_id,
        amount=D("30.00"),
        method=PaymentMethod.CASH,
        key="pay-2",
        tip=D("5.00"),
    )
    return Account(p, visit_ids, coded.claim_id, pay1, pay2, "fee-1", after1, patient_balance())


def ledger_amounts(acc: Account, posted: svc.Posted) -> Counter[Decimal]:
    ids = set(posted.entry_ids)
    return Counter(e.amount for e in svc.all_entries(acc.p.engine, acc.p.id, ACTOR) if e.entry_id in ids)


def test_receipt_numbers_are_the_ledgers(account: Account) -> None:
    view = receipt_view_for_payment(account.p.engine, account.p.id, ACTOR, "pay-1")
    assert account.balance_after_1 == D("20.00")  # 30 + 40 owed, 50 paid
    assert view.amount == D("50.00")
    assert Counter(a for _, a in view.applied_to) == ledger_amounts(account, account.pay1)
    assert sum(a for _, a in view.applied_to) == view.amount
    # the balance as it stood after this payment, not today's (a later payment changed it)
    assert view.balance_after == account.balance_after_1 != account.balance_after_2
    descriptions = " | ".join(d for d, _ in view.applied_to)
    assert "Service 11/20/2026 97124" in descriptions and "No show fee" in descriptions
    assert view.method == "card" and view.account_id == "P-0101" and view.payer_name == "Grace Miller"
    assert view.practice_tax_id == "EIN 12-3456789"


def test_receipt_by_entry_id_has_the_whole_payment_with_tip_and_credit(account: Account) -> None:
    view = receipt_view_for_payment(account.p.engine, account.p.id, ACTOR, account.pay2.entry_ids[-1])
    assert view == receipt_view_for_payment(account.p.engine, account.p.id, ACTOR, "pay-2")
    assert view.amount == D("35.00") and view.method == "cash"
    assert Counter(a for _, a in view.applied_to) == ledger_amounts(account, account.pay2)
    assert account.balance_after_2 == D("-10.00") == view.balance_after  # 10.00 credit
    labels = {d.split(" (")[0]: a for d, a in view.applied_to}
    assert labels["Tip for your therapist"] == D("5.00")
    assert labels["Credit on your account"] == account.pay2.unapplied == D("10.00")


def test_receipt_refuses_what_is_not_a_payment(account: Account) -> None:
    with pytest.raises(TherabillError) as err:
        receipt_view_for_payment(account.p.engine, account.p.id, ACTOR, account.fee_key)
    assert err.value.problems[0].code == "receipt-not-a-payment"
    with pytest.raises(NotFoundError):
        receipt_view_for_payment(account.p.engine, account.p.id, ACTOR, "no-such-key")


def test_no_receipt_for_a_reversed_payment(engine: Engine) -> None:
    p = a_practice(engine)
    svc.post_charge(
        engine,
        p.id,
        ACTOR,
        patient_id=p.patient_id,
        amount=D("90.00"),
        charge_type=ChargeType.SELF_PAY,
        key="sp",
    )
    paid = svc.post_patient_payment(
        engine, p.id, ACTOR, patient_id=p.patient_id, amount=D("90.00"), method=PaymentMethod.CHECK, key="chk"
    )
    assert receipt_view_for_payment(engine, p.id, ACTOR, "chk").balance_after == D("0.00")
    svc.reverse_entry(engine, p.id, ACTOR, paid.entry_ids[0])
    with pytest.raises(TherabillError) as err:
        receipt_view_for_payment(engine, p.id, ACTOR, "chk")
    assert err.value.problems[0].code == "receipt-payment-reversed"


def test_receipt_pdf_shows_the_ledger_figures(account: Account, render_png) -> None:
    pdf = receipt_pdf_for_payment(account.p.engine, account.p.id, ACTOR, "pay-1")
    text = text_of(pdf)
    for needle in (
        "Received with thanks: $50.00",
        "card",
        "Account balance after this payment: $20.00",
        "P-0101",
    ):
        assert needle in text, needle
    assert ink_ratio(render_png(pdf, "receipt")) > 0.01


def test_progress_over_three_stored_visits(account: Account) -> None:
    view = progress_view_for_patient(
        account.p.engine, account.p.id, ACTOR, account.p.patient_id, signed_on=AS_OF
    )
    assert [v.date_of_service for v in view.visits] == [s[0] for s in SERIES]
    assert [v.pain for v in view.visits] == [7, 5, 3]
    assert [v.rom_degrees for v in view.visits] == [45, 55, 65]
    assert [v.client_feedback for v in view.visits] == [s[3] for s in SERIES]
    assert [v.changes for v in view.visits] == [s[4] for s in SERIES]
    (goal,) = view.goals
    assert goal.baseline == "20 min at 6/10" and goal.target == "60 min at 3/10"
    assert goal.current == "pain 3/10; cervical rotation right 65° (11/20/2026)"
    assert (view.period_start, view.period_end) == (date(2026, 11, 6), date(2026, 11, 20))
    assert view.client_id == "P-0101" and view.rom_label == "cervical rotation right"


def test_progress_range_and_errors(account: Account) -> None:
    e, pid = account.p.engine, account.p.id
    view = progress_view_for_patient(e, pid, ACTOR, account.p.patient_id, date_from=date(2026, 11, 13))
    assert [v.pain for v in view.visits] == [5, 3]
    view = progress_view_for_patient(e, pid, ACTOR, account.p.patient_id, date_to=date(2026, 11, 13))
    assert [v.pain for v in view.visits] == [7, 5] and view.goals[0].current.startswith("pain 5/10")
    with pytest.raises(FormError) as err:
        progress_view_for_patient(e, pid, ACTOR, account.p.patient_id, date_from=date(2026, 12, 1))
    assert err.value.problems[0].code == "progress-empty"
    with pytest.raises(FormError) as err:
        progress_view_for_patient(
            e, pid, ACTOR, account.p.patient_id, date_from=date(2026, 11, 20), date_to=date(2026, 11, 6)
        )
    assert err.value.problems[0].code == "progress-range-invalid"
    with pytest.raises(NotFoundError):
        progress_view_for_patient(e, pid, ACTOR, "no-such-patient")


def test_progress_pdf_shows_goals_feedback_and_charts(account: Account, render_png) -> None:
    pdf = progress_pdf_for_patient(
        account.p.engine, account.p.id, ACTOR, account.p.patient_id, signed_on=AS_OF
    )
    text = text_of(pdf)
    for needle in (
        "20 min at 6/10",
        "60 min at 3/10",
        "pain 3/10",
        "Drove to work without neck pain.",
        "Sitting tolerance 45 minutes.",
        "Pain (0–10)",
        "Range of motion: cervical rotation right",
        "11/06/2026 – 11/20/2026",
        "Report prepared 11/23/2026",
    ):
        assert needle in text, needle
    assert ink_ratio(render_png(pdf, "progress")) > 0.01
