"""Attacks on online booking and the client portal, through the web app with a real SMTP server.

Emailed links: an altered token, an expired one and a used one are refused. The answers to
"book" and "sign in" are the same for an email that belongs to a client and one that does
not. A client sees and changes their own appointments, receipts and intake only; a client
session opens no staff page and a staff session no portal page. Requests are rate-limited per
address and per email; every form needs its CSRF token.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient

from tests.conftest import SmtpServer
from tests.e2e.api.conftest import csrf_of, login
from tests.e2e.api.world import World
from therabill.adapters.db.tables import patients
from therabill.entrypoints.app import create_app
from therabill.entrypoints.http.settings import Settings
from therabill.service_layer import booking, schedule

ACTOR = "test:setup"


@pytest.fixture(scope="module")
def mail_server() -> Iterator[SmtpServer]:
    server = SmtpServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def booking_app(  # type: ignore[no-untyped-def]
    world: World, mail_server: SmtpServer, tmp_path_factory: pytest.TempPathFactory
):
    pid = world.a.practice_id
    service = schedule.add_service(
        world.engine,
        pid,
        ACTOR,
        name=f"Online {uuid.uuid4().hex[:6]}",
        duration_minutes=60,
        price=Decimal("90"),
    )
    schedule.set_working_hours(
        world.engine, pid, ACTOR, world.a.provider_id, [(d, "08:00", "20:00") for d in range(7)]
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
    with world.engine.begin() as conn:
        conn.execute(
            patients.update().where(patients.c.id == world.a.patient_id).values(email="jane.a@example.com")
        )
    settings = Settings(
        database_url="sqlite:///unused",
        data_dir=str(tmp_path_factory.mktemp("portal-data")),  # the app's own data folder
        smtp_host=mail_server.host,
        smtp_port=mail_server.port,
    )
    app = create_app(settings, engine=world.engine, clock=world.clock)
    app.state.test_service_id = service.id
    return app


@pytest.fixture
def web(booking_app, world: World) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    world.clock.advance(minutes=16)  # a fresh rate-limit window for each test
    with TestClient(booking_app, base_url="http://127.0.0.1", follow_redirects=False) as c:
        yield c


def _free_slot(web: TestClient, world: World, skip: int = 0) -> tuple[str, str]:
    """(slot value, day) of a free time three days ahead."""
    day = (world.clock() + timedelta(days=3)).date().isoformat()
    sid = web.app.state.test_service_id  # type: ignore[attr-defined]
    page = web.get(f"/book/pa?service={sid}&day={day}")
    assert page.status_code == 200, page.text
    slots = re.findall(r'name="slot" value="([^"]+)"', page.text)
    assert len(slots) > skip, "no free time on the booking page"
    return slots[skip].replace("&#43;", "+"), day


def _ask_booking(web: TestClient, world: World, email: str, skip: int = 0) -> tuple[int, str]:
    slot, day = _free_slot(web, world, skip)
    page = web.get("/book/pa")
    r = web.post(
        "/book/pa",
        data={
            "csrf_token": csrf_of(page.text),
            "service_id": web.app.state.test_service_id,  # type: ignore[attr-defined]
            "slot": slot,
            "day": day,
            "first_name": "Kim",
            "last_name": "Park",
            "email": email,
            "phone": "217-555-0199",
            "accept_policies": "yes",
        },
    )
    return r.status_code, r.headers.get("location", "")


def _ask_signin(web: TestClient, email: str) -> tuple[int, str]:
    page = web.get("/book/pa/signin")
    r = web.post("/book/pa/signin", data={"csrf_token": csrf_of(page.text), "email": email})
    return r.status_code, r.headers.get("location", "")


def _link(server: SmtpServer, to: str, path: str) -> str:
    for message in reversed(server.messages):
        if message["To"] == to:
            body = message.get_body(("plain",))
            assert body is not None
            found = re.search(re.escape(path) + r"(\S+)", body.get_content())
            if found:
                return found.group(1)
    raise AssertionError(f"no {path} link was mailed to {to}")


def _use(web: TestClient, path: str) -> TestClient:
    page = web.get(path)
    assert page.status_code == 200
    web.post(path, data={"csrf_token": csrf_of(page.text)})
    return web


def _follow(web: TestClient, path: str) -> tuple[int, str]:
    """Open a link and press its button: the status and the page's message."""
    page = web.get(path)
    r = web.post(path, data={"csrf_token": csrf_of(page.text)})
    message = re.search(r'<p id="message">([^<]*)</p>', r.text)
    return r.status_code, message.group(1) if message else ""


