"""Revenue reads whole months from the monthly totals and the other days from the entries:
every day of the range is read exactly once, and no day outside it."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from hypothesis import given
from hypothesis import strategies as st

from therabill.reports.revenue import Split, split_range

WINDOW = (date(2025, 11, 1), date(2027, 2, 28))
days = st.dates(min_value=WINDOW[0] + timedelta(days=31), max_value=WINDOW[1] - timedelta(days=31))


def _times_read(split: Split, day: date) -> int:
    month = day.isoformat()[:7]
    by_month = int(
        split.months
        and (split.first_month is None or month >= split.first_month)
        and (split.end_month is None or month < split.end_month)
    )
    moment = datetime.combine(day, time(12), tzinfo=UTC)
    return by_month + sum(start <= moment < end for start, end in split.days)


@given(days | st.none(), days | st.none())
def test_every_day_of_the_range_is_read_once(date_from: date | None, date_to: date | None) -> None:
    if date_from and date_to and date_to < date_from:
        date_from, date_to = date_to, date_from
    split = split_range(date_from, date_to)
    day = WINDOW[0]
    while day <= WINDOW[1]:
        inside = (date_from is None or day >= date_from) and (date_to is None or day <= date_to)
        assert _times_read(split, day) == int(inside), day
        day += timedelta(days=1)
    assert len(split.days) <= 2


def test_worked_splits() -> None:
    whole = split_range(date(2026, 9, 1), date(2026, 10, 31))
    assert (whole.months, whole.first_month, whole.end_month, whole.days) == (True, "2026-09", "2026-11", ())
    inside = split_range(date(2026, 9, 5), date(2026, 9, 20))
    assert not inside.months and len(inside.days) == 1
    year = split_range(date(2025, 12, 2), date(2026, 12, 2))
    assert (year.first_month, year.end_month) == ("2026-01", "2026-12")
    assert [(a.date(), b.date()) for a, b in year.days] == [
        (date(2025, 12, 2), date(2026, 1, 1)),
        (date(2026, 12, 1), date(2026, 12, 3)),
    ]
    everything = split_range(None, None)
    assert (everything.months, everything.first_month, everything.end_month, everything.days) == (
        True,
        None,
        None,
        (),
    )
