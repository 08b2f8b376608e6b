"""Every page of the route table, as every role, on a 390 × 844 phone and a 1366 × 900 screen:
no serious or critical axe-core violation (WCAG 2.2 A/AA rules), no horizontal scrolling,
every tap target at least 24 px (``tests/e2e/web/a11y.py``), and no internal id (32 hex digits)
shown as text: people see names.

The list of pages is generated from the app's routes (every GET route that answers HTML, as
the authorization matrix does), so a new page is checked the day it is added. Each role sees
the pages its permissions open; the log-in pages are checked without a session.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from fastapi.responses import HTMLResponse
from playwright.sync_api import Browser, Page, expect

from tests.conftest import EXAMPLES
from tests.e2e.api.test_authorization_matrix import VISIT_DOC, _objects
from tests.e2e.api.world import PASSWORD, ROLES, make_835
from tests.e2e.web.a11y import FAILING, problems, visible_ids
from tests.e2e.web.conftest import Server, serve
from tests.e2e.web.test_browser_flow import enter_code
from therabill.domain.ledger import PaymentMethod
from therabill.entrypoints.app import create_app
from therabill.entrypoints.http.deps import PUBLIC, _api_routes, route_permissions
from therabill.entrypoints.http.settings import Settings
from therabill.reports import REPORTS
from therabill.security.permissions import Permission, allowed
from therabill.service_layer import (
    appointments,
    ledger,
    portal,
    remittance_work,
    remittances,
    statement_emails,
    visits,
)

SIZES = ((390, 844), (1366, 900))
EXAMPLE_NOTE = json.loads((EXAMPLES / "massage-and-manual-therapy-two-regions.json").read_text())[
    "documentation"
]
SETUP = "test:setup"


def html_pages() -> dict[str, str]:
    """Every GET route answering HTML, outside the API: path → its permission marker."""
    app = create_app(Settings())
    marks = route_permissions(app)
    pages = {}
    for route in _api_routes(app.routes):
        if "GET" not in (route.methods or ()) or route.path.startswith("/api/"):
            continue
        if getattr(route.response_class, "__name__", "") != HTMLResponse.__name__:
            continue  # files: 837P, CMS-1500, CSV exports
        pages[route.path] = marks[("GET", route.path)][0]
    return pages


PAGES = html_pages()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, dict[str, str]]]:
    """A server of its own (its data is not the other browser tests'), with a claim in a batch,
    an authorization, a posted 835 (a partial payment with a denial) and one that matches none
    of the claims, and an appointment."""
    with serve(tmp_path_factory.mktemp("a11y")) as server:
        world = server.world
        pw = world.a
        ids = _objects(world, "a").ids
        engine, pid = world.engine, pw.practice_id
        with engine.connect() as conn:
            number = conn.exec_driver_sql(
                "SELECT claim_number FROM claims WHERE id = ?", (ids["claim_id"],)
            ).scalar()
        denial = make_835(
            str(number),
            [
                ("97124", 3, "105.00", "70.00", [("CO", "45", "10.00"), ("CO", "97", "25.00")]),
                ("97140", 1, "40.00", "0.00", [("CO", "97", "40.00")]),
            ],
            trn="A11Y1",
        )
        remittances.post_835(engine, pid, SETUP, denial)
        remittances.post_835(
            engine,
            pid,
            SETUP,
            make_835("NOT-OURS-1", [("97124", 4, "140.00", "120.00", [("CO", "45", "20.00")])], trn="A11Y2"),
        )
        appointment = appointments.book(
            engine,
            pid,
            SETUP,
            patient_id=pw.patient_id,
            provider_id=pw.provider_id,
            start_local=datetime(2026, 11, 23, 10, 0),
            end_local=datetime(2026, 11, 23, 11, 0),
        )
        documented = visits.record_visit(  # a full note: pain, range of motion, goals
            engine,
            pid,
            SETUP,
            patient_id=pw.patient_id,
            provider_id=pw.provider_id,
            date_of_service=date(2026, 11, 21),
            document={**VISIT_DOC, "documentation": EXAMPLE_NOTE},
            coverage_id=pw.coverage_id,
        )
        ledger.post_patient_payment(  # a payment: its page and receipt
            engine,
            pid,
            SETUP,
            patient_id=pw.patient_id,
            amount=Decimal("20.00"),
            method=PaymentMethod.CASH,
            key="a11y-payment-1",
            apply=False,
        )
        run = statement_emails.schedule_statement_emails(engine, pid, SETUP, over=Decimal("0"))
        (unmatched,) = [w for w in remittance_work.worklist_items(engine, pid, SETUP) if w.assignable]
        ids.update(
            run_id=run.run_id,
            item_id=unmatched.id,
            payment_ref="a11y-payment-1",
            appointment_id=appointment.id,
            profile_id="commercial",
            name=next(iter(REPORTS)),
            documented_visit_id=documented,
        )
        yield server, ids


def _url(path: str, ids: dict[str, str]) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: ids[m.group(1)], path)


def _login(page: Page, server: Server, role: str) -> None:
    pw = server.world.a
    page.goto(server.url + "/login")
    page.fill("input[name=username]", pw.usernames[role])
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    if role in pw.secrets:
        expect(page).to_have_url(re.compile(r"/login/mfa$"))
        assert not problems(page), problems(page)  # the second step of the log-in is a page too
        enter_code(page, server, pw.secrets[role])
    expect(page).to_have_url(server.url + "/")


def _check_pages(page: Page, server: Server, urls: list[str]) -> tuple[list[str], int]:
    """Visit each url at each size; the problems found and the number of full pages checked."""
    found: list[str] = []
    checked = 0
    fragments: set[str] = set()
    for width, height in SIZES:
        page.set_viewport_size({"width": width, "height": height})
        for url in urls:
            response = page.goto(server.url + url)
            assert response is not None and response.status < 500, f"{url}: {response and response.status}"
            if not page.locator("html > body > header.top").count():
                fragments.add(url)  # an htmx fragment (slots of the calendar, a money summary), not a page
                continue
            page.wait_for_load_state("networkidle")
            checked += 1
            found += [f"{url} at {width}px: {p}" for p in problems(page, impacts=FAILING)]
            found += [f"{url} at {width}px: an internal id shown: {i}" for i in visible_ids(page)]
    assert checked == len(SIZES) * (len(urls) - len(fragments)), (checked, sorted(fragments))
    assert all("/money/summary" in f or "/slots" in f or f.endswith("/fragment") for f in fragments), (
        fragments
    )
    return found, checked


@pytest.mark.parametrize("role", ROLES)
def test_every_page_of_the_role_is_accessible_at_both_sizes(
    browser: Browser, site: tuple[Server, dict[str, str]], role: str
) -> None:
    server, ids = site
    urls = [
        _url(path, ids)
        for path, mark in sorted(PAGES.items())
        if mark != PUBLIC and allowed(role, Permission(mark))
    ]
    assert len(urls) >= 10, urls
    context = browser.new_context(viewport={"width": SIZES[0][0], "height": SIZES[0][1]})
    page = context.new_page()
    _login(page, server, role)
    found, checked = _check_pages(page, server, urls)
    context.close()
    assert checked >= len(urls), (checked, urls)
    assert not found, f"{len(found)} problems:\n" + "\n".join(found)


def test_the_public_pages_are_accessible_at_both_sizes(
    browser: Browser, site: tuple[Server, dict[str, str]]
) -> None:
    server, _ = site
    urls = [path for path, mark in sorted(PAGES.items()) if mark == PUBLIC]
    assert "/login" in urls
    context = browser.new_context()
    found, checked = _check_pages(context.new_page(), server, urls)
    context.close()
    assert checked >= 2
    assert not found, f"{len(found)} problems:\n" + "\n".join(found)


def test_every_portal_page_is_accessible_at_both_sizes(
    browser: Browser, site: tuple[Server, dict[str, str]]
) -> None:
    """The client portal's pages, signed in as a client (its menu's tap targets too)."""
    server, ids = site
    pw = server.world.a
    session = portal.start_session(
        server.world.engine, pw.practice_id, pw.patient_id, clock=lambda: server.now().replace(tzinfo=UTC)
    )
    urls = [_url(path, ids) for path in sorted(PAGES) if path.startswith("/portal") and "{token}" not in path]
    assert "/portal" in urls and "/portal/intake" in urls, urls
    context = browser.new_context(viewport={"width": SIZES[0][0], "height": SIZES[0][1]})
    context.add_cookies([{"name": "tb_portal", "value": session, "url": server.url}])
    page = context.new_page()
    page.goto(server.url + "/portal")
    expect(page.locator("header.top nav")).to_contain_text("Sign out")  # signed in, not the sign-in page
    link = page.locator("#superbills a").first  # the coded visit's superbill is shared
    superbill = page.request.get(server.url + str(link.get_attribute("href")))
    assert superbill.status == 200 and superbill.body().startswith(b"%PDF")
    foreign = page.request.get(server.url + "/portal/superbills/" + "0" * 32 + ".pdf")
    assert foreign.status == 404
    found, checked = _check_pages(page, server, urls)
    context.close()
    assert checked == len(SIZES) * len(urls)
    assert not found, f"{len(found)} problems:\n" + "\n".join(found)


def test_the_route_table_yields_the_pages_people_use() -> None:
    for path in ("/", "/patients/{patient_id}", "/visits/{visit_id}", "/claims", "/remittances", "/audit"):
        assert path in PAGES, path
    assert "/audit/export.csv" not in PAGES and "/claims/{claim_id}/cms1500.pdf" not in PAGES


def test_the_helper_fails_a_page_that_breaks_the_rules(browser: Browser, tmp_path: Path) -> None:
    """The check is real: an unlabeled input, a 600-px table on a phone and a 12-px button fail it."""
    bad = tmp_path / "bad.html"
    bad.write_text(
        '<!doctype html><html lang="en"><head><title>bad</title></head><body><main>'
        '<input name="x"><table style="width:600px"><tr><td>wide</td></tr></table>'
        '<button style="height:12px;font-size:8px;padding:0">x</button></main></body></html>'
    )
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.goto(bad.as_uri())
    found = problems(page)
    context.close()
    assert any(f.startswith("label (critical)") for f in found), found
    assert any("horizontal scrolling" in f for f in found), found
    assert any("tap target" in f for f in found), found


MAIN_PAGES = {
    "dashboard": "/",
    "patient": "/patients/{patient_id}",
    "visit-form": "/patients/{patient_id}/visits/new",
    "visit": "/visits/{documented_visit_id}",
    "claims": "/claims",
    "claim": "/claims/{claim_id}",
    "remittances": "/remittances",
    "remittance-assign": "/remittances/worklist/{item_id}/assign",
    "audit": "/audit",
}


def test_screenshots_of_the_main_pages_at_both_sizes(
    browser: Browser, site: tuple[Server, dict[str, str]], shots: Path
) -> None:
    """``web-<page>-1366.png`` and ``web-<page>-390.png`` (``THERABILL_SCREENSHOTS=docs/images``
    writes the README's pictures); each page is checked as it is photographed."""
    server, ids = site
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    page = context.new_page()
    _login(page, server, "owner")
    for width, height in SIZES:
        page.set_viewport_size({"width": width, "height": height})
        for name, path in MAIN_PAGES.items():
            page.goto(server.url + _url(path, ids))
            page.wait_for_load_state("networkidle")
            assert not problems(page), (name, width, problems(page))
            page.screenshot(path=str(shots / f"web-{name}-{width}.png"), full_page=width < 1000)
    context.close()
    assert len(list(shots.glob("web-*-390.png"))) >= len(MAIN_PAGES)
