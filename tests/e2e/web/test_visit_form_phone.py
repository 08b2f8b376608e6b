"""The visit form as a therapist uses it: the ICD-10 search answers every time (not only the
first), and on a 390-px phone the live panel is a summary bar that covers none of the form,
announces its changes, and opens on a tap; the body diagram's regions are 24-px targets."""

from __future__ import annotations

from playwright.sync_api import Browser, Page, expect

from tests.e2e.api.world import PASSWORD
from tests.e2e.web.a11y import assert_accessible
from tests.e2e.web.conftest import Server


def _therapist(browser: Browser, server: Server, width: int, height: int) -> Page:
    page = browser.new_context(viewport={"width": width, "height": height}).new_page()
    page.goto(server.url + "/login")
    page.fill("input[name=username]", server.world.a.usernames["therapist"])
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(server.url + "/")
    return page


def test_the_icd10_search_answers_every_search(browser: Browser, server: Server) -> None:
    page = _therapist(browser, server, 1366, 900)
    page.goto(f"{server.url}/patients/{server.world.a.patient_id}/visits/new")
    page.evaluate(
        "() => { window.__targetErrors = 0; document.body.addEventListener('htmx:targetError', () => window.__targetErrors++); }"
    )
    for words, code in (("low back", "M54.50"), ("cervicalgia", "M54.2"), ("myalgia", "M79.1")):
        page.fill("#icd-q", "")
        page.type("#icd-q", words)
        expect(page.locator("#icd-results .icd-pick").first).to_be_visible()
        expect(page.locator(f'#icd-results [data-icd^="{code[:5]}"]').first).to_be_visible()
        assert page.locator("#icd-results").count() == 1  # the target survives the swap
    page.locator('#icd-results [data-icd^="M79.1"]').first.click()
    assert "M79.1" in page.locator("#diagnoses").input_value()
    assert page.evaluate("() => window.__targetErrors") == 0
    page.context.close()


def test_on_a_phone_the_live_panel_is_a_summary_bar_over_nothing(browser: Browser, server: Server) -> None:
    page = _therapist(browser, server, 390, 844)
    page.goto(f"{server.url}/patients/{server.world.a.patient_id}/visits/new")
    live = page.locator("aside.preview.live > details")
    expect(live).not_to_have_attribute("open", "")
    bar = page.locator("aside.preview.live").bounding_box()
    assert bar is not None and bar["height"] < 120  # a bar, not a panel over the services
    page.fill("input[name='svc-0-code']", "97124")
    page.fill("input[name='svc-0-minutes']", "60")
    page.locator("input[name='svc-0-minutes']").dispatch_event("change")
    expect(page.locator("#live-summary-text")).to_contain_text("4 units")
    expect(page.locator("#live-status")).to_contain_text("4 units")  # announced (role=status)
    minutes = page.locator("input[name='svc-0-minutes']")
    minutes.scroll_into_view_if_needed()
    box, bar = minutes.bounding_box(), page.locator("aside.preview.live").bounding_box()
    assert box is not None and bar is not None
    assert box["y"] + box["height"] <= bar["y"] or box["y"] >= bar["y"] + bar["height"]  # not covered
    region = page.locator('#body-diagram [data-region="tmj_left"]')
    region.scroll_into_view_if_needed()
    size = region.bounding_box()
    assert size is not None and size["width"] >= 24 and size["height"] >= 24
    region.click()
    expect(page.locator("#svc-0-regions-text")).to_have_text("tmj_left")
    page.locator("aside.preview.live summary").click()
    expect(live).to_have_attribute("open", "")
    expect(page.locator("#preview-panel .units-value")).to_have_text(["4"])
    assert_accessible(page)
    page.context.close()


def _tab_to(page: Page, selector: str, limit: int = 120) -> None:
    """Press Tab until the focused element matches ``selector`` (keyboard only, no clicks)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("(s) => document.activeElement && document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"Tab never reached {selector}")


def test_a_visit_is_documented_with_the_keyboard_only(browser: Browser, server: Server) -> None:
    page = _therapist(browser, server, 1366, 900)
    page.goto(f"{server.url}/patients/{server.world.a.patient_id}/visits/new")
    _tab_to(page, "a.skip-link")
    page.keyboard.press("Enter")  # skip the menu
    _tab_to(page, "input[name=start_time]")
    page.keyboard.type("1000AM")
    _tab_to(page, "input[name=end_time]")
    page.keyboard.type("1100AM")
    _tab_to(page, "#diagnoses")
    page.keyboard.type("M54.50")
    _tab_to(page, "input[name='svc-0-code']")
    page.keyboard.type("97124")
    page.keyboard.press("Tab")
    page.keyboard.type("60")
    _tab_to(page, "input[name='svc-0-pointers']")
    page.keyboard.type("1")
    _tab_to(page, '#body-diagram [data-region="lumbar"]')
    page.keyboard.press("Space")
    expect(page.locator("#svc-0-regions-text")).to_have_text("lumbar")
    expect(page.locator("#preview-panel .units-value")).to_have_text(["4"])
    _tab_to(page, "textarea[name=subjective]")
    page.keyboard.type("Low back stiffness after desk work.")
    _tab_to(page, "#save-visit")
    page.keyboard.press("Enter")
    expect(page.locator("h1")).to_contain_text("Visit 11/23/2026")
    expect(page.locator(".units-value")).to_have_text(["4"])
    page.context.close()
