"""The front desk's pages: a new client with the duplicate check, details, a spouse's plan,
an authorization and its extension, a referral with its document, the history."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from tests.e2e.api.conftest import csrf_of, login
from tests.e2e.api.world import World

PDF = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"


def _new_client(client: TestClient, csrf: str, **extra: str) -> str:
    data = {
        "csrf_token": csrf,
        "first_name": "Lena",
        "last_name": "Okafor",
        "birth_date": "1990-03-04",
        "sex": "F",
        "phone": "(217) 555-0177",
        "line1": "5 Pine St",
        "city": "Springfield",
        "state": "il",
        "zip": "62704",
        **extra,
    }
    return client.post("/patients/new", data=data)  # type: ignore[return-value]


def test_front_desk_registers_a_client_with_a_spouse_plan_and_an_authorization(
    client: TestClient, world: World
) -> None:
    csrf = login(client, world, "a", "front_desk")
    page = client.get("/patients/new")
    assert page.status_code == 200 and 'name="first_name"' in page.text
    r = _new_client(client, csrf, chart_number="DESK-1")
    assert r.status_code == 303, r.text
    desk_url = r.headers["location"]
    patient_id = desk_url.split("/")[2]
    again = _new_client(client, csrf, first_name="LENA")
    assert again.status_code == 422 and "This may be a client you already have" in again.text
    assert "chart DESK-1" in again.text
    forced = _new_client(client, csrf, first_name="LENA", confirm_new="yes")
    assert forced.status_code == 303
    future = _new_client(client, csrf, last_name="Later", birth_date="2099-01-01")
    assert future.status_code == 422 and "must not be in the future" in future.text

    desk = client.get(desk_url)
    assert desk.status_code == 200 and "Lena Okafor" in desk.text and "No insurance on file" in desk.text
    own = client.post(
        f"/patients/{patient_id}/coverages",
        data={"csrf_token": csrf, "payer_id": world.a.payer_id, "sequence": "primary", "member_id": "OWN-1"},
    )
    assert own.status_code == 303, own.text
    missing = client.post(
        f"/patients/{patient_id}/coverages",
        data={
            "csrf_token": csrf,
            "payer_id": world.a.payer_id,
            "sequence": "secondary",
            "relationship": "spouse",
        },
    )
    assert missing.status_code == 422 and "give the insured person" in missing.text
    spouse = client.post(
        f"/patients/{patient_id}/coverages",
        data={
            "csrf_token": csrf,
            "payer_id": world.a.payer_id,
            "sequence": "secondary",
            "member_id": "SP-9",
            "relationship": "spouse",
            "sub_first_name": "Tom",
            "sub_last_name": "Okafor",
            "sub_birth_date": "1988-07-01",
            "sub_sex": "M",
            "sub_line1": "5 Pine St",
            "sub_city": "Springfield",
            "sub_state": "IL",
            "sub_zip": "62704",
        },
    )
    assert spouse.status_code == 303, spouse.text
    desk = client.get(desk_url).text
    assert "Insured: <strong>Tom Okafor</strong> (spouse)" in desk
    coverage_ids = re.findall(r'action="/coverages/([0-9a-f]{32})/authorizations"', desk)
    assert len(coverage_ids) == 2
    auth = client.post(
        f"/coverages/{coverage_ids[0]}/authorizations",
        data={"csrf_token": csrf, "number": "PA-55", "codes": "97124, 97140", "start_date": "2026-11-01",
              "end_date": "2027-01-31", "visits_allowed": "8"},
    )  # fmt: skip
    assert auth.status_code == 303, auth.text
    desk = client.get(desk_url).text
    assert "Visits: <strong>8</strong> of 8 left (0 used)" in desk
    auth_id = re.search(r'action="/authorizations/([0-9a-f]{32})/extend"', desk).group(1)  # type: ignore[union-attr]
    ext = client.post(f"/authorizations/{auth_id}/extend", data={"csrf_token": csrf, "add_visits": "4"})
    assert ext.status_code == 303
    assert "Visits: <strong>12</strong> of 12 left" in client.get(desk_url).text

    bad = client.post(
        f"/patients/{patient_id}/referrals",
        data={"csrf_token": csrf, "kind": "prescription"},
        files={"document": ("rx.pdf", b"MZ\x90\x00 not a pdf", "application/pdf")},
    )
    assert bad.status_code == 422 and "must be a PDF, PNG or JPEG file" in bad.text
    good = client.post(
        f"/patients/{patient_id}/referrals",
        data={
            "csrf_token": csrf,
            "kind": "prescription",
            "prescriber_name": "Dr. Ruiz",
            "expires_on": "2027-05-01",
        },
        files={"document": ("../../rx scan.pdf", PDF, "application/octet-stream")},
    )
    assert good.status_code == 303, good.text
    desk = client.get(desk_url).text
    assert "Dr. Ruiz" in desk and "valid to May 1, 2027" in desk
    ref_id = re.search(r'href="/referrals/([0-9a-f]{32})/document"', desk).group(1)  # type: ignore[union-attr]
    doc = client.get(f"/referrals/{ref_id}/document")
    assert doc.status_code == 200 and doc.content == PDF and doc.headers["content-type"] == "application/pdf"
    assert 'filename="rx scan.pdf"' in doc.headers["content-disposition"]

    details = client.post(
        f"/patients/{patient_id}/details",
        data={"csrf_token": csrf, "first_name": "Lena", "last_name": "Okafor-Smith", "birth_date": "1990-03-04",
              "sex": "F", "phone": "2175550177", "line1": "5 Pine St", "city": "Springfield", "state": "IL",
              "zip": "62704"},
    )  # fmt: skip
    assert details.status_code == 303
    history = client.get(desk_url).text.split('id="history"')[1]
    for action in ("patient update (last name)", "coverage add", "authorization extend", "referral add"):
        assert action in history, action

    ended = client.post(
        f"/coverages/{coverage_ids[1]}/end", data={"csrf_token": csrf, "active_to": "2026-11-20"}
    )
    assert ended.status_code == 303
    assert "ended Nov 20, 2026" in client.get(desk_url).text


def test_other_practice_and_roles(client: TestClient, world: World) -> None:
    csrf = login(client, world, "b", "front_desk")
    assert client.get(f"/patients/{world.a.patient_id}/desk").status_code == 404
    r = client.post(
        f"/coverages/{world.a.coverage_id}/end", data={"csrf_token": csrf, "active_to": "2026-11-20"}
    )
    assert r.status_code == 404
    client.cookies.clear()
    login(client, world, "a", "therapist")
    assert client.get("/patients/new").status_code == 403
    page = client.get(f"/patients/{world.a.patient_id}/desk")
    assert page.status_code == 200 and "Add or replace a coverage" not in page.text


def test_forms_need_csrf(client: TestClient, world: World) -> None:
    login(client, world, "a", "front_desk")
    r = client.post("/patients/new", data={"first_name": "No", "last_name": "Token"})
    assert r.status_code == 403
    assert csrf_of(client.get("/patients/new").text)
