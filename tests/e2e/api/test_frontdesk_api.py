"""The front desk through the API: what is written reads back (subscriber included), human
identifiers, duplicates and future birth dates, coverages ended and replaced, authorizations
extended, payers listed, claim lists filtered and paged, unknown query parameters refused."""

from __future__ import annotations

import itertools
from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.e2e.api.conftest import bearer, token_for
from tests.e2e.api.world import World
from therabill.adapters.db.tables import audit_log

_chart = itertools.count(1)

SPOUSE = {
    "first_name": "Mark",
    "last_name": "Rivera",
    "birth_date": "1978-02-14",
    "sex": "M",
    "address": {"line1": "12 Oak Ave", "city": "Springfield", "state": "IL", "zip": "62704"},
}

VISIT_DOC = {
    "start_time": "10:00",
    "end_time": "11:00",
    "diagnoses": ["M54.50"],
    "services": [{"code": "97124", "minutes": 60, "diagnosis_pointers": [1], "body_regions": ["lumbar"]}],
    "documentation": {"subjective": "Low back stiffness.", "medical_necessity": "Limits sitting."},
}


@pytest.fixture(scope="module")
def desk(world: World) -> dict[str, str]:
    return bearer(token_for(world, "a", "front_desk"))


@pytest.fixture(scope="module")
def owner(world: World) -> dict[str, str]:
    return bearer(token_for(world, "a", "owner"))


def _new_patient(client: TestClient, headers: dict[str, str], **extra: Any) -> dict[str, Any]:
    n = next(_chart)
    body = {
        "chart_number": f"FD-{n:04d}",
        "first_name": "Rosa",
        "last_name": f"Rivera{n}",
        "birth_date": "1981-06-30",
        "sex": "F",
        **extra,
    }
    r = client.post("/api/v1/patients", json=body, headers=headers)
    assert r.status_code == 201, r.text
    return dict(r.json())


def test_everything_written_on_a_patient_reads_back(client: TestClient, desk: dict[str, str]) -> None:
    written = {
        "chart_number": "FD-RB-1",
        "first_name": "Ada",
        "middle_name": "Q",
        "last_name": "Lovelace",
        "birth_date": "1985-12-10",
        "sex": "F",
        "phone": "2175550142",
        "email": "ada@example.org",
        "address": {
            "line1": "1 Byron Rd",
            "line2": "Apt 2",
            "city": "Springfield",
            "state": "IL",
            "zip": "62704",
        },
    }
    r = client.post("/api/v1/patients", json=written, headers=desk)
    assert r.status_code == 201, r.text
    read = client.get(f"/api/v1/patients/{r.json()['id']}", headers=desk).json()
    assert {k: read[k] for k in written} == written
    by_chart = client.get("/api/v1/patients/FD-RB-1", headers=desk)
    assert by_chart.status_code == 200 and by_chart.json()["id"] == read["id"]


def test_duplicate_patients_answer_409_unless_allowed(client: TestClient, desk: dict[str, str]) -> None:
    first = _new_patient(client, desk)
    again = {
        "chart_number": "FD-DUP-2",
        "first_name": first["first_name"].upper(),
        "last_name": f" {first['last_name']} ",
        "birth_date": first["birth_date"],
    }
    r = client.post("/api/v1/patients", json=again, headers=desk)
    assert r.status_code == 409 and r.json()["error"]["code"] == "patient-duplicate"
    assert first["chart_number"] in r.json()["error"]["problems"][0]["message"]
    r = client.post("/api/v1/patients", json={**again, "allow_duplicate": True}, headers=desk)
    assert r.status_code == 201


def test_future_birth_date_is_refused(client: TestClient, desk: dict[str, str], world: World) -> None:
    tomorrow = world.clock().date().toordinal() + 1
    body = {"chart_number": "FD-FUT", "first_name": "Tim", "last_name": "Future"}
    r = client.post(
        "/api/v1/patients", json={**body, "birth_date": date.fromordinal(tomorrow).isoformat()}, headers=desk
    )
    assert r.status_code == 422
    assert [p["code"] for p in r.json()["error"]["problems"]] == ["patient-birth-date-future"]
    assert client.get("/api/v1/patients/FD-FUT", headers=desk).status_code == 404


