"""The calendar service on both engines: no double booking (also under concurrency), series, DST, fees."""

from __future__ import annotations

import threading
from datetime import date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import Engine, select

from tests.integration.db.builders import ACTOR, Practice, a_practice
from therabill.adapters.db.ledger_tables import ledger_entries
from therabill.domain.schedule import ScheduleError
from therabill.service_layer import practice as practice_svc
from therabill.service_layer import schedule
from therabill.service_layer.uow import UnitOfWork


def _codes(exc: pytest.ExceptionInfo[ScheduleError]) -> set[str]:
    return {p.code for p in exc.value.problems}


def _setup(engine: Engine) -> tuple[Practice, schedule.Service, schedule.Room]:
    p = a_practice(engine)
    room = schedule.add_room(engine, p.id, ACTOR, name="Room 1")
    svc = schedule.add_service(
        engine,
        p.id,
        ACTOR,
        name="Massage 60",
        duration_minutes=60,
        price=Decimal("95.00"),
        buffer_minutes=15,
        codes=["97124"],
        room_ids=[room.id],
    )
    return p, svc, room


def _second_therapist(engine: Engine, p: Practice) -> str:
    return practice_svc.add_provider(
        engine,
        p.id,
        ACTOR,
        first_name="Omar",
        last_name="Other",
        npi="1003000126",
        taxonomy="225700000X",
        credential="LMT",
        licenses=[("NY", "024999", None)],
    )


def test_book_reads_back_in_local_time_and_stores_utc(engine: Engine) -> None:
    p, svc, room = _setup(engine)
    appt = schedule.book(
        engine, p.id, ACTOR, patient_id=p.patient_id, provider_id=p.provider_id,
        start_local=datetime(2026, 12, 1, 10), service_id=svc.id,
    )  # fmt: skip
    assert appt.start == datetime(2026, 12, 1, 15)  # EST = UTC-5
    assert appt.start_local == datetime(2026, 12, 1, 10) and appt.end_local == datetime(2026, 12, 1, 11)
    assert appt.room_id == room.id and appt.status_label == "Booked"
    assert appt.patient_name == "Grace Miller" and appt.service_name == "Massage 60"
    assert schedule.get_appointment(engine, p.id, ACTOR, appt.id) == appt


def test_therapist_and_room_cannot_be_double_booked_including_the_buffer(engine: Engine) -> None:
    p, svc, room = _setup(engine)
    other = _second_therapist(engine, p)
    args = {"patient_id": p.patient_id, "service_id": svc.id}
    schedule.book(
        engine, p.id, ACTOR, provider_id=p.provider_id, start_local=datetime(2026, 12, 1, 10), **args
    )
    # 11:00 is inside the 15-minute buffer of the 10:00 appointment: refused for the therapist.
    with pytest.raises(ScheduleError) as err:
        schedule.book(
            engine, p.id, ACTOR, provider_id=p.provider_id, start_local=datetime(2026, 12, 1, 11), **args
        )
    assert "therapist-double-booked" in _codes(err)
    # Another therapist at 10:30 needs the only room: refused for the room.
    with pytest.raises(ScheduleError) as err:
        schedule.book(
            engine, p.id, ACTOR, provider_id=other, start_local=datetime(2026, 12, 1, 10, 30), **args
        )
    assert _codes(err) == {"room-double-booked"}
    # After the buffer both are free.
    ok = schedule.book(
        engine, p.id, ACTOR, provider_id=p.provider_id, start_local=datetime(2026, 12, 1, 11, 15), **args
    )
    assert ok.start_local == datetime(2026, 12, 1, 11, 15)


