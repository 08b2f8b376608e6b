"""The pages' filters: money as money, dates as a US clinic reads them, statuses in words."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest

from therabill.domain.money import from_cents, usd_text
from therabill.entrypoints.web.filters import cents_text, day, day_long, money, status, when


def test_money_takes_cents_as_int_and_dollars_as_decimal_or_text() -> None:
    assert money(258525) == "$2,585.25"
    assert money(Decimal("2585.25")) == "$2,585.25"
    assert money("2585.25") == "$2,585.25"
    assert money(-1200) == "-$12.00"
    assert money(0) == "$0.00"
    assert money(None) == "" and money("") == ""
    assert money("n/a") == "n/a"


def test_cents_are_shown_as_the_decimal_amount_would_be() -> None:
    """The integer path of ``money`` writes what ``usd_text(from_cents(...))`` writes."""
    amounts = [*range(-1005, 1005), 99_999, 100_000, 123_456_789, -123_456_789, 10**12, -(10**12) - 1]
    for cents in amounts:
        assert cents_text(cents) == usd_text(from_cents(cents)), cents
    assert money(-5) == "-$0.05" and money(100_000) == "$1,000.00"


def test_money_refuses_float_and_bool() -> None:
    with pytest.raises(TypeError):
        money(1.5)
    with pytest.raises(TypeError):
        money(True)


def test_dates_and_moments() -> None:
    assert day(date(2026, 11, 3)) == "11/03/2026"
    assert day("2026-11-23") == "11/23/2026"
    assert day(datetime(2026, 1, 2, 23, 59)) == "01/02/2026"
    assert day(None) == "" and day("someday") == "someday"
    assert day_long(date(2026, 11, 23)) == "Mon, Nov 23, 2026"
    assert when(datetime(2026, 11, 23, 15, 5)) == "11/23/2026 3:05 PM"
    assert when(datetime(2026, 11, 23, 0, 7)) == "11/23/2026 12:07 AM"
    assert when(datetime(2026, 11, 23, 12, 0)) == "11/23/2026 12:00 PM"


def test_statuses_in_words() -> None:
    assert status("partly_paid") == "Partly paid"
    assert status("ready") == "Ready"
    assert status("clearinghouse_rejected") == "Rejected by the clearinghouse"
    assert status(None) == ""