def test_altered_expired_and_used_links_are_refused(
    web: TestClient, world: World, mail_server: SmtpServer
) -> None:
    email = f"k{uuid.uuid4().hex[:6]}@example.com"
    assert _ask_booking(web, world, email) == (303, "/book/pa/sent")
    token = _link(mail_server, email, "/book/confirm/")
    middle = len(token) // 2
    altered = token[:middle] + ("A" if token[middle] != "A" else "B") + token[middle + 1 :]
    status, text = _follow(web, f"/book/confirm/{altered}")
    assert status == 410 and "not valid" in text
    web.cookies.clear()
    page = web.get(f"/book/confirm/{token}")
    r = web.post(f"/book/confirm/{token}", data={"csrf_token": csrf_of(page.text)})
    assert r.status_code == 303 and r.headers["location"] == "/portal?notice=booked"
    assert "tb_portal" in r.cookies
    status, text = _follow(web, f"/book/confirm/{token}")
    assert status == 410 and ("used already" in text or "already used" in text)
    # A log-in link expires after 30 minutes.
    assert _ask_signin(web, email) == (303, "/book/pa/signin/sent")
    login_token = _link(mail_server, email, "/portal/link/")
    world.clock.advance(minutes=31)
    status, text = _follow(web, f"/portal/link/{login_token}")
    assert status == 410 and "expired" in text
    # A booking link of the wrong purpose opens nothing.
    assert _ask_signin(web, email)[0] == 303
    fresh = _link(mail_server, email, "/portal/link/")
    status, _ = _follow(web, f"/book/confirm/{fresh}")
    assert status == 410
    web.cookies.clear()
    status, _ = _follow(web, f"/portal/link/{fresh}")
    assert status == 303
    assert web.get("/portal").status_code == 200


def test_the_answers_do_not_tell_whether_an_email_is_a_clients(
    web: TestClient, world: World, mail_server: SmtpServer
) -> None:
    known, unknown = "jane.a@example.com", f"nobody{uuid.uuid4().hex[:6]}@example.com"
    answers = [_ask_signin(web, known), _ask_signin(web, unknown)]
    assert answers[0] == answers[1] == (303, "/book/pa/signin/sent")
    pages = [web.get(location).text for _, location in answers]
    assert pages[0] == pages[1]
    # Both addresses get an email; only the client's holds a link.
    assert _link(mail_server, known, "/portal/link/")
    with pytest.raises(AssertionError):
        _link(mail_server, unknown, "/portal/link/")
    assert any(m["To"] == unknown for m in mail_server.messages)
    # Booking: the same answer for a client's email and a stranger's.
    assert (
        _ask_booking(web, world, known) == _ask_booking(web, world, unknown, skip=1) == (303, "/book/pa/sent")
    )
    # No subject carries more than the practice's name.
    assert {m["Subject"] for m in mail_server.messages} <= {
        "Your sign-in link for Practice pa",
        "Confirm your appointment at Practice pa",
    }


