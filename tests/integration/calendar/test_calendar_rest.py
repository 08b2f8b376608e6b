"""The rest of the calendar on both databases: edit services and rooms, list and remove time
off, a therapist's iCalendar feed, and CSV appointment imports held to the double-booking check."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from icalendar import Calendar
from sqlalchemy import Engine

from tests.integration.db.builders import ACTOR, a_practice
from therabill.clock import using
from therabill.domain.errors import NotFoundError
from therabill.domain.schedule import ScheduleError
from therabill.service_layer import appointments, availability, calendar_feed, links, schedule_setup
from therabill.service_layer.accounts import Principal
from therabill.service_layer.interop import CsvImportError, import_csv
from therabill.service_layer.links import LinkError

NOW = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)


def _principal(practice_id: str, role: str, provider_id: str | None = None) -> Principal:
    return Principal("u1", "mei", "Mei Chen", practice_id, role, provider_id)


def test_edit_a_service_and_a_room(engine: Engine) -> None:
    p = a_practice(engine)
    room = schedule_setup.add_room(engine, p.id, ACTOR, name="Room 1")
    other = schedule_setup.add_room(engine, p.id, ACTOR, name="Room 2")
    svc = schedule_setup.add_service(
        engine,
        p.id,
        ACTOR,
        name="Massage 60",
        duration_minutes=60,
        price=Decimal("95.00"),
        room_ids=[room.id],
    )
    schedule_setup.add_service(
        engine, p.id, ACTOR, name="Massage 90", duration_minutes=90, price=Decimal("130")
    )
    booked = appointments.book(
        engine, p.id, ACTOR, patient_id=p.patient_id, provider_id=p.provider_id,
        start_local=datetime(2026, 12, 1, 10), service_id=svc.id,
    )  # fmt: skip
    changed = schedule_setup.update_service(
        engine, p.id, ACTOR, svc.id, name="Massage 75", duration_minutes=75, price=Decimal("110.00"),
        buffer_minutes=15, room_ids=[room.id, other.id],
    )  # fmt: skip
    assert (changed.name, changed.duration_minutes, changed.price, changed.buffer_minutes) == (
        "Massage 75", 75, Decimal("110.00"), 15,
    )  # fmt: skip
    assert schedule_setup.get_service(engine, p.id, ACTOR, svc.id) == changed
    # what was booked keeps its times; new bookings take the new length
    kept = appointments.get_appointment(engine, p.id, ACTOR, booked.id)
    assert kept.end_local - kept.start_local == timedelta(minutes=60)
    for bad, code in (
        ({"name": "Massage 90"}, "service-name-taken"),
        ({"duration_minutes": 2}, "duration-invalid"),
        ({"price": Decimal("-1")}, "price-negative"),
        ({"buffer_minutes": 500}, "buffer-invalid"),
    ):
        with pytest.raises(ScheduleError) as exc:
            schedule_setup.update_service(engine, p.id, ACTOR, svc.id, **bad)  # type: ignore[arg-type]
        assert exc.value.problems[0].code == code
    with pytest.raises(Exception, match="room"):
        schedule_setup.update_service(engine, p.id, ACTOR, svc.id, room_ids=["f" * 32])
    schedule_setup.update_service(engine, p.id, ACTOR, svc.id, active=False)
    assert svc.id not in {s.id for s in schedule_setup.calendar_setup(engine, p.id, ACTOR).services}

    renamed = schedule_setup.update_room(engine, p.id, ACTOR, room.id, name="Table A")
    assert renamed.name == "Table A"
    with pytest.raises(ScheduleError) as taken:
        schedule_setup.update_room(engine, p.id, ACTOR, room.id, name="Room 2")
    assert taken.value.problems[0].code == "room-name-taken"
    schedule_setup.update_room(engine, p.id, ACTOR, other.id, active=False)
    assert [r.name for r in schedule_setup.calendar_setup(engine, p.id, ACTOR).rooms] == ["Table A"]
    assert appointments.get_appointment(engine, p.id, ACTOR, booked.id).room_name == "Table A"


def test_time_off_is_listed_and_removed(engine: Engine) -> None:
    p = a_practice(engine)
    svc = schedule_setup.add_service(
        engine, p.id, ACTOR, name="Massage 60", duration_minutes=60, price=Decimal(95)
    )
    schedule_setup.set_working_hours(engine, p.id, ACTOR, p.provider_id, [(1, "09:00", "13:00")])
    with using(lambda: NOW):
        off = schedule_setup.add_time_off(
            engine, p.id, ACTOR, p.provider_id, start_local=datetime(2026, 12, 8, 9), end_local=datetime(2026, 12, 8, 13),
            reason="conference",
        )  # fmt: skip
        schedule_setup.add_time_off(
            engine,
            p.id,
            ACTOR,
            p.provider_id,
            start_local=datetime(2026, 11, 2, 9),
            end_local=datetime(2026, 11, 2, 13),
        )
        listed = schedule_setup.list_time_off(engine, p.id, ACTOR)
        assert [(t.id, t.start_local, t.provider_name, t.reason) for t in listed] == [
            (off, datetime(2026, 12, 8, 9), "Mei Chen", "conference")
        ]
        assert (
            len(
                schedule_setup.list_time_off(
                    engine, p.id, ACTOR, provider_id=p.provider_id, include_past=True
                )
            )
            == 2
        )
    assert availability.availability(engine, p.id, ACTOR, service_id=svc.id, day=date(2026, 12, 8)) == []
    schedule_setup.delete_time_off(engine, p.id, ACTOR, off)
    assert availability.availability(engine, p.id, ACTOR, service_id=svc.id, day=date(2026, 12, 8))
    with pytest.raises(Exception, match="time_off|not found|no such"):
        schedule_setup.delete_time_off(engine, p.id, ACTOR, off)


def test_a_therapist_feed_is_an_icalendar_of_their_appointments(engine: Engine) -> None:
    p = a_practice(engine)
    room = schedule_setup.add_room(engine, p.id, ACTOR, name="Room 1")
    svc = schedule_setup.add_service(
        engine, p.id, ACTOR, name="Massage 60", duration_minutes=60, price=Decimal(95), room_ids=[room.id]
    )
    kept = appointments.book(
        engine, p.id, ACTOR, patient_id=p.patient_id, provider_id=p.provider_id,
        start_local=datetime(2026, 12, 1, 10), service_id=svc.id,
    )  # fmt: skip
    gone = appointments.book(
        engine, p.id, ACTOR, patient_id=p.patient_id, provider_id=p.provider_id,
        start_local=datetime(2026, 12, 2, 10), service_id=svc.id,
    )  # fmt: skip
    appointments.cancel(engine, p.id, ACTOR, gone.id)
    with pytest.raises(NotFoundError):  # a therapist subscribes to their own calendar only
        calendar_feed.feed_link(engine, _principal(p.id, "therapist", "e" * 32), ACTOR, p.provider_id)
    with pytest.raises(NotFoundError):
        calendar_feed.feed_link(engine, _principal(p.id, "owner"), ACTOR, "e" * 32)
    with using(lambda: NOW):
        token = calendar_feed.feed_link(
            engine, _principal(p.id, "therapist", p.provider_id), ACTOR, p.provider_id
        )
        body = calendar_feed.therapist_feed(engine, token)
        assert calendar_feed.therapist_feed(engine, token).split(b"DTSTAMP")[0] == body.split(b"DTSTAMP")[0]
    cal = Calendar.from_ical(body)
    events = list(cal.walk("VEVENT"))
    assert [str(e["uid"]) for e in events] == [f"{kept.id}@therabill"]
    event = events[0]
    assert event.decoded("dtstart") == datetime(2026, 12, 1, 15, 0, tzinfo=UTC)  # 10:00 New York
    assert str(event["summary"]) == "Grace M. · Massage 60" and str(event["location"]) == "Room 1"
    assert b"Miller" not in body
    with using(lambda: NOW + timedelta(days=366)), pytest.raises(LinkError):
        calendar_feed.therapist_feed(engine, token)
    links.replace_link_key(engine, p.id, ACTOR)
    with using(lambda: NOW), pytest.raises(LinkError):
        calendar_feed.therapist_feed(engine, token)


def test_a_csv_import_cannot_double_book(engine: Engine) -> None:
    p = a_practice(engine)
    appointments.schedule_appointment(
        engine, p.id, ACTOR, patient_id=p.patient_id, provider_id=p.provider_id,
        start=datetime(2026, 12, 1, 15), end=datetime(2026, 12, 1, 16),
    )  # fmt: skip
    header = "chart_number,provider_npi,start,end,status\n"
    clash = header + "P-0101,1993214562,2026-12-01T15:30,2026-12-01T16:30,booked\n"
    with pytest.raises(CsvImportError) as exc:
        import_csv(engine, p.id, ACTOR, "appointments", clash.encode())
    assert [(x.code, x.loc) for x in exc.value.problems] == [("therapist-double-booked", "row 2: start")]
    within = header + (
        "P-0101,1993214562,2026-12-03T15:00,2026-12-03T16:00,booked\n"
        "P-0101,1993214562,2026-12-03T15:30,2026-12-03T16:30,completed\n"
    )
    with pytest.raises(CsvImportError) as inner:
        import_csv(engine, p.id, ACTOR, "appointments", within.encode(), dry_run=True)
    assert [x.loc for x in inner.value.problems] == ["row 3: start"]
    # a no-show or cancelled row holds no time; a clean file goes in whole
    fine = header + (
        "P-0101,1993214562,2026-12-01T15:00,2026-12-01T16:00,no show\n"
        "P-0101,1993214562,2026-12-04T15:00,2026-12-04T16:00,booked\n"
    )
    assert import_csv(engine, p.id, ACTOR, "appointments", fine.encode()).committed
    days = appointments.appointments_on(engine, p.id, ACTOR, date(2026, 12, 1), days=7)
    assert len(days) == 3  # the booked one, the no-show, the Dec 4 one; nothing of the refused files