def test_demographics_change_is_audited_by_field(
    client: TestClient, desk: dict[str, str], world: World
) -> None:
    p = _new_patient(client, desk)
    r = client.patch(
        f"/api/v1/patients/{p['chart_number']}",
        json={"phone": "2175550199", "middle_name": None},
        headers=desk,
    )
    assert r.status_code == 200 and r.json()["phone"] == "2175550199"
    with world.engine.connect() as conn:
        last = conn.execute(
            select(audit_log).where(audit_log.c.object_id == p["id"]).order_by(audit_log.c.seq.desc())
        ).first()
    assert last is not None and last.action == "patient.update" and last.details == {"fields": ["phone"]}
    bad = client.patch(f"/api/v1/patients/{p['id']}", json={"phone": "12"}, headers=desk)
    assert bad.status_code == 422


def test_spouse_coverage_with_subscriber_reads_back(
    client: TestClient, desk: dict[str, str], world: World
) -> None:
    p = _new_patient(client, desk)
    primary = {"payer_id": "BCBSIL", "member_id": "OWN1", "relationship": "self"}
    assert client.post(f"/api/v1/patients/{p['id']}/coverages", json=primary, headers=desk).status_code == 201
    secondary = {
        "payer_id": world.a.payer_id,
        "sequence": "secondary",
        "member_id": "SPOUSE77",
        "group_number": "G-9",
        "plan_name": "Spouse PPO",
        "relationship": "spouse",
        "subscriber": SPOUSE,
        "active_from": "2026-01-01",
        "active_to": None,
    }
    r = client.post(f"/api/v1/patients/{p['chart_number']}/coverages", json=secondary, headers=desk)
    assert r.status_code == 201, r.text
    read = client.get(f"/api/v1/coverages/{r.json()['id']}", headers=desk).json()
    for key in (
        "sequence",
        "member_id",
        "group_number",
        "plan_name",
        "relationship",
        "active_from",
        "active_to",
    ):
        assert read[key] == secondary[key], key
    assert read["payer_id"] == world.a.payer_id and read["payer_name"].startswith("Blue Cross")
    assert read["subscriber"] == {**SPOUSE, "address": {**SPOUSE["address"], "line2": None}}
    listed = client.get(f"/api/v1/patients/{p['id']}/coverages", headers=desk).json()
    assert [c["sequence"] for c in listed] == ["primary", "secondary"]


def test_coverage_rules(client: TestClient, desk: dict[str, str], world: World) -> None:
    p = _new_patient(client, desk)
    url = f"/api/v1/patients/{p['id']}/coverages"
    no_sub = client.post(url, json={"payer_id": world.a.payer_id, "relationship": "spouse"}, headers=desk)
    assert no_sub.status_code == 422
    assert "coverage-subscriber-missing" in {x["code"] for x in no_sub.json()["error"]["problems"]}
    first = client.post(url, json={"payer_id": world.a.payer_id, "member_id": "A1"}, headers=desk).json()
    twice = client.post(url, json={"payer_id": world.a.payer_id, "member_id": "A2"}, headers=desk)
    assert (
        twice.status_code == 422 and twice.json()["error"]["problems"][0]["code"] == "coverage-sequence-taken"
    )
    other = client.post(url, json={"payer_id": world.b.payer_id}, headers=desk)
    assert other.status_code == 404  # another practice's payer is not found
    replaced = client.post(
        f"/api/v1/coverages/{first['id']}/replace",
        json={"payer_id": world.a.payer_id, "member_id": "A3", "active_from": "2026-12-01"},
        headers=desk,
    )
    assert replaced.status_code == 201, replaced.text
    old = client.get(f"/api/v1/coverages/{first['id']}", headers=desk).json()
    assert old["active_to"] == "2026-11-30" and replaced.json()["member_id"] == "A3"
    ended = client.post(
        f"/api/v1/coverages/{replaced.json()['id']}/end", json={"active_to": "2027-06-30"}, headers=desk
    )
    assert ended.status_code == 200 and ended.json()["active_to"] == "2027-06-30"
    changed = client.patch(
        f"/api/v1/coverages/{first['id']}", json={"relationship": "child", "subscriber": SPOUSE}, headers=desk
    )
    assert changed.status_code == 200 and changed.json()["subscriber"]["last_name"] == "Rivera"


