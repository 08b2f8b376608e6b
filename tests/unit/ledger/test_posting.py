"""Pure remittance posting: matching, claim-level splits, crossovers, worklist."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from therabill.domain.ledger import Bucket, Entry, EntryKind, Ledger, balances_by
from therabill.domain.money import D
from therabill.domain.posting import ClaimRef, LineRef, post_claim_payment
from therabill.domain.remittance import Adjustment, ClaimPayment, ServicePayment

DOS = date(2026, 11, 20)
REF = ClaimRef(
    "c1",
    "CLM1",
    "pt",
    "P1",
    (LineRef("l1", "CLM1-1", "97124", D("100.00"), DOS), LineRef("l2", "CLM1-2", "97140", D("50.00"), DOS)),
    next_payer_id="P2",
)


def _charged() -> Ledger:
    return Ledger().post(
        [
            Entry(
                f"ch-{ln.claim_line_id}",
                EntryKind.CHARGE,
                Bucket.INSURANCE,
                ln.charge,
                "pt",
                ln.claim_line_id,
                "c1",
                ln.claim_line_id,
                "P1",
            )
            for ln in REF.lines
        ]
    )


def test_claim_without_lines_is_split_by_charge_and_balances() -> None:
    cp = ClaimPayment(
        "CLM1",
        "1",
        D("150.00"),
        D("100.00"),
        D("20.00"),
        adjustments=(Adjustment("CO", "45", D("30.00")), Adjustment("PR", "1", D("20.00"))),
    )
    alone = replace(REF, next_payer_id=None)  # no other coverage: the patient owes the PR share
    posting = post_claim_payment(cp, alone, "P1")
    ledger = _charged().post(posting.entries)
    items = balances_by(ledger.entries, lambda e: e.item_id)
    assert items["l1"].insurance_payments == D("66.67") and items["l2"].insurance_payments == D("33.33")
    assert all(b.holds() and b.insurance_balance == D("0.00") for b in items.values())
    assert ledger.balance().patient_balance == D("20.00")
    # With a secondary on file, the same share waits for the secondary payer instead.
    to_next = _charged().post(post_claim_payment(cp, REF, "P1").entries)
    assert to_next.payer_balances() == {"P1": D("0.00"), "P2": D("20.00")}
    assert to_next.balance().patient_balance == D("0.00")


def test_crossover_moves_patient_share_to_the_secondary_and_is_listed() -> None:
    line = ServicePayment(
        "97124",
        "HC",
        ("GP",),
        D("100.00"),
        D("80.00"),
        line_id="CLM1-1",
        adjustments=(Adjustment("PR", "2", D("20.00")),),
    )
    cp = ClaimPayment("CLM1", "19", D("100.00"), D("80.00"), D("20.00"), lines=(line,), remarks=("MA18",))
    posting = post_claim_payment(cp, REF, "P1")
    assert posting.crossover and [w.kind for w in posting.worklist] == ["crossover"]
    ledger = _charged().post(posting.entries)
    assert ledger.payer_balances() == {"P1": D("50.00"), "P2": D("20.00")}
    assert ledger.balance().patient_balance == D("0.00")


def test_unmatched_claim_line_and_unbalanced_claim_post_nothing() -> None:
    cp = ClaimPayment("CLMX", "1", D("10.00"), D("10.00"))
    assert [w.kind for w in post_claim_payment(cp, None, "P1").worklist] == ["claim-unmatched"]
    stray = ServicePayment("97530", "HC", (), D("10.00"), D("10.00"), service_date=DOS)
    posting = post_claim_payment(ClaimPayment("CLM1", "1", D("10.00"), D("10.00"), lines=(stray,)), REF, "P1")
    assert not posting.posted and [w.kind for w in posting.worklist] == ["line-unmatched"]
    bad = ServicePayment("97124", "HC", (), D("100.00"), D("90.00"), line_id="CLM1-1")
    posting = post_claim_payment(ClaimPayment("CLM1", "1", D("100.00"), D("90.00"), lines=(bad,)), REF, "P1")
    assert not posting.entries and [w.kind for w in posting.worklist] == ["claim-unbalanced"]


def test_line_matched_by_code_and_date_when_ref_6r_is_missing() -> None:
    line = ServicePayment("97140", "HC", (), D("50.00"), D("50.00"), service_date=DOS)
    posting = post_claim_payment(ClaimPayment("CLM1", "1", D("50.00"), D("50.00"), lines=(line,)), REF, "P1")
    (pay,) = posting.entries
    assert pay.claim_line_id == "l2" and pay.amount == D("50.00")
