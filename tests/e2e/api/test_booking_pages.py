"""The online booking pages: the owner opens booking with approval, a signed-in client books
on the public page, the front desk approves it; closed booking answers 404."""

from __future__ import annotations

import re
import uuid
from datetime import datetime, time, timedelta
from decimal import Decimal

from fastapi.testclient import TestClient

from tests.e2e.api.conftest import csrf_of, login
from tests.e2e.api.world import World
from therabill.domain.ledger import PaymentMethod
from therabill.service_layer import booking, ledger, portal, schedule

ACTOR = "test:setup"


def test_owner_opens_booking_a_client_books_and_the_desk_approves(client: TestClient, world: World) -> None:
    pid = world.a.practice_id
    service = schedule.add_service(
        world.engine,
        pid,
        ACTOR,
        name=f"Deep tissue {uuid.uuid4().hex[:6]}",
        duration_minutes=60,
        price=Decimal("110"),
    )
    schedule.set_working_hours(
        world.engine, pid, ACTOR, world.a.provider_id, [(d, "07:00", "21:00") for d in range(7)]
    )
    assert client.get("/book/pa").status_code in (200, 404)

    csrf = login(client, world, "a", "owner")
    page = client.get("/calendar/online-booking")
    assert page.status_code == 200 and "/book/pa" in page.text
    saved = client.post(
        "/calendar/online-booking/settings",
        data={
            "csrf_token": csrf,
            "enabled": "yes",
            "requires_approval": "yes",
            "policies": "24 hours' notice.",
        },
    )
    assert saved.status_code == 303
    refused = client.post(
        "/calendar/online-booking/settings", data={"csrf_token": csrf, "enabled": "yes", "policies": ""}
    )
    assert refused.status_code == 422 and "policies" in refused.text
    client.post("/logout", data={"csrf_token": csrf})
    client.cookies.clear()

    # A signed-in client of the practice books on the public page at once (their session's CSRF).
    client.cookies.set(
        "tb_portal", portal.start_session(world.engine, pid, world.a.patient_id, clock=world.clock)
    )
    day = (world.clock() + timedelta(days=5)).date().isoformat()
    page = client.get(f"/book/pa?service={service.id}&day={day}")
    assert page.status_code == 200 and "Booking as Jane" in page.text and 'name="first_name"' not in page.text
    assert "confirms each online booking" in page.text
    slot = re.findall(r'name="slot" value="([^"]+)"', page.text)[0].replace("&#43;", "+")
    unaccepted = client.post(
        "/book/pa", data={"csrf_token": csrf_of(page.text), "service_id": service.id, "slot": slot}
    )
    assert unaccepted.status_code == 422 and "accept the practice" in unaccepted.text
    booked = client.post(
        "/book/pa",
        data={
            "csrf_token": csrf_of(page.text),
            "service_id": service.id,
            "slot": slot,
            "accept_policies": "yes",
        },
    )
    assert booked.status_code == 303 and booked.headers["location"] == "/portal?notice=awaiting"
    home = client.get("/portal?notice=awaiting")
    assert "Waiting for the practice to confirm" in home.text
    client.cookies.clear()

    desk = login(client, world, "a", "front_desk")
    page = client.get("/calendar/online-booking")
    assert (
        page.status_code == 200
        and "Jane DoePA" in page.text
        and 'action="/calendar/online-booking/settings"' not in page.text
    )
    assert (
        client.post(
            "/calendar/online-booking/settings", data={"csrf_token": desk, "enabled": "yes"}
        ).status_code
        == 403
    )
    request_id = re.findall(r"/calendar/online-booking/([0-9a-f]{32})/approve", page.text)[0]
    assert (
        client.post(f"/calendar/online-booking/{request_id}/approve", data={"csrf_token": desk}).status_code
        == 303
    )
    assert "Nothing waits for approval" in client.get("/calendar/online-booking").text
    assert (
        client.post(f"/calendar/online-booking/{request_id}/approve", data={"csrf_token": desk}).status_code
        == 422
    )
    ids = re.findall(r"/portal/appointments/([0-9a-f]{32})/move", home.text)
    assert schedule.get_appointment(world.engine, pid, ACTOR, ids[0]).status == "confirmed"
    client.post("/logout", data={"csrf_token": desk})

    # Closed again: the public page is not found, like a practice that does not exist.
    owner = login(client, world, "a", "owner")
    client.post(
        "/calendar/online-booking/settings", data={"csrf_token": owner, "policies": "24 hours' notice."}
    )
    client.cookies.clear()
    assert client.get("/book/pa").status_code == 404
    assert client.get("/book/no-such-practice").status_code == 404