def test_cancelled_frees_the_slot_and_rebooking_it_checks_again(engine: Engine) -> None:
    p, svc, _ = _setup(engine)
    args = {"patient_id": p.patient_id, "service_id": svc.id, "provider_id": p.provider_id}
    first = schedule.book(engine, p.id, ACTOR, start_local=datetime(2026, 12, 2, 10), **args)
    schedule.cancel(engine, p.id, ACTOR, first.id)
    second = schedule.book(engine, p.id, ACTOR, start_local=datetime(2026, 12, 2, 10), **args)
    with pytest.raises(ScheduleError) as err:
        schedule.set_status(engine, p.id, ACTOR, first.id, "scheduled")
    assert "therapist-double-booked" in _codes(err)
    assert schedule.get_appointment(engine, p.id, ACTOR, second.id).status == "scheduled"


def test_status_life_cycle(engine: Engine) -> None:
    p, svc, _ = _setup(engine)
    a = schedule.book(
        engine, p.id, ACTOR, patient_id=p.patient_id, provider_id=p.provider_id,
        start_local=datetime(2026, 12, 3, 9), service_id=svc.id,
    )  # fmt: skip
    assert schedule.set_status(engine, p.id, ACTOR, a.id, "confirmed").status_label == "Confirmed"
    checked = schedule.check_in(engine, p.id, ACTOR, a.id)
    assert checked.appointment.status_label == "Checked in"
    assert checked.prefill["start_time"] == "09:00" and checked.prefill["end_time"] == "10:00"
    assert checked.prefill["services"] == [{"code": "97124", "minutes": 60}]
    assert checked.prefill["date_of_service"] == "2026-12-03"
    assert checked.authorizations and checked.authorizations[0]["visits_left"] == 100
    assert checked.intake["status"] == "missing"
    with pytest.raises(ScheduleError) as err:
        schedule.set_status(engine, p.id, ACTOR, a.id, "no_show")
    assert _codes(err) == {"appointment-status-transition"}
    with pytest.raises(ScheduleError) as err:
        schedule.reschedule(engine, p.id, ACTOR, a.id, start_local=datetime(2026, 12, 4, 9))
    assert _codes(err) == {"appointment-not-movable"}


def test_working_hours_and_time_off_are_respected(engine: Engine) -> None:
    p, svc, _ = _setup(engine)
    schedule.set_working_hours(engine, p.id, ACTOR, p.provider_id, [(1, "09:00", "13:00")])  # Tuesdays
    args = {"patient_id": p.patient_id, "service_id": svc.id, "provider_id": p.provider_id}
    with pytest.raises(ScheduleError) as err:
        schedule.book(engine, p.id, ACTOR, start_local=datetime(2026, 12, 1, 12, 30), **args)
    assert _codes(err) == {"outside-working-hours"}
    schedule.add_time_off(
        engine, p.id, ACTOR, p.provider_id, start_local=datetime(2026, 12, 8), end_local=datetime(2026, 12, 9)
    )
    with pytest.raises(ScheduleError) as err:
        schedule.book(engine, p.id, ACTOR, start_local=datetime(2026, 12, 8, 10), **args)
    assert _codes(err) == {"therapist-time-off"}
    assert schedule.availability(engine, p.id, ACTOR, service_id=svc.id, day=date(2026, 12, 8)) == []


def test_availability_lists_free_starts_around_bookings(engine: Engine) -> None:
    p, svc, _ = _setup(engine)
    schedule.set_working_hours(engine, p.id, ACTOR, p.provider_id, [(1, "09:00", "12:00")])
    schedule.book(
        engine, p.id, ACTOR, patient_id=p.patient_id, provider_id=p.provider_id,
        start_local=datetime(2026, 12, 1, 10), service_id=svc.id,
    )  # fmt: skip
    slots = schedule.availability(engine, p.id, ACTOR, service_id=svc.id, day=date(2026, 12, 1))
    # 09:00 + 60 + 15 buffer must end by 10:00 -> only 08:45 would; 09:00 overlaps. After: 11:15 (ends 12:15 > 12:00? no: 11:00 ends 12:00).
    assert [f"{s.start_local:%H:%M}" for s in slots] == []
    schedule.set_working_hours(engine, p.id, ACTOR, p.provider_id, [(1, "08:00", "13:00")])
    slots = schedule.availability(engine, p.id, ACTOR, service_id=svc.id, day=date(2026, 12, 1))
    assert [f"{s.start_local:%H:%M}" for s in slots] == [
        "08:00",
        "08:15",
        "08:30",
        "08:45",
        "11:15",
        "11:30",
        "11:45",
        "12:00",
    ]
    assert all(s.provider_name == "Mei Chen" and s.room_id == svc.room_ids[0] for s in slots)


