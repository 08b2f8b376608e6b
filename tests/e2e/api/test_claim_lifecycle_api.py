"""The claim lifecycle over the API and the pages: edit, void, correct, re-bill, versions,
follow-up, the appeal letter and the accident facts of a case; web and API call one service."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient

from tests.e2e.api.conftest import bearer, login, token_for
from tests.e2e.api.world import AS_OF, World, own_client
from therabill.adapters.x12.envelope import EnvelopeSettings
from therabill.domain.forms import cms1500_forms
from therabill.entrypoints.web import routes_lifecycle
from therabill.service_layer import batches, visits
from therabill.service_layer import claims as records

DOC = {
    "start_time": "10:00",
    "end_time": "11:00",
    "diagnoses": ["M54.50", "M62.830"],
    "services": [
        {
            "code": "97124",
            "minutes": 60,
            "diagnosis_pointers": [1, 2],
            "body_regions": ["lumbar"],
            "unit_charge": "30.00",
        }
    ],
    "documentation": {
        "subjective": "Low back stiffness.",
        "medical_necessity": "Limits sitting to 20 minutes.",
    },
}


def _client(world: World) -> tuple[str, str]:
    return own_client(world, "a", "LIFECYCLE-1", "Lena", "Cycle")


def _visit(world: World, dos: date, doc: dict | None = None) -> str:  # type: ignore[type-arg]
    a = world.a
    patient, coverage = _client(world)
    return visits.record_visit(
        world.engine,
        a.practice_id,
        "test:setup",
        patient_id=patient,
        provider_id=a.provider_id,
        date_of_service=dos,
        document=doc or DOC,
        coverage_id=coverage,
    )


def _sent_claim(world: World, dos: date, status: str, icn: str | None) -> str:
    engine, pid = world.engine, world.a.practice_id
    coded = records.code_visit(engine, pid, "test:setup", _visit(world, dos), as_of=AS_OF)
    errors = [f for f in coded.findings.get("findings", []) if f.get("severity") == "error"]
    assert not coded.has_errors, errors
    records.mark_ready(engine, pid, "test:setup", coded.claim_id)
    batches.build_batch(engine, pid, "test:setup", [coded.claim_id], envelope=EnvelopeSettings())
    records.set_claim_status(
        engine, pid, "test:setup", coded.claim_id, status, payer_claim_control_number=icn
    )
    return coded.claim_id


def test_edit_a_visit_over_the_api_recodes_its_claim(client: TestClient, world: World) -> None:
    biller = bearer(token_for(world, "a", "owner"))
    visit = _visit(world, AS_OF - timedelta(days=30), {**DOC, "start_time": "11:00", "end_time": "10:00"})
    made = client.post(f"/api/v1/visits/{visit}/claim", headers=biller)
    assert made.status_code == 201, made.text
    assert made.json()["has_errors"] is True  # the end before the start
    edited = client.patch(
        f"/api/v1/visits/{visit}",
        json={"start_time": "10:00", "end_time": "11:00", "reason": "times were swapped"},
        headers=biller,
    )
    assert edited.status_code == 200, edited.text
    body = edited.json()
    assert body["kind"] == "edit" and body["old_status"] == "replaced" and body["has_errors"] is False
    assert body["claim_number"] == made.json()["claim_number"] + "-2"
    versions = client.get(f"/api/v1/claims/{body['claim_id']}/versions", headers=biller).json()
    assert [(v["version"], v["kind"]) for v in versions] == [(1, "original"), (2, "edit")]
    assert versions[1]["reason"].startswith("edit: times were swapped")
    assert versions[1]["created_by"].startswith("user:")
    bad = client.patch(f"/api/v1/visits/{visit}", json={"patient": {}}, headers=biller)
    assert bad.status_code == 422
    other = client.patch(
        f"/api/v1/visits/{visit}", json={"end_time": "11:00"}, headers=bearer(token_for(world, "b", "owner"))
    )
    assert other.status_code == 404


def test_void_correct_rebill_over_the_api(client: TestClient, world: World) -> None:
    biller = bearer(token_for(world, "a", "biller"))
    paid = _sent_claim(world, AS_OF - timedelta(days=31), "paid", "ICN-API-1")
    corrected = client.post(
        f"/api/v1/claims/{paid}/correct",
        json={"reason": "wrong diagnosis order", "changes": {"diagnoses": ["M62.830", "M54.50"]}},
        headers=biller,
    )
    assert corrected.status_code == 200, corrected.text
    assert corrected.json()["frequency"] == "7" and corrected.json()["old_status"] == "replaced"
    again = client.post(f"/api/v1/claims/{paid}/correct", json={}, headers=biller)
    assert again.status_code == 422 and again.json()["error"]["problems"][0]["code"] == "claim-closed"
    voided = _sent_claim(world, AS_OF - timedelta(days=32), "denied", "ICN-API-2")
    v = client.post(f"/api/v1/claims/{voided}/void", json={"reason": "billed in error"}, headers=biller)
    assert v.status_code == 200 and v.json()["frequency"] == "8" and v.json()["status"] == "ready"
    rejected = _sent_claim(world, AS_OF - timedelta(days=33), "clearinghouse_rejected", None)
    r = client.post(f"/api/v1/claims/{rejected}/rebill", json={"reason": "member id fixed"}, headers=biller)
    assert r.status_code == 200 and r.json()["frequency"] == "1" and r.json()["kind"] == "rebill"
    therapist = bearer(token_for(world, "a", "therapist"))
    assert client.post(f"/api/v1/claims/{rejected}/rebill", json={}, headers=therapist).status_code == 403


def test_follow_up_over_the_api(client: TestClient, world: World) -> None:
    biller = bearer(token_for(world, "a", "biller"))
    claim = _sent_claim(world, AS_OF - timedelta(days=40), "denied", "ICN-API-3")
    listed = client.get("/api/v1/followup", params={"reason": "denied"}, headers=biller)
    assert listed.status_code == 200
    item = next(i for i in listed.json() if i["claim_id"] == claim)
    assert item["age_days"] == 40 and item["aging"] == "31-60" and "appeal" in item["actions"]
    worked = client.patch(
        f"/api/v1/claims/{claim}/followup",
        json={
            "owner": "Bea",
            "next_action_on": (AS_OF + timedelta(days=5)).isoformat(),
            "note": "called payer",
        },
        headers=biller,
    )
    assert worked.status_code == 200 and worked.json()["owner"] == "Bea"
    assert [n["action"] for n in worked.json()["notes"]] == ["update", "note"]
    past = client.patch(
        f"/api/v1/claims/{claim}/followup", json={"next_action_on": "2020-01-01"}, headers=biller
    )
    assert past.status_code == 422 and past.json()["error"]["problems"][0]["loc"] == "next_action_on"
    letter = client.post(
        f"/api/v1/claims/{claim}/appeal-letter", json={"note": "Ordered by Dr. Reed."}, headers=biller
    )
    assert letter.status_code == 200 and letter.content.startswith(b"%PDF")
    assert letter.headers["content-type"] == "application/pdf"
    act = client.post(
        f"/api/v1/claims/{claim}/followup/actions", json={"action": "appeal", "note": "faxed"}, headers=biller
    )
    assert act.status_code == 200, act.text
    assert client.get(f"/api/v1/claims/{claim}", headers=biller).json()["status"] == "appealed"


def test_accident_facts_are_entered_once_per_case(client: TestClient, world: World) -> None:
    owner = bearer(token_for(world, "a", "owner"))
    causes = {
        "auto_accident": True,
        "auto_accident_state": "NY",
        "accident_date": "2026-10-02",
        "property_casualty_claim_number": "NF-778",
        "employer_name": "Acme Freight",
    }
    first = client.post(
        f"/api/v1/patients/{world.a.patient_id}/visits",
        json={
            "provider_id": world.a.provider_id,
            "date_of_service": (AS_OF - timedelta(days=50)).isoformat(),
            "document": {**DOC, "related_causes": causes},
        },
        headers=owner,
    )
    assert first.status_code == 201, first.text
    case = client.get(f"/api/v1/patients/{world.a.patient_id}/case", headers=owner).json()
    assert case["related_causes"]["property_casualty_claim_number"] == "NF-778"
    second = client.post(
        f"/api/v1/patients/{world.a.patient_id}/visits",
        json={
            "provider_id": world.a.provider_id,
            "date_of_service": (AS_OF - timedelta(days=49)).isoformat(),
            "document": DOC,
        },
        headers=owner,
    )
    assert second.status_code == 201
    stored = client.get(f"/api/v1/visits/{second.json()['id']}", headers=owner).json()
    assert stored["document"]["related_causes"]["auto_accident"] is True
    # the claim goes out with CLM11 and DTP*439
    claim = client.post(f"/api/v1/visits/{second.json()['id']}/claim", headers=owner).json()
    sent = records.claim_record(world.engine, world.a.practice_id, "test:read", claim["id"])
    assert (
        sent.encounter.related_causes.auto_accident
        and sent.encounter.related_causes.employer_name == "Acme Freight"
    )
    batch = batches.build_batch(
        world.engine,
        world.a.practice_id,
        "test:setup",
        [claim["id"]],
        envelope=EnvelopeSettings(),
        statuses=("scrubbed",),
        override_reason="test of the accident segments",
    )
    # the CMS-1500: box 10b YES with the state, 11b the carrier's claim number, 14 the injury date
    boxes = cms1500_forms(sent, signed_on=AS_OF)[0].fields
    assert boxes["10b.yes"] == "X" and "10b.no" not in boxes and boxes["10b.state"] == "NY"
    assert boxes["10a.no"] == "X" and boxes["11b.qual"] == "Y4" and boxes["11b"] == "NF-778"
    assert (boxes["14.mm"], boxes["14.dd"], boxes["14.qual"]) == ("10", "02", "431")
    # (REF*Y4 goes out to property & casualty and workers' comp payers only; this one is commercial)
    assert "*AA:::NY~" in batch.text and "DTP*439*D8*20261002~" in batch.text
    # the web form of the next visit is pre-filled with the case
    login(client, world, "a", "owner")
    page = client.get(f"/patients/{world.a.patient_id}/visits/new")
    assert 'value="NF-778"' in page.text and 'name="rc-auto_accident" value="1" checked' in page.text
    # a visit that says "no cause" ends the case
    first_visit = first.json()["id"]
    ended = client.patch(f"/api/v1/visits/{first_visit}", json={"related_causes": {}}, headers=owner)
    assert ended.status_code == 200, ended.text
    later = client.post(
        f"/api/v1/patients/{world.a.patient_id}/visits",
        json={
            "provider_id": world.a.provider_id,
            "date_of_service": (AS_OF - timedelta(days=48)).isoformat(),
            "document": {**DOC, "related_causes": {}},
        },
        headers=owner,
    )
    assert later.status_code == 201
    assert (
        client.get(f"/api/v1/patients/{world.a.patient_id}/case", headers=owner).json()["related_causes"]
        is None
    )


def test_web_and_api_void_and_correct_the_same_way(client: TestClient, world: World) -> None:
    """Contract: the claim page and the API call one service; the versions they make agree."""
    owner = bearer(token_for(world, "a", "owner"))
    csrf = login(client, world, "a", "owner")
    shapes = []
    for n, surface in enumerate(("web", "api")):
        paid = _sent_claim(world, AS_OF - timedelta(days=60 + n), "paid", f"ICN-CONTRACT-{n}")
        if surface == "web":
            r = client.post(f"/claims/{paid}/void", data={"csrf_token": csrf, "reason": "duplicate"})
            assert r.status_code == 303, r.text
        else:
            assert (
                client.post(
                    f"/api/v1/claims/{paid}/void", json={"reason": "duplicate"}, headers=owner
                ).status_code
                == 200
            )
        versions = client.get(f"/api/v1/claims/{paid}/versions", headers=owner).json()
        shapes.append(
            [(v["kind"], v["frequency"], v["status"], (v["reason"] or "").split(" (")[0]) for v in versions]
        )
    assert (
        shapes[0]
        == shapes[1]
        == [
            ("original", "1", "voided", ""),
            ("void", "8", "ready", "void: duplicate"),
        ]
    )


def test_the_follow_up_page_lists_the_oldest_with_the_count_of_all(
    client: TestClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At a practice's scale the page lists the oldest claims and says how many there are; the
    API gives every item, or the oldest ``limit`` with the count of all in a header."""
    older = _sent_claim(world, AS_OF - timedelta(days=70), "denied", "ICN-PAGE-1")
    newer = _sent_claim(world, AS_OF - timedelta(days=45), "denied", "ICN-PAGE-2")
    biller = bearer(token_for(world, "a", "biller"))
    listed = client.get("/api/v1/followup", params={"reason": "denied"}, headers=biller)
    every = listed.json()
    assert {older, newer} <= {i["claim_id"] for i in every}
    assert listed.headers["X-Total-Count"] == str(len(every))
    head = client.get("/api/v1/followup", params={"reason": "denied", "limit": 1}, headers=biller)
    assert head.status_code == 200 and head.json() == every[:1]
    assert head.headers["X-Total-Count"] == str(len(every))
    too_many = client.get("/api/v1/followup", params={"limit": 1001}, headers=biller)
    assert too_many.status_code == 422
    monkeypatch.setattr(routes_lifecycle, "FOLLOWUP_ROWS", 1)
    login(client, world, "a", "owner")
    page = client.get("/followup", params={"reason": "denied"})
    assert page.status_code == 200
    assert page.text.count('<tr data-claim="') == 1
    assert f"Showing the oldest 1 of {len(every):,} claims" in page.text
    oldest = min(every, key=lambda i: (i["date_of_service"], i["claim_number"]))
    assert f'data-claim="{oldest["claim_number"]}"' in page.text
