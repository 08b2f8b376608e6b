"""The pages of client messages: the patient page's email/SMS opt-out card (htmx and plain
form), the statement-emails pages, and the client's own opt-out in the portal."""

from __future__ import annotations

import re
import uuid
from decimal import Decimal

from fastapi.testclient import TestClient

from tests.e2e.api.conftest import csrf_of, login
from tests.e2e.api.world import World
from therabill.domain.ledger import ChargeType
from therabill.service_layer import contact_preferences, ledger, portal
from therabill.service_layer import patients as patients_svc

SETUP = "test:setup"


def _client(world: World, owing: str | None = None) -> str:
    tag = uuid.uuid4().hex[:6]
    pid = world.b.practice_id
    patient = patients_svc.register_patient(
        world.engine, pid, SETUP, chart_number=f"P-{tag}", first_name="Lena", last_name=f"Moreau{tag}",
        email=f"lena{tag}@example.org",
    )  # fmt: skip
    if owing:
        ledger.post_charge(
            world.engine, pid, SETUP, patient_id=patient, amount=Decimal(owing), charge_type=ChargeType.RETAIL,
            key=f"retail:{patient}",
        )  # fmt: skip
    return patient


def test_the_front_desk_sets_a_clients_opt_out_on_the_patient_page(client: TestClient, world: World) -> None:
    patient = _client(world)
    csrf = login(client, world, "b", "front_desk")
    page = client.get(f"/patients/{patient}")
    fragment_url = f"/patients/{patient}/contact-preferences/fragment"
    assert page.status_code == 200 and fragment_url in page.text
    card = client.get(fragment_url)
    assert card.status_code == 200 and 'id="email-opt-out"' in card.text and "checked" not in card.text
    saved = client.post(
        f"/patients/{patient}/contact-preferences",
        data={"csrf_token": csrf, "email_opt_out": "1"},
        headers={"HX-Request": "true"},
    )
    assert saved.status_code == 200 and "Saved." in saved.text
    assert re.search(r'id="email-opt-out"\s+checked', saved.text)
    prefs = contact_preferences.contact_preferences_of(world.engine, world.b.practice_id, SETUP, patient)
    assert prefs.email_opt_out and not prefs.sms_opt_out
    plain = client.post(
        f"/patients/{patient}/contact-preferences", data={"csrf_token": csrf, "sms_opt_out": "1"}
    )
    assert plain.status_code == 303 and plain.headers["location"] == f"/patients/{patient}"
    prefs = contact_preferences.contact_preferences_of(world.engine, world.b.practice_id, SETUP, patient)
    assert prefs.sms_opt_out and not prefs.email_opt_out  # an unchecked box accepts again
    login(client, world, "a", "front_desk")
    assert client.get(fragment_url).status_code == 404  # another practice's client


def test_statement_emails_are_scheduled_on_their_page(client: TestClient, world: World) -> None:
    patient = _client(world, owing="75.00")
    csrf = login(client, world, "b", "owner")
    page = client.get("/statements/emails")
    assert page.status_code == 200 and 'id="emails-over"' in page.text
    assert 'href="/statements/emails"' in client.get("/statements").text
    bad = client.post("/statements/emails", data={"csrf_token": csrf, "over": "lots"})
    assert bad.status_code == 422 and "statement-threshold-invalid" in bad.text
    made = client.post("/statements/emails", data={"csrf_token": csrf, "over": "70.00"})
    assert made.status_code == 303, made.text
    run = client.get(made.headers["location"])
    assert run.status_code == 200 and "Lena Moreau" in run.text and "Waiting" in run.text
    assert patient in run.text  # the link to the client's page
    listed = client.get("/statements/emails")
    assert "$70.00" in listed.text and "waiting" in listed.text
    again = client.post("/statements/emails", data={"csrf_token": csrf, "over": "70.00"})
    assert again.status_code == 422 and "already scheduled" in again.text
    login(client, world, "b", "front_desk")
    assert client.get("/statements/emails").status_code == 403


def test_the_client_opts_out_in_the_portal(client: TestClient, world: World) -> None:
    patient = _client(world)
    client.cookies.set(
        "tb_portal", portal.start_session(world.engine, world.b.practice_id, patient, clock=world.clock)
    )
    home = client.get("/portal")
    assert home.status_code == 200 and 'id="portal-email-opt-out"' in home.text
    saved = client.post(
        "/portal/messages", data={"csrf_token": csrf_of(home.text), "email_opt_out": "1", "sms_opt_out": "1"}
    )
    assert saved.status_code == 303 and saved.headers["location"] == "/portal?notice=messages"
    after = client.get("/portal?notice=messages")
    assert "preferences are saved" in after.text
    assert re.search(r'id="portal-email-opt-out"\s+checked', after.text)
    prefs = contact_preferences.contact_preferences_of(world.engine, world.b.practice_id, SETUP, patient)
    assert prefs.email_opt_out and prefs.sms_opt_out
    refused = client.post("/portal/messages", data={"csrf_token": "forged", "email_opt_out": "1"})
    assert refused.status_code == 403
