"""The one definition of an authorization about to run out."""

from __future__ import annotations

from datetime import date, timedelta

from therabill.domain.records import authorization_running_out

DAY = date(2026, 11, 23)


def _out(**kw: object) -> bool:
    base: dict[str, object] = {
        "day": DAY,
        "end_date": None,
        "visits_allowed": 12,
        "visits_used": 0,
        "units_allowed": 48,
        "units_used": 0,
    }
    base.update(kw)
    return authorization_running_out(**base)  # type: ignore[arg-type]


def test_plenty_left_is_not_running_out() -> None:
    assert not _out() and not _out(end_date=DAY + timedelta(days=8))


def test_two_visits_ten_units_or_a_week_left_is() -> None:
    assert _out(visits_used=10) and not _out(visits_used=9)
    assert _out(units_used=38) and not _out(units_used=37)
    assert _out(end_date=DAY + timedelta(days=7))


def test_an_ended_authorization_is_not_running_out_it_is_over() -> None:
    assert not _out(end_date=DAY - timedelta(days=1), visits_used=12)


def test_no_limit_only_the_date_counts() -> None:
    assert not _out(visits_allowed=None, units_allowed=None)
