"""Statements as patients get them: one page for a short balance, dated with the service dates,
"your share" with its amount, a remittance stub; stored as printed; a run emailed over SMTP;
and, for any ledger, an aging row that adds up to the amount due."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pdfplumber
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pypdf import PdfReader
from sqlalchemy import Engine, update

from tests.conftest import SmtpServer
from tests.integration.db.conftest import new_empty_engine
from tests.integration.ledger.conftest import ACTOR, Seed, seed_practice
from therabill import clock
from therabill.adapters.db import migrations
from therabill.adapters.db.tables import patients
from therabill.adapters.mail import SmtpMailer, SmtpSettings
from therabill.domain.errors import TherabillError
from therabill.domain.ledger import Bucket, ChargeType, PaymentMethod
from therabill.domain.money import D
from therabill.service_layer import ledger as svc
from therabill.service_layer import ledger_corrections, statements

DOS = date(2026, 10, 2)


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    eng = new_empty_engine("sqlite", tmp_path_factory.mktemp("statements"), None)
    migrations.upgrade(eng)
    yield eng
    eng.dispose()


@pytest.fixture(scope="module")
def seed(engine: Engine) -> Seed:
    return seed_practice(engine)


def _at(day: date) -> clock.Clock:
    return clock.fixed(datetime(day.year, day.month, day.day, 16, tzinfo=UTC))


def _short_balance(seed: Seed, name: str, email: str | None = None) -> str:
    """A $63.00 balance: a visit on 10/02 billed later, the payer leaves $63.00 to the patient."""
    payer = seed.payer("Acme Health", "ACME")
    pt = seed.patient(name)
    if email:
        with seed.engine.begin() as c:
            c.execute(update(patients).where(patients.c.id == pt).values(email=email))
    claim_id, lines = seed.claim(pt, payer, [("97124", 12000), ("97140", 6000)], dos=DOS)
    with clock.using(_at(date(2026, 10, 20))):
        svc.post_claim_charges(seed.engine, seed.practice_id, ACTOR, claim_id)
    with clock.using(_at(date(2026, 11, 12))):
        ledger_corrections.transfer_balance(
            seed.engine,
            seed.practice_id,
            ACTOR,
            item_id=lines[0],
            to="patient",
            amount=D("63.00"),
            key=f"{name}-t",
        )
        ledger_corrections.write_off(
            seed.engine, seed.practice_id, ACTOR, item_id=lines[0], bucket=Bucket.INSURANCE, group_code="CO",
            reason_code="45", key=f"{name}-w",
        )  # fmt: skip
        ledger_corrections.write_off(
            seed.engine, seed.practice_id, ACTOR, item_id=lines[1], bucket=Bucket.INSURANCE, group_code="CO",
            reason_code="45", key=f"{name}-w2",
        )  # fmt: skip
    return pt


def test_a_short_balance_is_one_page_with_service_dates_your_share_and_a_stub(seed: Seed) -> None:
    pt = _short_balance(seed, "ada")
    with clock.using(_at(date(2026, 12, 1))):
        doc = statements.issue_statement(
            seed.engine, seed.practice_id, ACTOR, pt, statement_date=date(2026, 12, 1)
        )
    assert doc.amount == D("63.00") and doc.pages == 1
    assert len(PdfReader(io.BytesIO(doc.pdf)).pages) == 1
    with pdfplumber.open(io.BytesIO(doc.pdf)) as pdf:
        text = pdf.pages[0].extract_text()
    assert "10/02/2026" in text  # the date of service
    assert "10/20/2026" not in text and "11/12/2026" not in text  # never the posting dates
    assert "Your share" in text and "$63.00" in text
    row = next(line for line in text.splitlines() if line.startswith("10/02/2026 97124"))
    assert row.count("$63.00") >= 2  # your share and you owe, with amounts
    assert "PLEASE RETURN THIS PART WITH YOUR PAYMENT" in text and "Amount enclosed" in text
    assert f"Account {doc.number}" not in text and "Account " in text


def test_an_issued_statement_is_kept_as_printed(seed: Seed) -> None:
    pt = _short_balance(seed, "bob")
    with clock.using(_at(date(2026, 12, 1))):
        doc = statements.issue_statement(
            seed.engine, seed.practice_id, ACTOR, pt, statement_date=date(2026, 12, 1)
        )
    with clock.using(_at(date(2026, 12, 3))):
        svc.post_patient_payment(
            seed.engine,
            seed.practice_id,
            ACTOR,
            patient_id=pt,
            amount=D("63.00"),
            method=PaymentMethod.CARD,
            key="bob-pay",
        )
    again = statements.issued_document(seed.engine, seed.practice_id, ACTOR, doc.document_id)
    assert again.pdf == doc.pdf and again.amount == D("63.00")
    listed = statements.issued_documents_of(seed.engine, seed.practice_id, ACTOR, pt)
    assert [d.number for d in listed] == [doc.number]


def test_a_statement_run_is_emailed_and_merged(seed: Seed, smtp_server: SmtpServer) -> None:
    with_mail = _short_balance(seed, "cy", email="cy@example.org")
    without_mail = _short_balance(seed, "di")
    small = seed.patient("ed")
    with clock.using(_at(date(2026, 11, 1))):
        svc.post_charge(
            seed.engine,
            seed.practice_id,
            ACTOR,
            patient_id=small,
            amount=D("4.00"),
            charge_type=ChargeType.RETAIL,
            key="ed-c",
        )
    mailer = SmtpMailer(
        SmtpSettings(host=smtp_server.host, port=smtp_server.port, sender="Practice <b@example.org>")
    )
    before = len(smtp_server.messages)
    with clock.using(_at(date(2026, 12, 1))):
        run = statements.statement_batch(
            seed.engine,
            seed.practice_id,
            ACTOR,
            statement_date=date(2026, 12, 1),
            over=D("10.00"),
            mailer=mailer,
        )
    owing = {d.patient_id for d in run.statements}
    assert {with_mail, without_mail} <= owing and small not in owing
    assert len(run.emailed) == 1 and any(why == "email-address-missing" for _, why in run.not_emailed)
    assert len(PdfReader(io.BytesIO(run.merged_pdf)).pages) == sum(d.pages for d in run.statements)
    sent = smtp_server.messages[before:]
    assert len(sent) == 1 and sent[0]["To"] == "cy@example.org"
    assert sent[0]["Subject"] == "Your statement from Ledger Test"  # the practice, never the patient
    attachment = next(sent[0].iter_attachments())
    mine = next(d for d in run.statements if d.patient_id == with_mail)
    assert attachment.get_content_type() == "application/pdf" and attachment.get_content() == mine.pdf
    assert statements.batch_pdf(seed.engine, seed.practice_id, ACTOR, run.batch_id) == statements.batch_pdf(
        seed.engine, seed.practice_id, ACTOR, run.batch_id
    )


# --- any ledger: the aging adds up to the amount due ---------------------------------------

_step = st.one_of(
    st.tuples(st.just("visit"), st.integers(1, 400), st.integers(100, 20000)),
    st.tuples(st.just("share"), st.integers(0, 9), st.integers(1, 9000)),
    st.tuples(st.just("pay"), st.integers(1, 400), st.integers(1, 15000)),
    st.tuples(st.just("fee"), st.integers(1, 400), st.integers(100, 5000)),
    st.tuples(st.just("write-off"), st.integers(0, 9), st.integers(1, 3000)),
)
_counter = iter(range(10**9))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(_step, min_size=1, max_size=8), age=st.integers(0, 200))
def test_statement_aging_adds_up_to_the_amount_due(
    seed: Seed, steps: list[tuple[str, int, int]], age: int
) -> None:
    n = next(_counter)
    pt = seed.patient(f"prop{n}")
    payer = seed.payer("Acme Health", "ACME")
    start = date(2026, 1, 1)
    lines: list[str] = []
    for i, (kind, a, cents) in enumerate(steps):
        day = start + timedelta(days=a)
        key = f"p{n}-{i}"
        with clock.using(_at(day)):
            try:
                if kind == "visit":
                    claim_id, ids = seed.claim(pt, payer, [("97124", cents)], dos=day)
                    svc.post_claim_charges(seed.engine, seed.practice_id, ACTOR, claim_id)
                    lines += ids
                elif kind == "share" and lines:
                    ledger_corrections.transfer_balance(
                        seed.engine, seed.practice_id, ACTOR, item_id=lines[a % len(lines)], to="patient",
                        amount=D(cents) / 100, key=key,
                    )  # fmt: skip
                elif kind == "pay":
                    svc.post_patient_payment(
                        seed.engine, seed.practice_id, ACTOR, patient_id=pt, amount=D(cents) / 100,
                        method=PaymentMethod.CASH, key=key,
                    )  # fmt: skip
                elif kind == "fee":
                    svc.post_charge(
                        seed.engine, seed.practice_id, ACTOR, patient_id=pt, amount=D(cents) / 100,
                        charge_type=ChargeType.NO_SHOW, key=key,
                    )  # fmt: skip
                elif kind == "write-off" and lines:
                    ledger_corrections.write_off(
                        seed.engine, seed.practice_id, ACTOR, item_id=lines[a % len(lines)], amount=D(cents) / 100,
                        reason_code="SMALL", key=key,
                    )  # fmt: skip
            except TherabillError:
                pass  # more than is open: refused, nothing posted
    as_of = start + timedelta(days=401 + age)
    view = statements.statement_view_for_patient(
        seed.engine, seed.practice_id, ACTOR, pt, statement_date=as_of
    )
    owed = Decimal(
        svc.balances(seed.engine, seed.practice_id, ACTOR, patient_id=pt)["balance"]["patient_balance"]
    )
    assert sum((a for _, a in view.aging), Decimal(0)) == view.amount_due == max(owed, Decimal(0))
    assert sum((ln.balance for ln in view.lines), Decimal(0)) == owed
