"""``/api/v1/patients/{id}/intake``: versions, permissions, practice isolation, the visit check."""

from __future__ import annotations

import json
from pathlib import Path

from fastapi.testclient import TestClient

from tests.e2e.api.conftest import bearer
from tests.e2e.api.world import World
from therabill.service_layer import visits as visits_svc

SAMPLE = json.loads(Path(__file__).with_name("sample-intake.json").read_text())


def test_post_get_sign_and_check(
    client: TestClient, world: World, tokens: dict[tuple[str, str], str]
) -> None:
    pid = world.a.patient_id
    url = f"/api/v1/patients/{pid}/intake"
    front = bearer(tokens[("a", "front_desk")])
    r = client.post(url, content=json.dumps(SAMPLE), headers=front)
    assert r.status_code == 201, r.text
    first = r.json()["version"]
    r = client.post(url, content=json.dumps({**SAMPLE, "pressure_preference": "medium"}), headers=front)
    assert r.json()["version"] == first + 1
    got = client.get(url, headers=bearer(tokens[("a", "therapist")])).json()
    assert got["current"]["version"] == first + 1
    assert got["current"]["content"]["pressure_preference"] == "medium"
    assert [v["version"] for v in got["versions"]][:2] == [first + 1, first]
    # the front desk enters the intake; only a clinical role signs it
    assert client.post(f"{url}/sign", headers=front).status_code == 403
    signed = client.post(f"{url}/sign", headers=bearer(tokens[("a", "therapist")]))
    assert signed.status_code == 200 and signed.json()["signed_by"].startswith("user:")
    doc = {
        "diagnoses": ["M54.2"],
        "services": [
            {"code": "97124", "minutes": 30, "diagnosis_pointers": [1], "body_regions": ["abdomen"]}
        ],
        "documentation": {"subjective": "neck pain"},
    }
    visit_id = visits_svc.record_visit(
        world.engine,
        world.a.practice_id,
        "test",
        patient_id=pid,
        provider_id=world.a.provider_id,
        date_of_service=world.clock().date(),
        document=doc,
    )
    check = client.get(f"/api/v1/visits/{visit_id}/intake-check", headers=bearer(tokens[("a", "therapist")]))
    body = check.json()
    assert check.status_code == 200 and body["billable"] is True
    assert body["conflicts"] == [{"line": 0, "region": "abdomen"}]
    assert "abdomen" in body["avoid_regions"]
    fever = client.get(
        f"/api/v1/visits/{visit_id}/intake-check",
        params={"reported": "fever"},
        headers=bearer(tokens[("a", "therapist")]),
    ).json()
    assert fever["billable"] is False


def test_bad_document_other_practice_and_no_token(
    client: TestClient, world: World, tokens: dict[tuple[str, str], str]
) -> None:
    url = f"/api/v1/patients/{world.a.patient_id}/intake"
    r = client.post(
        url, content=json.dumps({"areas_to_avoid": ["wing"]}), headers=bearer(tokens[("a", "owner")])
    )
    assert r.status_code == 422
    assert r.json()["error"]["problems"][0]["loc"] == "areas_to_avoid[0].region[0]"
    assert client.get(url, headers=bearer(tokens[("b", "owner")])).status_code == 404
    assert client.get(url).status_code == 401
