"""In a real browser, one claim's life: a visit saved with its end before its start is edited
(the claim is re-coded and re-scrubbed), sent and paid, corrected (frequency 7 with REF*F8),
rejected and re-billed, accepted and voided (frequency 8); every version shows who and when.
The payer's answers come from the services (as an 835 or a 277CA would move the claim); the
837P of the replacement claim passes pyx12."""

from __future__ import annotations

import re
from datetime import date

from playwright.sync_api import Page, expect

from tests.e2e.web.conftest import Server
from tests.e2e.web.test_browser_flow import _login
from therabill.adapters.x12.envelope import EnvelopeSettings
from therabill.adapters.x12.validate import validate
from therabill.service_layer import batches, claims, visits

DOS = date(2026, 11, 16)
SETUP = "test:setup"
DOC = {
    "start_time": "11:00",
    "end_time": "10:00",  # the end before the start: the claim cannot be marked ready
    "diagnoses": ["M54.50", "M62.830"],
    "services": [
        {
            "code": "97124",
            "minutes": 60,
            "diagnosis_pointers": [1, 2],
            "body_regions": ["lumbar"],
            "unit_charge": "30.00",
        }
    ],
    "documentation": {
        "subjective": "Low back stiffness.",
        "medical_necessity": "Sitting limited to 20 minutes.",
    },
}


def _claim_id(page: Page) -> str:
    found = re.search(r"/claims/(\w+)$", page.url)
    assert found, page.url
    return found.group(1)


def _send(server: Server, claim_id: str, answer: str, icn: str | None = None) -> str:
    """Batch the ready claim and let the payer answer; returns the batch's 837P."""
    a, engine = server.world.a, server.world.engine
    batch = batches.build_batch(engine, a.practice_id, SETUP, [claim_id], envelope=EnvelopeSettings())
    claims.set_claim_status(engine, a.practice_id, SETUP, claim_id, answer, payer_claim_control_number=icn)
    return batch.text


