"""The ledger use cases on SQLite and PostgreSQL: posting, idempotency, worklists, balances."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from tests.conftest import shared_path
from tests.integration.ledger.conftest import ACTOR, DOS, Seed
from therabill.adapters.db.ledger_tables import ledger_entries, remittance_claims, remittances
from therabill.adapters.x12.x835_005010X221A1 import read_835
from therabill.domain.ledger import ChargeType, PaymentMethod, PrepaidType
from therabill.domain.money import D
from therabill.domain.remittance import (
    Adjustment,
    ClaimPayment,
    ProviderAdjustment,
    Remittance,
    RemittanceHeader,
    ServicePayment,
)
from therabill.service_layer import ledger as svc
from therabill.service_layer import remittance_posting
from therabill.service_layer import remittances as remittance_reads


def _count(seed: Seed, table=ledger_entries) -> int:  # type: ignore[no-untyped-def]
    with seed.engine.connect() as c:
        return int(
            c.execute(
                select(func.count()).select_from(table).where(table.c.practice_id == seed.practice_id)
            ).scalar_one()
        )


def _remittance(
    claim_number: str,
    line_id: str,
    *,
    trn: str = "T1",
    status: str = "1",
    amounts=("60.00", "20.00", "20.00"),
    payer="ACME",
) -> Remittance:  # type: ignore[no-untyped-def]
    paid, co, pr = (D(a) for a in amounts)
    line = ServicePayment(
        code="97124",
        qualifier="HC",
        modifiers=("GP",),
        charge=paid + co + pr,
        paid=paid,
        service_date=DOS,
        line_id=line_id,
        adjustments=(Adjustment("CO", "45", co), Adjustment("PR", "2", pr)),
        segment_number=20,
    )
    cp = ClaimPayment(
        claim_id=claim_number,
        status=status,
        charge=line.charge,
        paid=paid,
        patient_responsibility=pr,
        payer_claim_control_number="ICN1",
        lines=(line,),
        segment_number=15,
    )
    header = RemittanceHeader(
        "I", paid, "C", "ACH", date(2026, 11, 30), trn, payer_id=payer, payer_name="Acme"
    )
    return Remittance(header, (cp,))


def test_worked_example_through_the_database(seed: Seed) -> None:
    payer = seed.payer("Acme", "ACME")
    pt = seed.patient("ann")
    claim_id, (line,) = seed.claim(pt, payer, [("97124", 10000)], number="CLM-WE-1")
    first = svc.post_claim_charges(seed.engine, seed.practice_id, ACTOR, claim_id)
    assert len(first.entry_ids) == 1
    assert svc.post_claim_charges(seed.engine, seed.practice_id, ACTOR, claim_id).replayed
    result = remittance_posting.post_remittance(
        seed.engine, seed.practice_id, ACTOR, _remittance("CLM-WE-1", "CLM-WE-1-1")
    )
    assert (result.new, result.posted_claims, result.entries) == (True, 1, 4)
    bal = svc.balances(seed.engine, seed.practice_id, ACTOR, claim_id=claim_id)
    assert bal["balance"] == {
        "charges": "100.00",
        "insurance_payments": "60.00",
        "patient_payments": "0.00",
        "adjustments": "20.00",
        "insurance_balance": "0.00",
        "patient_balance": "20.00",
    }
    assert bal["holds"]
    paid = svc.post_patient_payment(
        seed.engine,
        seed.practice_id,
        ACTOR,
        patient_id=pt,
        amount=D("20.00"),
        method=PaymentMethod.CARD,
        key="pay-1",
    )
    assert paid.unapplied == D("0.00")
    bal = svc.balances(seed.engine, seed.practice_id, ACTOR, patient_id=pt)
    assert bal["balance"]["patient_balance"] == "0.00" and bal["balance"]["insurance_balance"] == "0.00"
    assert bal["items"][line]["patient_payments"] == "20.00"


def test_remittance_and_payment_posted_twice_change_nothing(seed: Seed) -> None:
    payer = seed.payer("Acme", "ACME")
    pt = seed.patient("bo")
    claim_id, _ = seed.claim(pt, payer, [("97124", 10000)], number="CLM-ID-1")
    svc.post_claim_charges(seed.engine, seed.practice_id, ACTOR, claim_id)
    rem = _remittance("CLM-ID-1", "CLM-ID-1-1")
    remittance_posting.post_remittance(seed.engine, seed.practice_id, ACTOR, rem)
    before = _count(seed)
    again = remittance_posting.post_remittance(seed.engine, seed.practice_id, ACTOR, rem)
    assert (again.new, again.posted_claims, again.skipped_claims, again.entries) == (False, 0, 1, 0)
    # the same money in a new envelope (other control numbers, same payer/TRN02/BPR02/BPR16)
    rem2 = _remittance("CLM-ID-1", "CLM-ID-1-1")
    rem2 = Remittance(
        RemittanceHeader(
            "I",
            rem.payment_amount,
            "C",
            "ACH",
            date(2026, 11, 30),
            "T1",
            payer_id="ACME",
            control_number="9999",
            interchange_control_number="000000777",
        ),
        rem2.claims,
    )
    assert remittance_posting.post_remittance(seed.engine, seed.practice_id, ACTOR, rem2).entries == 0
    assert _count(seed) == before
    assert _count(seed, remittances) == 1 and _count(seed, remittance_claims) == 1

    kw = {"patient_id": pt, "amount": D("5.00"), "method": PaymentMethod.CASH, "key": "k-5"}
    one = svc.post_patient_payment(seed.engine, seed.practice_id, ACTOR, **kw)  # type: ignore[arg-type]
    two = svc.post_patient_payment(seed.engine, seed.practice_id, ACTOR, **kw)  # type: ignore[arg-type]
    assert two.replayed and two.entry_ids == one.entry_ids
    assert _count(seed) == before + 1
    with pytest.raises(svc.IdempotencyConflictError):
        svc.post_patient_payment(seed.engine, seed.practice_id, ACTOR, **{**kw, "amount": D("6.00")})  # type: ignore[arg-type]


def test_synthetic_835_posts_matched_claims_and_lists_the_rest(seed: Seed) -> None:
    text = shared_path("x12-samples", "synthetic", "synthetic-massage-3claims.835").read_bytes()
    (rem,) = list(read_835(text))
    payer = seed.payer("Acme Health", rem.payer_id)
    pts = [seed.patient(n) for n in ("smith", "jones")]
    c0, _ = seed.claim(pts[0], payer, [("97124", 6500)], number="PCN00000000", dos=date(2026, 11, 1))
    c1, _ = seed.claim(pts[1], payer, [("97124", 19500)], number="PCN00000001", dos=date(2026, 11, 2))
    for c in (c0, c1):
        svc.post_claim_charges(seed.engine, seed.practice_id, ACTOR, c)
    result = remittance_posting.post_remittance(seed.engine, seed.practice_id, ACTOR, rem)
    assert result.posted_claims == 3
    kinds = sorted(w.kind for w in result.worklist)
    assert kinds == ["claim-unmatched"]  # PCN00000002 is not ours: listed, never dropped
    b0 = svc.balances(seed.engine, seed.practice_id, ACTOR, claim_id=c0)["balance"]
    assert (b0["insurance_payments"], b0["adjustments"], b0["patient_balance"], b0["insurance_balance"]) == (
        "42.00",
        "13.00",
        "10.00",
        "0.00",
    )
    listed = remittance_reads.worklist(seed.engine, seed.practice_id, ACTOR)
    assert [w["claim_number"] for w in listed] == ["PCN00000002"]
    assert svc.check_ledger(seed.engine, seed.practice_id, ACTOR) == []


def test_payer_reversal_negates_the_original_and_a_denial_is_explained(seed: Seed) -> None:
    payer = seed.payer("Acme", "ACME")
    pt = seed.patient("cy")
    claim_id, (line,) = seed.claim(pt, payer, [("97124", 10000)], number="CLM-RV-1")
    svc.post_claim_charges(seed.engine, seed.practice_id, ACTOR, claim_id)
    remittance_posting.post_remittance(
        seed.engine, seed.practice_id, ACTOR, _remittance("CLM-RV-1", "CLM-RV-1-1", trn="A")
    )
    rev = _remittance("CLM-RV-1", "CLM-RV-1-1", trn="B", status="22", amounts=("-60.00", "-20.00", "-20.00"))
    rev = Remittance(
        rev.header.__class__("I", D("0.00"), "C", "NON", date(2026, 12, 1), "B", payer_id="ACME"), rev.claims
    )
    denial_line = ServicePayment(
        code="97124",
        qualifier="HC",
        modifiers=("GP",),
        charge=D("100.00"),
        paid=D("0.00"),
        line_id="CLM-RV-1-1",
        adjustments=(Adjustment("CO", "50", D("100.00")),),
    )
    denial = ClaimPayment("CLM-RV-1", "4", D("100.00"), D("0.00"), lines=(denial_line,))
    # sum(CLP04) - PLB = BPR02: -60 - (-60) = 0, the negative balance carried forward (PLB FB)
    fb = ProviderAdjustment("1234567893", None, "FB", "CLM-RV-1", D("-60.00"))
    rem = Remittance(rev.header, (*rev.claims, denial), (fb,))
    res = remittance_posting.post_remittance(seed.engine, seed.practice_id, ACTOR, rem)
    assert sorted(w.kind for w in res.worklist) == ["denied", "provider-adjustment"]
    with seed.engine.connect() as c:
        reversals = c.execute(
            select(func.count()).where(
                ledger_entries.c.claim_id == claim_id, ledger_entries.c.reverses_entry_id.is_not(None)
            )
        ).scalar_one()
    assert reversals == 4  # payment, CO-45 and both PR transfer legs
    bal = svc.balances(seed.engine, seed.practice_id, ACTOR, claim_id=claim_id)["balance"]
    assert (bal["insurance_payments"], bal["patient_balance"], bal["insurance_balance"]) == (
        "0.00",
        "0.00",
        "0.00",
    )
    assert bal["adjustments"] == "100.00"
    (listed,) = [
        d
        for d in remittance_reads.denial_worklist(seed.engine, seed.practice_id, ACTOR)
        if d["claim_id"] == claim_id
    ]
    assert listed["status"] == "denied" and listed["reasons"][0]["code"] == "CO-50"
    assert "necess" in listed["reasons"][0]["words"].lower()
    assert listed["reasons"][0]["fix"]


def test_fees_tips_packages_transfers_write_offs_and_refunds(seed: Seed) -> None:
    payer, second = seed.payer("Acme", "ACME"), seed.payer("Second", "SEC")
    pt = seed.patient("di", secondary="Second")
    e, p = seed.engine, seed.practice_id
    fee = svc.post_charge(
        e, p, ACTOR, patient_id=pt, amount=D("40.00"), charge_type=ChargeType.NO_SHOW, key="fee"
    )
    svc.post_charge(
        e,
        p,
        ACTOR,
        patient_id=pt,
        amount=D("20.00"),
        charge_type=ChargeType.RETAIL,
        key="oil",
        sales_tax=D("1.60"),
    )
    pay = svc.post_patient_payment(
        e, p, ACTOR, patient_id=pt, amount=D("70.00"), method=PaymentMethod.HSA, key="p", tip=D("10.00")
    )
    assert pay.unapplied == D("8.40")
    acct = svc.balances(e, p, ACTOR, patient_id=pt)
    assert (acct["credit"], acct["unapplied"], acct["tips"]) == ("8.40", "8.40", "10.00")
    svc.refund_patient(e, p, ACTOR, patient_id=pt, amount=D("8.40"), method=PaymentMethod.CARD, key="r")
    assert svc.balances(e, p, ACTOR, patient_id=pt)["balance"]["patient_balance"] == "0.00"

    claim_id, (line,) = seed.claim(pt, payer, [("97140", 9000)], number="CLM-TR-1")
    svc.post_claim_charges(e, p, ACTOR, claim_id)
    svc.transfer_balance(e, p, ACTOR, item_id=line, to="secondary", amount=D("30.00"), key="t1")
    svc.transfer_balance(e, p, ACTOR, item_id=line, to="patient", amount=D("60.00"), key="t2")
    bal = svc.balances(e, p, ACTOR, claim_id=claim_id)
    assert bal["payers"] == {payer: "0.00", second: "30.00"}
    svc.sell_prepaid(
        e,
        p,
        ACTOR,
        patient_id=pt,
        kind=PrepaidType.PACKAGE,
        code="PKG-1",
        price=D("100.00"),
        sessions=3,
        method=PaymentMethod.CARD,
        key="s",
    )
    red = svc.redeem_prepaid(e, p, ACTOR, code="PKG-1", item_id=line, key="red1")
    assert len(red.entry_ids) == 1
    acct = svc.balances(e, p, ACTOR, patient_id=pt)
    assert acct["items"][line]["patient_balance"] == "26.66"  # 60 - 33.34 (largest remainder share)
    assert list(acct["prepaid"].values()) == ["66.66"]
    svc.write_off(e, p, ACTOR, item_id=line, reason_code="SMALL", key="w")
    svc.reverse_entry(e, p, ACTOR, fee.entry_ids[0])
    acct = svc.balances(e, p, ACTOR, patient_id=pt)
    assert acct["items"][line]["patient_balance"] == "0.00"
    assert acct["holds"]
    assert svc.check_ledger(e, p, ACTOR) == []
    assert acct["balance"]["insurance_balance"] == "30.00" and Decimal(acct["balance"]["patient_balance"]) < 0
