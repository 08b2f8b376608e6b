"""The ledger's rules: worked example, reversals, idempotency, allocation, checks."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from therabill.domain.ledger import (
    Bucket,
    ChargeType,
    Entry,
    EntryKind,
    Ledger,
    LedgerError,
    allocate,
    apply_payment,
    new_id,
    patient_account,
    transfer,
)
from therabill.domain.money import ZERO, D


def _charge(amount: str, line: str = "L1", payer: str | None = "P1", patient: str = "pt1") -> Entry:
    return Entry(
        entry_id=new_id(),
        kind=EntryKind.CHARGE,
        bucket=Bucket.INSURANCE if payer else Bucket.PATIENT,
        amount=D(amount),
        patient_id=patient,
        item_id=line,
        claim_id="C1" if payer else None,
        claim_line_id=line if payer else None,
        payer_id=payer,
        detail=ChargeType.CLAIM_LINE if payer else ChargeType.SELF_PAY,
    )


def _line(kind: EntryKind, amount: str, bucket: Bucket = Bucket.INSURANCE, **kw: str) -> Entry:
    return Entry(
        entry_id=new_id(),
        kind=kind,
        bucket=bucket,
        amount=D(amount),
        patient_id="pt1",
        item_id="L1",
        claim_id="C1",
        claim_line_id="L1",
        payer_id="P1" if bucket is Bucket.INSURANCE else None,
        **kw,
    )


def test_worked_example_100_line() -> None:
    """$100 line: payer pays $60, CO-45 $20, PR-2 $20 → ins 0, patient $20; patient pays → 0."""
    ledger = Ledger().post([_charge("100.00")])
    ledger = ledger.post(
        [
            _line(EntryKind.INSURANCE_PAYMENT, "60.00"),
            _line(EntryKind.ADJUSTMENT, "20.00", group_code="CO", reason_code="45"),
            *transfer(
                D("20.00"),
                patient_id="pt1",
                item_id="L1",
                claim_id="C1",
                from_bucket=Bucket.INSURANCE,
                from_payer="P1",
                to_bucket=Bucket.PATIENT,
                group_code="PR",
                reason_code="2",
            ),
        ]
    )
    bal = ledger.item_balances()["L1"]
    assert bal.charges == D("100.00")
    assert bal.insurance_payments == D("60.00")
    assert bal.adjustments == D("20.00")
    assert bal.insurance_balance == ZERO
    assert bal.patient_balance == D("20.00")
    assert bal.holds()
    assert ledger.payer_balances() == {"P1": ZERO}
    ledger = ledger.post([_line(EntryKind.PATIENT_PAYMENT, "20.00", Bucket.PATIENT, detail="card")])
    bal = ledger.item_balances()["L1"]
    assert (bal.insurance_balance, bal.patient_balance, bal.patient_payments) == (ZERO, ZERO, D("20.00"))
    assert bal.holds()
    assert ledger.claim_balances()["C1"] == bal


def test_reversal_restores_exact_prior_state_and_cannot_repeat() -> None:
    ledger = Ledger().post([_charge("100.00")])
    pay = _line(EntryKind.INSURANCE_PAYMENT, "60.00")
    before = ledger.item_balances()
    ledger = ledger.post([pay])
    reversed_ = ledger.reverse(pay.entry_id)
    assert reversed_.item_balances() == before
    assert len(reversed_.entries) == 3
    rev = reversed_.entries[-1]
    assert rev.reverses == pay.entry_id and rev.amount == D("-60.00") and rev.kind is pay.kind
    with pytest.raises(LedgerError) as err:
        reversed_.reverse(pay.entry_id)
    assert [p.code for p in err.value.problems] == ["ledger-already-reversed"]
    with pytest.raises(LedgerError) as err:
        reversed_.reverse(rev.entry_id)
    assert [p.code for p in err.value.problems] == ["ledger-reversal-of-reversal"]
    # re-posting after the reversal restores the paid state
    again = reversed_.post([_line(EntryKind.INSURANCE_PAYMENT, "60.00")])
    assert again.item_balances()["L1"].insurance_balance == D("40.00")


def test_transfer_reversal_reverses_both_legs() -> None:
    ledger = Ledger().post([_charge("80.00")])
    legs = transfer(
        D("30.00"),
        patient_id="pt1",
        item_id="L1",
        claim_id="C1",
        from_bucket=Bucket.INSURANCE,
        from_payer="P1",
        to_bucket=Bucket.INSURANCE,
        to_payer="P2",
    )
    ledger = ledger.post(list(legs))
    assert ledger.payer_balances() == {"P1": D("50.00"), "P2": D("30.00")}
    ledger = ledger.reverse(legs[1].entry_id)
    assert ledger.payer_balances() == {"P1": D("80.00"), "P2": ZERO}
    assert ledger.item_balances()["L1"].holds()


def test_idempotent_posting_changes_nothing() -> None:
    ledger = Ledger().post([_charge("100.00")], key="charge-1")
    pay = [_line(EntryKind.INSURANCE_PAYMENT, "60.00")]
    once = ledger.post(pay, key="era-1")
    twice = once.post([_line(EntryKind.INSURANCE_PAYMENT, "60.00")], key="era-1")
    assert twice is once
    assert once.item_balances()["L1"].insurance_payments == D("60.00")


@pytest.mark.parametrize(
    ("entries", "code"),
    [
        ([_line(EntryKind.INSURANCE_PAYMENT, "10.00", Bucket.PATIENT)], "ledger-bucket-invalid"),
        ([_line(EntryKind.PATIENT_PAYMENT, "-1.00", Bucket.PATIENT)], "ledger-amount-not-positive"),
        ([_line(EntryKind.ADJUSTMENT, "0.00")], "ledger-amount-zero"),
        (
            [
                Entry(
                    new_id(),
                    EntryKind.INSURANCE_PAYMENT,
                    Bucket.INSURANCE,
                    D("5.00"),
                    "pt1",
                    "NOPE",
                    payer_id="P1",
                )
            ],
            "ledger-item-unknown",
        ),
        (
            [Entry(new_id(), EntryKind.TRANSFER, Bucket.PATIENT, D("5.00"), "pt1", "L1", journal_id="j")],
            "ledger-transfer-unbalanced",
        ),
        (
            [Entry(new_id(), EntryKind.CHARGE, Bucket.INSURANCE, D("5.00"), "pt1", "L2")],
            "ledger-payer-missing",
        ),
        (
            [Entry(new_id(), EntryKind.CHARGE, Bucket.PATIENT, Decimal("5.001"), "pt1", "L2")],
            "ledger-amount-invalid",
        ),
        (
            [_line(EntryKind.PATIENT_PAYMENT, "5.00", Bucket.PATIENT, reverses="unknown")],
            "ledger-reversal-unknown",
        ),
    ],
)
def test_invalid_entries_are_refused_with_their_rule(entries: list[Entry], code: str) -> None:
    ledger = Ledger().post([_charge("100.00")])
    with pytest.raises(LedgerError) as err:
        ledger.post(entries)
    assert code in [p.code for p in err.value.problems]
    assert len(ledger.entries) == 1


def test_refused_posting_is_all_or_nothing() -> None:
    ledger = Ledger().post([_charge("100.00")])
    good = _line(EntryKind.INSURANCE_PAYMENT, "10.00")
    bad = _line(EntryKind.INSURANCE_PAYMENT, "10.00", Bucket.PATIENT)
    with pytest.raises(LedgerError):
        ledger.post([good, bad])
    assert ledger.post([good]).item_balances()["L1"].insurance_balance == D("90.00")


def test_credit_balance_unapplied_payment_tips_and_prepaid_are_reported() -> None:
    fee = Entry(new_id(), EntryKind.CHARGE, Bucket.PATIENT, D("40.00"), "pt1", detail=ChargeType.NO_SHOW)
    fee = Entry(
        fee.entry_id, fee.kind, fee.bucket, fee.amount, "pt1", item_id=fee.entry_id, detail=fee.detail
    )
    ledger = Ledger().post([fee])
    ledger = ledger.post(
        [
            Entry(
                new_id(),
                EntryKind.PATIENT_PAYMENT,
                Bucket.PATIENT,
                D("50.00"),
                "pt1",
                fee.entry_id,
                detail="cash",
            ),
            Entry(new_id(), EntryKind.PATIENT_PAYMENT, Bucket.PATIENT, D("15.00"), "pt1", detail="card"),
            Entry(new_id(), EntryKind.TIP, Bucket.TIPS, D("10.00"), "pt1", detail="card"),
            Entry(
                new_id(),
                EntryKind.PREPAID_SALE,
                Bucket.PREPAID,
                D("300.00"),
                "pt1",
                instrument_id="pkg1",
                group_code="package",
                detail="card",
            ),
        ]
    )
    acct = patient_account("pt1", ledger.entries)
    assert acct.balance.patient_balance == D("-25.00")  # 40 - 50 - 15 unapplied
    assert acct.credit == D("25.00")
    assert acct.unapplied == D("15.00")
    assert acct.tips == D("10.00")
    assert acct.prepaid == {"pkg1": D("300.00")}
    assert acct.items[fee.entry_id].patient_balance == D("-10.00")
    assert acct.balance.holds()
    # tips and prepaid money are not revenue: not part of any balance
    assert acct.balance.patient_payments == D("65.00")


@given(
    st.decimals(min_value=Decimal("-100000"), max_value=Decimal("100000"), places=2),
    st.lists(
        st.decimals(min_value=Decimal("0"), max_value=Decimal("5000"), places=2), min_size=1, max_size=8
    ),
)
def test_allocation_parts_sum_exactly_to_the_whole(amount: Decimal, weights: list[Decimal]) -> None:
    if sum(weights) == 0:
        weights = [*weights[:-1], Decimal("1")]
    parts = allocate(amount, weights)
    assert sum(parts, ZERO) == amount
    assert len(parts) == len(weights)
    total = sum(weights)
    for part, w in zip(parts, weights, strict=True):
        exact = amount * w / total
        assert abs(part - exact) < Decimal("0.01")  # never more than one cent off its share
        assert part == part.quantize(Decimal("0.01"))


def test_allocation_largest_remainder_known_values() -> None:
    assert allocate(D("100.00"), [D(1), D(1), D(1)]) == (D("33.34"), D("33.33"), D("33.33"))
    assert allocate(D("0.05"), [D(1), D(2), D(2)]) == (D("0.01"), D("0.02"), D("0.02"))
    assert allocate(D("-10.00"), [D(1), D(2)]) == (D("-3.33"), D("-6.67"))


def test_apply_payment_splits_or_leaves_unapplied() -> None:
    parts, rest = apply_payment(D("50.00"), {"a": D("30.00"), "b": D("70.00"), "c": ZERO})
    assert parts == {"a": D("15.00"), "b": D("35.00")} and rest == ZERO
    parts, rest = apply_payment(D("120.00"), {"a": D("30.00"), "b": D("70.00")})
    assert parts == {"a": D("30.00"), "b": D("70.00")} and rest == D("20.00")