def test_edit_void_correct_rebill(browser, server: Server) -> None:  # type: ignore[no-untyped-def]
    a, engine = server.world.a, server.world.engine
    visit = visits.record_visit(
        engine,
        a.practice_id,
        SETUP,
        patient_id=a.patient_id,
        provider_id=a.provider_id,
        date_of_service=DOS,
        document=DOC,
        coverage_id=a.coverage_id,
    )
    first = claims.code_visit(engine, a.practice_id, SETUP, visit, as_of=date(2026, 11, 23))
    assert first.has_errors
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    _login(page, server, "owner")

    # 1. edit the saved visit: the claim is re-coded and re-scrubbed as version 2
    page.goto(f"{server.url}/claims/{first.claim_id}")
    expect(page.locator("#mark-ready")).to_have_count(0)
    page.click("#edit-visit")
    expect(page.locator("input[name=start_time]")).to_have_value("11:00")
    expect(page.locator("#accident-fields")).to_be_visible()
    page.fill("input[name=start_time]", "10:00")
    page.fill("input[name=end_time]", "11:00")
    page.fill("input[name=reason]", "start and end were swapped")
    page.click("#save-visit")
    expect(page).to_have_url(re.compile(r"/claims/\w+$"))
    expect(page.locator("h1")).to_contain_text(f"{first.claim_number}-2")
    expect(page.locator("#claim-versions tbody tr")).to_have_count(2)
    expect(page.locator("#claim-versions tbody tr").nth(1)).to_contain_text("start and end were swapped")
    page.click("#mark-ready")
    expect(page.locator("#claim-status")).to_have_text("Ready")
    edited = _claim_id(page)
    _send(server, edited, "paid", "ICN-WEB-0001")

    # 2. correct the paid claim: frequency 7, REF*F8 = the payer's claim number
    page.reload()
    page.click("#correct-claim")
    page.fill("#diagnoses", "M62.830, M54.50")
    page.fill("input[name=reason]", "primary diagnosis first")
    page.click("#save-visit")
    expect(page.locator("#claim-frequency")).to_contain_text("frequency 7")
    expect(page.locator("#claim-versions tbody tr")).to_have_count(3)
    page.click("#mark-ready")
    corrected = _claim_id(page)
    text = _send(server, corrected, "clearinghouse_rejected")
    assert "*11:B:7*" in text and "REF*F8*ICN-WEB-0001~" in text and "ABK:M62830" in text
    checked = validate(text)
    assert checked.ok, checked.errors

    # 3. the clearinghouse rejected it: re-bill (the same correction again)
    page.reload()
    expect(page.locator("#claim-status")).to_have_text("Rejected by the clearinghouse")
    page.click("#rebill-claim")
    page.fill("input[name=reason]", "subscriber id fixed")
    page.click("#save-visit")
    expect(page.locator("#claim-versions tbody tr")).to_have_count(4)
    page.click("#mark-ready")
    rebilled = _claim_id(page)
    _send(server, rebilled, "payer_accepted", "ICN-WEB-0002")

    # 4. void it: a frequency-8 claim ready to send, the accepted one voided
    page.reload()
    page.fill("#void-form input[name=reason]", "billed to the wrong payer")
    page.click("#void-claim")
    expect(page.locator("#claim-frequency")).to_contain_text("frequency 8")
    expect(page.locator("#claim-status")).to_have_text("Ready")
    rows = page.locator("#claim-versions tbody tr")
    expect(rows).to_have_count(5)
    kinds = [rows.nth(i).locator("td").nth(2).inner_text() for i in range(5)]
    assert kinds == ["original (1)", "edit (1)", "correct (7)", "correct (7)", "void (8)"]
    statuses = [rows.nth(i).locator("td").nth(3).inner_text() for i in range(5)]
    assert statuses == ["Replaced", "Replaced", "Replaced", "Voided", "Ready"]
    voided = _claim_id(page)
    text = _send(server, voided, "payer_accepted", "ICN-WEB-0003")
    assert "*11:B:8*" in text and "REF*F8*ICN-WEB-0002~" in text

    # on a phone the claim page fits (tables scroll inside their box)
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
    context.close()


def test_follow_up_page(browser, server: Server) -> None:  # type: ignore[no-untyped-def]
    a, engine = server.world.a, server.world.engine
    visit = visits.record_visit(
        engine,
        a.practice_id,
        SETUP,
        patient_id=a.patient_id,
        provider_id=a.provider_id,
        date_of_service=date(2026, 10, 1),
        document={**DOC, "start_time": "10:00", "end_time": "11:00"},
        coverage_id=a.coverage_id,
    )
    coded = claims.code_visit(engine, a.practice_id, SETUP, visit, as_of=date(2026, 11, 23))
    claims.mark_ready(engine, a.practice_id, SETUP, coded.claim_id)
    _send(server, coded.claim_id, "denied", "ICN-WEB-0009")
    context = browser.new_context(viewport={"width": 390, "height": 844}, accept_downloads=True)
    page = context.new_page()
    _login(page, server, "biller")
    page.goto(server.url + "/followup")
    row = page.locator(f'#followup-list tr[data-claim="{coded.claim_number}"]')
    expect(row).to_contain_text("denied")
    expect(row).to_contain_text("53 (31-60)")
    row.locator("a").click()
    page.fill("#followup-form textarea[name=note]", "Called: the denial stands; appeal with the order.")
    page.fill("#followup-form input[name=owner]", "Bea")
    page.click("#followup-save")
    expect(page.locator("#followup-owner")).to_have_text("Bea")
    expect(page.locator("#followup-notes")).to_contain_text("the denial stands")
    page.fill("#appeal-form textarea[name=note]", "Massage was ordered by Dr. Reed for spasm.")
    with page.expect_download() as letter:
        page.click("#appeal-letter")
    with open(letter.value.path(), "rb") as fh:
        assert fh.read(4) == b"%PDF"
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
    context.close()
