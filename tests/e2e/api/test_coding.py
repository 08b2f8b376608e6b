"""The stateless coding endpoints: units by the 8-minute rule and the scrubber."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient

from tests.conftest import EXAMPLES
from tests.e2e.api.conftest import bearer


def _units(client: TestClient, token: str, services: list[dict], profile: str | None = "commercial") -> dict:
    doc: dict = {"services": services}
    if profile:
        doc["coverage"] = {"payer_profile": profile}
    r = client.post("/api/v1/units", json=doc, headers=bearer(token))
    assert r.status_code == 200, r.text
    return r.json()


def test_sixty_minutes_of_massage_is_four_units(client: TestClient, tokens) -> None:
    body = _units(client, tokens[("a", "therapist")], [{"code": "97124", "minutes": 60}])
    assert body["total_units"] == 4
    assert body["lines"][0]["units"] == 4
    assert body["explanation"]


def test_massage_and_manual_therapy_split_three_and_one(client: TestClient, tokens) -> None:
    doc = json.loads((EXAMPLES / "massage-and-manual-therapy-two-regions.json").read_text())
    r = client.post("/api/v1/units", json=doc, headers=bearer(tokens[("a", "biller")]))
    assert r.status_code == 200
    assert [ln["units"] for ln in r.json()["lines"]] == [3, 1]


def test_bad_document_lists_every_problem_with_its_path(client: TestClient, tokens) -> None:
    r = client.post(
        "/api/v1/units",
        json={"services": [{"code": "97124", "minutes": -5}, {"code": "", "minutes": "ten"}]},
        headers=bearer(tokens[("a", "owner")]),
    )
    assert r.status_code == 422
    err = r.json()["error"]
    assert err["code"] == "invalid-document"
    locs = {p["loc"] for p in err["problems"]}
    assert {"services[0].minutes", "services[1].code", "services[1].minutes"} <= locs


def test_not_json_is_one_clear_problem(client: TestClient, tokens) -> None:
    r = client.post("/api/v1/scrub", content=b"{not json", headers=bearer(tokens[("a", "owner")]))
    assert r.status_code == 422
    assert r.json()["error"]["problems"][0]["code"] == "schema-json-invalid"


def test_scrub_returns_findings_with_rule_ids(client: TestClient, tokens) -> None:
    doc = json.loads((EXAMPLES / "massage-and-manual-therapy-two-regions.json").read_text())
    doc["diagnoses"] = []
    r = client.post("/api/v1/scrub?as_of=2026-11-23", json=doc, headers=bearer(tokens[("a", "biller")]))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["as_of"] == "2026-11-23"
    errors = {f["rule_id"] for f in body["findings"] if f["severity"] == "error"}
    assert "dx-missing" in errors
    assert all(f["fix"] and f["source"] is not None for f in body["findings"])
    assert body["ok"] is False


def test_front_desk_may_not_use_the_coding_endpoints(client: TestClient, tokens) -> None:
    r = client.post("/api/v1/units", json={"services": []}, headers=bearer(tokens[("a", "front_desk")]))
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "forbidden"


def test_oversized_documents_are_refused_before_parsing(client: TestClient, tokens) -> None:
    big = b'{"services": [' + b'{"code": "97124", "minutes": 1},' * 40000 + b'{"code": "97124"}]}'
    r = client.post("/api/v1/units", content=big, headers=bearer(tokens[("a", "owner")]))
    assert r.status_code == 413
