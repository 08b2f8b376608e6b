"""``/api/v1/statement-emails`` and ``/api/v1/patients/{id}/contact-preferences``: the same
service functions as the pages and the CLI; refused input names the field."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal

from fastapi.testclient import TestClient

from tests.e2e.api.conftest import bearer, token_for
from tests.e2e.api.world import World
from therabill.domain.ledger import ChargeType
from therabill.service_layer import contact_preferences, ledger, statement_emails
from therabill.service_layer import patients as patients_svc


def _client_owing(world: World, amount: str, email: str | None) -> str:
    pid = world.b.practice_id
    tag = uuid.uuid4().hex[:6]
    patient = patients_svc.register_patient(
        world.engine, pid, "test:setup", chart_number=f"M-{tag}", first_name="Priya", last_name=f"Nair{tag}",
        email=email,
    )  # fmt: skip
    ledger.post_charge(
        world.engine, pid, "test:setup", patient_id=patient, amount=Decimal(amount),
        charge_type=ChargeType.RETAIL, key=f"retail:{patient}",
    )  # fmt: skip
    return patient


def test_statement_emails_are_scheduled_and_read_through_the_api(client: TestClient, world: World) -> None:
    owner = bearer(token_for(world, "b", "owner"))
    desk = bearer(token_for(world, "b", "front_desk"))
    patient = _client_owing(world, "61.00", "priya@example.org")

    refused = client.post("/api/v1/statement-emails", json={"over": "-5"}, headers=owner)
    assert refused.status_code == 422 and "over" in refused.text
    huge = client.post("/api/v1/statement-emails", json={"over": "99999999.99"}, headers=owner)
    assert huge.status_code == 422 and "statement-threshold-invalid" in huge.text
    unknown = client.post("/api/v1/statement-emails", json={"over": "5", "send": True}, headers=owner)
    assert unknown.status_code == 422
    assert client.post("/api/v1/statement-emails", json={"over": "60"}, headers=desk).status_code == 403

    day = (world.clock() + timedelta(days=1)).date().isoformat()  # today's run is the pages test's
    created = client.post(
        "/api/v1/statement-emails", json={"over": "60.00", "statement_date": day}, headers=owner
    )
    assert created.status_code == 201, created.text
    run = created.json()
    assert run["over"] == "60.00" and run["counts"].get("pending", 0) >= 1
    assert patient in {c["patient_id"] for c in run["clients"]}
    # the API answers what the service says
    service = statement_emails.statement_email_run(world.engine, world.b.practice_id, "test", run["run_id"])
    assert client.get(f"/api/v1/statement-emails/{run['run_id']}", headers=owner).json() == service.as_dict()
    listed = client.get("/api/v1/statement-emails", headers=owner).json()
    assert run["run_id"] in [r["run_id"] for r in listed]
    again = client.post("/api/v1/statement-emails", json={"over": "9", "statement_date": day}, headers=owner)
    assert again.status_code == 422 and "statement-emails-scheduled" in again.text
    assert client.get("/api/v1/statement-emails/" + "0" * 32, headers=owner).status_code == 404


def test_contact_preferences_through_the_api(client: TestClient, world: World) -> None:
    desk = bearer(token_for(world, "b", "front_desk"))
    patient = _client_owing(world, "1.00", "opt@example.org")
    url = f"/api/v1/patients/{patient}/contact-preferences"
    assert client.get(url, headers=desk).json() == {
        "patient_id": patient,
        "email_opt_out": False,
        "sms_opt_out": False,
    }
    put = client.put(url, json={"sms_opt_out": True}, headers=desk)
    assert (
        put.status_code == 200 and put.json()["sms_opt_out"] is True and put.json()["email_opt_out"] is False
    )
    assert contact_preferences.contact_preferences_of(
        world.engine, world.b.practice_id, "t", patient
    ).sms_opt_out
    assert client.put(url, json={"sms_opt_out": "sometimes"}, headers=desk).status_code == 422
    assert client.put(url, json={"fax_opt_out": True}, headers=desk).status_code == 422
    other = bearer(token_for(world, "a", "front_desk"))
    assert client.get(url, headers=other).status_code == 404  # another practice's client
