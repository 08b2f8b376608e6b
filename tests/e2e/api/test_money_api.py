"""``/api/v1`` patient money: payments with idempotent retries, tips, packages, fees, statements, pay.

Each test registers its own patient in practice A (the world is shared by the session), so
its figures do not depend on other tests.
"""

from __future__ import annotations

import io
import itertools
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader

from tests.conftest import SmtpServer
from tests.e2e.api.conftest import bearer, token_for
from tests.e2e.api.world import AS_OF, DOS, World
from therabill.entrypoints.app import create_app
from therabill.entrypoints.http.settings import Settings
from therabill.service_layer import claims as claims_svc
from therabill.service_layer import coverages as coverages_svc
from therabill.service_layer import ledger
from therabill.service_layer import patients as patients_svc
from therabill.service_layer import visits as visits_svc
from therabill.service_layer.uow import UnitOfWork

VISIT = {
    "start_time": "10:00",
    "end_time": "11:00",
    "diagnoses": ["M54.50", "M62.830"],
    "services": [
        {"code": "97124", "minutes": 38, "diagnosis_pointers": [1, 2], "body_regions": ["lumbar"]},
        {
            "code": "97140",
            "minutes": 22,
            "modifiers": ["59"],
            "diagnosis_pointers": [2],
            "body_regions": ["neck"],
        },
    ],
    "documentation": {"subjective": "Low back stiffness.", "medical_necessity": "Limits sitting."},
}
_numbers = itertools.count(1)


@dataclass
class Client:
    patient_id: str
    visit_id: str
    claim_id: str
    item_id: str


def _client(world: World, *, email: str | None = "client@example.org", copay: str | None = "20.00") -> Client:
    pw, actor = world.a, "test:setup"
    n = next(_numbers)
    pid = patients_svc.register_patient(
        world.engine,
        pw.practice_id,
        actor,
        chart_number=f"MONEY-{n}",
        first_name="Mo",
        last_name=f"Ney{n}",
        birth_date=date(1985, 1, 2),
        email=email,
        address={"line1": "5 Oak St", "city": "Springfield", "state": "IL", "zip": "62704"},
        coverages_in=[
            coverages_svc.CoverageInput(
                payer_id=pw.payer_id, member_id=f"M{n:08d}", active_from=date(2026, 1, 1)
            )
        ],
    )
    with UnitOfWork(world.engine, pw.practice_id, actor, read_only=True) as uow:
        coverage = uow.records.coverages_of(pid)[0].id
    if copay is not None:
        coverages_svc.record_eligibility_check(
            world.engine,
            pw.practice_id,
            actor,
            coverage_id=coverage,
            service_date=DOS,
            active=True,
            source="271",
            result={"copay": copay},
        )
    visit = visits_svc.record_visit(
        world.engine,
        pw.practice_id,
        actor,
        patient_id=pid,
        provider_id=pw.provider_id,
        date_of_service=DOS,
        document=VISIT,
        coverage_id=coverage,
    )
    coded = claims_svc.code_visit(world.engine, pw.practice_id, actor, visit, as_of=AS_OF)
    ledger.post_claim_charges(world.engine, pw.practice_id, actor, coded.claim_id)
    with UnitOfWork(world.engine, pw.practice_id, actor, read_only=True) as uow:
        item = uow.records.lines_of(coded.claim_id)[0].id
    return Client(pid, visit, coded.claim_id, item)


def _post(client: TestClient, token: str, url: str, body: dict[str, object], key: str | None):  # type: ignore[no-untyped-def]
    headers = bearer(token) | ({"Idempotency-Key": key} if key else {})
    return client.post(url, json=body, headers=headers)


def test_a_payment_posts_once_however_often_it_is_retried(client: TestClient, world: World) -> None:
    c = _client(world)
    desk = token_for(world, "a", "front_desk")
    money = client.get(f"/api/v1/patients/{c.patient_id}/money", headers=bearer(desk)).json()
    assert money["expected_copay"] == "20.00" and "271" in money["expected_copay_source"]
    by_chart = client.get(f"/api/v1/patients/{money['chart_number']}/money", headers=bearer(desk)).json()
    assert by_chart["patient_id"] == c.patient_id
    url = f"/api/v1/patients/{c.patient_id}/payments"
    body = {"amount": "20.00", "method": "card", "visit_id": c.visit_id}
    missing = _post(client, desk, url, body, None)
    assert missing.status_code == 422 and missing.json()["error"]["code"] == "idempotency-key-missing"
    first = _post(client, desk, url, body, "copay-1")
    assert first.status_code == 201, first.text
    again = [_post(client, desk, url, body, "copay-1") for _ in range(3)]
    assert {r.status_code for r in again} == {200}
    assert all(r.json()["entry_ids"] == first.json()["entry_ids"] and r.json()["replayed"] for r in again)
    other = _post(client, desk, url, {**body, "amount": "25.00"}, "copay-1")
    assert other.status_code == 409 and other.json()["error"]["code"] == "idempotency-key-reused"
    after = client.get(f"/api/v1/patients/{c.patient_id}/money", headers=bearer(desk)).json()
    payments = [r for r in after["ledger"] if r["what"].startswith("Payment")]
    assert len(payments) == 1 and payments[0]["amount"] == "20.00"
    assert after["patient_balance"] == "-20.00"  # paid ahead of the payer's answer: a credit on the visit


