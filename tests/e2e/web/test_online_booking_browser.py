"""In a real browser: a new client books online on a phone, receives the email (a local SMTP
server the web server is configured to use), follows the link, fills in and signs the
health history in the portal; the front desk checks the client in and sees it.

The app runs in its own uvicorn process (``THERABILL_SMTP_HOST``/``PORT`` point at the test's
SMTP server on loopback), on the test day's clock like the other browser tests.
Screenshots (1366×900 and 390×844) go to ``THERABILL_SCREENSHOTS`` (``docs/images``).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.conftest import REPO, SmtpServer, require
from tests.e2e.api.world import PASSWORD, START, World, build_world
from tests.e2e.web.conftest import CHROMIUM, _free_port, _utcnow
from therabill.service_layer import booking, schedule_setup

ACTOR = "test:setup"
POLICIES = (
    "Cancel or move your appointment at least 24 hours ahead; later cancellations and missed "
    "appointments are charged $50.\nPlease arrive 10 minutes early for your first visit."
)


class App:
    """The running app with its own world and mail server."""

    def __init__(self, url: str, world: World, offset: float, mail: SmtpServer) -> None:
        self.url = url
        self.world = world
        self.offset = offset
        self.mail = mail

    def today(self) -> object:
        return (_utcnow() + timedelta(seconds=self.offset)).date()


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    require("chromium", Path(CHROMIUM).exists(), "apt-get install chromium")
    folder = tmp_path_factory.mktemp("booking-web")
    world = build_world(folder)
    pid = world.a.practice_id
    schedule_setup.add_service(
        world.engine,
        pid,
        ACTOR,
        name="Massage 60 min",
        duration_minutes=60,
        price=Decimal("95.00"),
        codes=["97124"],
    )
    schedule_setup.add_service(
        world.engine,
        pid,
        ACTOR,
        name="Massage 90 min",
        duration_minutes=90,
        price=Decimal("135.00"),
        codes=["97124"],
    )
    schedule_setup.set_working_hours(
        world.engine, pid, ACTOR, world.a.provider_id, [(d, "09:00", "17:00") for d in range(7)]
    )
    booking.set_booking_settings(
        world.engine,
        pid,
        ACTOR,
        enabled=True,
        requires_approval=False,
        card_on_file_notice=True,
        policies=POLICIES,
    )
    world.engine.dispose()
    mail = SmtpServer().start()
    offset = (START - _utcnow()).total_seconds()
    port = _free_port()
    env = {
        **os.environ,
        "THERABILL_DATABASE_URL": f"sqlite:///{folder / 'web.sqlite3'}",
        "THERABILL_DATA_DIR": str(folder / "data"),
        "THERABILL_TEST_CLOCK_OFFSET": str(offset),
        "THERABILL_SMTP_HOST": mail.host,
        "THERABILL_SMTP_PORT": str(mail.port),
        "THERABILL_SMTP_SENDER": "Practice pa <front@practice-pa.example>",
        "PYTHONPATH": os.pathsep.join([str(REPO / "src"), str(REPO)]),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "tests.e2e.web.server:make_app", "--factory",
         "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
        cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        else:
            raise RuntimeError("the server did not start")
        yield App(url, world, offset, mail)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        mail.stop()


@pytest.fixture(scope="module")
def chromium(app: App, chromium_browser: Browser) -> Browser:
    return chromium_browser


@pytest.fixture(scope="module")
def pictures(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = os.environ.get("THERABILL_SCREENSHOTS")
    folder = Path(target) if target else tmp_path_factory.mktemp("screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _fits_the_phone(page: Page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"horizontal scroll: the page is {width} px wide"
    small = page.evaluate(
        """() => [...document.querySelectorAll('main a, main button, main select, main input:not([type=hidden]):not([type=radio])')]
              .filter(e => e.offsetParent !== null)
              .map(e => [e.outerHTML.slice(0, 60), e.getBoundingClientRect().height])
              .filter(([, h]) => h < 24)"""
    )
    assert small == [], f"tap targets under 24 px: {small}"


def _mail_to(app: App, address: str) -> str:
    for _ in range(100):
        for message in app.mail.messages:
            if message["To"] == address:
                body = message.get_body(("plain",))
                assert body is not None
                assert "Massage" not in str(message["Subject"]).replace("Practice pa", "")
                return str(body.get_content())
        time.sleep(0.1)
    raise AssertionError(f"no email reached {address}")


def test_a_new_client_books_online_signs_the_intake_and_the_desk_sees_it(  # noqa: PLR0915 - one story
    app: App, chromium: Browser, pictures: Path
) -> None:
    day = app.today() + timedelta(days=3)  # type: ignore[operator]
    phone = chromium.new_context(viewport={"width": 390, "height": 844})
    page = phone.new_page()
    page.goto(f"{app.url}/book/pa?day={day.isoformat()}")
    expect(page.locator("h1")).to_have_text("Book an appointment")
    expect(page.locator("#card-notice")).to_be_visible()
    expect(page.locator("#policies")).to_contain_text("24 hours ahead")
    _fits_the_phone(page)
    page.screenshot(path=str(pictures / "booking-390.png"), full_page=True)

    page.locator(".slots label").filter(has_text="10:00 AM").click()
    page.fill("input[name=first_name]", "Nora")
    page.fill("input[name=last_name]", "Quinn")
    page.fill("input[name=email]", "nora.quinn@example.com")
    page.fill("input[name=phone]", "(217) 555-0142")
    page.check("input[name=accept_policies]")
    page.click("#book-submit")
    expect(page).to_have_url(f"{app.url}/book/pa/sent")
    expect(page.locator("h1")).to_have_text("Check your email")

    text = _mail_to(app, "nora.quinn@example.com")
    assert text.startswith("Hi Nora,") and "at 10:00 AM at Practice pa" in text
    link = re.search(r"http://\S+/book/confirm/\S+", text)
    assert link, text
    page.goto(link.group(0))
    page.click("#use-link")
    expect(page).to_have_url(re.compile(r"/portal\?notice=booked$"))
    expect(page.locator("#notice")).to_contain_text("booked")
    expect(page.locator("#upcoming .appointment")).to_contain_text("10:00 AM–11:00 AM")
    expect(page.locator("#upcoming .appointment")).to_contain_text("Massage 60 min")
    expect(page.locator("#intake-due")).to_be_visible()
    _fits_the_phone(page)
    page.screenshot(path=str(pictures / "portal-390.png"), full_page=True)

    page.click("#intake-due a")
    expect(page.locator("h1")).to_have_text("Your health history")
    page.fill("textarea[name=reason_for_care]", "Low back pain after gardening")
    page.fill("input[name='med-0-name']", "ibuprofen")
    page.fill("input[name='allergy-0-substance']", "almond oil")
    page.select_option("select[name='allergy-0-kind']", "topical")
    page.locator("#avoid-diagram [data-avoid-region]").first.click()
    expect(page.locator("#avoid-text")).not_to_have_text("none")
    page.check("input[name='consent-treatment-given']")
    page.fill("#signed_name", "Someone Else")
    page.click("#sign-intake")
    expect(page.locator("#intake-errors")).to_contain_text("type your name")
    page.fill("#signed_name", "Nora Quinn")
    _fits_the_phone(page)
    page.screenshot(path=str(pictures / "portal-intake-390.png"), full_page=True)
    page.click("#sign-intake")
    expect(page).to_have_url(re.compile(r"/portal\?notice=intake$"))
    expect(page.locator("#intake")).to_contain_text("Version 1, signed by you")
    phone.close()

    wide = chromium.new_context(viewport={"width": 1366, "height": 900})
    desk = wide.new_page()
    desk.goto(f"{app.url}/book/pa?day={day.isoformat()}")
    expect(desk.locator(".slots label").filter(has_text="10:00 AM")).to_have_count(0)  # taken now
    desk.screenshot(path=str(pictures / "booking-1366.png"), full_page=True)
    desk.goto(f"{app.url}/login")
    desk.fill("input[name=username]", app.world.a.usernames["front_desk"])
    desk.fill("input[name=password]", PASSWORD)
    desk.click("button[type=submit]")
    expect(desk).to_have_url(app.url + "/")
    desk.goto(f"{app.url}/calendar?day={day.isoformat()}")
    item = desk.locator(".cal-item").filter(has_text="Quinn")
    expect(item).to_contain_text("10:00 AM–11:00 AM")
    item.locator("a").first.click()
    expect(desk.locator("#appointment-card")).to_contain_text("Confirmed")
    desk.click("#appointment-card button:has-text('Check in')")
    expect(desk.locator("h1")).to_contain_text("Nora Quinn is checked in")
    expect(desk.locator("#checkin-intake")).to_contain_text("Health history version 1 is not signed yet")
    desk.click("#checkin-intake a")
    expect(desk.locator("main")).to_contain_text("Low back pain after gardening")
    expect(desk.locator("main")).to_contain_text("almond oil")
    expect(desk.locator("#intake-status")).to_contain_text("Entered by the client, signed online")

    # The front desk's online booking page works on a phone too.
    small = chromium.new_context(viewport={"width": 390, "height": 844})
    staff = small.new_page()
    staff.goto(f"{app.url}/login")
    staff.fill("input[name=username]", app.world.a.usernames["front_desk"])
    staff.fill("input[name=password]", PASSWORD)
    staff.click("button[type=submit]")
    staff.goto(f"{app.url}/calendar/online-booking")
    expect(staff.locator("#pending")).to_contain_text("Nothing waits for approval")
    expect(staff.locator("#settings")).to_contain_text("open")
    _fits_the_phone(staff)
    small.close()

    # The client's portal at desktop width (a new link: the session above belonged to the phone).
    client = wide.new_page()
    client.goto(f"{app.url}/book/pa/signin")
    client.fill("input[name=email]", "nora.quinn@example.com")
    client.click("button[type=submit]")
    expect(client.locator("h1")).to_have_text("Check your email")
    for _ in range(100):
        found = [
            m
            for m in app.mail.messages
            if m["To"] == "nora.quinn@example.com" and "sign-in" in str(m["Subject"])
        ]
        if found:
            break
        time.sleep(0.1)
    body = found[0].get_body(("plain",))
    assert body is not None
    login_link = re.search(r"http://\S+/portal/link/\S+", str(body.get_content()))
    assert login_link
    client.goto(login_link.group(0))
    client.click("#use-link")
    expect(client).to_have_url(f"{app.url}/portal")
    expect(client.locator("#upcoming .appointment")).to_contain_text("Checked in")
    client.screenshot(path=str(pictures / "portal-1366.png"), full_page=True)
    wide.close()