def test_authorization_burn_down_and_extension(
    client: TestClient, desk: dict[str, str], world: World
) -> None:
    p = _new_patient(client, desk)
    cov = client.post(
        f"/api/v1/patients/{p['id']}/coverages", json={"payer_id": world.a.payer_id}, headers=desk
    )
    body = {"number": "AUTH-1", "start_date": "2026-11-01", "end_date": "2026-12-31", "codes": ["97124"]}
    auth = client.post(
        f"/api/v1/coverages/{cov.json()['id']}/authorizations",
        json={**body, "visits_allowed": 6, "units_allowed": 24},
        headers=desk,
    )
    assert auth.status_code == 201
    assert auth.json()["visits_remaining"] == 6 and auth.json()["units_remaining"] == 24
    r = client.post(
        f"/api/v1/authorizations/{auth.json()['id']}/extend",
        json={"end_date": "2027-02-28", "add_visits": 4},
        headers=desk,
    )
    assert r.status_code == 200
    assert r.json()["visits_allowed"] == 10 and r.json()["end_date"] == "2027-02-28"
    earlier = client.post(
        f"/api/v1/authorizations/{auth.json()['id']}/extend", json={"end_date": "2026-12-01"}, headers=desk
    )
    assert earlier.status_code == 422
    assert earlier.json()["error"]["problems"][0]["code"] == "authorization-extend-earlier"


def test_payer_list_searches_name_and_payer_id(client: TestClient, desk: dict[str, str]) -> None:
    everyone = client.get("/api/v1/payers", headers=desk).json()
    assert [p["payer_id"] for p in everyone] == ["BCBSIL"]
    assert client.get("/api/v1/payers?q=blue", headers=desk).json() == everyone
    assert client.get("/api/v1/payers?q=bcbs", headers=desk).json() == everyone
    assert client.get("/api/v1/payers?q=aetna", headers=desk).json() == []


def test_unknown_query_parameters_answer_422(client: TestClient, owner: dict[str, str]) -> None:
    r = client.get("/api/v1/claims?patient_id=x", headers=owner)
    assert r.status_code == 422
    assert r.json()["error"]["problems"] == [
        {"code": "query-unknown", "loc": "query.patient_id", "message": "is not a parameter of this endpoint"}
    ]
    assert client.get("/api/v1/payers?q=a&bogus=1", headers=owner).status_code == 422
    assert client.get("/api/v1/me?verbose=1", headers=owner).status_code == 422  # every API router
    assert client.get("/api/v1/me", headers=owner).status_code == 200
    assert client.get("/api/v1/claims?status=ready", headers=owner).status_code == 200


def test_claims_filter_page_and_human_numbers(
    client: TestClient, world: World, owner: dict[str, str]
) -> None:
    p = _new_patient(client, owner)
    client.post(f"/api/v1/patients/{p['id']}/coverages", json={"payer_id": world.a.payer_id}, headers=owner)
    therapist = bearer(token_for(world, "a", "therapist"))
    biller = bearer(token_for(world, "a", "biller"))
    numbers = []
    for day in ("2026-11-16", "2026-11-17", "2026-11-18"):
        visit = client.post(
            f"/api/v1/patients/{p['chart_number']}/visits",
            json={"provider_id": world.a.provider_id, "date_of_service": day, "document": VISIT_DOC},
            headers=therapist,
        )
        assert visit.status_code == 201, visit.text
        claim = client.post(f"/api/v1/visits/{visit.json()['id']}/claim", headers=biller)
        assert claim.status_code == 201, claim.text
        numbers.append(claim.json()["claim_number"])
    seen: list[str] = []
    url = f"/api/v1/claims?patient={p['chart_number']}&limit=2"
    r = client.get(url, headers=owner)
    seen += [c["claim_number"] for c in r.json()]
    assert len(seen) == 2 and "X-Next-Cursor" in r.headers and 'rel="next"' in r.headers["Link"]
    r = client.get(f"{url}&cursor={r.headers['X-Next-Cursor']}", headers=owner)
    seen += [c["claim_number"] for c in r.json()]
    assert "X-Next-Cursor" not in r.headers
    assert seen == list(reversed(numbers))  # newest date of service first, each once
    ranged = client.get(
        f"/api/v1/claims?patient={p['id']}&from=2026-11-17&to=2026-11-17", headers=owner
    ).json()
    assert [c["claim_number"] for c in ranged] == [numbers[1]]
    by_payer = client.get(f"/api/v1/claims?patient={p['id']}&payer=BCBSIL", headers=owner).json()
    assert len(by_payer) == 3
    assert client.get(f"/api/v1/claims?patient={p['id']}&payer=NOPE", headers=owner).json() == []
    detail = client.get(f"/api/v1/claims/{numbers[0]}", headers=owner)
    assert detail.status_code == 200 and detail.json()["claim_number"] == numbers[0]
    assert client.get("/api/v1/claims?cursor=garbage!", headers=owner).status_code == 422
    other = bearer(token_for(world, "b", "owner"))
    assert client.get(f"/api/v1/claims/{numbers[0]}", headers=other).status_code == 404
    assert client.get(f"/api/v1/patients/{p['chart_number']}", headers=other).status_code == 404