def test_an_hsa_payment_refuses_a_tip_and_its_receipt_keeps_the_tip_apart(
    client: TestClient, world: World
) -> None:
    c = _client(world)
    desk = token_for(world, "a", "front_desk")
    url = f"/api/v1/patients/{c.patient_id}/payments"
    refused = _post(client, desk, url, {"amount": "20.00", "method": "hsa", "tip": "10.00"}, "hsa-1")
    assert refused.status_code == 422
    assert refused.json()["error"]["problems"][0]["code"] == "payment-tip-not-eligible"
    ok = _post(
        client,
        desk,
        url,
        {"amount": "20.00", "method": "hsa", "tip": "10.00", "tip_method": "card", "visit_id": c.visit_id},
        "hsa-2",
    )
    assert ok.status_code == 201, ok.text
    ref = ok.json()["payment_ref"]
    pdf = client.get(f"/api/v1/payments/{ref}/receipt", headers=bearer(desk))
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages)
    assert "paid by card; not a medical expense" in text
    assert "HSA card $20.00" in text and "card $10.00" in text
    for needle in ("11/20/2026", "97124", "Ana Lopez", "IL 227.012345", "1245319599", "M54.50"):
        assert needle in text, needle
    again = client.get(f"/api/v1/payments/{ref}/receipt", headers=bearer(desk))
    assert again.content == pdf.content  # the stored receipt, not a new one


def test_packages_gift_certificates_and_fees(client: TestClient, world: World) -> None:
    c = _client(world, copay=None)
    desk = token_for(world, "a", "front_desk")
    sell = f"/api/v1/patients/{c.patient_id}/prepaid"
    body = {
        "kind": "package",
        "code": f"PKG-{c.patient_id[:6]}",
        "price": "300.00",
        "method": "card",
        "sessions": 4,
    }
    assert _post(client, desk, sell, body, "pkg-1").status_code == 201
    assert _post(client, desk, sell, body, "pkg-1").status_code == 200
    taken = _post(client, desk, sell, body, "pkg-2")
    assert taken.status_code == 422 and taken.json()["error"]["problems"][0]["code"] == "prepaid-code-taken"
    gift = {"kind": "gift-certificate", "code": f"GC-{c.patient_id[:6]}", "price": "50.00", "method": "cash"}
    soon = _post(client, desk, sell, {**gift, "expires_on": "2027-06-01"}, "gc-1")
    assert soon.json()["error"]["problems"][0]["code"] == "gift-certificate-expiry-too-soon"
    assert _post(client, desk, sell, gift, "gc-2").status_code == 201
    # the payer moves the whole first line to the patient; the package pays a session of it
    biller = token_for(world, "a", "biller")
    moved = _post(client, biller, f"/api/v1/items/{c.item_id}/transfers", {"to": "patient"}, "tr-1")
    assert moved.status_code == 201, moved.text
    redeem = f"/api/v1/prepaid/{body['code']}/redemptions"
    assert _post(client, desk, redeem, {"item_id": c.item_id}, "red-1").status_code == 201
    assert _post(client, desk, redeem, {"item_id": c.item_id}, "red-1").status_code == 200
    money = client.get(f"/api/v1/patients/{c.patient_id}/money", headers=bearer(desk)).json()
    package = next(i for i in money["instruments"] if i["kind"] == "package")
    assert package["sessions_left"] == 3 and package["remaining"] == "225.00"
    assert next(i for i in money["instruments"] if i["kind"] == "gift-certificate")["remaining"] == "50.00"
    fee = _post(
        client, desk, f"/api/v1/patients/{c.patient_id}/fees", {"kind": "no-show", "amount": "40.00"}, "f1"
    )
    assert fee.status_code == 201
    refund = _post(
        client, desk, f"/api/v1/patients/{c.patient_id}/refunds", {"amount": "5.00", "method": "cash"}, "r1"
    )
    assert refund.status_code == 403  # refunds are ledger.adjust


