"""The claim-lifecycle decisions: what each status allows, version numbers, follow-up reasons and aging."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from therabill.domain import claim_changes as cc
from therabill.domain.records import CLAIM_TRANSITIONS, ClaimStatus, check_claim_transition

S = ClaimStatus
DAY = date(2026, 11, 23)


def _code(call) -> str | None:  # type: ignore[no-untyped-def]
    try:
        call()
    except cc.ClaimChangeError as exc:
        return exc.problems[0].code
    return None


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (None, None),
        ("draft", None),
        ("scrubbed", None),
        ("ready", None),
        ("submitted", "visit-claim-sent"),
        ("paid", "visit-claim-sent"),
        ("clearinghouse_rejected", "visit-claim-rejected"),
    ],
)
def test_a_visit_is_edited_only_until_its_claim_leaves(status: str | None, expected: str | None) -> None:
    assert _code(lambda: cc.check_visit_edit(status)) == expected


def test_void_in_place_or_with_the_payers_number() -> None:
    assert cc.void_in_place("ready") and cc.void_in_place("batch_rejected")
    assert not cc.void_in_place("paid")
    assert _code(lambda: cc.check_void("paid", None)) == "claim-payer-number-missing"
    assert _code(lambda: cc.check_void("paid", "  ")) == "claim-payer-number-missing"
    assert _code(lambda: cc.check_void("paid", "ICN1")) is None
    assert _code(lambda: cc.check_void("voided", "ICN1")) == "claim-closed"
    assert _code(lambda: cc.check_void("replaced", None)) == "claim-closed"


@pytest.mark.parametrize(
    ("status", "number", "expected"),
    [
        ("scrubbed", "X", "claim-not-sent"),
        ("payer_rejected", "X", "claim-rejected"),
        ("voided", "X", "claim-closed"),
        ("denied", None, "claim-payer-number-missing"),
        ("denied", "X", None),
        ("paid", "X", None),
        ("partly_paid", "X", None),
        ("pending", "X", None),
    ],
)
def test_correct_needs_a_claim_the_payer_has(status: str, number: str | None, expected: str | None) -> None:
    assert _code(lambda: cc.check_correct(status, number)) == expected


def test_only_rejected_claims_are_rebilled() -> None:
    for status in cc.REJECTED:
        assert _code(lambda s=status: cc.check_rebill(s)) is None
    assert _code(lambda: cc.check_rebill("paid")) == "claim-not-rejected"
    assert _code(lambda: cc.check_rebill("ready")) == "claim-not-rejected"


def test_every_change_the_rules_allow_is_a_transition_the_life_cycle_allows() -> None:
    for status in S:
        if status in cc.CLOSED:
            continue
        if cc.void_in_place(status) or status in cc.AT_PAYER:
            check_claim_transition(status.value, S.VOIDED.value)
        if status in cc.AT_PAYER or status in cc.REJECTED or status in cc.UNSENT:
            check_claim_transition(status.value, S.REPLACED.value)
    assert CLAIM_TRANSITIONS[S.VOIDED] == frozenset() and CLAIM_TRANSITIONS[S.REPLACED] == frozenset()


def test_version_numbers() -> None:
    assert cc.version_number("TB0123456789", 1) == "TB0123456789"
    assert cc.version_number("TB0123456789", 2) == "TB0123456789-2"
    assert len(cc.version_number("TB0123456789", 99)) <= 20
    assert _code(lambda: cc.version_number("TB0123456789", 100)) == "claim-too-many-versions"


def test_change_kinds() -> None:
    assert cc.change_kind("1", False, False) is cc.ChangeKind.ORIGINAL
    assert cc.change_kind("1", True, True) is cc.ChangeKind.EDIT
    assert cc.change_kind("1", True, False) is cc.ChangeKind.REBILL
    assert cc.change_kind("7", True, False) is cc.ChangeKind.CORRECT
    assert cc.change_kind("8", True, False) is cc.ChangeKind.VOID


def test_follow_up_reasons_count_from_the_date_of_service() -> None:
    dos = date(2026, 10, 20)
    reason = cc.follow_up_reason
    assert reason("denied", date_of_service=DAY, as_of=DAY, unpaid_days=30) is cc.FollowUpReason.DENIED
    assert (
        reason("payer_rejected", date_of_service=DAY, as_of=DAY, unpaid_days=30) is cc.FollowUpReason.REJECTED
    )
    assert reason("submitted", date_of_service=dos, as_of=DAY, unpaid_days=30) is cc.FollowUpReason.UNPAID
    assert reason("submitted", date_of_service=dos, as_of=DAY, unpaid_days=35) is None
    assert reason("ready", date_of_service=dos, as_of=DAY, unpaid_days=0) is None
    assert reason("paid", date_of_service=dos, as_of=DAY, unpaid_days=0) is None


@given(st.integers(min_value=0, max_value=2000))
def test_aging_buckets_cover_every_age(days: int) -> None:
    bucket = cc.aging_bucket(days)
    expected = next((name for low, high, name in cc.AGING_BUCKETS if low <= days <= high), "121+")
    assert bucket == expected


def test_age_never_below_zero() -> None:
    assert cc.age_days(date(2026, 12, 1), DAY) == 0
    assert cc.age_days(date(2026, 10, 24), DAY) == 30


def test_actions_by_status() -> None:
    assert cc.follow_up_actions("denied", "ICN") == (
        "correct",
        "void",
        "appeal",
        "write_off",
        "transfer_to_patient",
    )
    assert cc.follow_up_actions("denied", None) == ("appeal", "write_off", "transfer_to_patient")
    assert cc.follow_up_actions("clearinghouse_rejected", None)[0] == "rebill"
    assert cc.follow_up_actions("submitted", None) == ("write_off", "transfer_to_patient")


def test_follow_up_changes_are_checked_by_field() -> None:
    ok = cc.check_follow_up_change(cc.FollowUpChange("waiting", "  Bea  ", DAY), as_of=DAY)
    assert ok.owner == "Bea"
    with pytest.raises(cc.ClaimChangeError) as bad:
        cc.check_follow_up_change(cc.FollowUpChange("lost", "x" * 81, date(2026, 1, 1)), as_of=DAY)
    assert [p.loc for p in bad.value.problems] == ["state", "owner", "next_action_on"]
