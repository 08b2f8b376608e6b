"""The calendar API: what is written reads back; unknown fields are refused; double booking is 422."""

from __future__ import annotations

import uuid

from fastapi.testclient import TestClient

from tests.e2e.api.conftest import bearer, token_for
from tests.e2e.api.world import World


def test_calendar_round_trip(client: TestClient, world: World) -> None:
    owner = bearer(token_for(world, "a", "owner"))
    desk = bearer(token_for(world, "a", "front_desk"))
    room = client.post("/api/v1/rooms", json={"name": f"Table {uuid.uuid4().hex[:6]}"}, headers=owner)
    assert room.status_code == 201, room.text
    name = f"Deep tissue {uuid.uuid4().hex[:6]}"
    body = {
        "name": name,
        "duration_minutes": 60,
        "price": "110.00",
        "buffer_minutes": 10,
        "codes": ["97124"],
        "room_ids": [room.json()["id"]],
    }
    created = client.post("/api/v1/services", json=body, headers=owner)
    assert created.status_code == 201, created.text
    service = created.json()
    assert {k: service[k] for k in body} == body
    assert client.get(f"/api/v1/services/{service['id']}", headers=desk).json() == service
    assert client.post("/api/v1/services", json={**body, "colour": "red"}, headers=owner).status_code == 422
    # The front desk may not define services (settings.manage).
    assert client.post("/api/v1/services", json={**body, "name": "x"}, headers=desk).status_code == 403

    hours = [{"weekday": d, "start": "09:00", "end": "17:00"} for d in range(5)]
    put = client.put(f"/api/v1/providers/{world.a.provider_id}/hours", json={"hours": hours}, headers=desk)
    assert put.status_code == 200 and put.json() == hours
    assert client.get(f"/api/v1/providers/{world.a.provider_id}/hours", headers=desk).json() == hours

    slots = client.get(
        "/api/v1/availability", params={"service_id": service["id"], "day": "2027-05-04"}, headers=desk
    ).json()
    assert slots[0]["start_local"] == "2027-05-04T09:00:00" and slots[0]["start"] == "2027-05-04T13:00:00Z"

    book = {
        "patient_id": world.a.patient_id,
        "provider_id": world.a.provider_id,
        "service_id": service["id"],
        "start_local": "2027-05-04T10:00:00",
        "weekly_count": 3,
    }
    made = client.post("/api/v1/appointments", json=book, headers=desk)
    assert made.status_code == 201, made.text
    series = made.json()
    assert series["rule"] == "FREQ=WEEKLY;INTERVAL=1;BYDAY=TU;COUNT=3"
    first = series["appointments"][0]
    assert (first["start_local"], first["end_local"], first["status_label"]) == (
        "2027-05-04T10:00:00",
        "2027-05-04T11:00:00",
        "Booked",
    )
    assert client.get(f"/api/v1/appointments/{first['id']}", headers=desk).json() == first
    listed = client.get("/api/v1/appointments", params={"day": "2027-05-04", "days": 15}, headers=desk).json()
    ours = {a["id"] for a in series["appointments"]}  # other tests share the practice's calendar
    assert [a["start_local"][:10] for a in listed if a["id"] in ours] == [
        "2027-05-04",
        "2027-05-11",
        "2027-05-18",
    ]

    clash = client.post("/api/v1/appointments", json={**book, "weekly_count": None}, headers=desk)
    assert clash.status_code == 422
    assert clash.json()["error"]["problems"][0]["code"] == "therapist-double-booked"
    assert client.post("/api/v1/appointments", json={**book, "color": 1}, headers=desk).status_code == 422

    moved = client.patch(
        f"/api/v1/appointments/{series['appointments'][1]['id']}",
        json={"start_local": "2027-05-11T14:00:00", "scope": "rest"},
        headers=desk,
    )
    assert moved.status_code == 200, moved.text
    assert [a["start_local"] for a in moved.json()] == ["2027-05-11T14:00:00", "2027-05-18T14:00:00"]

    checked = client.post(f"/api/v1/appointments/{first['id']}/check-in", headers=desk)
    assert checked.status_code == 200, checked.text
    assert checked.json()["prefill"]["services"] == [{"code": "97124", "minutes": 60}]
    assert checked.json()["appointment"]["status_label"] == "Checked in"

    cancelled = client.post(
        f"/api/v1/appointments/{series['appointments'][1]['id']}/cancel", json={"scope": "rest"}, headers=desk
    )
    assert [a["status"] for a in cancelled.json()] == ["cancelled", "cancelled"]
    bad = client.post(f"/api/v1/appointments/{first['id']}/status", json={"status": "no_show"}, headers=desk)
    assert bad.status_code == 422 and bad.json()["error"]["problems"][0]["loc"] == "status"


def test_other_practice_appointment_is_404(client: TestClient, world: World) -> None:
    desk_b = bearer(token_for(world, "b", "front_desk"))
    desk_a = bearer(token_for(world, "a", "front_desk"))
    made = client.post(
        "/api/v1/appointments",
        json={
            "patient_id": world.a.patient_id,
            "provider_id": world.a.provider_id,
            "start_local": "2027-06-01T12:00:00",
            "end_local": "2027-06-01T12:30:00",
        },
        headers=desk_a,
    )
    assert made.status_code == 201, made.text
    appt = made.json()["appointments"][0]["id"]
    assert client.get(f"/api/v1/appointments/{appt}", headers=desk_b).status_code == 404
    assert client.post(f"/api/v1/appointments/{appt}/cancel", json={}, headers=desk_b).status_code == 404


def test_a_start_with_an_offset_is_taken_on_the_practice_clock(client: TestClient, world: World) -> None:
    desk = bearer(token_for(world, "a", "front_desk"))
    body = {
        "patient_id": world.a.patient_id,
        "provider_id": world.a.provider_id,
        "start_local": "2027-07-06T17:00:00Z",
        "end_local": "2027-07-06T13:45:00-04:00",
        "weekly_until": "2027-07-13",
    }
    made = client.post("/api/v1/appointments", json=body, headers=desk)
    assert made.status_code == 201, made.text
    assert [a["start_local"] for a in made.json()["appointments"]] == [
        "2027-07-06T13:00:00",
        "2027-07-13T13:00:00",
    ]
    assert made.json()["appointments"][0]["end_local"] == "2027-07-06T13:45:00"