def test_write_offs_refunds_and_reversals_by_the_biller(client: TestClient, world: World) -> None:
    c = _client(world, copay=None)
    biller = token_for(world, "a", "biller")
    url = f"/api/v1/items/{c.item_id}/write-offs"
    too_much = _post(
        client, biller, url, {"reason": "SMALL", "amount": "9999.00", "bucket": "insurance"}, "w0"
    )
    assert too_much.status_code == 422
    done = _post(client, biller, url, {"reason": "SMALL", "amount": "5.00", "bucket": "insurance"}, "w1")
    assert done.status_code == 201, done.text
    pay = _post(
        client,
        biller,
        f"/api/v1/patients/{c.patient_id}/payments",
        {"amount": "30.00", "method": "cash"},
        "p1",
    )
    assert pay.status_code == 201
    over = _post(
        client,
        biller,
        f"/api/v1/patients/{c.patient_id}/refunds",
        {"amount": "31.00", "method": "cash"},
        "r0",
    )
    assert over.json()["error"]["problems"][0]["code"] == "refund-exceeds-credit"
    refund = _post(
        client,
        biller,
        f"/api/v1/patients/{c.patient_id}/refunds",
        {"amount": "10.00", "method": "cash"},
        "r1",
    )
    assert refund.status_code == 201
    entry = done.json()["entry_ids"][0]
    assert _post(client, biller, f"/api/v1/entries/{entry}/reversal", {}, "rev-1").status_code == 201
    assert _post(client, biller, f"/api/v1/entries/{entry}/reversal", {}, "rev-1").status_code == 200


def test_statement_issued_stored_and_emailed(world: World, smtp_server: SmtpServer) -> None:
    settings = Settings(
        database_url="sqlite:///unused", smtp_host=smtp_server.host, smtp_port=smtp_server.port
    )
    app = create_app(settings, engine=world.engine, clock=world.clock)
    c = _client(world, copay=None)
    owner = token_for(world, "a", "owner")
    with TestClient(app, base_url="http://127.0.0.1") as http:
        moved = _post(
            http, owner, f"/api/v1/items/{c.item_id}/transfers", {"to": "patient", "amount": "63.00"}, "t63"
        )
        assert moved.status_code == 201
        issued = http.post(f"/api/v1/patients/{c.patient_id}/statements?email=true", headers=bearer(owner))
        assert issued.status_code == 201, issued.text
        doc = issued.json()
        assert (
            doc["pages"] == 1 and doc["amount_due"] == "63.00" and doc["emailed_to"] == "client@example.org"
        )
        stored = http.get(f"/api/v1/documents/{doc['document_id']}", headers=bearer(owner))
        listed = http.get(f"/api/v1/patients/{c.patient_id}/documents", headers=bearer(owner)).json()
        assert [d["number"] for d in listed] == [doc["number"]]
    message = smtp_server.messages[-1]
    assert "Ney" not in message["Subject"] and "Practice pa" in message["Subject"]
    attachment = next(message.iter_attachments())
    assert attachment.get_content() == stored.content


def test_therapist_pay_report(client: TestClient, world: World) -> None:
    c = _client(world, copay=None)
    owner = token_for(world, "a", "owner")
    rate = client.put(
        f"/api/v1/providers/{world.a.provider_id}/commission-rates",
        json={"percent": "50"},
        headers=bearer(owner),
    )
    assert rate.status_code == 200, rate.text
    tip = {"amount": "0.00", "method": "cash", "tip": "12.00", "visit_id": c.visit_id}
    assert (
        _post(client, owner, f"/api/v1/patients/{c.patient_id}/payments", tip, "tip-pay").status_code == 201
    )
    r = client.get(
        "/api/v1/therapist-pay", params={"start": "2026-11-01", "end": "2026-11-30"}, headers=bearer(owner)
    )
    assert r.status_code == 200, r.text
    ana = next(t for t in r.json()["therapists"] if t["provider_id"] == world.a.provider_id)
    assert Decimal(ana["commission"]) == Decimal(ana["fees"]) / 2
    assert Decimal(ana["tips"]) >= Decimal("12.00")
    assert Decimal(ana["pay"]) == Decimal(ana["commission"]) + Decimal(ana["tips"])
    csv_text = client.get(
        "/api/v1/therapist-pay",
        params={"start": "2026-11-01", "end": "2026-11-30", "format": "csv"},
        headers=bearer(owner),
    ).text
    assert csv_text.startswith("therapist,date_of_service") and "97124" in csv_text
    pdf = client.get(
        "/api/v1/therapist-pay",
        params={"start": "2026-11-01", "end": "2026-11-30", "format": "pdf"},
        headers=bearer(owner),
    )
    assert pdf.content.startswith(b"%PDF")
    desk = token_for(world, "a", "front_desk")
    assert (
        client.get(
            "/api/v1/therapist-pay", params={"start": "2026-11-01", "end": "2026-11-30"}, headers=bearer(desk)
        ).status_code
        == 403
    )


@pytest.mark.parametrize("role", ["therapist"])
def test_a_therapist_sees_no_money(client: TestClient, world: World, role: str) -> None:
    token = token_for(world, "a", role)
    assert (
        client.get(f"/api/v1/patients/{world.a.patient_id}/money", headers=bearer(token)).status_code == 403
    )
