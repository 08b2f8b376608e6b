"""In a real browser: the owner adds a user and sets a fee; the new owner enrolls MFA from the
QR code page; a biller reaches payers and profiles but not users."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.e2e.api.world import PASSWORD
from tests.e2e.web.conftest import Server
from tests.e2e.web.test_browser_flow import enter_code
from therabill.security import totp


def _login_b(page: Page, server: Server, role: str) -> None:
    pw = server.world.b
    page.goto(server.url + "/login")
    page.fill("input[name=username]", pw.usernames[role])
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    if role in pw.secrets:
        expect(page).to_have_url(re.compile(r"/login/mfa$"))
        enter_code(page, server, pw.secrets[role])
    expect(page).to_have_url(server.url + "/")


def test_owner_manages_users_and_fees(browser, server: Server, shots: Path) -> None:  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    _login_b(page, server, "owner")
    page.click("nav a[href='/settings']")
    expect(page.locator("h2")).to_contain_text("Practice")
    page.click("nav.tabs >> text=Fee schedule")
    page.fill("input[name='fee-97124']", "36.00")
    page.click("text=Save fees")
    expect(page.locator("p.notice")).to_have_text("Fee schedule saved.")
    expect(page.locator("input[name='fee-97124']")).to_have_value("36.00")
    page.fill("input[name='fee-97124']", "35.00")  # as the world was built
    page.click("text=Save fees")

    page.click("nav.tabs >> text=Users and roles")
    page.fill("input[name=username]", "second-owner-pb")
    page.fill("input[name=display_name]", "Second Owner")
    page.select_option("form[action='/settings/users'] select[name=role]", "owner")
    page.click("text=Create user")
    first_password = page.locator("#new-password").inner_text()
    expect(page.locator("#user-second-owner-pb")).to_contain_text("owner")
    page.screenshot(path=str(shots / "web-settings.png"), full_page=True)

    # The new owner logs in with the first password and must enroll MFA: a QR code and the key.
    other = browser.new_context(viewport={"width": 1000, "height": 800})
    newcomer = other.new_page()
    newcomer.goto(server.url + "/login")
    newcomer.fill("input[name=username]", "second-owner-pb")
    newcomer.fill("input[name=password]", first_password)
    newcomer.click("button[type=submit]")
    expect(newcomer).to_have_url(re.compile(r"/mfa/enroll$"))
    expect(newcomer.locator("#totp-qr svg")).to_be_visible()
    newcomer.screenshot(path=str(shots / "web-mfa-enroll.png"))
    secret = newcomer.locator("#totp-secret").inner_text()
    newcomer.fill("input[name=code]", totp.code_at(secret, server.now()))
    newcomer.click("button[type=submit]")
    expect(newcomer).to_have_url(server.url + "/")
    other.close()

    page.reload()
    expect(page.locator("#user-second-owner-pb")).to_contain_text("on")  # two-step now on
    context.close()


def test_biller_sees_payers_but_not_users(browser, server: Server) -> None:  # type: ignore[no-untyped-def]
    context = browser.new_context()
    page = context.new_page()
    _login_b(page, server, "biller")
    page.click("nav a[href='/settings/payers']")
    expect(page.locator("#profiles")).to_contain_text("unit_method")
    assert page.locator("nav.tabs a[href='/settings/users']").count() == 0
    response = page.goto(server.url + "/settings/users")
    assert response is not None and response.status == 403
    context.close()
