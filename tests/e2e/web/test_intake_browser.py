"""In a real browser: the front desk fills in a health history (body diagram, consents), the
therapist signs it and sees the absolute contraindication before treating, the biller's
"Create the claim" is refused until the therapist records the clearance."""

from __future__ import annotations

import re
import uuid
from datetime import date
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.e2e.api.world import PASSWORD
from tests.e2e.web.conftest import Server
from tests.e2e.web.test_browser_flow import enter_code
from therabill.service_layer import coverages as coverages_svc
from therabill.service_layer import patients as patients_svc


def _login(page: Page, server: Server, role: str) -> None:
    pw = server.world.a
    page.goto(server.url + "/login")
    page.fill("input[name=username]", pw.usernames[role])
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    if role in pw.secrets:
        expect(page).to_have_url(re.compile(r"/login/mfa$"))
        enter_code(page, server, pw.secrets[role])
    expect(page).to_have_url(server.url + "/")


def _patient(server: Server) -> str:
    pw = server.world.a
    return patients_svc.register_patient(
        server.world.engine,
        pw.practice_id,
        "test:setup",
        chart_number=f"B-{uuid.uuid4().hex[:8]}",
        first_name="Nora",
        last_name="Browser",
        birth_date=date(1969, 7, 14),
        sex="F",
        address={"line1": "5 Pine St", "city": "Springfield", "state": "IL", "zip": "62704"},
        coverages_in=[
            coverages_svc.CoverageInput(
                payer_id=pw.payer_id, member_id="XOJ777000222", active_from=date(2026, 1, 1)
            )
        ],
    )


def test_intake_blocks_the_claim_until_clearance(browser, server: Server, shots: Path) -> None:  # type: ignore[no-untyped-def]
    patient = _patient(server)
    desk = browser.new_context(viewport={"width": 1280, "height": 900})
    page = desk.new_page()
    _login(page, server, "front_desk")
    page.goto(f"{server.url}/patients/{patient}")
    page.click("#open-intake")
    page.click("#edit-intake")
    page.fill("textarea[name=reason_for_care]", "Aching left calf and low back")
    page.fill("input[name=onset_date]", "2026-11-01")
    page.select_option("select[name=onset_mechanism]", "gradual")
    page.fill("input[name='cond-0-name']", "deep vein thrombosis")
    page.fill("input[name='cond-0-regions']", "lower_leg_left")
    page.fill("input[name='med-0-name']", "Eliquis")
    page.fill("input[name='allergy-0-substance']", "almond oil")
    page.select_option("select[name='allergy-0-kind']", "topical")
    page.locator('#avoid-diagram [data-avoid-region="abdomen"] rect').first.click()
    page.click('#avoid-diagram [data-avoid-region="knee_right"]')
    page.click('#avoid-diagram [data-avoid-region="knee_right"]')  # a second click unmarks
    expect(page.locator("#avoid-text")).to_have_text("Abdomen")
    expect(page.locator("#avoid_regions")).to_have_value("abdomen")
    page.select_option("select[name=pressure_preference]", "medium")
    page.fill("input[name=ec_name]", "Paul Browser")
    page.fill("input[name=ec_phone]", "2175550123")
    for key in ("treatment", "release_of_information", "assignment_of_benefits"):
        page.check(f"input[name='consent-{key}-given']")
        page.fill(f"input[name='consent-{key}-date']", "2026-11-15")
        page.select_option(f"select[name='consent-{key}-method']", "electronic")
    page.click("#save-intake")
    expect(page).to_have_url(re.compile(rf"/patients/{patient}/intake$"))
    expect(page.locator("#intake-unsigned")).to_be_visible()
    expect(page.locator("#sign-intake")).to_have_count(0)  # the front desk does not sign
    desk.close()

    therapist = browser.new_context(viewport={"width": 1280, "height": 1000})
    tpage = therapist.new_page()
    _login(tpage, server, "therapist")
    tpage.goto(f"{server.url}/patients/{patient}/intake")
    tpage.click("#sign-intake")
    expect(tpage.locator("#intake-signed")).to_be_visible()
    expect(tpage.locator('[data-kind="absolute"][data-rule="deep-vein-thrombosis"]')).to_have_count(1)
    expect(tpage.locator('#intake-diagram [data-r="abdomen"]')).to_have_class(re.compile(r"\bavoid\b"))
    tpage.screenshot(path=str(shots / "web-intake.png"), full_page=True)

    tpage.goto(f"{server.url}/patients/{patient}/visits/new")
    # Before treating: the absolute result, and the region not to work on marked on the diagram.
    expect(tpage.locator('#preview-panel [data-kind="absolute"]')).to_have_count(1)
    expect(tpage.locator('#body-diagram [data-region="abdomen"]')).to_have_class(re.compile(r"\bavoid\b"))
    tpage.fill("input[name=date_of_service]", "2026-11-20")
    tpage.fill("input[name=start_time]", "10:00")
    tpage.fill("input[name=end_time]", "10:45")
    tpage.fill("#diagnoses", "M54.50")
    tpage.fill("input[name='svc-0-code']", "97124")
    tpage.fill("input[name='svc-0-minutes']", "45")
    tpage.fill("input[name='svc-0-pointers']", "1")
    tpage.locator('#body-diagram [data-region="abdomen"] rect').first.click()
    expect(tpage.locator('#preview-panel [data-rule="intake-region-avoid"]')).to_have_count(1)
    tpage.locator('#body-diagram [data-region="abdomen"] rect').first.click()
    tpage.click('#body-diagram [data-region="lumbar"]')
    expect(tpage.locator('#preview-panel [data-rule="intake-region-avoid"]')).to_have_count(0)
    tpage.fill("textarea[name=subjective]", "Low back ache; calf cleared by physician last week.")
    tpage.fill("textarea[name=medical_necessity]", "Pain limits sitting to 30 minutes.")
    tpage.fill("textarea[name=client_feedback]", "Felt relaxed, back looser.")
    tpage.click("#save-visit")
    expect(tpage).to_have_url(re.compile(r"/visits/\w+$"))
    visit_url = tpage.url
    expect(tpage.locator("#not-billable")).to_be_visible()
    tpage.screenshot(path=str(shots / "web-intake-visit.png"), full_page=True)

    billing = browser.new_context(viewport={"width": 1280, "height": 900})
    bpage = billing.new_page()
    _login(bpage, server, "biller")
    bpage.goto(visit_url)
    expect(bpage.locator("#claim-blocked")).to_be_visible()
    bpage.click("#create-claim")
    expect(bpage.locator("#visit-errors")).to_contain_text("intake-contraindication-uncleared")
    expect(bpage.locator("#visit-errors")).to_contain_text("deep vein thrombosis")

    tpage.fill(
        'form.clearance[data-rule="deep-vein-thrombosis"] input[name=document]',
        "Dr. Patel, duplex scan clear, 2026-11-18",
    )
    tpage.click('form.clearance[data-rule="deep-vein-thrombosis"] .record-clearance')
    expect(tpage.locator(".cleared")).to_contain_text("duplex scan clear")
    expect(tpage.locator("#not-billable")).to_have_count(0)

    bpage.goto(visit_url)
    bpage.click("#create-claim")
    expect(bpage).to_have_url(re.compile(r"/claims/\w+$"))
    therapist.close()
    billing.close()