def test_patient_list_pages(client: TestClient, desk: dict[str, str]) -> None:
    seen: list[str] = []
    url = "/api/v1/patients?limit=3"
    for _ in range(100):
        r = client.get(url, headers=desk)
        assert r.status_code == 200
        seen += [p["id"] for p in r.json()]
        if "X-Next-Cursor" not in r.headers:
            break
        url = f"/api/v1/patients?limit=3&cursor={r.headers['X-Next-Cursor']}"
    assert len(seen) == len(set(seen)) >= 3


def test_operation_ids_are_the_route_names(client: TestClient) -> None:
    ops = {
        op["operationId"]
        for path in client.get("/openapi.json").json()["paths"].values()
        for op in path.values()
    }
    assert {"list_claims", "get_patient", "create_coverage", "extend_authorization", "list_payers"} <= ops


PDF = b"%PDF-1.4\n% a prescription\n%%EOF\n"


def test_referrals_with_documents_and_the_history(
    client: TestClient, desk: dict[str, str], world: World
) -> None:
    p = _new_patient(client, desk)
    url = f"/api/v1/patients/{p['chart_number']}/referrals"
    form = {
        "kind": "prescription",
        "prescriber_name": "Dr. Ruiz",
        "expires_on": "2027-05-01",
        "visits_allowed": "12",
    }
    r = client.post(url, data=form, files={"document": ("rx.pdf", PDF, "application/pdf")}, headers=desk)
    assert r.status_code == 201, r.text
    made = r.json()
    assert made["content_type"] == "application/pdf" and made["file_bytes"] == len(PDF)
    assert made["visits_allowed"] == 12 and made["expires_on"] == "2027-05-01"
    doc = client.get(made["document_url"], headers=desk)
    assert doc.status_code == 200 and doc.content == PDF
    assert [x["id"] for x in client.get(url, headers=desk).json()] == [made["id"]]
    fake = client.post(
        url, data=form, files={"document": ("x.pdf", b"<html>", "application/pdf")}, headers=desk
    )
    assert fake.status_code == 422 and fake.json()["error"]["problems"][0]["code"] == "referral-document-type"
    big = b"%PDF-" + b"0" * (10 * 1024 * 1024)
    assert client.post(
        url, data=form, files={"document": ("b.pdf", big, "application/pdf")}, headers=desk
    ).status_code in (
        413,
        422,
    )
    other = bearer(token_for(world, "b", "front_desk"))
    assert client.get(made["document_url"], headers=other).status_code == 404
    client.patch(f"/api/v1/patients/{p['id']}", json={"email": "rosa@example.org"}, headers=desk)
    history = client.get(f"/api/v1/patients/{p['id']}/history", headers=desk).json()
    assert [h["action"] for h in history[:3]] == ["patient.update", "referral.add", "patient.register"]
    assert history[0]["fields"] == ["email"] and "rosa@" not in str(history)