@pytest.mark.parametrize(
    ("first", "change"),
    [(datetime(2027, 2, 23, 10), date(2027, 3, 14)), (datetime(2026, 10, 20, 10), date(2026, 11, 1))],
    ids=["march", "november"],
)
def test_weekly_series_stays_at_ten_local_across_dst(engine: Engine, first: datetime, change: date) -> None:
    p, svc, _ = _setup(engine)
    result = schedule.book_weekly(
        engine, p.id, ACTOR, patient_id=p.patient_id, provider_id=p.provider_id,
        first_local=first, service_id=svc.id, count=4,
    )  # fmt: skip
    assert result.rule == "FREQ=WEEKLY;INTERVAL=1;BYDAY=TU;COUNT=4"
    assert [a.start_local.hour for a in result.booked] == [10, 10, 10, 10]
    utc_hours = {a.start.hour for a in result.booked}
    assert utc_hours == {14, 15}  # the UTC hour moves with the clock change
    before = [a for a in result.booked if a.start_local.date() < change]
    assert {a.start.hour for a in before} == ({15} if change.month == 3 else {14})


def test_series_conflict_is_reported_never_silently_booked(engine: Engine) -> None:
    p, svc, _ = _setup(engine)
    args = {"patient_id": p.patient_id, "provider_id": p.provider_id, "service_id": svc.id}
    blocker = schedule.book(engine, p.id, ACTOR, start_local=datetime(2026, 12, 15, 10), **args)
    with pytest.raises(ScheduleError) as err:
        schedule.book_weekly(engine, p.id, ACTOR, first_local=datetime(2026, 12, 1, 10), count=4, **args)
    assert [pr.loc for pr in err.value.problems] == ["occurrence 2026-12-15 10:00"]
    assert len(schedule.appointments_on(engine, p.id, ACTOR, date(2026, 12, 1), days=28)) == 1
    result = schedule.book_weekly(
        engine, p.id, ACTOR, first_local=datetime(2026, 12, 1, 10), count=4, skip_conflicts=True, **args
    )
    assert [a.start_local.day for a in result.booked] == [1, 8, 22]
    assert [pr.code for pr in result.conflicts] == ["therapist-double-booked"]
    # Move the rest of the series from Dec 8 to 14:00: Dec 8 and Dec 22 move, Dec 1 stays.
    moved = schedule.move_series_from(
        engine, p.id, ACTOR, result.booked[1].id, start_local=datetime(2026, 12, 8, 14)
    )
    assert [f"{a.start_local:%m-%d %H:%M}" for a in moved] == ["12-08 14:00", "12-22 14:00"]
    # Moving one occurrence onto the blocker is refused; nothing moves.
    with pytest.raises(ScheduleError):
        schedule.reschedule(
            engine, p.id, ACTOR, result.booked[0].id, start_local=datetime(2026, 12, 15, 10, 30)
        )
    cancelled = schedule.cancel_series_from(engine, p.id, ACTOR, result.booked[1].id)
    assert [a.status for a in cancelled] == ["cancelled", "cancelled"]
    assert schedule.get_appointment(engine, p.id, ACTOR, result.booked[0].id).status == "scheduled"
    assert schedule.get_appointment(engine, p.id, ACTOR, blocker.id).status == "scheduled"


