"""Money through one door."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from therabill.domain.money import ZERO, D, MoneyError, from_cents, quantize, to_cents


def test_decimal_strings() -> None:
    assert D("35") == Decimal("35.00")
    assert D("35.5") == Decimal("35.50")
    assert D(12) == Decimal("12.00")
    assert ZERO == Decimal("0.00")


@pytest.mark.parametrize("bad", ["", "abc", "1e3", "NaN", "Infinity", "1.005", "1,00"])
def test_rejects_non_amounts(bad: str) -> None:
    with pytest.raises(MoneyError):
        D(bad)


def test_rejects_float_and_bool() -> None:
    with pytest.raises(MoneyError):
        D(1.1)  # type: ignore[arg-type]
    with pytest.raises(MoneyError):
        D(True)


def test_quantize_half_up() -> None:
    assert quantize(Decimal("0.125")) == Decimal("0.13")
    assert quantize(Decimal("0.135")) == Decimal("0.14")


@given(st.integers(-(10**12), 10**12))
def test_cents_round_trip(cents: int) -> None:
    assert to_cents(from_cents(cents)) == cents
