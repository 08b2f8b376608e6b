"""In a real browser at phone width: a client opens the cancel link of a reminder (no log-in)
and cancels; the front desk's calendar setup page fits the phone."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from playwright.sync_api import expect

from tests.e2e.web.conftest import Server
from tests.e2e.web.test_calendar_browser import _fits_the_phone, _login_desk
from therabill.service_layer import appointments, links, reminders, schedule_setup


def test_a_client_cancels_from_a_reminder_on_a_phone(browser, server: Server, shots: Path) -> None:  # type: ignore[no-untyped-def]
    world = server.world
    pid, actor = world.b.practice_id, "test:setup"
    start = server.now().replace(tzinfo=None, minute=0, second=0, microsecond=0) + timedelta(days=9, hours=3)
    appt = appointments.schedule_appointment(
        world.engine, pid, actor, patient_id=world.b.patient_id, provider_id=world.b.provider_id,
        start=start, end=start + timedelta(hours=1),
    )  # fmt: skip
    token = links.issue_link(
        world.engine, pid, reminders.CANCEL, appt, expires=timedelta(days=9), clock=server.now
    )
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.goto(f"{server.url}/r/cancel/{token}")
    expect(page.locator("h1")).to_contain_text("Hi ")
    _fits_the_phone(page)
    page.screenshot(path=str(shots / "reminder-cancel-390.png"), full_page=True)
    page.click("button:has-text('Cancel my appointment')")
    expect(page.locator("h1")).to_contain_text("cancelled")
    _fits_the_phone(page)
    page.screenshot(path=str(shots / "reminder-cancelled-390.png"), full_page=True)
    assert appointments.get_appointment(world.engine, pid, actor, appt).status == "cancelled"
    page.goto(f"{server.url}/r/cancel/{token}")
    expect(page.locator("h1")).to_contain_text("cannot be used")
    context.close()


def test_the_calendar_setup_page_fits_a_phone(browser, server: Server, shots: Path) -> None:  # type: ignore[no-untyped-def]
    world = server.world
    pid, actor = world.b.practice_id, "test:setup"
    schedule_setup.add_service(
        world.engine,
        pid,
        actor,
        name=f"Deep tissue {uuid.uuid4().hex[:4]}",
        duration_minutes=90,
        price=Decimal(130),
    )
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    _login_desk(page, server)
    page.goto(f"{server.url}/calendar/setup")
    day = (server.now() + timedelta(days=30)).date().isoformat()
    page.fill("input[name=start_day]", day)
    page.fill("input[name=end_day]", day)
    page.fill("input[name=reason]", "Workshop")
    page.click("button:has-text('Add time off')")
    expect(page.locator("#time-off")).to_contain_text("Workshop")
    _fits_the_phone(page)
    page.click("button:has-text('Make a feed address')")
    expect(page.locator("#feed-url input")).to_have_value(re.compile(r"/calendar/feed/.+\.ics$"))
    _fits_the_phone(page)
    page.screenshot(path=str(shots / "calendar-setup-390.png"), full_page=True)
    context.close()