def _fees(engine: Engine, p: Practice) -> list[tuple[str, int]]:
    with UnitOfWork(engine, p.id, ACTOR, read_only=True) as uow:
        rows = uow.session.execute(
            select(ledger_entries.c.detail, ledger_entries.c.amount_cents).where(
                ledger_entries.c.practice_id == p.id, ledger_entries.c.patient_id == p.patient_id
            )
        )
        return sorted((r.detail, r.amount_cents) for r in rows)


def test_no_show_and_late_cancel_fees_follow_the_policy(engine: Engine) -> None:
    p, svc, _ = _setup(engine)
    schedule.set_calendar_policy(
        engine,
        p.id,
        ACTOR,
        no_show_fee=Decimal("40.00"),
        late_cancel_fee=Decimal("25.00"),
        late_cancel_window_hours=24,
    )
    args = {"patient_id": p.patient_id, "provider_id": p.provider_id, "service_id": svc.id}
    # The suite's clock: 2026-11-23 15:00 UTC = 10:00 local.
    no_show = schedule.book(engine, p.id, ACTOR, start_local=datetime(2026, 11, 23, 8), **args)
    late = schedule.book(engine, p.id, ACTOR, start_local=datetime(2026, 11, 24, 9), **args)
    early = schedule.book(engine, p.id, ACTOR, start_local=datetime(2026, 11, 30, 9), **args)
    schedule.set_status(engine, p.id, ACTOR, no_show.id, "no_show")
    assert schedule.cancel(engine, p.id, ACTOR, late.id).status == "late_cancel"
    assert schedule.cancel(engine, p.id, ACTOR, early.id).status == "cancelled"
    assert _fees(engine, p) == [("late-cancel-fee", 2500), ("no-show-fee", 4000)]


def test_policy_refuses_bad_values(engine: Engine) -> None:
    p = a_practice(engine)
    assert schedule.calendar_policy(engine, p.id, ACTOR).time_zone == "America/New_York"
    with pytest.raises(ScheduleError) as err:
        schedule.set_calendar_policy(engine, p.id, ACTOR, time_zone="Mars/Olympus")
    assert _codes(err) == {"time-zone-unknown"}
    assert (
        schedule.set_calendar_policy(engine, p.id, ACTOR, time_zone="America/Chicago").time_zone
        == "America/Chicago"
    )


def _race(
    engine: Engine, p: Practice, svc: schedule.Service, bookings: list[tuple[str, datetime]]
) -> list[str]:
    """Run the bookings in threads released together; the outcome of each."""
    barrier = threading.Barrier(len(bookings))
    outcomes: list[str] = []
    lock = threading.Lock()

    def attempt(provider: str, start: datetime) -> None:
        barrier.wait()
        try:
            schedule.book(
                engine, p.id, ACTOR, patient_id=p.patient_id, provider_id=provider,
                start_local=start, service_id=svc.id,
            )  # fmt: skip
            result = "booked"
        except ScheduleError as exc:
            result = exc.problems[0].code
        except BaseException as exc:  # noqa: BLE001 - reported by the caller's assert
            result = repr(exc)
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=attempt, args=b) for b in bookings]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sorted(outcomes)


def test_two_concurrent_bookings_of_one_slot_one_wins(engine: Engine) -> None:
    p, svc, _ = _setup(engine)
    other = _second_therapist(engine, p)
    for day in range(7, 12):
        # Same therapist, same time: one booking, one "therapist-double-booked".
        at = datetime(2026, 12, day, 9)
        assert _race(engine, p, svc, [(p.provider_id, at)] * 2) == ["booked", "therapist-double-booked"]
        # Two therapists, overlapping times, one room: one booking, one "room-double-booked".
        outcomes = _race(
            engine,
            p,
            svc,
            [(p.provider_id, datetime(2026, 12, day, 13)), (other, datetime(2026, 12, day, 13, 30))],
        )
        assert outcomes == ["booked", "room-double-booked"]
    booked = schedule.appointments_on(engine, p.id, ACTOR, date(2026, 12, 7), days=5)
    assert len(booked) == 10