def test_the_api_lists_exactly_the_times_the_page_offers(client: TestClient, world: World) -> None:
    pid = world.a.practice_id
    service = schedule.add_service(
        world.engine,
        pid,
        ACTOR,
        name=f"Contract {uuid.uuid4().hex[:6]}",
        duration_minutes=90,
        price=Decimal("120"),
    )
    schedule.set_working_hours(
        world.engine, pid, ACTOR, world.a.provider_id, [(d, "07:00", "21:00") for d in range(7)]
    )
    booking.set_booking_settings(
        world.engine,
        pid,
        ACTOR,
        enabled=True,
        requires_approval=False,
        card_on_file_notice=False,
        policies="Be kind.",
    )
    try:
        day = (world.clock() + timedelta(days=6)).date()
        offer = client.get("/api/v1/booking/pa")
        assert offer.status_code == 200
        assert {
            "id": service.id,
            "name": service.name,
            "duration_minutes": 90,
            "price": "120.00",
        } in offer.json()["services"]
        api = client.get(
            "/api/v1/booking/pa/slots", params={"service_id": service.id, "day": day.isoformat()}
        )
        page = client.get(f"/book/pa?service={service.id}&day={day.isoformat()}")
        shown = [v.replace("&#43;", "+") for v in re.findall(r'name="slot" value="([^"]+)"', page.text)]
        assert shown and shown == [f"{s['provider_id']}|{s['start_local']}" for s in api.json()]
        assert (
            client.get(
                "/api/v1/booking/nobody/slots", params={"service_id": "x", "day": "2026-12-01"}
            ).status_code
            == 404
        )
        assert (
            client.get(
                "/api/v1/booking/pa/slots", params={"service_id": "nope", "day": "2026-12-01"}
            ).status_code
            == 422
        )
    finally:
        booking.set_booking_settings(
            world.engine,
            pid,
            ACTOR,
            enabled=False,
            requires_approval=False,
            card_on_file_notice=False,
            policies="",
        )


def test_the_portal_shows_the_balance_and_gives_the_statement_and_own_receipts(
    client: TestClient, world: World
) -> None:
    key = f"portal-pay-{uuid.uuid4().hex[:6]}"
    ledger.post_patient_payment(
        world.engine, world.a.practice_id, ACTOR, patient_id=world.a.patient_id, amount=Decimal("40.00"),
        method=PaymentMethod.CARD, key=key,
    )  # fmt: skip
    client.cookies.set(
        "tb_portal",
        portal.start_session(world.engine, world.a.practice_id, world.a.patient_id, clock=world.clock),
    )
    home = client.get("/portal")
    assert home.status_code == 200 and "$40.00" in home.text and "credit" in home.text
    receipt = re.findall(r'href="/portal/receipts/([0-9a-f]{32})\.pdf"', home.text)
    assert len(receipt) >= 1
    pdf = client.get(f"/portal/receipts/{receipt[0]}.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    statement = client.get("/portal/statement.pdf")
    assert statement.status_code == 200 and statement.content.startswith(b"%PDF")
    # Practice B's client, signed in, cannot fetch A's client's receipt.
    client.cookies.set(
        "tb_portal",
        portal.start_session(world.engine, world.b.practice_id, world.b.patient_id, clock=world.clock),
    )
    assert client.get(f"/portal/receipts/{receipt[0]}.pdf").status_code == 404
    assert "$40.00" not in client.get("/portal").text


def test_a_client_moves_then_cancels_on_the_portal_pages(client: TestClient, world: World) -> None:
    pid = world.b.practice_id
    service = schedule.add_service(
        world.engine,
        pid,
        ACTOR,
        name=f"Move {uuid.uuid4().hex[:6]}",
        duration_minutes=60,
        price=Decimal("80"),
    )
    schedule.set_working_hours(
        world.engine, pid, ACTOR, world.b.provider_id, [(d, "08:00", "18:00") for d in range(7)]
    )
    day = (world.clock() + timedelta(days=8)).date()
    booked = schedule.book(
        world.engine, pid, ACTOR, patient_id=world.b.patient_id, provider_id=world.b.provider_id,
        start_local=datetime.combine(day, time(9)), service_id=service.id,
    )  # fmt: skip
    client.cookies.set(
        "tb_portal", portal.start_session(world.engine, pid, world.b.patient_id, clock=world.clock)
    )
    home = client.get("/portal")
    assert f"/portal/appointments/{booked.id}/move" in home.text
    page = client.get(f"/portal/appointments/{booked.id}/move")
    assert page.status_code == 200 and "9:00 AM" in page.text
    starts = re.findall(r'name="start" value="([^"]+)"', page.text)
    assert f"{day.isoformat()}T14:00:00" in starts
    csrf = csrf_of(home.text)
    moved = client.post(
        f"/portal/appointments/{booked.id}/move", data={"csrf_token": csrf, "start": f"{day}T14:00:00"}
    )
    assert moved.status_code == 303 and moved.headers["location"] == "/portal?notice=moved"
    assert schedule.get_appointment(world.engine, pid, ACTOR, booked.id).start_local.hour == 14
    refused = client.post(
        f"/portal/appointments/{booked.id}/move", data={"csrf_token": csrf, "start": f"{day}T18:30:00"}
    )
    assert refused.status_code == 422 and "not free" in refused.text
    cancelled = client.post(f"/portal/appointments/{booked.id}/cancel", data={"csrf_token": csrf})
    assert cancelled.status_code == 303 and cancelled.headers["location"] == "/portal?notice=cancelled"
    assert schedule.get_appointment(world.engine, pid, ACTOR, booked.id).status == "cancelled"
    assert f"/portal/appointments/{booked.id}/move" not in client.get("/portal").text
