"""``form statement``: a patient statement from the ledger (SQLite), figures as the ledger has them."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal

import pdfplumber
import pytest
from sqlalchemy import Engine

from tests.integration.db.conftest import new_empty_engine
from tests.integration.ledger.conftest import ACTOR, Seed, seed_practice
from tests.integration.ledger.test_service import _remittance
from therabill import clock
from therabill.adapters.db import migrations
from therabill.domain.ledger import PaymentMethod
from therabill.domain.money import D
from therabill.service_layer import ledger as svc
from therabill.service_layer import remittance_posting
from therabill.service_layer.documents import statement_pdf_for_patient, statement_view_for_patient


@pytest.fixture(scope="module")
def sqlite_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    eng = new_empty_engine("sqlite", tmp_path_factory.mktemp("statement"), None)
    migrations.upgrade(eng)
    yield eng
    eng.dispose()


@pytest.fixture(scope="module")
def posted(sqlite_engine: Engine) -> tuple[Seed, str]:
    seed = seed_practice(sqlite_engine)
    payer = seed.payer("Acme Health", "ACME")
    pt = seed.patient("ann")
    claim_id, _ = seed.claim(pt, payer, [("97124", 10000)], number="CLM-ST-1")
    svc.post_claim_charges(seed.engine, seed.practice_id, ACTOR, claim_id)
    remittance_posting.post_remittance(
        seed.engine, seed.practice_id, ACTOR, _remittance("CLM-ST-1", "CLM-ST-1-1")
    )
    svc.post_patient_payment(
        seed.engine,
        seed.practice_id,
        ACTOR,
        patient_id=pt,
        amount=D("5.00"),
        method=PaymentMethod.CASH,
        key="st-5",
    )
    return seed, pt


def test_statement_figures_are_the_ledgers(posted):
    seed, pt = posted
    view = statement_view_for_patient(
        seed.engine, seed.practice_id, ACTOR, pt, statement_date=date(2026, 12, 1)
    )
    ledger = svc.balances(seed.engine, seed.practice_id, ACTOR, patient_id=pt)
    assert view.amount_due == Decimal(ledger["balance"]["patient_balance"]) == Decimal("15.00")
    assert sum(ln.charge for ln in view.lines) == Decimal(ledger["balance"]["charges"])
    assert sum(ln.insurance_paid for ln in view.lines) == Decimal(ledger["balance"]["insurance_payments"])
    assert sum(ln.adjustment for ln in view.lines) == Decimal(ledger["balance"]["adjustments"])
    assert sum(ln.patient_paid for ln in view.lines) == Decimal("5.00")
    assert view.lines[-1].balance == Decimal("15.00")
    assert sum(a for _, a in view.aging) == view.amount_due
    assert "Acme Health" in " ".join(ln.description for ln in view.lines)


def test_a_statement_is_as_of_its_date(posted):
    """Entries posted after the statement date are not on it, so a statement shows the
    account as it stood on its date, whenever it is printed; its aging adds up to its amount
    due, credits included."""
    seed, _ = posted
    payer = seed.payer("Bay Health", "BAYH")
    pt = seed.patient("bea")
    claim_id, _ = seed.claim(pt, payer, [("97124", 10000)], number="CLM-ST-2")
    with clock.using(clock.fixed(datetime(2026, 11, 10, 16, tzinfo=UTC))):
        svc.post_claim_charges(seed.engine, seed.practice_id, ACTOR, claim_id)
    with clock.using(clock.fixed(datetime(2026, 11, 15, 16, tzinfo=UTC))):
        remittance_posting.post_remittance(
            seed.engine,
            seed.practice_id,
            ACTOR,
            _remittance("CLM-ST-2", "CLM-ST-2-1", trn="T-ST-2", payer="BAYH"),
        )
    with clock.using(clock.fixed(datetime(2026, 12, 5, 16, tzinfo=UTC))):
        svc.post_patient_payment(
            seed.engine,
            seed.practice_id,
            ACTOR,
            patient_id=pt,
            amount=D("25.00"),
            method=PaymentMethod.CASH,
            key="st-25",
        )

    def view(day: date):  # type: ignore[no-untyped-def]
        v = statement_view_for_patient(seed.engine, seed.practice_id, ACTOR, pt, statement_date=day)
        assert sum(a for _, a in v.aging) == v.amount_due
        return v

    before_remittance = view(date(2026, 11, 12))
    assert [ln.charge for ln in before_remittance.lines] == [Decimal("100.00")]
    assert before_remittance.amount_due == Decimal("0.00")  # all of it with insurance then
    before_payment = view(date(2026, 12, 1))
    assert before_payment.amount_due == Decimal("20.00")
    assert dict(before_payment.aging)["Current"] == Decimal("20.00")
    assert not any(ln.patient_paid for ln in before_payment.lines)
    after_payment = view(date(2026, 12, 10))
    assert after_payment.amount_due == Decimal("0.00")  # 20.00 owed, 25.00 paid: a credit
    assert sum(ln.patient_paid for ln in after_payment.lines) == Decimal("25.00")  # 20 applied, 5 credit


def test_statement_pdf(posted):
    seed, pt = posted
    pdf = statement_pdf_for_patient(
        seed.engine, seed.practice_id, ACTOR, pt, statement_date=date(2026, 12, 1)
    )
    with pdfplumber.open(io.BytesIO(pdf)) as doc:
        text = doc.pages[0].extract_text()
    assert "AMOUNT DUE" in text and "$15.00" in text and "$60.00" in text
