"""In a real browser: log in with MFA, document 97124 38 min + 97140 22 min (59, another region)
and see 3 + 1 units and the findings, create the claim, download the 837P and the CMS-1500,
upload an 835 and see the payment posted and a denial explained."""

from __future__ import annotations

import re
import time
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.e2e.api.world import PASSWORD, make_835
from tests.e2e.web.conftest import Server
from therabill.security import totp


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


def enter_code(page: Page, server: Server, secret: str) -> None:
    """Enter the current TOTP code; a code is accepted once, so when another test of this
    process used this step's code already, wait for the next step and enter that one."""
    for _ in range(3):
        page.fill("input[name=code]", totp.code_at(secret, server.now()))
        page.click("button[type=submit]")
        page.wait_for_load_state()
        if not re.search(r"/login/mfa$", page.url):
            return
        time.sleep(30.5 - server.now().timestamp() % 30)


def test_document_bill_and_post(browser, server: Server, shots: Path) -> None:  # type: ignore[no-untyped-def]
    context = browser.new_context(accept_downloads=True, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(server.url + "/login")
    page.screenshot(path=str(shots / "web-login.png"))
    _login(page, server, "owner")
    page.screenshot(path=str(shots / "web-dashboard.png"))
    assert page.evaluate("() => window.localStorage.length") == 0  # no PHI in browser storage

    pw = server.world.a
    page.goto(f"{server.url}/patients/{pw.patient_id}/visits/new")
    page.fill("input[name=date_of_service]", "2026-11-20")
    page.fill("input[name=start_time]", "10:00")
    page.fill("input[name=end_time]", "11:00")
    page.fill("#diagnoses", "M54.50, M62.830, M54.2")
    page.fill("textarea[name=subjective]", "Low back and neck stiffness after desk work; pain 6/10.")
    page.fill("textarea[name=medical_necessity]", "Spasm limits sitting tolerance to 20 minutes.")
    page.fill("input[name=pain_scale]", "6")
    page.fill("input[name='svc-0-code']", "97124")
    page.fill("input[name='svc-0-minutes']", "60")
    page.fill("input[name='svc-0-pointers']", "1,2")
    page.click('#body-diagram [data-region="lumbar"]')
    expect(page.locator("#preview-panel .units-value")).to_have_text(["4"])  # 60 minutes of massage
    page.fill("input[name='svc-0-minutes']", "38")
    page.check("input[name=active-row][value='1']")
    page.fill("input[name='svc-1-code']", "97140")
    page.fill("input[name='svc-1-minutes']", "22")
    page.fill("input[name='svc-1-pointers']", "3")
    page.click('#body-diagram [data-region="lumbar"]')  # same region first: the check complains
    expect(page.locator('#preview-panel [data-rule="massage-manual-same-region"]')).to_have_count(1)
    page.click('#body-diagram [data-region="lumbar"]')  # remove it again
    page.click('#body-diagram [data-region="cervical"]')
    page.fill("input[name='svc-1-modifiers']", "59")
    page.locator("input[name='svc-1-modifiers']").dispatch_event("change")
    expect(page.locator("#preview-panel .units-value")).to_have_text(["3", "1"])
    expect(page.locator('#preview-panel [data-rule="massage-manual-same-region"]')).to_have_count(0)
    expect(page.locator("#svc-1-regions-text")).to_have_text("cervical")
    page.screenshot(path=str(shots / "web-visit.png"), full_page=True)
    page.click("#save-visit")
    expect(page).to_have_url(re.compile(r"/visits/\w+$"))
    expect(page.locator(".units-value")).to_have_text(["3", "1"])

    page.click("#create-claim")
    expect(page).to_have_url(re.compile(r"/claims/\w+$"))
    number = re.search(r"Claim (\w+)", page.locator("h1").inner_text()).group(1)
    page.click("#mark-ready")
    expect(page.locator("#claim-status")).to_have_text("Ready")
    page.screenshot(path=str(shots / "web-claim.png"), full_page=True)
    with page.expect_download() as pdf_download:
        page.click("#download-cms1500")
    assert Path(pdf_download.value.path()).read_bytes().startswith(b"%PDF")

    page.goto(server.url + "/claims")
    page.click("#build-batch")
    expect(page).to_have_url(re.compile(r"/batches/\w+$"))
    with page.expect_download() as x12_download:
        page.click("#download-837")
    text = Path(x12_download.value.path()).read_text()
    assert text.startswith("ISA*") and f"CLM*{number}*" in text

    era = make_835(
        number,
        [
            ("97124", 3, "105.00", "84.00", [("CO", "45", "21.00")]),
            ("97140", 1, "40.00", "0.00", [("CO", "97", "40.00")]),
        ],
        trn="EFT-BROWSER-1",
    )
    page.goto(server.url + "/remittances")
    page.set_input_files(
        "#era-file", files=[{"name": "era.835", "mimeType": "text/plain", "buffer": era.encode()}]
    )
    page.click("#upload-835")
    expect(page.locator("#posting-results")).to_contain_text("1 claim posted")
    denials = page.locator("#denials")
    expect(denials).to_contain_text(number)
    expect(denials).to_contain_text("CO-97")
    page.screenshot(path=str(shots / "web-remittances.png"), full_page=True)
    context.close()


def test_therapist_cannot_open_billing(browser, server: Server) -> None:  # type: ignore[no-untyped-def]
    context = browser.new_context()
    page = context.new_page()
    _login(page, server, "therapist")
    assert page.locator("nav a[href='/claims']").count() == 0
    response = page.goto(server.url + "/claims")
    assert response is not None and response.status == 403
    context.close()
