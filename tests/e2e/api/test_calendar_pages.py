"""The calendar pages: book (a weekly series), see the day and week, move with htmx, check in, document."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from decimal import Decimal

from fastapi.testclient import TestClient

from tests.e2e.api.conftest import login
from tests.e2e.api.world import World
from therabill.service_layer import appointments, schedule_setup


def test_front_desk_books_moves_and_checks_in_then_the_therapist_documents(
    client: TestClient, world: World
) -> None:
    pid, actor = world.a.practice_id, "test:setup"
    service = schedule_setup.add_service(
        world.engine, pid, actor, name=f"Relaxation {uuid.uuid4().hex[:6]}", duration_minutes=60,
        price=Decimal("85.00"), codes=["97124"],
    )  # fmt: skip
    schedule_setup.set_working_hours(
        world.engine, pid, actor, world.a.provider_id, [(d, "06:00", "20:00") for d in range(7)]
    )
    today = appointments.local_today(world.engine, pid, actor)
    day = today + timedelta(days=30)
    csrf = login(client, world, "a", "front_desk")

    form = client.get(f"/calendar/book?day={day.isoformat()}")
    assert form.status_code == 200 and "$85.00" in form.text and service.id in form.text
    slots = client.get("/calendar/slots", params={"service_id": service.id, "day": day.isoformat()})
    assert slots.status_code == 200

    data = {
        "csrf_token": csrf, "patient_id": world.a.patient_id, "provider_id": world.a.provider_id,
        "service_id": service.id, "day": day.isoformat(), "time": "07:00", "weeks": "3",
    }  # fmt: skip
    booked = client.post("/calendar/book", data=data, follow_redirects=False)
    assert booked.status_code == 303, booked.text
    again = client.post("/calendar/book", data={**data, "weeks": "1"})
    assert again.status_code == 422 and "already booked" in again.text

    page = client.get(f"/calendar?day={day.isoformat()}")
    assert page.status_code == 200
    assert "7:00 AM–8:00 AM" in page.text and "Booked" in page.text
    assert (
        world.a.patient_id not in page.text
        and world.a.provider_id not in page.text.split('name="therapist"')[0]
    )
    week = client.get(f"/calendar?day={day.isoformat()}&view=week")
    assert week.status_code == 200 and week.text.count("7:00 AM–8:00 AM") == 1
    ids = re.findall(r'href="/calendar/appointments/([0-9a-f]{32})"', page.text)
    assert len(ids) == 1
    appt = ids[0]

    moved = client.post(
        f"/calendar/appointments/{appt}/move",
        data={
            "csrf_token": csrf,
            "day": day.isoformat(),
            "time": "07:30",
            "provider_id": world.a.provider_id,
        },
        headers={"HX-Request": "true"},
    )
    assert moved.status_code == 200 and 'id="appointment-card"' in moved.text
    assert "7:30 AM–8:30 AM" in moved.text and "<html" not in moved.text

    checked = client.post(
        f"/calendar/appointments/{appt}/status", data={"csrf_token": csrf, "status": "arrived"}
    )
    assert checked.status_code == 200, checked.text
    assert "is checked in" in checked.text and "97124 (60 min)" in checked.text
    assert 'id="checkin-authorizations"' in checked.text and 'id="checkin-intake"' in checked.text

    dashboard = client.get("/")
    assert dashboard.status_code == 200
    client.get("/logout")

    assert "Open the visit note</a>" not in checked.text  # the front desk does not write notes
    login(client, world, "a", "therapist")
    card = client.get(f"/calendar/appointments/{appt}")
    assert f'href="/patients/{world.a.patient_id}/visits/new?appointment={appt}"' in card.text
    note = client.get(f"/patients/{world.a.patient_id}/visits/new?appointment={appt}")
    assert note.status_code == 200, note.text
    assert f'value="{day.isoformat()}"' in note.text
    assert 'name="start_time" type="time" value="07:30"' in note.text
    assert 'name="end_time" type="time" value="08:30"' in note.text
    assert f'name="appointment_id" value="{appt}"' in note.text
    assert re.search(r'name="svc-0-code"[^>]*value="97124"', note.text)


def test_calendar_pages_need_the_schedule_permission_and_refuse_bad_input(
    client: TestClient, world: World
) -> None:
    csrf = login(client, world, "a", "front_desk")
    bad = client.post("/calendar/book", data={"csrf_token": csrf, "day": "someday", "time": "x"})
    assert bad.status_code == 422 and "give a date and a time" in bad.text
    assert client.get("/calendar/appointments/" + "0" * 32).status_code == 404
