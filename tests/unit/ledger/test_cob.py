"""Pure coordination of benefits and payer checks: adjudication records, balance, documents."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from therabill.domain.cob import PayerAdjudication, adjudication_of, cob_problems, document_with_adjudications
from therabill.domain.ledger import Bucket, Entry, EntryKind
from therabill.domain.money import D
from therabill.domain.posting import (
    ClaimRef,
    LineRef,
    negative_payer_items,
    post_claim_payment,
    responsibility_mismatch,
)
from therabill.domain.remittance import Adjustment, ClaimPayment, ServicePayment

DOS = date(2026, 11, 20)
PAID_ON = date(2026, 12, 10)
L1 = LineRef("l1", "C1-1", "97124", D("100.00"), DOS)
L2 = LineRef("l2", "C1-2", "97140", D("50.00"), DOS)
LINES = [(1, 0, L1), (2, 1, L2)]


def _adj(cp: ClaimPayment) -> PayerAdjudication:
    made = adjudication_of(
        cp, LINES, payer_identifier="60054", payer_name="Aetna", sequence="primary", adjudication_date=PAID_ON
    )
    assert made is not None
    return made


def test_a_claim_paid_without_lines_is_split_per_line_and_balances() -> None:
    cp = ClaimPayment(
        "C1",
        "1",
        D("150.00"),
        D("100.00"),
        D("20.00"),
        adjustments=(Adjustment("CO", "45", D("30.00")), Adjustment("PR", "1", D("20.00"))),
    )
    adj = _adj(cp)
    assert [ln.paid for ln in adj.lines] == [D("66.67"), D("33.33")]
    assert adj.adjustments == () and adj.remaining_patient_liability == D("20.00")
    assert cob_problems(adj) == []
    assert PayerAdjudication.from_json(adj.as_json()) == adj


def test_lines_and_claim_level_cas_keep_their_places() -> None:
    lines = (
        ServicePayment("97124", "HC", (), D("100.00"), D("80.00"), line_id="C1-1", adjustments=(
            Adjustment("PR", "2", D("20.00")),), remarks=("N781",)),
        ServicePayment("97140", "HC", (), D("50.00"), D("50.00"), line_id="C1-2"),
    )  # fmt: skip
    cp = ClaimPayment("C1", "1", D("150.00"), D("125.00"), D("20.00"),
                      adjustments=(Adjustment("CO", "45", D("5.00")),), lines=lines)  # fmt: skip
    adj = _adj(cp)
    assert adj.adjustments == (("CO", "45", D("5.00")),)
    assert adj.lines[0].adjustments == (("PR", "2", D("20.00")),) and adj.lines[0].remarks == ("N781",)
    assert cob_problems(adj) == []
    broken = replace(adj, paid=D("130.00"))
    assert len(cob_problems(broken)) == 2  # AMT*D against the lines, and charge - paid against the CAS


def test_an_unmatched_remittance_line_makes_no_adjudication() -> None:
    stranger = ServicePayment("97530", "HC", (), D("10.00"), D("10.00"))
    cp = ClaimPayment("C1", "1", D("10.00"), D("10.00"), lines=(stranger,))
    assert adjudication_of(cp, LINES, payer_identifier="x", payer_name="x", sequence="primary",
                           adjudication_date=None) is None  # fmt: skip


def test_the_document_carries_each_payer_on_its_coverage_and_the_first_on_the_lines() -> None:
    primary = _adj(ClaimPayment("C1", "1", D("150.00"), D("120.00"), D("30.00"),
                                adjustments=(Adjustment("PR", "1", D("30.00")),)))  # fmt: skip
    second = replace(primary, payer_identifier="SPS01", payer_name="Spouse", sequence="secondary",
                     paid=D("20.00"), remaining_patient_liability=D("10.00"))  # fmt: skip
    doc = {
        "coverage": {"payer_id": "UNF01", "sequence": "tertiary"},
        "other_coverages": [{"payer_id": "60054", "sequence": "primary"}, {"payer_id": "SPS01"}],
        "services": [{"code": "97124"}, {"code": "97140"}],
    }
    out = document_with_adjudications(doc, [primary, second])
    first, other = (c["prior_payment"] for c in out["other_coverages"])
    assert (first["paid_amount"], first["remaining_patient_liability"]) == ("120.00", "30.00")
    assert first["adjustments"] == []  # the primary's adjustments are on its lines (2430)
    assert other["adjustments"] == [{"group": "PR", "reason": "1", "amount": "30.00"}]  # told at claim level
    assert [s["prior_payment"]["paid_amount"] for s in out["services"]] == ["80.00", "40.00"]
    assert "prior_payment" not in doc["services"][0]  # the input is left as it was


def test_clp05_against_the_pr_adjustments() -> None:
    pr = (Adjustment("PR", "2", D("30.00")),)
    assert (
        responsibility_mismatch(ClaimPayment("C1", "1", D("100"), D("70"), D("30.00"), adjustments=pr))
        is None
    )
    item = responsibility_mismatch(ClaimPayment("C1", "1", D("100"), D("70"), D("35.00"), adjustments=pr))
    assert item is not None and item.kind == "responsibility-mismatch" and item.amount == D("5.00")


def test_a_payer_going_below_zero_is_listed_to_refund() -> None:
    charge = Entry("c", EntryKind.CHARGE, Bucket.INSURANCE, D("100.00"), "pt", "l1", "c1", "l1", "P1")
    over = Entry(
        "p", EntryKind.INSURANCE_PAYMENT, Bucket.INSURANCE, D("130.00"), "pt", "l1", "c1", "l1", "P1"
    )
    (item,) = negative_payer_items([charge], [over], "C1")
    assert (item.kind, item.action, item.amount, item.line) == ("payer-overpaid", "refund", D("30.00"), "l1")
    fine = Entry(
        "q", EntryKind.INSURANCE_PAYMENT, Bucket.INSURANCE, D("100.00"), "pt", "l1", "c1", "l1", "P1"
    )
    assert negative_payer_items([charge], [fine], "C1") == []


def test_a_later_payers_carc_23_is_not_written_off() -> None:
    ref = ClaimRef("c1", "C2", "pt", "P2", (L1,), prior_payer_adjudicated=True)
    line = ServicePayment("97124", "HC", (), D("100.00"), D("15.00"), line_id="C1-1", adjustments=(
        Adjustment("OA", "23", D("80.00")), Adjustment("PR", "1", D("5.00"))))  # fmt: skip
    cp = ClaimPayment("C2", "2", D("100.00"), D("15.00"), D("5.00"), lines=(line,))
    posting = post_claim_payment(cp, ref, "P2")
    assert posting.posted
    assert not [e for e in posting.entries if e.kind is EntryKind.ADJUSTMENT]
    assert sorted(str(e.kind) for e in posting.entries) == ["insurance-payment", "transfer", "transfer"]
