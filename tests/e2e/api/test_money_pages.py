"""The money pages: check-out takes a copay once however often the form is sent, packages,
the account page, the payment page with its receipt and superbill, statements and pay."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from tests.e2e.api.conftest import csrf_of, login
from tests.e2e.api.test_money_api import _client
from tests.e2e.api.world import World


def _key(html: str, form_id: str) -> str:
    form = html[html.index(f'id="{form_id}"') :]
    found = re.search(r'name="idempotency_key" value="([^"]+)"', form)
    assert found
    return found.group(1)


def test_front_desk_checks_out_a_visit(client: TestClient, world: World) -> None:
    c = _client(world, copay="25.00")
    login(client, world, "a", "front_desk")
    page = client.get(f"/patients/{c.patient_id}/checkout?visit={c.visit_id}")
    assert page.status_code == 200, page.text
    assert 'id="expected-copay">$25.00' in page.text and "271" in page.text
    assert 'id="pay-amount" required value="25.00"' in page.text
    form = {
        "csrf_token": csrf_of(page.text),
        "idempotency_key": _key(page.text, "pay-form"),
        "visit_id": c.visit_id,
        "from": "checkout",
        "amount": "25.00",
        "method": "hsa",
        "tip": "5.00",
        "tip_method": "cash",
    }
    first = client.post(f"/patients/{c.patient_id}/money/payments", data=form)
    assert first.status_code == 303, first.text
    again = client.post(f"/patients/{c.patient_id}/money/payments", data=form)  # a double click
    assert again.status_code == 303 and again.headers["location"] == first.headers["location"]
    payment = client.get(first.headers["location"])
    assert payment.status_code == 200 and "$30.00" in payment.text
    assert "Tip for your therapist (paid by cash" in payment.text and 'id="superbill"' in payment.text
    receipt = client.get(first.headers["location"] + "/receipt")
    assert receipt.headers["content-type"] == "application/pdf"
    account = client.get(f"/patients/{c.patient_id}/money")
    assert account.text.count("Payment ·") == 1  # posted once
    assert 'id="credit">$25.00' in account.text
    hsa_tip = {**form, "idempotency_key": "other", "tip_method": "hsa"}
    refused = client.post(f"/patients/{c.patient_id}/money/payments", data=hsa_tip)
    assert refused.status_code == 422 and "payment-tip-not-eligible" in refused.text
    superbill = client.get(f"/visits/{c.visit_id}/superbill")
    assert superbill.status_code == 200, superbill.text[:3000]
    assert superbill.content.startswith(b"%PDF")


def test_front_desk_sells_a_package_and_prints_a_statement(client: TestClient, world: World) -> None:
    c = _client(world, copay=None)
    login(client, world, "a", "front_desk")
    page = client.get(f"/patients/{c.patient_id}/money")
    form = {
        "csrf_token": csrf_of(page.text),
        "idempotency_key": _key(page.text, "prepaid-form"),
        "kind": "package",
        "code": f"P5-{c.patient_id[:5]}",
        "description": "5 x 60-minute massage",
        "price": "400.00",
        "sessions": "5",
        "method": "card",
    }
    assert client.post(f"/patients/{c.patient_id}/money/prepaid", data=form).status_code == 303
    assert client.post(f"/patients/{c.patient_id}/money/prepaid", data=form).status_code == 303
    account = client.get(f"/patients/{c.patient_id}/money").text
    assert account.count(form["code"]) >= 1 and "5 of 5" in account
    statement = client.post(f"/patients/{c.patient_id}/statements", data={"csrf_token": csrf_of(account)})
    assert statement.status_code == 303 and statement.headers["location"].startswith("/documents/")
    pdf = client.get(statement.headers["location"])
    assert pdf.content.startswith(b"%PDF")
    assert "Statement ST-" in client.get(f"/patients/{c.patient_id}/money").text
    summary = client.get(f"/patients/{c.patient_id}/money/summary")
    assert 'id="money-summary"' in summary.text


def test_statement_runs_and_therapist_pay_pages(client: TestClient, world: World) -> None:
    _client(world, copay=None)
    csrf = login(client, world, "a", "owner")
    assert client.get("/statements").status_code == 200
    run = client.post("/statements/run", data={"csrf_token": csrf, "over": "0.00"})
    assert run.status_code == 200, run.text
    merged = re.search(r'href="(/statements/runs/[0-9a-f]+)"', run.text)
    if merged:
        assert client.get(merged.group(1)).content.startswith(b"%PDF")
    pay = client.get("/therapist-pay?start=2026-11-01&end=2026-11-30")
    assert pay.status_code == 200 and "Ana Lopez" in pay.text
    assert client.get("/therapist-pay?start=2026-11-01&end=2026-11-30&format=csv").text.startswith(
        "therapist,"
    )
    login(client, world, "a", "front_desk")
    assert client.get("/statements").status_code == 403
