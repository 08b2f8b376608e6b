"""Calendar rules: status moves, spans with buffers, local time across DST, free starts, weekly rules."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest

from therabill.domain import schedule as rules
from therabill.domain.schedule import ScheduleError, Span


@pytest.mark.parametrize(
    ("current", "new", "ok"),
    [
        ("scheduled", "confirmed", True),
        ("confirmed", "arrived", True),
        ("arrived", "completed", True),
        ("scheduled", "no_show", True),
        ("confirmed", "late_cancel", True),
        ("completed", "cancelled", False),
        ("arrived", "no_show", False),
        ("no_show", "scheduled", True),
    ],
)
def test_transitions(current: str, new: str, ok: bool) -> None:
    if ok:
        assert rules.check_transition(current, new).value == new
    else:
        with pytest.raises(ScheduleError) as err:
            rules.check_transition(current, new)
        assert err.value.problems[0].code == "appointment-status-transition"


def test_unknown_status_names_the_field() -> None:
    with pytest.raises(ScheduleError) as err:
        rules.check_transition("scheduled", "teleported")
    assert (err.value.problems[0].code, err.value.problems[0].loc) == ("appointment-status-unknown", "status")


def test_held_span_includes_the_buffer_and_touching_spans_do_not_overlap() -> None:
    a = rules.held_span(datetime(2026, 1, 5, 15), datetime(2026, 1, 5, 16), 15)
    assert a.end == datetime(2026, 1, 5, 16, 15)
    assert a.overlaps(Span(datetime(2026, 1, 5, 16, 10), datetime(2026, 1, 5, 17)))
    assert not a.overlaps(Span(datetime(2026, 1, 5, 16, 15), datetime(2026, 1, 5, 17)))
    with pytest.raises(ScheduleError):
        rules.held_span(datetime(2026, 1, 5, 16), datetime(2026, 1, 5, 16), 0)


def test_local_time_round_trips_across_both_changes() -> None:
    ny = "America/New_York"
    assert rules.to_utc(datetime(2027, 3, 9, 10), ny) == datetime(2027, 3, 9, 15)
    assert rules.to_utc(datetime(2027, 3, 16, 10), ny) == datetime(2027, 3, 16, 14)
    assert rules.to_utc(datetime(2026, 10, 27, 10), ny) == datetime(2026, 10, 27, 14)
    assert rules.to_utc(datetime(2026, 11, 3, 10), ny) == datetime(2026, 11, 3, 15)
    start, end = rules.local_day_bounds(date(2027, 3, 14), ny)
    assert end - start == timedelta(hours=23)
    start, end = rules.local_day_bounds(date(2026, 11, 1), ny)
    assert end - start == timedelta(hours=25)
    assert rules.shift_local(datetime(2027, 3, 9, 15), timedelta(days=7), ny) == datetime(2027, 3, 16, 14)


def test_unknown_zone_is_refused() -> None:
    with pytest.raises(ScheduleError) as err:
        rules.zone("Nowhere/Town")
    assert err.value.problems[0].code == "time-zone-unknown"


def test_free_starts_skip_busy_spans_and_respect_the_working_end() -> None:
    day = datetime(2026, 1, 5)
    working = [Span(day.replace(hour=8, minute=30), day.replace(hour=13))]
    busy = [Span(day.replace(hour=10), day.replace(hour=11, minute=15))]
    starts = rules.free_starts(
        working, busy, timedelta(minutes=60), timedelta(minutes=75), timedelta(minutes=15)
    )
    # 08:45 + 75 min held ends at 10:00 (touching the busy span); 12:00 + 60 ends at the working end.
    assert [f"{s:%H:%M}" for s in starts] == ["08:30", "08:45", "11:15", "11:30", "11:45", "12:00"]


def test_within_hours() -> None:
    working = rules.working_spans(date(2026, 1, 6), [rules.Hours(1, time(9), time(17))], "UTC")
    assert rules.within_hours(Span(datetime(2026, 1, 6, 9), datetime(2026, 1, 6, 10)), working)
    assert not rules.within_hours(Span(datetime(2026, 1, 6, 16, 30), datetime(2026, 1, 6, 17, 30)), working)
    assert rules.working_spans(date(2026, 1, 7), [rules.Hours(1, time(9), time(17))], "UTC") == []


def test_weekly_rule_and_its_limits() -> None:
    assert rules.weekly_rule(datetime(2026, 12, 1, 10), count=6) == "FREQ=WEEKLY;INTERVAL=1;BYDAY=TU;COUNT=6"
    assert (
        rules.weekly_rule(datetime(2026, 12, 4, 10), until=date(2027, 1, 29), interval=2)
        == "FREQ=WEEKLY;INTERVAL=2;BYDAY=FR;UNTIL=20270129T235959"
    )
    for kwargs, code in [
        ({}, "series-end-missing"),
        ({"count": 0}, "series-count-invalid"),
        ({"count": 2, "interval": 9}, "series-interval-invalid"),
        ({"until": date(2026, 11, 1)}, "series-until-invalid"),
    ]:
        with pytest.raises(ScheduleError) as err:
            rules.weekly_rule(datetime(2026, 12, 1, 10), **kwargs)  # type: ignore[arg-type]
        assert err.value.problems[0].code == code


def test_late_cancel_window() -> None:
    start = datetime(2026, 1, 5, 15)
    assert rules.is_late_cancel(start, start - timedelta(hours=23), 24)
    assert not rules.is_late_cancel(start, start - timedelta(hours=25), 24)
    assert not rules.is_late_cancel(start, start - timedelta(hours=1), None)


def test_a_time_with_an_offset_is_read_on_the_practice_clock() -> None:
    from datetime import UTC

    aware = datetime(2026, 12, 1, 15, tzinfo=UTC)
    assert rules.wall_clock(aware, "America/New_York") == datetime(2026, 12, 1, 10)
    assert rules.to_utc(aware, "America/New_York") == datetime(2026, 12, 1, 15)
    assert rules.wall_clock(datetime(2026, 12, 1, 10), "America/New_York") == datetime(2026, 12, 1, 10)