def _client(web: TestClient, world: World, mail_server: SmtpServer, skip: int) -> str:
    """A new client with one appointment, signed in on ``web``; their email."""
    email = f"c{uuid.uuid4().hex[:6]}@example.com"
    assert _ask_booking(web, world, email, skip=skip)[0] == 303
    web.cookies.clear()
    status, _ = _follow(web, f"/book/confirm/{_link(mail_server, email, '/book/confirm/')}")
    assert status == 303
    return email


def test_one_client_cannot_see_or_change_anothers_portal(
    booking_app,
    world: World,
    mail_server: SmtpServer,  # type: ignore[no-untyped-def]
) -> None:
    world.clock.advance(minutes=16)
    with (
        TestClient(booking_app, base_url="http://127.0.0.1", follow_redirects=False) as one,
        TestClient(booking_app, base_url="http://127.0.0.1", follow_redirects=False) as two,
    ):
        _client(one, world, mail_server, skip=4)
        _client(two, world, mail_server, skip=6)
        page_one, page_two = one.get("/portal"), two.get("/portal")
        ids_one = set(re.findall(r"/portal/appointments/([0-9a-f]{32})/move", page_one.text))
        ids_two = set(re.findall(r"/portal/appointments/([0-9a-f]{32})/move", page_two.text))
        assert len(ids_one) == len(ids_two) == 1 and not ids_one & ids_two
        theirs = ids_two.pop()
        csrf = csrf_of(page_one.text)
        assert one.get(f"/portal/appointments/{theirs}/move").status_code == 404
        assert one.post(f"/portal/appointments/{theirs}/cancel", data={"csrf_token": csrf}).status_code == 404
        assert (
            one.post(
                f"/portal/appointments/{theirs}/move", data={"csrf_token": csrf, "start": "2030-01-01T10:00"}
            ).status_code
            == 404
        )
        assert (
            schedule.get_appointment(world.engine, world.a.practice_id, ACTOR, theirs).status == "confirmed"
        )
        assert one.get("/portal/receipts/0123456789abcdef0123456789abcdef.pdf").status_code == 404
        # A client's own CSRF token does not work with another client's session.
        assert two.post(f"/portal/appointments/{theirs}/cancel", data={"csrf_token": csrf}).status_code == 403
        # A client session opens no staff page.
        assert one.get("/calendar").status_code == 303
        assert one.get(f"/patients/{world.a.patient_id}").status_code in (303, 401)
        one.post("/portal/logout", data={"csrf_token": csrf})
        assert one.get("/portal").status_code == 401


def test_a_staff_session_opens_no_portal_page(client: TestClient, world: World) -> None:
    login(client, world, "a", "front_desk")
    assert client.get("/portal").status_code == 401
    assert client.get("/portal/intake").status_code == 401


def test_requests_are_rate_limited_per_email_and_per_address(web: TestClient, world: World) -> None:
    email = f"r{uuid.uuid4().hex[:6]}@example.com"
    assert [_ask_signin(web, email)[0] for _ in range(3)] == [303, 303, 303]
    assert _ask_signin(web, email)[0] == 429
    others = [_ask_signin(web, f"o{i}{uuid.uuid4().hex[:4]}@example.com")[0] for i in range(18)]
    assert others == [303] * 17 + [429]  # 20 from one address per 15 minutes (refusals do not count)
    world.clock.advance(minutes=16)
    assert _ask_signin(web, email)[0] == 303


def test_every_form_needs_its_csrf_token(web: TestClient, world: World, mail_server: SmtpServer) -> None:
    slot, _ = _free_slot(web, world, skip=8)
    form = {"service_id": "x", "slot": slot, "email": "x@example.com", "accept_policies": "yes"}
    assert web.post("/book/pa", data=form).status_code == 403
    assert web.post("/book/pa", data={**form, "csrf_token": "forged"}).status_code == 403
    assert web.post("/book/pa/signin", data={"email": "x@example.com"}).status_code == 403
    _client(web, world, mail_server, skip=8)
    assert web.post("/portal/intake", data={"signed_name": "Kim Park"}).status_code == 403
