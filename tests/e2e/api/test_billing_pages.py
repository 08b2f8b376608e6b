"""Claims and remittances pages: mark ready, batch and 837P, CMS-1500, 835 upload with a denial."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from tests.e2e.api.conftest import csrf_of, login
from tests.e2e.api.test_visit_page import _form
from tests.e2e.api.world import World, make_835


def _claim(client: TestClient, world: World) -> str:
    csrf = login(client, world, "a", "owner")
    services = [
        {"code": "97124", "minutes": "38", "regions": "lumbar", "pointers": "1,2"},
        {"code": "97140", "minutes": "22", "regions": "cervical", "pointers": "3", "modifiers": "59"},
    ]
    # a date of its own: the world's other tests bill the same codes for this patient on 2026-11-20,
    # and a claim repeating one of theirs is a duplicate (duplicate-claim, CARC 18)
    form = _form(world, csrf, services, date_of_service="2026-11-19")
    r = client.post(f"/patients/{world.a.patient_id}/visits", data=form)
    assert r.status_code == 303, r.text
    r = client.post(r.headers["location"] + "/claim", data={"csrf_token": csrf})
    assert r.status_code == 303, r.text
    return r.headers["location"]


def test_claim_to_batch_to_837_and_cms1500_then_835_posts_and_explains(
    client: TestClient, world: World
) -> None:
    claim_url = _claim(client, world)
    page = client.get(claim_url)
    assert page.status_code == 200
    assert re.findall(r'<td class="units-value">(\d+)</td>', page.text) == ["3", "1"]
    number = re.search(r"<h1>Claim (\w+)", page.text).group(1)
    csrf = csrf_of(page.text)
    if 'id="mark-ready"' in page.text:
        assert client.post(claim_url + "/ready", data={"csrf_token": csrf}).status_code == 303
    page = client.get(claim_url)
    assert ">Ready<" in page.text, page.text[:2000]
    pdf = client.get(claim_url + "/cms1500.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF"), pdf.text
    assert "attachment" in pdf.headers["content-disposition"]
    r = client.post("/claims/batch", data={"csrf_token": csrf})
    assert r.status_code == 303 and r.headers["location"].startswith("/batches/")
    x12 = client.get(r.headers["location"] + "/837")
    assert x12.status_code == 200
    assert x12.text.startswith("ISA*") and f"CLM*{number}*" in x12.text
    assert "SV1*HC:97124" in x12.text and "SV1*HC:97140:59" in x12.text
    era = make_835(
        number,
        [
            ("97124", 3, "105.00", "84.00", [("CO", "45", "21.00")]),
            ("97140", 1, "40.00", "0.00", [("CO", "97", "40.00")]),
        ],
        trn="EFT-PA-1",
        service_date="20261119",
    )
    remit = client.get("/remittances")
    r = client.post(
        "/remittances",
        data={"csrf_token": csrf_of(remit.text)},
        files={"file": ("era.835", era.encode(), "application/octet-stream")},
    )
    assert r.status_code == 200, r.text
    assert "1 claim posted" in r.text
    denials = r.text.split('id="denials"')[1].split("</section>")[0]
    assert number in denials and "CO-97" in denials
    again = client.post(
        "/remittances",
        data={"csrf_token": csrf_of(remit.text)},
        files={"file": ("era.835", era.encode(), "application/octet-stream")},
    )
    assert "nothing was posted twice" in again.text


def test_upload_refuses_what_is_not_x12(client: TestClient, world: World) -> None:
    login(client, world, "a", "biller")
    page = client.get("/remittances")
    for content in (b"%PDF-1.4 not an era", b"", b"PK\x03\x04zip"):
        r = client.post(
            "/remittances",
            data={"csrf_token": csrf_of(page.text)},
            files={"file": ("../../etc/passwd", content, "application/octet-stream")},
        )
        assert r.status_code == 422


def test_owner_pages_audit_and_settings(client: TestClient, world: World) -> None:
    login(client, world, "a", "owner")
    audit = client.get("/audit")
    assert audit.status_code == 200 and "Hash chain intact" in audit.text
    assert "auth.login" in audit.text or "auth.mfa" in audit.text
    csv = client.get("/audit/export.csv")
    assert csv.status_code == 200 and csv.text.startswith("seq,at,actor")
    assert client.get("/settings").status_code == 200
    login(client, world, "a", "biller")
    assert client.get("/audit").status_code == 403
    assert client.get("/settings").status_code == 403


def test_claims_worklist_filters(client: TestClient, world: World) -> None:
    login(client, world, "a", "biller")
    assert client.get("/claims").status_code == 200
    assert client.get("/claims?status=attention").status_code == 200
    assert client.get("/claims?status=paid").status_code == 200
    assert client.get("/claims?status=bogus").status_code == 422
    login(client, world, "a", "front_desk")
    assert client.get("/claims").status_code == 403
