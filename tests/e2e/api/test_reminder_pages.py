"""The calendar's public and setup pages and API: reminder links (no log-in, CSRF, once),
a therapist's feed URL, services, rooms, time off and the reminder policy."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from decimal import Decimal
from urllib.parse import urlsplit

from fastapi.testclient import TestClient
from icalendar import Calendar

from tests.e2e.api.conftest import bearer, csrf_of, login, token_for
from tests.e2e.api.world import World
from therabill.domain.schedule import ScheduleError
from therabill.service_layer import appointments, links, reminders, schedule_setup


def _appointment(world: World) -> str:
    """An appointment at a random hour some months ahead (the world is shared by the tests)."""
    at = world.clock().replace(tzinfo=None, minute=0, second=0, microsecond=0)
    for _ in range(50):  # another test may hold that hour: take another
        start = at + timedelta(days=40 + uuid.uuid4().int % 300, hours=uuid.uuid4().int % 24)
        try:
            return appointments.schedule_appointment(
                world.engine, world.a.practice_id, "test:setup", patient_id=world.a.patient_id,
                provider_id=world.a.provider_id, start=start, end=start + timedelta(hours=1),
            )  # fmt: skip
        except ScheduleError:
            continue
    raise AssertionError("no free hour found")


def test_a_reminder_link_confirms_once_without_a_log_in(client: TestClient, world: World) -> None:
    appt = _appointment(world)
    token = links.issue_link(
        world.engine,
        world.a.practice_id,
        reminders.CONFIRM,
        appt,
        expires=timedelta(days=400),
        clock=world.clock,
    )
    page = client.get(f"/r/confirm/{token}")
    assert page.status_code == 200 and "Confirm my appointment" in page.text
    patient = appointments.get_appointment(world.engine, world.a.practice_id, "t", appt)
    first, last = patient.patient_name.split(" ", 1)
    assert f"Hi {first}" in page.text and last not in page.text and patient.provider_name not in page.text
    assert page.headers["cache-control"] == "no-store"
    csrf = csrf_of(page.text)
    forged = client.post(f"/r/confirm/{token}", data={"csrf_token": "x" * 20})
    assert forged.status_code == 403
    assert appointments.get_appointment(world.engine, world.a.practice_id, "t", appt).status == "scheduled"
    done = client.post(f"/r/confirm/{token}", data={"csrf_token": csrf})
    assert done.status_code == 200 and "is confirmed" in done.text
    assert appointments.get_appointment(world.engine, world.a.practice_id, "t", appt).status == "confirmed"
    again = client.post(f"/r/confirm/{token}", data={"csrf_token": csrf})
    assert again.status_code == 410 and "already used" in again.text
    assert client.get(f"/r/confirm/{token}").status_code == 410
    tampered = token[:-2] + ("AA" if token[-2:] != "AA" else "BB")
    assert client.get(f"/r/confirm/{tampered}").status_code == 404
    assert client.get(f"/r/cancel/{token}").status_code == 404  # a confirm link is no cancel link
    assert client.get("/r/delete/" + "A" * 40).status_code == 404


def test_the_setup_page_edits_services_time_off_reminders_and_makes_a_feed(
    client: TestClient, world: World
) -> None:
    pid, actor = world.a.practice_id, "test:setup"
    svc = schedule_setup.add_service(
        world.engine,
        pid,
        actor,
        name=f"Hot stone {uuid.uuid4().hex[:6]}",
        duration_minutes=60,
        price=Decimal(95),
    )
    csrf = login(client, world, "a", "owner")
    page = client.get("/calendar/setup")
    assert page.status_code == 200 and svc.name in page.text
    r = client.post(
        f"/calendar/setup/services/{svc.id}",
        data={"csrf_token": csrf, "name": svc.name, "duration_minutes": "75", "price": "110.00",
              "buffer_minutes": "10", "active": "on"},
    )  # fmt: skip
    assert r.status_code == 303
    assert schedule_setup.get_service(world.engine, pid, actor, svc.id).duration_minutes == 75
    bad = client.post(
        f"/calendar/setup/services/{svc.id}",
        data={"csrf_token": csrf, "name": svc.name, "duration_minutes": "2", "price": "1", "active": "on"},
    )
    assert bad.status_code == 422 and "5 to 480 minutes" in bad.text
    r = client.post(
        "/calendar/setup/reminders", data={"csrf_token": csrf, "hours_before": "36", "email": "on"}
    )
    assert r.status_code == 303
    assert reminders.reminder_policy(world.engine, pid, actor) == reminders.ReminderPolicy(36, True, False)
    day = (world.clock() + timedelta(days=90)).date().isoformat()
    r = client.post(
        "/calendar/setup/time-off",
        data={"csrf_token": csrf, "provider_id": world.a.provider_id, "start_day": day, "start_time": "09:00",
              "end_day": day, "end_time": "17:00", "reason": "course"},
    )  # fmt: skip
    assert r.status_code == 303
    page = client.get("/calendar/setup")
    removed = re.findall(r'action="/calendar/setup/time-off/([0-9a-f]{32})/delete"', page.text)
    assert len(removed) >= 1 and "course" in page.text
    assert (
        client.post(f"/calendar/setup/time-off/{removed[0]}/delete", data={"csrf_token": csrf}).status_code
        == 303
    )
    assert removed[0] not in client.get("/calendar/setup").text

    made = client.post("/calendar/setup/feed", data={"csrf_token": csrf, "provider_id": world.a.provider_id})
    assert made.status_code == 200
    url = re.search(r'value="(http[^"]+/calendar/feed/[A-Za-z0-9_-]+\.ics)"', made.text)
    assert url
    client.cookies.clear()  # the phone has no session
    feed = client.get(urlsplit(url.group(1)).path)
    assert feed.status_code == 200 and feed.headers["content-type"].startswith("text/calendar")
    assert Calendar.from_ical(feed.content).get("prodid") is not None


def test_the_api_edits_services_rooms_time_off_reminders_and_issues_feeds(
    client: TestClient, world: World
) -> None:
    owner = bearer(token_for(world, "a", "owner"))
    therapist = bearer(token_for(world, "a", "therapist"))
    svc = client.post(
        "/api/v1/services", headers=owner,
        json={"name": f"Cupping {uuid.uuid4().hex[:6]}", "duration_minutes": 45, "price": "70.00"},
    ).json()  # fmt: skip
    changed = client.patch(
        f"/api/v1/services/{svc['id']}", headers=owner, json={"price": "75.00", "active": False}
    )
    assert (
        changed.status_code == 200
        and changed.json()["price"] == "75.00"
        and changed.json()["active"] is False
    )
    assert (
        client.patch(f"/api/v1/services/{svc['id']}", headers=owner, json={"colour": "red"}).status_code
        == 422
    )
    assert (
        client.patch(f"/api/v1/services/{svc['id']}", headers=therapist, json={"price": "1"}).status_code
        == 403
    )
    room = client.post("/api/v1/rooms", headers=owner, json={"name": f"Room {uuid.uuid4().hex[:6]}"}).json()
    renamed = client.patch(
        f"/api/v1/rooms/{room['id']}", headers=owner, json={"name": f"Table {room['id'][:4]}"}
    )
    assert renamed.status_code == 200 and renamed.json()["name"].startswith("Table")
    made = client.post(
        f"/api/v1/providers/{world.a.provider_id}/time-off", headers=owner,
        json={"start_local": "2027-03-01T09:00", "end_local": "2027-03-01T12:00", "reason": "dentist"},
    )  # fmt: skip
    assert made.status_code == 201
    listed = client.get(
        "/api/v1/time-off", headers=therapist, params={"provider_id": world.a.provider_id}
    ).json()
    assert made.json()["id"] in [t["id"] for t in listed]
    assert client.delete(f"/api/v1/time-off/{made.json()['id']}", headers=therapist).status_code == 204
    assert client.delete(f"/api/v1/time-off/{made.json()['id']}", headers=therapist).status_code == 404
    put = client.put(
        "/api/v1/reminder-policy", headers=owner, json={"hours_before": 24, "email": True, "sms": True}
    )
    assert put.json() == {"hours_before": 24, "email": True, "sms": True}
    assert client.put("/api/v1/reminder-policy", headers=owner, json={"hours_before": 500}).status_code == 422
    assert client.get("/api/v1/reminder-policy", headers=therapist).json()["hours_before"] == 24
    feed = client.post(f"/api/v1/providers/{world.a.provider_id}/calendar-feed", headers=therapist)
    assert feed.status_code == 201 and feed.json()["url"].endswith(".ics")
    path = "/calendar/feed/" + feed.json()["url"].rsplit("/calendar/feed/", 1)[1]
    assert client.get(path).status_code == 200
    other = client.post(f"/api/v1/providers/{world.b.provider_id}/calendar-feed", headers=therapist)
    assert other.status_code == 404
    appt = _appointment(world)
    assert client.get(f"/api/v1/appointments/{appt}/reminders", headers=therapist).json() == []
