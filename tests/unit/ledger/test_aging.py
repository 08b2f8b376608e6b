"""Aging on a statement: the buckets always add up to the amount due."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from therabill.domain.ledger import age_balances
from therabill.domain.money import ZERO

BUCKETS = (("Current", 0, 30), ("31-60", 31, 60), ("61-90", 61, 90), ("Over 90", 91, None))
AS_OF = date(2026, 12, 1)

cents = st.integers(min_value=-50_000, max_value=200_000).map(lambda c: Decimal(c) / 100)
when = st.one_of(
    st.none(), st.integers(min_value=-400, max_value=60).map(lambda d: AS_OF + timedelta(days=d))
)


@given(st.lists(st.tuples(when, cents), max_size=30))
def test_buckets_add_up_to_the_amount_due(items: list[tuple[date | None, Decimal]]) -> None:
    aging = age_balances(items, AS_OF, BUCKETS)
    due = max(sum((a for _, a in items), ZERO), ZERO)
    assert sum(a for _, a in aging) == due
    assert all(a >= ZERO for _, a in aging)
    assert [label for label, _ in aging] == [b[0] for b in BUCKETS]


def test_an_item_dated_after_the_statement_is_current_not_lost() -> None:
    aging = dict(age_balances([(AS_OF + timedelta(days=3), Decimal("40.00"))], AS_OF, BUCKETS))
    assert aging["Current"] == Decimal("40.00")


def test_ages_by_charge_date() -> None:
    items = [(AS_OF - timedelta(days=d), Decimal("10.00")) for d in (0, 30, 31, 60, 61, 90, 91, 400)]
    assert dict(age_balances(items, AS_OF, BUCKETS)) == {
        "Current": Decimal("20.00"),
        "31-60": Decimal("20.00"),
        "61-90": Decimal("20.00"),
        "Over 90": Decimal("20.00"),
    }


def test_a_credit_pays_the_oldest_first() -> None:
    items = [
        (AS_OF - timedelta(days=100), Decimal("30.00")),
        (AS_OF - timedelta(days=5), Decimal("50.00")),
        (None, Decimal("-40.00")),
    ]
    assert dict(age_balances(items, AS_OF, BUCKETS)) == {
        "Current": Decimal("40.00"),
        "31-60": ZERO,
        "61-90": ZERO,
        "Over 90": ZERO,
    }


def test_buckets_with_a_gap_are_refused() -> None:
    with pytest.raises(ValueError, match="without gaps"):
        age_balances([], AS_OF, (("a", 0, 30), ("b", 32, None)))
