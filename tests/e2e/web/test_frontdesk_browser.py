"""From an empty data folder, in a real browser: ``therabill init``, the owner's first log-in
with two-step enrolment, a provider with a licence, payers from the directory, an enrollment,
a front-desk user; the front desk registers a client with her own plan, her spouse's plan as
secondary and an authorization. Every new page is photographed at 1366×900 and 390×844 and
must not scroll sideways on the phone."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import REPO
from tests.e2e.api.world import START
from tests.e2e.web.conftest import CHROMIUM, _free_port
from therabill.security import totp

PASSWORD = "calm hands owner passphrase"
DESK = (1366, 900)
PHONE = (390, 844)


class Started:
    def __init__(self, url: str, offset: float) -> None:
        self.url = url
        self.offset = offset

    def now(self) -> datetime:
        return datetime.now(UTC).replace(tzinfo=None) + timedelta(seconds=self.offset)


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Started]:
    if not Path(CHROMIUM).exists():
        pytest.skip("chromium is not installed")
    folder = tmp_path_factory.mktemp("fresh-practice")
    env = {k: v for k, v in os.environ.items() if k != "THERABILL_DATABASE_URL"}
    env |= {"THERABILL_DATA_DIR": str(folder), "PYTHONPATH": os.pathsep.join([str(REPO / "src"), str(REPO)])}
    init = subprocess.run(
        [sys.executable, "-m", "therabill.entrypoints.cli.main", "init", "--name", "Calm Hands Massage",
         "--owner", "maria", "--owner-name", "Maria Gomez", "--password-stdin", "--no-input"],
        input=PASSWORD + "\n", capture_output=True, text=True, cwd=REPO, env=env, timeout=120,
    )  # fmt: skip
    assert init.returncode == 0, init.stderr
    assert "two-step log-in at the first log-in" in init.stdout
    offset = (START - datetime.now(UTC).replace(tzinfo=None)).total_seconds()
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "tests.e2e.web.server:make_app", "--factory", "--host", "127.0.0.1",
         "--port", str(port), "--log-level", "warning"],
        cwd=REPO, env={**env, "THERABILL_TEST_CLOCK_OFFSET": str(offset)},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
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
        yield Started(url, offset)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def _both(page, shots: Path, name: str) -> None:  # type: ignore[no-untyped-def]
    """Photograph the page at desk and phone size; on the phone nothing scrolls sideways."""
    page.set_viewport_size({"width": DESK[0], "height": DESK[1]})
    page.screenshot(path=str(shots / f"{name}.png"), full_page=True)
    page.set_viewport_size({"width": PHONE[0], "height": PHONE[1]})
    wide = page.evaluate("document.documentElement.scrollWidth")
    assert wide <= PHONE[0], f"{name}: {wide} px wide on a {PHONE[0]} px phone"
    small = page.evaluate(
        """[...document.querySelectorAll('main button, main input:not([type=hidden]), main select, main summary')]
           .filter(e => e.offsetParent !== null && e.getBoundingClientRect().height < 24).length"""
    )
    assert small == 0, f"{name}: {small} tap targets under 24 px"
    page.screenshot(path=str(shots / f"{name}-phone.png"), full_page=True)
    page.set_viewport_size({"width": DESK[0], "height": DESK[1]})


def test_a_new_practice_sets_up_and_registers_a_client(
    fresh: Started, shots: Path, chromium_browser: Any
) -> None:
    from playwright.sync_api import expect

    browser = chromium_browser
    page = browser.new_context(viewport={"width": DESK[0], "height": DESK[1]}).new_page()
    # The owner's first log-in: two-step enrolment first.
    page.goto(fresh.url + "/login")
    page.fill("input[name=username]", "maria")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(re.compile(r"/mfa/enroll$"))
    secret = page.locator("#totp-secret").inner_text()
    page.fill("input[name=code]", totp.code_at(secret, fresh.now()))
    page.click("button[type=submit]")
    expect(page).to_have_url(fresh.url + "/")

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
    _both(page, shots, "web-settings-payer-directory")

    # The provider's enrollment with Aetna.
    page.goto(fresh.url + "/settings/providers")
    page.select_option("#enroll-payer", label="Aetna")
    page.fill("#enrollments input[name=effective_from]", "2026-01-01")
    page.click("text=Save enrollment")
    expect(page.locator("#enrollments table")).to_contain_text("Aetna")
    _both(page, shots, "web-settings-enrollments")

    # A front-desk user.
    page.goto(fresh.url + "/settings/users")
    page.fill("input[name=username]", "frank")
    page.fill("input[name=display_name]", "Frank Desk")
    page.select_option("form[action='/settings/users'] select[name=role]", "front_desk")
    page.click("text=Create user")
    desk_password = page.locator("#new-password").inner_text()
    browser.contexts[0].close()

    # The front desk registers a client.
    page = browser.new_context(viewport={"width": DESK[0], "height": DESK[1]}).new_page()
    page.goto(fresh.url + "/login")
    page.fill("input[name=username]", "frank")
    page.fill("input[name=password]", desk_password)
    page.click("button[type=submit]")
    expect(page).to_have_url(fresh.url + "/")
    page.goto(fresh.url + "/patients")
    page.click("#new-client")
    for field, value in (("first_name", "Rosa"), ("last_name", "Rivera"), ("birth_date", "1981-06-30"),
                         ("phone", "2175550142"), ("line1", "12 Oak Ave"), ("city", "Springfield"),
                         ("state", "IL"), ("zip", "62704")):  # fmt: skip
        page.fill(f"input[name={field}]", value)
    page.select_option("select[name=sex]", "F")
    _both(page, shots, "web-frontdesk-new-client")
    page.click("text=Register client")
    expect(page).to_have_url(re.compile(r"/patients/[0-9a-f]{32}/desk$"))
    expect(page.locator("h1")).to_contain_text("Rosa Rivera")

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
    _both(page, shots, "web-frontdesk-client")
