"""In a real browser: the front desk checks a client out (the copay the 271 expects, a package),
emails the statement to a real SMTP server on loopback; the owner runs statements and reads
therapist pay. Every money page fits a 390-px phone; screenshots at 1366×900 and 390×844."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect
from pypdf import PdfReader

from tests.conftest import REPO, SmtpServer
from tests.e2e.api.world import AS_OF, DOS, START, World, build_world
from tests.e2e.web.conftest import Server, _free_port, _utcnow
from tests.e2e.web.test_browser_flow import _login
from therabill import clock
from therabill.domain.money import D
from therabill.service_layer import claims as claims_svc
from therabill.service_layer import coverages as coverages_svc
from therabill.service_layer import ledger, ledger_corrections
from therabill.service_layer import patients as patients_svc
from therabill.service_layer import visits as visits_svc
from therabill.service_layer.uow import UnitOfWork

VISIT = {
    "start_time": "10:00",
    "end_time": "11:00",
    "diagnoses": ["M54.50"],
    "services": [{"code": "97124", "minutes": 60, "diagnosis_pointers": [1], "body_regions": ["lumbar"]}],
    "documentation": {"subjective": "Low back stiffness.", "medical_necessity": "Limits sitting."},
}
SIZES = {"desktop": (1366, 900), "phone": (390, 844)}


@dataclass
class MoneyServer:
    server: Server
    smtp: SmtpServer
    patient_id: str


def _client(world: World) -> str:
    """A client with an email, a 271 that expects a $20.00 copay and a billed 60-minute visit."""
    pw, actor = world.a, "test:setup"
    pid = patients_svc.register_patient(
        world.engine,
        pw.practice_id,
        actor,
        chart_number="CO-2001",
        first_name="Rosa",
        last_name="Diaz",
        birth_date=date(1979, 5, 6),
        email="rosa@example.org",
        address={"line1": "12 Pine St", "city": "Springfield", "state": "IL", "zip": "62704"},
        coverages_in=[
            coverages_svc.CoverageInput(
                payer_id=pw.payer_id, member_id="XOJ900100", active_from=date(2026, 1, 1)
            )
        ],
    )
    with UnitOfWork(world.engine, pw.practice_id, actor, read_only=True) as uow:
        coverage = uow.records.coverages_of(pid)[0].id
    coverages_svc.record_eligibility_check(
        world.engine, pw.practice_id, actor, coverage_id=coverage, service_date=DOS, active=True, source="271",
        result={"copay": "20.00", "plan_name": "PPO Choice"},
    )  # fmt: skip
    visit = visits_svc.record_visit(
        world.engine, pw.practice_id, actor, patient_id=pid, provider_id=pw.provider_id, date_of_service=DOS,
        document=VISIT, coverage_id=coverage,
    )  # fmt: skip
    coded = claims_svc.code_visit(world.engine, pw.practice_id, actor, visit, as_of=AS_OF)
    ledger.post_claim_charges(world.engine, pw.practice_id, actor, coded.claim_id)
    with UnitOfWork(world.engine, pw.practice_id, actor, read_only=True) as uow:
        line = uow.records.lines_of(coded.claim_id)[0].id
    ledger_corrections.transfer_balance(
        world.engine, pw.practice_id, actor, item_id=line, to="patient", amount=D("63.00"), key="pr-63"
    )
    return pid


@pytest.fixture(scope="module")
def money_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MoneyServer]:
    folder = tmp_path_factory.mktemp("webmoney")
    world = build_world(folder)
    with clock.using(clock.fixed(datetime(2026, 11, 23, 8, 0, tzinfo=UTC))):  # before the server's day starts
        patient_id = _client(world)
    world.engine.dispose()
    smtp = SmtpServer().start()
    offset = (START - _utcnow()).total_seconds()
    port = _free_port()
    env = {
        **os.environ,
        "THERABILL_DATABASE_URL": f"sqlite:///{folder / 'web.sqlite3'}",
        "THERABILL_TEST_CLOCK_OFFSET": str(offset),
        "THERABILL_SMTP_HOST": smtp.host,
        "THERABILL_SMTP_PORT": str(smtp.port),
        "THERABILL_SMTP_SENDER": "Practice pa <billing@example.org>",
        "PYTHONPATH": os.pathsep.join([str(REPO / "src"), str(REPO)]),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "tests.e2e.web.server:make_app", "--factory", "--host", "127.0.0.1",
         "--port", str(port), "--log-level", "warning"],
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
        yield MoneyServer(Server(url, world, offset), smtp, patient_id)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        smtp.stop()


def _fits_a_phone(page: Page) -> None:
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 390, f"{page.url} is {width}px wide on a 390-px phone"
    small = page.evaluate(
        """() => [...document.querySelectorAll('main button, main a.button, main input[type=radio], main select')]
             .filter(e => e.offsetParent !== null)
             .filter(e => { const r = e.getBoundingClientRect(); return r.height < 24 && r.width < 24; })
             .map(e => e.outerHTML.slice(0, 80))"""
    )
    assert not small, f"tap targets under 24 px: {small}"


def _shots(browser, login_as: str, server: Server, shots: Path, pages: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    """Log in once, then each page at both sizes (a phone must not scroll sideways)."""
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    page = context.new_page()
    _login(page, server, login_as)
    for name, url in pages.items():
        for size, (w, h) in SIZES.items():
            page.set_viewport_size({"width": w, "height": h})
            page.goto(server.url + url)
            page.wait_for_load_state("networkidle")
            if size == "phone":
                _fits_a_phone(page)
            page.screenshot(path=str(shots / f"money-{name}-{w}x{h}.png"), full_page=True)
    context.close()


def test_front_desk_takes_the_copay_sells_a_package_and_emails_the_statement(  # type: ignore[no-untyped-def]
    browser, money_server: MoneyServer, shots: Path
) -> None:
    server, pid = money_server.server, money_server.patient_id
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    page = context.new_page()
    _login(page, server, "front_desk")
    page.goto(f"{server.url}/patients/{pid}")
    summary = page.locator("#money-summary")
    expect(summary).to_contain_text("$63.00")
    page.click("#open-checkout")
    expect(page).to_have_url(re.compile(r"/patients/\w+/checkout$"))
    expect(page.locator("#expected-copay")).to_have_text("$20.00")
    expect(page.locator("#pay-amount")).to_have_value("20.00")
    page.screenshot(path=str(shots / "money-checkout-flow.png"), full_page=True)
    page.check("input[name=method][value=card]")
    page.click("#pay-submit")
    expect(page).to_have_url(re.compile(r"/payments/"))
    expect(page.locator("#payment-amount")).to_have_text("$20.00")
    receipt = page.request.get(page.url + "/receipt")
    assert receipt.ok and receipt.body().startswith(b"%PDF")
    page.goto(f"{server.url}/patients/{pid}/money")
    assert page.locator("#ledger tr", has_text="Payment ·").count() == 1
    expect(page.locator("#amount-due")).to_have_text("$43.00")

    page.goto(f"{server.url}/patients/{pid}/checkout")
    page.fill("#prepaid-code", "PKG-ROSA-5")
    page.fill("#prepaid-description", "5 × 60-minute massage")
    page.fill("#prepaid-price", "400.00")
    page.fill("#prepaid-sessions", "5")
    page.click("#prepaid-submit")
    expect(page).to_have_url(re.compile(r"/money\?done="))
    expect(page.locator("#instruments")).to_contain_text("PKG-ROSA-5")
    expect(page.locator("#instruments")).to_contain_text("5 of 5")

    before = len(money_server.smtp.messages)
    page.click("#statement-email")
    expect(page.locator("#money-message")).to_contain_text("Statement emailed")
    expect(page.locator("#documents")).to_contain_text("rosa@example.org")
    deadline = time.time() + 10
    while len(money_server.smtp.messages) == before and time.time() < deadline:
        time.sleep(0.1)
    message = money_server.smtp.messages[-1]
    assert message["To"] == "rosa@example.org" and message["Subject"] == "Your statement from Practice pa"
    pdf = next(message.iter_attachments()).get_content()
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == 1 and "$43.00" in reader.pages[0].extract_text()
    context.close()


def test_money_pages_fit_a_phone_with_screenshots(browser, money_server: MoneyServer, shots: Path) -> None:  # type: ignore[no-untyped-def]
    server, pid = money_server.server, money_server.patient_id
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    page = context.new_page()
    _login(page, server, "front_desk")
    page.goto(f"{server.url}/patients/{pid}/money")
    page.fill("#pay-amount", "5.00")
    page.check("input[name=method][value=cash]")
    page.click("#pay-submit")
    expect(page).to_have_url(re.compile(r"/payments/"))
    payment_url = page.url.removeprefix(server.url)
    context.close()
    front_desk = {
        "checkout": f"/patients/{pid}/checkout",
        "account": f"/patients/{pid}/money",
        "patient": f"/patients/{pid}",
        "payment": payment_url,
    }
    _shots(browser, "front_desk", server, shots, front_desk)
    owner = {"statements": "/statements", "therapist-pay": "/therapist-pay?start=2026-11-01&end=2026-11-30"}
    _shots(browser, "owner", server, shots, owner)
