"""In a real browser at phone width: the front desk books a weekly series, moves one (htmx), checks in,
and the therapist documents the visit from its pre-filled note; a no-show charges the practice's fee."""

from __future__ import annotations

import re
import uuid
from datetime import datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.e2e.api.world import PASSWORD
from tests.e2e.web.conftest import Server
from therabill.service_layer import appointments, contact_preferences, schedule_setup
from therabill.service_layer import patients as patients_svc


def _login_desk(page: Page, server: Server) -> None:
    _login(page, server, "front_desk")


def _login(page: Page, server: Server, role: str) -> None:
    page.goto(server.url + "/login")
    page.fill("input[name=username]", server.world.b.usernames[role])
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(server.url + "/")


def _fits_the_phone(page: Page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"horizontal scroll: the page is {width} px wide"
    small = page.evaluate(
        """() => [...document.querySelectorAll('main a, main button, main select, main input:not([type=hidden])')]
              .filter(e => e.offsetParent !== null)
              .map(e => [e.outerHTML.slice(0, 60), e.getBoundingClientRect().height])
              .filter(([, h]) => h < 24)"""
    )
    assert small == [], f"tap targets under 24 px: {small}"


def test_front_desk_books_moves_and_checks_in_on_a_phone(browser, server: Server, shots: Path) -> None:  # type: ignore[no-untyped-def]
    world = server.world
    pid, actor = world.b.practice_id, "test:setup"
    name = f"Massage {uuid.uuid4().hex[:4]}"
    service = schedule_setup.add_service(
        world.engine, pid, actor, name=name, duration_minutes=60, price=Decimal("95.00"), codes=["97124"]
    )
    day = (server.now() + timedelta(days=21)).date()
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    _login_desk(page, server)

    page.goto(f"{server.url}/calendar/book?day={day.isoformat()}")
    _fits_the_phone(page)
    page.select_option("select[name=patient_id]", world.b.patient_id)
    page.select_option("select[name=service_id]", service.id)
    page.fill("input[name=time]", "10:00")
    page.fill("input[name=weeks]", "2")
    page.screenshot(path=str(shots / "calendar-book-390.png"), full_page=True)
    page.click("form.cal-form button[type=submit]")
    expect(page).to_have_url(re.compile(r"/calendar\?day="))
    expect(page.locator(".cal-item")).to_contain_text("10:00 AM–11:00 AM")
    _fits_the_phone(page)
    page.screenshot(path=str(shots / "calendar-day-390.png"), full_page=True)

    page.click(".cal-item a")
    expect(page.locator("#appointment-card")).to_contain_text("Booked")
    _fits_the_phone(page)
    page.fill("#appointment-card input[name=time]", "11:30")
    page.click("#appointment-card form.cal-form button[type=submit]")
    expect(page.locator("#appointment-card")).to_contain_text("11:30 AM–12:30 PM")
    page.click("#appointment-card button:has-text('Check in')")
    expect(page).to_have_url(re.compile(r"/check-in$"))
    expect(page.locator("h1")).to_contain_text("is checked in")
    assert page.locator("header.top").count() == 1  # a whole page, not one swapped into the card
    expect(page.locator("#checkin-intake")).to_be_visible()
    _fits_the_phone(page)
    page.screenshot(path=str(shots / "calendar-checkin-390.png"), full_page=True)
    appointment_id = page.url.rsplit("/", 2)[-2]

    # the therapist documents the checked-in visit from its pre-filled note
    therapist = browser.new_context(viewport={"width": 390, "height": 844})
    note = therapist.new_page()
    _login(note, server, "therapist")
    note.goto(f"{server.url}/calendar/appointments/{appointment_id}")
    expect(note.locator("#appointment-card #status")).to_have_text("Checked in")
    note.click("#appointment-card a:has-text('Open the visit note')")
    expect(note).to_have_url(re.compile(rf"/visits/new\?appointment={appointment_id}$"))
    expect(note.locator("input[name=date_of_service]")).to_have_value(day.isoformat())
    expect(note.locator("input[name=start_time]")).to_have_value("11:30")  # the moved time
    expect(note.locator("input[name='svc-0-code']")).to_have_value("97124")
    expect(note.locator("input[name='svc-0-minutes']")).to_have_value("60")
    expect(note.locator("input[name=appointment_id]")).to_have_value(appointment_id)
    note.fill("#diagnoses", "M54.50")
    note.fill("input[name='svc-0-pointers']", "1")
    note.fill("textarea[name=subjective]", "Upper back tension; weekly visits help.")
    note.screenshot(path=str(shots / "calendar-visit-note-390.png"), full_page=True)
    note.click("#save-visit")
    expect(note.locator("h1")).to_contain_text(f"Visit {day:%m/%d/%Y}")
    expect(note.locator("main")).to_contain_text("Upper back tension")
    note.goto(f"{server.url}/calendar/appointments/{appointment_id}")
    expect(note.locator("#appointment-card #status")).to_have_text("Completed")
    therapist.close()

    wide = browser.new_context(viewport={"width": 1366, "height": 900})
    desk = wide.new_page()
    _login_desk(desk, server)
    desk.goto(f"{server.url}/calendar?view=week&day={day.isoformat()}")
    expect(desk.locator(".cal-column")).to_have_count(7)
    desk.screenshot(path=str(shots / "calendar-week-1366.png"), full_page=True)
    wide.close()
    context.close()


def test_a_no_show_charges_the_practice_fee_on_the_client_account(
    browser, server: Server, shots: Path
) -> None:  # type: ignore[no-untyped-def]
    world = server.world
    pid, actor = world.b.practice_id, "test:setup"
    schedule_setup.set_calendar_policy(world.engine, pid, actor, no_show_fee=Decimal("45.00"))
    tag = uuid.uuid4().hex[:6]
    client = patients_svc.register_patient(
        world.engine, pid, actor, chart_number=f"ns-{tag}", first_name="Nora", last_name=f"Show{tag}"
    )
    day = (server.now() + timedelta(days=23)).date()
    appt = appointments.book(
        world.engine,
        pid,
        actor,
        patient_id=client,
        provider_id=world.b.provider_id,
        start_local=datetime.combine(day, time(15, 0)),
        end_local=datetime.combine(day, time(16, 0)),
        reason="Massage",
    )
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    _login_desk(page, server)

    page.goto(f"{server.url}/patients/{client}")
    expect(page.locator("#amount-due")).to_have_text("$0.00")
    page.goto(f"{server.url}/calendar/appointments/{appt.id}")
    expect(page.locator("#appointment-card #status")).to_have_text("Booked")
    page.click("#appointment-card button:has-text('No-show')")
    expect(page.locator("#appointment-card #status")).to_have_text("No-show")
    _fits_the_phone(page)

    page.goto(f"{server.url}/patients/{client}")
    expect(page.locator("#amount-due")).to_have_text("$45.00")
    expect(page.locator("#recent-ledger")).to_contain_text("$45.00")
    _fits_the_phone(page)
    # the client asks for no more text messages: the desk ticks it on the same page (htmx)
    page.check("#sms-opt-out")
    page.click("#save-contact-preferences")
    expect(page.locator("#contact-preferences-message")).to_have_text("Saved.")
    expect(page.locator("#sms-opt-out")).to_be_checked()
    assert contact_preferences.contact_preferences_of(world.engine, pid, actor, client).sms_opt_out
    page.screenshot(path=str(shots / "calendar-no-show-fee-390.png"), full_page=True)
    context.close()
