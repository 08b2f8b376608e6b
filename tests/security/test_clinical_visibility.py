"""Findings 4 and 5: what of a patient's record each role sees.

Front desk: demographics and coverage, never notes, diagnoses or claims (page and FHIR).
Therapist: their own visits only (patient page, FHIR export, visit intake-check); no claims.
Biller: claims, but may not edit the health history (intake): owner and front desk do.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.e2e.api.conftest import bearer, login, token_for
from tests.e2e.api.test_authorization_matrix import VISIT_DOC
from tests.e2e.api.world import DOS, World
from therabill.service_layer import practice as practice_svc
from therabill.service_layer import visits as visits_svc

ACTOR = "test:setup"


@pytest.fixture(scope="module")
def visits(world: World) -> dict[str, str]:
    pw = world.a
    other_provider = practice_svc.add_provider(
        world.engine,
        pw.practice_id,
        ACTOR,
        first_name="Vera",
        last_name="Visible",
        npi="1003000100",
        taxonomy="225700000X",
        credential="LMT",
        licenses=[("IL", "227.088888", None)],
    )
    own = visits_svc.record_visit(
        world.engine,
        pw.practice_id,
        ACTOR,
        patient_id=pw.patient_id,
        provider_id=pw.provider_id,
        date_of_service=DOS,
        document=VISIT_DOC,
        coverage_id=pw.coverage_id,
    )
    other = visits_svc.record_visit(
        world.engine,
        pw.practice_id,
        ACTOR,
        patient_id=pw.patient_id,
        provider_id=other_provider,
        date_of_service=DOS,
        document={**VISIT_DOC, "documentation": {"subjective": "OTHER-THERAPIST-NOTE right hip."}},
        coverage_id=pw.coverage_id,
    )
    return {"own": own, "other": other}


def _fhir(client: TestClient, world: World, role: str) -> dict[str, Any]:
    token = token_for(world, "a", role)
    r = client.get(f"/api/v1/patients/{world.a.patient_id}/fhir", headers=bearer(token))
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def _kinds(bundle: dict[str, Any]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for entry in bundle.get("entry", []):
        res = entry["resource"]
        out.setdefault(res["resourceType"], set()).add(res["id"])
    return out


def test_front_desk_fhir_export_has_no_clinical_or_billing_content(
    client: TestClient, world: World, visits: dict[str, str]
) -> None:
    kinds = _kinds(_fhir(client, world, "front_desk"))
    assert "Patient" in kinds and "Coverage" in kinds
    for hidden in ("Encounter", "Condition", "Procedure", "Observation", "Claim", "ExplanationOfBenefit"):
        assert hidden not in kinds, hidden


def test_therapist_fhir_export_has_only_own_visits_and_no_claims(
    client: TestClient, world: World, visits: dict[str, str]
) -> None:
    bundle = _fhir(client, world, "therapist")
    kinds = _kinds(bundle)
    assert visits["own"] in kinds.get("Encounter", set())
    assert visits["other"] not in kinds.get("Encounter", set())
    assert "Claim" not in kinds and "ExplanationOfBenefit" not in kinds
    assert "OTHER-THERAPIST-NOTE" not in str(bundle)
    assert visits["other"] not in str(bundle)


def test_owner_fhir_export_has_everything(client: TestClient, world: World, visits: dict[str, str]) -> None:
    kinds = _kinds(_fhir(client, world, "owner"))
    assert {visits["own"], visits["other"]} <= kinds["Encounter"]


def test_patient_page_shows_a_therapist_only_own_visits(
    client: TestClient, world: World, visits: dict[str, str]
) -> None:
    login(client, world, "a", "therapist")
    page = client.get(f"/patients/{world.a.patient_id}")
    assert page.status_code == 200
    assert visits["own"] in page.text
    assert visits["other"] not in page.text
    login(client, world, "a", "owner")
    page = client.get(f"/patients/{world.a.patient_id}")
    assert visits["other"] in page.text


def test_therapist_cannot_read_another_therapists_intake_check(
    client: TestClient, world: World, visits: dict[str, str]
) -> None:
    therapist = token_for(world, "a", "therapist")
    own = client.get(f"/api/v1/visits/{visits['own']}/intake-check", headers=bearer(therapist))
    assert own.status_code == 200, own.text
    other = client.get(f"/api/v1/visits/{visits['other']}/intake-check", headers=bearer(therapist))
    assert other.status_code == 404
    owner = token_for(world, "a", "owner")
    assert (
        client.get(f"/api/v1/visits/{visits['other']}/intake-check", headers=bearer(owner)).status_code == 200
    )


INTAKE = {"conditions": [], "medications": []}


@pytest.mark.parametrize(("role", "allowed"), [("biller", False), ("therapist", False), ("front_desk", True)])
def test_only_owner_and_front_desk_edit_the_intake(
    client: TestClient, world: World, role: str, allowed: bool
) -> None:
    token = token_for(world, "a", role)
    r = client.post(f"/api/v1/patients/{world.a.patient_id}/intake", json=INTAKE, headers=bearer(token))
    if allowed:
        assert r.status_code != 403, r.text
    else:
        assert r.status_code == 403, r.text
    csrf = login(client, world, "a", role)
    page = client.get(f"/patients/{world.a.patient_id}/intake/edit")
    assert (page.status_code == 200) is allowed, page.status_code
    saved = client.post(f"/patients/{world.a.patient_id}/intake", data={"csrf_token": csrf})
    assert (saved.status_code == 403) is not allowed, saved.status_code
