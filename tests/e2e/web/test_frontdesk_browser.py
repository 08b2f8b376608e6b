"""A new practice's first day, in a real browser, from an empty data folder.

``therabill init`` makes the practice and its owner; the owner logs in and enrols two-step
log-in, sets the practice's address and fee, adds a provider with a licence, payers from the
directory, an enrollment and the staff. The front desk registers a client with her own plan,
her spouse's plan as secondary, an authorization and the doctor's prescription (a PDF), and
reads the payer's 271. The therapist documents a 60-minute visit; the biller (enrolling
two-step log-in too) claims it; the front desk takes the copay the 271 expects, sells a
package and emails the statement to a real SMTP server on loopback, and the test reads that
mail. At the end of the day ``therabill backup`` writes the database with the prescription's
document. Every new page is photographed at 1366×900 and 390×844 (``THERABILL_SCREENSHOTS``)
and must fit a phone without scrolling sideways."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect
from pypdf import PdfReader

from tests.conftest import REPO, SmtpServer, require
from tests.e2e.api.world import START
from tests.e2e.web.conftest import CHROMIUM, _free_port
from therabill.security import totp

PASSWORD = "calm hands owner passphrase"
DESK = (1366, 900)
PHONE = (390, 844)
CLIENT_EMAIL = "rosa.rivera@example.org"
ORDER_PDF = b"%PDF-1.4\n% massage therapy 2x/week for 4 weeks, lumbar spasm. Dana Reed, MD\n%%EOF\n"


@dataclass
class Started:
    url: str
    offset: float
    smtp: SmtpServer
    env: dict[str, str]

    def now(self) -> datetime:
        return datetime.now(UTC).replace(tzinfo=None) + timedelta(seconds=self.offset)


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Started]:
    """``therabill init`` in an empty data folder, then the app served on loopback with a
    local SMTP server for its mail."""
    require("chromium", Path(CHROMIUM).exists(), "apt-get install chromium")  # CI: fails, never skips
    folder = tmp_path_factory.mktemp("fresh-practice")
    env = {k: v for k, v in os.environ.items() if not k.startswith("THERABILL_")}
    env |= {"THERABILL_DATA_DIR": str(folder), "PYTHONPATH": os.pathsep.join([str(REPO / "src"), str(REPO)])}
    init = subprocess.run(
        [sys.executable, "-m", "therabill.entrypoints.cli.main", "init", "--name", "Calm Hands Massage",
         "--owner", "maria", "--owner-name", "Maria Gomez", "--password-stdin", "--no-input",
         "--npi", "1245319599", "--tax-id", "371234567", "--taxonomy", "225700000X", "--phone", "2175550100"],
        input=PASSWORD + "\n", capture_output=True, text=True, cwd=REPO, env=env, timeout=120,
    )  # fmt: skip
    assert init.returncode == 0, init.stderr
    assert "two-step log-in at the first log-in" in init.stdout
    smtp = SmtpServer().start()
    offset = (START - datetime.now(UTC).replace(tzinfo=None)).total_seconds()
    port = _free_port()
    served = env | {
        "THERABILL_TEST_CLOCK_OFFSET": str(offset),
        "THERABILL_SMTP_HOST": smtp.host,
        "THERABILL_SMTP_PORT": str(smtp.port),
        "THERABILL_SMTP_SENDER": "Calm Hands Massage <billing@example.org>",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "tests.e2e.web.server:make_app", "--factory", "--host", "127.0.0.1",
         "--port", str(port), "--log-level", "warning"],
        cwd=REPO, env=served, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        else:
            raise RuntimeError("the server did not start")
        yield Started(url, offset, smtp, env)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        smtp.stop()


def _both(page: Page, shots: Path, desk: str, phone: str) -> None:
    """Photograph the page at desk and phone size; on the phone nothing scrolls sideways and
    no control is smaller than 24 px."""
    page.set_viewport_size({"width": DESK[0], "height": DESK[1]})
    page.screenshot(path=str(shots / desk), full_page=True)
    page.set_viewport_size({"width": PHONE[0], "height": PHONE[1]})
    wide = page.evaluate("document.documentElement.scrollWidth")
    assert wide <= PHONE[0], f"{page.url}: {wide} px wide on a {PHONE[0]} px phone"
    small = page.evaluate(
        """[...document.querySelectorAll('main button, main a.button, main input:not([type=hidden]), main select, main summary')]
           .filter(e => e.offsetParent !== null)
           .filter(e => { const r = e.getBoundingClientRect(); return r.height < 24 && r.width < 24 || r.height < 24 && e.tagName !== 'INPUT'; })
           .map(e => e.outerHTML.slice(0, 80))"""
    )
    assert not small, f"{page.url}: tap targets under 24 px: {small}"
    page.screenshot(path=str(shots / phone), full_page=True)
    page.set_viewport_size({"width": DESK[0], "height": DESK[1]})


def _money_shots(page: Page, shots: Path, url: str, name: str) -> None:
    page.goto(url)
    page.wait_for_load_state("networkidle")
    _both(page, shots, f"money-{name}-1366x900.png", f"money-{name}-390x844.png")


def _log_in(browser: Any, fresh: Started, username: str, password: str, *, downloads: bool = False) -> Page:
    size = {"width": DESK[0], "height": DESK[1]}
    page: Page = browser.new_context(viewport=size, accept_downloads=downloads).new_page()
    page.goto(fresh.url + "/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    return page


def _enrol(page: Page, fresh: Started) -> None:
    """The first log-in of an owner or biller: two-step enrolment with an authenticator app."""
    expect(page).to_have_url(re.compile(r"/mfa/enroll$"))
    secret = page.locator("#totp-secret").inner_text()
    page.fill("input[name=code]", totp.code_at(secret, fresh.now()))
    page.click("button[type=submit]")
    expect(page).to_have_url(fresh.url + "/")


def _answer_271() -> bytes:
    """The payer's 271: Rosa's Aetna plan is active, a $20.00 copay for a visit."""
    segments = [
        "ST*271*0001*005010X279A1", "BHT*0022*11*T1*20261123*0900", "HL*1**20*1",
        "NM1*PR*2*AETNA*****PI*60054", "HL*2*1*21*1", "NM1*1P*2*CALM HANDS MASSAGE*****XX*1245319599",
        "HL*3*2*22*0", "TRN*2*T1*9877281234", "NM1*IL*1*RIVERA*ROSA****MI*W123456789",
        "DMG*D8*19810630*F", "EB*1**30**PPO CHOICE", "EB*B**30****20",
    ]  # fmt: skip
    segments.append(f"SE*{len(segments) + 1}*0001")
    head = (
        "ISA*00*          *00*          *ZZ*AETNA          *ZZ*CALMHANDS      *261123*0900*^*00501*"
        "000000001*0*T*:~GS*HB*AETNA*CALMHANDS*20261123*0900*1*X*005010X279A1~"
    )
    return (head + "~".join(segments) + "~GE*1*1~IEA*1*000000001~").encode()


def test_a_new_practice_runs_its_first_day(fresh: Started, shots: Path, chromium_browser: Any) -> None:
    browser = chromium_browser

    # --- The owner's first log-in: two-step enrolment first. ---
    owner = page = _log_in(browser, fresh, "maria", PASSWORD)
    _enrol(page, fresh)

    # The practice's address and its fee for massage.
    page.goto(fresh.url + "/settings")
    for field, value in (
        ("line1", "200 Main St"),
        ("city", "Springfield"),
        ("state", "IL"),
        ("zip", "627011234"),
    ):
        page.fill(f"form[action='/settings/practice'] input[name={field}]", value)
    page.click("form[action='/settings/practice'] button[type=submit]")
    expect(page.locator("form[action='/settings/practice'] input[name=city]")).to_have_value("Springfield")
    page.goto(fresh.url + "/settings/fees")
    page.fill("input[name='fee-97124']", "30.00")
    page.click("form[action='/settings/fees'] button[type=submit]")
    expect(page.locator("input[name='fee-97124']")).to_have_value(re.compile(r"^30(\.00)?$"))
    _both(page, shots, "web-settings-fees.png", "web-settings-fees-phone.png")

    # A provider with a licence; signature on file.
    page.goto(fresh.url + "/settings/providers")
    page.fill("input[name=first_name]", "Ana")
    page.fill("input[name=last_name]", "Lopez")
    page.fill("input[name=npi]", "1245319599")
    page.fill("input[name=taxonomy]", "225700000X")
    page.fill("input[name=credential]", "LMT")
    page.fill("input[name='lic-0-state']", "IL")
    page.fill("input[name='lic-0-number']", "227.012345")
    page.fill("input[name='lic-0-expires']", "2027-12-31")
    page.click("text=Add provider")
    expect(page.locator("table").first).to_contain_text("Ana Lopez")

    # Payers from the directory.
    for query, name in (("aetna", "Aetna"), ("illinois", "Blue Cross Blue Shield of Illinois")):
        page.goto(fresh.url + "/settings/payers?find=" + query)
        page.locator("#directory tr", has_text=name).first.locator("button").click()
        expect(page.locator("section.card").first).to_contain_text(name)
    page.goto(fresh.url + "/settings/payers?find=blue")
    _both(page, shots, "web-settings-payer-directory.png", "web-settings-payer-directory-phone.png")

    # The provider's enrollment with Aetna.
    page.goto(fresh.url + "/settings/providers")
    page.select_option("#enroll-payer", label="Aetna")
    page.fill("#enrollments input[name=effective_from]", "2026-01-01")
    page.click("text=Save enrollment")
    expect(page.locator("#enrollments table")).to_contain_text("Aetna")
    _both(page, shots, "web-settings-enrollments.png", "web-settings-enrollments-phone.png")

    # The staff: a front desk, the therapist (Ana's notes) and a biller; first passwords shown once.
    passwords: dict[str, str] = {}
    for username, display, role in (("frank", "Frank Desk", "front_desk"), ("ana", "Ana Lopez", "therapist"),
                                    ("bea", "Bea Biller", "biller")):  # fmt: skip
        page.goto(fresh.url + "/settings/users")
        page.fill("form[action='/settings/users'] input[name=username]", username)
        page.fill("form[action='/settings/users'] input[name=display_name]", display)
        page.select_option("form[action='/settings/users'] select[name=role]", role)
        if role == "therapist":
            page.select_option("form[action='/settings/users'] select[name=provider_id]", label="Ana Lopez")
        page.click("text=Create user")
        passwords[username] = page.locator("#new-password").inner_text()
    _both(page, shots, "web-settings-users.png", "web-settings-users-phone.png")

    # --- The front desk registers the client. ---
    page = _log_in(browser, fresh, "frank", passwords["frank"])
    expect(page).to_have_url(fresh.url + "/")
    page.goto(fresh.url + "/patients")
    page.click("#new-client")
    for field, value in (("first_name", "Rosa"), ("last_name", "Rivera"), ("birth_date", "1981-06-30"),
                         ("phone", "2175550142"), ("email", CLIENT_EMAIL), ("line1", "12 Oak Ave"),
                         ("city", "Springfield"), ("state", "IL"), ("zip", "62704")):  # fmt: skip
        page.fill(f"input[name={field}]", value)
    page.select_option("select[name=sex]", "F")
    _both(page, shots, "web-frontdesk-new-client.png", "web-frontdesk-new-client-phone.png")
    page.click("text=Register client")
    expect(page).to_have_url(re.compile(r"/patients/[0-9a-f]{32}/desk$"))
    expect(page.locator("h1")).to_contain_text("Rosa Rivera")
    patient_url = page.url.removesuffix("/desk")

    page.click("#add-coverage summary")
    page.select_option("select[name=payer_id]", label="Aetna (60054)")
    page.fill("#add-coverage input[name=member_id]", "W123456789")
    page.fill("#add-coverage input[name=active_from]", "2026-01-01")
    page.click("text=Save coverage")
    expect(page.locator("#coverages")).to_contain_text("Primary · Aetna")

    page.click("#add-coverage summary")
    page.select_option("select[name=payer_id]", label="Blue Cross Blue Shield of Illinois (00621)")
    page.select_option("#add-coverage select[name=sequence]", "secondary")
    page.fill("#add-coverage input[name=member_id]", "XOJ998877")
    page.select_option("#relationship", "spouse")
    page.fill("input[name=sub_first_name]", "Mark")
    page.fill("input[name=sub_last_name]", "Rivera")
    page.fill("input[name=sub_birth_date]", "1978-02-14")
    page.select_option("select[name=sub_sex]", "M")
    page.click("text=Save coverage")
    expect(page.locator("#coverages")).to_contain_text("Insured: Mark Rivera (spouse)")

    first = page.locator("#coverages .coverage").first
    first.locator("summary", has_text="Add an authorization").click()
    first.locator("input[name=number]").fill("PA-2026-118")
    first.locator("input[name=codes]").fill("97124 97140")
    first.locator("input[name=start_date]").fill("2026-11-01")
    first.locator("input[name=end_date]").fill("2027-01-31")
    first.locator("input[name=visits_allowed]").fill("8")
    first.locator("text=Add authorization").last.click()
    expect(page.locator("#coverages")).to_contain_text("Authorization PA-2026-118")
    expect(page.locator("#coverages")).to_contain_text("8 of 8 left")
    expect(page.locator("#history")).to_contain_text("authorization add")

    # The doctor's prescription, with the signed order scanned to PDF.
    referral = page.locator("#referrals")
    referral.locator("summary", has_text="Add a referral or prescription").click()
    referral.locator("select[name=kind]").select_option("prescription")
    referral.locator("input[name=number]").fill("RX-5521")
    referral.locator("input[name=prescriber_name]").fill("Dana Reed, MD")
    referral.locator("input[name=issued_on]").fill("2026-11-02")
    referral.locator("input[name=expires_on]").fill("2027-02-01")
    referral.locator("input[name=document]").set_input_files(
        files={"name": "order.pdf", "mimeType": "application/pdf", "buffer": ORDER_PDF}
    )
    referral.locator("button[type=submit]", has_text="Save").click()
    expect(page.locator("#referrals")).to_contain_text("RX-5521")
    link = page.locator("#referrals a", has_text="order.pdf")
    document = page.request.get(fresh.url + str(link.get_attribute("href")))
    assert document.ok and document.body() == ORDER_PDF
    _both(page, shots, "web-frontdesk-client.png", "web-frontdesk-client-phone.png")

    # The payer's 271 for the primary plan: the copay to collect.
    page.goto(patient_url + "/eligibility")
    page.locator("input[type=file]").first.set_input_files(
        files={"name": "answer.271", "mimeType": "application/edi-x12", "buffer": _answer_271()}
    )
    page.locator("button", has_text="Read the 271").first.click()
    expect(page).to_have_url(patient_url + "/eligibility")
    expect(page.locator("main")).to_contain_text("PPO CHOICE")
    _both(page, shots, "web-frontdesk-eligibility.png", "web-frontdesk-eligibility-phone.png")
    page.context.close()

    # --- The therapist documents a 60-minute visit. ---
    page = _log_in(browser, fresh, "ana", passwords["ana"])
    expect(page).to_have_url(fresh.url + "/")
    page.goto(patient_url + "/visits/new")
    page.fill("input[name=date_of_service]", "2026-11-20")
    page.fill("input[name=start_time]", "10:00")
    page.fill("input[name=end_time]", "11:00")
    page.fill("#diagnoses", "M54.50")
    page.fill("textarea[name=subjective]", "Low back stiffness after desk work; pain 6/10.")
    page.fill("textarea[name=medical_necessity]", "Spasm limits sitting tolerance to 20 minutes.")
    page.fill("input[name='svc-0-code']", "97124")
    page.fill("input[name='svc-0-minutes']", "60")
    page.fill("input[name='svc-0-pointers']", "1")
    page.click('#body-diagram [data-region="lumbar"]')
    expect(page.locator("#preview-panel .units-value")).to_have_text(["4"])
    page.click("#save-visit")
    expect(page).to_have_url(re.compile(r"/visits/\w+$"))
    visit_url = page.url
    page.context.close()

    # --- The biller (two-step enrolment at the first log-in) claims it. ---
    page = _log_in(browser, fresh, "bea", passwords["bea"], downloads=True)
    _enrol(page, fresh)
    page.goto(visit_url)
    page.click("#create-claim")
    expect(page).to_have_url(re.compile(r"/claims/\w+$"))
    page.click("#mark-ready")
    expect(page.locator("#claim-status")).to_have_text("Ready")
    expect(page.locator("main")).to_contain_text("$120.00")
    number = re.search(r"Claim (\w+)", page.locator("h1").inner_text()).group(1)  # type: ignore[union-attr]
    page.goto(fresh.url + "/claims")
    page.click("#build-batch")
    expect(page).to_have_url(re.compile(r"/batches/\w+$"))
    with page.expect_download() as x12_download:
        page.click("#download-837")
    x12 = Path(x12_download.value.path()).read_text()
    # Rosa's claim: 4 units of massage under the authorization, the provider's signature on file
    # and assignment accepted (the practice's settings), Mark's plan as the other insurance.
    assert f"CLM*{number}*120***11:B:1*Y*A*" in x12 and "REF*G1*PA-2026-118~" in x12
    assert "SV1*HC:97124*120*UN*4***1~" in x12 and "NM1*IL*1*Rivera*Rosa****MI*W123456789~" in x12
    assert "SBR*S*01*******BL~" in x12 and "NM1*IL*1*Rivera*Mark****MI*XOJ998877~" in x12
    page.context.close()

    # --- Check-out: the copay the 271 expects, a package, the statement by email. ---
    page = _log_in(browser, fresh, "frank", passwords["frank"])
    expect(page).to_have_url(fresh.url + "/")
    page.goto(patient_url + "/desk")
    expect(page.locator("#coverages")).to_contain_text("7 of 8 left")  # the visit used one
    page.goto(patient_url)
    page.click("#open-checkout")
    expect(page).to_have_url(patient_url + "/checkout")
    expect(page.locator("#expected-copay")).to_have_text("$20.00")
    expect(page.locator("#pay-amount")).to_have_value("20.00")
    _both(page, shots, "money-checkout-1366x900.png", "money-checkout-390x844.png")
    page.check("input[name=method][value=card]")
    page.click("#pay-submit")
    expect(page).to_have_url(re.compile(r"/payments/"))
    expect(page.locator("#payment-amount")).to_have_text("$20.00")
    payment_url = page.url
    receipt = page.request.get(payment_url + "/receipt")
    assert receipt.ok and receipt.body().startswith(b"%PDF")

    page.goto(patient_url + "/checkout")
    page.fill("#prepaid-code", "PKG-ROSA-5")
    page.fill("#prepaid-description", "5 × 60-minute massage")
    page.fill("#prepaid-price", "400.00")
    page.fill("#prepaid-sessions", "5")
    page.click("#prepaid-submit")
    expect(page).to_have_url(re.compile(r"/money\?done="))
    expect(page.locator("#instruments")).to_contain_text("PKG-ROSA-5")
    expect(page.locator("#instruments")).to_contain_text("5 of 5")
    assert page.locator("#ledger tr", has_text="Payment ·").count() == 1

    before = len(fresh.smtp.messages)
    page.click("#statement-email")
    expect(page.locator("#money-message")).to_contain_text("Statement emailed")
    expect(page.locator("#documents")).to_contain_text(CLIENT_EMAIL)
    deadline = time.monotonic() + 10
    while len(fresh.smtp.messages) == before and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(fresh.smtp.messages) == before + 1
    message = fresh.smtp.messages[-1]
    assert message["To"] == CLIENT_EMAIL
    assert message["Subject"] == "Your statement from Calm Hands Massage"  # no PHI in the subject
    pdf = next(message.iter_attachments()).get_content()
    reader = PdfReader(io.BytesIO(pdf))
    text = reader.pages[0].extract_text()
    assert len(reader.pages) == 1 and "Rosa Rivera" in text and "11/20/2026" in text

    for name, url in (
        ("account", patient_url + "/money"),
        ("patient", patient_url),
        ("payment", payment_url),
    ):
        _money_shots(page, shots, url, name)
    page.context.close()

    # The owner's statement run and therapist pay (still logged in since the morning).
    _money_shots(owner, shots, fresh.url + "/statements", "statements")
    _money_shots(owner, shots, fresh.url + "/therapist-pay?start=2026-11-01&end=2026-11-30", "therapist-pay")
    expect(owner.locator("main")).to_contain_text("Ana Lopez")
    owner.context.close()

    # The end of the day: one backup file with the database and the prescription's document.
    target = Path(fresh.env["THERABILL_DATA_DIR"]).parent / "end-of-day.tbk"
    backup = subprocess.run(
        [sys.executable, "-m", "therabill.entrypoints.cli.main", "backup", str(target), "--json"],
        capture_output=True, text=True, cwd=REPO, env=fresh.env, timeout=120,
    )  # fmt: skip
    assert backup.returncode == 0, backup.stderr
    assert json.loads(backup.stdout)["documents"] == 1
